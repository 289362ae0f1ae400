"""Signed audit heads (docs/architecture.md "Signed audit heads"): the
gateway signs the audit chain's head every audit_head_interval_s and at
shutdown into DATA_DIR/audit-heads.log; GET /api/v1/audit/head shows the last
one; `vejctl audit verify` checks the chain and every signed head, so that a
truncated log, a log rewritten with a recomputed chain, a flipped byte in a
signed head, and a flipped byte in an entry are all detected."""

import hashlib
import json
import os
import shutil
import sqlite3
import struct
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402


def encode(seq, ts_us, actor, action, target, detail):
    """The VEJAUDIT1 canonical encoding (store/audit.c)."""
    out = b'VEJAUDIT1' + struct.pack('>qq', seq, ts_us)
    for s in (actor, action, target, detail):
        b = s.encode('utf-8')
        out += struct.pack('>I', len(b)) + b
    return out


class AuditHeadsTest(harness.DaemonTestCase):
    overrides = {'store': {'audit_head_interval_s': 10}}

    def copy_data(self):
        """A copy of the data directory (stopped daemon) to tamper with."""
        root = tempfile.mkdtemp(prefix='vej-heads-')
        self.addCleanup(shutil.rmtree, root, True)
        dst = os.path.join(root, 'data')
        shutil.copytree(self.daemon.data_dir, dst)
        return dst

    def verify(self, data_dir, *extra):
        p = self.daemon.vejctl('audit', 'verify', '--json', '--data-dir', data_dir, *extra)
        out = p.stdout.decode()
        return p.returncode, (json.loads(out) if out.strip() else None), p.stderr.decode()

    def tamper_db(self, data_dir):
        """The database of a copy, with the append-only triggers dropped (as
        someone with access to the file could)."""
        db = sqlite3.connect(os.path.join(data_dir, 'vej.db'))
        for t in ('audit_log_no_update', 'audit_log_no_delete'):
            db.execute('DROP TRIGGER %s' % t)
        return db

    def heads(self, data_dir):
        with open(os.path.join(data_dir, 'audit-heads.log')) as f:
            return [line.split() for line in f.read().splitlines()]

    async def test_signed_heads(self):
        d, w = self.daemon, self.world
        # the interval timer signs a head once the chain has grown
        deadline = time.monotonic() + 25
        head = None
        while time.monotonic() < deadline:
            r = d.api('GET', '/audit/head', token=w.token('admin'))
            self.assertEqual(r.status, 200, r)
            head = r.body.get('signed')
            if head:
                break
            time.sleep(1)
        self.assertTrue(head, 'no signed head within 25 s: %r' % r.body)
        keys = d.api('GET', '/keys', token=w.token('evidential'))
        self.assertEqual(keys.status, 200, keys)
        self.assertEqual(head['key_fingerprint'], keys.body['fingerprint'])
        self.assertRegex(head['signature'], r'^[0-9a-f]{128}$')
        # and at shutdown
        d.stop()
        lines = self.heads(d.data_dir)
        self.assertGreaterEqual(len(lines), 2, lines)
        rc, out, err = self.verify(d.data_dir)
        self.assertEqual(rc, 0, (out, err))
        self.assertIs(out['ok'], True)
        self.assertEqual(out['signed_heads'], len(lines))
        self.assertEqual(int(lines[-1][0]), out['head_seq'])
        # against the published public key
        pem = os.path.join(tempfile.mkdtemp(prefix='vej-key-'), 'public-key.pem')
        self.addCleanup(shutil.rmtree, os.path.dirname(pem), True)
        with open(pem, 'w') as f:
            f.write(keys.body['public_key_pem'])
        rc, out, err = self.verify(d.data_dir, '--key', pem)
        self.assertEqual(rc, 0, (out, err))
        last_seq = int(lines[-1][0])

        # truncation: the last entries deleted; the chain itself is intact
        t = self.copy_data()
        db = self.tamper_db(t)
        db.execute('DELETE FROM audit_log WHERE seq > ?', (last_seq - 2,))
        db.commit()
        db.close()
        rc, out, err = self.verify(t)
        self.assertEqual(rc, 1, (out, err))
        self.assertIn('truncated', out['reason'])

        # rewrite: an entry changed and the chain recomputed from there
        t = self.copy_data()
        db = self.tamper_db(t)
        rows = db.execute('SELECT seq, ts_us, actor, action, target, detail, prev_hash, hash '
                          'FROM audit_log ORDER BY seq').fetchall()
        prev = bytes(32)
        for i, (seq, ts, actor, action, target, detail, ph, h) in enumerate(rows):
            if i == 2:
                target = 'usr_someoneelse'
            nh = hashlib.sha256(prev + encode(seq, ts, actor, action, target, detail)).digest()
            db.execute('UPDATE audit_log SET target=?, prev_hash=?, hash=? WHERE seq=?',
                       (target, prev, nh, seq))
            prev = nh
        db.commit()
        db.close()
        rc, out, err = self.verify(t)
        self.assertEqual(rc, 1, (out, err))
        self.assertIn('rewritten', out['reason'])

        # a flipped byte in a signed head's signature (or hash)
        for field in (4, 1):
            t = self.copy_data()
            path = os.path.join(t, 'audit-heads.log')
            lines = self.heads(t)
            c = lines[0][field]
            lines[0][field] = ('1' if c[0] != '1' else '2') + c[1:]
            with open(path, 'w') as f:
                f.write(''.join(' '.join(l) + '\n' for l in lines))
            rc, out, err = self.verify(t)
            self.assertEqual(rc, 1, (field, out, err))

        # a flipped byte in an entry: the chain breaks
        t = self.copy_data()
        db = self.tamper_db(t)
        db.execute("UPDATE audit_log SET action = 'user.creatf' WHERE seq = 1")
        db.commit()
        db.close()
        rc, out, err = self.verify(t)
        self.assertEqual(rc, 1, (out, err))
        self.assertEqual(out['first_bad_seq'], 1)

        # another key does not verify the heads
        other = tempfile.mkdtemp(prefix='vej-other-')
        self.addCleanup(shutil.rmtree, other, True)
        subprocess_key = os.path.join(other, 'k.pem')
        import subprocess
        subprocess.run(['openssl', 'genpkey', '-algorithm', 'ed25519', '-out', subprocess_key],
                       check=True, capture_output=True)
        subprocess.run(['openssl', 'pkey', '-in', subprocess_key, '-pubout', '-out',
                        subprocess_key + '.pub'], check=True, capture_output=True)
        rc, out, err = self.verify(d.data_dir, '--key', subprocess_key + '.pub')
        self.assertEqual(rc, 1, (out, err))
        self.assertIn('another key', out['reason'])
        d.start()


if __name__ == '__main__':
    harness.main()
