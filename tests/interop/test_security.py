"""Security of the media plane against webrtcbin (issue 3, item 6):

- a DTLS fingerprint in the SDP that does not match the certificate the
  peer presents: no media, webrtc.state failed (subscribe PC with the
  gateway as DTLS server and as DTLS client; publish PC);
- offers (made by webrtcbin, then damaged) without a fingerprint, without
  ICE credentials, without BUNDLE, with only unsupported codecs, with a
  huge attribute, with 1,000 m-lines: JSON-RPC -32602, and nothing is
  created (no PeerConnection in /metrics, no webrtc.* notification); the
  same socket then publishes normally;
- random datagrams to the gateway's media port during a call: no crash,
  counted, media keeps flowing;
- from the publisher's own validated address (through a UdpRelay, so
  without a raw socket): SRTP and SRTCP packets whose authentication tag
  was damaged, truncated RTP and RTCP, RTCP whose lengths lie, packets
  that are neither, STUN without valid credentials: each authentication
  failure counted in vej_media_dropped_total{reason="srtp"}, every crafted
  datagram counted, no crash, media keeps flowing.

- a DTLS client that presents no certificate (OpenSSL through pyOpenSSL,
  over a minimal ICE agent: bare_peer.py) on the publish PC: failed
  (no_certificate), counted, the clerk alerted; the same client with a
  certificate connects (the control).

Run: VEJ_GATEWAY=build/daemon/vej-gateway VEJCTL=build/tools/vejctl \
        /usr/bin/python3 tests/interop/test_security.py
"""

import asyncio
import os
import re
import socket
import struct
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import media_harness  # noqa: E402
from media_harness import (CONNECT_TIMEOUT, MediaTestCase, UdpRelay, datagram_kind,  # noqa: E402
                           metrics, now)
from webrtc_peer import PublishPc, alter_fingerprint, sdp_sections  # noqa: E402
import bare_peer  # noqa: E402
from bare_peer import BarePublisher  # noqa: E402

FAIL_WITHIN = 20.0   # DTLS abandoned after 15 s at worst (DESIGN 3)


class SecurityTest(MediaTestCase):

    async def _bad_fingerprint_subscribe(self, setup):
        h = await self.hearing([('Dan Forged', 'defendant')],
                               peer_kw={'Dan Forged': {'setup': setup,
                                                       'answer_munge': alter_fingerprint}})
        clerk, dfd = h['clerk'], h['Dan Forged']
        m0 = metrics(self.daemon)
        await clerk.peer.publish()
        await clerk.peer.wait_state('publish', 'connected', timeout=CONNECT_TIMEOUT)
        await dfd.peer.subscribe()
        t, reason = await dfd.peer.wait_state('subscribe', 'failed', timeout=FAIL_WITHIN)
        await asyncio.sleep(1.0)
        self.assertNotIn('connected', [st for _, pc, st, _ in dfd.peer.states
                                       if pc == 'subscribe'],
                         'connected with a forged fingerprint: %r' % dfd.peer.states)
        self.assertEqual(dfd.peer.rtp_all(), [], 'RTP reached a peer whose fingerprint is wrong')
        self.assertEqual(sum(c.count for c in dfd.peer.decoded_by.values()), 0)
        m1 = metrics(self.daemon)
        print('setup %s, forged fingerprint: failed after %.1f s (%s); dtls failures %s -> %s'
              % (setup or 'active', t - self.t_start, reason,
                 m0.get('vej_media_dtls_failures_total'), m1.get('vej_media_dtls_failures_total')))
        if 'vej_media_dtls_failures_total' in m1:
            self.assertGreater(m1['vej_media_dtls_failures_total'],
                               m0.get('vej_media_dtls_failures_total', 0))
        # the clerk hears about it
        await clerk.rpc.wait_for('alert', lambda q: q.get('participant_id') == dfd.pid,
                                 timeout=5)

    async def test_forged_fingerprint_gateway_server(self):
        await self._bad_fingerprint_subscribe(None)

    async def test_forged_fingerprint_gateway_client(self):
        await self._bad_fingerprint_subscribe('passive')

    async def test_forged_fingerprint_publish(self):
        h = await self.hearing([('Dan Forger', 'defendant')],
                               peer_kw={'Dan Forger': {'offer_munge': alter_fingerprint}})
        clerk, dfd = h['clerk'], h['Dan Forger']
        await clerk.peer.subscribe()
        await dfd.peer.publish()
        await dfd.peer.wait_state('publish', 'failed', timeout=FAIL_WITHIN)
        await asyncio.sleep(1.0)
        self.assertNotIn('connected', [st for _, pc, st, _ in dfd.peer.states if pc == 'publish'])
        self.assertEqual(self.received_rtp(clerk, dfd, 0), [],
                         'media of a publisher with a forged fingerprint was forwarded')

    async def test_dtls_client_without_certificate(self):
        """A DTLS client (OpenSSL, bare_peer.py) that presents no certificate
        on the publish PC: the gateway, DTLS server, refuses the handshake
        (webrtc.state failed, reason no_certificate), counts it and alerts
        the clerk. The control: the same peer with a certificate (and its
        fingerprint in the offer) connects."""
        if BarePublisher is None or bare_peer.SSL is None:
            self.skipTest('python3-openssl is not installed')
        h = await self.hearing([('Cora Cert', 'defence'), ('Nora NoCert', 'defendant')])
        clerk = h['clerk']
        template = await self._offer_text()
        results = {}
        for name, certificate in (('Cora Cert', True), ('Nora NoCert', False)):
            party = h[name]
            peer = await BarePublisher(certificate=certificate).start()
            self.addCleanup(peer.close)
            m0 = metrics(self.daemon)
            answer = (await party.rpc.call('webrtc.publish', {'sdp': peer.offer(template)}))['sdp']
            await peer.connect(answer)
            want = 'connected' if certificate else 'failed'
            note = await party.rpc.wait_for(
                'webrtc.state', lambda q: q.get('pc') == 'publish' and q.get('state') in
                ('connected', 'failed', 'closed'), timeout=FAIL_WITHIN)
            await asyncio.sleep(0.5)
            m1 = metrics(self.daemon)
            results[name] = (note, peer.dtls_result, peer.checks_answered,
                             m1.get('vej_media_dtls_failures_total', 0) -
                             m0.get('vej_media_dtls_failures_total', 0))
            print('%s (%s certificate): gateway %s (%s); OpenSSL: %s; DTLS failures +%d'
                  % (name, 'a' if certificate else 'no', note['state'], note.get('reason'),
                     peer.dtls_result, results[name][3]))
            self.assertEqual(note['state'], want, '%s: %r' % (name, results[name]))
            if certificate:
                self.assertEqual(peer.dtls_result, 'connected')
                continue
            # (whether OpenSSL's side of the handshake completes first is the
            # gateway's choice: it asks for the certificate as it should)
            self.assertIn('no_certificate', note.get('reason', ''))
            self.assertEqual(results[name][3], 1, 'the failure was not counted')
            states = [n.params.get('state') for n in party.rpc.notes
                      if n.method == 'webrtc.state' and n.params.get('pc') == 'publish']
            self.assertNotIn('connected', states)
            await clerk.rpc.wait_for('alert', lambda q: q.get('participant_id') == party.pid and
                                     q.get('code') == 'media_failed', timeout=5)

    # ------------------------------------------------------------------------

    async def _offer_text(self):
        pc = PublishPc('offer-only', asyncio.get_running_loop())
        try:
            pc.start()
            await pc.wait_caps()
            return await pc.create_offer()
        finally:
            await asyncio.get_running_loop().run_in_executor(None, pc.stop)

    async def test_bad_offers(self):
        h = await self.hearing([('Bad Offerer', 'prosecution')])
        bad = h['Bad Offerer']
        good = await self._offer_text()
        secs = sdp_sections(good)
        self.assertEqual(len(secs), 2, good)
        head = good[:good.index('m=')]
        many = [head.replace(re.search(r'(?m)^a=group:BUNDLE[^\r\n]*', head).group(0),
                             'a=group:BUNDLE ' + ' '.join('m%d' % i for i in range(1000)))]
        ufrag = re.search(r'a=ice-ufrag:(\S+)', good).group(1)
        pwd = re.search(r'a=ice-pwd:(\S+)', good).group(1)
        fp = re.search(r'a=fingerprint:([^\r\n]+)', good).group(1)
        for i in range(1000):
            if i == 0:  # the transport once, in the first section (BUNDLE)
                many.append('m=audio 9 UDP/TLS/RTP/SAVPF 111\r\nc=IN IP4 0.0.0.0\r\n'
                            'a=ice-ufrag:%s\r\na=ice-pwd:%s\r\na=fingerprint:%s\r\n'
                            'a=setup:actpass\r\na=mid:m0\r\na=sendonly\r\na=rtcp-mux\r\n'
                            'a=rtpmap:111 OPUS/48000/2\r\n' % (ufrag, pwd, fp))
            else:
                many.append('m=audio 0 UDP/TLS/RTP/SAVPF 111\r\nc=IN IP4 0.0.0.0\r\n'
                            'a=bundle-only\r\na=mid:m%d\r\na=sendonly\r\na=rtcp-mux\r\n'
                            'a=rtpmap:111 OPUS/48000/2\r\n' % i)
        many = ''.join(many)
        unsupported = re.sub(r'(?m)^a=rtpmap:96 VP8/90000', 'a=rtpmap:96 XVID/90000', good)
        unsupported = re.sub(r'(?m)^a=rtpmap:111 OPUS/48000/2', 'a=rtpmap:111 SPEEX/16000',
                             unsupported)
        huge_line = 'a=x-huge:' + 'A' * (150 * 1024) + '\r\n'
        cases = {
            'no fingerprint': re.sub(r'(?m)^a=fingerprint:[^\r\n]*\r\n', '', good),
            'no ICE credentials': re.sub(r'(?m)^a=ice-(ufrag|pwd):[^\r\n]*\r\n', '', good),
            'no BUNDLE': re.sub(r'(?m)^a=group:BUNDLE[^\r\n]*\r\n', '', good),
            'only unsupported codecs': unsupported,
            'a huge attribute': good.replace('a=mid:', huge_line + 'a=mid:', 1),
            '1,000 m-lines': many,
        }
        self.assertLess(len(many), 250 * 1024, 'the 1,000 m-line offer must fit a message')
        m0 = metrics(self.daemon)
        # a clear error: the message names what is wrong
        says = {'no fingerprint': 'fingerprint', 'no ICE credentials': 'ice',
                'no BUNDLE': 'bundle', 'only unsupported codecs': 'codec',
                'a huge attribute': 'longer', '1,000 m-lines': 'm-lines'}
        for what, sdp in cases.items():
            with self.subTest(offer=what):
                err = await self.assertRpcError(bad.rpc, 'webrtc.publish', {'sdp': sdp}, -32602,
                                                what)
                print('%s: %d %s' % (what, err['code'], err['message']))
                self.assertIn(says[what], err['message'].lower(), '%s: unclear error %r'
                              % (what, err))
        await asyncio.sleep(1.0)
        m1 = metrics(self.daemon)
        self.assertEqual(m1.get('vej_media_peers'), m0.get('vej_media_peers'),
                         'PeerConnections created by refused offers')
        notes = [n for n in bad.rpc.notes if n.method.startswith('webrtc.')]
        self.assertEqual(notes, [], 'webrtc.* notifications after refused offers')
        # the same socket then publishes and its media reaches the clerk
        await h.clerk.peer.subscribe()
        await bad.peer.publish()
        await h.clerk.peer.wait_decoded(bad.pid, 'video', n=10, timeout=CONNECT_TIMEOUT)

    async def test_garbage_datagrams(self):
        """Garbage at the gateway's media port during a call, from anywhere
        and (spoofed with a raw socket, when allowed) from the publisher's
        own validated address: no crash, media keeps flowing, and what
        reaches the gateway's packet handling is counted as dropped."""
        h = await self.hearing([('Gus Garbage', 'defendant')])
        clerk, gus = h['clerk'], h['Gus Garbage']
        await gus.peer.publish()
        await clerk.peer.subscribe()
        await self.wait_flowing([(clerk, gus)])
        gw_port = None
        m = re.search(r'(?m)^a=candidate:\S+ 1 (?i:udp) \d+ 127\.0\.0\.1 (\d+) typ host',
                      gus.peer.publish_answer)
        self.assertIsNotNone(m, 'no gateway host candidate in the publish answer')
        gw_port = int(m.group(1))
        my_port = None
        for _, cand in gus.peer.pub.local_candidates:
            m = re.search(r' (?i:udp) \d+ 127\.0\.0\.1 (\d+) typ host', cand or '')
            if m:
                my_port = int(m.group(1))
        ssrcs = [int(x) for x in re.findall(r'(?m)^a=ssrc:(\d+) ', gus.peer.publish_offer)]
        rnd = os.urandom
        real_ssrc = struct.pack('!I', ssrcs[0]) if ssrcs else rnd(4)
        datagrams = [b'', b'\x00', rnd(1), rnd(11), rnd(1500), b'\x80' + rnd(5),
                     # RTP header with a truncated extension
                     bytes([0x90, 96]) + rnd(10) + b'\xbe\xde\x00\xff',
                     # RTP of the real stream that fails SRTP authentication
                     bytes([0x80, 111]) + rnd(6) + real_ssrc + rnd(60),
                     # RTCP SR with a lying length
                     bytes([0x80, 200, 0xff, 0xff]) + rnd(20),
                     # RTCP compound truncated
                     bytes([0x81, 201, 0x00, 0x07]) + rnd(8),
                     # STUN binding request without valid credentials
                     struct.pack('!HHI12s', 0x0001, 8, 0x2112A442, rnd(12)) +
                     struct.pack('!HH4s', 0x0006, 4, b'ab:c'),
                     # a DTLS-looking record
                     bytes([23, 0xfe, 0xfd]) + rnd(60)]
        m0 = metrics(self.daemon)
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        raw = None
        try:
            raw = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
        except OSError as e:
            print('raw sockets not allowed (%s): no spoofed datagrams' % e)
        sent_spoofed = 0
        try:
            t0 = now()
            while now() - t0 < 2.0:
                for d in datagrams + [rnd(200)]:
                    sock.sendto(d, ('127.0.0.1', gw_port))
                    if raw is not None and my_port is not None:
                        raw.sendto(_udp_packet(my_port, gw_port, d), ('127.0.0.1', 0))
                        sent_spoofed += 1
                await asyncio.sleep(0.02)
        finally:
            sock.close()
            if raw is not None:
                raw.close()
        t1 = now()
        await asyncio.sleep(1.5)
        self.assertTrue(self.daemon.running(), 'the daemon died:\n' + self.daemon.tail())
        got = clerk.peer.decoded_from(gus.pid, 'video').count_between(t1, now())
        self.assertGreater(got, 10, 'media stopped after garbage datagrams\n'
                           + self.describe(clerk, gus))
        m1 = metrics(self.daemon)
        drops = {k: m1.get(k, 0) - m0.get(k, 0) for k in m1 if k.startswith('vej_media_dropped')}
        print('garbage to port %d (%d spoofed from the publisher\'s port %s): drops %r'
              % (gw_port, sent_spoofed, my_port, drops))
        if sent_spoofed:
            self.assertGreater(sum(drops.values()), 0, 'garbage not counted: %r' % drops)
            self.assertGreater(drops.get('vej_media_dropped_total{reason="srtp"}', 0), 0,
                               'RTP failing SRTP authentication not counted: %r' % drops)


    async def test_tampering_from_the_peer_address(self):
        """From the publisher's own validated address (a UdpRelay between
        webrtcbin and the gateway: no raw socket needed): SRTP and SRTCP
        whose authentication fails, truncated RTP and RTCP, RTCP whose
        lengths lie, packets that are neither, STUN without valid
        credentials. Dropped and counted (each SRTP authentication failure
        in vej_media_dropped_total{reason="srtp"}), no crash, media keep
        flowing."""
        relay = await UdpRelay().start()
        self.addCleanup(relay.close)
        h = await self.hearing([('Tim Tamper', 'defendant')],
                               peer_kw={'Tim Tamper': relay.peer_kw()})
        clerk, tim = h['clerk'], h['Tim Tamper']
        await tim.peer.publish()
        await clerk.peer.subscribe()
        await self.wait_flowing([(clerk, tim)])
        self.assertTrue(relay.seen('to_gateway', ('rtp',)), 'the publisher bypasses the relay')
        ssrcs = [int(x) for x in re.findall(r'(?m)^a=ssrc:(\d+) ', tim.peer.publish_offer)]
        self.assertTrue(ssrcs, 'no a=ssrc in the publish offer')
        ssrc = struct.pack('!I', ssrcs[0])
        rnd = os.urandom
        counted = [  # (what, datagram): each must be dropped and counted
            ('RTP, 6 bytes', bytes([0x80, 96, 0, 1, 0, 0])),
            ('RTP header only', bytes([0x80, 96]) + rnd(6) + ssrc),
            ('RTP, extension longer than the packet',
             bytes([0x90, 96]) + rnd(6) + ssrc + b'\xbe\xde\x00\xff' + rnd(8)),
            ('RTP, 15 CSRCs announced', bytes([0x8f, 96]) + rnd(6) + ssrc + rnd(8)),
            ('RTP, padding longer than the packet', bytes([0xa0, 96]) + rnd(6) + ssrc + rnd(20)
             + b'\xff'),
            ('RTCP, 4 bytes', bytes([0x80, 200, 0, 6])),
            ('RTCP SR whose length lies', bytes([0x80, 200, 0xff, 0xff]) + ssrc + rnd(20)),
            ('RTCP RR, truncated', bytes([0x81, 201, 0x00, 0x07]) + ssrc + rnd(8)),
            ('RTCP compound, second length lies', bytes([0x80, 201, 0, 1]) + ssrc +
             bytes([0x81, 202, 0x40, 0x00]) + ssrc + rnd(16)),
            ('RTP of the real stream, forged', bytes([0x80, 111]) + rnd(6) + ssrc + rnd(60)),
            ('version 0', bytes([0x40]) + rnd(40)),
            ('ZRTP-looking', bytes([0x10]) + rnd(40)),
            ('TURN channel-looking', bytes([0x40, 0x00, 0x00, 0x20]) + rnd(32)),
        ]
        uncounted = [  # handled by libnice or DTLS: must only not hurt
            ('STUN binding request without valid credentials',
             struct.pack('!HHI12s', 0x0001, 8, 0x2112A442, rnd(12)) +
             struct.pack('!HH4s', 0x0006, 4, b'ab:c')),
            ('STUN, truncated', bytes([0x00, 0x01, 0x00, 0x50]) + b'\x21\x12\xa4\x42' + rnd(4)),
            ('DTLS application data', bytes([23, 0xfe, 0xfd]) + rnd(60)),
        ]
        n = {'rtp': 0, 'rtcp': 0}
        tampered = {'rtp': 0, 'rtcp': 0}

        def tamper(data):
            kind = datagram_kind(data)
            if kind in n:
                n[kind] += 1
                if kind == 'rtcp' or n[kind] % 20 == 0:
                    tampered[kind] += 1   # the last byte of the authentication tag
                    return data[:-1] + bytes([data[-1] ^ 0x01])
            return data

        m0 = metrics(self.daemon)
        t0 = now()
        relay.mangle_to_gateway = tamper
        rounds = 0
        # 2 s at least, and until the publisher has sent RTCP to tamper with
        # (its report interval is randomised around a second or more)
        while now() - t0 < 2.0 or (not tampered['rtcp'] and now() - t0 < 10.0):
            for _, d in counted + uncounted:
                relay.inject_to_gateway(d)
            rounds += 1
            await asyncio.sleep(0.1)
        relay.mangle_to_gateway = None
        t1 = now()
        await asyncio.sleep(1.5)
        self.assertTrue(self.daemon.running(), 'the daemon died:\n' + self.daemon.tail())
        got = clerk.peer.decoded_from(tim.pid, 'video').count_between(t1, now())
        self.assertGreater(got, 10, 'media stopped after the tampering\n'
                           + self.describe(clerk, tim))
        audio = clerk.peer.decoded_from(tim.pid, 'audio').count_between(t0, t1)
        self.assertGreater(audio, 0.5 * 50 * (t1 - t0), 'audio while tampered with: %d' % audio)
        m1 = metrics(self.daemon)
        drops = {k[len('vej_media_dropped_total'):]: m1.get(k, 0) - m0.get(k, 0) for k in m1
                 if k.startswith('vej_media_dropped_total')}
        print('from the publisher\'s address for %.1f s: %d RTP and %d SRTCP packets tampered '
              'with, %d x %d crafted datagrams; drops %r'
              % (t1 - t0, tampered['rtp'], tampered['rtcp'], rounds, len(counted) +
                 len(uncounted), drops))
        self.assertGreater(tampered['rtp'], 0)
        self.assertGreater(tampered['rtcp'], 0)
        srtp = drops.get('{reason="srtp"}', 0)
        self.assertGreaterEqual(srtp, tampered['rtp'] + tampered['rtcp'],
                                'SRTP/SRTCP authentication failures not all counted: %r' % drops)
        self.assertGreaterEqual(sum(drops.values()),
                                tampered['rtp'] + tampered['rtcp'] + rounds * len(counted),
                                'crafted datagrams not all counted: %r' % drops)

    async def test_unknown_ssrcs_cost_no_crypto(self):
        """The plaintext SSRC of an SRTP packet is checked against the
        publish PC's streams before any unprotect: packets of the real
        publisher with their SSRC rewritten to ever new values (as a peer
        cycling SSRCs would send) are dropped as reason="unknown_ssrc",
        none reaches libsrtp (no "srtp" authentication failure, no stream
        state), and the real streams keep flowing."""
        relay = await UdpRelay().start()
        self.addCleanup(relay.close)
        h = await self.hearing([('Sam Cycle', 'defendant')],
                               peer_kw={'Sam Cycle': relay.peer_kw()})
        clerk, sam = h['clerk'], h['Sam Cycle']
        await sam.peer.publish()
        await clerk.peer.subscribe()
        await self.wait_flowing([(clerk, sam)])
        n = {'rtp': 0, 'cycled': 0}

        def cycle(data):
            if datagram_kind(data) == 'rtp':
                n['rtp'] += 1
                if n['rtp'] % 4 == 0:
                    n['cycled'] += 1
                    return data[:8] + os.urandom(4) + data[12:]
            return data

        m0 = metrics(self.daemon)
        t0 = now()
        relay.mangle_to_gateway = cycle
        await asyncio.sleep(2.0)
        relay.mangle_to_gateway = None
        t1 = now()
        await asyncio.sleep(1.0)
        m1 = metrics(self.daemon)
        drops = {k[len('vej_media_dropped_total'):]: m1.get(k, 0) - m0.get(k, 0) for k in m1
                 if k.startswith('vej_media_dropped_total')}
        print('%d RTP packets with a new SSRC each; drops %r' % (n['cycled'], drops))
        self.assertGreater(n['cycled'], 20)
        self.assertGreaterEqual(drops.get('{reason="unknown_ssrc"}', 0), n['cycled'], drops)
        self.assertEqual(drops.get('{reason="srtp"}', 0), 0, drops)
        audio = clerk.peer.decoded_from(sam.pid, 'audio').count_between(t0, t1)
        self.assertGreater(audio, 0.5 * 50 * (t1 - t0), 'audio while cycled: %d' % audio)
        self.assertTrue(self.daemon.running(), 'the daemon died:\n' + self.daemon.tail())


def _udp_packet(sport, dport, payload, src='127.0.0.1', dst='127.0.0.1'):
    """An IPv4 header (checksum left to the kernel) and UDP (checksum 0)."""
    udp = struct.pack('!HHHH', sport, dport, 8 + len(payload), 0) + payload
    ip = struct.pack('!BBHHHBBH4s4s', 0x45, 0, 20 + len(udp), 0, 0, 64, socket.IPPROTO_UDP, 0,
                     socket.inet_aton(src), socket.inet_aton(dst))
    return ip + udp


class PublishRateLimitTest(MediaTestCase):
    """[media] max_publish_video_kbps: a publisher sending more video than
    its limit has the excess dropped and counted (reason="rate_limit", and
    by kind and budget); its audio has a budget of its own and loses
    nothing however much video it sends. The test publisher (320x240 VP8
    and Opus) sends about 160 kbit/s, 110 of it video."""
    overrides = {'media': {'addresses': '127.0.0.1', 'max_publish_video_kbps': 60}}

    async def test_over_the_limit_is_dropped_and_counted(self):
        h = await self.hearing([('Flo Flood', 'defendant')])
        clerk, flo = h['clerk'], h['Flo Flood']
        await flo.peer.publish()
        await clerk.peer.subscribe()
        await self.wait_flowing([(clerk, flo)], kinds=('audio',), n=2)
        m0 = media_harness.metrics(self.daemon)
        t0 = now()
        await asyncio.sleep(3.0)
        t1 = now()
        m1 = media_harness.metrics(self.daemon)

        def delta(key):
            return m1.get(key, 0) - m0.get(key, 0)
        dropped = delta('vej_media_dropped_total{reason="rate_limit"}')
        video = delta('vej_media_publish_limited_total{kind="video",limit="bitrate"}')
        audio = (delta('vej_media_publish_limited_total{kind="audio",limit="bitrate"}') +
                 delta('vej_media_publish_limited_total{kind="audio",limit="packet_rate"}'))
        got = delta('vej_media_bytes_received_total')
        print('over 3 s: %d packets dropped by the rate limit (video %d, audio %d); '
              '%d bytes received' % (dropped, video, audio, got))
        self.assertGreater(video, 5, 'a ~110 kbit/s video under a 60 kbit/s limit')
        self.assertEqual(audio, 0, 'audio has its own budget')
        self.assertEqual(dropped, video)
        fwd = delta('vej_media_rtp_forwarded_total')
        self.assertGreater(fwd, 150, 'what fits under the limit is forwarded')
        rin = delta('vej_media_rtp_received_total')
        self.assertLessEqual(fwd, rin - dropped, 'rate-limited packets were forwarded')
        # Opus every 20 ms: all of it reaches the subscriber.
        heard = clerk.peer.decoded_from(flo.pid, 'audio').count_between(t0, t1)
        print('audio buffers decoded by the clerk in %.1f s: %d' % (t1 - t0, heard))
        self.assertGreater(heard, 0.9 * 50 * (t1 - t0), 'audio lost to the video budget')


if __name__ == '__main__':
    media_harness.main()
