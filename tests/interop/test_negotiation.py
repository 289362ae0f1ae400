"""Subscribe negotiation with a stock client: GStreamer 1.22's webrtcbin,
given the gateway's offers unchanged, receives media in every situation a
hearing produces (docs/protocol.md, webrtc.offer):

- subscribing before anyone publishes (the first offer's only m-line is
  an inactive placeholder);
- a track going away and coming back: a move to a consultation and back,
  screening switched on and off;
- a publisher leaving and another joining;
- a subscribe PC reaching [media] max_media_per_subscribe m-lines: the
  gateway reports it `closed` (reason mline_limit) and the client's new
  webrtc.subscribe gets a fresh PC that receives the same media.

In every offer sequence an m-line once inactive is never active again
(webrtcbin 1.22 does not implement transceiver direction changes).

Run: VEJ_GATEWAY=build/daemon/vej-gateway VEJCTL=build/tools/vejctl \
        /usr/bin/python3 tests/interop/test_negotiation.py
"""

import asyncio
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import media_harness  # noqa: E402
from media_harness import CONNECT_TIMEOUT, SETTLE, MediaTestCase, now  # noqa: E402
from webrtc_peer import sdp_sections  # noqa: E402


class NegotiationCase(MediaTestCase):

    def assert_never_revived(self, party):
        """No m-line of party's subscribe offers goes from inactive back
        to active, per PC (revisions of one PC; a fresh PC starts over at
        the first offer after a `closed`)."""
        closed_at = [t for t, pc, st, _ in party.peer.states if pc == 'subscribe' and
                     st == 'closed']
        inactive = {}
        for t, offer in party.peer.offers:
            epoch = sum(1 for c in closed_at if c < t)
            for sec in sdp_sections(offer['sdp']):
                key = (epoch, sec['mid'])
                if sec['dir'] == 'inactive':
                    inactive.setdefault(key, offer.get('revision'))
                elif key in inactive:
                    self.fail('%s: m-line %s inactive in revision %s, %s again in revision %s:'
                              '\n%s' % (party.name, sec['mid'], inactive[key], sec['dir'],
                                        offer.get('revision'), offer['sdp']))

    async def flowing_again(self, rx, tx, since, kinds=('video', 'audio'), n=10):
        """rx decodes n video frames and audio buffers of tx after `since`."""
        deadline = now() + CONNECT_TIMEOUT
        next_kick = now()
        while True:
            missing = [k for k in kinds
                       if rx.peer.decoded_from(tx.pid, k).count_since(since) < n]
            if not missing:
                return
            if now() > deadline:
                self.fail('%s decodes no %s from %s since %+.3f s\n%s\n%s' % (
                    rx.name, missing, tx.name, since - self.t_start, self.sender_report(tx),
                    self.describe(rx, tx)))
            if now() >= next_kick and tx.peer.pub is not None:
                tx.peer.pub.force_keyframe()
                next_kick = now() + 0.5
            await asyncio.sleep(0.05)


class NegotiationTest(NegotiationCase):

    async def test_subscribe_before_publish(self):
        h = await self.hearing([('Dan Early', 'defendant')])
        clerk, dfd = h['clerk'], h['Dan Early']
        await clerk.peer.subscribe()
        await clerk.peer.wait_state('subscribe', 'connecting', timeout=CONNECT_TIMEOUT)
        first = clerk.peer.offers[0][1]['sdp']
        self.assertEqual([s['dir'] for s in sdp_sections(first)], ['inactive'], first)
        t0 = now()
        await dfd.peer.publish()
        await self.flowing_again(clerk, dfd, t0)
        self.assert_never_revived(clerk)
        self.assertEqual(clerk.peer.all_errors(), [])

    async def test_consultation_and_back(self):
        h = await self.hearing([('Dan Back', 'defendant'), ('Dee Back', 'defence')])
        clerk, dfd = h['clerk'], h['Dan Back']
        await dfd.peer.publish()
        await clerk.peer.subscribe()
        await self.flowing_again(clerk, dfd, 0.0)
        mids_before = set(clerk.peer.mids_of(dfd.pid))
        for round_ in range(2):
            await self.move(h, dfd, 'consultation:defence1')
            await asyncio.sleep(SETTLE)
            t_back = now()
            await self.move(h, dfd, 'main')
            await self.flowing_again(clerk, dfd, t_back)
        self.assert_never_revived(clerk)
        # the returning tracks came on m-lines of their own
        self.assertEqual(len(set(clerk.peer.mids_of(dfd.pid)) - mids_before), 4,
                         clerk.peer.tracks)
        self.assertEqual(clerk.peer.all_errors(), [])

    async def test_screening_off_and_on(self):
        h = await self.hearing([('Dan Sees', 'defendant'), ('Wes Toggled', 'witness')])
        clerk, dfd, wit = h['clerk'], h['Dan Sees'], h['Wes Toggled']
        await wit.peer.publish()
        await dfd.peer.subscribe()
        await self.flowing_again(dfd, wit, 0.0)
        sm = {'screened_from': ['defendant'], 'audio_only': False, 'anonymous': False}
        await h.clerk_call('hearing.set_special_measures',
                           {'participant_id': wit.pid, 'special_measures': sm})
        await asyncio.sleep(SETTLE)
        t_off = now()
        await h.clerk_call('hearing.set_special_measures',
                           {'participant_id': wit.pid, 'special_measures': None})
        await self.flowing_again(dfd, wit, t_off, kinds=('video',))
        self.assert_never_revived(dfd)
        self.assertEqual(dfd.peer.all_errors(), [])

    async def test_publisher_leaves_another_joins(self):
        h = await self.hearing([('Dan Leaves', 'defendant'), ('Wes Arrives', 'witness')])
        clerk, dfd, wit = h['clerk'], h['Dan Leaves'], h['Wes Arrives']
        await dfd.peer.publish()
        await clerk.peer.subscribe()
        await self.flowing_again(clerk, dfd, 0.0)
        await dfd.rpc.call('hearing.leave', {})
        await dfd.peer.close()
        await asyncio.sleep(SETTLE)
        t_join = now()
        await wit.peer.publish()
        await self.flowing_again(clerk, wit, t_join)
        self.assert_never_revived(clerk)
        self.assertEqual(clerk.peer.all_errors(), [])

    async def test_colliding_payload_types(self):
        """Two publishers whose numbering collides (VP8 96 / Opus 111, and
        H.264 111 / Opus 96) reach one webrtcbin subscriber in one BUNDLE
        group: the gateway's offer gives each PT one meaning and the
        subscriber decodes all four streams."""
        kw = {'video_codec': 'H264', 'publish_pts': {'video': 111, 'audio': 96}}
        h = await self.hearing([('Dan Numbers', 'defendant'), ('Wes Numbers', 'witness')],
                               peer_kw={'Wes Numbers': kw})
        clerk, dfd, wit = h['clerk'], h['Dan Numbers'], h['Wes Numbers']
        await clerk.peer.subscribe()
        await dfd.peer.publish()
        await wit.peer.publish()
        self.assertRegex(wit.peer.publish_offer, r'a=rtpmap:111 H264/90000')
        self.assertRegex(wit.peer.publish_offer, r'a=rtpmap:96 OPUS/48000')
        await self.flowing_again(clerk, dfd, 0.0)
        await self.flowing_again(clerk, wit, 0.0)
        for _, offer in clerk.peer.offers:
            meanings = {}
            for sec in sdp_sections(offer['sdp']):
                for line in sec['lines']:
                    if line.startswith('a=rtpmap:'):
                        pt, name = line[9:].split(' ', 1)
                        meanings.setdefault(pt, set()).add(name.split('/')[0].upper())
            self.assertEqual({pt: n for pt, n in meanings.items() if len(n) > 1}, {},
                             offer['sdp'])
        self.assertEqual(clerk.peer.all_errors(), [])



class MlineLimitTest(NegotiationCase):
    overrides = {'media': {'addresses': '127.0.0.1', 'max_media_per_subscribe': 4}}

    async def test_fresh_pc_at_the_limit(self):
        h = await self.hearing([('Dan Limit', 'defendant'), ('Dee Limit', 'defence')])
        clerk, dfd = h['clerk'], h['Dan Limit']
        await clerk.peer.subscribe()      # m-line 1: the placeholder
        await dfd.peer.publish()          # 2 and 3
        await self.flowing_again(clerk, dfd, 0.0)
        await self.move(h, dfd, 'consultation:defence1')
        await asyncio.sleep(SETTLE)
        t_back = now()
        await self.move(h, dfd, 'main')   # two more: over 4, a fresh PC
        _, reason = await clerk.peer.wait_state('subscribe', 'closed', timeout=CONNECT_TIMEOUT)
        self.assertEqual(reason, 'mline_limit')
        await self.flowing_again(clerk, dfd, t_back)
        self.assertEqual(clerk.peer.resubscribes, 1)
        for _, offer in clerk.peer.offers:
            self.assertLessEqual(len(sdp_sections(offer['sdp'])), 4, offer['sdp'])
        self.assert_never_revived(clerk)
        self.assertEqual(clerk.peer.all_errors(), [])


if __name__ == '__main__':
    media_harness.main()
