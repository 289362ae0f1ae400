"""A publishing webrtcbin peer (tests/interop/webrtc_peer.py) driven over
stdin/stdout, so that test_nat_netns.py can run it in the client's network
namespace while the test itself talks to the gateway's signalling from
another. One JSON object per line.

    out: {"offer": SDP}, {"candidate": "candidate:...", "mline": N},
         {"gathered": true}, {"state": "connected"} (each change),
         {"errors": [...]} at the end
    in:  {"answer": SDP}, {"quit": true}

Not a test by itself.
"""

import asyncio
import json
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'interop'))

import webrtc_peer  # noqa: E402


# The protocol keeps the real stdout; anything a library prints there
# (GLib's debug messages go to stdout) is sent to stderr instead.
_PROTOCOL = os.fdopen(os.dup(1), 'w', buffering=1)
os.dup2(2, 1)


def out(obj):
    _PROTOCOL.write(json.dumps(obj) + '\n')
    _PROTOCOL.flush()


async def watch_state(pc):
    last = None
    while True:
        st = pc.connection_state()
        if st != last:
            out({'state': st})
            last = st
        await asyncio.sleep(0.1)


async def main():
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    # every interface of the namespace (loopback is skipped by libnice)
    pc = webrtc_peer.PublishPc('nat-pub', loop, loopback_only=False)
    pc.on_local_candidate = lambda m, c: out({'gathered': True} if c is None
                                             else {'candidate': c, 'mline': m})
    pc.start()
    await pc.wait_caps()
    offer = await pc.create_offer()
    await pc.set_local('offer', offer)
    out({'offer': offer})
    watcher = asyncio.ensure_future(watch_state(pc))
    while True:
        line = await reader.readline()
        if not line:
            break
        msg = json.loads(line)
        if 'answer' in msg:
            await pc.set_remote('answer', msg['answer'])
        elif msg.get('quit'):
            break
    watcher.cancel()
    out({'errors': pc.errors, 'sent_video': pc.sent_video.count})
    await loop.run_in_executor(None, pc.stop)


if __name__ == '__main__':
    asyncio.run(main())
