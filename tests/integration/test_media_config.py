"""[media] options that change what the relay negotiates: `codecs` (the
codecs accepted from publishers and forwarded) and `dtls_cert`/`dtls_key`
(a configured DTLS certificate instead of a fresh one per run). Checked on
the real daemon through webrtc.publish answers."""

import hashlib
import os
import ssl
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from test_webrtc import WebrtcTest, attr, mlines, publish_offer  # noqa: E402


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


class MediaConfigTest(harness.DaemonTestCase):
    overrides = {'media': {'codecs': 'opus', 'dtls_cert': CERT, 'dtls_key': KEY}}

    skip_if_missing = WebrtcTest.skip_if_missing
    hearing = WebrtcTest.hearing

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

    async def test_configured_dtls_certificate(self):
        """The answer's fingerprint is that of the configured certificate."""
        hid, clerk, judge, [(p, dfd)] = await self.hearing(('Fin Print', 'defendant', None))
        res = await dfd.call('webrtc.publish', {'sdp': publish_offer()})
        self.assertEqual(attr(res['sdp'], 'fingerprint'), 'sha-256')
        fps = {line.split(' ', 1)[1] for line in res['sdp'].split('\r\n')
               if line.startswith('a=fingerprint:')}
        self.assertEqual(fps, {CERT_FP})


if __name__ == '__main__':
    harness.main()
