"""A WebRTC test peer built on GStreamer's webrtcbin (a stack we did not
write) that joins hearings through the gateway's real signalling
(PROTOCOL.md: webrtc.publish, webrtc.subscribe, webrtc.offer/answer,
webrtc.candidate, webrtc.state, media.tracks).

    peer = Peer(rpc, 'defendant', setup='passive')  # rpc: harness.Rpc, hello + join
                                        # done; 'passive': the gateway is DTLS client
    await peer.publish()                # VP8 (or H.264) + Opus test sources
    await peer.subscribe()              # offers and re-offers answered in the background
    ...
    peer.decoded_from(pid, 'video').count_between(t0, t1)   # decoded frames
    peer.rtp_from(pid, 'video')         # RtpPacket list (arrival time, key-frame start)
    peer.pub.sent_video, peer.pub.pli_in  # frames into the encoder, PLIs received
    await peer.close()

Threads: GStreamer calls back on its own threads (promise callbacks,
on-ice-candidate, pad probes, pad-added). Those callbacks only record
(appending to lists, which the GIL makes atomic) or hand work to the
asyncio loop with loop.call_soon_threadsafe(); everything that talks to
the gateway runs on the asyncio loop. A GLib main loop runs in a
background thread for whatever GStreamer or libnice attach to the default
main context.

Counters keep the monotonic time of every event, so tests can ask for
counts in a window, the first event after an instant, or the last one.

Run this file directly for a self-test that needs no gateway: a publisher
webrtcbin talks to a subscriber webrtcbin on loopback (checks the GStreamer
side of the peer: negotiation, trickle, DTLS roles, counting).
"""

import asyncio
import os
import re
import sys
import threading
import time

# GLib reads G_DEBUG once; meson's test setup sets fatal-criticals for the
# daemon, and pygobject's teardown of webrtcbin's ice-agent wrapper prints
# harmless criticals at interpreter exit. The daemon gets the value back
# (see MediaDaemon in media_harness.py).
DAEMON_G_DEBUG = os.environ.pop('G_DEBUG', None)

import gi  # noqa: E402

gi.require_version('Gst', '1.0')
gi.require_version('GstSdp', '1.0')
gi.require_version('GstWebRTC', '1.0')
gi.require_version('GstVideo', '1.0')
from gi.repository import GLib, Gst, GstSdp, GstVideo, GstWebRTC  # noqa: E402

try:
    gi.require_version('Nice', '0.1')
    from gi.repository import Nice  # noqa: E402
except (ValueError, ImportError):
    Nice = None

REQUIRED_ELEMENTS = ('webrtcbin', 'videotestsrc', 'vp8enc', 'rtpvp8pay', 'audiotestsrc',
                     'opusenc', 'rtpopuspay', 'rtpvp8depay', 'vp8dec', 'rtpopusdepay', 'opusdec',
                     'fakesink', 'queue', 'nicesrc', 'nicesink', 'dtlssrtpenc', 'dtlssrtpdec',
                     'srtpenc', 'srtpdec', 'rtpbin', 'capsfilter', 'videoconvert',
                     'audioconvert')

NEGOTIATION_TIMEOUT = 10.0


def missing_elements():
    Gst.init(None)
    return [e for e in REQUIRED_ELEMENTS if Gst.ElementFactory.find(e) is None]


class _GlibThread:
    """GStreamer initialised once; a GLib main loop on the default context."""
    _lock = threading.Lock()
    _started = False

    @classmethod
    def ensure(cls):
        with cls._lock:
            if cls._started:
                return
            Gst.init(None)
            loop = GLib.MainLoop.new(None, False)
            t = threading.Thread(target=loop.run, name='glib-main', daemon=True)
            t.start()
            cls._started = True


def now():
    return time.monotonic()


# --------------------------------------------------------------------------
# Counters
# --------------------------------------------------------------------------

class Counter:
    """Timestamps (time.monotonic()) of events."""

    def __init__(self, name=''):
        self.name = name
        self.times = []

    def hit(self, t=None):
        self.times.append(now() if t is None else t)

    @property
    def count(self):
        return len(self.times)

    @property
    def first(self):
        return self.times[0] if self.times else None

    @property
    def last(self):
        return self.times[-1] if self.times else None

    def count_between(self, t0, t1):
        return sum(1 for t in list(self.times) if t0 <= t < t1)

    def count_since(self, t0):
        return sum(1 for t in list(self.times) if t >= t0)

    def first_after(self, t0):
        for t in list(self.times):
            if t >= t0:
                return t
        return None

    def last_before(self, t1):
        out = None
        for t in list(self.times):
            if t < t1:
                out = t
            else:
                break
        return out

    def __repr__(self):
        return '<Counter %s: %d>' % (self.name, self.count)


# Bytes of payload that identify a packet end to end (the gateway rewrites
# RTP headers, never payloads): the publisher's stamp of what it sent, the
# subscriber's of what it received.
STAMP_BYTES = 40


class RtpPacket:
    __slots__ = ('t', 'ssrc', 'pt', 'seq', 'ts', 'marker', 'size', 'keyframe_start', 'mid',
                 'ext', 'stamp')

    def __init__(self, t, ssrc, pt, seq, ts, marker, size, keyframe_start, mid, ext=None,
                 stamp=None):
        self.t, self.ssrc, self.pt, self.seq, self.ts = t, ssrc, pt, seq, ts
        self.marker, self.size, self.keyframe_start, self.mid = marker, size, keyframe_start, mid
        self.ext = ext  # {id: bytes} of its header extension block, {} without one
        self.stamp = stamp  # the payload's first STAMP_BYTES bytes

    def __repr__(self):
        return ('<RTP t=%.3f ssrc=%d pt=%d seq=%d mid=%s kf=%s>'
                % (self.t, self.ssrc, self.pt, self.seq, self.mid, self.keyframe_start))


def parse_rtp(data):
    """(ssrc, pt, seq, ts, marker, payload) of an RTP packet, or None (RTCP, garbage)."""
    if len(data) < 12 or (data[0] >> 6) != 2:
        return None
    pt = data[1] & 0x7F
    if 64 <= pt <= 95:  # RTCP (72..76 with the marker bit)
        return None
    cc = data[0] & 0x0F
    off = 12 + 4 * cc
    if data[0] & 0x10:
        if len(data) < off + 4:
            return None
        off += 4 + 4 * ((data[off + 2] << 8) | data[off + 3])
    end = len(data)
    if data[0] & 0x20 and end > off:
        end -= data[-1]
    seq = (data[2] << 8) | data[3]
    ts = int.from_bytes(data[4:8], 'big')
    ssrc = int.from_bytes(data[8:12], 'big')
    return ssrc, pt, seq, ts, bool(data[1] & 0x80), data[off:end]


def rtp_extensions(data):
    """{id: bytes} of an RTP packet's RFC 8285 header extension block, in
    the one-byte (0xBEDE) or two-byte (0x100X) form; {} when it has no
    block; None for another profile or a block running past `data` (the
    probe keeps a packet's first bytes only) or malformed."""
    if len(data) < 12 or not data[0] & 0x10:
        return {}
    off = 12 + 4 * (data[0] & 0x0F)
    if len(data) < off + 4:
        return None
    profile = (data[off] << 8) | data[off + 1]
    end = off + 4 + 4 * ((data[off + 2] << 8) | data[off + 3])
    if end > len(data):
        return None
    two_byte = (profile & 0xFFF0) == 0x1000
    if profile != 0xBEDE and not two_byte:
        return None
    out = {}
    i = off + 4
    while i < end:
        if data[i] == 0:  # padding
            i += 1
            continue
        if two_byte:
            if i + 2 > end:
                return None
            eid, n, i = data[i], data[i + 1], i + 2
        else:
            eid, n, i = data[i] >> 4, (data[i] & 0x0F) + 1, i + 1
            if eid == 15:
                break
        if i + n > end:
            return None
        out[eid] = bytes(data[i:i + n])
        i += n
    return out


def vp8_keyframe_start(payload):
    """True when an RTP VP8 payload (RFC 7741) is the first packet of a key frame."""
    if len(payload) < 1:
        return False
    b0 = payload[0]
    s_bit = b0 & 0x10
    pid = b0 & 0x07
    off = 1
    if b0 & 0x80:  # X
        if len(payload) < 2:
            return False
        x = payload[1]
        off = 2
        if x & 0x80:  # I
            if len(payload) <= off:
                return False
            off += 2 if payload[off] & 0x80 else 1
        if x & 0x40:  # L
            off += 1
        if x & 0x30:  # T or K
            off += 1
    if not s_bit or pid != 0 or len(payload) <= off:
        return False
    return (payload[off] & 0x01) == 0  # P bit: 0 = key frame


def _probe_bytes(info, limit, sizes=False):
    """The first `limit` bytes of each buffer a pad probe sees."""
    bufs = []
    if info.type & Gst.PadProbeType.BUFFER_LIST:
        lst = info.get_buffer_list()
        if lst is not None:
            bufs = [lst.get(i) for i in range(lst.length())]
    else:
        b = info.get_buffer()
        if b is not None:
            bufs = [b]
    out = []
    for b in bufs:
        try:
            ok, mi = b.map(Gst.MapFlags.READ)
            if not ok:
                continue
            try:
                data = bytes(mi.data[:limit])
                size = mi.size
            finally:
                b.unmap(mi)
        except Exception:  # noqa: BLE001
            continue
        out.append((data, size) if sizes else data)
    return out


def h264_keyframe_start(payload):
    """True when an RTP H.264 payload (RFC 6184) starts an IDR picture or
    carries its SPS (the usual first packet of a key frame)."""
    if not payload:
        return False
    nal = payload[0] & 0x1F
    if nal in (5, 7):
        return True
    if nal == 24:  # STAP-A
        off = 1
        while off + 3 <= len(payload):
            size = (payload[off] << 8) | payload[off + 1]
            if size and (payload[off + 2] & 0x1F) in (5, 7):
                return True
            off += 2 + size
        return False
    if nal == 28 and len(payload) >= 2:  # FU-A
        return bool(payload[1] & 0x80) and (payload[1] & 0x1F) == 5
    return False


# --------------------------------------------------------------------------
# SDP helpers
# --------------------------------------------------------------------------

def sdp_sections(sdp):
    """[{kind, port, line, mid, dir, lines}] for each m= section."""
    out = []
    cur = None
    for line in sdp.replace('\r\n', '\n').split('\n'):
        if line.startswith('m='):
            parts = line[2:].split()
            cur = {'kind': parts[0], 'port': parts[1] if len(parts) > 1 else '',
                   'line': line, 'mid': None, 'dir': 'sendrecv', 'lines': []}
            out.append(cur)
        elif cur is not None and line:
            cur['lines'].append(line)
            if line.startswith('a=mid:'):
                cur['mid'] = line[6:].strip()
            elif line in ('a=sendonly', 'a=recvonly', 'a=sendrecv', 'a=inactive'):
                cur['dir'] = line[2:]
    return out


def sdp_attr(sdp, name):
    m = re.search(r'(?m)^a=%s:([^\r\n]*)' % re.escape(name), sdp)
    return m.group(1).strip() if m else None


def sdp_ssrcs(sdp):
    """{ssrc: mid} from a=ssrc lines."""
    out = {}
    for sec in sdp_sections(sdp):
        for line in sec['lines']:
            m = re.match(r'a=ssrc:(\d+) ', line)
            if m:
                out[int(m.group(1))] = sec['mid']
    return out


def sdp_payload_types(sdp):
    """{pt: encoding name upper-case} over all sections."""
    out = {}
    for m in re.finditer(r'(?m)^a=rtpmap:(\d+) ([^/\s]+)', sdp):
        out[int(m.group(1))] = m.group(2).upper()
    return out


def set_setup(sdp, role):
    """Rewrites every a=setup to `role` (active, passive, ...)."""
    return re.sub(r'(?m)^a=setup:[a-z]+', 'a=setup:' + role, sdp)


def alter_fingerprint(sdp):
    """Flips one byte of every a=fingerprint (still well-formed)."""
    def flip(m):
        hexes = m.group(2).split(':')
        hexes[5] = '%02X' % (int(hexes[5], 16) ^ 0x5A)
        return m.group(1) + ':'.join(hexes)
    return re.sub(r'(?m)^(a=fingerprint:\S+ )([0-9A-Fa-f:]+)', flip, sdp)


def set_direction(sdp, mids, direction):
    """Sets the direction attribute of the m-sections whose mid is in mids."""
    out = []
    for block in _split_sections(sdp):
        m = re.search(r'(?m)^a=mid:(\S+)', block)
        if block.startswith('m=') and m and m.group(1) in mids:
            block = re.sub(r'(?m)^a=(sendrecv|sendonly|recvonly|inactive)(\r?)$',
                           r'a=%s\2' % direction, block)
        out.append(block)
    return ''.join(out)


def _split_sections(sdp):
    """The session part and each m= section, as text (concatenation = sdp)."""
    parts = re.split(r'(?m)^(?=m=)', sdp)
    return [p for p in parts if p]


def _description(kind, text):
    res, msg = GstSdp.SDPMessage.new_from_text(text)
    if res != GstSdp.SDPResult.OK:
        raise ValueError('GstSdp cannot parse the %s: %r' % (kind, text[:200]))
    t = GstWebRTC.WebRTCSDPType.OFFER if kind == 'offer' else GstWebRTC.WebRTCSDPType.ANSWER
    return GstWebRTC.WebRTCSessionDescription.new(t, msg)


# --------------------------------------------------------------------------
# One webrtcbin PeerConnection
# --------------------------------------------------------------------------

class PcError(AssertionError):
    pass


class _Pc:
    """A pipeline around one webrtcbin; the asyncio side of its promises."""

    def __init__(self, name, aloop, loopback_only=True):
        _GlibThread.ensure()
        self.name = name
        self.aloop = aloop
        self.pipe = Gst.Pipeline.new(name)
        self.errors = []          # bus errors and promise errors (text)
        self.local_candidates = []   # (mline, candidate) in emission order
        self.on_local_candidate = None   # callback(mline, candidate or None) on the asyncio loop
        self.gathering_done = False
        self.ice_states = []      # (t, state name)
        self.conn_states = []     # (t, state name)
        self.loopback_only = loopback_only
        self.webrtc = None
        self._ice_agent = None
        bus = self.pipe.get_bus()
        bus.set_sync_handler(self._on_bus)

    # -- setup ---------------------------------------------------------------

    def _make_webrtcbin(self, name):
        w = Gst.ElementFactory.make('webrtcbin', name)
        w.set_property('bundle-policy', GstWebRTC.WebRTCBundlePolicy.MAX_BUNDLE)
        w.connect('on-ice-candidate', self._on_ice_candidate)
        w.connect('notify::ice-gathering-state', self._on_gathering)
        w.connect('notify::ice-connection-state', self._on_ice_state)
        w.connect('notify::connection-state', self._on_conn_state)
        self.webrtc = w
        self._restrict_ice(w)
        return w

    def _restrict_ice(self, w):
        """Host candidates on 127.0.0.1 only (the gateway listens there; by
        default libnice skips loopback), UDP only."""
        try:
            ice = w.get_property('ice-agent')
            self._ice_agent = ice  # keep the wrapper alive as long as the element
            try:
                ice.set_property('ice-tcp', False)
            except TypeError:
                pass
            agent = ice.get_property('agent')
            try:
                agent.set_property('upnp', False)   # no UPnP IGD discovery in tests
            except TypeError:
                pass
            if self.loopback_only and Nice is not None:
                addr = Nice.Address.new()
                if addr.set_from_string('127.0.0.1'):
                    agent.add_local_address(addr)
        except Exception as e:  # older webrtcbin: every interface is fine too
            self.errors.append('cannot restrict ICE to loopback: %r' % e)

    def _on_bus(self, bus, msg):
        t = msg.type
        if t == Gst.MessageType.ERROR:
            err, dbg = msg.parse_error()
            self.errors.append('%s: bus error from %s: %s (%s)'
                               % (self.name, msg.src.get_name() if msg.src else '?',
                                  err.message, dbg))
        elif t == Gst.MessageType.WARNING:
            err, dbg = msg.parse_warning()
            self.errors.append('%s: bus warning from %s: %s'
                               % (self.name, msg.src.get_name() if msg.src else '?',
                                  err.message))
        return Gst.BusSyncReply.DROP

    # -- signals (GStreamer threads) -------------------------------------------

    def _on_ice_candidate(self, element, mline, candidate):
        self.local_candidates.append((mline, candidate))
        cb = self.on_local_candidate
        if cb is not None:
            self.aloop.call_soon_threadsafe(cb, mline, candidate)

    def _on_gathering(self, element, pspec):
        st = element.get_property('ice-gathering-state')
        if st == GstWebRTC.WebRTCICEGatheringState.COMPLETE and not self.gathering_done:
            self.gathering_done = True
            cb = self.on_local_candidate
            if cb is not None:
                self.aloop.call_soon_threadsafe(cb, None, None)

    def _on_ice_state(self, element, pspec):
        st = element.get_property('ice-connection-state')
        self.ice_states.append((now(), st.value_nick))

    def _on_conn_state(self, element, pspec):
        st = element.get_property('connection-state')
        self.conn_states.append((now(), st.value_nick))

    # -- promises ----------------------------------------------------------------

    async def _promise(self, signal, *args, timeout=NEGOTIATION_TIMEOUT):
        """Emits an action signal taking a trailing GstPromise; returns the
        reply structure's fields copied on the GStreamer thread."""
        fut = self.aloop.create_future()
        aloop = self.aloop

        def done(promise, *unused):
            out = {}
            try:
                reply = promise.get_reply()
                if reply is not None:
                    for fld in ('offer', 'answer'):
                        if reply.has_field(fld):
                            out[fld] = reply.get_value(fld).sdp.as_text()
                    if reply.has_field('error'):
                        e = reply.get_value('error')
                        out['error'] = getattr(e, 'message', str(e))
            except Exception as e:  # noqa: BLE001 - reported to the test
                out['error'] = 'reading the promise reply: %r' % e
            aloop.call_soon_threadsafe(lambda: fut.done() or fut.set_result(out))

        promise = Gst.Promise.new_with_change_func(done, None)
        self.webrtc.emit(signal, *args, promise)
        try:
            out = await asyncio.wait_for(fut, timeout)
        except asyncio.TimeoutError:
            raise PcError('%s: %s: no promise reply within %.0f s' % (self.name, signal, timeout))
        if 'error' in out:
            raise PcError('%s: %s failed: %s' % (self.name, signal, out['error']))
        return out

    async def create_offer(self):
        return (await self._promise('create-offer', None))['offer']

    async def create_answer(self):
        return (await self._promise('create-answer', None))['answer']

    async def set_local(self, kind, text):
        await self._promise('set-local-description', _description(kind, text))

    async def set_remote(self, kind, text):
        await self._promise('set-remote-description', _description(kind, text))

    def add_remote_candidate(self, mline, candidate):
        if candidate is None:
            candidate = ''
        if candidate.startswith('a='):
            candidate = candidate[2:]
        if candidate == '':
            return  # end of candidates: webrtcbin 1.22 needs nothing
        self.webrtc.emit('add-ice-candidate', int(mline or 0), candidate)

    def connection_state(self):
        return self.webrtc.get_property('connection-state').value_nick

    def start(self):
        r = self.pipe.set_state(Gst.State.PLAYING)
        if r == Gst.StateChangeReturn.FAILURE:
            raise PcError('%s: cannot set the pipeline to PLAYING: %r' % (self.name, self.errors))

    def stop(self):
        """Sets the pipeline to NULL (blocking: call from a worker thread)."""
        self.on_local_candidate = None
        self.pipe.set_state(Gst.State.NULL)
        self.pipe.get_bus().set_sync_handler(None)


class PublishPc(_Pc):
    """webrtcbin with VP8 (videotestsrc) and Opus (audiotestsrc), sendonly.

    sent_video counts raw frames entering the encoder, sent_audio Opus
    packets entering the payloader."""

    def __init__(self, name, aloop, audio=True, video=True, width=320, height=240, fps=30,
                 keyframe_max_dist=60, loopback_only=True, video_codec='VP8', tone=440,
                 video_pt=None, audio_pt=None, wave='sine', flash_beep=None):
        _Pc.__init__(self, name, aloop, loopback_only)
        # (t, 'audio' | 'video', payload stamp) of every RTP packet as it
        # enters webrtcbin (STAMP_BYTES; with wave='white-noise' every
        # audio packet's stamp is its own)
        self.sent_rtp = []
        self.flash_beep = None   # flash_beep.FlashBeepFeeder when flash_beep (its beep in Hz)
        self.sent_video = Counter(name + ' sent video')
        self.sent_audio = Counter(name + ' sent audio')
        self.keyframes_sent = Counter(name + ' key frames')
        self.force_key_units = Counter(name + ' keyframe requests')
        self.sinkpads = []
        self.rtcp_in = Counter(name + ' RTCP packets received')
        self.pli_in = Counter(name + ' PLI received')
        self.fir_in = Counter(name + ' FIR received')
        self.nack_in = Counter(name + ' NACK received')
        self.remb_in = Counter(name + ' REMB received')
        self.video_encoder = None
        self.forced_keyframes = Counter(name + ' key frames forced by the test')
        w = self._make_webrtcbin('pub')
        self.pipe.add(w)
        rtpbin = w.get_by_name('rtpbin')
        if rtpbin is not None:
            rtpbin.connect('pad-added', self._on_rtpbin_pad)
        self.video_codec = video_codec
        if flash_beep:
            import flash_beep as fb
            fps = fb.FPS
        if video:
            raw = ('videotestsrc is-live=true pattern=ball ! video/x-raw,width=%d,height=%d,'
                   'framerate=%d/1 ! videoconvert ! queue max-size-buffers=4 leaky=downstream'
                   % (width, height, fps))
            if flash_beep:
                raw = ('appsrc name=flashv is-live=true format=time do-timestamp=false '
                       'caps="%s" ! videoconvert ! queue' % fb.video_caps(width, height))
            if video_codec == 'VP8':
                desc = (raw + ' ! vp8enc name=venc deadline=1 cpu-used=8 keyframe-max-dist=%d '
                        'target-bitrate=300000 ! rtpvp8pay picture-id-mode=15-bit mtu=1150 ! '
                        'capsfilter caps=application/x-rtp,media=video,encoding-name=VP8,'
                        'payload=%d' % (keyframe_max_dist, video_pt or 96))
            elif video_codec == 'H264':
                desc = (raw + ' ! video/x-raw,format=I420 ! openh264enc name=venc '
                        'complexity=low usage-type=camera rate-control=bitrate bitrate=300000 '
                        'gop-size=%d ! h264parse ! rtph264pay config-interval=-1 mtu=1150 '
                        'aggregate-mode=zero-latency ! capsfilter caps=application/x-rtp,'
                        'media=video,encoding-name=H264,payload=%d'
                        % (min(keyframe_max_dist, 2 ** 31 - 1), video_pt or 102))
            else:
                raise ValueError('video codec %r' % video_codec)
            self._add_source(desc, 'venc', self.sent_video, video=True)
        if audio:
            src = 'audiotestsrc is-live=true wave=%s freq=%d' % (wave, tone)
            if flash_beep:
                src = ('appsrc name=flasha is-live=true format=time do-timestamp=false '
                       'caps="%s"' % fb.AUDIO_CAPS)
            desc = ('%s ! audioconvert ! '
                    'opusenc name=aenc frame-size=20 ! rtpopuspay mtu=1150 ! '
                    'capsfilter caps=application/x-rtp,media=audio,encoding-name=OPUS,payload=%d'
                    % (src, audio_pt or 111))
            self._add_source(desc, 'aenc', self.sent_audio, video=False)
        if flash_beep:
            self.flash_beep = fb.FlashBeepFeeder(self.pipe, self.pipe.get_by_name('flashv'),
                                                 self.pipe.get_by_name('flasha'), width, height,
                                                 beep_hz=flash_beep)
            for enc in ('venc', 'aenc'):
                if self.pipe.get_by_name(enc) is not None:
                    fb.gate(self.pipe.get_by_name(enc),
                            lambda: self.connection_state() == 'connected')
        for t in self._transceivers():
            t.set_property('direction', GstWebRTC.WebRTCRTPTransceiverDirection.SENDONLY)

    def start(self):
        _Pc.start(self)
        if self.flash_beep is not None:
            self.flash_beep.start()

    def stop(self):
        if self.flash_beep is not None:
            self.flash_beep.stop()
        _Pc.stop(self)

    def _on_rtpbin_pad(self, rtpbin, pad):
        if pad.get_direction() == Gst.PadDirection.SINK and \
                pad.get_name().startswith('recv_rtcp_sink'):
            pad.add_probe(Gst.PadProbeType.BUFFER | Gst.PadProbeType.BUFFER_LIST,
                          self._rtcp_probe)

    def _rtcp_probe(self, pad, info):
        t = now()
        for data in _probe_bytes(info, 1500):
            off = 0
            while off + 4 <= len(data):
                b0, pt = data[off], data[off + 1]
                length = 4 * (((data[off + 2] << 8) | data[off + 3]) + 1)
                if (b0 >> 6) != 2:
                    break
                self.rtcp_in.hit(t)
                fmt = b0 & 0x1F
                if pt == 206 and fmt == 1:
                    self.pli_in.hit(t)
                elif pt == 206 and fmt == 4:
                    self.fir_in.hit(t)
                elif pt == 206 and fmt == 15:
                    self.remb_in.hit(t)
                elif pt == 205 and fmt == 1:
                    self.nack_in.hit(t)
                off += length
        return Gst.PadProbeReturn.OK

    def force_keyframe(self):
        """Makes the encoder produce a key frame now (a downstream
        force-key-unit event into its sink pad: not counted as a request
        from the network in force_key_units)."""
        if self.video_encoder is None:
            return
        ev = GstVideo.video_event_new_downstream_force_key_unit(
            Gst.CLOCK_TIME_NONE, Gst.CLOCK_TIME_NONE, Gst.CLOCK_TIME_NONE, True, 0)
        self.forced_keyframes.hit()
        self.video_encoder.get_static_pad('sink').send_event(ev)

    async def wait_caps(self, timeout=5.0):
        """Waits until every source has negotiated caps into webrtcbin (an
        offer made earlier lacks them: e.g. opus/48000 without /2)."""
        deadline = now() + timeout
        while now() < deadline:
            if all(p.get_current_caps() is not None for p in self.sinkpads):
                return
            await asyncio.sleep(0.02)
        raise PcError('%s: sources negotiated no caps within %.0f s: %r'
                      % (self.name, timeout, self.errors))

    def _transceivers(self):
        out = []
        while True:
            t = self.webrtc.emit('get-transceiver', len(out))
            if t is None:
                return out
            out.append(t)

    def _add_source(self, desc, enc_name, counter, video):
        bin_ = Gst.parse_bin_from_description(desc, True)
        self.pipe.add(bin_)
        enc = bin_.get_by_name(enc_name)
        if video:
            self.video_encoder = enc
            def count_raw(pad, info):
                counter.hit()
                return Gst.PadProbeReturn.OK
            enc.get_static_pad('sink').add_probe(Gst.PadProbeType.BUFFER, count_raw)
            kfc = self.keyframes_sent

            def count_kf(pad, info):
                buf = info.get_buffer()
                if buf is not None and not buf.has_flags(Gst.BufferFlags.DELTA_UNIT):
                    kfc.hit()
                return Gst.PadProbeReturn.OK
            enc.get_static_pad('src').add_probe(Gst.PadProbeType.BUFFER, count_kf)
            fk = self.force_key_units

            def count_fku(pad, info):
                ev = info.get_event()
                if ev is not None and ev.type == Gst.EventType.CUSTOM_UPSTREAM:
                    st = ev.get_structure()
                    if st is not None and st.get_name() == 'GstForceKeyUnit':
                        fk.hit()
                return Gst.PadProbeReturn.OK
            enc.get_static_pad('src').add_probe(Gst.PadProbeType.EVENT_UPSTREAM, count_fku)
        else:
            def count_out(pad, info):
                counter.hit()
                return Gst.PadProbeReturn.OK
            enc.get_static_pad('src').add_probe(Gst.PadProbeType.BUFFER, count_out)
        sinkpad = self.webrtc.request_pad_simple('sink_%u')
        self.sinkpads.append(sinkpad)
        kind, sent = 'video' if video else 'audio', self.sent_rtp

        def stamp(pad, info):
            t = now()
            for data in _probe_bytes(info, 12 + 64 + STAMP_BYTES):
                p = parse_rtp(data)
                if p is not None:
                    sent.append((t, kind, bytes(p[5][:STAMP_BYTES])))
            return Gst.PadProbeReturn.OK
        sinkpad.add_probe(Gst.PadProbeType.BUFFER | Gst.PadProbeType.BUFFER_LIST, stamp)
        if bin_.get_static_pad('src').link(sinkpad) != Gst.PadLinkReturn.OK:
            raise PcError('%s: cannot link %s to webrtcbin' % (self.name, enc_name))


class SubscribePc(_Pc):
    """A recvonly webrtcbin: each incoming stream is decoded (VP8, Opus)
    and counted; RTP packets are counted as they enter rtpbin (after SRTP,
    before the jitter buffer), with VP8 key-frame starts marked."""

    def __init__(self, name, aloop, loopback_only=True, latency_ms=100):
        _Pc.__init__(self, name, aloop, loopback_only)
        w = self._make_webrtcbin('sub')
        w.set_property('latency', latency_ms)
        self.pipe.add(w)
        self.rtp = []                # RtpPacket, in arrival order
        self.rtp_by_ssrc = {}        # ssrc -> [RtpPacket]
        self.ssrc_mid = {}           # from the remote SDP and from pads
        self.pt_names = {}           # pt -> encoding name (remote SDP)
        self.decoded = {}            # mid -> Counter (video frames or audio buffers)
        self.decoded_kind = {}       # mid -> 'video' | 'audio'
        self.pads = []               # (t, pad name, mid, caps string)
        self.on_decoded = None       # callback(mid, kind, t) on a GStreamer thread
        rtpbin = w.get_by_name('rtpbin')
        if rtpbin is not None:
            rtpbin.connect('pad-added', self._on_rtpbin_pad)
            for pad in rtpbin.sinkpads:
                self._on_rtpbin_pad(rtpbin, pad)
        else:
            self.errors.append('%s: no rtpbin inside webrtcbin: RTP is not counted' % name)
        w.connect('pad-added', self._on_pad_added)

    def note_remote_sdp(self, sdp):
        self.ssrc_mid.update(sdp_ssrcs(sdp))
        self.pt_names.update(sdp_payload_types(sdp))

    # -- RTP arrival -----------------------------------------------------------

    def _on_rtpbin_pad(self, rtpbin, pad):
        if pad.get_direction() != Gst.PadDirection.SINK or \
                not pad.get_name().startswith('recv_rtp_sink'):
            return
        pad.add_probe(Gst.PadProbeType.BUFFER | Gst.PadProbeType.BUFFER_LIST, self._rtp_probe)

    def _rtp_probe(self, pad, info):
        t = now()
        for data, size in _probe_bytes(info, 80, sizes=True):
            p = parse_rtp(data)
            if p is None:
                continue
            ssrc, pt, seq, ts, marker, payload = p
            kf = None
            enc = self.pt_names.get(pt)
            if enc == 'VP8':
                kf = vp8_keyframe_start(payload)
            elif enc == 'H264':
                kf = h264_keyframe_start(payload)
            pkt = RtpPacket(t, ssrc, pt, seq, ts, marker, size, kf, self.ssrc_mid.get(ssrc),
                            rtp_extensions(data), bytes(payload[:STAMP_BYTES]))
            self.rtp.append(pkt)
            self.rtp_by_ssrc.setdefault(ssrc, []).append(pkt)
        return Gst.PadProbeReturn.OK

    # -- decoding ------------------------------------------------------------------

    def _on_pad_added(self, element, pad):
        if pad.get_direction() != Gst.PadDirection.SRC:
            return
        caps = pad.get_current_caps() or pad.query_caps(None)
        st = caps.get_structure(0) if caps is not None and caps.get_size() else None
        enc = (st.get_string('encoding-name') or '').upper() if st else ''
        media = st.get_string('media') if st else None
        mid = None
        try:
            tr = pad.get_property('transceiver')
            mid = tr.get_property('mid') if tr is not None else None
        except TypeError:
            pass
        if st is not None and st.has_field('ssrc'):
            ok, ssrc = st.get_uint('ssrc')
            if ok and mid is not None:
                self.ssrc_mid.setdefault(ssrc, mid)
                for pkt in self.rtp_by_ssrc.get(ssrc, []):
                    if pkt.mid is None:
                        pkt.mid = mid
        if mid is None:
            mid = 'pad:' + pad.get_name()
        self.pads.append((now(), pad.get_name(), mid, caps.to_string() if caps else None))
        if enc == 'VP8':
            desc = 'queue ! rtpvp8depay ! vp8dec ! fakesink name=sink sync=false async=false'
            kind = 'video'
        elif enc == 'H264':
            desc = 'queue ! rtph264depay ! h264parse ! openh264dec ! fakesink name=sink ' \
                   'sync=false async=false'
            kind = 'video'
        elif enc == 'OPUS':
            desc = 'queue ! rtpopusdepay ! opusdec plc=true ! fakesink name=sink sync=false ' \
                   'async=false'
            kind = 'audio'
        else:
            desc = 'fakesink name=sink sync=false async=false'
            kind = media or 'other'
        counter = self.decoded.setdefault(mid, Counter('%s %s mid %s' % (self.name, kind, mid)))
        self.decoded_kind[mid] = kind
        bin_ = Gst.parse_bin_from_description(desc, True)
        sink = bin_.get_by_name('sink')
        cb_holder = self

        def count(p, info):
            t = now()
            if kind in ('video', 'audio'):
                counter.hit(t)
                cb = cb_holder.on_decoded
                if cb is not None:
                    cb(mid, kind, t)
            return Gst.PadProbeReturn.OK
        sink.get_static_pad('sink').add_probe(Gst.PadProbeType.BUFFER, count)
        self.pipe.add(bin_)
        bin_.sync_state_with_parent()
        if pad.link(bin_.get_static_pad('sink')) != Gst.PadLinkReturn.OK:
            self.errors.append('%s: cannot link %s' % (self.name, pad.get_name()))

    def rtp_for_mids(self, mids):
        mids = set(mids)
        return [p for p in list(self.rtp) if (p.mid or self.ssrc_mid.get(p.ssrc)) in mids]


# --------------------------------------------------------------------------
# The peer: a participant's socket plus its two PeerConnections
# --------------------------------------------------------------------------

class Peer:
    """A participant (or staff member) with a joined harness.Rpc socket.

    setup: how to answer the gateway's subscribe offers: None (webrtcbin's
    own choice, a=setup:active: the gateway is DTLS server), 'active' or
    'passive' (munged: the gateway is DTLS client).
    answer_munge / offer_munge: functions applied to the SDP text sent to
    the gateway (after webrtcbin has applied its own).
    remote_sdp_munge: a function applied to what the gateway sends (its
    subscribe offers and trickled candidates) before webrtcbin sees it;
    candidate_munge: to each local candidate trickled to the gateway (with
    both, a UdpRelay can be put between webrtcbin and the gateway).
    candidates_as: 'notification' (no id, as browsers do) or 'request'.
    publish_pts: {'video': pt, 'audio': pt}, the payload types the publish
    webrtcbin numbers its codecs with (default VP8 96 / H.264 102, Opus
    111), as another client would.
    The gateway's subscribe offers reach webrtcbin unchanged (but for
    remote_sdp_munge). Like web/js/media.js, a subscribe PC the gateway
    reports `closed` (e.g. reason mline_limit) is replaced: a fresh
    webrtcbin and webrtc.subscribe again (`resubscribes` counts them).
    """

    def __init__(self, rpc, name=None, setup=None, answer_munge=None, offer_munge=None,
                 candidates_as='request', keyframe_max_dist=60, fps=30,
                 video_codec='VP8', remote_sdp_munge=None, publish_pts=None,
                 candidate_munge=None):
        self.rpc = rpc
        self.name = name or rpc.name
        self.aloop = asyncio.get_running_loop()
        self.setup = setup
        self.answer_munge = answer_munge
        self.offer_munge = offer_munge
        self.remote_sdp_munge = remote_sdp_munge
        self.candidate_munge = candidate_munge
        self.candidates_as = candidates_as
        self.keyframe_max_dist = keyframe_max_dist
        self.resubscribes = 0
        self.publish_pts = publish_pts or {}
        self.video_codec = video_codec
        self.fps = fps
        self.pub = None
        self.sub = None
        self.tracks = {}            # mid -> {participant_id, kind} (last known for that mid)
        self.current_tracks = []    # the last media.tracks list
        self.tracks_history = []    # (t, tracks)
        self.offers = []            # (t, params) of webrtc.offer received
        self.answers = []           # (t, revision, sdp sent, reply)
        self.states = []            # (t, pc, state, reason)
        self.remote_candidates = {'publish': [], 'subscribe': []}
        self.sent_candidates = {'publish': [], 'subscribe': []}
        self.errors = []            # problems (gateway errors to our requests etc.)
        self.publish_answer = None
        self.publish_offer = None
        self.decoded_by = {}        # (participant_id, kind) -> Counter
        self._cand_ready = {'publish': False, 'subscribe': False}
        self._cand_queue = {'publish': [], 'subscribe': []}
        self._remote_ready = {'publish': False, 'subscribe': False}
        self._remote_queue = {'publish': [], 'subscribe': []}
        self._offer_lock = asyncio.Lock()
        self._tasks = set()
        self._note_index = 0
        self._closed = False
        self._pump = asyncio.ensure_future(self._pump_notes())

    # -- notifications from the gateway --------------------------------------

    async def _pump_notes(self):
        rpc = self.rpc
        while not self._closed:
            ev = rpc._changed
            while self._note_index < len(rpc.notes):
                note = rpc.notes[self._note_index]
                self._note_index += 1
                try:
                    self._on_note(note.method, note.params)
                except Exception as e:  # noqa: BLE001
                    self.errors.append('handling %s: %r' % (note.method, e))
            if rpc.closed.is_set():
                break
            try:
                await asyncio.wait_for(ev.wait(), 0.5)
            except asyncio.TimeoutError:
                pass

    def _spawn(self, coro):
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)
        return task

    def _task_done(self, task):
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            self.errors.append('%s: %r' % (self.name, task.exception()))

    def _on_note(self, method, params):
        t = now()
        if method == 'media.tracks':
            tracks = params.get('tracks') or []
            self.current_tracks = tracks
            self.tracks_history.append((t, tracks))
            for tr in tracks:
                if isinstance(tr, dict) and tr.get('mid') is not None:
                    self.tracks[str(tr['mid'])] = {'participant_id': tr.get('participant_id'),
                                                  'kind': tr.get('kind')}
        elif method == 'webrtc.offer':
            self.offers.append((t, params))
            self._spawn(self._answer_offer(params))
        elif method == 'webrtc.candidate':
            pc = params.get('pc')
            if pc not in ('publish', 'subscribe'):
                self.errors.append('webrtc.candidate with pc %r' % pc)
                return
            self.remote_candidates[pc].append((t, params))
            cand = params.get('candidate')
            if cand and self.remote_sdp_munge is not None:
                cand = self.remote_sdp_munge(cand)
            item = (params.get('sdpMLineIndex'), cand)
            if self._remote_ready[pc]:
                self._add_remote(pc, *item)
            else:
                self._remote_queue[pc].append(item)
        elif method == 'webrtc.state':
            self.states.append((t, params.get('pc'), params.get('state'), params.get('reason')))
            if params.get('pc') == 'subscribe' and params.get('state') == 'closed':
                self._spawn(self._resubscribe())

    def _add_remote(self, pc, mline, candidate):
        target = self.pub if pc == 'publish' else self.sub
        if target is None:
            self.errors.append('candidate for %s before it exists' % pc)
            return
        target.add_remote_candidate(mline or 0, candidate)

    def _remote_description_set(self, pc):
        self._remote_ready[pc] = True
        q, self._remote_queue[pc] = self._remote_queue[pc], []
        for item in q:
            self._add_remote(pc, *item)

    # -- our candidates to the gateway -----------------------------------------

    def _local_candidate(self, pc, mline, candidate):
        if self._closed:
            return
        if not self._cand_ready[pc]:
            self._cand_queue[pc].append((mline, candidate))
            return
        self._spawn(self._send_candidate(pc, mline, candidate))

    async def _send_candidate(self, pc, mline, candidate):
        if candidate and self.candidate_munge is not None:
            candidate = self.candidate_munge(candidate)
        params = {'pc': pc, 'candidate': candidate if candidate is not None else ''}
        if candidate is not None:
            params['sdpMLineIndex'] = mline
            mid = self._mid_of(pc, mline)
            if mid is not None:
                params['sdpMid'] = mid
        self.sent_candidates[pc].append((now(), params))
        if self.candidates_as == 'notification':
            await self.rpc.send_json({'jsonrpc': '2.0', 'method': 'webrtc.candidate',
                                      'params': params})
        else:
            reply = await self.rpc.request('webrtc.candidate', params)
            if 'error' in reply:
                self.errors.append('webrtc.candidate %r -> %r' % (params, reply['error']))

    def _mid_of(self, pc, mline):
        sdp = self.publish_offer if pc == 'publish' else (
            self.answers[-1][2] if self.answers else None)
        if sdp is None or mline is None:
            return None
        secs = sdp_sections(sdp)
        return secs[mline]['mid'] if 0 <= mline < len(secs) else None

    def _candidates_go(self, pc):
        self._cand_ready[pc] = True
        q, self._cand_queue[pc] = self._cand_queue[pc], []
        for mline, cand in q:
            self._spawn(self._send_candidate(pc, mline, cand))

    # -- publish ---------------------------------------------------------------

    async def publish(self, audio=True, video=True, expect_error=False, allow_error=False,
                      tone=440, wave='sine', flash_beep=None):
        """Offers VP8 and Opus; returns the gateway's answer (or, with
        expect_error, the error object, which must come; with allow_error,
        the error object if one came)."""
        if self.pub is None:
            self.pub = PublishPc(self.name + '-pub', self.aloop, audio=audio, video=video,
                                 keyframe_max_dist=self.keyframe_max_dist, fps=self.fps,
                                 video_codec=self.video_codec, tone=tone, wave=wave,
                                 flash_beep=flash_beep,
                                 video_pt=self.publish_pts.get('video'),
                                 audio_pt=self.publish_pts.get('audio'))
            self.pub.on_local_candidate = lambda m, c: self._local_candidate('publish', m, c)
            self.pub.start()
            await self.pub.wait_caps()
        offer = await self.pub.create_offer()
        await self.pub.set_local('offer', offer)
        if self.offer_munge is not None:
            offer = self.offer_munge(offer)
        self.publish_offer = offer
        fut = asyncio.ensure_future(self.rpc.request('webrtc.publish', {'sdp': offer}))
        await asyncio.sleep(0)      # the request goes out first,
        self._candidates_go('publish')  # then our early candidates trickle
        reply = await fut
        if 'error' in reply:
            if expect_error or allow_error:
                return reply['error']
            raise PcError('%s: webrtc.publish -> error %r' % (self.name, reply['error']))
        if expect_error:
            raise PcError('%s: webrtc.publish: expected an error, got %r'
                          % (self.name, reply['result']))
        answer = reply['result']['sdp']
        self.publish_answer = answer
        if self.remote_sdp_munge is not None:
            answer = self.remote_sdp_munge(answer)
        await self.pub.set_remote('answer', answer)
        self._remote_description_set('publish')
        return answer

    # -- subscribe ------------------------------------------------------------------

    async def subscribe(self, allow_error=False):
        """webrtc.subscribe; offers are answered in the background. With
        allow_error, an error reply is returned ({'error': ...}) instead of
        raised."""
        if self.sub is None:
            self.sub = SubscribePc(self.name + '-sub', self.aloop)
            self.sub.on_local_candidate = lambda m, c: self._local_candidate('subscribe', m, c)
            self.sub.on_decoded = self._on_decoded
            self.sub.start()
        reply = await self.rpc.request('webrtc.subscribe', {})
        if 'error' in reply:
            if allow_error:
                return {'error': reply['error']}
            raise PcError('%s: webrtc.subscribe -> error %r' % (self.name, reply['error']))
        return reply['result']

    async def _resubscribe(self):
        """The gateway closed our subscribe PC: a fresh one (protocol.md)."""
        async with self._offer_lock:
            old, self.sub = self.sub, None
            self._remote_ready['subscribe'] = False
            self._cand_ready['subscribe'] = False
            self._remote_queue['subscribe'] = []
            self._cand_queue['subscribe'] = []
            self.resubscribes += 1
            if old is not None:
                await self.aloop.run_in_executor(None, old.stop)
            await self.subscribe()

    def _on_decoded(self, mid, kind, t):
        tr = self.tracks.get(mid)
        pid = tr['participant_id'] if tr else None
        c = self.decoded_by.get((pid, kind))
        if c is None:
            c = self.decoded_by.setdefault((pid, kind), Counter('%s from %s %s'
                                                                % (self.name, pid, kind)))
        c.hit(t)

    async def _answer_offer(self, params):
        async with self._offer_lock:
            if params.get('pc') != 'subscribe':
                self.errors.append('webrtc.offer for pc %r' % params.get('pc'))
                return
            if self.sub is None:
                self.errors.append('webrtc.offer before webrtc.subscribe')
                return
            sdp = params['sdp']
            if self.remote_sdp_munge is not None:
                sdp = self.remote_sdp_munge(sdp)
            self.sub.note_remote_sdp(sdp)
            await self.sub.set_remote('offer', sdp)
            answer = await self.sub.create_answer()
            if self.setup:
                answer = set_setup(answer, self.setup)
            await self.sub.set_local('answer', answer)
            self._remote_description_set('subscribe')
            sent = answer
            if self.answer_munge:
                sent = self.answer_munge(sent)
            reply = await self.rpc.request('webrtc.answer', {'sdp': sent,
                                                             'revision': params.get('revision')})
            self.answers.append((now(), params.get('revision'), sent, reply))
            if 'error' in reply:
                self.errors.append('webrtc.answer rev %r -> %r'
                                   % (params.get('revision'), reply['error']))
            self._candidates_go('subscribe')

    # -- queries ---------------------------------------------------------------------

    def mids_of(self, participant_id, kind=None):
        return [mid for mid, tr in self.tracks.items()
                if tr['participant_id'] == participant_id and (kind is None or
                                                               tr['kind'] == kind)]

    def decoded_from(self, participant_id, kind):
        """Counter of decoded video frames / audio buffers from a participant."""
        key = (participant_id, kind)
        if key not in self.decoded_by:
            self.decoded_by[key] = Counter('%s from %s %s' % (self.name, participant_id, kind))
        return self.decoded_by[key]

    def rtp_from(self, participant_id, kind=None):
        """RtpPacket list from a participant (by the mids media.tracks gave)."""
        if self.sub is None:
            return []
        return self.sub.rtp_for_mids(self.mids_of(participant_id, kind))

    def rtp_all(self):
        return list(self.sub.rtp) if self.sub is not None else []

    def state_of(self, pc):
        for t, p, st, reason in reversed(self.states):
            if p == pc:
                return st, reason
        return None, None

    async def wait_state(self, pc, state, timeout=10.0):
        deadline = now() + timeout
        while now() < deadline:
            for t, p, st, reason in self.states:
                if p == pc and st == state:
                    return t, reason
            await asyncio.sleep(0.05)
        raise AssertionError('%s: no webrtc.state %s for pc %s within %.0f s; states: %r; '
                             'errors: %r' % (self.name, state, pc, timeout, self.states,
                                             self.all_errors()))

    async def wait_decoded(self, participant_id, kind, n=1, timeout=10.0, since=None):
        c = self.decoded_from(participant_id, kind)
        deadline = now() + timeout
        while now() < deadline:
            got = c.count if since is None else c.count_since(since)
            if got >= n:
                return c
            await asyncio.sleep(0.05)
        raise AssertionError(
            '%s: %d/%d %s decoded from %s within %.0f s (since %s); tracks %r; decoded %r; RTP '
            'packets received %d; states %r; webrtcbin %s/%s; errors %r'
            % (self.name, c.count if since is None else c.count_since(since), n, kind,
               participant_id, timeout, since, self.tracks,
               {'%s/%s' % k: v.count for k, v in self.decoded_by.items()},
               len(self.rtp_all()), self.states,
               self.sub.conn_states[-3:] if self.sub else None,
               self.pub.conn_states[-3:] if self.pub else None, self.all_errors()))

    def all_errors(self):
        out = list(self.errors)
        for pc in (self.pub, self.sub):
            if pc is not None:
                out += pc.errors
        return out

    def summary(self):
        return {'name': self.name, 'states': self.states,
                'tracks': self.tracks,
                'decoded': {'%s/%s' % k: v.count for k, v in self.decoded_by.items()},
                'rtp': len(self.rtp_all()),
                'sent': (self.pub.sent_video.count, self.pub.sent_audio.count)
                if self.pub else None,
                'offers': [p.get('revision') for _, p in self.offers],
                'errors': self.all_errors()}

    async def close(self):
        if self._closed:
            return
        self._closed = True
        self._pump.cancel()
        for task in list(self._tasks):
            task.cancel()
        for pc in (self.sub, self.pub):
            if pc is not None:
                try:
                    await asyncio.wait_for(self.aloop.run_in_executor(None, pc.stop), 10)
                except asyncio.TimeoutError:
                    self.errors.append('%s: pipeline did not stop within 10 s' % pc.name)


# --------------------------------------------------------------------------
# Self-test without the gateway
# --------------------------------------------------------------------------

async def _selftest(setup=None, codec='VP8'):
    """Publisher webrtcbin -> subscriber webrtcbin directly."""
    aloop = asyncio.get_running_loop()
    pub = PublishPc('st-pub', aloop, keyframe_max_dist=3000, video_codec=codec)
    sub = SubscribePc('st-sub', aloop)
    pub.on_local_candidate = lambda m, c: c is not None and sub.add_remote_candidate(m, c)
    sub.on_local_candidate = lambda m, c: c is not None and pub.add_remote_candidate(m, c)
    pub.start()
    sub.start()
    await pub.wait_caps()
    offer = await pub.create_offer()
    await pub.set_local('offer', offer)
    sub.note_remote_sdp(offer)
    await sub.set_remote('offer', offer)
    answer = await sub.create_answer()
    if setup:
        answer = set_setup(answer, setup)
    await sub.set_local('answer', answer)
    await pub.set_remote('answer', answer)
    print('offer:\n' + offer)
    print('answer:\n' + answer)
    t0 = now()
    await asyncio.sleep(5)
    print('sent video %d audio %d; kf %d' % (pub.sent_video.count, pub.sent_audio.count,
                                             pub.keyframes_sent.count))
    print('decoded', {m: c.count for m, c in sub.decoded.items()})
    print('rtp', len(sub.rtp), 'first', sub.rtp[:2], 'ssrc->mid', sub.ssrc_mid)
    print('kf starts', [p for p in sub.rtp if p.keyframe_start][:3])
    print('pub states', pub.conn_states, 'sub states', sub.conn_states)
    print('local cands', pub.local_candidates, sub.local_candidates)
    print('errors', pub.errors, sub.errors, 't', now() - t0)
    await aloop.run_in_executor(None, pub.stop)
    await aloop.run_in_executor(None, sub.stop)
    ok = all(c.count > 50 for c in sub.decoded.values()) and len(sub.decoded) == 2
    return ok


if __name__ == '__main__':
    miss = missing_elements()
    if miss:
        print('SKIP: missing GStreamer elements: %s' % ', '.join(miss))
        sys.exit(77)
    role = sys.argv[1] if len(sys.argv) > 1 and sys.argv[1] != '-' else None
    codec = sys.argv[2] if len(sys.argv) > 2 else 'VP8'
    sys.exit(0 if asyncio.run(_selftest(role, codec)) else 1)
