"""State survives a restart on the same data directory, and the audit chain
stays intact and keeps growing (DESIGN.md 6: hash-chained audit log, head
served at /api/v1/audit/head; `vejctl audit verify`)."""

import asyncio
import json
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import party, pid_of  # noqa: E402


def audit_verify(daemon):
    """Runs `vejctl audit verify --data-dir`; returns (exit status, text, count)."""
    p = daemon.vejctl('audit', 'verify', '--data-dir', daemon.data_dir)
    text = (p.stdout + p.stderr).decode('utf-8', 'replace')
    m = re.search(r'(\d+)\s+(?:audit\s+)?entr', text) or re.search(r'(?i)count\D{0,5}(\d+)', text) \
        or re.search(r'(\d+)', text)
    return p.returncode, text, (int(m.group(1)) if m else None)


class RestartTest(harness.DaemonTestCase):

    def head(self):
        r = self.daemon.api('GET', '/audit/head', token=self.world.token('admin'))
        self.assertEqual(r.status, 200, r)
        self.assertIsInstance(r.body.get('seq'), int, r.body)
        self.assertIsInstance(r.body.get('hash'), str, r.body)
        self.assertRegex(r.body['hash'], r'^[0-9a-f]{64}$')
        return r.body

    async def test_restart_keeps_everything(self):
        d, w = self.daemon, self.world
        hid = w.new_hearing(case_reference='T/RESTART', title='R v Persist')
        self.assertEqual(w.set_state(hid, 'open').status, 200)
        p = w.add_participant(hid, 'Pat Persist', 'witness',
                              {'screened_from': ['defendant'], 'audio_only': True,
                               'anonymous': False})
        rpc = await self.join_ws(p)
        self.assertEqual(rpc.joined['place'], 'lobby')
        await rpc.close()

        courtrooms = d.api('GET', '/courtrooms', token=w.token('clerk')).body['items']
        hearing = harness.stable(w.hearing(hid))
        participants = harness.stable(w.participants(hid))
        head1 = self.head()
        self.assertGreater(head1['seq'], 0, 'logins, creates and the state change are audited')
        rc, text, count1 = audit_verify(d)
        self.assertEqual(rc, 0, 'vejctl audit verify on the live daemon: ' + text)
        self.assertRegex(text.lower(), r'intact|\bok\b', text)
        self.assertIsNotNone(count1, text)
        self.assertGreaterEqual(count1, head1['seq'])

        # stop: exit 0 within 10 s, no sanitizer report
        elapsed = d.stop()
        self.assertLess(elapsed, 10)
        rc, text, count_stopped = audit_verify(d)
        self.assertEqual(rc, 0, text)
        self.assertGreater(count_stopped, count1, 'the shutdown is audited: ' + text)

        d.start()
        # logins work with the passwords set before the restart
        for who in ('admin', 'clerk', 'judge', 'evidential'):
            w.tokens[who] = d.login(who, harness.STAFF_PASSWORDS[who])['token']
        r = d.api('POST', '/login', {'username': 'admin', 'password': d.admin_initial_password})
        self.assertApiError(r, 401, 4001, 'the initial admin password is gone')
        # staff sessions issued before the restart: still valid (stored hashed)
        # or refused with 4001; never anything else
        r = d.api('GET', '/courtrooms', token=w.token('clerk'))
        self.assertEqual(r.status, 200, r)
        self.assertEqual(harness.stable(r.body['items']), harness.stable(courtrooms))
        self.assertEqual(harness.stable(w.hearing(hid)), hearing)
        self.assertEqual(harness.stable(w.participants(hid)), participants)
        r = d.api('GET', '/hearings', token=w.token('clerk'))
        self.assertIn(hid, [h['id'] for h in r.body['items']])
        # the join link still works (the token key persisted)
        rpc = await self.join_ws(p, name='after-restart')
        self.assertEqual(rpc.hello['identity']['participant_id'], p['participant_id'])
        self.assertEqual(rpc.joined['hearing']['state'], 'open')

        head2 = self.head()
        self.assertGreater(head2['seq'], head1['seq'])
        rc, text, count2 = audit_verify(d)
        self.assertEqual(rc, 0, text)
        self.assertRegex(text.lower(), r'intact|\bok\b', text)
        self.assertGreaterEqual(count2, head2['seq'])
        self.assertGreater(count2, count_stopped, 'the start is audited')
        # head and verify agree once the daemon is quiet
        await rpc.close()
        d.stop()
        rc, text, count3 = audit_verify(d)
        self.assertEqual(rc, 0, text)
        d.start()
        w.tokens['admin'] = d.login('admin', harness.STAFF_PASSWORDS['admin'])['token']
        head3 = self.head()
        self.assertGreaterEqual(head3['seq'], count3)
        # with the daemon idle, the served head is the chain's head
        rc, text, count4 = audit_verify(d)
        self.assertEqual(rc, 0, text)
        if count4 == head3['seq']:
            self.assertIn(head3['hash'], text, 'vejctl and /audit/head disagree: ' + text)
        # entries are listable by the admin
        r = d.api('GET', '/audit', token=w.token('admin'))
        self.assertEqual(r.status, 200, r)
        self.assertIsInstance(r.body.get('items'), list)
        self.assertGreater(len(r.body['items']), 0)

    async def test_mutes_survive_a_restart(self):
        """A participant the court muted comes back muted after the gateway
        restarts (the mutes are saved when they change); an unmute is saved
        too."""
        d, w = self.daemon, self.world
        hid = w.new_hearing(case_reference='T/MUTES', title='R v Quiet')
        self.assertEqual(w.set_state(hid, 'open').status, 200)
        mo = w.add_participant(hid, 'Mo Muted', 'defendant')
        una = w.add_participant(hid, 'Una Unmuted', 'witness')
        clerk = await self.staff_ws('clerk', hid)
        socks = [await self.join_ws(x) for x in (mo, una)]
        for x in (mo, una):
            await clerk.call('hearing.admit', {'participant_id': x['participant_id']})
        await clerk.call('hearing.mute', {'participant_id': mo['participant_id'], 'kind': 'audio',
                                          'muted': True})
        for kind, muted in (('video', True), ('audio', True), ('video', False),
                            ('audio', False)):
            await clerk.call('hearing.mute', {'participant_id': una['participant_id'],
                                              'kind': kind, 'muted': muted})
        for rpc in socks + [clerk]:
            await rpc.close()

        self.assertLess(d.stop(), 10)
        d.start()
        for who in ('admin', 'clerk'):
            w.tokens[who] = d.login(who, harness.STAFF_PASSWORDS[who])['token']
        clerk = await self.staff_ws('clerk', hid)
        socks = [await self.join_ws(x, name=x['display_name'] + ' again') for x in (mo, una)]
        seen = {}
        for x in (mo, una):
            await clerk.call('hearing.admit', {'participant_id': x['participant_id']})
            adm = await clerk.wait_for('participant.admitted',
                                       lambda q, x=x: pid_of(q) == x['participant_id'])
            seen[x['display_name']] = party(adm)['muted']
        self.assertEqual(seen['Mo Muted'], {'audio': True, 'video': False}, seen)
        self.assertEqual(seen['Una Unmuted'], {'audio': False, 'video': False}, seen)
        # the participant is told so too
        own = await socks[0].wait_for('participant.admitted',
                                      lambda q: pid_of(q) == mo['participant_id'])
        self.assertEqual(party(own)['muted'], {'audio': True, 'video': False}, own)
        for rpc in socks + [clerk]:
            await rpc.close()

    async def test_audit_trail(self):
        """DESIGN.md 4: every transition, admission, move, mute and
        special-measures change is audited; failed logins too (6); no
        secret ever enters the log."""
        import datetime
        d, w = self.daemon, self.world
        since = harness.now_utc() - datetime.timedelta(seconds=2)
        hid = w.new_hearing()
        self.assertEqual(w.set_state(hid, 'open').status, 200)
        p = w.add_participant(hid, 'Audrey Audit', 'witness')
        clerk = await self.staff_ws('clerk', hid)
        rpc = await self.join_ws(p)
        pid = p['participant_id']
        await clerk.call('hearing.admit', {'participant_id': pid})
        await clerk.call('hearing.move', {'participant_id': pid, 'place': 'consultation:a1'})
        await clerk.call('hearing.move', {'participant_id': pid, 'place': 'main'})
        await clerk.call('hearing.mute', {'participant_id': pid, 'kind': 'audio', 'muted': True})
        await clerk.call('hearing.set_special_measures', {
            'participant_id': pid, 'special_measures': {'screened_from': ['defendant'],
                                                        'audio_only': False,
                                                        'anonymous': False}})
        await clerk.call('hearing.set_state', {'state': 'in_session'})
        await clerk.call('hearing.remove', {'participant_id': pid})
        await rpc.wait_closed()
        r = d.api('POST', '/login', {'username': 'clerk', 'password': 'definitely-wrong-pw'})
        self.assertEqual(r.status, 401)
        await asyncio.sleep(0.5)  # group commit
        entries = harness.audit_entries(d, w.token('admin'), since)
        self.assertTrue(entries)
        for e in entries:
            for k in ('seq', 'actor', 'action', 'target'):
                self.assertIn(k, e, e)

        def word_in(word, action):
            return re.search(r'(^|[._])%s($|[._])' % word, action) is not None

        def has(word, target):
            return any(word_in(word, e['action']) and e.get('target') == target
                       for e in entries)
        for word, target in (('state', hid), ('admit', pid), ('move', pid), ('mute', pid),
                             ('remove', pid), ('create', hid), ('create', pid)):
            self.assertTrue(has(word, target), 'no audited %s of %s in %r'
                            % (word, target, [(e['action'], e['target']) for e in entries]))
        self.assertTrue(any(('special' in e['action'] or 'update' in e['action'])
                            and e['target'] == pid for e in entries), 'special measures')
        self.assertTrue(any('login' in e['action'] and 'fail' in e['action'] for e in entries))
        moves = [e for e in entries if word_in('move', e['action']) and e['target'] == pid]
        self.assertEqual(len(moves), 2)
        # entries are in sequence, and nothing secret is in them
        seqs = [e['seq'] for e in entries]
        self.assertEqual(seqs, sorted(seqs))
        self.assertEqual(len(seqs), len(set(seqs)))
        text = json.dumps(entries)
        for s in list(d.secrets) + ['definitely-wrong-pw']:
            if len(s) >= 8:
                self.assertNotIn(s, text, 'a secret is in the audit log')

    async def test_audit_tamper_detected(self):
        """Sanity of the verifier on a copy: flipping a stored byte is found."""
        import shutil
        import sqlite3
        d = self.daemon
        dbs = [f for f in os.listdir(d.data_dir) if f.endswith(('.db', '.sqlite', '.sqlite3'))]
        self.assertTrue(dbs, 'no SQLite file in the data directory: %r' % os.listdir(d.data_dir))
        copy = harness.Daemon(name='tamper-copy')
        try:
            os.makedirs(copy.data_dir)
            r = d.api('GET', '/audit/head', token=self.world.token('admin'))
            self.assertEqual(r.status, 200)
            src = sqlite3.connect('file:%s?mode=ro' % os.path.join(d.data_dir, dbs[0]), uri=True)
            dst = sqlite3.connect(os.path.join(copy.data_dir, dbs[0]))
            src.backup(dst)
            src.close()
            tables = [t for (t,) in dst.execute(
                "SELECT name FROM sqlite_master WHERE type='table' AND name LIKE '%audit%'")]
            if not tables:
                dst.close()
                self.skipTest('no audit table')
            table = tables[0]
            cols = [c[1] for c in dst.execute('PRAGMA table_info(%s)' % table)]
            if 'action' not in cols:
                dst.close()
                self.skipTest('audit table without an action column: %r' % cols)
            # the copy is ours: lift its append-only triggers to simulate an
            # attacker with write access to the file
            for (trig,) in dst.execute("SELECT name FROM sqlite_master WHERE type='trigger' "
                                       "AND tbl_name=?", (table,)).fetchall():
                dst.execute('DROP TRIGGER "%s"' % trig)
            dst.execute("UPDATE %s SET action = action || 'x' WHERE rowid = "
                        "(SELECT min(rowid) FROM %s)" % (table, table))
            dst.commit()
            dst.close()
            shutil.copytree(os.path.join(d.data_dir, 'secrets'),
                            os.path.join(copy.data_dir, 'secrets'))
            rc, text, _ = audit_verify(copy)
            self.assertNotEqual(rc, 0, 'a modified entry went unnoticed: ' + text)
        finally:
            copy.cleanup()


if __name__ == '__main__':
    harness.main()
