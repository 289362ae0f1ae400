"""SIGTERM with live media (issue 3, item 4): while two publishers'
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
