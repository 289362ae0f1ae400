"""webrtc.* signalling against the contract (PROTOCOL.md "Participants and
live control", DESIGN.md 3 "Negotiation"): publish offer -> answer
(a=setup:passive, BUNDLE, rtcp-mux), webrtc.subscribe result before its
webrtc.offer, media.tracks before the offer that carries them, revisions
(stale answer: 4009), screened tracks never in the SDP of those they are
screened from, mute never renegotiates, restart_ice re-offers with new ICE
credentials. No media flows here (the test client never completes ICE);
interop with real WebRTC stacks is another suite. While the methods are
not implemented (-32601) the tests are skipped."""

import asyncio
import hashlib
import os
import random
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import extmaps, pid_of  # noqa: E402


def fingerprint():
    return ':'.join('%02X' % random.randrange(256) for _ in range(32))


def ice():
    alnum = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789'
    return (''.join(random.choice(alnum) for _ in range(8)),
            ''.join(random.choice(alnum) for _ in range(24)))


EXT_MID = 'urn:ietf:params:rtp-hdrext:sdes:mid'
EXT_ABS_SEND_TIME = 'http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time'
EXT_AUDIO_LEVEL = 'urn:ietf:params:rtp-hdrext:ssrc-audio-level'
EXT_TRANSPORT_CC = 'http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01'
# Chromium's default ids
CHROME_EXTMAPS = [(1, EXT_AUDIO_LEVEL), (2, EXT_ABS_SEND_TIME), (3, EXT_TRANSPORT_CC),
                  (4, EXT_MID)]


def publish_offer(audio=True, video=True, ufrag=None, pwd=None, fp=None, chrome_extmaps=False):
    """A Chromium-like unified-plan offer: sendonly Opus and VP8, BUNDLE, rtcp-mux;
    with chrome_extmaps, Chromium's header extensions and transport-cc feedback."""
    if ufrag is None:
        ufrag, pwd = ice()
    fp = fp or fingerprint()
    mids = []
    body = []
    ssrc = random.randrange(1, 2 ** 31)
    if audio:
        mids.append('0')
        body += ['m=audio 9 UDP/TLS/RTP/SAVPF 111', 'c=IN IP4 0.0.0.0', 'a=rtcp:9 IN IP4 0.0.0.0',
                 'a=ice-ufrag:' + ufrag, 'a=ice-pwd:' + pwd, 'a=ice-options:trickle',
                 'a=fingerprint:sha-256 ' + fp, 'a=setup:actpass', 'a=mid:0',
                 'a=extmap:1 urn:ietf:params:rtp-hdrext:ssrc-audio-level',
                 *(['a=extmap:%d %s' % e for e in CHROME_EXTMAPS[1:]] if chrome_extmaps
                   else []),
                 'a=sendonly', 'a=msid:s1 a1', 'a=rtcp-mux', 'a=rtpmap:111 opus/48000/2',
                 'a=fmtp:111 minptime=10;useinbandfec=1',
                 'a=ssrc:%d cname:itcname' % ssrc, 'a=ssrc:%d msid:s1 a1' % ssrc]
    if video:
        mid = str(len(mids))
        mids.append(mid)
        body += ['m=video 9 UDP/TLS/RTP/SAVPF 96', 'c=IN IP4 0.0.0.0',
                 'a=rtcp:9 IN IP4 0.0.0.0', 'a=ice-ufrag:' + ufrag, 'a=ice-pwd:' + pwd,
                 'a=ice-options:trickle', 'a=fingerprint:sha-256 ' + fp, 'a=setup:actpass',
                 'a=mid:' + mid,
                 *(['a=extmap:%d %s' % e for e in CHROME_EXTMAPS[1:]] if chrome_extmaps
                   else []),
                 'a=sendonly', 'a=msid:s1 v1', 'a=rtcp-mux', 'a=rtcp-rsize',
                 'a=rtpmap:96 VP8/90000', 'a=rtcp-fb:96 nack', 'a=rtcp-fb:96 nack pli',
                 'a=rtcp-fb:96 ccm fir',
                 *(['a=rtcp-fb:96 transport-cc'] if chrome_extmaps else []),
                 'a=ssrc:%d cname:itcname' % (ssrc + 1), 'a=ssrc:%d msid:s1 v1' % (ssrc + 1)]
    # one client PeerConnection: one certificate and one o= session id
    sess = int(hashlib.sha256(fp.encode()).hexdigest()[:15], 16) + 1
    head = ['v=0', 'o=- %d 2 IN IP4 127.0.0.1' % sess, 's=-', 't=0 0',
            'a=group:BUNDLE ' + ' '.join(mids), 'a=msid-semantic: WMS s1']
    return '\r\n'.join(head + body) + '\r\n'


def mlines(sdp):
    """[(kind, mid, direction, lines)] for each m= section."""
    out = []
    cur = None
    for line in sdp.replace('\r\n', '\n').split('\n'):
        if line.startswith('m='):
            cur = {'kind': line[2:].split()[0], 'line': line, 'mid': None, 'dir': 'sendrecv',
                   'lines': []}
            out.append(cur)
        elif cur is not None:
            cur['lines'].append(line)
            if line.startswith('a=mid:'):
                cur['mid'] = line[6:]
            elif line in ('a=sendonly', 'a=recvonly', 'a=sendrecv', 'a=inactive'):
                cur['dir'] = line[2:]
    return out


def attr(sdp, name):
    m = re.search(r'(?m)^a=%s:(\S+)' % re.escape(name), sdp)
    return m.group(1) if m else None


# The client's ICE credentials per gateway ufrag: a client keeps its
# credentials while the gateway keeps its own (renegotiation on the same
# transport) and makes new ones when the gateway restarts ICE.
_CLIENT_CREDS = {}


def answer_for(offer, creds=None):
    """The client's answer to a subscribe offer: recvonly where the gateway
    sends, inactive elsewhere, a=setup:active; `creds` (ufrag, pwd), or the
    client's credentials for this transport (new ones after an ICE
    restart)."""
    ufrag, pwd = creds or _CLIENT_CREDS.setdefault(attr(offer, 'ice-ufrag'), ice())
    fp = fingerprint()
    ms = mlines(offer)
    head = ['v=0', 'o=- %d 2 IN IP4 127.0.0.1' % random.randrange(1, 2 ** 62), 's=-', 't=0 0']
    bundle = [m['mid'] for m in ms if m['mid'] is not None and not m['line'].split()[1] == '0']
    if bundle:
        head.append('a=group:BUNDLE ' + ' '.join(bundle))
    body = []
    for m in ms:
        parts = m['line'].split()
        port = '0' if parts[1] == '0' else '9'
        body.append(' '.join(['m=' + m['kind'], port] + parts[2:]))
        body += ['c=IN IP4 0.0.0.0', 'a=ice-ufrag:' + ufrag, 'a=ice-pwd:' + pwd,
                 'a=fingerprint:sha-256 ' + fp, 'a=setup:active']
        if m['mid'] is not None:
            body.append('a=mid:' + m['mid'])
        body.append('a=recvonly' if m['dir'] in ('sendonly', 'sendrecv') else 'a=inactive')
        body.append('a=rtcp-mux')
        body += [x for x in m['lines'] if x.startswith(('a=rtpmap:', 'a=fmtp:', 'a=rtcp-fb:'))]
    return '\r\n'.join(head + body) + '\r\n'


def renumber(sdp, mapping):
    """The offer with its payload types renumbered ({old: new}), as another
    client numbers its codecs."""
    def one(m):
        return str(mapping.get(int(m.group(0)), int(m.group(0))))
    out = []
    for line in sdp.split('\r\n'):
        if line.startswith('m='):
            head, fmts = line.split(' ', 3)[:3], line.split(' ', 3)[3]
            line = ' '.join(head) + ' ' + re.sub(r'\d+', one, fmts)
        elif re.match(r'a=(rtpmap|fmtp|rtcp-fb):\d+', line):
            line = re.sub(r'(?<=:)\d+', one, line, count=1)
        out.append(line)
    return '\r\n'.join(out)


def as_h264(sdp):
    """The offer with VP8 replaced by H.264 (packetization-mode 1, baseline)."""
    return re.sub(r'a=rtpmap:(\d+) VP8/90000',
                  lambda m: 'a=rtpmap:%s H264/90000\r\na=fmtp:%s level-asymmetry-allowed=1;'
                  'packetization-mode=1;profile-level-id=42e01f' % (m.group(1), m.group(1)), sdp)


def pt_meanings(sdp):
    """{pt: set of 'NAME fmtp'} over all m-lines (RTX with its apt)."""
    out = {}
    for m in mlines(sdp):
        names = {}
        fmtps = {}
        for line in m['lines']:
            r = re.match(r'a=rtpmap:(\d+) ([^/]+)', line)
            if r:
                names[int(r.group(1))] = r.group(2).upper()
            r = re.match(r'a=fmtp:(\d+) (.*)', line)
            if r:
                fmtps[int(r.group(1))] = r.group(2)
        for pt, name in names.items():
            out.setdefault(pt, set()).add('%s %s' % (name, fmtps.get(pt, '')))
    return out


def tracks_of(params):
    if isinstance(params.get('tracks'), list):
        return params['tracks']
    for v in params.values():
        if isinstance(v, list):
            return v
    return []


class WebrtcTest(harness.DaemonTestCase):

    async def skip_if_missing(self, rpc):
        reply = await rpc.request('webrtc.subscribe', {'hearing_id': 'hrg_' + 'z' * 26})
        if reply.get('error', {}).get('code') == -32601:
            self.skipTest('webrtc.* not implemented yet (-32601)')

    async def hearing(self, *specs):
        """An in-session hearing; clerk and judge in main; participants
        (name, role, special_measures) admitted to main."""
        w = self.world
        hid = w.new_hearing()
        for s in ('open', 'in_session'):
            self.assertEqual(w.set_state(hid, s).status, 200)
        clerk = await self.staff_ws('clerk', hid)
        await self.skip_if_missing(clerk)
        judge = await self.staff_ws('judge', hid)
        out = []
        for name, role, sm in specs:
            p = w.add_participant(hid, name, role, sm)
            rpc = await self.join_ws(p, name=role)
            await clerk.call('hearing.admit', {'participant_id': p['participant_id']})
            await rpc.wait_for('participant.admitted', lambda q: pid_of(q) == p['participant_id'])
            out.append((p, rpc))
        return hid, clerk, judge, out

    async def subscribe(self, rpc):
        """webrtc.subscribe; checks result-before-offer; answers; returns the offer."""
        await rpc.call('webrtc.subscribe', {})
        result_seq = rpc.last_reply_seq
        note = await rpc.wait_for('webrtc.offer', lambda q: q['pc'] == 'subscribe', full=True)
        self.assertGreater(note.seq, result_seq, 'webrtc.offer before the subscribe result')
        offer = note.params
        self.check_offer(offer)
        await rpc.call('webrtc.answer', {'sdp': answer_for(offer['sdp']),
                                         'revision': offer['revision']})
        return offer

    def check_offer(self, offer):
        self.assertIsInstance(offer.get('revision'), int, offer)
        sdp = offer['sdp']
        self.assertTrue(sdp.startswith('v=0\r\n'), sdp[:40])
        for m in mlines(sdp):
            self.assertIn(m['dir'], ('sendonly', 'inactive'), m['line'])
            self.assertIn('a=rtcp-mux', m['lines'])
            if m['line'].split()[1] != '0':
                self.assertIn('a=setup:actpass', m['lines'] + sdp.split('\r\n'))
        self.check_offer_extensions(sdp)
        if mlines(sdp):
            self.assertRegex(sdp, r'(?m)^a=group:BUNDLE ')
            self.assertRegex(sdp, r'(?m)^a=fingerprint:sha-256 ([0-9A-F]{2}:){31}[0-9A-F]{2}\r?$')
            self.assertIsNotNone(attr(sdp, 'ice-ufrag'))

    def check_offer_extensions(self, sdp):
        """DESIGN.md 3, header extensions per hop: every m-line of a subscribe
        offer offers mid and abs-send-time, audio ones audio-level too, under
        one-byte ids (1-14) distinct within the m-line and the same for the
        same URI across the BUNDLE group; transport-wide-cc (extension or
        feedback) never, as the gateway sends no transport-cc feedback."""
        self.assertNotIn('transport-wide-cc', sdp)
        self.assertNotIn('transport-cc', sdp)
        ids = {}
        for m in mlines(sdp):
            ext = extmaps(m['lines'])
            want = {EXT_MID, EXT_ABS_SEND_TIME}
            if m['kind'] == 'audio':
                want.add(EXT_AUDIO_LEVEL)
            self.assertEqual(set(ext), want, m['lines'])
            self.assertEqual(len(set(ext.values())), len(ext), m['lines'])
            for uri, i in ext.items():
                self.assertTrue(1 <= i <= 14, (uri, i))
                self.assertEqual(ids.setdefault(uri, i), i, 'extmap ids differ across BUNDLE')
        used = list(ids.values())
        self.assertEqual(len(set(used)), len(used), ids)

    async def next_offer_with_tracks(self, rpc, pred, timeout=harness.NOTE_TIMEOUT):
        """Waits for media.tracks matching pred(tracks), then the offer that
        carries them (which must come after); answers it."""
        mt = await rpc.wait_for('media.tracks', lambda q: pred(tracks_of(q)), timeout=timeout,
                                full=True)
        offer = await rpc.wait_for('webrtc.offer', lambda q: q['pc'] == 'subscribe', full=True,
                                   timeout=timeout)
        self.assertGreater(offer.seq, mt.seq, 'media.tracks must precede its offer')
        self.check_offer(offer.params)
        await rpc.call('webrtc.answer', {'sdp': answer_for(offer.params['sdp']),
                                         'revision': offer.params['revision']})
        return tracks_of(mt.params), offer.params

    # -----------------------------------------------------------------------------

    def metric(self, series):
        r = self.daemon.http('GET', '/metrics')
        m = re.search(rb'(?m)^' + re.escape(series.encode()) + rb' (\d+)$', r.raw)
        self.assertIsNotNone(m, '%s missing from /metrics' % series)
        return int(m.group(1))

    def media_peers(self):
        return self.metric('vej_media_peers')

    async def test_publish_answer(self):
        hid, clerk, judge, [(p, dfd)] = await self.hearing(('Dan Pub', 'defendant', None))
        ufrag, pwd = ice()
        fp = fingerprint()  # one certificate per client PeerConnection
        res = await dfd.call('webrtc.publish', {'sdp': publish_offer(ufrag=ufrag, pwd=pwd, fp=fp)})
        ans = res['sdp']
        self.assertTrue(ans.startswith('v=0\r\n'))
        ms = mlines(ans)
        self.assertEqual([m['mid'] for m in ms], ['0', '1'])
        self.assertEqual([m['kind'] for m in ms], ['audio', 'video'])
        for m in ms:
            self.assertIn(m['dir'], ('recvonly', 'inactive'), m['line'])
            self.assertIn('a=rtcp-mux', m['lines'])
        self.assertRegex(ans, r'(?m)^a=setup:passive\r?$')
        self.assertNotRegex(ans, r'(?m)^a=setup:(active|actpass)')
        self.assertRegex(ans, r'(?m)^a=group:BUNDLE 0 1\r?$')
        self.assertRegex(ans, r'(?i)a=rtpmap:111 opus/48000')
        self.assertRegex(ans, r'(?i)a=rtpmap:96 VP8/90000')
        self.assertNotEqual(attr(ans, 'ice-ufrag'), ufrag)
        # [media] ipv6 = false (the default) and addresses empty: IPv4 host
        # candidates only, never IPv6 (nor link-local)
        cands = re.findall(r'(?m)^a=candidate:\S+ \d+ \S+ \d+ (\S+) \d+ typ host', ans)
        self.assertTrue(cands, ans)
        self.assertEqual([c for c in cands if ':' in c], [], 'IPv6 candidates while ipv6 = false')
        # a later offer on the same connection renegotiates (same ICE)
        res2 = await dfd.call('webrtc.publish', {'sdp': publish_offer(ufrag=ufrag, pwd=pwd,
                                                                      fp=fp)})
        self.assertEqual(attr(res2['sdp'], 'ice-ufrag'), attr(ans, 'ice-ufrag'))
        # an offer with new ICE credentials restarts ICE
        peers = self.media_peers()
        res3 = await dfd.call('webrtc.publish', {'sdp': publish_offer(fp=fp)})
        self.assertNotEqual(attr(res3['sdp'], 'ice-ufrag'), attr(ans, 'ice-ufrag'))
        # another certificate is another PeerConnection on the client (after
        # a failure, say): the gateway replaces its publish PC (new ICE
        # credentials, the old PC closed: no more PCs than before)
        res4 = await dfd.call('webrtc.publish', {'sdp': publish_offer()})
        self.assertNotEqual(attr(res4['sdp'], 'ice-ufrag'), attr(res3['sdp'], 'ice-ufrag'))
        self.assertEqual(self.media_peers(), peers)
        # trickled candidates are never answered; end of candidates too
        await dfd.send_json({'jsonrpc': '2.0', 'method': 'webrtc.candidate', 'params': {
            'pc': 'publish', 'candidate': 'candidate:1 1 udp 2122260223 127.0.0.1 50000 typ host',
            'sdpMid': '0', 'sdpMLineIndex': 0}})
        await dfd.send_json({'jsonrpc': '2.0', 'method': 'webrtc.candidate',
                             'params': {'pc': 'publish', 'candidate': ''}})
        await dfd.send_json({'jsonrpc': '2.0', 'method': 'webrtc.candidate',
                             'params': {'pc': 'publish', 'candidate': None}})
        n = len(dfd.messages)
        await asyncio.sleep(0.5)
        self.assertFalse(any('"id"' in m for m in dfd.messages[n:]), dfd.messages[n:])

    async def test_header_extensions(self):
        """Header extensions are per hop (DESIGN.md 3). Publish: of Chromium's
        extensions the answer keeps mid (to map packets to tracks) and
        audio-level (passed through), not abs-send-time (the gateway
        estimates nothing from it) nor transport-wide-cc and transport-cc
        feedback (not implemented). Subscribe: the offer carrying the
        tracks has mid and abs-send-time on every m-line, audio-level on
        audio (check_offer_extensions)."""
        hid, clerk, judge, [(p, dfd)] = await self.hearing(('Ext Pub', 'defendant', None))
        await self.subscribe(judge)  # the first offer: an inactive placeholder
        res = await dfd.call('webrtc.publish', {'sdp': publish_offer(chrome_extmaps=True)})
        ans = res['sdp']
        ms = mlines(ans)
        self.assertEqual(extmaps(ms[0]['lines']), {EXT_MID: 4, EXT_AUDIO_LEVEL: 1})
        self.assertEqual(extmaps(ms[1]['lines']), {EXT_MID: 4})
        self.assertNotIn('transport-wide-cc', ans)
        self.assertNotIn('transport-cc', ans)
        self.assertNotIn('abs-send-time', ans)
        tracks, offer = await self.next_offer_with_tracks(
            judge, lambda ts: {t.get('participant_id') for t in ts} >= {p['participant_id']})
        kinds = sorted(m['kind'] for m in mlines(offer['sdp']) if m['dir'] == 'sendonly')
        self.assertEqual(kinds, ['audio', 'video'])
        audio = [m for m in mlines(offer['sdp']) if m['kind'] == 'audio'][0]
        self.assertIn(EXT_AUDIO_LEVEL, extmaps(audio['lines']))

    async def test_bad_offers(self):
        hid, clerk, judge, [(p, dfd)] = await self.hearing(('Bad Sdp', 'witness', None))
        good = publish_offer()
        bad = {
            'garbage': 'hello',
            'empty': '',
            'no bundle': good.replace('a=group:BUNDLE 0 1\r\n', ''),
            'no rtcp-mux': good.replace('a=rtcp-mux\r\n', ''),
            'no fingerprint': re.sub(r'a=fingerprint:[^\r]*\r\n', '', good),
            'no ice': re.sub(r'a=ice-(ufrag|pwd):[^\r]*\r\n', '', good),
            'an answer': good.replace('a=setup:actpass', 'a=setup:active'),
            'too many m-lines': good.replace('a=group:BUNDLE 0 1', 'a=group:BUNDLE ' + ' '.join(
                str(i) for i in range(200))) + ''.join(
                'm=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=mid:%d\r\na=sendonly\r\na=rtcp-mux\r\n'
                'a=rtpmap:111 opus/48000/2\r\n' % i for i in range(2, 200)),
        }
        mlines_hit = 'vej_media_limit_hit_total{limit="media_per_offer"}'
        for what, sdp in bad.items():
            with self.subTest(offer=what):
                before = self.metric(mlines_hit)
                await self.assertRpcError(dfd, 'webrtc.publish', {'sdp': sdp}, -32602, what)
                self.assertEqual(self.metric(mlines_hit) - before,
                                 1 if what == 'too many m-lines' else 0, what)
        for params in ({}, {'sdp': 5}, {'sdp': None}):
            await self.assertRpcError(dfd, 'webrtc.publish', params, -32602)
        await self.assertRpcError(dfd, 'webrtc.answer', {'sdp': 'v=0', 'revision': 'x'}, -32602)
        await self.assertRpcError(dfd, 'webrtc.restart_ice', {'pc': 'sideways'}, -32602)
        # still usable
        await dfd.call('webrtc.publish', {'sdp': good})

    async def test_unanswered_offer_sent_again(self):
        """A subscribe PC never sticks on an offer the client lost: the offer
        in flight is sent again, as a new revision carrying everything
        queued meanwhile, on webrtc.subscribe and on session.resume; the
        replaced revision's answer is stale (4009)."""
        hid, clerk, judge, [(p, dfd), (w, wit)] = await self.hearing(
            ('Dora Lost', 'defendant', None), ('Will Lost', 'witness', None))
        dpid = p['participant_id']
        await dfd.call('webrtc.publish', {'sdp': publish_offer()})
        await wit.call('webrtc.subscribe', {})
        first = await wit.wait_for('webrtc.offer', lambda q: q['pc'] == 'subscribe')
        # not answered (lost): webrtc.subscribe again sends it again
        await wit.call('webrtc.subscribe', {})
        result_seq = wit.last_reply_seq
        note = await wit.wait_for('webrtc.offer', lambda q: q['pc'] == 'subscribe', full=True)
        self.assertGreater(note.seq, result_seq, 'webrtc.offer before the subscribe result')
        second = note.params
        self.check_offer(second)
        self.assertGreater(second['revision'], first['revision'])
        self.assertEqual([m['mid'] for m in mlines(second['sdp'])],
                         [m['mid'] for m in mlines(first['sdp'])])
        await self.assertRpcError(wit, 'webrtc.answer', {
            'sdp': answer_for(first['sdp']), 'revision': first['revision']}, 4009)
        # a change while the second is in flight is queued behind it ...
        pros = self.world.add_participant(hid, 'Pat Pros', 'prosecution', None)
        prpc = await self.join_ws(pros, name='prosecution')
        await clerk.call('hearing.admit', {'participant_id': pros['participant_id']})
        await prpc.wait_for('participant.admitted')
        await prpc.call('webrtc.publish', {'sdp': publish_offer()})
        await wit.assert_no('webrtc.offer', 0.5)
        # ... the socket drops with the offer unanswered; the resumed
        # session gets a new revision with both publishers' tracks
        token = wit.hello['resume_token']
        wit.abort()
        await asyncio.sleep(0.2)
        wit2 = await self.ws('resumed')
        reply = await wit2.request('session.resume', {'resume_token': token})
        self.assertIn('result', reply, reply)
        tracks, third = await self.next_offer_with_tracks(
            wit2, lambda ts: {t.get('participant_id') for t in ts} >= {dpid,
                                                                      pros['participant_id']})
        self.assertGreater(third['revision'], second['revision'])
        await self.assertRpcError(wit2, 'webrtc.answer', {
            'sdp': answer_for(second['sdp']), 'revision': second['revision']}, 4009)
        # answered: a later resume sends nothing
        token = reply['result']['resume_token']
        wit2.abort()
        await asyncio.sleep(0.2)
        wit3 = await self.ws('resumed-again')
        reply = await wit3.request('session.resume', {'resume_token': token})
        self.assertIn('result', reply, reply)
        await wit3.assert_no('webrtc.offer', 1.0)

    async def test_pipelined_requests_answered_in_order(self):
        """webrtc.* requests sent back to back are answered in the order
        they were made, each result before the notifications it caused; a
        request whose socket went away meanwhile is dropped, and the
        participant's next socket is not answered for it."""
        hid, clerk, judge, [(p, dfd)] = await self.hearing(('Pip Line', 'defendant', None))
        await dfd.send_json({'jsonrpc': '2.0', 'id': 901, 'method': 'webrtc.publish',
                             'params': {'sdp': publish_offer()}})
        await dfd.send_json({'jsonrpc': '2.0', 'id': 902, 'method': 'webrtc.subscribe',
                             'params': {}})
        await dfd.send_json({'jsonrpc': '2.0', 'id': 903, 'method': 'webrtc.answer',
                             'params': {'sdp': 'v=0\r\n', 'revision': 12345}})
        await dfd.send_json({'jsonrpc': '2.0', 'id': 904, 'method': 'webrtc.publish',
                             'params': {'sdp': 'not an offer'}})
        loop = asyncio.get_running_loop()
        deadline = loop.time() + harness.RPC_TIMEOUT
        keys = ['901', '902', '903', '904']
        while not all(k in dfd.replies for k in keys) and loop.time() < deadline:
            await asyncio.sleep(0.05)
        got = [dfd.replies.get(k) for k in keys]
        self.assertTrue(all(got), got)
        seqs = [g[0] for g in got]
        self.assertEqual(seqs, sorted(seqs), 'replies out of order')
        self.assertIn('sdp', got[0][1]['result'])
        self.assertEqual(got[1][1]['result'], {})
        self.assertEqual(got[2][1]['error']['code'], 4009)
        self.assertEqual(got[3][1]['error']['code'], -32602)
        offer = await dfd.wait_for('webrtc.offer', lambda q: q['pc'] == 'subscribe', full=True)
        self.assertGreater(offer.seq, seqs[1], 'webrtc.offer before the subscribe result')
        # a socket that goes away with requests in the relay: nothing breaks,
        # and the resumed socket gets no answer to them
        token = dfd.hello['resume_token']
        await dfd.send_json({'jsonrpc': '2.0', 'id': 905, 'method': 'webrtc.publish',
                             'params': {'sdp': publish_offer()}})
        dfd.abort()
        dfd2 = await self.ws('resumed')
        reply = await dfd2.request('session.resume', {'resume_token': token})
        self.assertIn('result', reply, reply)
        await dfd2.call('webrtc.publish', {'sdp': publish_offer()})
        self.assertNotIn('905', dfd2.replies)

    async def test_subscribe_tracks_revisions(self):
        hid, clerk, judge, [(p, dfd)] = await self.hearing(('Dee Tracks', 'defendant', None))
        first = await self.subscribe(judge)
        # a stale revision is refused
        await self.assertRpcError(judge, 'webrtc.answer', {
            'sdp': answer_for(first['sdp']), 'revision': first['revision'] - 1}, 4009)
        await dfd.call('webrtc.publish', {'sdp': publish_offer()})
        pid = p['participant_id']
        tracks, offer = await self.next_offer_with_tracks(
            judge, lambda ts: {t.get('participant_id') for t in ts} >= {pid})
        self.assertGreater(offer['revision'], first['revision'])
        mine = [t for t in tracks if t['participant_id'] == pid]
        self.assertEqual(sorted(t['kind'] for t in mine), ['audio', 'video'])
        mids = {m['mid']: m for m in mlines(offer['sdp'])}
        for t in mine:
            self.assertIn(t['mid'], mids, 'track mid not in the offer')
            self.assertEqual(mids[t['mid']]['kind'], t['kind'])
            self.assertEqual(mids[t['mid']]['dir'], 'sendonly')
        # one publisher's audio and video under one msid stream and one
        # CNAME (browsers lip-sync them), neither of them its participant id
        streams, cnames = set(), set()
        for t in mine:
            lines = mids[t['mid']]['lines']
            msid = [x.split(':', 1)[1].split()[0] for x in lines if x.startswith('a=msid:')]
            self.assertEqual(len(msid), 1, lines)
            streams.add(msid[0])
            cnames |= {x.split('cname:', 1)[1] for x in lines
                       if x.startswith('a=ssrc:') and ' cname:' in x}
        self.assertEqual(len(streams), 1, streams)
        self.assertEqual(len(cnames), 1, cnames)
        self.assertNotIn(pid, streams | cnames)
        # the stale revision is refused now too
        await self.assertRpcError(judge, 'webrtc.answer', {
            'sdp': answer_for(offer['sdp']), 'revision': first['revision']}, 4009)

        # mute never renegotiates
        judge.drain()
        await clerk.call('hearing.mute', {'participant_id': pid, 'kind': 'video', 'muted': True})
        await judge.wait_for('participant.muted', lambda q: q['participant_id'] == pid)
        await judge.assert_no('webrtc.offer', 1.0)
        await judge.assert_no('media.tracks', 0.1)

        # ICE restart: a re-offer with new credentials, same fingerprint
        await judge.call('webrtc.restart_ice', {'pc': 'subscribe'})
        again = await judge.wait_for('webrtc.offer', lambda q: q['pc'] == 'subscribe')
        self.assertGreater(again['revision'], offer['revision'])
        self.assertNotEqual(attr(again['sdp'], 'ice-ufrag'), attr(offer['sdp'], 'ice-ufrag'))
        self.assertEqual(attr(again['sdp'], 'fingerprint'), attr(offer['sdp'], 'fingerprint'))
        creds = ice()
        await judge.call('webrtc.answer', {'sdp': answer_for(again['sdp'], creds),
                                           'revision': again['revision']})
        # the answer to an ICE restart must bring new credentials (RFC 8839):
        # one that keeps them is refused and the offer stays open
        await judge.call('webrtc.restart_ice', {'pc': 'subscribe'})
        again = await judge.wait_for('webrtc.offer', lambda q: q['pc'] == 'subscribe')
        await self.assertRpcError(judge, 'webrtc.answer', {
            'sdp': answer_for(again['sdp'], creds), 'revision': again['revision']}, -32602,
            'new ICE credentials')
        await judge.call('webrtc.answer', {'sdp': answer_for(again['sdp']),
                                           'revision': again['revision']})

        # moving the defendant to a consultation room takes its tracks away
        # from the judge (m-lines are never removed nor revived)
        n_before = len(mlines(again['sdp']))
        await clerk.call('hearing.move', {'participant_id': pid, 'place': 'consultation:c1'})
        tracks, offer2 = await self.next_offer_with_tracks(
            judge, lambda ts: pid not in {t.get('participant_id') for t in ts})
        self.assertGreaterEqual(len(mlines(offer2['sdp'])), n_before)
        for t in mine:
            m = {x['mid']: x for x in mlines(offer2['sdp'])}.get(t['mid'])
            if m is not None:
                self.assertEqual(m['dir'], 'inactive')
        # back in main: its tracks come on new m-lines, the old ones stay
        # inactive (stock clients cannot turn an m-line active again)
        judge.drain()
        await clerk.call('hearing.move', {'participant_id': pid, 'place': 'main'})
        tracks3, offer3 = await self.next_offer_with_tracks(
            judge, lambda ts: pid in {t.get('participant_id') for t in ts})
        back = {t['mid'] for t in tracks3 if t['participant_id'] == pid}
        self.assertEqual(len(back), 2, tracks3)
        self.assertFalse(back & {t['mid'] for t in mine}, (tracks3, mine))
        by_mid = {x['mid']: x for x in mlines(offer3['sdp'])}
        for t in mine:
            self.assertEqual(by_mid[t['mid']]['dir'], 'inactive', offer3['sdp'])
        for mid in back:
            self.assertEqual(by_mid[mid]['dir'], 'sendonly', offer3['sdp'])

    async def test_screened_video_never_offered(self):
        hid, clerk, judge, parties = await self.hearing(
            ('Dan Screened', 'defendant', None),
            ('Wes Screened', 'witness', {'screened_from': ['defendant'], 'audio_only': False,
                                         'anonymous': False}))
        (pd, dfd), (pw, wit) = parties
        await self.subscribe(dfd)
        await self.subscribe(judge)
        await wit.call('webrtc.publish', {'sdp': publish_offer()})
        wid = pw['participant_id']
        # the judge gets both of the witness's tracks
        tracks, _ = await self.next_offer_with_tracks(
            judge, lambda ts: {t['kind'] for t in ts if t.get('participant_id') == wid}
            == {'audio', 'video'})
        # the defendant gets its audio only, under the pseudonym
        tracks, offer = await self.next_offer_with_tracks(
            dfd, lambda ts: any(t['kind'] == 'audio' for t in ts))
        wit_tracks = [t for t in tracks if t.get('participant_id') != pd['participant_id']]
        self.assertEqual([t['kind'] for t in wit_tracks], ['audio'], tracks)
        self.assertTrue(wit_tracks[0]['participant_id'].startswith('anon_'), wit_tracks)
        self.assertEqual([m['kind'] for m in mlines(offer['sdp']) if m['dir'] == 'sendonly'],
                         ['audio'])
        self.assertNotIn(wid, dfd.text())
        self.assertNotIn('Wes Screened', dfd.text())
        self.assertNotIn('itcname', dfd.text(), "the publisher's CNAME leaked")
        await dfd.assert_no('media.tracks', 0.5,
                            lambda q: any(t['kind'] == 'video' for t in tracks_of(q)))

    async def test_hidden_publisher_opaque_per_receiver(self):
        """media.tracks names a publisher as the roster does for that receiver:
        role-only receivers get the roster's pseudonym; receivers it is hidden
        from get an id of their own (never the roster's, never another's)."""
        hid, clerk, judge, parties = await self.hearing(
            ('Dan One', 'defendant', None), ('Dee Two', 'defendant', None),
            ('Pam Pros', 'prosecution', None),
            ('Ann Hidden', 'witness', {'screened_from': ['defendant'], 'audio_only': False,
                                       'anonymous': True}))
        (p1, d1), (p2, d2), (pp, pros), (pw, wit) = parties
        wid = pw['participant_id']
        for rpc in (d1, d2, pros):
            await self.subscribe(rpc)
        await wit.call('webrtc.publish', {'sdp': publish_offer()})
        shown = {}
        for name, rpc in (('d1', d1), ('d2', d2), ('pros', pros)):
            own = {p1['participant_id'], p2['participant_id'], pp['participant_id']}
            tracks, _ = await self.next_offer_with_tracks(
                rpc, lambda ts: any(t.get('participant_id') not in own for t in ts))
            ids = {t['participant_id'] for t in tracks if t.get('participant_id') not in own}
            self.assertEqual(len(ids), 1, tracks)
            shown[name] = ids.pop()
            self.assertNotIn(wid, rpc.text(), name)
            self.assertNotIn('Ann Hidden', rpc.text(), name)
        roster = (await pros.call('hearing.join', {}))['participants']
        alias = [e['participant_id'] for e in roster if e['role'] == 'witness']
        self.assertEqual(alias, [shown['pros']], 'role-only: the roster pseudonym')
        for name in ('d1', 'd2'):
            self.assertTrue(shown[name].startswith('anon_'), shown)
            self.assertNotEqual(shown[name], shown['pros'], 'hidden: not the roster pseudonym')
        self.assertNotEqual(shown['d1'], shown['d2'], 'hidden: one id per receiver')

    async def test_payload_types_per_subscriber(self):
        """The gateway numbers codecs per subscribe PC: publishers that
        number theirs differently (here swapped: Opus 96 and VP8 111
        against Opus 111 and VP8 96) share the subscriber's BUNDLE group
        with one meaning per payload type; a publisher that renegotiates
        to another codec gets a new m-line with the subscriber's number for
        it (a re-offer), its old one inactive."""
        hid, clerk, judge, parties = await self.hearing(
            ('Dan Numbers', 'defendant', None), ('Wes Numbers', 'witness', None))
        (pd, dfd), (pw, wit) = parties
        await self.subscribe(judge)
        await dfd.call('webrtc.publish', {'sdp': publish_offer()})
        await self.next_offer_with_tracks(
            judge, lambda ts: any(t.get('participant_id') == pd['participant_id'] for t in ts))
        ufrag, pwd = ice()
        fp = fingerprint()
        swapped = renumber(publish_offer(ufrag=ufrag, pwd=pwd, fp=fp), {96: 111, 111: 96})
        self.assertIn('a=rtpmap:111 VP8/90000', swapped)
        await wit.call('webrtc.publish', {'sdp': swapped})
        both = {pd['participant_id'], pw['participant_id']}
        tracks, offer = await self.next_offer_with_tracks(
            judge, lambda ts: len([t for t in ts if t.get('participant_id') in both]) == 4)
        meanings = pt_meanings(offer['sdp'])
        self.assertEqual({pt: m for pt, m in meanings.items() if len(m) > 1}, {},
                         offer['sdp'])
        self.assertIn('VP8 ', meanings[96])
        self.assertIn('OPUS minptime=10;useinbandfec=1', meanings[111])
        wid = pw['participant_id']
        old_video = [t['mid'] for t in tracks if t['participant_id'] == wid and
                     t['kind'] == 'video']
        # the witness renegotiates its video to H.264 (same PeerConnection)
        judge.drain()
        h264 = renumber(as_h264(publish_offer(ufrag=ufrag, pwd=pwd, fp=fp)), {96: 111, 111: 96})
        await wit.call('webrtc.publish', {'sdp': h264})
        tracks2, offer2 = await self.next_offer_with_tracks(
            judge, lambda ts: any(t.get('participant_id') == wid and t['kind'] == 'video' and
                                  t['mid'] not in old_video for t in ts))
        by_mid = {m['mid']: m for m in mlines(offer2['sdp'])}
        self.assertEqual(by_mid[old_video[0]]['dir'], 'inactive', offer2['sdp'])
        new_video = [t['mid'] for t in tracks2 if t['participant_id'] == wid and
                     t['kind'] == 'video']
        self.assertEqual(len(new_video), 1, tracks2)
        lines = by_mid[new_video[0]]['lines']
        self.assertTrue(any(re.match(r'a=rtpmap:\d+ H264/90000', x) for x in lines), lines)
        meanings = pt_meanings(offer2['sdp'])
        self.assertEqual({pt: m for pt, m in meanings.items() if len(m) > 1}, {},
                         offer2['sdp'])

    async def test_one_offer_in_flight(self):
        """DESIGN.md 3: at most one offer in flight; changes made meanwhile
        are coalesced into the next one."""
        hid, clerk, judge, parties = await self.hearing(('Pub One', 'prosecution', None),
                                                        ('Pub Two', 'defence', None))
        await judge.call('webrtc.subscribe', {})
        first = await judge.wait_for('webrtc.offer', lambda q: q['pc'] == 'subscribe')
        for p, rpc in parties:
            await rpc.call('webrtc.publish', {'sdp': publish_offer()})
        # nothing new while the first offer is unanswered
        await judge.assert_no('webrtc.offer', 1.0)
        await judge.call('webrtc.answer', {'sdp': answer_for(first['sdp']),
                                           'revision': first['revision']})
        pids = {p['participant_id'] for p, _ in parties}

        def both(ts):
            return {(t.get('participant_id'), t['kind']) for t in ts} >= \
                {(pid, k) for pid in pids for k in ('audio', 'video')}
        tracks, offer = await self.next_offer_with_tracks(judge, both)
        self.assertEqual(offer['revision'], first['revision'] + 1, 'changes were coalesced')
        self.assertEqual(len([m for m in mlines(offer['sdp']) if m['dir'] == 'sendonly']), 4)
        await judge.assert_no('webrtc.offer', 1.0)

    async def test_audio_only_publishes_no_video(self):
        hid, clerk, judge, [(p, wit)] = await self.hearing(
            ('Ava Audio', 'witness', {'screened_from': [], 'audio_only': True,
                                      'anonymous': False}))
        await self.subscribe(judge)
        res = await wit.call('webrtc.publish', {'sdp': publish_offer()})
        pid = p['participant_id']
        # nobody is offered its video
        tracks, offer = await self.next_offer_with_tracks(
            judge, lambda ts: any(t.get('participant_id') == pid for t in ts))
        self.assertEqual([t['kind'] for t in tracks if t.get('participant_id') == pid],
                         ['audio'])
        # and it is told not to send any: the answer rejects the video m-line
        video = [m for m in mlines(res['sdp']) if m['kind'] == 'video']
        self.assertEqual(len(video), 1, 'the answer keeps every offered m-line')
        self.assertTrue(video[0]['line'].split()[1] == '0' or video[0]['dir'] == 'inactive',
                        'audio_only: the answer accepts video (%s, a=%s)'
                        % (video[0]['line'], video[0]['dir']))

    async def test_consultation_and_lobby_routing(self):
        """A consultation room is its own routing domain; the lobby receives
        nothing."""
        hid, clerk, judge, parties = await self.hearing(('Dora Def', 'defendant', None),
                                                        ('Dick Defence', 'defence', None))
        (pd, dfd), (pc, dfc) = parties
        w = self.world
        lob = w.add_participant(hid, 'Lou Lobby', 'observer')
        lobby = await self.join_ws(lob)
        self.assertEqual(lobby.joined['place'], 'lobby')
        for rpc in (dfc, judge, lobby):
            await self.subscribe(rpc)
        await dfd.call('webrtc.publish', {'sdp': publish_offer()})
        did = pd['participant_id']
        await self.next_offer_with_tracks(
            judge, lambda ts: any(t.get('participant_id') == did for t in ts))
        for key in (did, pc['participant_id']):
            await clerk.call('hearing.move', {'participant_id': key,
                                              'place': 'consultation:private1'})
        # the defence hears the defendant in the room; the judge does not
        tracks, offer = await self.next_offer_with_tracks(
            judge, lambda ts: did not in {t.get('participant_id') for t in ts})
        tracks = [t for t in tracks if t.get('participant_id') == did]
        self.assertEqual(tracks, [])
        self.assertEqual(len([m for m in mlines(offer['sdp']) if m['dir'] == 'sendonly']), 0)
        ts = await dfc.wait_for('media.tracks', lambda q: any(
            t.get('participant_id') == did for t in tracks_of(q)), timeout=6)
        self.assertEqual({t['kind'] for t in tracks_of(ts) if t['participant_id'] == did},
                         {'audio', 'video'})
        # the lobby never got a track
        for n in lobby.notes:
            if n.method == 'media.tracks':
                self.assertEqual(tracks_of(n.params), [], n)
        for n in lobby.notes:
            if n.method == 'webrtc.offer':
                self.assertEqual([m for m in mlines(n.params['sdp']) if m['dir'] == 'sendonly'],
                                 [])

    async def test_candidate_flood(self):
        """Remote candidates are bounded per PC (DESIGN.md 3); a flood of
        trickled candidates, mDNS ones and garbage, is never answered and
        harms nothing."""
        hid, clerk, judge, [(p, dfd)] = await self.hearing(('Fay Flood', 'defendant', None))
        await dfd.call('webrtc.publish', {'sdp': publish_offer()})
        n0 = len(dfd.messages)
        for i in range(300):
            cand = ('candidate:%d 1 udp 2122260223 10.%d.%d.1 %d typ host'
                    % (i, i // 250, i % 250, 40000 + i))
            if i % 3 == 1:
                cand = 'candidate:%d 1 udp 2122260223 %08x.local 5000 typ host' % (i, i)
            elif i % 3 == 2:
                cand = 'garbage %d' % i
            await dfd.send_json({'jsonrpc': '2.0', 'method': 'webrtc.candidate',
                                 'params': {'pc': 'publish', 'candidate': cand,
                                            'sdpMLineIndex': 0}})
        await asyncio.sleep(2.5)  # let the rate limiter refill
        self.assertFalse(any('"id"' in m for m in dfd.messages[n0:]), 'a candidate was answered')
        self.assertFalse(dfd.closed.is_set())
        res = await dfd.call('hearing.join', {})
        self.assertEqual(res['place'], 'main')
        self.assertEqual(self.daemon.http('GET', '/healthz').status, 200)
        # requests past [media] max_remote_candidates (64) are refused and
        # counted, one count each
        hit = 'vej_media_limit_hit_total{limit="remote_candidates"}'
        before = self.metric(hit)
        refused = 0
        for i in range(70):
            cand = 'candidate:%d 1 udp 2122260223 10.9.%d.1 %d typ host' % (1000 + i, i, 41000 + i)
            reply = await dfd.request('webrtc.candidate', {'pc': 'publish', 'candidate': cand,
                                                           'sdpMLineIndex': 0})
            if 'error' in reply:
                self.assertEqual(reply['error']['code'], -32602, reply)
                refused += 1
        self.assertGreater(refused, 0, '70 more candidates, none refused')
        self.assertEqual(self.metric(hit) - before, refused)

    async def test_resume_keeps_peer_connections(self):
        """DESIGN.md 4: reclaiming a dropped signalling session and restarting
        ICE are separate: after session.resume the publish PC is the same
        one (same gateway ICE credentials without a restart), and the
        subscriber's tracks are still there."""
        hid, clerk, judge, [(p, dfd)] = await self.hearing(('Rae Resume', 'defendant', None))
        await self.subscribe(judge)
        ufrag, pwd = ice()
        fp = fingerprint()
        res = await dfd.call('webrtc.publish', {'sdp': publish_offer(ufrag=ufrag, pwd=pwd,
                                                                     fp=fp)})
        gw_ufrag = attr(res['sdp'], 'ice-ufrag')
        pid = p['participant_id']
        await self.next_offer_with_tracks(
            judge, lambda ts: any(t.get('participant_id') == pid for t in ts))
        resume = dfd.hello['resume_token']
        dfd.abort()
        await asyncio.sleep(0.3)
        again = await self.ws('resumed')
        await again.call('session.resume', {'resume_token': resume})
        await again.call('hearing.join', {})
        # the judge was not told the tracks went away
        await judge.assert_no('media.tracks', 0.5, lambda q: pid not in {
            t.get('participant_id') for t in tracks_of(q)})
        res2 = await again.call('webrtc.publish', {'sdp': publish_offer(ufrag=ufrag, pwd=pwd,
                                                                        fp=fp)})
        self.assertEqual(attr(res2['sdp'], 'ice-ufrag'), gw_ufrag,
                         'the publish PC did not survive the signalling resume')
        # a renegotiation that keeps the tracks does not take them away either
        await judge.assert_no('media.tracks', 0.5, lambda q: pid not in {
            t.get('participant_id') for t in tracks_of(q)})

    async def test_removed_publisher_tracks_vanish(self):
        hid, clerk, judge, [(p, wit)] = await self.hearing(('Rob Removed', 'witness', None))
        await self.subscribe(judge)
        await wit.call('webrtc.publish', {'sdp': publish_offer()})
        pid = p['participant_id']
        await self.next_offer_with_tracks(
            judge, lambda ts: any(t.get('participant_id') == pid for t in ts))
        await clerk.call('hearing.remove', {'participant_id': pid})
        tracks, offer = await self.next_offer_with_tracks(
            judge, lambda ts: pid not in {t.get('participant_id') for t in ts})
        self.assertEqual([m for m in mlines(offer['sdp']) if m['dir'] == 'sendonly'], [])

    async def test_publish_before_session(self):
        """Publishing while the hearing is open is accepted (media flows only
        in session; whether tracks are negotiated early is the gateway's
        choice). Once in session the judge has the prosecution's tracks, each
        announced by media.tracks before the offer that carries it."""
        w = self.world
        hid = w.new_hearing()
        self.assertEqual(w.set_state(hid, 'open').status, 200)
        clerk = await self.staff_ws('clerk', hid)
        await self.skip_if_missing(clerk)
        judge = await self.staff_ws('judge', hid)
        p = w.add_participant(hid, 'Open Pub', 'prosecution')
        pro = await self.join_ws(p)
        await clerk.call('hearing.admit', {'participant_id': p['participant_id']})
        await self.subscribe(judge)
        await pro.call('webrtc.publish', {'sdp': publish_offer()})
        await clerk.call('hearing.set_state', {'state': 'in_session'})
        await judge.wait_for('hearing.state', lambda q: q['state'] == 'in_session')
        pid = p['participant_id']
        await self.next_offer_with_tracks(
            judge, lambda ts: {t['kind'] for t in ts if t.get('participant_id') == pid}
            == {'audio', 'video'})

    async def test_restart_while_offer_in_flight(self):
        """webrtc.restart_ice while a renegotiation offer is still open: the
        client answers that open offer on its unchanged transport (old ICE
        credentials: accepted), then the restart offer follows with new
        gateway credentials, and its answer must bring new ones."""
        hid, clerk, judge, [(p, dfd)] = await self.hearing(('Rex Race', 'defendant', None))
        await judge.call('webrtc.subscribe', {})
        first = await judge.wait_for('webrtc.offer', lambda q: q['pc'] == 'subscribe')
        creds = ice()
        await judge.call('webrtc.answer', {'sdp': answer_for(first['sdp'], creds),
                                           'revision': first['revision']})
        await dfd.call('webrtc.publish', {'sdp': publish_offer()})
        await judge.wait_for('media.tracks', lambda q: True)
        open_offer = await judge.wait_for('webrtc.offer', lambda q: q['pc'] == 'subscribe')
        # a network change on the client: restart ICE before answering
        await judge.call('webrtc.restart_ice', {'pc': 'subscribe'})
        await judge.call('webrtc.answer', {'sdp': answer_for(open_offer['sdp'], creds),
                                           'revision': open_offer['revision']})
        restart = await judge.wait_for('webrtc.offer', lambda q: q['pc'] == 'subscribe')
        self.assertGreater(restart['revision'], open_offer['revision'])
        self.assertNotEqual(attr(restart['sdp'], 'ice-ufrag'),
                            attr(open_offer['sdp'], 'ice-ufrag'))
        await self.assertRpcError(judge, 'webrtc.answer', {
            'sdp': answer_for(restart['sdp'], creds), 'revision': restart['revision']}, -32602)
        await judge.call('webrtc.answer', {'sdp': answer_for(restart['sdp']),
                                           'revision': restart['revision']})


if __name__ == '__main__':
    harness.main()
