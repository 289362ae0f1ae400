"""Evidential REST and the evidence chain (PROTOCOL.md "Evidential staff",
DESIGN.md 5, docs/recording.md, docs/api.md "Recordings"), on the real
daemon.

A recording directory is written here exactly as docs/recording.md says the
recorder and the archiver write it (capture.json, closed pcap segments,
archive/ with archive.json), for a hearing created through the API, and
sealed with `vejctl recordings seal` (the manifest, its signature, SHA256SUMS
and its signature, made by recording/manifest.c with the gateway's key).
Then: search, manifest, files with Range, verification, bundles checked by
`vejctl recordings verify` and by the stock-tool commands of VERIFY.txt,
tampering anywhere detected, who may do what (4003), every access in the
audit chain, retention and legal hold."""

import datetime
import hashlib
import io
import json
import os
import re
import secrets
import shutil
import struct
import subprocess
import sys
import tarfile
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402


def rfc3339us(dt):
    return dt.strftime('%Y-%m-%dT%H:%M:%S.%fZ')


def pcap_segment(n_packets, base_ns):
    """Classic pcap, nanosecond magic, LINKTYPE_RAW, IPv4/UDP/RTP records
    (docs/recording.md "Capture files")."""
    out = struct.pack('<IHHiIII', 0xa1b23c4d, 2, 4, 0, 0, 65535, 101)
    for i in range(n_packets):
        rtp = struct.pack('>BBHII', 0x80, 111, i, i * 960, 0x1234) + bytes([i & 255]) * 40
        udp = struct.pack('>HHHH', 40000, 20002, 8 + len(rtp), 0)
        ip = struct.pack('>BBHHHBBH4s4s', 0x45, 0, 28 + len(rtp), 0, 0x4000, 64, 17, 0,
                         bytes([10, 1, 0, 1]), bytes([10, 0, 0, 1]))
        pkt = ip + udp + rtp
        t = base_ns + i * 20_000_000
        out += struct.pack('<IIII', t // 10**9, t % 10**9, len(pkt), len(pkt)) + pkt
    return out


class RecordingsTest(harness.DaemonTestCase):

    def evid(self, method, path, body=None, **kw):
        return self.daemon.api(method, path, body, token=self.world.token('evidential'), **kw)

    def make_recording(self, case_reference, closed_days_ago=0.0, rid=None, courtroom_id=None):
        """Writes DATA_DIR/recordings/REC as the recorder and archiver would and
        seals it with vejctl (in the world's courtroom, or courtroom_id: the
        clerk's). Returns (rec_id, hearing_id, participant, dir)."""
        d, w = self.daemon, self.world
        if courtroom_id is None:
            hid = w.new_hearing(case_reference=case_reference)
        else:
            start = harness.now_utc() + datetime.timedelta(minutes=30)
            r = d.api('POST', '/hearings', {
                'courtroom_id': courtroom_id, 'case_reference': case_reference,
                'title': 'R v Example', 'starts_at': harness.rfc3339(start),
                'ends_at': harness.rfc3339(start + datetime.timedelta(hours=2))},
                token=w.token('clerk'))
            self.assertEqual(r.status, 201, r)
            hid = r.body['id']
        p = w.add_participant(hid, 'Rec Witness', 'witness')
        pid = p['participant_id']
        rid = rid or 'rec_' + secrets.token_hex(8)
        rdir = os.path.join(d.data_dir, 'recordings', rid)
        os.makedirs(os.path.join(rdir, 'capture'), mode=0o700)
        os.makedirs(os.path.join(rdir, 'archive'), mode=0o700)
        closed = harness.now_utc() - datetime.timedelta(days=closed_days_ago)
        started = closed - datetime.timedelta(minutes=10)
        segs = []
        for i in (1, 2):
            name = 'capture/seg-%06d.pcap' % i
            data = pcap_segment(20 * i, int(started.timestamp()) * 10**9)
            with open(os.path.join(rdir, name), 'wb') as f:
                f.write(data)
            segs.append({'name': name, 'size': len(data),
                         'sha256': hashlib.sha256(data).hexdigest(),
                         'from': rfc3339us(started), 'to': rfc3339us(closed),
                         'packets': 20 * i, 'closed_by': 'interval' if i == 1 else 'close'})
        media = {'%s.webm' % pid: os.urandom(3000), 'hearing.webm': os.urandom(5000)}
        for name, data in media.items():
            with open(os.path.join(rdir, 'archive', name), 'wb') as f:
                f.write(data)
        archive = {'format': 'vej-archive/1',
                   'files': [{'name': n, 'size': len(b), 'sha256': hashlib.sha256(b).hexdigest(),
                              'duration_s': 600.0} for n, b in media.items()],
                   'archiver_version': '0.1.0', 'gstreamer_version': '1.22.0',
                   'started_at': rfc3339us(closed), 'finished_at': rfc3339us(closed)}
        archive['files'][0]['participant_id'] = pid
        with open(os.path.join(rdir, 'archive', 'archive.json'), 'w') as f:
            json.dump(archive, f)
        capture = {
            'format': 'vej-capture/1', 'recording_id': rid, 'state': 'closed',
            'hearing': {'id': hid, 'case_reference': case_reference, 'title': 'R v Example',
                        'courtroom_id': w.courtroom_id, 'courtroom_name': 'Court 1'},
            'started_at': rfc3339us(started), 'closed_at': rfc3339us(closed),
            'gateway_version': '0.1.0', 'clock_synchronised': True,
            'participants': [{'participant_id': pid, 'role': 'witness', 'label': 'Rec Witness',
                              'periods': [{'place': 'main', 'from': rfc3339us(started),
                                           'to': rfc3339us(closed)}]}],
            'timeline': [{'at': rfc3339us(started), 'event': 'hearing.state',
                          'state': 'in_session'}],
            'consultations': [{'room': 'consultation:c1', 'participants': [pid],
                               'from': rfc3339us(started), 'to': rfc3339us(started),
                               'captured': False}],
            'tracks': [{'track': 1, 'participant_id': pid, 'kind': 'audio', 'ssrc': 0x1234,
                        'payload_type': 111, 'codec': 'opus', 'clock_rate': 48000,
                        'channels': 2, 'fmtp': 'minptime=10;useinbandfec=1',
                        'extmap': {'urn:ietf:params:rtp-hdrext:sdes:mid': 4},
                        'rtp': {'src': '10.1.0.1:40000', 'dst': '10.0.0.1:20002'},
                        'rtcp': {'src': '10.1.0.1:40001', 'dst': '10.0.0.1:20003'}}],
            'segments': segs, 'gaps': [], 'ring_drops': 0}
        with open(os.path.join(rdir, 'capture.json'), 'w') as f:
            json.dump(capture, f)
        r = d.vejctl('recordings', 'seal', rid, '--data-dir', d.data_dir, '--json')
        self.assertEqual(r.returncode, 0, r.stderr.decode())
        self.assertEqual(json.loads(r.stdout)['revision'], 1)
        return rid, hid, p, rdir

    def audit_since(self, since):
        return harness.audit_entries(self.daemon, self.world.token('admin'), since)

    # ------------------------------------------------------------------

    async def test_retrieval_roles_and_audit(self):
        d, w = self.daemon, self.world
        since = harness.now_utc() - datetime.timedelta(seconds=2)
        rid, hid, p, rdir = self.make_recording('T/REC-1')
        r = self.evid('GET', '/recordings?case_reference=T/REC-1')
        self.assertEqual(r.status, 200, r)
        self.assertEqual([x['id'] for x in r.body['items']], [rid])
        self.assertIn('next_cursor', r.body)
        self.assertEqual(r.body['items'][0]['hearing_id'], hid)
        # filters
        r = self.evid('GET', '/recordings?courtroom_id=%s' % w.courtroom_id)
        self.assertIn(rid, [x['id'] for x in r.body['items']])
        r = self.evid('GET', '/recordings?case_reference=T/NOSUCH')
        self.assertEqual(r.body['items'], [])
        r = self.evid('GET', '/recordings?from=2000-01-01T00:00:00Z&to=2000-01-02T00:00:00Z')
        self.assertNotIn(rid, [x['id'] for x in r.body['items']])
        r = self.evid('GET', '/recordings?from=yesterday')
        self.assertApiError(r, 400, -32602)

        # the manifest, its files and its signature
        r = self.evid('GET', '/recordings/%s' % rid)
        self.assertEqual(r.status, 200, r)
        man = r.body
        self.assertEqual(man['manifest']['hearing']['id'], hid)
        self.assertEqual(man['manifest']['hearing']['case_reference'], 'T/REC-1')
        self.assertIn(p['participant_id'], json.dumps(man['manifest']['participants']))
        cons = man['manifest']['consultations'][0]
        self.assertIs(cons['captured'], False)
        self.assertIn('No media of this consultation was captured', cons['statement'])
        self.assertNotIn(p['join_token'], json.dumps(man))
        self.assertIs(man['signature']['valid'], True)
        self.assertEqual(man['verification']['state'], 'unverified')
        names = sorted(f['name'] for f in man['files'])
        self.assertEqual(names, sorted(['archive/%s.webm' % p['participant_id'],
                                        'archive/archive.json', 'archive/hearing.webm',
                                        'capture.json', 'capture/seg-000001.pcap',
                                        'capture/seg-000002.pcap']))
        keys = self.evid('GET', '/keys')
        self.assertEqual(keys.status, 200, keys)
        self.assertEqual(man['signature']['key_fingerprint'], keys.body['fingerprint'])
        self.assertEqual(man['manifest']['audit_head']['seq'] > 0, True)

        # manifest.json is served byte for byte as signed
        r = self.evid('GET', '/recordings/%s/files/manifest.json' % rid)
        self.assertEqual(r.status, 200, r)
        with open(os.path.join(rdir, 'manifest.json'), 'rb') as f:
            self.assertEqual(r.raw, f.read())

        # verify, then check each file's hash by downloading it
        r = self.evid('POST', '/recordings/%s/verify' % rid, {})
        self.assertEqual(r.status, 200, r)
        self.assertIs(r.body['ok'], True, r.body)
        self.assertIs(r.body['manifest_signature_ok'], True)
        for f in r.body['files']:
            self.assertIs(f['ok'], True, f)
            self.assertRegex(f['sha256'], r'^[0-9a-f]{64}$')
            r2 = self.evid('GET', '/recordings/%s/files/%s?reason=appeal%%20bundle' % (rid, f['name']))
            self.assertEqual(r2.status, 200, (f['name'], r2))
            self.assertEqual(hashlib.sha256(r2.raw).hexdigest(), f['sha256'], f['name'])
            self.assertEqual(r2.headers.get('accept-ranges'), 'bytes')
        for f in man['files']:
            self.assertIn(f['name'], [x['name'] for x in r.body['files']])
        self.assertEqual(self.evid('GET', '/recordings/%s' % rid).body['verification']['state'],
                         'ok')
        # Range
        seg = 'capture/seg-000002.pcap'
        full = self.evid('GET', '/recordings/%s/files/%s' % (rid, seg)).raw
        r3 = self.evid('GET', '/recordings/%s/files/%s' % (rid, seg), headers={'Range': 'bytes=2-9'})
        self.assertEqual(r3.status, 206, r3)
        self.assertEqual(r3.raw, full[2:10])
        self.assertEqual(r3.headers.get('content-range'), 'bytes 2-9/%d' % len(full))
        r3 = self.evid('GET', '/recordings/%s/files/%s' % (rid, seg), headers={'Range': 'bytes=-5'})
        self.assertEqual((r3.status, r3.raw), (206, full[-5:]))
        r3 = self.evid('GET', '/recordings/%s/files/%s' % (rid, seg),
                       headers={'Range': 'bytes=%d-' % len(full)})
        self.assertEqual(r3.status, 416, r3)
        # names that are not signed files of this recording, or escape it
        for bad in ('nosuchfile.webm', '..%2F..%2Fvej.db', '../../vej.db', '..%2Fsecrets',
                    'secrets/signing-key.pem', 'capture', 'capture/', '%2Fetc%2Fpasswd',
                    'capture/seg-000002.pcap.open'):
            r = self.evid('GET', '/recordings/%s/files/%s' % (rid, bad))
            self.assertEqual(r.status, 404, (bad, r))
        r = self.evid('GET', '/recordings/rec_0000000000000000')
        self.assertApiError(r, 404, 4004)
        r = self.evid('GET', '/recordings/rec_../../x')
        self.assertEqual(r.status, 404, r)
        r = self.evid('GET', '/recordings/%s/bundle' % rid)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.headers.get('content-type'), 'application/x-tar')
        self.assertEqual(int(r.headers['content-length']), len(r.raw))

        # who: admins see listings and manifests, not media; others nothing
        adm = w.token('admin')
        self.assertEqual(d.api('GET', '/recordings', token=adm).status, 200)
        self.assertEqual(d.api('GET', '/recordings/%s' % rid, token=adm).status, 200)
        for path in ('/recordings/%s/files/%s' % (rid, seg), '/recordings/%s/bundle' % rid):
            self.assertApiError(d.api('GET', path, token=adm), 403, 4003, path)
        self.assertApiError(d.api('POST', '/recordings/%s/hold' % rid, {'hold': True,
                                                                      'reason': 'x'},
                                  token=adm), 403, 4003)
        for who in ('clerk', 'judge'):
            for method, path in (('GET', '/recordings'), ('GET', '/recordings/%s' % rid),
                                 ('GET', '/recordings/%s/files/%s' % (rid, seg)),
                                 ('GET', '/recordings/%s/bundle' % rid),
                                 ('POST', '/recordings/%s/verify' % rid)):
                r = d.api(method, path, {} if method == 'POST' else None, token=w.token(who))
                self.assertApiError(r, 403, 4003, '%s %s %s' % (who, method, path))
        r = d.api('GET', '/recordings/%s' % rid, token=p['join_token'])
        self.assertApiError(r, 401, 4001)
        r = d.api('GET', '/recordings/%s' % rid)
        self.assertApiError(r, 401, 4001)
        self.assertEqual(d.api('GET', '/keys', token=w.token('clerk')).status, 200)

        # every listing, manifest read, download and verification is audited,
        # with who and the client address; refusals too
        harness_entries = self.audit_since(since)
        mine = [e for e in harness_entries if e['action'].startswith('recording.')]
        acts = {(e['action'], e['target']) for e in mine}
        for a in ('recording.read', 'recording.download', 'recording.verify', 'recording.seal'):
            self.assertIn((a, rid), acts, a)
        self.assertIn('recording.list', {e['action'] for e in mine})
        self.assertIn('recording.denied', {e['action'] for e in mine})
        evid_user = [e for e in mine if e['action'] == 'recording.download'][0]
        self.assertTrue(evid_user['actor'].startswith('usr_'))
        self.assertIn(evid_user['detail']['client_address'], ('127.0.0.1', '::ffff:127.0.0.1'))
        self.assertIn('appeal bundle', json.dumps([e['detail'] for e in mine
                                                   if e['action'] == 'recording.download']))
        bundle_dl = [e for e in mine if e['action'] == 'recording.download'
                     and e['detail'].get('file') == 'bundle']
        self.assertTrue(bundle_dl)

    async def test_listing_scoped_in_the_query(self):
        """Evidential staff see only their courtrooms' recordings, and that
        scope is part of the query: a page holds `limit` items of theirs
        when there are that many, however many of another courtroom's sort
        before them (the scope used to be applied to the page afterwards,
        which came back short or empty with a next_cursor)."""
        d, w = self.daemon, self.world
        r = d.api('POST', '/courtrooms', {'name': 'Court Scope', 'retention_days': 30,
                                          'time_zone': 'Europe/London'}, token=w.token('clerk'))
        self.assertEqual(r.status, 201, r)
        other = r.body['id']   # the clerk's; not the evidential account's
        theirs = [self.make_recording('T/SCOPE', rid='rec_00000000000000%02x' % i,
                                      courtroom_id=other)[0] for i in (1, 2, 3)]
        mine = [self.make_recording('T/SCOPE', rid='rec_ffffffffffffff%02x' % i)[0]
                for i in (1, 2)]
        r = self.evid('GET', '/recordings?case_reference=T/SCOPE&limit=2')
        self.assertEqual(r.status, 200, r)
        self.assertEqual([x['id'] for x in r.body['items']], mine, r.body)
        self.assertIsNone(r.body['next_cursor'], r.body)
        r = self.evid('GET', '/recordings?case_reference=T/SCOPE&limit=1')
        self.assertEqual([x['id'] for x in r.body['items']], mine[:1], r.body)
        r = self.evid('GET', '/recordings?case_reference=T/SCOPE&limit=1&cursor=%s'
                      % r.body['next_cursor'])
        self.assertEqual([x['id'] for x in r.body['items']], mine[1:], r.body)
        self.assertIsNone(r.body['next_cursor'], r.body)
        # an admin (every courtroom) gets all five, in id order
        r = d.api('GET', '/recordings?case_reference=T/SCOPE&limit=5', token=w.token('admin'))
        self.assertEqual([x['id'] for x in r.body['items']], theirs + mine, r.body)
        # and another courtroom asked for by name: nothing, not an error
        r = self.evid('GET', '/recordings?courtroom_id=%s' % other)
        self.assertEqual((r.status, r.body['items']), (200, []), r)

    async def test_tampering_detected_by_verify(self):
        rid, hid, p, rdir = self.make_recording('T/REC-TAMPER')
        for name in ('capture/seg-000001.pcap', 'archive/hearing.webm', 'capture.json',
                     'archive/archive.json', 'manifest.json', 'manifest.sig', 'SHA256SUMS',
                     'SHA256SUMS.sig'):
            path = os.path.join(rdir, name)
            with open(path, 'r+b') as f:
                data = bytearray(f.read())
                data[len(data) // 2] ^= 0x01
                f.seek(0)
                f.write(data)
            r = self.evid('POST', '/recordings/%s/verify' % rid, {})
            self.assertEqual(r.status, 200, r)
            self.assertIs(r.body['ok'], False, name)
            bad = [f['name'] for f in r.body['files'] if not f['ok']]
            self.assertIn(name.replace('.sig', '.json') if name == 'manifest.sig'
                          else name.replace('.sig', '') if name == 'SHA256SUMS.sig' else name,
                          bad, (name, r.body))
            if name == 'manifest.json':
                self.assertIs(self.evid('GET', '/recordings/%s' % rid).body['signature']['valid'],
                              False)
            with open(path, 'r+b') as f:
                data[len(data) // 2] ^= 0x01
                f.seek(0)
                f.write(data)
        r = self.evid('POST', '/recordings/%s/verify' % rid, {})
        self.assertIs(r.body['ok'], True, r.body)
        # a file removed
        os.rename(os.path.join(rdir, 'archive/hearing.webm'), os.path.join(rdir, 'x'))
        r = self.evid('POST', '/recordings/%s/verify' % rid, {})
        self.assertIs(r.body['ok'], False)
        os.rename(os.path.join(rdir, 'x'), os.path.join(rdir, 'archive/hearing.webm'))
        self.assertEqual(self.evid('GET', '/recordings/%s' % rid).body['verification']['state'],
                         'failed')
        r = self.evid('POST', '/recordings/%s/verify' % rid, {})
        self.assertIs(r.body['ok'], True, r.body)
        self.assertEqual(self.evid('GET', '/recordings/%s' % rid).body['verification']['state'],
                         'ok')

    async def test_bundle_offline_and_stock_tools(self):
        d, w = self.daemon, self.world
        rid, hid, p, rdir = self.make_recording('T/REC-BUNDLE')
        work = tempfile.mkdtemp(prefix='vej-bundle-')
        self.addCleanup(shutil.rmtree, work, True)
        r = self.evid('GET', '/recordings/%s/bundle?reason=defence%%20expert' % rid)
        self.assertEqual(r.status, 200, r)
        bundle = os.path.join(work, 'b.tar')
        with open(bundle, 'wb') as f:
            f.write(r.raw)
        keys = self.evid('GET', '/keys').body
        pub = os.path.join(work, 'court-key.pem')
        with open(pub, 'w') as f:
            f.write(keys['public_key_pem'])

        def vverify(path, *extra):
            q = d.vejctl('recordings', 'verify', path, *extra)
            return q.returncode, q.stdout.decode() + q.stderr.decode()

        rc, out = vverify(bundle)
        self.assertEqual(rc, 0, out)
        self.assertIn(keys['fingerprint'], out)
        self.assertIn("bundle's own key", out)
        rc, out = vverify(bundle, '--key', pub)
        self.assertEqual(rc, 0, out)
        # the members a verifier needs
        with tarfile.open(bundle) as t:
            members = {m.name: m for m in t.getmembers()}
        for n in ('manifest.json', 'manifest.sig', 'SHA256SUMS', 'SHA256SUMS.sig',
                  'public-key.pem', 'VERIFY.txt', 'capture/seg-000001.pcap',
                  'archive/hearing.webm'):
            self.assertIn('%s/%s' % (rid, n), members)

        # the stock-tool commands of VERIFY.txt, exactly as written there
        with tarfile.open(bundle) as t:
            t.extractall(work)
        folder = os.path.join(work, rid)
        with open(os.path.join(folder, 'VERIFY.txt')) as f:
            cmds = [line[2:] for line in f.read().splitlines() if line.startswith('$ ')]
        self.assertEqual(len(cmds), 4, cmds)
        self.assertIn('sha256sum -c SHA256SUMS', cmds)
        outs = []
        for c in cmds:
            q = subprocess.run(['/bin/sh', '-c', c], cwd=folder, capture_output=True)
            self.assertEqual(q.returncode, 0, (c, q.stdout, q.stderr))
            outs.append(q.stdout.decode() + q.stderr.decode())
        self.assertIn(keys['fingerprint'], outs[0])
        self.assertEqual(outs[2].count('Signature Verified Successfully'), 1, outs[2])
        self.assertEqual(outs[3].count('Signature Verified Successfully'), 1, outs[3])
        # and the stock tools catch a flipped byte in the manifest
        mpath = os.path.join(folder, 'manifest.json')
        with open(mpath, 'r+b') as f:
            data = bytearray(f.read())
            data[10] ^= 1
            f.seek(0)
            f.write(data)
        q = subprocess.run(['/bin/sh', '-c', cmds[2]], cwd=folder, capture_output=True)
        self.assertNotEqual(q.returncode, 0)
        q = subprocess.run(['/bin/sh', '-c', cmds[1]], cwd=folder, capture_output=True)
        self.assertNotEqual(q.returncode, 0)

        # one flipped byte anywhere in the bundle: in the data of every member,
        # in a header, in padding, in the end blocks
        raw = bytearray(r.raw)
        with tarfile.open(bundle) as t:
            offsets = [(m.name, m.offset_data + m.size // 2) for m in t.getmembers() if m.size]
            first = t.getmembers()[0]
            last = t.getmembers()[-1]
        offsets.append(('header', first.offset + 20))
        pad_at = last.offset_data + last.size
        if last.size % 512:
            offsets.append(('padding', pad_at + 1))
        offsets.append(('end block', len(raw) - 100))
        for what, at in offsets:
            tampered = bytearray(raw)
            tampered[at] ^= 0x01
            path = os.path.join(work, 't.tar')
            with open(path, 'wb') as f:
                f.write(tampered)
            rc, out = vverify(path, '--key', pub)
            self.assertEqual(rc, 1, (what, out))
            short = what.split('/', 1)[-1]
            if what not in ('header', 'padding', 'end block'):
                self.assertIn(short, out, (what, out))
        # another key: refused
        other = os.path.join(work, 'other.pem')
        subprocess.run(['openssl', 'genpkey', '-algorithm', 'ed25519', '-out', other + '.key'],
                       check=True, capture_output=True)
        subprocess.run(['openssl', 'pkey', '-in', other + '.key', '-pubout', '-out', other],
                       check=True, capture_output=True)
        rc, out = vverify(bundle, '--key', other)
        self.assertEqual(rc, 1, out)
        self.assertIn('signature', out)
        # truncated bundle
        with open(os.path.join(work, 'short.tar'), 'wb') as f:
            f.write(raw[:len(raw) // 2])
        rc, out = vverify(os.path.join(work, 'short.tar'))
        self.assertEqual(rc, 1, out)

    async def test_large_file_streamed(self):
        """A 96 MiB archive file is served whole, by Range and in a bundle
        without the daemon's peak memory growing by anything like its size."""
        d, w = self.daemon, self.world
        rid, hid, p, rdir = self.make_recording('T/REC-LARGE')
        big = os.path.join(rdir, 'archive', 'hearing.webm')
        block = hashlib.sha256(b'x').digest() * 32768  # 1 MiB
        with open(big, 'wb') as f:
            for i in range(96):
                f.write(block[:-1] + bytes([i]))
        q = d.vejctl('recordings', 'seal', rid, '--data-dir', d.data_dir, '--json')
        self.assertEqual(q.returncode, 0, q.stderr)

        def peak_kib():
            with open('/proc/%d/status' % d.proc.pid) as f:
                return int(re.search(r'VmHWM:\s+(\d+)', f.read()).group(1))

        before = peak_kib()
        size = os.path.getsize(big)
        r = self.evid('GET', '/recordings/%s/files/archive/hearing.webm' % rid, timeout=120)
        self.assertEqual(r.status, 200)
        self.assertEqual(len(r.raw), size)
        with open(big, 'rb') as f:
            self.assertEqual(hashlib.sha256(r.raw).digest(), hashlib.sha256(f.read()).digest())
        r = self.evid('GET', '/recordings/%s/files/archive/hearing.webm' % rid,
                      headers={'Range': 'bytes=%d-%d' % (size - 3 * 2**20, size - 1)}, timeout=120)
        self.assertEqual((r.status, len(r.raw)), (206, 3 * 2**20))
        r = self.evid('GET', '/recordings/%s/bundle' % rid, timeout=120)
        self.assertEqual(r.status, 200)
        self.assertGreater(len(r.raw), size)
        grown = peak_kib() - before
        # (ASan's quarantine keeps freed buffers resident: allow half the file)
        self.assertLess(grown, 48 * 1024, 'peak RSS grew by %d KiB serving 96 MiB files' % grown)
        r = self.evid('POST', '/recordings/%s/verify' % rid, {}, timeout=120)
        self.assertIs(r.body['ok'], True, r.body)

    async def test_vejctl_recordings(self):
        d, w = self.daemon, self.world
        rid, hid, p, rdir = self.make_recording('T/REC-CLI')
        env_tok = w.token('evidential')
        work = tempfile.mkdtemp(prefix='vej-cli-')
        self.addCleanup(shutil.rmtree, work, True)
        common = ['--url', d.base, '--cacert', d.cert_path, '--token', env_tok]
        q = d.vejctl('recordings', 'list', '--case', 'T/REC-CLI', *common)
        self.assertEqual(q.returncode, 0, q.stderr)
        self.assertIn(rid, q.stdout.decode())
        q = d.vejctl('recordings', 'show', rid, *common)
        self.assertEqual(q.returncode, 0, q.stderr)
        self.assertIn('signature valid', q.stdout.decode())
        q = d.vejctl('recordings', 'verify', rid, *common)
        self.assertEqual(q.returncode, 0, q.stdout + q.stderr)
        out = os.path.join(work, 'x.tar')
        q = d.vejctl('recordings', 'download', rid, '--output', out, '--reason', 'cli test',
                     *common)
        self.assertEqual(q.returncode, 0, q.stderr)
        q = d.vejctl('recordings', 'verify', out)
        self.assertEqual(q.returncode, 0, q.stdout + q.stderr)
        one = os.path.join(work, 'seg.pcap')
        q = d.vejctl('recordings', 'download', rid, '--file', 'capture/seg-000001.pcap',
                     '--output', one, *common)
        self.assertEqual(q.returncode, 0, q.stderr)
        with open(one, 'rb') as f, open(os.path.join(rdir, 'capture/seg-000001.pcap'), 'rb') as g:
            self.assertEqual(f.read(), g.read())
        q = d.vejctl('keys', *common)
        self.assertEqual(q.returncode, 0, q.stderr)
        self.assertIn(self.evid('GET', '/keys').body['fingerprint'], q.stdout.decode())
        # a clerk's token is refused
        q = d.vejctl('recordings', 'download', rid, '--output', os.path.join(work, 'y.tar'),
                     '--url', d.base, '--cacert', d.cert_path, '--token', w.token('clerk'))
        self.assertEqual(q.returncode, 1)
        self.assertIn('4003', q.stderr.decode())
        self.assertFalse(os.path.exists(os.path.join(work, 'y.tar')))
        # a second seal is revision 2 and names the first
        q = d.vejctl('recordings', 'seal', rid, '--data-dir', d.data_dir, '--json')
        self.assertEqual(q.returncode, 0, q.stderr)
        m = self.evid('GET', '/recordings/%s' % rid).body
        self.assertEqual(m['manifest']['revision'], 2)
        self.assertEqual(m['manifest']['replaces']['revision'], 1)
        r = self.evid('POST', '/recordings/%s/verify' % rid, {})
        self.assertIs(r.body['ok'], True, r.body)
        self.assertIn('revisions/manifest-0001.json', [f['name'] for f in r.body['files']])

    async def test_retention_and_legal_hold(self):
        d, w = self.daemon, self.world
        since = harness.now_utc() - datetime.timedelta(seconds=2)
        old, _, _, old_dir = self.make_recording('T/REC-OLD', closed_days_ago=40)
        held, _, _, held_dir = self.make_recording('T/REC-HELD', closed_days_ago=40)
        young, _, _, young_dir = self.make_recording('T/REC-YOUNG', closed_days_ago=1)
        # a hold needs evidential staff and a reason
        r = self.evid('POST', '/recordings/%s/hold' % held, {'hold': True})
        self.assertApiError(r, 400, -32602)
        r = d.api('POST', '/recordings/%s/hold' % held, {'hold': True, 'reason': 'appeal'},
                  token=w.token('clerk'))
        self.assertApiError(r, 403, 4003)
        r = self.evid('POST', '/recordings/%s/hold' % held, {'hold': True, 'reason': 'appeal'})
        self.assertEqual(r.status, 200, r)
        self.assertIs(r.body['legal_hold']['hold'], True)
        self.assertEqual(r.body['legal_hold']['reason'], 'appeal')
        q = d.vejctl('recordings', 'sweep', '--data-dir', d.data_dir)
        self.assertEqual(q.returncode, 0, q.stderr)
        # the court's retention is 30 days: the old one lost its media
        r = self.evid('GET', '/recordings/%s' % old)
        self.assertIs(r.body['media_deleted'], True, r.body)
        self.assertIsNotNone(r.body['media_deleted_at'])
        self.assertEqual(r.body['manifest']['recording_id'], old)  # the record stays
        self.assertIs(r.body['signature']['valid'], True)
        self.assertFalse(os.path.exists(os.path.join(old_dir, 'capture/seg-000001.pcap')))
        self.assertFalse(os.path.exists(os.path.join(old_dir, 'archive/hearing.webm')))
        for kept in ('manifest.json', 'manifest.sig', 'SHA256SUMS', 'capture.json',
                     'archive/archive.json'):
            self.assertTrue(os.path.exists(os.path.join(old_dir, kept)), kept)
        r = self.evid('GET', '/recordings/%s/files/capture/seg-000001.pcap' % old)
        self.assertApiError(r, 404, 4004)
        self.assertIn('retention', r.body['error']['message'])
        r = self.evid('GET', '/recordings/%s/bundle' % old)
        self.assertApiError(r, 409, 4009)
        r = self.evid('POST', '/recordings/%s/verify' % old, {})
        self.assertIs(r.body['ok'], False)
        self.assertIsNotNone(r.body['media_deleted_at'])
        self.assertIs(r.body['manifest_signature_ok'], True)
        gone = {f['name']: f.get('problem') for f in r.body['files'] if not f['ok']}
        self.assertEqual(gone.get('capture/seg-000001.pcap'), 'deleted at the end of retention')
        self.assertNotIn('manifest.json', gone)
        # held and young ones are whole
        for rid, rdir in ((held, held_dir), (young, young_dir)):
            self.assertTrue(os.path.exists(os.path.join(rdir, 'capture/seg-000001.pcap')))
            self.assertIs(self.evid('GET', '/recordings/%s' % rid).body['media_deleted'], False)
        # released, the gateway's own sweep (at start) takes it
        r = self.evid('POST', '/recordings/%s/hold' % held, {'hold': False})
        self.assertEqual(r.status, 200, r)
        self.assertIs(r.body['legal_hold']['hold'], False)
        d.restart()
        deadline = time.monotonic() + 10
        while os.path.exists(os.path.join(held_dir, 'capture/seg-000001.pcap')) and \
                time.monotonic() < deadline:
            time.sleep(0.2)
        self.assertFalse(os.path.exists(os.path.join(held_dir, 'capture/seg-000001.pcap')))
        self.assertTrue(os.path.exists(os.path.join(young_dir, 'capture/seg-000001.pcap')))
        entries = self.audit_since(since)
        deleted = {e['target']: e for e in entries if e['action'] == 'recording.media_deleted'}
        self.assertEqual(set(deleted), {old, held})
        self.assertEqual(deleted[old]['actor'], 'vejctl')
        self.assertEqual(deleted[held]['actor'], 'system')
        self.assertEqual(deleted[old]['detail']['retention_days'], 30)
        holds = [e for e in entries if e['action'] in ('recording.hold', 'recording.release')]
        self.assertEqual([e['action'] for e in holds], ['recording.hold', 'recording.release'])
        self.assertEqual(holds[0]['detail']['reason'], 'appeal')


if __name__ == '__main__':
    harness.main()
