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
import os
import re
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, '..', 'integration'))

import webrtc_peer  # noqa: E402  (first: it takes G_DEBUG out before GLib loads)
import harness  # noqa: E402
from harness import pid_of  # noqa: E402
from webrtc_peer import Peer, now  # noqa: E402

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

    def describe(self, *parties):
        return '\n'.join('%s: %r' % (p.name, p.peer.summary()) for p in parties)

    def daemon_log(self, pattern=None, n=40):
        lines = self.daemon.stderr_text().splitlines()
        if pattern:
            lines = [ln for ln in lines if pattern in ln]
        return '\n'.join(lines[-n:])


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
