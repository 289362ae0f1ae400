"""Moves take effect before they are announced (docs/architecture.md,
"enforce before announce"), proved on real media with the worker loaded.

One media worker carries a hearing of vej-loadgen's (publishers and
observers forwarding thousands of packets a second) and the hearing under
test: webrtcbin peers for the clerk and a witness (main room), the mover
(the defendant: white-noise audio, so that every packet's payload is its
own, and video) and its advocate, waiting in a consultation room. The
mover goes into the consultation room and back, again and again; it is
muted and unmuted. Every packet is stamped by its payload, which the
gateway never rewrites: the mover's webrtcbin records what it sends
(time, kind, payload) and each subscriber what it receives.

- no packet the mover sent after it received `participant.moved` into the
  consultation room (and before the clerk asked for it back) reaches the
  clerk or the witness, nor the recorder's capture; none sent after it
  received `participant.muted` (audio) reaches anyone;
- nothing the clerk sent after the mover was told reaches the mover;
- screened from the witness through REST: no video the mover sends after
  the PATCH is answered reaches the witness; removed: nothing it sends
  after `session.closing` reaches anyone or the capture;
- the controls: the advocate receives the mover in the room, the clerk
  before and after, the capture has the mover's main-room audio.

Run: VEJ_GATEWAY=build/daemon/vej-gateway VEJCTL=build/tools/vejctl \\
        VEJ_LOADGEN=build/tools/vej-loadgen/vej-loadgen \\
        /usr/bin/python3 tests/interop/test_moves.py
VEJ_MOVES_LOAD="publishers observers" sets the load (default "8 8").
"""

import asyncio
import os
import signal
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import media_harness  # noqa: E402
from media_harness import (MediaTestCase, now, received_stamps, sent_stamps,  # noqa: E402
                           time_notes)
from test_recording import RecordingMixin  # noqa: E402
from webrtc_peer import STAMP_BYTES, parse_rtp  # noqa: E402

LOADGEN = os.environ.get('VEJ_LOADGEN') or os.path.join(
    os.environ.get('VEJ_BUILD_ROOT', ''), 'tools', 'vej-loadgen', 'vej-loadgen')
ROUNDS = int(os.environ.get('VEJ_MOVES_ROUNDS', '8'))
IN_ROOM = 1.2      # seconds the mover spends in the consultation room per round
IN_MAIN = 1.2      # and in the main room


class MovesUnderLoadTest(RecordingMixin, MediaTestCase):
    overrides = {'media': {'addresses': '127.0.0.1', 'workers': 1}}

    async def start_load(self):
        pubs, subs = (os.environ.get('VEJ_MOVES_LOAD') or '8 8').split()
        cmd = [LOADGEN, '--url', self.daemon.base, '--token', self.world.tokens['clerk'],
               '--courtroom', self.world.courtroom_id, '--gateway-pid',
               str(self.daemon.proc.pid), '-n', pubs, '-m', subs, '--warmup', '1',
               '--duration', '600', '--threads', '2']
        self.loadgen_log = tempfile.TemporaryFile()
        self.loadgen = await asyncio.create_subprocess_exec(
            *cmd, stdout=asyncio.subprocess.DEVNULL, stderr=self.loadgen_log)
        # loaded once the gateway forwards for the load's hearing
        deadline = now() + 60
        while now() < deadline:
            m = media_harness.metrics(self.daemon)
            if m.get('vej_media_rtp_forwarded_total', 0) > 2000:
                return
            if self.loadgen.returncode is not None:
                break
            await asyncio.sleep(0.5)
        err = await self.stop_load()
        self.fail('vej-loadgen did not load the gateway: %s' % err[-2000:])

    async def stop_load(self):
        p, self.loadgen = getattr(self, 'loadgen', None), None
        if p is None:
            return ''
        if p.returncode is None:
            p.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(p.wait(), 10)
            except asyncio.TimeoutError:
                p.kill()
                await p.wait()
        self.loadgen_log.seek(0)
        err = self.loadgen_log.read()
        self.loadgen_log.close()
        return err.decode('utf-8', 'replace')

    async def asyncTearDown(self):
        await self.stop_load()
        await MediaTestCase.asyncTearDown(self)

    def forwarded_pps(self, m0, t0, m1, t1):
        k = 'vej_media_rtp_forwarded_total'
        return (m1.get(k, 0) - m0.get(k, 0)) / max(t1 - t0, 1e-3)

    async def test_moves_and_mutes_enforced_before_announced(self):
        if not os.access(LOADGEN, os.X_OK):
            self.fail('vej-loadgen not built: %s' % LOADGEN)
        await self.start_load()
        kw = {'keyframe_max_dist': 30}
        h = await self.hearing([('Mo Mover', 'defendant'), ('Ada Advocate', 'defence'),
                                ('Wes Main', 'witness')],
                               peer_kw={'Mo Mover': kw, 'clerk': kw})
        clerk, mover, adv, wit = h['clerk'], h['Mo Mover'], h['Ada Advocate'], h['Wes Main']
        time_notes(mover)
        await self.move(h, adv, 'consultation:c1')
        await mover.peer.publish(wave='white-noise')
        await clerk.peer.publish(wave='white-noise')
        for p in (clerk, wit, adv, mover):
            await p.peer.subscribe()
        await self.wait_flowing([(clerk, mover), (wit, mover), (mover, clerk)])
        m0, t0 = media_harness.metrics(self.daemon), now()

        windows = []   # (mover told it is in the room, the clerk asks it back)
        mutes = []     # (mover told it is muted, the clerk unmutes)
        def moved_to(place):
            return lambda q: (q.get('place') == place and
                              (q.get('participant') or {}).get('participant_id') == mover.pid)

        def muted(value):
            return lambda q: q.get('participant_id') == mover.pid and q.get('muted') is value
        for i in range(ROUNDS):
            t_req = now()
            await self.move(h, mover, 'consultation:c1')
            await mover.rpc.wait_for('participant.moved', moved_to('consultation:c1'))
            t_told = mover.rpc.notes.arrival('participant.moved', moved_to('consultation:c1'),
                                             t_req)
            await asyncio.sleep(IN_ROOM)
            t_back = now()
            windows.append((t_told, t_back))
            await self.move(h, mover, 'main')
            await mover.rpc.wait_for('participant.moved', moved_to('main'))
            await asyncio.sleep(IN_MAIN)
            if i % 2 == 0:
                t_req = now()
                await clerk.rpc.call('hearing.mute', {'participant_id': mover.pid,
                                                      'kind': 'audio', 'muted': True})
                await mover.rpc.wait_for('participant.muted', muted(True))
                t_muted = mover.rpc.notes.arrival('participant.muted', muted(True), t_req)
                await asyncio.sleep(0.6)
                t_unmute = now()
                mutes.append((t_muted, t_unmute))
                await clerk.rpc.call('hearing.mute', {'participant_id': mover.pid,
                                                      'kind': 'audio', 'muted': False})
                await mover.rpc.wait_for('participant.muted', muted(False))
                await asyncio.sleep(0.6)
        await asyncio.sleep(0.5)
        m1, t1 = media_harness.metrics(self.daemon), now()
        pps = self.forwarded_pps(m0, t0, m1, t1)
        # every move and mute reached the worker as a policy update (/metrics)
        updates = (m1.get('vej_media_policy_updates_total', 0) -
                   m0.get('vej_media_policy_updates_total', 0))
        cells = (m1.get('vej_media_policy_cells_applied_total', 0) -
                 m0.get('vej_media_policy_cells_applied_total', 0))
        self.assertGreaterEqual(updates, 2 * ROUNDS, 'policy updates taken: %d' % updates)
        self.assertGreaterEqual(cells, 2 * ROUNDS, 'policy cells applied: %d' % cells)
        loadgen_err = await self.stop_load()

        sent = list(mover.peer.pub.sent_rtp)
        in_room = set().union(*(sent_stamps(mover, a, b) for a, b in windows))
        muted = set().union(*(sent_stamps(mover, a, b, 'audio') for a, b in mutes))
        # the controls: the mover sent in the room and the advocate got it;
        # the main room got the mover outside the windows
        got_adv = received_stamps(adv) & in_room
        main_times = [(b + IN_MAIN * 0.5, b + IN_MAIN) for a, b in windows]
        in_main = set().union(*(sent_stamps(mover, a, b) for a, b in main_times))
        got_clerk_main = received_stamps(clerk) & in_main
        print('load: %.0f packets/s forwarded by the one worker; %d rounds; mover sent %d '
              'packets in the room (advocate received %d), %d while muted; clerk received %d '
              'of %d in main' % (pps, len(windows), len(in_room), len(got_adv), len(muted),
                                 len(got_clerk_main), len(in_main)))
        self.assertGreater(len(in_room), 50 * len(windows))
        self.assertGreater(len(got_adv), 0.5 * len(in_room), 'the advocate did not hear the '
                           'mover in the consultation room\n%s' % self.describe(adv, mover))
        self.assertGreater(len(got_clerk_main), 0.5 * len(in_main), self.describe(clerk, mover))

        # nothing the mover sent once told it was in the room reaches main
        for rx in (clerk, wit):
            leaked = received_stamps(rx) & in_room
            detail = sorted(t - a for t, k, st in sent if st in leaked
                            for a, b in windows if a <= t < b)
            self.assertEqual(len(leaked), 0, '%s received %d packets the mover sent after it was '
                             'told it was in the consultation room (sent %s s after being '
                             'told)\n%s' % (rx.name, len(leaked), ['%.3f' % d for d in
                                                                   detail[:10]],
                                            loadgen_err[-500:]))
        # muted: nothing the mover sent after being told reaches anyone
        for rx in (clerk, wit, adv):
            leaked = received_stamps(rx) & muted
            self.assertEqual(len(leaked), 0, '%s received %d audio packets the mover sent after '
                             'it was told it was muted' % (rx.name, len(leaked)))
        # the other way: what the clerk sent after the mover was told
        clerk_in_room = set().union(*(sent_stamps(clerk, a, b) for a, b in windows))
        leaked = received_stamps(mover) & clerk_in_room
        self.assertEqual(len(leaked), 0, 'the mover received %d packets the clerk sent after the '
                         'mover was told it was in the consultation room' % len(leaked))

        # Screening through REST: the answer to the PATCH comes once the
        # relay enforces it; no video the mover sends after it reaches the
        # witness (the clerk keeps it, the control).
        loop = asyncio.get_running_loop()
        sm = {'screened_from': ['witness'], 'audio_only': False, 'anonymous': False}
        r = await loop.run_in_executor(None, lambda: self.daemon.api(
            'PATCH', '/hearings/%s/participants/%s' % (h.id, mover.pid),
            {'special_measures': sm}, token=self.world.token('clerk')))
        t_answer = now()
        self.assertEqual(r.status, 200, r)
        await asyncio.sleep(1.5)
        screened = sent_stamps(mover, t_answer, now(), 'video')
        leaked = received_stamps(wit) & screened
        self.assertGreater(len(screened), 20)
        self.assertEqual(len(leaked), 0, 'the witness received %d video packets the mover sent '
                         'after the screening was answered' % len(leaked))
        self.assertGreater(len(received_stamps(clerk) & screened), 0.5 * len(screened))

        # Removed: nothing the mover sends once told (session.closing)
        # reaches anyone.
        t_req = now()
        await clerk.rpc.call('hearing.remove', {'participant_id': mover.pid})
        await mover.rpc.wait_for('session.closing')
        t_closing = mover.rpc.notes.arrival('session.closing', None, t_req)
        await asyncio.sleep(1.0)
        after_removal = sent_stamps(mover, t_closing, now())
        self.assertGreater(len(after_removal), 20)
        for rx in (clerk, wit, adv):
            leaked = received_stamps(rx) & after_removal
            self.assertEqual(len(leaked), 0, '%s received %d packets the mover sent after it was '
                             'told it was removed' % (rx.name, len(leaked)))

        # the recorder's capture: none of it either
        await h.set_state('closed')
        d, doc = await self.wait_capture(h.id, lambda c: c['state'] == 'stopped')
        captured = {payload_stamp(pl) for _, _, pl in self.packets(d, doc)}
        self.assertEqual(len(captured & in_room), 0, 'the recorder captured %d packets the mover '
                         'sent in the consultation room' % len(captured & in_room))
        self.assertEqual(len(captured & muted), 0)
        self.assertEqual(len(captured & after_removal), 0)
        self.assertGreater(len(captured & in_main), 0.5 * len(in_main),
                           'the capture lacks the mover\'s main-room media')


def payload_stamp(rtp):
    """The stamp (webrtc_peer.STAMP_BYTES of payload) of a captured RTP packet."""
    p = parse_rtp(rtp)
    return bytes(p[5][:STAMP_BYTES]) if p else b''


if __name__ == '__main__':
    media_harness.main()
