"""Teardown with live media.

Closing a hearing while media flows closes every PeerConnection of it and
frees its state in the relay (vej_media_hearings and vej_media_peers go
back); other hearings keep flowing.

SIGTERM: while two publishers'
VP8+Opus flow to three subscribers through the gateway, SIGTERM makes the
daemon send session.closing to every socket, close every PeerConnection
(teardown on the workers: RTCP BYE, DTLS close_notify, libnice agents
closed) and exit with status 0 within 10 s, with no sanitizer report. After
it no RTP reaches any subscriber.

Run: VEJ_GATEWAY=build/daemon/vej-gateway VEJCTL=build/tools/vejctl \
        /usr/bin/python3 tests/interop/test_shutdown.py
"""

import asyncio
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import media_harness  # noqa: E402
from media_harness import MediaTestCase, now  # noqa: E402


class HearingCloseTest(MediaTestCase):

    async def test_close_hearing_frees_its_media(self):
        m0 = media_harness.metrics(self.daemon)
        a = await self.hearing([('Ann Alpha', 'defendant')])
        b = await self.hearing([('Bob Beta', 'defendant')])
        for h, name in ((a, 'Ann Alpha'), (b, 'Bob Beta')):
            await h[name].peer.publish()
            await h.clerk.peer.subscribe()
        await self.wait_flowing([(a.clerk, a['Ann Alpha']), (b.clerk, b['Bob Beta'])])
        m1 = media_harness.metrics(self.daemon)
        self.assertEqual(m1['vej_media_hearings'] - m0.get('vej_media_hearings', 0), 2)
        self.assertEqual(m1['vej_media_peers'] - m0.get('vej_media_peers', 0), 4)
        await a.set_state('closed')
        deadline = now() + 5
        while now() < deadline:
            m2 = media_harness.metrics(self.daemon)
            if m2['vej_media_hearings'] - m0.get('vej_media_hearings', 0) == 1:
                break
            await asyncio.sleep(0.1)
        self.assertEqual(m2['vej_media_hearings'] - m0.get('vej_media_hearings', 0), 1)
        self.assertEqual(m2['vej_media_peers'] - m0.get('vej_media_peers', 0), 2)
        # the other hearing is untouched
        t = now()
        await asyncio.sleep(1.0)
        got = b.clerk.peer.decoded_from(b['Bob Beta'].pid, 'video').count_since(t)
        self.assertGreater(got, 10, 'the other hearing stopped flowing')


class ShutdownWithMediaTest(MediaTestCase):

    async def test_sigterm_with_live_media(self):
        h = await self.hearing([('Dan Defendant', 'defendant'), ('Dee Defence', 'defence')])
        clerk, dfd, dfc = h['clerk'], h['Dan Defendant'], h['Dee Defence']
        await dfd.peer.publish()
        await dfc.peer.publish()
        for p in (clerk, dfd, dfc):
            await p.peer.subscribe()
        pairs = [(clerk, dfd), (clerk, dfc), (dfd, dfc), (dfc, dfd)]
        await self.wait_flowing(pairs)
        # media is flowing on 5 PeerConnections; stop the daemon under it
        t_stop = now()
        elapsed = await asyncio.get_running_loop().run_in_executor(None, self.daemon.stop)
        print('SIGTERM with 5 live PeerConnections: exited in %.2f s' % elapsed)
        self.assertLess(elapsed, 10)
        for p in (clerk, dfd, dfc):
            code = await p.rpc.wait_closed(timeout=3)
            closing = [n.params for n in p.rpc.notes if n.method == 'session.closing']
            self.assertTrue(closing, '%s got no session.closing' % p.name)
            self.assertEqual(closing[-1].get('reason'), 'shutdown', p.name)
            self.assertEqual(code, 1001, p.name)
        # nothing arrives once the daemon has gone (allow for packets
        # already in the receivers' jitter buffers)
        await asyncio.sleep(0.5)
        t_quiet = now()
        await asyncio.sleep(1.0)
        for rx, tx in pairs:
            for kind in ('video', 'audio'):
                late = rx.peer.decoded_from(tx.pid, kind).count_since(t_quiet)
                self.assertEqual(late, 0, '%s <- %s %s decoded after the shutdown'
                                 % (rx.name, tx.name, kind))
        self.assertGreater(t_quiet, t_stop)


if __name__ == '__main__':
    media_harness.main()
