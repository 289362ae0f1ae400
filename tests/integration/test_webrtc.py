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
import os
import random
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import pid_of  # noqa: E402


def fingerprint():
    return ':'.join('%02X' % random.randrange(256) for _ in range(32))


def ice():
    alnum = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789'
    return (''.join(random.choice(alnum) for _ in range(8)),
            ''.join(random.choice(alnum) for _ in range(24)))


def publish_offer(audio=True, video=True, ufrag=None, pwd=None, fp=None):
    """A Chromium-like unified-plan offer: sendonly Opus and VP8, BUNDLE, rtcp-mux."""
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
                 'a=sendonly', 'a=msid:s1 a1', 'a=rtcp-mux', 'a=rtpmap:111 opus/48000/2',
                 'a=fmtp:111 minptime=10;useinbandfec=1',
                 'a=ssrc:%d cname:itcname' % ssrc, 'a=ssrc:%d msid:s1 a1' % ssrc]
    if video:
        mid = str(len(mids))
        mids.append(mid)
        body += ['m=video 9 UDP/TLS/RTP/SAVPF 96', 'c=IN IP4 0.0.0.0',
                 'a=rtcp:9 IN IP4 0.0.0.0', 'a=ice-ufrag:' + ufrag, 'a=ice-pwd:' + pwd,
                 'a=ice-options:trickle', 'a=fingerprint:sha-256 ' + fp, 'a=setup:actpass',
                 'a=mid:' + mid, 'a=sendonly', 'a=msid:s1 v1', 'a=rtcp-mux', 'a=rtcp-rsize',
                 'a=rtpmap:96 VP8/90000', 'a=rtcp-fb:96 nack', 'a=rtcp-fb:96 nack pli',
                 'a=rtcp-fb:96 ccm fir',
                 'a=ssrc:%d cname:itcname' % (ssrc + 1), 'a=ssrc:%d msid:s1 v1' % (ssrc + 1)]
    head = ['v=0', 'o=- %d 2 IN IP4 127.0.0.1' % random.randrange(1, 2 ** 62), 's=-', 't=0 0',
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


def answer_for(offer):
    """The client's answer to a subscribe offer: recvonly where the gateway
    sends, inactive elsewhere, a=setup:active."""
    ufrag, pwd = ice()
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
        if mlines(sdp):
            self.assertRegex(sdp, r'(?m)^a=group:BUNDLE ')
            self.assertRegex(sdp, r'(?m)^a=fingerprint:sha-256 ([0-9A-F]{2}:){31}[0-9A-F]{2}\r?$')
            self.assertIsNotNone(attr(sdp, 'ice-ufrag'))

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

    async def test_publish_answer(self):
        hid, clerk, judge, [(p, dfd)] = await self.hearing(('Dan Pub', 'defendant', None))
        ufrag, pwd = ice()
        res = await dfd.call('webrtc.publish', {'sdp': publish_offer(ufrag=ufrag, pwd=pwd)})
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
        # a later offer on the same connection renegotiates (same ICE)
        res2 = await dfd.call('webrtc.publish', {'sdp': publish_offer(ufrag=ufrag, pwd=pwd)})
        self.assertEqual(attr(res2['sdp'], 'ice-ufrag'), attr(ans, 'ice-ufrag'))
        # an offer with new ICE credentials restarts ICE
        res3 = await dfd.call('webrtc.publish', {'sdp': publish_offer()})
        self.assertNotEqual(attr(res3['sdp'], 'ice-ufrag'), attr(ans, 'ice-ufrag'))
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
        for what, sdp in bad.items():
            with self.subTest(offer=what):
                await self.assertRpcError(dfd, 'webrtc.publish', {'sdp': sdp}, -32602, what)
        for params in ({}, {'sdp': 5}, {'sdp': None}):
            await self.assertRpcError(dfd, 'webrtc.publish', params, -32602)
        await self.assertRpcError(dfd, 'webrtc.answer', {'sdp': 'v=0', 'revision': 'x'}, -32602)
        await self.assertRpcError(dfd, 'webrtc.restart_ice', {'pc': 'sideways'}, -32602)
        # still usable
        await dfd.call('webrtc.publish', {'sdp': good})

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
        await judge.call('webrtc.answer', {'sdp': answer_for(again['sdp']),
                                           'revision': again['revision']})

        # moving the defendant to a consultation room takes its tracks away
        # from the judge (inactive m-lines are recycled, never removed)
        n_before = len(mlines(again['sdp']))
        await clerk.call('hearing.move', {'participant_id': pid, 'place': 'consultation:c1'})
        tracks, offer2 = await self.next_offer_with_tracks(
            judge, lambda ts: pid not in {t.get('participant_id') for t in ts})
        self.assertGreaterEqual(len(mlines(offer2['sdp'])), n_before)
        for t in mine:
            m = {x['mid']: x for x in mlines(offer2['sdp'])}.get(t['mid'])
            if m is not None:
                self.assertEqual(m['dir'], 'inactive')

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

    async def test_lobby_and_not_in_session(self):
        """Main-room media flows only in_session: nothing is offered in open."""
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
        reply = await pro.request('webrtc.publish', {'sdp': publish_offer()})
        if 'result' in reply:
            await judge.assert_no('media.tracks', 1.0, lambda q: any(
                t.get('participant_id') == p['participant_id'] for t in tracks_of(q)))
        else:
            self.assertEqual(reply['error']['code'], 4009, reply)


if __name__ == '__main__':
    harness.main()
