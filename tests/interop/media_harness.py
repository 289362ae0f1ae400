"""Glue between the integration harness (tests/integration/harness.py: the
real daemon, REST, JSON-RPC client, World) and the webrtcbin test peer.

    class MyTest(MediaTestCase):
        async def test_x(self):
            h = await self.hearing([('Dan', 'defendant'), ('Dee', 'defence')])
            dfd = h.peer('defendant'); await dfd.publish() ...

The daemon runs with `[media] addresses = 127.0.0.1` (libnice skips
loopback otherwise). A file run without the daemon binary or without the
GStreamer elements exits 77 (meson: SKIP).
"""

import asyncio
import json
import os
import re
import signal
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, '..', 'integration'))

import webrtc_peer  # noqa: E402  (first: it takes G_DEBUG out before GLib loads)
import harness  # noqa: E402
from harness import pid_of  # noqa: E402
from webrtc_peer import Peer, now, sdp_ssrcs  # noqa: E402

MEDIA_OVERRIDES = {'media': {'addresses': '127.0.0.1'}}

# Upper bounds used by the tests (sanitizer builds on 2 cores are slow).
CONNECT_TIMEOUT = 15.0   # publish/subscribe until the first decoded frame
SETTLE = 1.0             # after a policy change, before measuring "nothing"


def metrics(daemon):
    """/metrics as {series: value}."""
    r = daemon.http('GET', '/metrics')
    out = {}
    if r.status != 200:
        return out
    for line in r.raw.decode('utf-8', 'replace').splitlines():
        if line.startswith('#') or not line.strip():
            continue
        m = re.match(r'^(\S+)\s+([-+0-9.eE]+)$', line)
        if m:
            out[m.group(1)] = float(m.group(2))
    return out


class MediaDaemon(harness.Daemon):
    """harness.Daemon with meson's G_DEBUG given back to the daemon."""

    def _env(self):
        env = harness.Daemon._env(self)
        if webrtc_peer.DAEMON_G_DEBUG is not None:
            env['G_DEBUG'] = webrtc_peer.DAEMON_G_DEBUG
        return env


class Party:
    """One participant of a test hearing: its REST record, socket and peer."""

    def __init__(self, name, role, record, rpc, peer):
        self.name, self.role, self.record, self.rpc, self.peer = name, role, record, rpc, peer

    @property
    def pid(self):
        return self.record['participant_id']


class Hearing:
    def __init__(self, test, hid):
        self.test = test
        self.id = hid
        self.parties = {}   # name -> Party
        self.clerk = None   # Party (staff socket)

    def __getitem__(self, name):
        return self.parties[name]

    def peer(self, name):
        return self.parties[name].peer

    def pid(self, name):
        return self.parties[name].pid

    async def set_state(self, state):
        r = self.test.world.set_state(self.id, state)
        self.test.assertEqual(r.status, 200, 'state %s: %r' % (state, r))

    async def clerk_call(self, method, params):
        return await self.clerk.rpc.call(method, params)


class TimedNotes(list):
    """An Rpc's notes list that keeps when each note arrived (time_notes())."""

    def __init__(self, items):
        list.__init__(self, items)
        self.times = [0.0] * len(items)

    def append(self, item):
        self.times.append(now())
        list.append(self, item)

    def arrival(self, method, pred=None, since=0.0):
        """When the first note `method` (pred(params) true) at or after `since` came."""
        for t, n in zip(self.times, self):
            if t >= since and n.method == method and (pred is None or pred(n.params)):
                return t
        return None


def time_notes(party):
    """From now on party.rpc.notes.arrival() says when a notification came."""
    if not isinstance(party.rpc.notes, TimedNotes):
        party.rpc.notes = TimedNotes(party.rpc.notes)


# Payloads shorter than this do not identify a packet.
MIN_STAMP = 8


def sent_stamps(party, since, until=None, kind=None):
    """Stamps (webrtc_peer.STAMP_BYTES of payload) of the RTP packets
    party's publish webrtcbin was given in [since, until)."""
    pub = party.peer.pub
    return {st for t, k, st in (list(pub.sent_rtp) if pub else [])
            if t >= since and (until is None or t < until) and len(st) >= MIN_STAMP and
            (kind is None or k == kind)}


def received_stamps(party):
    """Stamps of every RTP packet party's subscribe webrtcbin received."""
    return {p.stamp for p in party.peer.rtp_all() if p.stamp and len(p.stamp) >= MIN_STAMP}


class MediaTestCase(harness.DaemonTestCase):
    """One daemon with media on loopback per test class; peers closed after
    each test; the daemon's sanitizer reports fail the class."""

    overrides = MEDIA_OVERRIDES

    @classmethod
    def setUpClass(cls):
        cls.daemon = MediaDaemon(cls.overrides, name=cls.__name__)
        try:
            cls.daemon.start()
            cls.world = harness.World(cls.daemon)
        except BaseException:
            cls.daemon.kill()
            raise

    def setUp(self):
        harness.DaemonTestCase.setUp(self)
        self._peers = []

    async def asyncSetUp(self):
        await harness.DaemonTestCase.asyncSetUp(self)
        self.t_start = now()

    async def asyncTearDown(self):
        for p in self._peers:
            await p.close()
        await harness.DaemonTestCase.asyncTearDown(self)

    # -- building hearings ---------------------------------------------------

    def new_peer(self, rpc, name, **kw):
        p = Peer(rpc, name, **kw)
        self._peers.append(p)
        return p

    async def skip_if_no_media(self, rpc):
        reply = await rpc.request('webrtc.subscribe', {'hearing_id': 'hrg_' + 'z' * 26})
        if reply.get('error', {}).get('code') == -32601:
            self.skipTest('webrtc.* not implemented by this daemon (-32601)')

    async def hearing(self, specs, state='in_session', admit=True, peer_kw=None):
        """A hearing with the clerk (staff socket, joined, in main) and the
        participants `specs`: [(name, role) or (name, role, special_measures)],
        each with a joined socket and a Peer; admitted to main when `admit`.
        state: the hearing state reached from scheduled (scheduled, open,
        in_session). peer_kw: {name: Peer keyword arguments}."""
        peer_kw = peer_kw or {}
        w = self.world
        hid = w.new_hearing()
        h = Hearing(self, hid)
        path = {'scheduled': [], 'open': ['open'], 'in_session': ['open', 'in_session']}[state]
        for s in path:
            await h.set_state(s)
        clerk_rpc = await self.staff_ws('clerk', hid)
        await self.skip_if_no_media(clerk_rpc)
        h.clerk = Party('clerk', 'clerk', {'participant_id': clerk_rpc.joined.get(
            'participant_id') or self._my_pid(clerk_rpc)}, clerk_rpc,
            self.new_peer(clerk_rpc, 'clerk', **peer_kw.get('clerk', {})))
        h.parties['clerk'] = h.clerk
        for spec in specs:
            name, role = spec[0], spec[1]
            sm = spec[2] if len(spec) > 2 else None
            rec = w.add_participant(hid, name, role, sm)
            rpc = await self.join_ws(rec, name=name)
            party = Party(name, role, rec, rpc, self.new_peer(rpc, name, **peer_kw.get(name, {})))
            h.parties[name] = party
            if admit:
                await self.admit(h, party)
        return h

    def _my_pid(self, rpc):
        hello = rpc.hello or {}
        ident = hello.get('identity') or {}
        if ident.get('participant_id'):
            return ident['participant_id']
        joined = rpc.joined or {}
        for key in ('participant_id', 'me', 'self'):
            v = joined.get(key)
            if isinstance(v, str):
                return v
            if isinstance(v, dict) and v.get('participant_id'):
                return v['participant_id']
        return None

    async def admit(self, h, party):
        await h.clerk.rpc.call('hearing.admit', {'participant_id': party.pid})
        await party.rpc.wait_for('participant.admitted', lambda q: pid_of(q) == party.pid)

    async def move(self, h, party, place):
        await h.clerk.rpc.call('hearing.move', {'participant_id': party.pid, 'place': place})

    # -- waiting and measuring -------------------------------------------------

    async def wait_flowing(self, pairs, kinds=('video', 'audio'), n=5, timeout=CONNECT_TIMEOUT,
                           kick=False):
        """Waits until each (receiver Party, sender Party) has decoded n video
        frames and n audio buffers.

        kick: the senders' encoders are made to produce a key frame every
        0.5 s until their video decodes everywhere (for publishers that send
        key frames only on request, when the test is not about the gateway's
        own key-frame request at join)."""
        deadline = now() + timeout
        next_kick = now()
        pending = [(rx, tx, kind) for rx, tx in pairs for kind in kinds]
        while pending:
            pending = [(rx, tx, kind) for rx, tx, kind in pending
                       if rx.peer.decoded_from(tx.pid, kind).count < n]
            if not pending:
                break
            if now() > deadline:
                rx, tx, kind = pending[0]
                try:
                    await rx.peer.wait_decoded(tx.pid, kind, n=n, timeout=0.01)
                except AssertionError as e:
                    raise AssertionError('%s\n%s\nstill waiting for: %s' % (
                        e, self.sender_report(tx),
                        ', '.join('%s <- %s %s' % (r.name, t.name, k) for r, t, k in pending))
                    ) from None
                break
            if kick and now() >= next_kick:
                for tx in {id(tx): tx for rx, tx, kind in pending if kind == 'video'}.values():
                    if tx.peer.pub is not None:
                        tx.peer.pub.force_keyframe()
                next_kick = now() + 0.5
            await asyncio.sleep(0.05)

    def sender_report(self, tx):
        pub = tx.peer.pub
        if pub is None:
            return '%s does not publish' % tx.name
        m = metrics(self.daemon)
        t0 = self.t_start
        return ('sender %s: %d video frames, %d key frames encoded, %d key-frame requests '
                'reached the encoder, %d key frames forced by the test; RTCP received %d '
                '(PLI %d at %s, FIR %d at %s, NACK %d, REMB %d); '
                'gateway: vej_media_keyframe_requests_total %s'
                % (tx.name, pub.sent_video.count, pub.keyframes_sent.count,
                   pub.force_key_units.count, pub.forced_keyframes.count, pub.rtcp_in.count,
                   pub.pli_in.count, ['%.2f' % (t - t0) for t in pub.pli_in.times[:12]],
                   pub.fir_in.count, ['%.2f' % (t - t0) for t in pub.fir_in.times[:12]],
                   pub.nack_in.count, pub.remb_in.count,
                   m.get('vej_media_keyframe_requests_total')))

    def received_rtp(self, rx, tx, since, until=None, kind=None):
        """RTP packets from tx (by media.tracks mids) that rx received in [since, until)."""
        return [p for p in rx.peer.rtp_from(tx.pid, kind)
                if p.t >= since and (until is None or p.t < until)]

    def announced_ssrcs(self, rx, tx, kind=None):
        """The SSRCs rx's subscribe offers announced (a=ssrc) on m-lines that
        carried tx's tracks when the offer came (by the media.tracks sent
        before it). Unlike the current mid mapping, this stays right when
        an m-line is recycled for another publisher."""
        out = set()
        for t_offer, params in rx.peer.offers:
            tracks = None
            for t_tracks, lst in rx.peer.tracks_history:
                if t_tracks <= t_offer:
                    tracks = lst
            mids = {str(tr.get('mid')) for tr in tracks or []
                    if tr.get('participant_id') == tx.pid and
                    (kind is None or tr.get('kind') == kind)}
            out |= {ssrc for ssrc, mid in sdp_ssrcs(params.get('sdp', '')).items()
                    if mid in mids}
        return out

    def received_rtp_by_ssrc(self, rx, tx, since, until=None, kind=None):
        """RTP packets from tx (by announced_ssrcs) that rx received in [since, until)."""
        ssrcs = self.announced_ssrcs(rx, tx, kind)
        return [p for p in rx.peer.rtp_all()
                if p.ssrc in ssrcs and p.t >= since and (until is None or p.t < until)]

    def describe(self, *parties):
        return '\n'.join('%s: %r' % (p.name, p.peer.summary()) for p in parties)

    def daemon_log(self, pattern=None, n=40):
        lines = self.daemon.stderr_text().splitlines()
        if pattern:
            lines = [ln for ln in lines if pattern in ln]
        return '\n'.join(lines[-n:])


# --------------------------------------------------------------------------
# A UDP relay between one ICE peer and the gateway
# --------------------------------------------------------------------------

def datagram_kind(data):
    """RFC 7983 demultiplexing: 'stun' (a request or an indication),
    'stun-response' (a binding success response), 'dtls', 'rtp', 'rtcp' or
    'other'."""
    if not data:
        return 'other'
    b0 = data[0]
    if b0 <= 3:
        return 'stun-response' if data[:2] == b'\x01\x01' else 'stun'
    if 20 <= b0 <= 63:
        return 'dtls'
    if 128 <= b0 <= 191 and len(data) >= 2:
        return 'rtcp' if 192 <= data[1] <= 223 else 'rtp'
    return 'other'


_HOST_CANDIDATE = re.compile(r'(127\.0\.0\.1 )(\d+)( typ host)')


def move_host_candidates(text, port, seen=None):
    """SDP or candidate text with the port of each loopback host candidate
    replaced by `port` (the original ports appended to `seen`)."""
    def sub(m):
        if seen is not None:
            seen.append(int(m.group(2)))
        return m.group(1) + str(port) + m.group(3)
    return _HOST_CANDIDATE.sub(sub, text)


class _RelaySide(asyncio.DatagramProtocol):
    def __init__(self, relay, side):
        self.relay, self.side = relay, side

    def connection_made(self, transport):
        self.transport = transport

    def datagram_received(self, data, addr):
        self.relay._received(self.side, data, addr)

    def error_received(self, exc):   # ICMP port unreachable and the like
        self.relay.errors.append('%s: %r' % (self.side, exc))


class UdpRelay:
    """Every datagram of one PeerConnection, seen and steered.

    Two sockets on 127.0.0.1: the peer is told (remote_sdp_munge) that the
    gateway's candidate is `peer_port`, and the gateway is told
    (candidate_munge) that the peer's is `gateway_port`. What arrives at
    one goes out of the other, so both ICE agents see only the addresses
    they were given (no peer-reflexive candidate). `log` keeps (t,
    direction 'to_peer' or 'to_gateway', kind, size) of every datagram;
    `block_to_peer` / `block_to_gateway` drop a direction (still logged),
    `mangle_to_gateway` (bytes -> bytes or None) rewrites or drops what the
    peer sends, and inject_to_gateway() sends from the peer's address."""

    def __init__(self):
        self.peer_port = self.gateway_port = None
        self.peer_addr = None       # learned from the first datagram the peer sends
        self.gateway_addr = None    # set by the test, or from the gateway's first datagram
        self.log = []
        self.errors = []
        self.block_to_peer = self.block_to_gateway = False
        self.mangle_to_gateway = None
        self._sides = {}

    async def start(self):
        loop = asyncio.get_running_loop()
        for side in ('peer', 'gateway'):
            transport, proto = await loop.create_datagram_endpoint(
                lambda side=side: _RelaySide(self, side), local_addr=('127.0.0.1', 0))
            self._sides[side] = transport
        self.peer_port = self._sides['peer'].get_extra_info('sockname')[1]
        self.gateway_port = self._sides['gateway'].get_extra_info('sockname')[1]
        return self

    def close(self):
        for t in self._sides.values():
            t.close()

    def peer_kw(self):
        """Peer keyword arguments routing a webrtcbin Peer through the relay."""
        def remote(text):
            seen = []
            out = move_host_candidates(text, self.peer_port, seen)
            if seen and self.gateway_addr is None:
                self.gateway_addr = ('127.0.0.1', seen[0])
            return out
        return {'remote_sdp_munge': remote,
                'candidate_munge': lambda c: move_host_candidates(c, self.gateway_port)}

    # -- forwarding -----------------------------------------------------------

    def _received(self, side, data, addr):
        t = now()
        if side == 'peer':
            if self.peer_addr is None:
                self.peer_addr = addr
            self.log.append((t, 'to_gateway', datagram_kind(data), len(data)))
            if self.block_to_gateway or self.gateway_addr is None:
                return
            if self.mangle_to_gateway is not None:
                data = self.mangle_to_gateway(data)
                if data is None:
                    return
            self._sides['gateway'].sendto(data, self.gateway_addr)
        else:
            if self.gateway_addr is None:
                self.gateway_addr = addr
            self.log.append((t, 'to_peer', datagram_kind(data), len(data)))
            if self.block_to_peer or self.peer_addr is None:
                return
            self._sides['peer'].sendto(data, self.peer_addr)

    def inject_to_gateway(self, data):
        """Sends `data` to the gateway from the peer's validated address."""
        self.log.append((now(), 'injected', datagram_kind(data), len(data)))
        self._sides['gateway'].sendto(data, self.gateway_addr)

    def seen(self, direction, kinds=None, since=0.0, until=None):
        """Times of the datagrams seen going `direction` whose kind is in kinds."""
        return [t for t, d, k, _ in list(self.log) if d == direction and
                (kinds is None or k in kinds) and t >= since and (until is None or t < until)]

    def summary(self, since=0.0, until=None):
        out = {}
        for t, d, k, _ in list(self.log):
            if t >= since and (until is None or t < until):
                out['%s %s' % (d, k)] = out.get('%s %s' % (d, k), 0) + 1
        return out


# --------------------------------------------------------------------------
# A participant in a process of its own (peer_process.py)
# --------------------------------------------------------------------------

class PeerProcess:
    """A webrtcbin participant in a child process (peer_process.py) that a
    test can freeze (SIGSTOP) and thaw (SIGCONT). Its events (JSON lines)
    are kept in `events` as (t, event)."""

    SCRIPT = os.path.join(HERE, 'peer_process.py')

    def __init__(self):
        self.proc = None
        self.events = []
        self.stderr = []
        self.pid = None
        self._changed = asyncio.Event()
        self._tasks = []

    @classmethod
    async def start(cls, daemon, record, name, relay=None):
        self = cls()
        cfg = {'port': daemon.port, 'cert': daemon.cert_path, 'token': record['join_token'],
               'name': name, 'relay': [relay.peer_port, relay.gateway_port] if relay else None}
        # (G_DEBUG is already out of os.environ: see webrtc_peer)
        env = dict(os.environ, VEJ_PEER_CONFIG=json.dumps(cfg))
        self.proc = await asyncio.create_subprocess_exec(
            sys.executable, cls.SCRIPT, stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, env=env,
            preexec_fn=harness._die_with_parent)
        self.pid = self.proc.pid
        self._tasks = [asyncio.ensure_future(self._read_events()),
                       asyncio.ensure_future(self._read_stderr())]
        return self

    async def _read_events(self):
        while True:
            line = await self.proc.stdout.readline()
            if not line:
                break
            try:
                ev = json.loads(line)
            except ValueError:
                self.stderr.append('stdout: ' + line.decode('utf-8', 'replace').rstrip())
                continue
            self.events.append((now(), ev))
            ev_, self._changed = self._changed, asyncio.Event()
            ev_.set()
        ev_, self._changed = self._changed, asyncio.Event()
        ev_.set()

    async def _read_stderr(self):
        while True:
            line = await self.proc.stderr.readline()
            if not line:
                return
            self.stderr.append(line.decode('utf-8', 'replace').rstrip())

    async def wait_event(self, name, timeout=CONNECT_TIMEOUT, since=0.0):
        """The first event `name` that came at or after `since`: (t, event)."""
        deadline = now() + timeout
        while True:
            for t, ev in list(self.events):
                if ev.get('event') == name and t >= since:
                    return t, ev
            errors = [e for _, e in self.events if e.get('event') == 'error']
            if errors:
                raise AssertionError('peer process: %r' % errors)
            left = deadline - now()
            if left <= 0 or self.proc.stdout.at_eof():
                raise AssertionError('peer process: no %r event within %.0f s; events %r; '
                                     'stderr:\n%s' % (name, timeout, self.events[-10:],
                                                      '\n'.join(self.stderr[-30:])))
            ch = self._changed
            try:
                await asyncio.wait_for(ch.wait(), min(left, 0.5))
            except asyncio.TimeoutError:
                pass

    async def command(self, cmd, timeout=CONNECT_TIMEOUT):
        """Sends {"cmd": cmd}; returns the event answering it."""
        t = now()
        self.proc.stdin.write((json.dumps({'cmd': cmd}) + '\n').encode())
        await self.proc.stdin.drain()
        return (await self.wait_event(cmd, timeout, since=t))[1]

    def freeze(self):
        os.kill(self.pid, signal.SIGSTOP)

    def thaw(self):
        os.kill(self.pid, signal.SIGCONT)

    async def close(self):
        """quit, or SIGKILL when it does not within 10 s."""
        if self.proc is None:
            return
        try:
            os.kill(self.pid, signal.SIGCONT)
        except OSError:
            pass
        if self.proc.returncode is None:
            try:
                await self.command('quit', timeout=10)
            except (AssertionError, ConnectionError, OSError):
                pass
        try:
            await asyncio.wait_for(self.proc.wait(), 5)
        except asyncio.TimeoutError:
            self.proc.kill()
            await self.proc.wait()
        for task in self._tasks:
            task.cancel()
        self.proc = None


async def sleep_until(t):
    d = t - now()
    if d > 0:
        await asyncio.sleep(d)


def main():
    missing = harness.binaries_present()
    if missing:
        print('SKIP: not built: %s' % ', '.join(missing))
        sys.exit(77)
    miss = webrtc_peer.missing_elements()
    if miss:
        print('SKIP: GStreamer elements missing: %s' % ', '.join(miss))
        sys.exit(77)
    t0 = time.monotonic()
    try:
        harness.main()
    finally:
        print('(%.1f s)' % (time.monotonic() - t0))
