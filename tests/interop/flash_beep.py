"""A flash-and-beep source for lip-sync tests, and the analysis that finds
flashes and beeps in decoded media.

Source: every PERIOD seconds a white picture (FLASH frames at 30 frames/s)
and a tone burst (BEEP seconds of a sine at `beep_hz`) start at the same
instant; between them the picture is black and the sound silent. Both are
GStreamer `appsrc`s (live, format=time) fed by one thread that stamps
every buffer with the pipeline's running time computed from one origin T0:
video frame n at T0 + n/30 s, audio buffer k (20 ms) at T0 + k * 20 ms.
Every PERIOD (a multiple of both) a frame and an audio buffer start
exactly together, so the source itself has no A/V offset: whatever offset
a recording shows was added on the way (encoders keep timestamps; RTP
timestamps and the sender reports' NTP come from these running times).
Two separate test sources (videotestsrc, audiotestsrc) would not do:
each live source's timestamps start from its own first buffer.

`gate(encoder, ready)` drops an encoder's output until ready() (the
PeerConnection is connected), as a browser's encoder starts with its
transport: otherwise what was encoded meanwhile leaves in one burst when
DTLS is up, and a recording rightly places it before it arrived.

Analysis (pure Python, no numpy): `video_flashes` decodes a file's video
to small grey pictures and returns the times at which a region turns
bright; `audio_beeps` decodes its audio to 48 kHz mono and returns the
onsets of the beep frequency (I/Q demodulation in 1 ms blocks, a 4 ms
sliding window, so another participant's tone at a different frequency
does not count).
"""

import math
import struct
import threading
import time

from webrtc_peer import Gst

PERIOD = 2.0          # seconds between flashes
FLASH_FRAMES = 3      # 100 ms of white at 30 frames/s
BEEP = 0.1            # seconds of tone
FPS = 30
AUDIO_BUF = 0.02      # seconds per audio buffer
RATE = 48000


def video_caps(width, height):
    return 'video/x-raw,format=I420,width=%d,height=%d,framerate=%d/1' % (width, height, FPS)


AUDIO_CAPS = 'audio/x-raw,format=S16LE,layout=interleaved,channels=1,rate=%d' % RATE


class FlashBeepFeeder:
    """Feeds the two appsrcs of a publisher pipeline (see the module's text)."""

    def __init__(self, pipe, vsrc, asrc, width, height, beep_hz=2000):
        self.pipe, self.vsrc, self.asrc = pipe, vsrc, asrc
        y = width * height
        self.black = bytes([16]) * y + bytes([128]) * (y // 2)
        self.white = bytes([235]) * y + bytes([128]) * (y // 2)
        n = int(RATE * AUDIO_BUF)
        self.silence = bytes(2 * n)
        beep_bufs = int(round(BEEP / AUDIO_BUF))
        self.beep = [struct.pack('<%dh' % n, *(int(16000 * math.sin(2 * math.pi * beep_hz *
                                                                    (i * n + s) / RATE))
                                               for s in range(n)))
                     for i in range(beep_bufs)]
        self.frames_per_period = int(round(PERIOD * FPS))
        self.bufs_per_period = int(round(PERIOD / AUDIO_BUF))
        self.t0 = None        # running time (ns) of the first flash
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True, name='flash-beep')

    def start(self):
        self._thread.start()

    def stop(self):
        self._stop.set()
        self._thread.join(timeout=2)

    def _running_time(self):
        clock = self.pipe.get_clock()
        if clock is None:
            return None
        return clock.get_time() - self.pipe.get_base_time()

    def _push(self, src, data, pts, duration):
        buf = Gst.Buffer.new_wrapped(data)
        buf.pts = pts
        buf.dts = pts
        buf.duration = duration
        src.emit('push-buffer', buf)

    def _run(self):
        while not self._stop.is_set():
            now = self._running_time()
            if now is not None and self.pipe.get_state(0)[1] == Gst.State.PLAYING:
                break
            time.sleep(0.01)
        else:
            return
        self.t0 = now + 50_000_000
        fdur = Gst.SECOND // FPS
        adur = int(AUDIO_BUF * Gst.SECOND)
        n = k = 0
        while not self._stop.is_set():
            vts = self.t0 + n * Gst.SECOND // FPS
            ats = self.t0 + k * adur
            # Push each buffer about 20 ms before its time (a live source).
            if min(vts, ats) - 20_000_000 > self._running_time():
                time.sleep(0.002)
                continue
            if vts <= ats:
                flash = n % self.frames_per_period < FLASH_FRAMES
                self._push(self.vsrc, self.white if flash else self.black, vts, fdur)
                n += 1
            else:
                i = k % self.bufs_per_period
                self._push(self.asrc, self.beep[i] if i < len(self.beep) else self.silence,
                           ats, adur)
                k += 1


def gate(encoder, ready):
    """Drops the encoder's output buffers while not ready() (events pass)."""
    def probe(pad, info):
        return Gst.PadProbeReturn.OK if ready() else Gst.PadProbeReturn.DROP
    encoder.get_static_pad('src').add_probe(Gst.PadProbeType.BUFFER, probe)


# -- analysis -----------------------------------------------------------------

def _pull_all(desc, sink_name, timeout=120):
    """[(pts_ns, bytes)] of every sample reaching appsink `sink_name`."""
    pipe = Gst.parse_launch(desc)
    sink = pipe.get_by_name(sink_name)
    pipe.set_state(Gst.State.PLAYING)
    out = []
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            sample = sink.emit('try-pull-sample', 500 * Gst.MSECOND)
            if sample is None:
                if sink.get_property('eos'):
                    break
                msg = pipe.get_bus().pop_filtered(Gst.MessageType.ERROR)
                if msg is not None:
                    raise AssertionError('%s: %s' % (desc, msg.parse_error()))
                continue
            buf = sample.get_buffer()
            ok, info = buf.map(Gst.MapFlags.READ)
            assert ok
            out.append((buf.pts, bytes(info.data)))
            buf.unmap(info)
        else:
            raise AssertionError('%s: not finished within %d s' % (desc, timeout))
    finally:
        pipe.set_state(Gst.State.NULL)
    return out


def grey_frames(path, width, height):
    """[(pts_ns, GRAY8 bytes of width x height)] of a WebM/Matroska file's video."""
    desc = ('filesrc location=%s ! matroskademux name=d d.video_0 ! queue ! decodebin ! videoconvert ! '
            'videoscale ! video/x-raw,format=GRAY8,width=%d,height=%d ! '
            'appsink name=k sync=false' % (path, width, height))
    return _pull_all(desc, 'k')


def region(frame, width, x0, y0, x1, y1, step=4):
    """(mean, max) luma of the rectangle [x0, x1) x [y0, y1) of a GRAY8 frame,
    sampled every `step` pixels."""
    vals = b''.join(frame[y * width + x0:y * width + x1:step] for y in range(y0, y1, step))
    return sum(vals) / len(vals), max(vals)


def onsets(times_values, threshold, min_gap):
    """Times at which values rise through `threshold` (no two within min_gap)."""
    out, prev = [], False
    for t, v in times_values:
        on = v >= threshold
        if on and not prev and (not out or t - out[-1] >= min_gap):
            out.append(t)
        prev = on
    return out


def video_flashes(frames, width, rect):
    """[(onset_ns, previous_frame_ns)]: frames whose region `rect` turns bright
    (mean luma over 128), with the time of the dark frame before each."""
    out, prev_t, prev_on = [], None, True
    for t, f in frames:
        on = region(f, width, *rect)[0] >= 128
        if on and not prev_on and prev_t is not None and \
                (not out or t - out[-1][0] >= PERIOD * 1e9 / 2):
            out.append((t, prev_t))
        prev_on, prev_t = on, t
    return out


def audio_samples(path):
    """(first_pts_ns, array of int16) of a WebM/Matroska file's audio, 48 kHz mono."""
    desc = ('filesrc location=%s ! matroskademux name=d d.audio_0 ! queue ! opusdec plc=true ! audioconvert ! '
            'audioresample ! audio/x-raw,format=S16LE,channels=1,rate=%d ! '
            'appsink name=k sync=false' % (path, RATE))
    bufs = _pull_all(desc, 'k')
    assert bufs, 'no audio in %s' % path
    import array
    a = array.array('h')
    # Samples placed by their buffers' times: a gap in the file stays a gap.
    t0 = bufs[0][0]
    for pts, data in bufs:
        at = int(round((pts - t0) * RATE / 1e9))
        if at > len(a):
            a.extend(bytes(2 * (at - len(a))))
        elif at < len(a):
            del a[at:]
        a.frombytes(data)
    return t0, a


def audio_beeps(path, beep_hz=2000):
    """Onset times (ns, file time) of tone bursts at beep_hz in a file's audio."""
    t0, a = audio_samples(path)
    block = RATE // 1000
    cos = [math.cos(2 * math.pi * beep_hz * i / RATE) for i in range(block)]
    sin = [math.sin(2 * math.pi * beep_hz * i / RATE) for i in range(block)]
    # beep_hz divides 1 kHz's multiples (2 kHz: 2 cycles a block): the phase
    # repeats every block, so one table serves every block.
    iq = []
    for b in range(len(a) // block):
        s = a[b * block:(b + 1) * block]
        iq.append((sum(x * c for x, c in zip(s, cos)), sum(x * c for x, c in zip(s, sin))))
    win = 4
    mags = []
    for b in range(len(iq) - win):
        i = sum(v[0] for v in iq[b:b + win])
        q = sum(v[1] for v in iq[b:b + win])
        mags.append(math.hypot(i, q))
    if not mags:
        return []
    peak = max(mags)
    # The window covers blocks b..b+3: an onset at block b+3 first shows at b.
    # Half the peak is crossed when half the window holds the tone: the onset
    # is then the window's middle, b + win/2 ms.
    series = [((b + win / 2) * 1e6 + t0, m) for b, m in enumerate(mags)]
    return onsets(series, peak / 2, PERIOD * 1e9 / 2)


def pair_offsets(flashes, beeps, period=PERIOD):
    """[(flash_ns, beep_ns)]: each flash with the beep nearest to it (within
    half a period)."""
    out = []
    for f in flashes:
        ft = f[0] if isinstance(f, tuple) else f
        near = [b for b in beeps if abs(b - ft) < period * 1e9 / 2]
        if near:
            out.append((f, min(near, key=lambda b: abs(b - ft))))
    return out
