"""[media] options that change what the relay negotiates: `codecs` (the
codecs accepted from publishers and forwarded) and `dtls_cert`/`dtls_key`
(a configured DTLS certificate instead of a fresh one per run). Checked on
the real daemon through webrtc.publish answers."""

import base64
import hashlib
import hmac
import os
import ssl
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
import test_webrtc  # noqa: E402  (its helpers; its test class must not be collected here)
from test_webrtc import attr, mlines, publish_offer  # noqa: E402


def make_cert():
    """A P-256 certificate and key in a fresh directory, and its SHA-256
    fingerprint as it appears in SDP."""
    d = tempfile.mkdtemp(prefix='vej-it-dtls-')
    cert, key = os.path.join(d, 'cert.pem'), os.path.join(d, 'key.pem')
    subprocess.run(['openssl', 'req', '-x509', '-newkey', 'ec', '-pkeyopt',
                    'ec_paramgen_curve:P-256', '-nodes', '-keyout', key, '-out', cert,
                    '-days', '2', '-subj', '/CN=vej-test-dtls'],
                   check=True, capture_output=True)
    with open(cert, encoding='ascii') as f:
        der = ssl.PEM_cert_to_DER_cert(f.read())
    digest = hashlib.sha256(der).hexdigest().upper()
    return cert, key, ':'.join(digest[i:i + 2] for i in range(0, len(digest), 2))


CERT, KEY, CERT_FP = make_cert()


def make_turn_secret():
    path = os.path.join(tempfile.mkdtemp(prefix='vej-it-turn-'), 'turn-secret')
    with open(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600), 'w', encoding='ascii') as f:
        f.write('s3cr3t-for-the-turn-test\n')
    return path, 's3cr3t-for-the-turn-test'


TURN_SECRET_FILE, TURN_SECRET = make_turn_secret()


class MediaConfigTest(harness.DaemonTestCase):
    overrides = {'media': {'codecs': 'opus', 'dtls_cert': CERT, 'dtls_key': KEY, 'ice_tcp': True},
                 'ice': {'stun_urls': 'stun:stun.example.org:3478',
                         'turn_urls': 'turn:turn.example.org:3478?transport=udp,'
                                      'turns:turn.example.org:443?transport=tcp',
                         'turn_secret_file': TURN_SECRET_FILE, 'turn_credential_ttl_s': 600}}

    skip_if_missing = test_webrtc.WebrtcTest.skip_if_missing
    hearing = test_webrtc.WebrtcTest.hearing

    async def test_codecs_limit_what_is_accepted(self):
        """With codecs = opus, a VP8 video m-line is rejected (port 0) while
        audio is accepted; a video-only offer is refused with nothing made."""
        hid, clerk, judge, [(p, dfd)] = await self.hearing(('Cody Codec', 'defendant', None))
        res = await dfd.call('webrtc.publish', {'sdp': publish_offer()})
        ms = mlines(res['sdp'])
        self.assertEqual([m['kind'] for m in ms], ['audio', 'video'])
        self.assertNotEqual(ms[0]['line'].split()[1], '0', ms[0]['line'])
        self.assertEqual(ms[1]['line'].split()[1], '0', ms[1]['line'])
        self.assertNotRegex(res['sdp'], r'(?i)a=rtpmap:\d+ VP8/')

        hid2, clerk2, judge2, [(p2, wit)] = await self.hearing(('Vic Video', 'witness', None))
        reply = await wit.request('webrtc.publish', {'sdp': publish_offer(audio=False)})
        self.assertEqual(reply.get('error', {}).get('code'), -32602, reply)
        self.assertIn('codec', reply['error']['message'])

    async def test_ice_tcp_candidates(self):
        """With ice_tcp = true the answer also carries passive TCP host
        candidates (RFC 6544), next to the UDP ones; never active ones."""
        hid, clerk, judge, [(p, dfd)] = await self.hearing(('Tic Tcp', 'defendant', None))
        res = await dfd.call('webrtc.publish', {'sdp': publish_offer()})
        cands = [line for line in res['sdp'].split('\r\n') if line.startswith('a=candidate:')]
        tcp = [c for c in cands if ' tcp ' in c.lower()]
        udp = [c for c in cands if ' udp ' in c.lower()]
        self.assertTrue(udp, cands)
        self.assertTrue(tcp, cands)
        for c in tcp:
            self.assertRegex(c, r' typ host tcptype passive$', c)

    async def test_configured_dtls_certificate(self):
        """The answer's fingerprint is that of the configured certificate."""
        hid, clerk, judge, [(p, dfd)] = await self.hearing(('Fin Print', 'defendant', None))
        res = await dfd.call('webrtc.publish', {'sdp': publish_offer()})
        self.assertEqual(attr(res['sdp'], 'fingerprint'), 'sha-256')
        fps = {line.split(' ', 1)[1] for line in res['sdp'].split('\r\n')
               if line.startswith('a=fingerprint:')}
        self.assertEqual(fps, {CERT_FP})

    async def test_ice_servers_with_turn_credentials(self):
        """session.hello hands out the STUN server and the TURN servers with
        a coturn-style credential: username "<expiry>:<id>", credential
        base64(HMAC-SHA1(secret, username)), expiring after the TTL."""
        w = self.world
        hid = w.new_hearing()
        p = w.add_participant(hid, 'Terry Turn', 'witness')
        t0 = time.time()
        rpc = await self.join_ws(p, join=False)
        servers = rpc.hello['ice_servers']
        self.assertEqual(servers[0], {'urls': ['stun:stun.example.org:3478']})
        turn = servers[1]
        self.assertEqual(turn['urls'], ['turn:turn.example.org:3478?transport=udp',
                                        'turns:turn.example.org:443?transport=tcp'])
        expiry, who = turn['username'].split(':', 1)
        self.assertEqual(who, p['participant_id'])
        self.assertAlmostEqual(int(expiry), t0 + 600, delta=5)
        mac = hmac.new(TURN_SECRET.encode(), turn['username'].encode(), hashlib.sha1).digest()
        self.assertEqual(turn['credential'], base64.b64encode(mac).decode())
        self.assertEqual(len(servers), 2)


if __name__ == '__main__':
    harness.main()
