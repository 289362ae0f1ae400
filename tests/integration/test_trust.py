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
import datetime
import http.client
import json
import os
import sqlite3
import subprocess
import sys
import glob
import re
import time

import websockets
import websockets.exceptions

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
        r = self.daemon.api('PATCH', '/hearings/%s/participants/%s' % (hid, jpid),
                            {'special_measures': {'screened_from': ['defendant']}},
                            token=w.token('clerk'))
        self.assertApiError(r, 403, 4003, 'clerk screening the judge over REST')
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


def make_account(test, name, role, courtrooms=None):
    """An account made through POST /users, its one-time password changed;
    returns (user, token)."""
    d, w = test.daemon, test.world
    body = {'username': name, 'role': role}
    if courtrooms is not None:
        body['courtrooms'] = courtrooms
    r = d.api('POST', '/users', body, token=w.token('admin'))
    test.assertEqual(r.status, 201, r)
    user, otp = r.body, r.body['password']
    d.secrets.add(otp)
    test.assertTrue(user['must_change_password'])
    first = d.login(name, otp)
    test.assertTrue(first['must_change_password'])
    new = name + '-chosen-password-01'
    d.secrets.add(new)
    r = d.api('POST', '/account/password', {'current_password': otp, 'new_password': new},
              token=first['token'])
    test.assertEqual(r.status, 200, r)
    d.secrets.add(r.body['token'])
    w.tokens[name] = r.body['token']
    w.user_ids[name] = user['id']
    return user, r.body['token']


class ScopeTest(harness.DaemonTestCase):
    """Staff act only within their courtrooms; deny by default."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        d, w = cls.daemon, cls.world
        r = d.api('POST', '/courtrooms', {'name': 'Court Two', 'retention_days': 30,
                                          'time_zone': 'UTC'}, token=w.token('admin'))
        assert r.status == 201, r
        cls.crt2 = r.body['id']

    async def test_clerk_of_another_courtroom_refused_everywhere(self):
        d, w = self.daemon, self.world
        user, tok = make_account(self, 'outsider', 'clerk', [self.crt2])
        self.assertEqual(user['courtrooms'], [self.crt2])
        hid = w.new_hearing()
        p = w.add_participant(hid, 'Pia Private', 'witness')
        pp = '/hearings/%s/participants/%s' % (hid, p['participant_id'])
        good_hearing = {'courtroom_id': w.courtroom_id, 'case_reference': 'T/OUT',
                        'title': 'nope', 'starts_at': '2026-12-01T10:00:00Z',
                        'ends_at': '2026-12-01T12:00:00Z'}
        for method, path, body in (
                ('GET', '/hearings/' + hid, None),
                ('GET', '/hearings?courtroom_id=' + w.courtroom_id, None),
                ('POST', '/hearings', good_hearing),
                ('POST', '/hearings/%s/state' % hid, {'state': 'open'}),
                ('GET', '/hearings/%s/participants' % hid, None),
                ('POST', '/hearings/%s/participants' % hid, {'display_name': 'X',
                                                             'role': 'observer'}),
                ('PATCH', pp, {'display_name': 'Changed'}),
                ('POST', pp + '/token', {})):
            with self.subTest(method=method, path=path):
                r = d.api(method, path, body, token=tok)
                self.assertApiError(r, 403, 4003, 'outsider %s %s' % (method, path))
        r = d.api('GET', '/hearings', token=tok)
        self.assertEqual(r.status, 200, r)
        self.assertNotIn(hid, r.raw.decode())
        r = d.api('GET', '/courtrooms', token=tok)
        self.assertEqual([c['id'] for c in r.body['items']], [self.crt2])
        # nothing changed
        self.assertEqual(w.hearing(hid)['state'], 'scheduled')
        self.assertEqual([x['display_name'] for x in w.participants(hid)], ['Pia Private'])
        # and on the WebSocket
        rpc = self.track(await harness.Rpc.connect(d, name='outsider'))
        await rpc.call('session.hello', {'token': tok})
        err = await self.assertRpcError(rpc, 'hearing.join', {'hearing_id': hid}, 4003)
        self.assertIn('courtroom', err['message'])
        # the admin sees every courtroom's metadata
        r = d.api('GET', '/courtrooms', token=w.token('admin'))
        self.assertEqual({w.courtroom_id, self.crt2} - {c['id'] for c in r.body['items']}, set())

    async def test_deny_by_default(self):
        d, w = self.daemon, self.world
        hid = w.new_hearing()
        for role in ('clerk', 'judge', 'evidential'):
            name = 'nobody-' + role
            user, tok = make_account(self, name, role)
            self.assertEqual(user['courtrooms'], [])
            r = d.api('GET', '/courtrooms', token=tok)
            self.assertEqual(r.body['items'], [], role)
            r = d.api('GET', '/hearings', token=tok)
            self.assertEqual(r.body['items'], [], role)
            self.assertApiError(d.api('GET', '/hearings/' + hid, token=tok), 403, 4003, role)
            if role != 'evidential':
                rpc = self.track(await harness.Rpc.connect(d, name=name))
                await rpc.call('session.hello', {'token': tok})
                await self.assertRpcError(rpc, 'hearing.join', {'hearing_id': hid}, 4003)

    async def test_clerk_creating_a_courtroom_is_assigned(self):
        d, w = self.daemon, self.world
        user, tok = make_account(self, 'founder', 'clerk')
        r = d.api('POST', '/courtrooms', {'name': 'Court Three', 'retention_days': 7,
                                          'time_zone': 'UTC'}, token=tok)
        self.assertEqual(r.status, 201, r)
        crt3 = r.body['id']
        self.assertEqual([c['id'] for c in d.api('GET', '/courtrooms', token=tok).body['items']],
                         [crt3])
        self.assertNotIn(crt3, d.api('GET', '/courtrooms', token=w.token('clerk')).raw.decode())
        r = d.api('POST', '/hearings', {'courtroom_id': crt3, 'case_reference': 'T/F1',
                                        'title': 'x', 'starts_at': '2026-12-01T10:00:00Z',
                                        'ends_at': '2026-12-01T11:00:00Z'}, token=tok)
        self.assertEqual(r.status, 201, r)
        self.assertApiError(d.api('GET', '/hearings/' + r.body['id'], token=w.token('clerk')),
                            403, 4003)
        users = {u['username']: u for u in w.users()}
        self.assertEqual(users['founder']['courtrooms'], [crt3])


class AccountsTest(harness.DaemonTestCase):
    """Account lifecycle for admins (docs/api.md "Accounts")."""

    async def test_initial_admin_password_file_deleted(self):
        path = os.path.join(self.daemon.data_dir, 'initial-admin-password')
        self.assertFalse(os.path.exists(path), 'still there after the password was changed')

    async def test_only_admins(self):
        d, w = self.daemon, self.world
        for who in ('clerk', 'judge', 'evidential'):
            for method, path, body in (('GET', '/users', None),
                                       ('POST', '/users', {'username': 'x1', 'role': 'clerk'}),
                                       ('PATCH', '/users/' + w.user_ids['judge'],
                                        {'disabled': True}),
                                       ('POST', '/users/%s/password-reset' % w.user_ids['judge'],
                                        {}),
                                       ('POST', '/users/%s/sessions/revoke'
                                        % w.user_ids['judge'], {})):
                r = d.api(method, path, body, token=w.token(who))
                self.assertApiError(r, 403, 4003, '%s %s %s' % (who, method, path))
        self.assertNotIn('x1', [u['username'] for u in w.users()])
        r = d.api('GET', '/users', token=w.token('judge'))
        self.assertNotIn(b'password_hash', r.raw)

    async def test_bad_input(self):
        d, w = self.daemon, self.world
        adm = w.token('admin')
        for body, status in (({'username': 'clerk', 'role': 'clerk'}, 409),
                             ({'username': 'ok1', 'role': 'bishop'}, 400),
                             ({'username': '', 'role': 'clerk'}, 400),
                             ({'username': 'a b', 'role': 'clerk'}, 400),
                             ({'username': 'ok2', 'role': 'clerk', 'courtrooms': 'crt_x'}, 400),
                             ({'username': 'ok3', 'role': 'clerk',
                               'courtrooms': ['crt_' + 'z' * 26]}, 404),
                             ({'username': 'ok4', 'role': 'clerk', 'password': 'x' * 20}, 400)):
            r = d.api('POST', '/users', body, token=adm)
            self.assertEqual(r.status, status, '%r: %r' % (body, r))
        self.assertEqual([u for u in w.users() if u['username'].startswith('ok')], [])
        uid = w.user_ids['judge']
        for body in ({'disabled': 'yes'}, {'role': 'bishop'}, {'username': 'judge2'},
                     {'courtrooms': ['hrg_x']}):
            r = d.api('PATCH', '/users/' + uid, body, token=adm)
            self.assertEqual(r.status, 400, '%r: %r' % (body, r))
        r = d.api('PATCH', '/users/usr_' + 'z' * 26, {'disabled': True}, token=adm)
        self.assertApiError(r, 404, 4004)
        # an admin cannot lock itself out
        r = d.api('PATCH', '/users/' + w.user_ids['admin'], {'disabled': True}, token=adm)
        self.assertApiError(r, 409, 4009)
        r = d.api('PATCH', '/users/' + w.user_ids['admin'], {'role': 'clerk'}, token=adm)
        self.assertApiError(r, 409, 4009)

    async def test_disable_closes_socket_and_refuses_login(self):
        d, w = self.daemon, self.world
        user, tok = make_account(self, 'leaver', 'clerk', [w.courtroom_id])
        since = harness.now_utc()
        hid = w.new_hearing()
        rpc = self.track(await harness.Rpc.connect(d, name='leaver'))
        await rpc.call('session.hello', {'token': tok})
        await rpc.call('hearing.join', {'hearing_id': hid})
        r = d.api('PATCH', '/users/' + user['id'], {'disabled': True}, token=w.token('admin'))
        self.assertEqual(r.status, 200, r)
        self.assertTrue(r.body['disabled'])
        closing = await rpc.wait_for('session.closing')
        self.assertEqual(closing['reason'], 'account_disabled')
        self.assertEqual(await rpc.wait_closed(), 1000)
        self.assertApiError(d.api('GET', '/courtrooms', token=tok), 401, 4001)
        r = d.api('POST', '/login', {'username': 'leaver',
                                     'password': 'leaver-chosen-password-01'})
        self.assertApiError(r, 401, 4001, 'login of a disabled account')
        ws = await self.ws('leaver-again')
        await self.assertRpcError(ws, 'session.hello', {'token': tok}, 4001)
        # enabled again: a fresh login works
        r = d.api('PATCH', '/users/' + user['id'], {'disabled': False}, token=w.token('admin'))
        self.assertEqual(r.status, 200, r)
        d.login('leaver', 'leaver-chosen-password-01')
        actions = [(e['action'], e['target']) for e in
                   harness.audit_entries(d, w.token('admin'), since)]
        self.assertIn(('user.update', user['id']), actions)

    async def test_role_or_courtroom_change_ends_sessions(self):
        d, w = self.daemon, self.world
        user, tok = make_account(self, 'mover', 'clerk', [w.courtroom_id])
        for change in ({'courtrooms': []}, {'role': 'judge'}):
            rpc = self.track(await harness.Rpc.connect(d, name='mover'))
            await rpc.call('session.hello', {'token': tok})
            r = d.api('PATCH', '/users/' + user['id'], change, token=w.token('admin'))
            self.assertEqual(r.status, 200, r)
            self.assertEqual((await rpc.wait_for('session.closing'))['reason'],
                             'account_changed', change)
            await rpc.wait_closed()
            self.assertApiError(d.api('GET', '/courtrooms', token=tok), 401, 4001, change)
            tok = d.login('mover', 'mover-chosen-password-01')['token']
        # an unchanged PATCH ends nothing
        rpc = self.track(await harness.Rpc.connect(d, name='mover-kept'))
        await rpc.call('session.hello', {'token': tok})
        r = d.api('PATCH', '/users/' + user['id'], {'role': 'judge', 'disabled': False},
                  token=w.token('admin'))
        self.assertEqual(r.status, 200, r)
        await rpc.assert_no('session.closing', 0.5)
        self.assertEqual(d.api('GET', '/courtrooms', token=tok).status, 200)

    async def test_password_reset_and_revoke(self):
        d, w = self.daemon, self.world
        user, tok = make_account(self, 'forgetful', 'judge', [w.courtroom_id])
        rpc = self.track(await harness.Rpc.connect(d, name='forgetful'))
        await rpc.call('session.hello', {'token': tok})
        r = d.api('POST', '/users/%s/password-reset' % user['id'], {}, token=w.token('admin'))
        self.assertEqual(r.status, 200, r)
        otp = r.body['password']
        d.secrets.add(otp)
        self.assertEqual((await rpc.wait_for('session.closing'))['reason'], 'password_reset')
        self.assertApiError(d.api('GET', '/courtrooms', token=tok), 401, 4001)
        r = d.api('POST', '/login', {'username': 'forgetful',
                                     'password': 'forgetful-chosen-password-01'})
        self.assertApiError(r, 401, 4001, 'old password after a reset')
        first = d.login('forgetful', otp)
        self.assertTrue(first['must_change_password'])
        self.assertApiError(d.api('GET', '/courtrooms', token=first['token']), 403, 4003)
        # sessions/revoke ends every token and socket of the account
        tok2 = d.login('judge', harness.STAFF_PASSWORDS['judge'])['token']
        rpc2 = self.track(await harness.Rpc.connect(d, name='judge-revoked'))
        await rpc2.call('session.hello', {'token': tok2})
        r = d.api('POST', '/users/%s/sessions/revoke' % w.user_ids['judge'], {},
                  token=w.token('admin'))
        self.assertEqual(r.status, 200, r)
        self.assertEqual((await rpc2.wait_for('session.closing'))['reason'], 'sessions_revoked')
        for t in (tok2, w.token('judge')):
            self.assertApiError(d.api('GET', '/courtrooms', token=t), 401, 4001)
        w.tokens['judge'] = d.login('judge', harness.STAFF_PASSWORDS['judge'])['token']

    async def test_password_reset_with_empty_body(self):
        """A POST with `Content-Length: 0` (as browsers send a body-less
        fetch) is handed to its route once: the password in the answer is the
        one that works, and one reset is audited (the asynchronous reset ran
        twice before, the second one's password stored)."""
        d, w = self.daemon, self.world
        user, _ = make_account(self, 'emptybody', 'clerk', [w.courtroom_id])
        since = harness.now_utc()
        p = subprocess.run(['curl', '-sS', '--cacert', d.cert_path, '-X', 'POST',
                            '-H', 'Authorization: Bearer ' + w.token('admin'),
                            '-H', 'Content-Length: 0', '-w', '\n%{http_code}',
                            d.base + '/api/v1/users/%s/password-reset' % user['id']],
                           capture_output=True, text=True, timeout=30)
        body, _, status = p.stdout.rpartition('\n')
        self.assertEqual(status, '200', (p.stdout, p.stderr))
        otp = json.loads(body)['password']
        d.secrets.add(otp)
        self.assertTrue(d.login('emptybody', otp)['must_change_password'])
        resets = [e for e in harness.audit_entries(d, w.token('admin'), since)
                  if e['action'] == 'user.password_reset']
        self.assertEqual(len(resets), 1, resets)

    async def test_listing_and_audit_carry_no_names(self):
        d, w = self.daemon, self.world
        since = harness.now_utc()
        user, _ = make_account(self, 'listed-one', 'evidential', [w.courtroom_id])
        listed = {u['username']: u for u in w.users()}
        self.assertEqual(listed['listed-one']['role'], 'evidential')
        self.assertEqual(listed['listed-one']['courtrooms'], [w.courtroom_id])
        self.assertFalse(listed['listed-one']['disabled'])
        for u in listed.values():
            self.assertNotIn('password', u)
            self.assertNotIn('password_hash', u)
        entries = harness.audit_entries(d, w.token('admin'), since)
        # (`since` has a resolution of a second: another test's account may
        # fall in the window; this one's is audited exactly once.)
        created = [e for e in entries if e['action'] == 'user.create']
        self.assertEqual([e['target'] for e in created].count(user['id']), 1, created)
        text = str(entries)
        self.assertNotIn('listed-one', text)


class AuditTest(harness.DaemonTestCase):
    """Audit entries with no gaps and no protected names; an audit write
    failure refuses changes that widen exposure, not protective ones."""

    def db(self):
        dbs = glob.glob(os.path.join(self.daemon.data_dir, '*.db'))
        self.assertTrue(dbs)
        return sqlite3.connect(dbs[0], timeout=10)

    async def test_entries_present_and_free_of_names(self):
        d, w = self.daemon, self.world
        since = harness.now_utc()
        hid = w.new_hearing()
        self.assertEqual(w.set_state(hid, 'open').status, 200)
        p = w.add_participant(hid, 'Sally Secretname', 'witness',
                              {'screened_from': ['probation'], 'anonymous': True})
        pid = p['participant_id']
        clerk = await self.staff_ws('clerk', hid)
        cpid = clerk.joined['participant_id']
        rpc = await self.join_ws(p)
        r1 = rpc.hello['resume_token']
        rpc.abort()
        await asyncio.sleep(0.2)
        back = await self.ws('back')
        await back.call('session.resume', {'resume_token': r1})
        w.participants(hid)
        r = d.api('PATCH', '/hearings/%s/participants/%s' % (hid, pid),
                  {'display_name': 'Other Secretname'}, token=w.token('clerk'))
        self.assertEqual(r.status, 200, r)
        r = d.api('POST', '/login', {'username': 'typed-secret-xyz', 'password': 'whatever-1234'})
        self.assertEqual(r.status, 401)
        await clerk.call('hearing.admit', {'participant_id': pid})
        entries = harness.audit_entries(d, w.token('admin'), since)
        by = {}
        for e in entries:
            by.setdefault(e['action'], []).append(e)
        hello = [e for e in by.get('session.hello', []) if e['actor'] == pid]
        self.assertEqual(len(hello), 1, by.get('session.hello'))
        self.assertIn('127.0.0.1', hello[0]['detail']['address'])
        staff_hello = [e for e in by.get('session.hello', [])
                       if e['actor'] == w.user_ids['clerk']]
        self.assertTrue(staff_hello)
        resumed = [e for e in by.get('session.resume', []) if e['actor'] == pid]
        self.assertEqual(len(resumed), 1)
        self.assertIn('127.0.0.1', resumed[0]['detail']['address'])
        created = [e for e in by.get('participant.create', []) if e['target'] == cpid]
        self.assertEqual(len(created), 1, 'the entry a staff account creates by joining')
        self.assertEqual(created[0]['detail']['user_id'], w.user_ids['clerk'])
        self.assertTrue([e for e in by.get('participant.list', []) if e['target'] == hid])
        self.assertTrue([e for e in by.get('hearing.roster', []) if e['target'] == hid])
        self.assertTrue(by.get('participant.admit'))
        text = json.dumps(entries)
        for secret in ('Sally', 'Secretname', 'probation', 'typed-secret-xyz'):
            self.assertNotIn(secret, text)

    async def test_audit_failure_refuses_widening_only(self):
        d, w = self.daemon, self.world
        hid = w.new_hearing()
        self.assertEqual(w.set_state(hid, 'open').status, 200)
        clerk = await self.staff_ws('clerk', hid)
        waiting = w.add_participant(hid, 'Wes Waiting', 'defendant')
        inside = w.add_participant(hid, 'Ida Inside', 'defence')
        s_wait = await self.join_ws(waiting)
        s_in = await self.join_ws(inside)
        await clerk.call('hearing.admit', {'participant_id': inside['participant_id']})
        await s_in.wait_for('participant.admitted')
        db = self.db()
        db.execute("CREATE TRIGGER it_audit_fails BEFORE INSERT ON audit_log "
                   "BEGIN SELECT RAISE(ABORT, 'test: the audit disk is full'); END")
        db.commit()
        try:
            clerk.drain()
            # widening: refused, nothing changes
            await self.assertRpcError(clerk, 'hearing.admit',
                                      {'participant_id': waiting['participant_id']}, -32603)
            await self.assertRpcError(clerk, 'hearing.move',
                                      {'participant_id': waiting['participant_id'],
                                       'place': 'main'}, -32603)
            self.assertEqual((await s_wait.call('hearing.join', {}))['place'], 'lobby')
            r = d.api('POST', '/hearings/%s/participants' % hid,
                      {'display_name': 'New Link', 'role': 'observer'}, token=w.token('clerk'))
            self.assertApiError(r, 500, -32603, 'a new link while the audit fails')
            self.assertNotIn('join_token', r.body)
            # protective: made, and the clerks are told
            await clerk.call('hearing.move', {'participant_id': inside['participant_id'],
                                              'place': 'consultation:c1'})
            moved = await s_in.wait_for('participant.moved')
            self.assertEqual(moved['place'], 'consultation:c1')
            alert = await clerk.wait_for('alert', lambda q: q['code'] == 'audit_failed')
            self.assertEqual(alert['severity'], 'critical')
            await clerk.call('hearing.mute', {'participant_id': inside['participant_id'],
                                              'kind': 'audio', 'muted': True})
            await s_in.wait_for('participant.muted')
            await self.assertRpcError(clerk, 'hearing.mute',
                                      {'participant_id': inside['participant_id'],
                                       'kind': 'audio', 'muted': False}, -32603)
        finally:
            db.execute('DROP TRIGGER it_audit_fails')
            db.commit()
            db.close()
        m = d.http('GET', '/metrics').raw.decode()
        self.assertRegex(m, r'(?m)^vej_audit_write_failures_total [1-9]')
        # written again: the admission goes through
        await clerk.call('hearing.admit', {'participant_id': waiting['participant_id']})
        self.assertEqual((await s_wait.call('hearing.join', {}))['place'], 'main')


class KeysTest(harness.DaemonTestCase):
    """Join tokens carry no display name and are signed with a key derived
    for them alone (kid k2); links of the old kind stop working."""

    async def test_links_without_names_under_a_derived_key(self):
        d, w = self.daemon, self.world
        hid = w.new_hearing()
        p = w.add_participant(hid, 'Nina Nameless', 'witness')
        tok = p['join_token']
        self.assertEqual(jws_header(tok)['kid'], 'k2')
        claims = jws_claims(tok)
        self.assertNotIn('name', claims)
        self.assertNotIn('Nina', json.dumps(claims))
        raw = d.token_key().strip()
        derived = harness.find_signing_key(d, tok)
        self.assertNotIn(derived, (raw, harness.b64u_dec(raw)),
                         'join tokens must not be signed with the raw secret')
        old_claims = dict(claims, name='Nina Nameless')
        for key, kid, body, what in (
                (harness.b64u_dec(raw), 'k1', old_claims, 'old kind: raw key, kid k1, a name'),
                (derived, 'k1', claims, 'the old kid'),
                (derived, 'k2', old_claims, 'a name claim'),
                (harness.b64u_dec(raw), 'k2', claims, 'the raw key')):
            forged = harness.forge(key, {'alg': 'HS256', 'typ': 'JWT', 'kid': kid}, body,
                                   header_text='{"alg":"HS256","typ":"JWT","kid":"%s"}' % kid)
            rpc = await self.ws('old-link')
            await self.assertRpcError(rpc, 'session.hello', {'token': forged}, 4001, what)
        rpc = await self.join_ws(p)
        self.assertEqual(rpc.hello['identity']['participant_id'], p['participant_id'])


def totp(secret_b32, at=None, step_offset=0):
    """RFC 6238 (SHA-1, 6 digits, 30 s) as an authenticator app computes it."""
    import base64
    import hashlib
    import hmac
    import struct
    key = base64.b32decode(secret_b32 + '=' * (-len(secret_b32) % 8))
    step = int((time.time() if at is None else at) // 30) + step_offset
    mac = hmac.new(key, struct.pack('>Q', step), hashlib.sha1).digest()
    off = mac[-1] & 0x0f
    code = (struct.unpack('>I', mac[off:off + 4])[0] & 0x7fffffff) % 1000000
    return '%06d' % code


class TotpTest(harness.DaemonTestCase):
    """A second factor (RFC 6238): enrolment, login with a code, replay
    refused, recovery codes, admin reset, [auth] require_totp_roles."""
    overrides = {'auth': {'require_totp_roles': 'evidential'}}

    async def test_required_role_must_enrol_then_log_in_with_a_code(self):
        d, w = self.daemon, self.world
        pw = harness.STAFF_PASSWORDS['evidential']
        first = d.login('evidential', pw)
        self.assertTrue(first['totp_enrolment_required'])
        tok = first['token']
        r = d.api('GET', '/courtrooms', token=tok)
        self.assertApiError(r, 403, 4003, 'before enrolment')
        self.assertIn('second factor', r.body['error']['message'])
        rpc = await self.ws('evid')
        await self.assertRpcError(rpc, 'session.hello', {'token': tok}, 4003)
        # enrol
        r = d.api('POST', '/account/totp', {}, token=tok)
        self.assertEqual(r.status, 200, r)
        secret, uri = r.body['secret'], r.body['otpauth_uri']
        d.secrets.add(secret)
        self.assertRegex(secret, r'^[A-Z2-7]{32}$')
        self.assertTrue(uri.startswith('otpauth://totp/'), uri)
        self.assertIn('secret=' + secret, uri)
        self.assertIn('issuer=', uri)
        bad = '%06d' % ((int(totp(secret)) + 1) % 1000000)
        r = d.api('POST', '/account/totp/confirm', {'code': bad}, token=tok)
        self.assertApiError(r, 401, 4001, 'a wrong code')
        now = time.time()
        r = d.api('POST', '/account/totp/confirm', {'code': totp(secret, now)}, token=tok)
        self.assertEqual(r.status, 200, r)
        codes = r.body['recovery_codes']
        self.assertEqual(len(codes), 10)
        self.assertEqual(len(set(codes)), 10)
        for c in codes:
            d.secrets.add(c)
        # the password alone is no longer enough
        r = d.api('POST', '/login', {'username': 'evidential', 'password': pw})
        self.assertApiError(r, 401, 4001, 'no code')
        self.assertIn('totp_code', r.body['error']['message'])
        # the code used to confirm is spent: replay refused
        r = d.api('POST', '/login', {'username': 'evidential', 'password': pw,
                                     'totp_code': totp(secret, now)})
        self.assertApiError(r, 401, 4001, 'a replayed code')
        nxt = totp(secret, now, 1)
        r = d.api('POST', '/login', {'username': 'evidential', 'password': pw, 'totp_code': nxt})
        self.assertEqual(r.status, 200, r)
        self.assertFalse(r.body['totp_enrolment_required'])
        good = r.body['token']
        d.secrets.add(good)
        self.assertEqual(d.api('GET', '/courtrooms', token=good).status, 200)
        r = d.api('POST', '/login', {'username': 'evidential', 'password': pw, 'totp_code': nxt})
        self.assertApiError(r, 401, 4001, 'the same code twice')
        # a wrong password with a good code is still refused
        r = d.api('POST', '/login', {'username': 'evidential', 'password': pw + 'x',
                                     'totp_code': totp(secret, now, 1)})
        self.assertApiError(r, 401, 4001)
        # a recovery code works once (any case, with or without dashes)
        rc = codes[3]
        r = d.api('POST', '/login', {'username': 'evidential', 'password': pw,
                                     'recovery_code': rc.lower().replace('-', '')})
        self.assertEqual(r.status, 200, r)
        d.secrets.add(r.body['token'])
        r = d.api('POST', '/login', {'username': 'evidential', 'password': pw,
                                     'recovery_code': rc})
        self.assertApiError(r, 401, 4001, 'a recovery code twice')
        # enrolling again needs an admin's reset
        self.assertApiError(d.api('POST', '/account/totp', {}, token=good), 409, 4009)
        live = self.track(await harness.Rpc.connect(d, name='evid-live'))
        await live.call('session.hello', {'token': good})
        r = d.api('POST', '/users/%s/totp-reset' % w.user_ids['evidential'], {},
                  token=w.token('admin'))
        self.assertEqual(r.status, 200, r)
        self.assertEqual((await live.wait_for('session.closing'))['reason'], 'totp_reset')
        again = d.login('evidential', pw)
        self.assertTrue(again['totp_enrolment_required'])
        since = harness.now_utc() - datetime.timedelta(minutes=5)
        text = json.dumps(harness.audit_entries(d, w.token('admin'), since))
        self.assertIn('user.totp_reset', text)
        self.assertNotIn(secret, text)

    def _db(self):
        import sqlite3
        d = self.daemon
        dbs = [f for f in os.listdir(d.data_dir) if f.endswith('.db')]
        self.assertEqual(len(dbs), 1, os.listdir(d.data_dir))
        return sqlite3.connect(os.path.join(d.data_dir, dbs[0]), timeout=10)

    def _stored_secret(self, user_id):
        db = self._db()
        try:
            return db.execute('SELECT totp_secret FROM users WHERE id = ?',
                              (user_id,)).fetchone()[0]
        finally:
            db.close()

    async def test_secret_sealed_at_rest(self):
        """The database holds the TOTP secret sealed, bound to its account: a
        copy of the file reveals nothing, a sealed secret moved onto another
        account does not work there, and a secret left in the clear by an
        older gateway is sealed at the next start and keeps working."""
        d, w = self.daemon, self.world
        pw = harness.STAFF_PASSWORDS['judge']
        tok = d.login('judge', pw)['token']
        r = d.api('POST', '/account/totp', {}, token=tok)
        self.assertEqual(r.status, 200, r)
        secret = r.body['secret']
        d.secrets.add(secret)
        now = time.time()
        r = d.api('POST', '/account/totp/confirm', {'code': totp(secret, now)}, token=tok)
        self.assertEqual(r.status, 200, r)
        for c in r.body['recovery_codes']:
            d.secrets.add(c)
        judge_id = w.user_ids['judge']
        stored = self._stored_secret(judge_id)
        self.assertTrue(stored.startswith('v1:'), stored)
        self.assertNotIn(secret, stored)
        import base64
        self.assertNotIn(base64.b32decode(secret), base64.b64decode(stored[3:]))
        # moved onto the clerk's account (with TOTP on), it does not open:
        # the clerk's login fails closed
        clerk_id = w.user_ids['clerk']
        db = self._db()
        with db:
            db.execute('UPDATE users SET totp_secret = ?, totp_enabled = 1 WHERE id = ?',
                       (stored, clerk_id))
        db.close()
        r = d.api('POST', '/login', {'username': 'clerk',
                                     'password': harness.STAFF_PASSWORDS['clerk'],
                                     'totp_code': totp(secret, now, 1)})
        self.assertNotEqual(r.status, 200, r)
        # a secret in the clear (as an older gateway stored it) is sealed at
        # start-up and still accepted
        d.stop()
        db = self._db()
        with db:
            db.execute('UPDATE users SET totp_secret = NULL, totp_enabled = 0 WHERE id = ?',
                       (clerk_id,))
            db.execute('UPDATE users SET totp_secret = ? WHERE id = ?', (secret, judge_id))
        db.close()
        d.start()
        stored = self._stored_secret(judge_id)
        self.assertTrue(stored.startswith('v1:'), stored)
        self.assertNotIn(secret, stored)
        r = d.api('POST', '/login', {'username': 'judge', 'password': pw,
                                     'totp_code': totp(secret, time.time(), 1)})
        self.assertEqual(r.status, 200, r)
        d.secrets.add(r.body['token'])

    async def test_optional_for_other_roles(self):
        d, w = self.daemon, self.world
        r = d.login('judge', harness.STAFF_PASSWORDS['judge'])
        self.assertFalse(r['totp_enrolment_required'])
        self.assertEqual(d.api('GET', '/courtrooms', token=r['token']).status, 200)
        # a judge may enrol too, and then needs the code
        tok = r['token']
        r = d.api('POST', '/account/totp', {}, token=tok)
        self.assertEqual(r.status, 200, r)
        secret = r.body['secret']
        d.secrets.add(secret)
        # unconfirmed: logins ignore it
        d.login('judge', harness.STAFF_PASSWORDS['judge'])
        r = d.api('POST', '/account/totp/confirm', {'code': totp(secret)}, token=tok)
        self.assertEqual(r.status, 200, r)
        for c in r.body['recovery_codes']:
            d.secrets.add(c)
        r = d.api('POST', '/login', {'username': 'judge',
                                     'password': harness.STAFF_PASSWORDS['judge']})
        self.assertApiError(r, 401, 4001)
        r = d.api('POST', '/users/%s/totp-reset' % w.user_ids['judge'], {},
                  token=w.token('admin'))
        self.assertEqual(r.status, 200, r)
        w.tokens['judge'] = d.login('judge', harness.STAFF_PASSWORDS['judge'])['token']
        for body in ({'code': 'abcdef'}, {'code': 12345}, {}):
            r = d.api('POST', '/account/totp/confirm', body, token=w.token('judge'))
            self.assertIn(r.status, (400, 409), r)


class FloodTest(harness.DaemonTestCase):
    """Limits per address: a flood from one address (127.0.0.2) must not
    stop a hearing whose parties come from another (127.0.0.1)."""
    overrides = {'server': {'max_connections_per_address': 20,
                            'max_unauthenticated_message_bytes': 1024},
                 'auth': {'login_attempts_per_minute': 5, 'max_hash_queue': 2}}
    FLOOD = '127.0.0.2'

    async def flood_ws(self):
        try:
            ws = await asyncio.wait_for(
                websockets.connect(self.daemon.ws_url(), ssl=self.daemon.ssl_context(),
                                   compression=None, ping_interval=None, open_timeout=5,
                                   close_timeout=1, local_addr=(self.FLOOD, 0)), 6)
            return ws
        except (OSError, asyncio.TimeoutError, websockets.exceptions.WebSocketException):
            return None

    def flood_login(self, username):
        conn = http.client.HTTPSConnection('127.0.0.1', self.daemon.port,
                                           context=self.daemon.ssl_context(), timeout=20,
                                           source_address=(self.FLOOD, 0))
        try:
            body = json.dumps({'username': username, 'password': 'not-the-password-1'})
            conn.request('POST', '/api/v1/login', body=body,
                         headers={'Content-Type': 'application/json'})
            return conn.getresponse().status
        except OSError:
            return None
        finally:
            conn.close()

    def metric(self, name):
        text = self.daemon.http('GET', '/metrics').raw.decode()
        m = re.search(r'(?m)^%s (\d+)$' % name, text)
        self.assertIsNotNone(m, name)
        return int(m.group(1))

    async def test_flood_from_one_address_while_a_hearing_goes_on(self):
        d, w = self.daemon, self.world
        hid = w.new_hearing()
        self.assertEqual(w.set_state(hid, 'open').status, 200)
        clerk = await self.staff_ws('clerk', hid)
        p = w.add_participant(hid, 'Fay Flooded', 'defence')
        rpc = await self.join_ws(p)
        await clerk.call('hearing.admit', {'participant_id': p['participant_id']})
        await rpc.wait_for('participant.admitted')
        # idle sockets from one address: at most its share
        flood = [await self.flood_ws() for _ in range(30)]
        opened = [ws for ws in flood if ws is not None]
        self.assertLessEqual(len(opened), 20)
        self.assertGreater(len(opened), 0)
        self.assertGreater(self.metric('vej_address_limit_total'), 0)
        # a large message before session.hello: 4013, socket kept
        await opened[0].send(json.dumps({'jsonrpc': '2.0', 'id': 1, 'method': 'session.hello',
                                         'params': {'token': 'x' * 2000}}))
        answer = json.loads(await asyncio.wait_for(opened[0].recv(), 5))
        self.assertEqual(answer['error']['code'], 4013)
        # while its sockets hold its share, the address gets no more
        # connections (hung up at once, before TLS)
        loop = asyncio.get_running_loop()
        self.assertIsNone(await loop.run_in_executor(None, self.flood_login, 'nobody'))
        await clerk.call('hearing.mute', {'participant_id': p['participant_id'],
                                          'kind': 'video', 'muted': True})
        await rpc.wait_for('participant.muted', lambda q: q['kind'] == 'video')
        for ws in opened:
            await ws.close()
        await asyncio.sleep(0.5)
        # a login storm from the same address, many usernames, in threads
        storm = [loop.run_in_executor(None, self.flood_login, 'nobody%d' % (i % 7))
                 for i in range(60)]
        # meanwhile the hearing goes on, from 127.0.0.1
        t0 = loop.time()
        for muted in (True, False, True, False):
            await clerk.call('hearing.mute', {'participant_id': p['participant_id'],
                                              'kind': 'audio', 'muted': muted})
            await rpc.wait_for('participant.muted', lambda q: q['muted'] == muted)
        late = w.add_participant(hid, 'Leo Late', 'witness')
        lrpc = await self.join_ws(late)
        self.assertEqual(lrpc.joined['place'], 'lobby')
        await clerk.wait_for('lobby.waiting', lambda q: pid_of(q) == late['participant_id'])
        await clerk.call('hearing.admit', {'participant_id': late['participant_id']})
        await lrpc.wait_for('participant.admitted')
        self.assertLess(loop.time() - t0, 10, 'the hearing was held up by the flood')
        statuses = await asyncio.gather(*storm)
        self.assertIn(429, statuses, statuses)
        self.assertNotIn(200, statuses)
        # (up to the address's share may be in flight at once; the rest
        # are hung up)
        self.assertGreater(len([x for x in statuses if x is not None]), 20, statuses)
        # a staff login from the hearing's address still works
        d.login('judge', harness.STAFF_PASSWORDS['judge'])
        # the address's slots came back once its sockets were gone
        again = await self.flood_ws()
        self.assertIsNotNone(again)
        await again.close()

    async def test_login_backoff_per_username_and_address(self):
        d = self.daemon
        codes = [d.api('POST', '/login', {'username': 'clerk2', 'password': 'wrong-%d' % i})
                 .status for i in range(7)]
        # (the World's own login of clerk2 counted too)
        self.assertIn(429, codes, codes)
        first = codes.index(429)
        self.assertGreaterEqual(first, 3, codes)
        self.assertEqual(set(codes[:first]), {401}, codes)
        self.assertEqual(set(codes[first:]), {429}, codes)
        # even the right password waits out the backoff from this address
        r = d.api('POST', '/login', {'username': 'clerk2',
                                     'password': harness.STAFF_PASSWORDS['clerk2']})
        self.assertApiError(r, 429, 4029)
        # from another address the account's owner is not locked out
        conn = http.client.HTTPSConnection('127.0.0.1', d.port, context=d.ssl_context(),
                                           timeout=20, source_address=('127.0.0.3', 0))
        conn.request('POST', '/api/v1/login',
                     body=json.dumps({'username': 'clerk2',
                                      'password': harness.STAFF_PASSWORDS['clerk2']}),
                     headers={'Content-Type': 'application/json'})
        resp = conn.getresponse()
        body = json.loads(resp.read())
        conn.close()
        self.assertEqual(resp.status, 200, body)
        d.secrets.add(body['token'])


class CourtNetworkLoginTest(harness.DaemonTestCase):
    """Guesses at a username from outside lock it out everywhere but the
    allowlisted networks: the owner still logs in from the court."""
    overrides = {'server': {'address_allowlist': '127.0.0.1/32'},
                 'auth': {'login_attempts_per_minute': 5}}

    def login_from(self, source, password):
        d = self.daemon
        conn = http.client.HTTPSConnection('127.0.0.1', d.port, context=d.ssl_context(),
                                           timeout=20, source_address=(source, 0))
        try:
            conn.request('POST', '/api/v1/login',
                         body=json.dumps({'username': 'judge', 'password': password}),
                         headers={'Content-Type': 'application/json'})
            resp = conn.getresponse()
            body = json.loads(resp.read() or b'{}')
        finally:
            conn.close()
        if resp.status == 200:
            d.secrets.add(body['token'])
        return resp.status

    async def test_owner_logs_in_from_the_court_network(self):
        codes = [self.login_from('127.0.0.%d' % (2 + i % 3), 'not-the-password-%d' % i)
                 for i in range(30)]
        self.assertIn(429, codes, codes)
        right = harness.STAFF_PASSWORDS['judge']
        # the username is locked from any other address ...
        self.assertEqual(self.login_from('127.0.0.9', right), 429)
        # ... but not from the court's network
        self.assertEqual(self.login_from('127.0.0.1', right), 200)


class SlotsTest(FloodTest):
    """Slots kept for sessions: idle sockets without a session never fill
    the server; a newcomer displaces the oldest of them."""
    overrides = {'server': {'max_connections': 14, 'reserved_authenticated_connections': 4}}

    async def test_flood_from_one_address_while_a_hearing_goes_on(self):
        pass  # FloodTest's, with other limits: not repeated here

    async def test_login_backoff_per_username_and_address(self):
        pass

    async def test_connections_of_every_kind_are_bounded(self):
        """At most max_connections + 64 TCP connections (HTTP, WebSocket or
        still before TLS): the next is hung up at once, counted, and the
        server serves again once they go."""
        import select
        import socket
        bound = self.overrides['server']['max_connections'] + 64
        held = []
        try:
            for _ in range(bound + 3):
                held.append(socket.create_connection(('127.0.0.1', self.daemon.port), timeout=5,
                                                     source_address=(self.FLOOD, 0)))
            await asyncio.sleep(1.0)
            hung_up = []
            for i, sock in enumerate(held):
                if select.select([sock], [], [], 0)[0]:
                    sock.setblocking(False)
                    try:
                        gone = sock.recv(1) == b''
                    except (BlockingIOError, ConnectionResetError):
                        gone = True
                    if gone:
                        hung_up.append(i)
            self.assertGreaterEqual(len(hung_up), 3, 'connections past the bound hung up')
            self.assertGreaterEqual(min(hung_up), bound - 8,
                                    'only the connections past the bound: %r' % hung_up)
        finally:
            for sock in held:
                sock.close()
        await asyncio.sleep(0.5)
        self.assertEqual(self.daemon.http('GET', '/healthz').status, 200)
        self.assertGreater(self.metric('vej_connection_limit_total'), 0)

    async def test_idle_sockets_make_room(self):
        w = self.world
        hid = w.new_hearing()
        clerk = await self.staff_ws('clerk', hid)
        flood = [await self.flood_ws() for _ in range(12)]
        self.assertNotIn(None, flood)
        await asyncio.sleep(0.5)
        closed = [ws for ws in flood if ws.close_code is not None or ws.closed]
        self.assertGreaterEqual(len(closed), 2, 'the oldest idle sockets make room')
        self.assertTrue(all(ws.close_code == 1013 for ws in closed), [ws.close_code for ws in closed])
        self.assertGreater(self.metric('vej_unauthenticated_limit_total'), 0)
        # someone who logs in still gets in, and the clerk's session is untouched
        p = w.add_participant(hid, 'Nell Newcomer', 'witness')
        rpc = await self.join_ws(p)
        self.assertEqual(rpc.joined['place'], 'lobby')
        await clerk.wait_for('lobby.waiting', lambda q: pid_of(q) == p['participant_id'])
        self.assertFalse(clerk.closed.is_set())
        for ws in flood:
            await ws.close()


def make_ca_signed_cert(directory):
    """A CA and a leaf certificate for 127.0.0.1 signed by it (openssl CLI)."""
    import subprocess
    ca_key, ca_crt = os.path.join(directory, 'ca.key'), os.path.join(directory, 'ca.pem')
    key, csr, crt = (os.path.join(directory, n) for n in ('leaf.key', 'leaf.csr', 'leaf.pem'))
    ext = os.path.join(directory, 'ext.cnf')
    with open(ext, 'w') as f:
        f.write('subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\n')
    run = lambda *a: subprocess.run(['openssl'] + list(a), check=True, capture_output=True)
    run('req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes',
        '-keyout', ca_key, '-out', ca_crt, '-days', '2', '-subj', '/CN=Test Court CA')
    run('req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', key,
        '-out', csr, '-subj', '/CN=127.0.0.1')
    run('x509', '-req', '-in', csr, '-CA', ca_crt, '-CAkey', ca_key, '-CAcreateserial', '-out',
        crt, '-days', '2', '-extfile', ext)
    return ca_crt, crt, key


class CaDaemon(harness.Daemon):
    ca_path = None

    @property
    def cert_path(self):
        return self.ca_path


class HstsTest(harness.DaemonTestCase):
    """Strict-Transport-Security only with a configured certificate that
    is not self-signed (a browser would otherwise refuse the self-signed
    one for a year)."""
    make_world = False

    @classmethod
    def setUpClass(cls):
        import tempfile
        cls.certs = tempfile.mkdtemp(prefix='vej-it-certs-')
        ca, crt, key = make_ca_signed_cert(cls.certs)
        cls.daemon = CaDaemon({'server': {'tls_cert': crt, 'tls_key': key}}, name=cls.__name__)
        cls.daemon.ca_path = ca
        cls.plain = harness.Daemon(name=cls.__name__ + '-selfsigned')
        try:
            cls.daemon.start()
            cls.plain.start()
        except BaseException:
            cls.daemon.kill()
            cls.plain.kill()
            raise

    @classmethod
    def tearDownClass(cls):
        cls.daemon.stop()
        cls.plain.stop()
        import shutil
        shutil.rmtree(cls.certs, ignore_errors=True)

    async def test_hsts_only_with_a_configured_certificate(self):
        for path in ('/healthz', '/api/v1/courtrooms'):
            r = self.daemon.http('GET', path)
            self.assertEqual(r.headers.get('strict-transport-security'), 'max-age=31536000',
                             '%s: %r' % (path, r.headers))
            r = self.plain.http('GET', path)
            self.assertNotIn('strict-transport-security', r.headers, path)


if __name__ == '__main__':
    harness.main()
