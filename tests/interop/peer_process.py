"""A webrtcbin participant in a process of its own, so that a test can
freeze it whole (SIGSTOP: its ICE agent, its media and its WebSocket) and
thaw it (SIGCONT). Started by media_harness.PeerProcess:

    VEJ_PEER_CONFIG=CONFIG_JSON /usr/bin/python3 peer_process.py

(the configuration, with its join token, in the environment rather than
on the command line). CONFIG: {"port": gateway HTTPS/WSS port, "cert": the gateway's certificate
(PEM), "token": join token, "name": label, "relay": [peer_port,
gateway_port] or null}. With a relay, the gateway's loopback host
candidate is rewritten to relay[0] before webrtcbin sees it and ours to
relay[1] before the gateway does (media_harness.UdpRelay).

Commands on standard input, events on standard output, one JSON object a
line: {"cmd": "subscribe"}, {"cmd": "touch"} (a request, so that the
gateway's WebSocket idle timer starts again), {"cmd": "restart_ice"}
(webrtc.restart_ice for the subscribe PC), {"cmd": "report"} and
{"cmd": "quit"}; each is answered by {"event": CMD, ...}. "joined" comes
first, "gateway_port" when the gateway's candidate is first seen.
"""

import asyncio
import json
import os
import ssl
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, '..', 'integration'))

import webrtc_peer  # noqa: E402  (first: it takes G_DEBUG out before GLib loads)
import harness  # noqa: E402
from media_harness import move_host_candidates  # noqa: E402


class _Gateway:
    """What harness.Rpc.connect needs of a daemon."""

    def __init__(self, port, cert):
        self.port, self.cert = port, cert

    def ws_url(self, path='/ws'):
        return 'wss://127.0.0.1:%d%s' % (self.port, path)

    def ssl_context(self):
        return ssl.create_default_context(cafile=self.cert)


def emit(obj):
    sys.stdout.write(json.dumps(obj) + '\n')
    sys.stdout.flush()


async def main(cfg):
    rpc = await harness.Rpc.connect(_Gateway(cfg['port'], cfg['cert']), name=cfg['name'])
    hello = await rpc.call('session.hello', {'token': cfg['token']})
    joined = await rpc.call('hearing.join', {})
    kw = {}
    if cfg.get('relay'):
        peer_port, gateway_port = cfg['relay']
        reported = set()

        def remote(text):
            seen = []
            out = move_host_candidates(text, peer_port, seen)
            for port in set(seen) - reported:
                reported.add(port)
                emit({'event': 'gateway_port', 'port': port})
            return out
        kw = {'remote_sdp_munge': remote,
              'candidate_munge': lambda c: move_host_candidates(c, gateway_port)}
    peer = webrtc_peer.Peer(rpc, cfg['name'], **kw)
    emit({'event': 'joined', 'participant_id': (hello.get('identity') or {}).get('participant_id'),
          'place': joined.get('place')})

    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    while True:
        line = await reader.readline()
        if not line:
            break
        cmd = json.loads(line).get('cmd')
        if cmd == 'subscribe':
            emit({'event': 'subscribe', 'result': await peer.subscribe(allow_error=True)})
        elif cmd == 'touch':
            reply = await rpc.request('webrtc.candidate', {'pc': 'subscribe', 'candidate': ''})
            emit({'event': 'touch', 'reply': reply})
        elif cmd == 'restart_ice':
            reply = await rpc.request('webrtc.restart_ice', {'pc': 'subscribe'})
            emit({'event': 'restart_ice', 'reply': reply})
        elif cmd == 'report':
            emit({'event': 'report',
                  'decoded': {'%s/%s' % k: c.count for k, c in peer.decoded_by.items()},
                  'rtp': len(peer.rtp_all()),
                  'states': [[pc, st, reason] for _, pc, st, reason in peer.states],
                  'notes': [n.method for n in rpc.notes],
                  'socket_closed': rpc.closed.is_set(),
                  'errors': [str(e) for e in peer.all_errors()]})
        elif cmd == 'quit':
            break
        else:
            emit({'event': 'error', 'message': 'unknown command %r' % cmd})
    await peer.close()
    await rpc.close()
    emit({'event': 'quit'})


if __name__ == '__main__':
    asyncio.run(main(json.loads(os.environ.pop('VEJ_PEER_CONFIG'))))
