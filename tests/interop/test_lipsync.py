"""Lip sync of the archive on real media (docs/recording.md, "The
timeline"): a stock webrtcbin publisher sends a flash and a beep at the
same instant every 2 s (tests/interop/flash_beep.py) through the real
relay and recorder; the hearing closes, the daemon runs vej-archiver; the
test decodes the participant's own file and the composed hearing file
with GStreamer, finds every flash and beep, and measures the offset.

Bound (offset = beep time - flash time; positive: sound late):
    -40 ms <= offset <= +45 ms
EBU R37 allows sound at most 40 ms early and 60 ms late end to end;
ITU-R BT.1359 finds +45 ms (early) / -125 ms (late) detectable. The
archive is one link of the chain, so it gets the tighter of both on each
side. The source has no offset of its own (both streams stamped from one
clock); the Opus encoder's look-ahead (6.5 ms) is part of what is measured.
In hearing.webm (15 frames/s) a flash is known only to the output frame
it first shows in: the beep must fall within the bound of the interval
(previous frame, that frame].

Also checked, on the same recording:
- each participant's file lasts their main-room time from their first
  packet (the manifest's tracks and periods) within 0.5 s, for a
  participant who stayed and one who was away in a consultation and back;
- the composed file's clock is in a strip below the tiles: the top-right
  tile's corner stays dark (the clock overlay used to cover it) and the
  strip carries the time.
"""

import asyncio
import datetime
import json
import os

import flash_beep as fb
import media_harness
from media_harness import MediaTestCase
from test_recording import RecordingMixin

BEEP_HZ = 2000
LEAD_MS, LAG_MS = 40.0, 45.0   # the bound above
CANVAS_W, CANVAS_H, STRIP = 1280, 720, 40


def rfc3339_ns(s):
    d = datetime.datetime.strptime(s.replace('Z', ''), '%Y-%m-%dT%H:%M:%S.%f')
    d = d.replace(tzinfo=datetime.timezone.utc)
    return int(d.timestamp()) * 1_000_000_000 + d.microsecond * 1000


class LipSyncTest(RecordingMixin, MediaTestCase):

    def offsets_in_bound(self, pairs, what):
        self.assertGreaterEqual(len(pairs), 4, '%s: flashes paired with beeps: %r' % (what, pairs))
        bad = [(f, b) for f, b in pairs if not -LEAD_MS <= (b - f) / 1e6 <= LAG_MS]
        self.assertEqual(bad, [], '%s: offsets (ms) %r' % (
            what, [round((b - f) / 1e6, 1) for f, b in pairs]))

    def main_time_ns(self, manifest, pid):
        """(first packet, end of the last main-room period) of a participant."""
        first = min(rfc3339_ns(t['first_at']) for t in manifest['tracks']
                    if t['participant_id'] == pid)
        p = [p for p in manifest['participants'] if p['participant_id'] == pid][0]
        last = max(rfc3339_ns(x['to']) for x in p['periods'] if x['place'] == 'main')
        return first, last

    async def test_flash_and_beep_in_sync(self):
        h = await self.hearing([('Fay', 'witness'), ('Dan', 'defendant')])
        await h.peer('Fay').publish(flash_beep=BEEP_HZ)
        await h.peer('Dan').publish(tone=600)
        await h.clerk.peer.subscribe()
        await self.wait_flowing([(h.clerk, h['Fay']), (h.clerk, h['Dan'])], kick=True)
        await asyncio.sleep(4.0)
        # Dan away in a consultation for 3 s: his file spans it.
        await self.move(h, h['Dan'], 'consultation:c1')
        await asyncio.sleep(3.0)
        await self.move(h, h['Dan'], 'main')
        await asyncio.sleep(7.0)
        await h.set_state('closed')
        d, doc = await self.wait_capture(h.id, lambda c: c['state'] == 'stopped')
        rid = doc['recording_id']
        r = await self.wait_recording(rid, lambda b: b['state'] in ('archived', 'stopped'),
                                      timeout=120)
        self.assertEqual(r['state'], 'archived', 'the archiver failed: see the daemon\'s log')
        manifest = r['manifest']
        fay, dan = h.pid('Fay'), h.pid('Dan')

        # 1. Fay's own file (a remux: every frame keeps its placed time).
        own = os.path.join(d, 'archive', '%s.webm' % fay)
        frames = fb.grey_frames(own, 32, 24)
        flashes = [f for f, _ in fb.video_flashes(frames, 32, (8, 6, 24, 18))]
        beeps = fb.audio_beeps(own, BEEP_HZ)
        pairs = fb.pair_offsets(flashes, beeps)
        print('Fay.webm: offsets (ms) %s' % [round((b - f) / 1e6, 1) for f, b in pairs])
        self.offsets_in_bound(pairs, 'Fay.webm')

        # 2. hearing.webm: tile 0 is Fay's (first to publish); a flash is
        # known to one output frame.
        hearing = os.path.join(d, 'archive', 'hearing.webm')
        frames = fb.grey_frames(hearing, CANVAS_W, CANVAS_H)
        self.assertGreater(len(frames), 100)
        tile = (160, 250, 480, 430)   # the middle of the left tile (2 tiles side by side)
        flashes = fb.video_flashes(frames, CANVAS_W, tile)
        beeps = fb.audio_beeps(hearing, BEEP_HZ)
        pairs = []
        for (shown, before), beep in fb.pair_offsets(flashes, beeps):
            # offset to the interval (before, shown]
            f = before if beep < before else shown if beep > shown else beep
            pairs.append((f, beep))
        print('hearing.webm: offsets to the flash frame interval (ms) %s' % [
            round((b - f) / 1e6, 1) for f, b in pairs])
        self.offsets_in_bound(pairs, 'hearing.webm')

        # 3. The clock overlay: nothing bright in the top-right tile's corner
        # (tiles' videos keep their aspect: Dan's 4:3 picture leaves the top
        # of his 16:9 tile black), the time in the strip below the tiles.
        corner = [fb.region(f, CANVAS_W, CANVAS_W - 420, 0, CANVAS_W, 50, step=2)[1]
                  for _, f in frames]
        self.assertLess(max(corner), 80, 'the top-right tile\'s corner is drawn over')
        # nor the bottom of the tiles (below Dan's picture, right of his label)
        above = [fb.region(f, CANVAS_W, CANVAS_W - 420, 600, CANVAS_W, CANVAS_H - STRIP,
                           step=1)[1] for _, f in frames]
        self.assertLess(max(above), 80, 'the clock reaches into the tiles')
        strip = [fb.region(f, CANVAS_W, CANVAS_W - 420, CANVAS_H - STRIP, CANVAS_W, CANVAS_H,
                           step=2)[1] for _, f in frames]
        self.assertGreater(min(strip), 150, 'no clock in the bottom strip')

        # 4. Each participant's file lasts their main-room time from their
        # first packet (Dan's spans his consultation).
        with open(os.path.join(d, 'archive', 'archive.json')) as f:
            durations = {x.get('participant_id'): x['duration_s']
                         for x in json.load(f)['files'] if x.get('participant_id')}
        for pid in (fay, dan):
            first, last = self.main_time_ns(manifest, pid)
            expected = (last - first) / 1e9
            print('%s: file %.2f s, main-room time from the first packet %.2f s'
                  % (pid, durations[pid], expected))
            self.assertLess(abs(durations[pid] - expected), 0.5, (pid, durations[pid], expected))


if __name__ == '__main__':
    media_harness.main()
