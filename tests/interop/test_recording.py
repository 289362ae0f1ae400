"""Evidential capture on real media (docs/recording.md): stock webrtcbin
peers publish through the real relay, and the capture files are read
back with tools we did not write (tshark, GStreamer's pcapparse).

- the main room is captured: every main-room track, decodable, each
  participant's own tone found in its audio by GStreamer's `spectrum`;
- a consultation is never captured: not a packet of a participant who is
  only ever in one, nor of anyone while in one; the consultation period is
  listed with the statement that none of it was captured;
- a clerk's mute stops the capture of that kind, and the timeline says when;
- segments close at state changes, are hashed into capture.json and the
  audit chain, and their hashes match the files;
- SIGKILL mid-session: the next start finishes the open segment (at most
  about a second lost), marks the crash gap, and the recording is finished
  when its hearing closes;
- a full disk: the hearing goes on (a subscriber keeps decoding), clerks
  are alerted, recording.state says failed, the gap is recorded.
"""

import asyncio
import glob
import hashlib
import json
import os
import re
import sqlite3
import struct
import subprocess
import time

import media_harness
from media_harness import MediaTestCase, metrics
from webrtc_peer import Gst, sdp_ssrcs

TONES = {'Dan': 600, 'Dee': 1500, 'Wes': 1000}


def read_pcap(path):
    """[(t_ns, dst_port, payload)] of a capture file (docs/recording.md)."""
    out = []
    with open(path, 'rb') as f:
        data = f.read()
    magic, major, minor, _, _, snaplen, linktype = struct.unpack('<IHHiIII', data[:24])
    assert magic == 0xa1b23c4d and (major, minor) == (2, 4) and linktype == 101, path
    off = 24
    while off < len(data):
        sec, nsec, caplen, origlen = struct.unpack('<IIII', data[off:off + 16])
        pkt = data[off + 16:off + 16 + caplen]
        assert len(pkt) == caplen == origlen, '%s: truncated record at %d' % (path, off)
        assert pkt[0] == 0x45 and pkt[9] == 17
        dport = struct.unpack('>H', pkt[22:24])[0]
        out.append((sec * 1_000_000_000 + nsec, dport, pkt[28:]))
        off += 16 + caplen
    return out


def rtp_ssrc(payload):
    return struct.unpack('>I', payload[8:12])[0]


def dominant_frequency(pcap, port, seconds=1.5):
    """Decodes the Opus track on `port` of a capture with pcapparse and
    returns the strongest frequency (Hz) GStreamer's spectrum finds."""
    desc = ('filesrc location=%s ! pcapparse dst-port=%d ! application/x-rtp,media=audio,'
            'clock-rate=48000,encoding-name=OPUS,payload=111 ! rtpjitterbuffer ! rtpopusdepay ! '
            'opusdec ! audioconvert ! audio/x-raw,channels=1 ! spectrum name=s bands=512 '
            'interval=100000000 threshold=-90 post-messages=true message-magnitude=true ! '
            'fakesink sync=false' % (pcap, port))
    pipe = Gst.parse_launch(desc)
    bus = pipe.get_bus()
    pipe.set_state(Gst.State.PLAYING)
    sums = None
    rate = 48000
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        msg = bus.timed_pop_filtered(200 * Gst.MSECOND, Gst.MessageType.ELEMENT |
                                     Gst.MessageType.EOS | Gst.MessageType.ERROR)
        if msg is None:
            continue
        if msg.type == Gst.MessageType.ERROR:
            pipe.set_state(Gst.State.NULL)
            raise AssertionError('pcapparse pipeline: %s' % (msg.parse_error(),))
        if msg.type == Gst.MessageType.EOS:
            break
        st = msg.get_structure()
        if st is None or st.get_name() != 'spectrum':
            continue
        # PyGObject cannot read a GstValueList: take it from the text form.
        m = re.search(r'magnitude=\(float\)\{([^}]*)\}', st.to_string())
        vals = [float(v) for v in m.group(1).split(',')] if m else []
        if not vals:
            continue
        sums = vals if sums is None else [a + b for a, b in zip(sums, vals)]
    pipe.set_state(Gst.State.NULL)
    assert sums, 'no audio decoded from %s port %d' % (pcap, port)
    band = max(range(len(sums)), key=lambda i: sums[i])
    return (band + 0.5) * (rate / 2) / len(sums)


def band_levels(path, freqs):
    """{f: (mean, peak)} spectrum magnitude (dB) at each of `freqs` (Hz) over
    the audio of a WebM/Matroska file, decoded with GStreamer."""
    desc = ('filesrc location=%s ! matroskademux ! opusdec ! audioconvert ! '
            'audio/x-raw,channels=1,rate=48000 ! spectrum bands=480 interval=100000000 '
            'threshold=-100 post-messages=true message-magnitude=true ! fakesink sync=false'
            % path)
    pipe = Gst.parse_launch(desc)
    bus = pipe.get_bus()
    pipe.set_state(Gst.State.PLAYING)
    sums, peaks, n = None, None, 0
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        msg = bus.timed_pop_filtered(200 * Gst.MSECOND, Gst.MessageType.ELEMENT |
                                     Gst.MessageType.EOS | Gst.MessageType.ERROR)
        if msg is None:
            continue
        if msg.type == Gst.MessageType.ERROR:
            pipe.set_state(Gst.State.NULL)
            raise AssertionError('%s: %s' % (path, msg.parse_error()))
        if msg.type == Gst.MessageType.EOS:
            break
        st = msg.get_structure()
        if st is None or st.get_name() != 'spectrum':
            continue
        m = re.search(r'magnitude=\(float\)\{([^}]*)\}', st.to_string())
        vals = [float(v) for v in m.group(1).split(',')] if m else []
        if vals:
            sums = vals if sums is None else [a + b for a, b in zip(sums, vals)]
            peaks = vals if peaks is None else [max(a, b) for a, b in zip(peaks, vals)]
            n += 1
    pipe.set_state(Gst.State.NULL)
    assert sums, 'no audio decoded from %s' % path
    width = 24000.0 / len(sums)

    def around(values, f):
        return max(values[int(f / width) - 1:int(f / width) + 2])
    return {f: (around(sums, f) / n, around(peaks, f)) for f in freqs}


def decoded_video_frames(pcap, port):
    desc = ('filesrc location=%s ! pcapparse dst-port=%d ! application/x-rtp,media=video,'
            'clock-rate=90000,encoding-name=VP8,payload=96 ! rtpjitterbuffer ! rtpvp8depay ! '
            'vp8dec ! fakesink name=k sync=false signal-handoffs=true' % (pcap, port))
    pipe = Gst.parse_launch(desc)
    frames = [0]
    pipe.get_by_name('k').connect('handoff', lambda *a: frames.__setitem__(0, frames[0] + 1))
    pipe.set_state(Gst.State.PLAYING)
    msg = pipe.get_bus().timed_pop_filtered(30 * Gst.SECOND, Gst.MessageType.EOS |
                                            Gst.MessageType.ERROR)
    pipe.set_state(Gst.State.NULL)
    assert msg is not None and msg.type == Gst.MessageType.EOS, 'decoding %s: %r' % (pcap, msg)
    return frames[0]


class RecordingMixin:

    def recording_dirs(self):
        return sorted(glob.glob(os.path.join(self.daemon.data_dir, 'recordings', 'rec_*')))

    def capture_of(self, hid):
        for d in self.recording_dirs():
            try:
                with open(os.path.join(d, 'capture.json')) as f:
                    doc = json.load(f)
            except (OSError, ValueError):
                continue
            if doc['hearing']['id'] == hid:
                return d, doc
        return None, None

    async def wait_capture(self, hid, pred, timeout=15.0):
        deadline = time.monotonic() + timeout
        while True:
            d, doc = self.capture_of(hid)
            if doc is not None and pred(doc):
                return d, doc
            if time.monotonic() > deadline:
                raise AssertionError('capture of %s: condition not met; last: %s' % (
                    hid, json.dumps(doc, indent=1)[:3000] if doc else None))
            await asyncio.sleep(0.1)

    def packets(self, d, doc):
        """[(t_ns, dst_port, payload)] over every closed segment."""
        out = []
        for seg in doc['segments']:
            out += read_pcap(os.path.join(d, seg['name']))
        return out

    def audit_entries(self, action):
        db = sqlite3.connect(os.path.join(self.daemon.data_dir, 'vej.db'))
        try:
            return [(t, json.loads(dt)) for t, dt in db.execute(
                'SELECT target, detail FROM audit_log WHERE action = ?', (action,))]
        finally:
            db.close()

    def tracks_of(self, doc, pid):
        return [t for t in doc['tracks'] if t['participant_id'] == pid]

    def evid(self, method, path, body=None):
        return self.daemon.api(method, path, body, token=self.world.token('evidential'))

    async def wait_recording(self, rid, pred, timeout=60.0):
        """GET /recordings/{rid} (as evidential staff) until pred(body)."""
        deadline = time.monotonic() + timeout
        while True:
            r = self.evid('GET', '/recordings/%s' % rid)
            if r.status == 200 and pred(r.body):
                return r.body
            if time.monotonic() > deadline:
                raise AssertionError('recording %s: %s' % (rid, r))
            await asyncio.sleep(0.5)


class CaptureTest(RecordingMixin, MediaTestCase):

    async def test_main_room_captured_consultation_never(self):
        h = await self.hearing([('Dan', 'defendant'), ('Dee', 'defence'), ('Wes', 'witness')])
        # Dee is only ever in the consultation room: never a packet of hers.
        await self.move(h, h['Dee'], 'consultation:c1')
        await h['Dee'].rpc.wait_for('participant.moved')
        for name in ('Dan', 'Dee', 'Wes'):
            await h.peer(name).publish(tone=TONES[name])
        await h.clerk.peer.subscribe()
        await self.wait_flowing([(h.clerk, h['Dan']), (h.clerk, h['Wes'])], kick=True)
        await asyncio.sleep(2.0)

        # Dan into the consultation and back.
        await self.move(h, h['Dan'], 'consultation:c1')
        t_in = time.time_ns()
        await asyncio.sleep(3.0)
        t_out = time.time_ns()
        await self.move(h, h['Dan'], 'main')
        await asyncio.sleep(2.0)

        # A clerk's mute of Wes's audio.
        await h.clerk_call('hearing.mute', {'participant_id': h.pid('Wes'), 'kind': 'audio',
                                            'muted': True})
        t_muted = time.time_ns()
        await asyncio.sleep(2.0)
        t_unmute = time.time_ns()
        await h.clerk_call('hearing.mute', {'participant_id': h.pid('Wes'), 'kind': 'audio',
                                            'muted': False})
        await asyncio.sleep(2.0)
        # An adjournment cuts a segment; a second session; then the close.
        await h.set_state('adjourned')
        await asyncio.sleep(0.5)
        await h.set_state('in_session')
        await self.wait_flowing([(h.clerk, h['Wes'])], n=5, kick=True)
        await asyncio.sleep(1.0)
        await h.set_state('closed')
        d, doc = await self.wait_capture(h.id, lambda c: c['state'] == 'stopped')

        # Files: every segment closed, 0600, hashes as listed and as audited.
        self.assertFalse(glob.glob(os.path.join(d, 'capture', '*.open')))
        self.assertGreaterEqual(len(doc['segments']), 2, doc['segments'])
        self.assertIn('state', [s['closed_by'] for s in doc['segments']])
        audited = {dt['name']: dt['sha256'] for t, dt in self.audit_entries('recording.segment')
                   if dt['recording_id'] == doc['recording_id']}
        for seg in doc['segments']:
            path = os.path.join(d, seg['name'])
            self.assertEqual(os.stat(path).st_mode & 0o777, 0o600)
            with open(path, 'rb') as f:
                body = f.read()
            self.assertEqual(hashlib.sha256(body).hexdigest(), seg['sha256'])
            self.assertEqual(len(body), seg['size'])
            self.assertEqual(audited.get(seg['name']), seg['sha256'])
            # tshark, a reader we did not write, takes every record.
            out = subprocess.run(['tshark', '-r', path, '-T', 'fields', '-e', 'udp.dstport'],
                                 capture_output=True, text=True, timeout=60)
            self.assertEqual(out.returncode, 0, out.stderr)
            self.assertEqual(len(out.stdout.split()), seg['packets'])

        # Tracks: Dan's and Wes's audio and video; nothing of Dee.
        self.assertEqual(self.tracks_of(doc, h.pid('Dee')), [])
        pkts = self.packets(d, doc)
        dee_ssrcs = set(sdp_ssrcs(h.peer('Dee').publish_offer))
        self.assertTrue(dee_ssrcs)
        self.assertFalse([p for p in pkts if p[1] % 2 == 0 and rtp_ssrc(p[2]) in dee_ssrcs])
        ports = {}
        for name in ('Dan', 'Wes'):
            tr = self.tracks_of(doc, h.pid(name))
            self.assertEqual(sorted(t['kind'] for t in tr), ['audio', 'video'], tr)
            for t in tr:
                self.assertEqual(t['codec'], {'audio': 'opus', 'video': 'VP8'}[t['kind']])
                self.assertEqual(t['clock_rate'], {'audio': 48000, 'video': 90000}[t['kind']])
                ports[(name, t['kind'])] = int(t['rtp']['dst'].rsplit(':', 1)[1])
                self.assertEqual(int(t['rtcp']['dst'].rsplit(':', 1)[1]),
                                 ports[(name, t['kind'])] + 1)

        # Nothing of Dan while in the consultation (50 ms for the move to reach the worker).
        margin = 50_000_000
        dan = {ports[('Dan', 'audio')], ports[('Dan', 'video')]}
        inside = [p for p in pkts if p[1] in dan and t_in + margin < p[0] < t_out]
        self.assertEqual(inside, [], 'Dan captured while in the consultation')
        self.assertTrue([p for p in pkts if p[1] in dan and p[0] > t_out],
                        'Dan captured again after the consultation')
        # Nothing of Wes's audio while muted, video all along.
        wes_a = ports[('Wes', 'audio')]
        self.assertFalse([p for p in pkts if p[1] == wes_a and t_muted + margin < p[0] < t_unmute])
        self.assertTrue([p for p in pkts if p[1] == ports[('Wes', 'video')] and
                         t_muted < p[0] < t_unmute])
        # Sender reports are there for lip sync (RTCP on port+1, SR = 200).
        self.assertTrue([p for p in pkts if p[1] == wes_a + 1 and p[2][1] == 200])

        # The media decode, and each participant's audio is their own tone.
        first = os.path.join(d, doc['segments'][0]['name'])
        self.assertGreater(decoded_video_frames(first, ports[('Dan', 'video')]), 10)
        for name in ('Dan', 'Wes'):
            f = dominant_frequency(first, ports[(name, 'audio')])
            self.assertLess(abs(f - TONES[name]), 60, '%s: %.0f Hz' % (name, f))

        # The record of the hearing: the consultation, the moves, the mute.
        rooms = doc['consultations']
        c1 = [c for c in rooms if c['room'] == 'consultation:c1']
        self.assertTrue(c1, rooms)
        self.assertFalse(any(c['captured'] for c in rooms))
        self.assertIn(h.pid('Dee'), c1[0]['participants'])
        self.assertIn(h.pid('Dan'), sum((c['participants'] for c in c1), []))
        events = [(e['event'], e.get('participant_id'), e.get('place') or e.get('state') or
                   e.get('muted')) for e in doc['timeline']]
        self.assertIn(('participant.moved', h.pid('Dan'), 'consultation:c1'), events)
        self.assertIn(('participant.moved', h.pid('Dan'), 'main'), events)
        self.assertIn(('participant.muted', h.pid('Wes'), True), events)
        self.assertIn(('participant.muted', h.pid('Wes'), False), events)
        self.assertIn(('hearing.state', None, 'adjourned'), events)
        self.assertIn(('hearing.state', None, 'closed'), events)
        labels = {p['participant_id']: p['label'] for p in doc['participants']}
        self.assertEqual(labels[h.pid('Wes')], 'Wes')
        m = metrics(self.daemon)
        self.assertGreater(m.get('vej_recording_packets_total', 0), 100)
        self.assertEqual(m.get('vej_recording_ring_overflows_total', -1), 0)

        # Then the chain: vej-archiver (a child process) and the signed
        # manifest, with no one asking; the recording's row follows.
        rid = doc['recording_id']
        r = await self.wait_recording(rid, lambda b: b['state'] == 'archived', timeout=240)
        names = {f['name'] for f in r['files']}
        for name in ('archive/hearing.webm', 'archive/%s.webm' % h.pid('Dan'),
                     'archive/%s.webm' % h.pid('Wes'), 'capture.json'):
            self.assertIn(name, names)
        self.assertNotIn('archive/%s.webm' % h.pid('Dee'), names)
        self.assertIs(r['signature']['valid'], True)
        self.assertEqual(r['manifest_revision'], 1)
        self.assertTrue(os.path.exists(os.path.join(d, 'SHA256SUMS.sig')))
        # The composed hearing: the main room's tones, never the one spoken
        # only in the consultation (Dee's); Dee has no file of her own.
        # Spectrum magnitudes in dB, (mean over the file, peak over 100 ms):
        # a tone that was captured peaks near -20; mixing and Opus leave
        # artifacts far below it.
        lv = band_levels(os.path.join(d, 'archive', 'hearing.webm'),
                         [TONES['Dan'], TONES['Wes'], TONES['Dee']])
        dan, wes, dee = lv[TONES['Dan']], lv[TONES['Wes']], lv[TONES['Dee']]
        self.assertGreater(dan[1], -30, lv)
        self.assertGreater(wes[1], -30, lv)
        self.assertLess(dee[1], min(dan[1], wes[1]) - 20, lv)
        self.assertLess(dee[0], min(dan[0], wes[0]) - 10, lv)
        # Each participant's own file: their tone and nobody else's.
        for name in ('Dan', 'Wes'):
            lv = band_levels(os.path.join(d, 'archive', '%s.webm' % h.pid(name)),
                             [TONES[name], TONES['Dee']])
            own, dee = lv[TONES[name]], lv[TONES['Dee']]
            self.assertGreater(own[1], -30, (name, lv))
            self.assertLess(dee[1], own[1] - 30, (name, lv))
        with open(os.path.join(d, 'archive', 'archive.json')) as f:
            archive = json.load(f)
        durations = {f.get('participant_id'): f.get('duration_s') for f in archive['files']}
        self.assertIn(h.pid('Dan'), durations, archive)
        self.assertNotIn(h.pid('Dee'), durations)
        v = self.evid('POST', '/recordings/%s/verify' % rid, {})
        self.assertEqual(v.status, 200, v)
        self.assertIs(v.body['ok'], True, v.body)
        # On demand: the archiver again, and a second manifest revision that
        # names the first (evidential staff only).
        r2 = self.daemon.api('POST', '/recordings/%s/archive' % rid, {'reason': 'rerun'},
                             token=self.world.token('clerk'))
        self.assertEqual(r2.status, 403, r2)
        r2 = self.evid('POST', '/recordings/%s/archive' % rid, {'reason': 'rerun'})
        self.assertEqual(r2.status, 202, r2)
        r = await self.wait_recording(
            rid, lambda b: b['state'] == 'archived' and b['manifest_revision'] == 2, timeout=240)
        self.assertEqual(r['manifest']['replaces']['revision'], 1, r['manifest']['replaces'])
        self.assertTrue(os.path.exists(os.path.join(d, 'revisions', 'manifest-0001.json')))
        v = self.evid('POST', '/recordings/%s/verify' % rid, {})
        self.assertIs(v.body['ok'], True, v.body)
        actions = [a for a, in sqlite3.connect(os.path.join(self.daemon.data_dir, 'vej.db')).execute(
            "SELECT action FROM audit_log WHERE action LIKE 'recording.%'")]
        for a in ('recording.start', 'recording.segment', 'recording.stop', 'recording.seal',
                  'recording.archive'):
            self.assertIn(a, actions)


class CrashTest(RecordingMixin, MediaTestCase):

    async def test_sigkill_mid_session(self):
        h = await self.hearing([('Dan', 'defendant')])
        await h.peer('Dan').publish(tone=TONES['Dan'])
        await h.clerk.peer.subscribe()
        await self.wait_flowing([(h.clerk, h['Dan'])], kick=True)
        await asyncio.sleep(2.5)
        d, doc = self.capture_of(h.id)
        self.assertTrue(glob.glob(os.path.join(d, 'capture', '*.pcap.open')))
        t_kill = time.time_ns()
        self.daemon.kill()
        for p in self._peers:
            await p.close()
        self._peers = []
        self.daemon.start()
        _, doc = await self.wait_capture(h.id, lambda c: c['segments'])
        self.assertFalse(glob.glob(os.path.join(d, 'capture', '*.open')))
        seg = doc['segments'][-1]
        self.assertEqual(seg['closed_by'], 'recovery')
        pkts = read_pcap(os.path.join(d, seg['name']))
        self.assertEqual(len(pkts), seg['packets'])
        with open(os.path.join(d, seg['name']), 'rb') as f:
            self.assertEqual(hashlib.sha256(f.read()).hexdigest(), seg['sha256'])
        # At most about a second lost: written at every 50 ms tick.
        self.assertGreater(max(p[0] for p in pkts), t_kill - 1_000_000_000)
        self.assertEqual([g['reason'] for g in doc['gaps']], ['crash'])
        self.assertIn(seg['name'], [dt['name'] for t, dt in self.audit_entries('recording.segment')])
        # The hearing closes after the restart: the recording is finished.
        r = self.world.set_state(h.id, 'closed')
        self.assertEqual(r.status, 200, r)
        _, doc = await self.wait_capture(h.id, lambda c: c['state'] == 'stopped')
        self.assertEqual(len(self.recording_dirs()), 1)


class DiskFullTest(RecordingMixin, MediaTestCase):
    """DATA_DIR/recordings on a 256 KiB tmpfs: root ignores permissions, a
    full file system does not."""

    def setUp(self):
        MediaTestCase.setUp(self)
        self.mnt = os.path.join(self.daemon.data_dir, 'recordings')
        os.makedirs(self.mnt, exist_ok=True)
        r = subprocess.run(['mount', '-t', 'tmpfs', '-o', 'size=256k,mode=0700', 'tmpfs',
                            self.mnt], capture_output=True, text=True)
        self.assertEqual(r.returncode, 0, 'mount: %s' % r.stderr)
        self.addCleanup(subprocess.run, ['umount', '-l', self.mnt])

    async def test_disk_full_alerts_and_media_go_on(self):
        h = await self.hearing([('Dan', 'defendant'), ('Wes', 'witness')])
        await h.peer('Dan').publish(tone=TONES['Dan'])
        await h.peer('Wes').subscribe()
        await self.wait_flowing([(h['Wes'], h['Dan'])], kick=True)
        alert = await h.clerk.rpc.wait_for(
            'alert', lambda q: q.get('code') == 'recording_failed', timeout=30)
        self.assertIn('No space', alert['message'])
        await h['Wes'].rpc.wait_for('recording.state', lambda q: q.get('state') == 'failed',
                                    timeout=5)
        # The hearing goes on: Wes keeps decoding Dan's video after the alert.
        before = h.peer('Wes').decoded_from(h.pid('Dan'), 'video').count
        await asyncio.sleep(2.0)
        self.assertGreater(h.peer('Wes').decoded_from(h.pid('Dan'), 'video').count, before + 20)
        m = metrics(self.daemon)
        self.assertGreater(m.get('vej_recording_write_errors_total', 0), 0)


class RingFullTest(RecordingMixin, MediaTestCase):
    """The smallest ring (16 KiB) drained once a second: the media outgrow
    it. The recorder loses packets (counted, alerted, a ring_full gap);
    participants lose nothing."""

    overrides = dict(media_harness.MEDIA_OVERRIDES,
                     recording={'ring_kib': 16, 'drain_ms': 1000})

    async def test_ring_full_alerts_and_media_go_on(self):
        # Two publishers send 50 to 100 KB/s: far more than 16 KiB a second.
        h = await self.hearing([('Dan', 'defendant'), ('Wes', 'witness')])
        await h.peer('Dan').publish(tone=TONES['Dan'])
        await h.peer('Wes').publish(tone=TONES['Wes'])
        await h.peer('Wes').subscribe()
        await self.wait_flowing([(h['Wes'], h['Dan'])], kick=True)
        for _ in range(10):  # key frames are the largest bursts
            h.peer('Dan').pub.force_keyframe()
            h.peer('Wes').pub.force_keyframe()
            await asyncio.sleep(0.2)
        alert = await h.clerk.rpc.wait_for(
            'alert', lambda q: q.get('code') == 'recording_ring_full', timeout=30)
        self.assertEqual(alert['severity'], 'critical')
        before = h.peer('Wes').decoded_from(h.pid('Dan'), 'video').count
        await asyncio.sleep(2.0)
        self.assertGreater(h.peer('Wes').decoded_from(h.pid('Dan'), 'video').count, before + 20)
        m = metrics(self.daemon)
        self.assertGreater(m.get('vej_media_tap_dropped_total', 0), 0)
        self.assertGreater(m.get('vej_recording_ring_overflows_total', 0), 0)
        self.assertEqual(m.get('vej_media_dropped_total{reason="send_eagain"}', 0), 0)
        await h.set_state('closed')
        d, doc = await self.wait_capture(h.id, lambda c: c['state'] == 'stopped')
        self.assertGreater(doc['ring_drops'], 0)
        self.assertIn('ring_full', [g['reason'] for g in doc['gaps']])
        self.assertTrue(doc['segments'], 'what fitted was still captured')


if __name__ == '__main__':
    media_harness.main()
