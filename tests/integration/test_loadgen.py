"""vej-loadgen against the real daemon behaves like real clients: its
subscribers send receiver reports and REMB, NACK the gaps that --loss makes
and take the gateway's RTX (video repaired, so the loss left is audio's
share), its publishers send the audio level, and it runs its PCs on two
media threads; the gateway's sender reports reach a subscriber as one
compound per PC. Reads the figures from --json."""

import json
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402

LOADGEN = os.path.join(os.environ.get('VEJ_BUILD_ROOT', ''), 'tools', 'vej-loadgen',
                       'vej-loadgen')


class LoadgenTest(harness.DaemonTestCase):
    overrides = {'media': {'addresses': '127.0.0.1', 'workers': 1}}

    def run_loadgen(self, *extra):
        out = tempfile.mktemp(prefix='vej-it-loadgen-', suffix='.json')
        cmd = [LOADGEN, '--url', self.daemon.base, '--token', self.world.tokens['clerk'],
               '--courtroom', self.world.courtroom_id, '--gateway-pid',
               str(self.daemon.proc.pid), '-n', '2', '-m', '2', '--warmup', '2',
               '--duration', '4', '--json', out] + list(extra)
        p = subprocess.run(cmd, capture_output=True, timeout=150)
        self.assertEqual(p.returncode, 0, p.stderr.decode()[-2000:])
        with open(out) as f:
            res = json.load(f)
        os.unlink(out)
        return res, p.stdout.decode()

    async def test_feedback_and_repair_under_loss(self):
        res, text = self.run_loadgen('--loss', '0.05', '--threads', '2')
        # a report every second per subscribe PC, plus NACK compounds
        self.assertGreaterEqual(res['rtcp_sent'], 2 * 4, text)
        self.assertGreater(res['dropped'], 0, text)
        self.assertGreater(res['nacked'], 0, text)
        self.assertGreater(res['rtx_received'], 0, text)
        self.assertGreater(res['recovered'], 0, text)
        # 5% dropped; video (about 70% of packets) is repaired, audio is not
        self.assertLess(res['loss_pct'], 3.0, text)
        self.assertGreater(res['forwarded_pps'], 0, text)

    async def test_reports_without_loss(self):
        res, text = self.run_loadgen()
        self.assertEqual(res['dropped'], 0, text)
        self.assertGreaterEqual(res['rtcp_sent'], 2 * 4, text)
        # the publishers' audio level reaches the subscribers (the gateway
        # forwards the element only when the publisher sent it)
        self.assertGreater(res['audio_received'], 0, text)
        self.assertEqual(res['audio_with_level'], res['audio_received'], text)

    async def test_sender_reports_compounded_per_pc(self):
        # Each subscribe PC receives 4 streams (2 publishers, audio and
        # video): their sender reports come as one SRTCP compound per PC
        # each second, not one datagram per stream.
        res, text = self.run_loadgen()
        self.assertGreater(res['sender_report_compounds'], 0, text)
        self.assertGreaterEqual(res['sender_reports'], 3 * res['sender_report_compounds'], text)


if __name__ == '__main__':
    if not os.access(LOADGEN, os.X_OK) or not os.access(harness.GATEWAY, os.X_OK):
        sys.exit(77)
    harness.main()
