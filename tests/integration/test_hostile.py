"""Hostile and broken publishers against the real daemon (docs/operations.md
[media] max_publish_*, docs/architecture.md "Loss"): a publish offer with
more tracks of a kind than allowed has the extra m-lines rejected; with
vej-loadgen's publishers sending media, sender reports reach subscribers
only on the publisher's own clock, an SSRC change (renegotiated) starts
every per-SSRC state afresh, and a renumbering or retransmissions over a
subscriber's budget make video copies wait for a keyframe, which is asked
for, instead of forwarding pictures that cannot be decoded."""

import json
import os
import re
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import pid_of  # noqa: E402
from test_webrtc import mlines, publish_offer  # noqa: E402

LOADGEN = os.path.join(os.environ.get('VEJ_BUILD_ROOT', ''), 'tools', 'vej-loadgen',
                       'vej-loadgen')


def metrics(daemon):
    """/metrics as {series: value}."""
    out = {}
    for line in daemon.http('GET', '/metrics').raw.decode('utf-8', 'replace').splitlines():
        m = re.match(r'^([^#\s]\S*)\s+([-+0-9.eE]+)$', line)
        if m:
            out[m.group(1)] = float(m.group(2))
    return out


def many_tracks_offer(n_audio, n_video):
    """A publish offer (one client PeerConnection) with n_audio sendonly
    audio m-lines, then n_video video ones, each with its own mid and SSRC."""
    base = publish_offer()
    head, rest = base.split('m=audio', 1)
    audio, video = ('m=audio' + rest).split('m=video', 1)
    video = 'm=video' + video
    sections, mid = [], 0
    for template, n in ((audio, n_audio), (video, n_video)):
        for _ in range(n):
            s = re.sub(r'(?m)^a=mid:\S+', 'a=mid:%d' % mid, template)
            s = re.sub(r'(?m)^a=ssrc:(\d+)', lambda m: 'a=ssrc:%d' % (int(m.group(1)) + 7 * mid), s)
            s = re.sub(r'(?m)^a=msid:s1 (\w+)', r'a=msid:s1 \g<1>%d' % mid, s)
            sections.append(s)
            mid += 1
    head = re.sub(r'(?m)^a=group:BUNDLE .*$',
                  'a=group:BUNDLE ' + ' '.join(str(i) for i in range(mid)), head)
    return head + ''.join(sections)


class PublishTrackCapTest(harness.DaemonTestCase):
    overrides = {'media': {'addresses': '127.0.0.1', 'max_publish_audio_tracks': 1,
                           'max_publish_video_tracks': 2}}

    async def test_tracks_over_the_cap_are_rejected(self):
        """One participant cannot multiply its media by offering many
        tracks: sending m-lines over the per-kind cap are rejected (port 0)
        in offer order, counted; the others are accepted."""
        w = self.world
        hid = w.new_hearing()
        for s in ('open', 'in_session'):
            self.assertEqual(w.set_state(hid, s).status, 200)
        clerk = await self.staff_ws('clerk', hid)
        p = w.add_participant(hid, 'Tom Tracks', 'defendant', None)
        rpc = await self.join_ws(p, name='defendant')
        await clerk.call('hearing.admit', {'participant_id': p['participant_id']})
        await rpc.wait_for('participant.admitted', lambda q: pid_of(q) == p['participant_id'])
        key = 'vej_media_limit_hit_total{limit="publish_tracks"}'
        before = metrics(self.daemon).get(key, 0)
        res = await rpc.call('webrtc.publish', {'sdp': many_tracks_offer(3, 4)})
        ms = mlines(res['sdp'])
        self.assertEqual([m['kind'] for m in ms], ['audio'] * 3 + ['video'] * 4)
        accepted = [m['line'].split()[1] != '0' and m['dir'] != 'inactive' for m in ms]
        self.assertEqual(accepted, [True, False, False, True, True, False, False], res['sdp'])
        self.assertEqual(metrics(self.daemon).get(key, 0) - before, 4)


class LoadgenTestCase(harness.DaemonTestCase):
    overrides = {'media': {'addresses': '127.0.0.1', 'workers': 1}}

    def run_loadgen(self, *extra, n=1, m=1, duration=5):
        out = tempfile.mktemp(prefix='vej-it-hostile-', suffix='.json')
        cmd = [LOADGEN, '--url', self.daemon.base, '--token', self.world.tokens['clerk'],
               '--courtroom', self.world.courtroom_id, '--gateway-pid',
               str(self.daemon.proc.pid), '-n', str(n), '-m', str(m), '--warmup', '1',
               '--duration', str(duration), '--json', out] + list(extra)
        m0 = metrics(self.daemon)
        with tempfile.TemporaryFile() as so, tempfile.TemporaryFile() as se:
            # Under ThreadSanitizer (scripts/test's build-tsan) the daemon is
            # what is checked: the load generator's libsoup threads hand
            # data over through GLib internals TSan cannot see.
            env = dict(os.environ)
            if 'TSAN_OPTIONS' in env:
                env['TSAN_OPTIONS'] += ':report_bugs=0'
            p = subprocess.Popen(cmd, stdout=so, stderr=se, env=env)
            deadline = time.monotonic() + 150
            # /metrics is read while the media flows, as a scraper does (the
            # signalling thread reads the workers' counters as they count)
            while p.poll() is None and time.monotonic() < deadline:
                metrics(self.daemon)
                time.sleep(0.25)
            if p.poll() is None:
                p.kill()
            p.wait()
            so.seek(0)
            se.seek(0)
            stdout, stderr = so.read(), se.read()
        m1 = metrics(self.daemon)
        self.assertEqual(p.returncode, 0, stderr.decode()[-2000:])
        with open(out) as f:
            res = json.load(f)
        os.unlink(out)
        delta = {k: m1[k] - m0.get(k, 0) for k in m1}
        text = stdout.decode() + stderr.decode()[-1500:]
        return res, delta, text


class PublishBudgetTest(LoadgenTestCase):
    """Per publish PC and kind, bitrate and packet rate: vej-loadgen's
    publisher sends about 1 Mbit/s of video in ~100 packets/s and 50 Opus
    packets/s; video is held to 300 kbit/s and audio to 20 packets/s, each
    counted under its own kind and budget and nothing under the other's."""
    overrides = {'media': {'addresses': '127.0.0.1', 'workers': 1,
                           'max_publish_video_kbps': 300, 'max_publish_audio_pps': 20}}

    async def test_budgets_by_kind(self):
        res, delta, text = self.run_loadgen(duration=3)
        print(text)

        def limited(kind, limit):
            return delta.get('vej_media_publish_limited_total{kind="%s",limit="%s"}'
                             % (kind, limit), 0)
        print({k: v for k, v in delta.items() if 'limited' in k or 'rate_limit' in k})
        self.assertGreater(limited('video', 'bitrate'), 50, text)
        self.assertEqual(limited('video', 'packet_rate'), 0, text)
        # 50 sent, 20 taken per second: ~30 a second over the budget
        self.assertGreater(limited('audio', 'packet_rate'), 40, text)
        self.assertEqual(limited('audio', 'bitrate'), 0, text)
        self.assertEqual(delta.get('vej_media_dropped_total{reason="rate_limit"}', 0),
                         sum(limited(k, lim) for k in ('audio', 'video')
                             for lim in ('bitrate', 'packet_rate')))
        self.assertGreater(res['forwarded_pps'], 0, text)


class HostilePublisherTest(LoadgenTestCase):

    async def test_sender_reports_on_the_publisher_clock(self):
        """No SR reaches a subscriber before the publisher's first one (none
        from the gateway's clock); then every SR is on the publisher's
        clock and matches the stream's timestamps."""
        res, delta, text = self.run_loadgen('--sr-after', '3', duration=5)
        print(text)
        self.assertGreaterEqual(res['sr_received'], 2, text)
        self.assertEqual(res['sr_foreign_clock'], 0, text)
        self.assertEqual(res['sr_inconsistent'], 0, text)

    async def test_ssrc_change_starts_afresh(self):
        """A publisher renegotiates its video onto a new SSRC whose numbers
        start just below the old ones and whose timestamps have a base of
        their own: nothing of the new stream is taken for a duplicate of the
        old, the subscribers' copies wait for a keyframe (asked for), and
        no SR mixes the old stream's clock mapping with the new timestamps."""
        res, delta, text = self.run_loadgen('--sr-after', '1', '--ssrc-change', '3',
                                            duration=6)
        print(text)
        print({k: v for k, v in delta.items() if v and 'dropped' in k or 'keyframe' in k})
        self.assertEqual(delta.get('vej_media_dropped_total{reason="duplicate"}', 0), 0, text)
        self.assertEqual(delta.get('vej_media_dropped_total{reason="late"}', 0), 0, text)
        self.assertGreaterEqual(delta.get('vej_media_keyframe_waits_total', 0), 1, text)
        self.assertGreaterEqual(res['pli_seen'], 1, text)
        self.assertGreaterEqual(res['sr_received'], 4, text)
        self.assertEqual(res['sr_foreign_clock'], 0, text)
        self.assertEqual(res['sr_inconsistent'], 0, text)
        self.assertLess(res['loss_pct'], 3.0, text)

    async def test_renumbering_waits_for_a_keyframe(self):
        """The publisher's video numbering jumps in the middle of a picture:
        what was lost across the jump cannot be NACKed, so every copy waits
        for a keyframe and the gateway asks for one at once."""
        # 3 s in: the middle of the stream, between keyframes (every 2 s)
        res, delta, text = self.run_loadgen('--renumber', '3', m=2, duration=5)
        print(text)
        self.assertGreaterEqual(delta.get('vej_media_keyframe_waits_total', 0), 2, text)
        self.assertGreater(delta.get('vej_media_dropped_total{reason="awaiting_keyframe"}', 0), 0,
                           text)
        self.assertGreaterEqual(res['pli_seen'], 1, text)

    async def test_nack_without_rtx_waits_for_a_keyframe(self):
        """A subscriber that NACKs but answered without RTX cannot be sent
        anything again: each loss makes its copy wait for a keyframe."""
        res, delta, text = self.run_loadgen('--no-rtx', '--loss', '0.02', duration=3)
        print(text)
        self.assertGreater(res['nacked'], 0, text)
        self.assertEqual(delta.get('vej_media_rtx_sent_total', 0), 0, text)
        self.assertGreaterEqual(delta.get('vej_media_keyframe_waits_total', 0), 1, text)
        self.assertGreaterEqual(res['pli_seen'], 1, text)

    async def test_retransmissions_over_budget_wait_for_a_keyframe(self):
        """A subscriber that loses more than its retransmission budget can
        repair (2 Mbit/s) gets no broken picture: its copy waits for a
        keyframe, which is asked for."""
        res, delta, text = self.run_loadgen('--video-kbps', '4000', '--loss', '0.6',
                                            duration=3)
        print(text)
        self.assertGreater(delta.get('vej_media_rtx_rate_limited_total', 0), 0, text)
        self.assertGreaterEqual(delta.get('vej_media_keyframe_waits_total', 0), 1, text)
        self.assertGreaterEqual(res['pli_seen'], 1, text)


if __name__ == '__main__':
    if not os.access(LOADGEN, os.X_OK) or not os.access(harness.GATEWAY, os.X_OK):
        sys.exit(77)
    harness.main()
