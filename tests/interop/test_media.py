"""Media interop with GStreamer's webrtcbin through the real signalling.

(a) two publishers and two subscribers in one in-session hearing: each
    subscriber decodes at least 90% of the video frames the others sent
    (counted at the sender before the encoder) and receives their audio,
    over 10 s;
(c) H.264 (openh264) between webrtcbin peers;
(d) the gateway as DTLS server (webrtcbin answers a=setup:active) and as
    DTLS client (the answer munged to a=setup:passive), on the subscribe
    PeerConnection; on the publish PeerConnection it always answers passive.

Header extensions per hop (DESIGN.md 3), read from the RTP webrtcbin
receives: none when the answer keeps none; the m-line's mid and
abs-send-time, and nothing else, when it keeps them.

Run: VEJ_GATEWAY=build/daemon/vej-gateway VEJCTL=build/tools/vejctl \
        /usr/bin/python3 tests/interop/test_media.py
"""

import asyncio
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import media_harness  # noqa: E402
from media_harness import MediaTestCase, now  # noqa: E402
import webrtc_peer  # noqa: E402
from harness import extmaps as extmap_ids  # noqa: E402
from webrtc_peer import sdp_sections  # noqa: E402

MEASURE = 10.0       # seconds of media measured in (a)
LATENCY = 0.15       # sender probe -> decoded (jitter buffer 100 ms + decode)
MIN_VIDEO = 0.90
MIN_AUDIO = 0.90
# the reason of webrtc.state connected: the SRTP profile (RFC 5764 or the
# libsrtp/RFC 4568 spelling)
SRTP_PROFILES = ('SRTP_AES128_CM_SHA1_80', 'SRTP_AEAD_AES_128_GCM', 'SRTP_AES128_CM_SHA1_32',
                 'SRTP_AEAD_AES_256_GCM', 'AES_CM_128_HMAC_SHA1_80', 'AEAD_AES_128_GCM',
                 'AES_CM_128_HMAC_SHA1_32', 'AEAD_AES_256_GCM')
WEBRTCBIN_PROFILES = ('SRTP_AES128_CM_SHA1_80', 'AES_CM_128_HMAC_SHA1_80')


def copy_extmaps(offer, answer):
    """The answer with the offer's a=extmap lines of each m-line added after
    its a=mid (webrtcbin 1.22 answers without any)."""
    by_mid = {sec['mid']: [ln for ln in sec['lines'] if ln.startswith('a=extmap:')]
              for sec in sdp_sections(offer)}
    out = []
    for line in answer.split('\r\n'):
        out.append(line)
        m = re.match(r'a=mid:(\S+)$', line)
        if m:
            out += by_mid.get(m.group(1), [])
    return '\r\n'.join(out)


EXT_MID = 'urn:ietf:params:rtp-hdrext:sdes:mid'
EXT_ABS_SEND_TIME = 'http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time'


class MediaFlowTest(MediaTestCase):

    def check_publish_answer(self, party):
        """PROTOCOL/DESIGN: recvonly, a=setup:passive, BUNDLE, rtcp-mux, the
        gateway's host candidates inline with a=end-of-candidates."""
        ans = party.peer.publish_answer
        secs = sdp_sections(ans)
        self.assertTrue(secs, ans)
        self.assertRegex(ans, r'(?m)^a=group:BUNDLE ')
        self.assertRegex(ans, r'(?m)^a=setup:passive\r?$')
        self.assertNotRegex(ans, r'(?m)^a=setup:(active|actpass)')
        for s in secs:
            if s['port'] != '0':
                self.assertIn(s['dir'], ('recvonly', 'inactive'), s['line'])
                self.assertIn('a=rtcp-mux', s['lines'])
        self.assertRegex(ans, r'(?m)^a=candidate:\S+ 1 (?i:udp) \d+ 127\.0\.0\.1 \d+ typ host')
        self.assertRegex(ans, r'(?m)^a=end-of-candidates')

    def check_subscribe_feedback(self, party):
        """Every sending video m-line of the subscribe offer has generic
        NACK and RTX: rtx/90000 with apt, an FID group, cname on both SSRCs
        (RFC 4588). Says what webrtcbin kept in its answer."""
        offer = party.peer.offers[-1][1]['sdp']
        answer = party.peer.answers[-1][2]
        video = [sec for sec in sdp_sections(offer)
                 if sec['line'].startswith('m=video') and sec['dir'] == 'sendonly']
        self.assertTrue(video, offer)
        for sec in video:
            text = '\n'.join(sec['lines'])
            pt, rtx = sec['line'].split()[3:5]
            self.assertIn('a=rtcp-fb:%s nack' % pt, sec['lines'], text)
            self.assertIn('a=rtpmap:%s rtx/90000' % rtx, sec['lines'], text)
            self.assertIn('a=fmtp:%s apt=%s' % (rtx, pt), sec['lines'], text)
            fid = re.search(r'(?m)^a=ssrc-group:FID (\d+) (\d+)', text)
            self.assertIsNotNone(fid, text)
            for ssrc in fid.groups():
                self.assertRegex(text, r'(?m)^a=ssrc:%s cname:\S+' % ssrc)
        kept = re.findall(r'(?m)^a=rtpmap:(\d+) rtx/90000', answer)
        print('%s: subscribe offer has nack + RTX on %d video m-line(s); webrtcbin\'s answer '
              'keeps RTX PTs %s, nack %s' % (party.name, len(video), kept or 'none',
                                            'yes' if re.search(r'(?m)^a=rtcp-fb:\d+ nack\r?$',
                                                               answer) else 'no'))

    async def test_two_publishers_two_subscribers(self):
        """(a) defendant and defence publish VP8+Opus; the clerk and the
        defendant subscribe; 10 s measured."""
        # the defence trickles its candidates as notifications (as browsers
        # do), the others as requests
        h = await self.hearing([('Dan Defendant', 'defendant'), ('Dee Defence', 'defence')],
                               peer_kw={'Dee Defence': {'candidates_as': 'notification'}})
        clerk, dfd, dfc = h['clerk'], h['Dan Defendant'], h['Dee Defence']
        await dfd.peer.publish()
        await dfc.peer.publish()
        self.check_publish_answer(dfd)
        self.check_publish_answer(dfc)
        await clerk.peer.subscribe()
        await dfd.peer.subscribe()
        pairs = [(clerk, dfd), (clerk, dfc), (dfd, dfc)]
        await self.wait_flowing(pairs)
        for p in (dfd, dfc):
            t, reason = await p.peer.wait_state('publish', 'connected', timeout=5)
            self.assertIn(reason, SRTP_PROFILES, 'publish connected: reason %r' % reason)
        for p in (clerk, dfd):
            t, reason = await p.peer.wait_state('subscribe', 'connected', timeout=5)
            self.assertIn(reason, SRTP_PROFILES, 'subscribe connected: reason %r' % reason)
        # each subscriber has the tracks of the others, and never its own
        own = [tr for tr in dfd.peer.tracks.values() if tr['participant_id'] == dfd.pid]
        self.assertEqual(own, [], 'the defendant is offered its own tracks')
        self.check_subscribe_feedback(clerk)
        t0 = now()
        await asyncio.sleep(MEASURE)
        t1 = now()
        await asyncio.sleep(LATENCY + 0.5)
        report = []
        failures = []
        for rx, tx in pairs:
            for kind, sent_c, floor in (('video', tx.peer.pub.sent_video, MIN_VIDEO),
                                        ('audio', tx.peer.pub.sent_audio, MIN_AUDIO)):
                sent = sent_c.count_between(t0, t1)
                got = rx.peer.decoded_from(tx.pid, kind).count_between(t0 + LATENCY,
                                                                      t1 + LATENCY)
                ratio = got / sent if sent else 0.0
                line = '%s <- %s %s: sent %d decoded %d (%.1f%%)' % (
                    rx.name, tx.name, kind, sent, got, 100 * ratio)
                report.append(line)
                if sent < (200 if kind == 'video' else 300):
                    failures.append(line + ': the sender produced too little (machine too '
                                    'slow?)')
                elif ratio < floor:
                    failures.append(line + ' < %d%%' % (100 * floor))
        print('\n'.join(report))
        self.assertFalse(failures, '\n'.join(failures) + '\n' + self.describe(clerk, dfd, dfc))
        for p in (clerk, dfd, dfc):
            errs = [e for e in p.peer.all_errors() if not e.startswith('webrtc.candidate')]
            self.assertEqual(errs, [], p.name)

    async def test_rejected_mline_answer(self):
        """An answer with a rejected m-line (port 0) is taken by webrtcbin
        1.22, which refuses one where any m-line lacks ICE credentials, a
        fingerprint or a=setup: the gateway writes them on rejected m-lines
        too (and the fingerprint at session level). The audio m-line of
        webrtcbin's offer is made unusable on the way (its codec renamed),
        so the gateway rejects it; video flows."""
        def no_opus(sdp):
            return re.sub(r'(?mi)^a=rtpmap:(\d+) opus/48000/2', r'a=rtpmap:\1 PCMU/8000', sdp)
        h = await self.hearing([('Rex Rejected', 'defendant')],
                               peer_kw={'Rex Rejected': {'offer_munge': no_opus}})
        clerk, rex = h['clerk'], h['Rex Rejected']
        await rex.peer.publish()   # raises if webrtcbin refuses the answer
        ans = rex.peer.publish_answer
        secs = sdp_sections(ans)
        self.assertEqual([(s['kind'], s['port'] == '0') for s in secs],
                         [('video', False), ('audio', True)], ans)
        for attr in ('ice-ufrag', 'ice-pwd', 'fingerprint', 'setup'):
            self.assertTrue(any(ln.startswith('a=%s:' % attr) for ln in secs[1]['lines']),
                            'rejected m-line without a=%s:\n%s' % (attr, ans))
        self.assertRegex(ans.split('\r\nm=')[0], r'(?m)^a=fingerprint:sha-256 ', ans)
        await rex.peer.wait_state('publish', 'connected', timeout=10)
        await clerk.peer.subscribe()
        await clerk.peer.wait_decoded(rex.pid, 'video', n=30, timeout=10)
        self.assertEqual(clerk.peer.mids_of(rex.pid, 'audio'), [])
        errs = [e for e in rex.peer.all_errors() if not e.startswith('webrtc.candidate')]
        self.assertEqual(errs, [], rex.name)

    async def test_new_publish_pc_replaces_the_old(self):
        """A client whose publish PeerConnection died makes a new one (a new
        certificate, new ICE credentials) and publishes again on the same
        session: the gateway replaces its publish PC (a new DTLS
        association, not an ICE restart of the old one) and the subscriber
        decodes the new PC's video."""
        h = await self.hearing([('Ray Replace', 'defendant')])
        clerk, ray = h['clerk'], h['Ray Replace']
        await ray.peer.publish()
        await clerk.peer.subscribe()
        await self.wait_flowing([(clerk, ray)])
        old = ray.peer.pub
        await asyncio.get_running_loop().run_in_executor(None, old.stop)
        ray.peer.pub = None
        t = now()
        await ray.peer.publish()
        self.assertIsNot(ray.peer.pub, old)
        deadline = t + media_harness.CONNECT_TIMEOUT
        while now() < deadline:
            if clerk.peer.decoded_from(ray.pid, 'video').count_since(t) >= 10:
                break
            await asyncio.sleep(0.1)
        got = clerk.peer.decoded_from(ray.pid, 'video').count_since(t)
        self.assertGreaterEqual(got, 10, 'no video from the new publish PC\n'
                                + self.describe(clerk, ray))
        states = [x for x in ray.peer.states if x[1] == 'publish']
        print('new publish PC: %d frames decoded within %.1f s; publish states %r'
              % (got, now() - t, [x[2] for x in states]))
        self.assertEqual([x[2] for x in states][-2:], ['connecting', 'connected'])
        self.assertGreaterEqual(len(states), 4, 'the new PC made its own connection')

    async def test_trickled_candidates_accepted(self):
        """webrtcbin's trickled candidates (webrtc.candidate requests, as
        PROTOCOL.md writes them: "candidate:...", sdpMid, sdpMLineIndex) are
        accepted on both PeerConnections, and candidates ended with ""."""
        h = await self.hearing([('Tia Trickle', 'defendant')])
        clerk, tia = h['clerk'], h['Tia Trickle']
        await tia.peer.publish()
        await clerk.peer.subscribe()
        await self.wait_flowing([(clerk, tia)])
        await asyncio.sleep(0.5)
        for p, pc in ((tia, 'publish'), (clerk, 'subscribe')):
            sent = [c for _, c in p.peer.sent_candidates[pc]]
            self.assertTrue(any(c['candidate'] for c in sent), '%s sent no %s candidate'
                            % (p.name, pc))
        errs = [e for p in (clerk, tia) for e in p.peer.all_errors()
                if e.startswith('webrtc.candidate')]
        self.assertEqual(errs, [], 'trickled candidates refused:\n' + '\n'.join(errs))

    async def test_h264(self):
        """(c) H.264 (openh264, packetization-mode=1, constrained baseline)
        from a webrtcbin publisher to a webrtcbin subscriber through the
        gateway, when both offer it."""
        if webrtc_peer.Gst.ElementFactory.find('openh264enc') is None or \
                webrtc_peer.Gst.ElementFactory.find('openh264dec') is None:
            self.skipTest('openh264 (gstreamer1.0-plugins-bad) not installed')
        h = await self.hearing([('Hal H264', 'defendant')],
                               peer_kw={'Hal H264': {'video_codec': 'H264'}})
        clerk, hal = h['clerk'], h['Hal H264']
        await hal.peer.publish()
        self.check_publish_answer(hal)
        self.assertRegex(hal.peer.publish_answer, r'(?mi)^a=rtpmap:\d+ H264/90000')
        await clerk.peer.subscribe()
        await self.wait_flowing([(clerk, hal)])
        offer = clerk.peer.offers[-1][1]['sdp']
        video = [sec for sec in sdp_sections(offer) if sec['kind'] == 'video']
        self.assertTrue(video and any(re.match(r'(?i)a=rtpmap:\d+ H264/90000', ln)
                                      for ln in video[0]['lines']), offer)
        self.assertTrue(any('packetization-mode=1' in ln for ln in video[0]['lines']), offer)
        t0 = now()
        await asyncio.sleep(4.0)
        t1 = now()
        await asyncio.sleep(LATENCY + 0.5)
        sent = hal.peer.pub.sent_video.count_between(t0, t1)
        got = clerk.peer.decoded_from(hal.pid, 'video').count_between(t0 + LATENCY, t1 + LATENCY)
        print('H.264: sent %d decoded %d' % (sent, got))
        self.assertGreaterEqual(got, MIN_VIDEO * sent, 'H.264: sent %d decoded %d\n%s'
                                % (sent, got, self.describe(clerk, hal)))

    async def test_header_extensions_per_hop(self):
        """Header extensions are per hop. The clerk's webrtcbin answers the
        subscribe offer without a=extmap (as webrtcbin 1.22 does): its RTP
        carries no extension block at all. The second subscriber's answer
        is given the offer's extmaps on its way to the gateway (webrtcbin
        ignores extensions it did not negotiate): each of its packets then
        carries exactly the m-line's mid and a 3-byte abs-send-time under
        the offered ids, the time advancing with the arrival times; the
        mid is that of the m-line whose SSRC the packet has."""
        seen = {}

        def keep_offer(text):
            if text.startswith('v=0'):
                seen['offer'] = text
            return text

        def with_extmaps(answer):
            return copy_extmaps(seen['offer'], answer)

        h = await self.hearing(
            [('Pia Publisher', 'defendant'), ('Eli Extensions', 'defence')],
            peer_kw={'Eli Extensions': {'remote_sdp_munge': keep_offer,
                                        'answer_munge': with_extmaps}})
        clerk, pub, eli = h['clerk'], h['Pia Publisher'], h['Eli Extensions']
        await pub.peer.publish()
        await clerk.peer.subscribe()
        await eli.peer.subscribe()
        await self.wait_flowing([(clerk, pub), (eli, pub)])
        await asyncio.sleep(2.0)

        plain = clerk.peer.rtp_from(pub.pid)
        self.assertGreater(len(plain), 100)
        with_block = [p for p in plain if p.ext != {}]
        self.assertEqual(with_block[:3], [], 'an answer without extmaps got extensions: %s'
                         % [p.ext for p in with_block[:3]])

        offer = eli.peer.offers[-1][1]['sdp']
        sent = eli.peer.answers[-1][2]
        ids = {sec['mid']: extmap_ids(sec['lines']) for sec in sdp_sections(offer)}
        self.assertIn(EXT_MID, extmap_ids(sdp_sections(sent)[0]['lines']), sent)
        got = eli.peer.rtp_from(pub.pid)
        self.assertGreater(len(got), 100)
        by_ssrc = {}
        problems = []
        for p in got:
            mid = p.mid or eli.peer.sub.ssrc_mid.get(p.ssrc)
            want = ids.get(mid, {})
            mid_id, ast_id = want.get(EXT_MID), want.get(EXT_ABS_SEND_TIME)
            if p.ext is None or mid_id is None or ast_id is None:
                problems.append('%r: block %r, offered ids %r' % (p, p.ext, want))
            elif set(p.ext) != {mid_id, ast_id} or p.ext[mid_id] != mid.encode() or \
                    len(p.ext[ast_id]) != 3:
                problems.append('%r (mid %s): elements %r, want mid id %d, abs-send-time id %d'
                                % (p, mid, p.ext, mid_id, ast_id))
            else:
                by_ssrc.setdefault(p.ssrc, []).append(
                    (p.t, int.from_bytes(p.ext[ast_id], 'big')))
        self.assertEqual(problems[:5], [], '%d of %d packets wrong' % (len(problems), len(got)))
        # abs-send-time: 6.18 fixed-point seconds, wrapping at 64 s; per
        # stream it never goes back and spans what the arrivals span
        for ssrc, times in by_ssrc.items():
            back = [(a, b) for a, b in zip(times, times[1:])
                    if (b[1] - a[1]) % (1 << 24) >= 1 << 23]
            self.assertEqual(back[:3], [], 'abs-send-time went back on ssrc %d' % ssrc)
            span_ast = sum((b[1] - a[1]) % (1 << 24) for a, b in zip(times, times[1:])) / 2 ** 18
            span_rx = times[-1][0] - times[0][0]
            print('ssrc %d: %d packets, abs-send-time spans %.3f s, arrivals %.3f s'
                  % (ssrc, len(times), span_ast, span_rx))
            self.assertLess(abs(span_ast - span_rx), 0.1 + 0.02 * span_rx)
        kinds = {eli.peer.sub.ssrc_mid.get(ssrc) for ssrc in by_ssrc}
        self.assertEqual(len(kinds), 2, 'audio and video both checked: %r' % kinds)

    async def _dtls_role(self, setup, expect_answer_setup):
        h = await self.hearing([('Dan Dtls', 'defendant')],
                               peer_kw={'Dan Dtls': {'setup': setup}})
        clerk, dfd = h['clerk'], h['Dan Dtls']
        await clerk.peer.publish()
        self.check_publish_answer(clerk)
        await dfd.peer.subscribe()
        await dfd.peer.wait_decoded(clerk.pid, 'video', n=30, timeout=media_harness.CONNECT_TIMEOUT)
        await dfd.peer.wait_decoded(clerk.pid, 'audio', n=30, timeout=5)
        t, reason = await dfd.peer.wait_state('subscribe', 'connected', timeout=5)
        # webrtcbin 1.22 offers AES-CM only
        self.assertIn(reason, WEBRTCBIN_PROFILES)
        offer = dfd.peer.offers[0][1]['sdp']
        self.assertRegex(offer, r'(?m)^a=setup:actpass\r?$', 'the subscribe offer')
        sent = dfd.peer.answers[0][2]
        self.assertRegex(sent, r'(?m)^a=setup:%s\r?$' % expect_answer_setup)
        # webrtcbin agrees it is connected
        self.assertIn('connected', [s for _, s in dfd.peer.sub.conn_states])
        return reason

    async def test_gateway_dtls_server(self):
        """(d) webrtcbin answers a=setup:active: the gateway is the DTLS server."""
        reason = await self._dtls_role(None, 'active')
        print('gateway as DTLS server: %s' % reason)

    async def test_gateway_dtls_client(self):
        """(d) the answer munged to a=setup:passive: the gateway is the DTLS client."""
        reason = await self._dtls_role('passive', 'passive')
        print('gateway as DTLS client: %s' % reason)


if __name__ == '__main__':
    media_harness.main()
