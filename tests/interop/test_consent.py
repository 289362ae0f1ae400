"""Consent freshness (RFC 7675) against a frozen webrtcbin peer: on loss
the gateway stops sending, reports webrtc.state and alerts the clerk; a
peer that stops answering consent checks is sent nothing more.

A subscriber runs in a process of its own (peer_process.py) whose every
datagram passes through a UdpRelay in this process. Once it decodes a
publisher, the process is frozen with SIGSTOP: its ICE agent stops
answering the gateway's consent checks, its WebSocket stops reading.
Then, once consent expires (RFC 7675: at most 30 s after the last
answered check; libnice 0.1.21 gives up after 10 s, so about 4 to 10 s
after the freeze, its checks going every 4 to 6 s):

- the gateway stops sending it RTP and RTCP (the relay sees every
  datagram the gateway sends to the frozen peer's address; /metrics'
  forwarded-RTP rate halves);
- the clerk gets an `alert` {code: media_failed} about that participant,
  the daemon logs the failure, and the participant's own socket holds a
  `webrtc.state` {pc: subscribe, state: failed} that the thawed process
  reads (the gateway sends that report to the participant only);
- the other subscriber (the clerk) keeps decoding the publisher throughout.

After SIGCONT the gateway still sends nothing to the peer while it
reports its PC failed. Recovery by ICE restart is tested with Chromium
(chromium/, interop-chromium-ice-restart): webrtcbin 1.22 answers the
gateway's ICE-restart offer without restarting ICE.

Run: VEJ_GATEWAY=build/daemon/vej-gateway VEJCTL=build/tools/vejctl \
        /usr/bin/python3 tests/interop/test_consent.py
"""

import asyncio
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import media_harness  # noqa: E402
from media_harness import (CONNECT_TIMEOUT, MediaTestCase, PeerProcess, UdpRelay,  # noqa: E402
                           metrics, now, sleep_until)

# Consent expires some time after the last answered check: not before the
# next check has had time to go unanswered (libnice checks every 4-6 s),
# at most 30 s after (RFC 7675; libnice 0.1.21: 10 s).
CONSENT_MIN_AGE = 4.0
CONSENT_MAX_AGE = 30.0 + 1.0
AFTER = 3.0          # seconds watched after the loss (and after the thaw)
SLACK = 0.25         # a datagram already on its way when the alert arrived
FORWARDED = 'vej_media_rtp_forwarded_total'


class ConsentTest(MediaTestCase):

    async def asyncSetUp(self):
        await MediaTestCase.asyncSetUp(self)
        self.relay = await UdpRelay().start()
        self.child = None

    async def asyncTearDown(self):
        if self.child is not None:
            await self.child.close()
        self.relay.close()
        await MediaTestCase.asyncTearDown(self)

    async def test_frozen_subscriber_loses_consent(self):
        h = await self.hearing([('Pam Publisher', 'prosecution')])
        clerk, pam = h['clerk'], h['Pam Publisher']
        rec = self.world.add_participant(h.id, 'Fred Frozen', 'defence')
        fred = rec['participant_id']
        self.child = child = await PeerProcess.start(self.daemon, rec, 'Fred Frozen', self.relay)
        _, joined = await child.wait_event('joined')
        self.assertEqual(joined['participant_id'], fred)
        await clerk.rpc.call('hearing.admit', {'participant_id': fred})
        await pam.peer.publish()
        await clerk.peer.subscribe()
        sub = await child.command('subscribe')
        self.assertNotIn('error', sub['result'], sub)
        await self.wait_flowing([(clerk, pam)])
        # the frozen-to-be subscriber decodes the publisher, through the relay
        deadline = now() + CONNECT_TIMEOUT
        while True:
            rep = await child.command('report')
            if rep['decoded'].get('%s/video' % pam.pid, 0) >= 30:
                break
            self.assertLess(now(), deadline, 'the child peer decodes nothing: %r\nrelay: %r'
                            % (rep, self.relay.summary()))
            await asyncio.sleep(0.3)
        self.assertEqual(self.relay.errors, [])
        m0, t_m0 = metrics(self.daemon), now()
        await asyncio.sleep(2.0)
        m1, t_m1 = metrics(self.daemon), now()
        rate_before = (m1[FORWARDED] - m0[FORWARDED]) / (t_m1 - t_m0)

        # freeze it
        await child.command('touch')   # the WebSocket idle timer starts again
        t_freeze = now()
        child.freeze()
        try:
            note = await clerk.rpc.wait_for(
                'alert', lambda q: q.get('participant_id') == fred and
                q.get('code') == 'media_failed', timeout=CONSENT_MAX_AGE + 5)
        except AssertionError as e:
            raise AssertionError('%s\nno consent loss %.0f s after the freeze; datagrams to the '
                                 'frozen peer since: %r' % (e, now() - t_freeze,
                                                           self.relay.summary(since=t_freeze))
                                 ) from None
        t_alert = now()
        m2, t_m2 = metrics(self.daemon), now()
        await asyncio.sleep(AFTER)
        m3, t_m3 = metrics(self.daemon), now()
        rate_after = (m3[FORWARDED] - m2[FORWARDED]) / (t_m3 - t_m2)

        media = ('rtp', 'rtcp')
        to_peer = self.relay.seen('to_peer', media)
        last_media = max([t for t in to_peer if t < t_alert + SLACK], default=None)
        late = [t - t_alert for t in to_peer if t >= t_alert + SLACK]
        stun_after = self.relay.seen('to_peer', ('stun',), since=t_alert)
        # the last consent check the peer answered (a STUN success response
        # on its way to the gateway) before it froze
        answered = self.relay.seen('to_gateway', ('stun-response',), until=t_freeze)
        self.assertTrue(answered, 'no STUN response from the peer before the freeze: %r'
                        % self.relay.summary())
        age = t_alert - answered[-1]
        detection = t_alert - t_freeze
        print('frozen at %+.1f s; the clerk alerted %.1f s after the freeze, %.1f s after the '
              'last answered consent check (%r); last RTP/RTCP to the frozen peer %.2f s after '
              'the freeze, %.3f s before the alert; after the alert: %d RTP/RTCP, %d STUN; '
              'forwarded RTP %.0f/s before, %.0f/s after; relay since the freeze %r'
              % (t_freeze - self.t_start, detection, age, note, last_media - t_freeze,
                 t_alert - last_media, len(late), len(stun_after), rate_before, rate_after,
                 self.relay.summary(since=t_freeze)))
        # (a) sending stops when consent expires: not before, not long after
        self.assertGreaterEqual(age, CONSENT_MIN_AGE, 'failed %.1f s after the last answered '
                                'check: before consent could expire' % age)
        self.assertLessEqual(age, CONSENT_MAX_AGE, 'consent lost %.1f s after the last answered '
                             'check (RFC 7675: 30 s at most)' % age)
        self.assertEqual(late, [], 'RTP/RTCP sent to the frozen peer after consent was lost '
                         '(seconds after the alert)')
        self.assertGreater(last_media, t_alert - 1.0,
                           'the gateway stopped sending %.1f s before consent expired'
                           % (t_alert - last_media))
        self.assertLess(rate_after, 0.75 * rate_before,
                        '%s did not drop with one subscriber of two gone: %.0f/s -> %.0f/s'
                        % (FORWARDED, rate_before, rate_after))
        # (b) the report: the daemon's log, and (below) the participant's socket
        self.assertIn('participant %s subscribe PC failed' % fred, self.daemon.stderr_text())
        # (c) the clerk kept decoding the publisher, before and after the loss
        for t0, t1 in ((t_freeze, t_freeze + 5), (t_alert - 3, t_alert), (t_alert, now())):
            sent = pam.peer.pub.sent_video.count_between(t0, t1 - 0.3)
            got = clerk.peer.decoded_from(pam.pid, 'video').count_between(t0, t1)
            self.assertGreaterEqual(got, 0.8 * sent, 'the clerk decoded %d of %d frames from '
                                    'the publisher in [%+.1f, %+.1f] s' % (
                                        got, sent, t0 - t_freeze, t1 - t_freeze))

        # thawed: the state report was waiting on its socket; still no media
        t_thaw = now()
        child.thaw()
        deadline = now() + 5.0
        while True:   # it reads what its socket holds
            rep = await child.command('report', timeout=10)
            failed = [s for s in rep['states'] if s[0] == 'subscribe' and s[1] == 'failed']
            if failed or now() > deadline:
                break
            await asyncio.sleep(0.1)
        await sleep_until(t_thaw + AFTER)
        self.assertTrue(failed, 'no webrtc.state failed on the frozen participant\'s socket: %r'
                        % rep)
        self.assertIn('consent', failed[0][2])
        self.assertFalse(rep['socket_closed'], 'the frozen participant\'s socket was closed')
        # (the gateway, ICE-controlling here, does not renominate by itself:
        # only an ICE restart, or a 'connected' it would report, brings it back)
        rep = await child.command('report', timeout=10)
        back = rep['states'].index(failed[0]) < len(rep['states']) - 1 and \
            rep['states'][-1][1] == 'connected'
        if not back:
            self.assertEqual(self.relay.seen('to_peer', media, since=t_thaw), [],
                             'media sent to the thawed peer while its PC is failed: %r'
                             % rep['states'])
        print('thawed: the peer read %r; relay after the thaw %r'
              % (failed, self.relay.summary(since=t_thaw)))


if __name__ == '__main__':
    media_harness.main()
