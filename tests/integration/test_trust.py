"""Control-plane trust, tried as an attacker with a clerk account would.

Bench rights only for staff accounts (docs/protocol.md "Join tokens",
"Sessions, grace period and takeover", "Who may act on whom"; docs/api.md
participants): the participant API refuses the judge and clerk roles; a
staff account's entry has no join link (reissue: 409) and a link forged for
it is refused; a clerk cannot mute, move, screen or remove the judge; a
join link used again while its participant is live sends that participant
back to the lobby and tells the bench; removal is final; mutes survive a
rejoin.
"""

import asyncio
import os
import sqlite3
import sys
import glob
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import pid_of, party, jws_header, jws_claims  # noqa: E402


class BenchTest(harness.DaemonTestCase):

    def db(self):
        dbs = glob.glob(os.path.join(self.daemon.data_dir, '*.db'))
        self.assertTrue(dbs, os.listdir(self.daemon.data_dir))
        return sqlite3.connect(dbs[0], timeout=10)

    def forge_link(self, template, pid, hid, role, ver=1):
        """A join token signed with the gateway's own key for another entry
        (what anyone holding the key, or the reissue route of old, could make)."""
        key = harness.find_signing_key(self.daemon, template)
        claims = dict(jws_claims(template))
        claims.update({'pid': pid, 'hid': hid, 'role': role, 'ver': ver})
        return harness.forge(key, jws_header(template), claims)

    async def open_hearing(self):
        w = self.world
        hid = w.new_hearing()
        self.assertEqual(w.set_state(hid, 'open').status, 200)
        return hid

    async def test_bench_roles_refused_by_participant_api(self):
        w, d = self.world, self.daemon
        hid = await self.open_hearing()
        for role in ('judge', 'clerk'):
            r = d.api('POST', '/hearings/%s/participants' % hid,
                      {'display_name': 'Fake ' + role, 'role': role}, token=w.token('clerk'))
            self.assertApiError(r, 400, -32602, 'a plain %s entry' % role)
            self.assertIn('role', r.body['error']['message'])
        self.assertEqual([p for p in w.participants(hid) if p['role'] in ('judge', 'clerk')], [])
        # other roles still work
        w.add_participant(hid, 'Wanda Witness', 'witness')

    async def test_legacy_bench_entry_link_refused(self):
        """A plain entry with a bench role made before the rule (a row in an
        older database) cannot be used through its link."""
        w = self.world
        hid = await self.open_hearing()
        p = w.add_participant(hid, 'Old Entry', 'observer')
        db = self.db()
        db.execute("UPDATE participants SET role = 'judge' WHERE id = ?", (p['participant_id'],))
        db.commit()
        db.close()
        link = self.forge_link(p['join_token'], p['participant_id'], hid, 'judge')
        rpc = await self.ws('legacy')
        err = await self.assertRpcError(rpc, 'session.hello', {'token': link}, 4001)
        self.assertIn('staff', err['message'])

    async def test_clerk_as_judge_path(self):
        """Reissue for the judge's entry refused, a forged link for it refused,
        the judge's socket untouched, the judge rejoins normally."""
        w, d = self.world, self.daemon
        hid = await self.open_hearing()
        judge = await self.staff_ws('judge', hid)
        clerk = await self.staff_ws('clerk', hid)
        jpid = judge.joined['participant_id']
        entry = [p for p in w.participants(hid) if p['id'] == jpid][0]
        self.assertEqual(entry.get('user_id'), judge.hello['identity']['user_id'])
        # the reissue route answers 409 with a reason
        r = d.api('POST', '/hearings/%s/participants/%s/token' % (hid, jpid), {},
                  token=w.token('clerk'))
        self.assertApiError(r, 409, 4009, 'reissue for a staff entry')
        self.assertIn('staff', r.body['error']['message'])
        self.assertNotIn('join_token', r.body)
        # a link for the judge's entry, however obtained, reaches nothing
        plain = w.add_participant(hid, 'Tom Template', 'observer')
        for ver in (1, 2):
            link = self.forge_link(plain['join_token'], jpid, hid, 'judge', ver)
            rpc = await self.ws('clerk-as-judge')
            await self.assertRpcError(rpc, 'session.hello', {'token': link}, 4001)
            await self.assertRpcError(rpc, 'hearing.mute', {'participant_id': plain[
                'participant_id'], 'kind': 'audio', 'muted': True}, 4001)
        # the judge's socket is untouched and still acts from the bench
        await asyncio.sleep(0.3)
        self.assertFalse(judge.closed.is_set(), 'the judge socket was closed')
        self.assertEqual([n for n in judge.notes if n.method == 'session.closing'], [])
        again = await judge.call('hearing.join', {'hearing_id': hid})
        self.assertEqual(again['place'], 'main')
        await judge.call('hearing.set_state', {'state': 'in_session'})
        # the judge rejoins from a new socket: own token, same entry, no takeover by others
        judge2 = await self.staff_ws('judge', hid)
        self.assertEqual(judge2.joined['participant_id'], jpid)
        self.assertEqual(judge2.joined['place'], 'main')
        await clerk.assert_no('alert', 0.3, lambda q: q.get('code') == 'link_reused')

    async def test_clerk_cannot_act_on_judge(self):
        w = self.world
        hid = await self.open_hearing()
        judge = await self.staff_ws('judge', hid)
        clerk = await self.staff_ws('clerk', hid)
        jpid = judge.joined['participant_id']
        cpid = clerk.joined['participant_id']
        for method, params in (
                ('hearing.mute', {'participant_id': jpid, 'kind': 'audio', 'muted': True}),
                ('hearing.mute', {'participant_id': jpid, 'kind': 'video', 'muted': True}),
                ('hearing.move', {'participant_id': jpid, 'place': 'lobby'}),
                ('hearing.move', {'participant_id': jpid, 'place': 'consultation:x'}),
                ('hearing.remove', {'participant_id': jpid}),
                ('hearing.set_special_measures', {'participant_id': jpid, 'special_measures': {
                    'screened_from': ['defendant']}})):
            with self.subTest(method=method, params=params):
                await self.assertRpcError(clerk, method, params, 4003, 'clerk on judge')
        await judge.assert_no('participant.muted', 0.3)
        await judge.assert_no('participant.moved', 0.1)
        self.assertFalse(judge.closed.is_set())
        me = [e for e in (await judge.call('hearing.join', {'hearing_id': hid}))['participants']
              if e['participant_id'] == jpid][0]
        self.assertEqual(me['place'], 'main')
        self.assertEqual(me['muted'], {'audio': False, 'video': False})
        entry = [p for p in w.participants(hid) if p['id'] == jpid][0]
        self.assertFalse(entry['removed'])
        self.assertEqual(entry['special_measures'].get('screened_from', []), [])
        # the judge may act on the clerk
        await judge.call('hearing.mute', {'participant_id': cpid, 'kind': 'audio',
                                          'muted': True})
        await clerk.wait_for('participant.muted', lambda q: pid_of(q) == cpid)

    async def test_takeover_goes_back_through_the_lobby(self):
        w = self.world
        hid = await self.open_hearing()
        clerk = await self.staff_ws('clerk', hid)
        judge = await self.staff_ws('judge', hid)
        p = w.add_participant(hid, 'Lena Leaked', 'defence')
        pid = p['participant_id']
        old = await self.join_ws(p)
        self.assertEqual(old.joined['place'], 'lobby')
        await clerk.wait_for('lobby.waiting', lambda q: pid_of(q) == pid)
        await clerk.call('hearing.admit', {'participant_id': pid})
        await old.wait_for('participant.admitted', lambda q: pid_of(q) == pid)
        await clerk.call('hearing.mute', {'participant_id': pid, 'kind': 'audio', 'muted': True})
        await old.wait_for('participant.muted', lambda q: pid_of(q) == pid)
        clerk.drain()
        judge.drain()
        # the same link from another connection
        new = await self.ws('second-device')
        hello = await new.call('session.hello', {'token': p['join_token']})
        self.assertEqual(hello['identity']['participant_id'], pid)
        self.assertEqual(await old.wait_closed(), 4009)
        for staff in (clerk, judge):
            waiting = await staff.wait_for('lobby.waiting', lambda q: pid_of(q) == pid)
            self.assertEqual(waiting['hearing_id'], hid)
            alert = await staff.wait_for('alert', lambda q: q['code'] == 'link_reused')
            self.assertEqual(alert['participant_id'], pid)
            self.assertEqual(alert['severity'], 'warning')
            self.assertIn('another connection', alert['message'])
            moved = await staff.wait_for('participant.moved', lambda q: pid_of(q) == pid)
            self.assertEqual(moved['place'], 'lobby')
        joined = await new.call('hearing.join', {})
        self.assertEqual(joined['place'], 'lobby')
        self.assertEqual([e['participant_id'] for e in joined['participants']], [pid],
                         'the lobby sees nobody')
        self.assertEqual(joined['participants'][0]['muted']['audio'], True,
                         'the mute survives the takeover')
        # back in by the clerk only
        await clerk.call('hearing.admit', {'participant_id': pid})
        await new.wait_for('participant.admitted', lambda q: pid_of(q) == pid)
        # session.resume still restores the same place, without an alert
        clerk.drain()
        r1 = hello['resume_token']
        self.daemon.secrets.add(r1)
        new.abort()
        await asyncio.sleep(0.2)
        back = await self.ws('resumed')
        await back.call('session.resume', {'resume_token': r1})
        self.assertEqual((await back.call('hearing.join', {}))['place'], 'main')
        await clerk.assert_no('alert', 0.5, lambda q: q.get('code') == 'link_reused')

    async def test_mutes_survive_a_rejoin(self):
        w = self.world
        hid = await self.open_hearing()
        clerk = await self.staff_ws('clerk', hid)
        p = w.add_participant(hid, 'Mo Muted', 'witness')
        pid = p['participant_id']
        rpc = await self.join_ws(p)
        await clerk.wait_for('lobby.waiting', lambda q: pid_of(q) == pid)
        await clerk.call('hearing.admit', {'participant_id': pid})
        await clerk.call('hearing.mute', {'participant_id': pid, 'kind': 'video', 'muted': True})
        await rpc.wait_for('participant.muted', lambda q: pid_of(q) == pid)
        await rpc.call('hearing.leave', {})
        await clerk.wait_for('participant.left', lambda q: pid_of(q) == pid)
        again = await rpc.call('hearing.join', {})
        me = [e for e in again['participants'] if e['participant_id'] == pid][0]
        self.assertEqual(me['muted'], {'audio': False, 'video': True})
        seen = await clerk.wait_for('lobby.waiting', lambda q: pid_of(q) == pid)
        self.assertEqual(party(seen)['muted']['video'], True)

    async def test_removal_is_final(self):
        w = self.world
        hid = await self.open_hearing()
        judge = await self.staff_ws('judge', hid)
        clerk = await self.staff_ws('clerk', hid)
        cpid = clerk.joined['participant_id']
        p = w.add_participant(hid, 'Rex Removed', 'observer')
        rpc = await self.join_ws(p)
        await judge.call('hearing.remove', {'participant_id': p['participant_id']})
        self.assertEqual(await rpc.wait_closed(), 1000)
        again = await self.ws('removed-again')
        await self.assertRpcError(again, 'session.hello', {'token': p['join_token']}, 4001)
        r = self.daemon.api('POST', '/hearings/%s/participants/%s/token'
                            % (hid, p['participant_id']), {}, token=w.token('clerk'))
        self.assertApiError(r, 404, 4004, 'reissue after removal')
        # a staff account removed from a hearing cannot join it again
        await judge.call('hearing.remove', {'participant_id': cpid})
        await clerk.wait_closed()
        back = await self.staff_ws('clerk')
        await self.assertRpcError(back, 'hearing.join', {'hearing_id': hid}, 4003)
        self.assertEqual(len([x for x in w.participants(hid) if x.get('user_id') ==
                              clerk.hello['identity']['user_id'] and not x['removed']]), 0)


if __name__ == '__main__':
    harness.main()
