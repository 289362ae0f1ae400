"""Who may do what: every role refused what it may not do (4003), tokens
never interchangeable (4001), state machine (4009), unknown ids (4004) and
path traversal (404/400, never a file). PROTOCOL.md "Error codes", "Tokens
and sessions", "Staff", "Participants and live control"."""

import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import pid_of  # noqa: E402

CONTROL_METHODS = ('hearing.admit', 'hearing.move', 'hearing.mute', 'hearing.remove',
                   'hearing.set_state', 'hearing.set_special_measures')


class PermissionsTest(harness.DaemonTestCase):

    @classmethod
    def setUpClass(cls):
        cls.daemon = harness.Daemon(name=cls.__name__)
        cls.before_change = {}
        try:
            cls.daemon.start()

            def probe(first):
                cls.before_change['login'] = first
                cls.before_change['courtrooms'] = cls.daemon.api(
                    'GET', '/courtrooms', token=first['token'])
                cls.before_change['ws_token'] = first['token']

            cls.world = harness.World(cls.daemon, before_admin_change=probe)
        except BaseException:
            cls.daemon.kill()
            raise

    def params_for(self, method, target_pid):
        return {
            'hearing.admit': {'participant_id': target_pid},
            'hearing.move': {'participant_id': target_pid, 'place': 'consultation:x'},
            'hearing.mute': {'participant_id': target_pid, 'kind': 'audio', 'muted': True},
            'hearing.remove': {'participant_id': target_pid},
            'hearing.set_state': {'state': 'in_session'},
            'hearing.set_special_measures': {'participant_id': target_pid, 'special_measures': {
                'screened_from': [], 'audio_only': False, 'anonymous': False}},
        }[method]

    async def test_admin_must_change_password_first(self):
        first = self.before_change['login']
        self.assertEqual(first['role'], 'admin')
        self.assertApiError(self.before_change['courtrooms'], 403, 4003,
                            'admin before password change')
        # the new password works, the initial one no longer does
        r = self.daemon.api('POST', '/login', {'username': 'admin',
                                               'password': self.daemon.admin_initial_password})
        self.assertApiError(r, 401, 4001)
        r = self.daemon.api('GET', '/courtrooms', token=self.world.token('admin'))
        self.assertEqual(r.status, 200, r)

    async def test_login_roles_and_logout(self):
        d = self.daemon
        for who, role in (('clerk', 'clerk'), ('judge', 'judge'), ('evidential', 'evidential'),
                          ('admin', 'admin')):
            r = d.api('POST', '/login', {'username': who,
                                         'password': harness.STAFF_PASSWORDS[who]})
            self.assertEqual(r.status, 200, r)
            self.assertEqual(r.body['role'], role)
            self.assertIn('expires_at', r.body)
            self.assertRegex(r.body['token'], r'^[A-Za-z0-9_-]{43}$')
            d.secrets.add(r.body['token'])
        wrong = d.api('POST', '/login', {'username': 'clerk', 'password': 'not-the-password'})
        unknown = d.api('POST', '/login', {'username': 'nosuchuser', 'password': 'whatever-123'})
        self.assertApiError(wrong, 401, 4001)
        self.assertApiError(unknown, 401, 4001)
        self.assertEqual(wrong.body['error']['message'], unknown.body['error']['message'],
                         'a wrong password and an unknown user must look alike')
        # logout revokes the token, for REST and WebSocket, and ends the
        # sessions opened with it
        tok = d.login('judge', harness.STAFF_PASSWORDS['judge'])['token']
        live = self.track(await harness.Rpc.connect(d, name='judge-live'))
        await live.call('session.hello', {'token': tok})
        r = d.api('POST', '/logout', {}, token=tok)
        self.assertIn(r.status, (200, 204), r)
        sc = await live.wait_for('session.closing')
        self.assertEqual(sc['reason'], 'logout')
        self.assertEqual(await live.wait_closed(), 1000)
        self.assertApiError(d.api('GET', '/courtrooms', token=tok), 401, 4001)
        ws = await self.ws('revoked')
        await self.assertRpcError(ws, 'session.hello', {'token': tok}, 4001)

    async def test_rest_without_or_with_wrong_token(self):
        d, w = self.daemon, self.world
        hid = w.new_hearing()
        p = w.add_participant(hid, 'Dee Fendant', 'defendant')
        rpc = await self.join_ws(p)
        resume = rpc.hello['resume_token']
        for token, what in ((None, 'no token'), (p['join_token'], 'join token'),
                            (resume, 'resume token'), ('x' * 43, 'random token'),
                            ('', 'empty bearer')):
            for method, path, body in (('GET', '/courtrooms', None),
                                       ('GET', '/hearings/' + hid, None),
                                       ('GET', '/hearings/%s/participants' % hid, None),
                                       ('POST', '/hearings/%s/state' % hid, {'state': 'open'}),
                                       ('GET', '/audit/head', None),
                                       ('GET', '/recordings', None)):
                if path == '/recordings' and token is not None:
                    continue
                with self.subTest(method=method, path=path, token=what):
                    r = d.api(method, path, body, token=token)
                    self.assertApiError(r, 401, 4001, '%s %s with %s' % (method, path, what))
        r = d.api('GET', '/courtrooms', headers={'Authorization': 'Basic YWRtaW46YWRtaW4='})
        self.assertApiError(r, 401, 4001, 'Basic auth')
        self.assertEqual(w.hearing(hid)['state'], 'scheduled')

    async def test_ws_token_kinds_not_interchangeable(self):
        w = self.world
        hid = w.new_hearing()
        p = w.add_participant(hid, 'Dee Fendant', 'defendant')
        rpc = await self.join_ws(p)
        resume = rpc.hello['resume_token']
        ws = await self.ws('mixer')
        # a resume token is not a hello token; a join/staff token is not a resume token
        for method, params in (('session.hello', {'token': resume}),
                               ('session.resume', {'resume_token': p['join_token']}),
                               ('session.resume', {'resume_token': w.token('clerk')})):
            with self.subTest(method=method, params=params):
                await self.assertRpcError(ws, method, params, 4001)
        # nothing but hello/resume before authentication
        await self.assertRpcError(ws, 'hearing.join', {'hearing_id': hid}, 4001)
        await self.assertRpcError(ws, 'hearing.admit', {'participant_id': p['participant_id']},
                                  4001)
        # the original token still works
        await rpc.call('hearing.join', {})

    async def test_rest_roles(self):
        d, w = self.daemon, self.world
        hid = w.new_hearing()
        p = w.add_participant(hid, 'Vic Witness', 'witness')
        pp = '/hearings/%s/participants/%s' % (hid, p['participant_id'])
        good_hearing = {'courtroom_id': w.courtroom_id, 'case_reference': 'T/EVID',
                        'title': 'nope', 'starts_at': '2026-12-01T10:00:00Z',
                        'ends_at': '2026-12-01T12:00:00Z'}
        evid = w.token('evidential')
        for method, path, body in (
                ('POST', '/hearings', good_hearing),
                ('POST', '/courtrooms', {'name': 'Evid court', 'retention_days': 1,
                                         'time_zone': 'UTC'}),
                ('POST', '/hearings/%s/participants' % hid, {'display_name': 'X',
                                                             'role': 'observer'}),
                ('PATCH', pp, {'display_name': 'Changed'}),
                ('POST', pp + '/token', {}),
                ('POST', '/hearings/%s/state' % hid, {'state': 'open'}),
                ('GET', '/audit/head', None),
                ('GET', '/audit', None)):
            r = d.api(method, path, body, token=evid)
            self.assertApiError(r, 403, 4003, 'evidential %s %s' % (method, path))
        for who in ('clerk', 'judge'):
            for path in ('/audit/head', '/audit'):
                self.assertApiError(d.api('GET', path, token=w.token(who)), 403, 4003,
                                    '%s GET %s' % (who, path))
        r = d.api('GET', '/audit/head', token=w.token('admin'))
        self.assertEqual(r.status, 200, r)
        # nothing changed
        h = w.hearing(hid)
        self.assertEqual(h['state'], 'scheduled')
        items = w.participants(hid)
        self.assertEqual([i['display_name'] for i in items], ['Vic Witness'])
        r = d.api('GET', '/hearings', token=w.token('clerk'))
        self.assertNotIn('T/EVID', r.raw.decode())
        r = d.api('GET', '/courtrooms', token=w.token('clerk'))
        self.assertNotIn('Evid court', r.raw.decode())

    async def test_ws_staff_join_roles(self):
        w = self.world
        hid = w.new_hearing()
        for who in ('evidential', 'admin'):
            rpc = await self.staff_ws(who)
            self.assertEqual(rpc.hello['identity']['role'], who)
            await self.assertRpcError(rpc, 'hearing.join', {'hearing_id': hid}, 4003, who)
        for who in ('clerk', 'judge'):
            rpc = await self.staff_ws(who)
            res = await rpc.call('hearing.join', {'hearing_id': hid})
            self.assertEqual(res['place'], 'main')
            # a socket is in at most one hearing
            other = w.new_hearing()
            await self.assertRpcError(rpc, 'hearing.join', {'hearing_id': other}, 4009, who)
        # a staff socket must name the hearing
        rpc = await self.staff_ws('clerk')
        await self.assertRpcError(rpc, 'hearing.join', {}, -32602, 'staff join without id')

    async def test_participants_cannot_control(self):
        w = self.world
        hid = w.new_hearing()
        self.assertEqual(w.set_state(hid, 'open').status, 200)
        P = {role: w.add_participant(hid, 'P ' + role, role)
             for role in ('defendant', 'custody_officer', 'prosecution', 'defence', 'witness',
                          'interpreter', 'probation', 'observer')}
        clerk = await self.staff_ws('clerk', hid)
        S = {}
        for role, p in P.items():
            S[role] = await self.join_ws(p, name=role)
            await clerk.wait_for('lobby.waiting', lambda q: pid_of(q) == p['participant_id'])
        # in the lobby: nothing, not even on themselves
        for role, rpc in S.items():
            for m in CONTROL_METHODS:
                await self.assertRpcError(rpc, m, self.params_for(m, P[role]['participant_id']),
                                          4003, 'lobby ' + role)
        for p in P.values():
            await clerk.call('hearing.admit', {'participant_id': p['participant_id']})
        for role, rpc in S.items():
            await rpc.wait_for('participant.admitted',
                               lambda q: pid_of(q) == P[role]['participant_id'])
        target = P['witness']['participant_id']
        for role, rpc in S.items():
            for m in CONTROL_METHODS:
                await self.assertRpcError(rpc, m, self.params_for(m, target), 4003, role)
        # the judge may do all but move (clerk only)
        judge = await self.staff_ws('judge', hid)
        await self.assertRpcError(judge, 'hearing.move', self.params_for('hearing.move', target),
                                  4003, 'judge move')
        # nothing changed
        self.assertEqual(w.hearing(hid)['state'], 'open')
        items = {i.get('participant_id') or i.get('id'): i for i in w.participants(hid)}
        self.assertEqual(items[target]['special_measures'].get('screened_from', []), [])
        await S['witness'].call('hearing.join', {})  # still in the hearing
        self.assertFalse(S['witness'].closed.is_set())

    async def test_observer_never_publishes(self):
        """DESIGN.md 1: an observer is receive-only and never publishes."""
        w = self.world
        hid = w.new_hearing()
        self.assertEqual(w.set_state(hid, 'open').status, 200)
        self.assertEqual(w.set_state(hid, 'in_session').status, 200)
        p = w.add_participant(hid, 'Olive Observer', 'observer')
        clerk = await self.staff_ws('clerk', hid)
        obs = await self.join_ws(p)
        await clerk.call('hearing.admit', {'participant_id': p['participant_id']})
        await obs.wait_for('participant.admitted', lambda q: pid_of(q) == p['participant_id'])
        sdp = ('v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n'
               'a=group:BUNDLE 0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\n'
               'c=IN IP4 0.0.0.0\r\na=mid:0\r\na=sendonly\r\na=rtcp-mux\r\n'
               'a=ice-ufrag:abcd\r\na=ice-pwd:abcdefghijklmnopqrstuv\r\n'
               'a=fingerprint:sha-256 ' + ':'.join(['AB'] * 32) + '\r\n'
               'a=setup:actpass\r\na=rtpmap:111 opus/48000/2\r\n')
        reply = await obs.request('webrtc.publish', {'sdp': sdp})
        if reply.get('error', {}).get('code') == -32601:
            self.skipTest('webrtc.* not implemented yet (-32601)')
        await self.assertRpcError(obs, 'webrtc.publish', {'sdp': sdp}, 4003, 'observer publish')
        # it may still receive
        reply = await obs.request('webrtc.subscribe', {})
        self.assertIn('result', reply, 'observer subscribe: %r' % reply)

    async def test_state_machine(self):
        w = self.world
        hid = w.new_hearing()
        steps = [('in_session', 409), ('adjourned', 409), ('scheduled', 409), ('open', 200),
                 ('open', 409), ('adjourned', 409), ('scheduled', 409), ('in_session', 200),
                 ('in_session', 409), ('open', 409), ('scheduled', 409), ('adjourned', 200),
                 ('adjourned', 409), ('open', 409), ('scheduled', 409), ('in_session', 200),
                 ('adjourned', 200), ('closed', 200), ('open', 409), ('in_session', 409),
                 ('adjourned', 409), ('closed', 409), ('scheduled', 409)]
        state = 'scheduled'
        for target, status in steps:
            r = w.set_state(hid, target, token='judge' if target == 'adjourned' else 'clerk')
            if status == 200:
                self.assertEqual(r.status, 200, '%s -> %s: %r' % (state, target, r))
                state = target
            else:
                self.assertApiError(r, 409, 4009, '%s -> %s' % (state, target))
            self.assertEqual(w.hearing(hid)['state'], state)
        for bad in ('paused', '', 'CLOSED', None, 3):
            r = w.set_state(w.new_hearing(), bad)
            self.assertApiError(r, 400, -32602, 'state %r' % (bad,))
        # closed directly from each state
        for path in ([], ['open'], ['open', 'in_session'], ['open', 'in_session', 'adjourned']):
            h2 = w.new_hearing()
            for s in path + ['closed']:
                self.assertEqual(w.set_state(h2, s).status, 200, '%r' % path)
        # the same over WebSocket
        h3 = w.new_hearing()
        clerk = await self.staff_ws('clerk', h3)
        await self.assertRpcError(clerk, 'hearing.set_state', {'state': 'in_session'}, 4009)
        await self.assertRpcError(clerk, 'hearing.set_state', {'state': 'bogus'}, -32602)
        await clerk.call('hearing.set_state', {'state': 'open'})
        await self.assertRpcError(clerk, 'hearing.set_state', {'state': 'open'}, 4009)
        self.assertEqual(w.hearing(h3)['state'], 'open')

    async def test_unknown_ids(self):
        d, w = self.daemon, self.world
        hid = w.new_hearing()
        other = w.new_hearing()
        po = w.add_participant(other, 'Other One', 'witness')
        clerk = w.token('clerk')
        nope_h = 'hrg_' + 'z' * 26
        nope_p = 'ptc_' + 'z' * 26
        for method, path, body in (
                ('GET', '/hearings/' + nope_h, None),
                ('GET', '/hearings/%s/participants' % nope_h, None),
                ('POST', '/hearings/%s/participants' % nope_h, {'display_name': 'A',
                                                                'role': 'witness'}),
                ('POST', '/hearings/%s/state' % nope_h, {'state': 'open'}),
                ('PATCH', '/hearings/%s/participants/%s' % (hid, nope_p), {'display_name': 'B'}),
                ('POST', '/hearings/%s/participants/%s/token' % (hid, nope_p), {}),
                # a participant of another hearing is not found under this one
                ('PATCH', '/hearings/%s/participants/%s' % (hid, po['participant_id']),
                 {'display_name': 'B'}),
                ('POST', '/hearings/%s/participants/%s/token' % (hid, po['participant_id']), {}),
                ('POST', '/hearings', {'courtroom_id': 'crt_' + 'z' * 26, 'case_reference': 'X',
                                       'title': 'X', 'starts_at': '2026-12-01T10:00:00Z',
                                       'ends_at': '2026-12-01T11:00:00Z'}),
                ('GET', '/nosuchthing', None)):
            r = d.api(method, path, body, token=clerk)
            self.assertApiError(r, 404, 4004, '%s %s' % (method, path))
        for path in ('/hearings/' + 'crt_' + 'z' * 26, '/hearings/xyz',
                     '/hearings/hrg_' + 'z' * 300):
            r = d.api('GET', path, token=clerk)
            self.assertIn(r.status, (400, 404), '%s: %r' % (path, r))
        evid = w.token('evidential')
        r = d.api('GET', '/recordings/rec_' + 'z' * 26, token=evid)
        self.assertApiError(r, 404, 4004, 'unknown recording')
        self.assertEqual(w.participants(other)[0]['display_name'], 'Other One')
        rpc = await self.staff_ws('clerk')
        await self.assertRpcError(rpc, 'hearing.join', {'hearing_id': nope_h}, 4004)
        for weird in ('../../etc/passwd', 'hrg_../../x', '%2e%2e', 'hrg_' + 'a' * 300, 'HRG_X',
                      'hrg_ab/cd', 'hrg_\u00e9'):
            await self.assertRpcError(rpc, 'hearing.join', {'hearing_id': weird},
                                      (4004, -32602), 'hearing_id %r' % weird)
        await rpc.call('hearing.join', {'hearing_id': hid})
        for m in ('hearing.admit', 'hearing.mute', 'hearing.remove', 'hearing.move',
                  'hearing.set_special_measures'):
            await self.assertRpcError(rpc, m, self.params_for(m, nope_p), 4004, m)

    async def test_path_traversal(self):
        d, w = self.daemon, self.world
        key = d.token_key()
        clerk, evid = w.token('clerk'), w.token('evidential')
        paths = [
            ('/api/v1/hearings/../../../../etc/passwd', clerk),
            ('/api/v1/hearings/..%2f..%2f..%2f..%2fetc%2fpasswd', clerk),
            ('/api/v1/hearings/%2e%2e/%2e%2e/%2e%2e/%2e%2e/etc/passwd', clerk),
            ('/api/v1/hearings/%2e%2e%2f%2e%2e%2fsecrets%2ftoken-key', clerk),
            ('/api/v1/recordings/..%2f..%2fsecrets', evid),
            ('/api/v1/recordings/rec_' + 'z' * 26 + '/files/..%2f..%2fsecrets%2ftoken-key', evid),
            ('/api/v1/recordings/rec_' + 'z' * 26 + '/files/../../secrets/token-key', evid),
            ('/api/v1/recordings/rec_' + 'z' * 26 + '/files/%2e%2e%2f%2e%2e%2fetc%2fpasswd', evid),
            ('/api/v1/recordings/%2e%2e/files/token-key', evid),
            ('/../../../../etc/passwd', None),
            ('/%2e%2e/%2e%2e/%2e%2e/%2e%2e/etc/passwd', None),
            ('/..%2f..%2f..%2f..%2fetc%2fpasswd', None),
            ('/%2e%2e%2f%2e%2e%2fmeson.build', None),
            ('/..%5c..%5c..%5cetc%5cpasswd', None),
            ('/secrets/token-key', None),
            ('/data/secrets/token-key', None),
        ]
        for path, token in paths:
            r = d.http('GET', path, token=token)
            self.assertIn(r.status, (400, 403, 404), '%s: %r' % (path, r))
            self.assertNotIn(b'root:x:0:0', r.raw, path)
            self.assertNotIn(b"project('vej-gateway'", r.raw, path)
            if len(key) >= 16:
                self.assertNotIn(key, r.raw, path)
            if path.startswith('/api/'):
                self.assertIn(r.error_code, (4004, -32602, -32600), '%s: %r' % (path, r))
        self.assertTrue(d.running())


class ExpiryAndCapacityTest(harness.DaemonTestCase):
    overrides = {'hearing': {'max_participants': 2}}

    async def test_expired_staff_session(self):
        """A staff token past its expires_at is refused (4001) by REST and WS.
        The minimum staff_session_ttl_s is 60 s, so the test moves the stored
        expiry of its own session into the past in its own data directory."""
        import glob
        import hashlib
        import sqlite3
        import time
        d = self.daemon
        tok = d.login('judge', harness.STAFF_PASSWORDS['judge'])['token']
        self.assertEqual(d.api('GET', '/courtrooms', token=tok).status, 200)
        dbs = glob.glob(os.path.join(d.data_dir, '*.db'))
        self.assertTrue(dbs, os.listdir(d.data_dir))
        db = sqlite3.connect(dbs[0], timeout=10)
        n = db.execute('UPDATE staff_sessions SET expires_at = ? WHERE token_hash = ?',
                       (int(time.time()) - 10, hashlib.sha256(tok.encode()).digest())).rowcount
        db.commit()
        db.close()
        if n != 1:
            self.skipTest('staff session row not found by SHA-256 of the token')
        self.assertApiError(d.api('GET', '/courtrooms', token=tok), 401, 4001, 'expired session')
        ws = await self.ws('expired')
        await self.assertRpcError(ws, 'session.hello', {'token': tok}, 4001)

    def limit_count(self):
        r = self.daemon.http('GET', '/metrics')
        m = re.search(rb'(?m)^vej_hearing_participant_limit_total (\d+)$', r.raw)
        self.assertIsNotNone(m, 'vej_hearing_participant_limit_total missing from /metrics')
        return int(m.group(1))

    async def test_hearing_capacity(self):
        w = self.world
        hid = w.new_hearing()
        self.assertEqual(w.set_state(hid, 'open').status, 200)
        p1 = w.add_participant(hid, 'First One', 'witness')
        p2 = w.add_participant(hid, 'Second One', 'observer')
        clerk = await self.staff_ws('clerk', hid)
        one = await self.join_ws(p1)
        self.assertEqual(one.joined['place'], 'lobby')
        two = await self.join_ws(p2, join=False)
        before = self.limit_count()
        await self.assertRpcError(two, 'hearing.join', {}, 4009, 'hearing full')
        self.assertEqual(self.limit_count(), before + 1, 'the refusal is not counted')
        await clerk.assert_no('lobby.waiting', 0.3, lambda q: pid_of(q) == p2['participant_id'])
        await one.call('hearing.leave', {})
        await clerk.wait_for('participant.left', lambda q: pid_of(q) == p1['participant_id'])
        res = await two.call('hearing.join', {})
        self.assertEqual(res['place'], 'lobby')


class LoginRateLimitTest(harness.DaemonTestCase):
    overrides = {'auth': {'login_attempts_per_minute': 3}}
    make_world = False

    async def test_login_rate_limited(self):
        d = self.daemon
        d.add_user('clerk', 'clerk', harness.STAFF_PASSWORDS['clerk'])
        token = d.login('clerk', harness.STAFF_PASSWORDS['clerk'])['token']
        codes = []
        for i in range(6):
            r = d.api('POST', '/login', {'username': 'clerk', 'password': 'wrong-password-%d' % i})
            codes.append((r.status, r.error_code))
        self.assertEqual(codes[0], (401, 4001))
        self.assertIn((429, 4029), codes, codes)
        self.assertEqual(codes[-1], (429, 4029), codes)
        # even the right password is refused while limited
        r = d.api('POST', '/login', {'username': 'clerk',
                                     'password': harness.STAFF_PASSWORDS['clerk']})
        self.assertApiError(r, 429, 4029, 'login while rate limited')
        # the daemon still serves existing sessions
        r = d.api('GET', '/courtrooms', token=token)
        self.assertEqual(r.status, 200, r)


if __name__ == '__main__':
    harness.main()
