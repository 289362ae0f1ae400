"""The clerk-to-participant flow, end to end, with what each party sees.

PROTOCOL.md: "Participants and live control", the notification list, and
"The roster and every notification are filtered per receiver by the same
media policy: the lobby sees nobody; a receiver someone is screened from
sees them by role only, and anonymous: true hides them entirely" (lead's
decision: an anonymous participant is role-only to everyone but clerks and
judges, and absent for those it is also screened from).
"""

import asyncio
import base64
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import pid_of, party, jws_header, jws_claims  # noqa: E402

ROLE_ONLY_PREFIX = 'anon_'


def roster_by_pid(roster):
    return {e.get('participant_id'): e for e in roster}


class FlowTest(harness.DaemonTestCase):

    def check_entry_shape(self, entry, full, what=''):
        self.assertIsInstance(entry, dict, what)
        for k in ('participant_id', 'role', 'place', 'muted'):
            self.assertIn(k, entry, '%s: %r lacks %s' % (what, entry, k))
        self.assertIsInstance(entry['muted'], dict, what)
        self.assertIn('audio', entry['muted'], what)
        self.assertIn('video', entry['muted'], what)
        if full:
            self.assertTrue(entry['participant_id'].startswith('ptc_'), '%s: %r' % (what, entry))
            self.assertIn('display_name', entry, '%s: %r' % (what, entry))
        else:
            self.assertTrue(entry['participant_id'].startswith(ROLE_ONLY_PREFIX),
                            '%s: role-only entry must carry a pseudonym: %r' % (what, entry))
            self.assertNotIn('display_name', entry, '%s: role-only entry has a name: %r'
                             % (what, entry))

    async def test_full_flow(self):
        w = self.world
        d = self.daemon
        hid = w.new_hearing(case_reference='T2026/FLOW', title='R v Flow')
        h = w.hearing(hid)
        self.assertEqual(h['state'], 'scheduled')
        self.assertEqual(h['id'], hid)
        self.assertTrue(hid.startswith('hrg_'))

        # -- participants and their links ------------------------------------
        P = {}
        P['def'] = w.add_participant(hid, 'Dan Defendant', 'defendant')
        P['dfc'] = w.add_participant(hid, 'Dana Defence', 'defence')
        P['wit'] = w.add_participant(hid, 'Wendy Witness', 'witness',
                                     {'screened_from': ['defendant'], 'audio_only': False,
                                      'anonymous': False})
        P['anon'] = w.add_participant(hid, 'Anna Anonymous', 'witness',
                                      {'screened_from': ['defendant'], 'audio_only': False,
                                       'anonymous': True})
        P['obs'] = w.add_participant(hid, 'Oscar Observer', 'observer')
        for key, p in P.items():
            self.assertTrue(p['participant_id'].startswith('ptc_'), p)
            tok = p['join_token']
            self.assertRegex(tok, r'^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$')
            self.assertEqual(p['join_url'], 'https://127.0.0.1:%d/join#t=%s' % (d.port, tok))
            htext = base64.urlsafe_b64decode(tok.split('.')[0] + '==').decode()
            self.assertTrue(htext.startswith('{"alg":"HS256","typ":"JWT","kid":'), htext)
            self.assertEqual(sorted(jws_header(tok)), ['alg', 'kid', 'typ'])
            c = jws_claims(tok)
            self.assertEqual(c['aud'], 'vej-join')
            self.assertEqual(c['hid'], hid)
            self.assertEqual(c['pid'], p['participant_id'])
            self.assertEqual(c['role'], p['role'])
            for k in ('iss', 'nbf', 'exp', 'ver'):
                self.assertIn(k, c)
            # a link carries no display name (whoever holds it could read it)
            self.assertNotIn('name', c)
            self.assertNotIn(p['display_name'].split()[0], json.dumps(c))
            self.assertEqual(jws_header(tok)['kid'], 'k2')
        items = w.participants(hid)
        by = {(i.get('participant_id') or i.get('id')): i for i in items}
        for p in P.values():
            self.assertIn(p['participant_id'], by)
            self.assertEqual(by[p['participant_id']]['display_name'], p['display_name'])
            self.assertEqual(by[p['participant_id']]['role'], p['role'])
        sm = by[P['wit']['participant_id']]['special_measures']
        self.assertEqual(sm['screened_from'], ['defendant'])

        # -- staff join; the clerk opens the hearing -------------------------
        clerk = await self.staff_ws('clerk')
        self.assertEqual(clerk.hello['identity']['role'], 'clerk')
        for k in ('session_id', 'resume_token', 'identity', 'ice_servers'):
            self.assertIn(k, clerk.hello)
        self.assertIsInstance(clerk.hello['ice_servers'], list)
        for srv in clerk.hello['ice_servers']:  # RTCIceServer
            self.assertIsInstance(srv.get('urls'), (str, list), srv)
        cj = await clerk.call('hearing.join', {'hearing_id': hid})
        self.assertEqual(cj['place'], 'main')
        self.assertEqual(cj['hearing']['id'], hid)
        self.assertEqual(cj['hearing']['case_reference'], 'T2026/FLOW')
        self.assertEqual(cj['hearing']['courtroom_id'], w.courtroom_id)
        self.assertEqual(cj['hearing']['state'], 'scheduled')
        self.assertIsInstance(cj['participants'], list)

        judge = await self.staff_ws('judge')
        self.assertEqual(judge.hello['identity']['role'], 'judge')
        jj = await judge.call('hearing.join', {'hearing_id': hid})
        self.assertEqual(jj['place'], 'main')
        joined = await clerk.wait_for('participant.joined',
                                      lambda p: party(p)['role'] == 'judge')
        self.assertEqual(joined['hearing_id'], hid)
        judge_pid = pid_of(joined)
        self.assertTrue(judge_pid.startswith('ptc_'))
        self.assertIn('clerk', [e['role'] for e in jj['participants']],
                      'the judge sees the clerk in main: %r' % jj['participants'])

        await clerk.call('hearing.set_state', {'state': 'open'})
        for rpc in (clerk, judge):
            st = await rpc.wait_for('hearing.state', lambda p: p['state'] == 'open')
            self.assertEqual(st['hearing_id'], hid)
        self.assertEqual(w.hearing(hid)['state'], 'open')

        # -- everyone else joins the lobby -----------------------------------
        S = {}
        for key in ('def', 'dfc', 'wit', 'anon', 'obs'):
            p = P[key]
            rpc = await self.join_ws(p, name=key)
            S[key] = rpc
            ident = rpc.hello['identity']
            self.assertEqual(ident['participant_id'], p['participant_id'])
            self.assertEqual(ident['hearing_id'], hid)
            self.assertEqual(ident['role'], p['role'])
            self.assertEqual(ident['display_name'], p['display_name'])
            self.assertEqual(rpc.joined['place'], 'lobby', key)
            self.assertEqual(rpc.joined['hearing']['id'], hid)
            # the lobby sees nobody but itself
            for e in rpc.joined['participants']:
                self.assertEqual(e.get('participant_id'), p['participant_id'],
                                 '%s in the lobby sees %r' % (key, e))
            for staff in (clerk, judge):
                lw = await staff.wait_for('lobby.waiting',
                                          lambda q: pid_of(q) == p['participant_id'])
                self.assertEqual(lw['hearing_id'], hid)
                self.assertEqual(party(lw)['display_name'], p['display_name'])
                self.assertEqual(party(lw)['role'], p['role'])

        # a second clerk joining now sees the whole lobby, by name
        clerk2 = await self.staff_ws('clerk2')
        c2 = await clerk2.call('hearing.join', {'hearing_id': hid})
        r2 = roster_by_pid(c2['participants'])
        for key, p in P.items():
            self.assertIn(p['participant_id'], r2, 'clerk2 does not see %s in the lobby' % key)
            e = r2[p['participant_id']]
            self.check_entry_shape(e, True, 'clerk2 roster %s' % key)
            self.assertEqual(e['display_name'], p['display_name'])
            self.assertEqual(e['place'], 'lobby')
        self.assertEqual(r2[judge_pid]['place'], 'main')

        # nobody in the lobby heard about anybody else
        await S['obs'].assert_no('lobby.waiting', 0.3)
        for key, rpc in S.items():
            others = [q for k, q in P.items() if k != key]
            self.assertNotLeaked(rpc, [q['participant_id'] for q in others]
                                 + [q['display_name'] for q in others], 'lobby')
            for n in rpc.notes:
                self.assertNotIn(n.method, ('lobby.waiting', 'participant.joined',
                                            'participant.admitted'),
                                 '%s in the lobby got %r' % (key, n))

        # -- admission (defendant last, so its roster shows everyone) ---------
        rosters = {}
        for key in ('wit', 'anon', 'dfc', 'obs', 'def'):
            p = P[key]
            await clerk.call('hearing.admit', {'participant_id': p['participant_id']})
            result_seq = clerk.last_reply_seq
            note = await clerk.wait_for('participant.admitted',
                                        lambda q: pid_of(q) == p['participant_id'], full=True)
            self.assertGreater(note.seq, result_seq, 'notification before the result')
            self.assertEqual(note.params['hearing_id'], hid)
            self.check_entry_shape(party(note.params), True, 'clerk sees admitted ' + key)
            self.assertEqual(party(note.params)['display_name'], p['display_name'])
            ja = await judge.wait_for('participant.admitted',
                                      lambda q: pid_of(q) == p['participant_id'])
            self.assertEqual(party(ja)['display_name'], p['display_name'])
            own = await S[key].wait_for('participant.admitted',
                                        lambda q: pid_of(q) == p['participant_id'])
            self.assertEqual(own['hearing_id'], hid)
            self.assertIn('participants', own, 'the admitted one gets the roster')
            rosters[key] = own['participants']

        pid = {k: p['participant_id'] for k, p in P.items()}

        # defendant's roster: clerk, judge, defence, observer by name; the
        # screened witness role-only under a pseudonym; the anonymous one absent
        rd = rosters['def']
        by_role = {}
        for e in rd:
            by_role.setdefault(e['role'], []).append(e)
        self.assertIn(pid['dfc'], roster_by_pid(rd))
        self.assertIn(pid['obs'], roster_by_pid(rd))
        self.assertIn(judge_pid, roster_by_pid(rd))
        self.check_entry_shape(roster_by_pid(rd)[pid['dfc']], True, 'defendant sees defence')
        witnesses = by_role.get('witness', [])
        self.assertEqual(len(witnesses), 1,
                         'defendant must see exactly the screened witness (role only), '
                         'not the anonymous one: %r' % witnesses)
        self.check_entry_shape(witnesses[0], False, 'defendant sees witness')
        self.assertEqual(witnesses[0]['place'], 'main')
        wit_pseudo = witnesses[0]['participant_id']
        self.assertNotIn(pid['wit'], wit_pseudo)

        # observer admitted before the defendant: sees the witness by name,
        # the anonymous witness role-only
        ro = roster_by_pid(rosters['obs'])
        self.assertIn(pid['wit'], ro)
        self.check_entry_shape(ro[pid['wit']], True, 'observer sees witness')
        anon_seen = [e for e in rosters['obs'] if e['role'] == 'witness' and
                     e['participant_id'] != pid['wit']]
        self.assertEqual(len(anon_seen), 1, rosters['obs'])
        self.check_entry_shape(anon_seen[0], False, 'observer sees anonymous witness')

        # the others learn of the defendant's admission by name
        for key in ('dfc', 'obs'):
            adm = await S[key].wait_for('participant.admitted',
                                        lambda q: pid_of(q) == pid['def'])
            self.assertEqual(party(adm)['display_name'], 'Dan Defendant')
        # the witness sees the defendant (screening is one way)
        await S['wit'].wait_for('participant.admitted', lambda q: pid_of(q) == pid['def'])

        # -- consultation room: defendant + defence, and back ------------------
        for key in ('def', 'dfc'):
            await clerk.call('hearing.move', {'participant_id': pid[key],
                                              'place': 'consultation:defence1'})
            mv = await clerk.wait_for('participant.moved', lambda q: pid_of(q) == pid[key])
            self.assertEqual(mv['place'], 'consultation:defence1')
            self.assertEqual(mv['hearing_id'], hid)
            mv = await S[key].wait_for('participant.moved', lambda q: pid_of(q) == pid[key])
            self.assertEqual(mv['place'], 'consultation:defence1')
            await judge.wait_for('participant.moved', lambda q: pid_of(q) == pid[key])
        for bad in ('consultation:Defence', 'consultation:', 'consultation:' + 'a' * 33,
                    'consultation:a b', 'hall', 'Main', 'consultation:../x'):
            await self.assertRpcError(clerk, 'hearing.move',
                                      {'participant_id': pid['def'], 'place': bad}, -32602)
        await self.assertRpcError(clerk, 'hearing.move',
                                  {'participant_id': pid['def'], 'place': 7}, -32602)
        for key in ('def', 'dfc'):
            await clerk.call('hearing.move', {'participant_id': pid[key], 'place': 'main'})
            mv = await clerk.wait_for('participant.moved', lambda q: pid_of(q) == pid[key])
            self.assertEqual(mv['place'], 'main')
            mv = await S[key].wait_for('participant.moved', lambda q: pid_of(q) == pid[key])
            self.assertEqual(mv['place'], 'main')

        # -- mute --------------------------------------------------------------
        await judge.call('hearing.mute', {'participant_id': pid['wit'], 'kind': 'audio',
                                          'muted': True})
        for rpc in (clerk, S['wit'], S['dfc']):
            m = await rpc.wait_for('participant.muted', lambda q: q['participant_id'] == pid['wit'])
            self.assertEqual((m['kind'], m['muted'], m['hearing_id']), ('audio', True, hid))
        m = await S['def'].wait_for('participant.muted',
                                    lambda q: q['participant_id'] == wit_pseudo)
        self.assertEqual((m['kind'], m['muted']), ('audio', True))
        await clerk.call('hearing.mute', {'participant_id': pid['wit'], 'kind': 'audio',
                                          'muted': False})
        m = await S['wit'].wait_for('participant.muted',
                                    lambda q: q['participant_id'] == pid['wit'])
        self.assertEqual(m['muted'], False)
        for bad in ({'participant_id': pid['wit'], 'kind': 'both', 'muted': True},
                    {'participant_id': pid['wit'], 'kind': 'audio', 'muted': 'yes'},
                    {'participant_id': pid['wit'], 'kind': 'audio'}):
            await self.assertRpcError(clerk, 'hearing.mute', bad, -32602)
        roster_entry = [e for e in w.participants(hid)
                        if (e.get('participant_id') or e.get('id')) == pid['wit']]
        self.assertEqual(len(roster_entry), 1)

        # -- special measures: PATCH, then hearing.set_special_measures --------
        r = d.api('PATCH', '/hearings/%s/participants/%s' % (hid, pid['wit']),
                  {'special_measures': {'screened_from': ['defendant', 'observer'],
                                        'audio_only': False, 'anonymous': False}},
                  token=w.token('clerk'))
        self.assertEqual(r.status, 200, r)
        e = [i for i in w.participants(hid) if (i.get('participant_id') or i.get('id')) ==
             pid['wit']][0]
        self.assertEqual(sorted(e['special_measures']['screened_from']),
                         ['defendant', 'observer'])
        # applied at once: the observer now only knows the witness by role
        S['obs'].drain()
        await judge.call('hearing.mute', {'participant_id': pid['wit'], 'kind': 'video',
                                          'muted': True})
        m = await S['obs'].wait_for('participant.muted',
                                    lambda q: q['participant_id'].startswith(ROLE_ONLY_PREFIX))
        self.assertEqual((m['kind'], m['muted']), ('video', True))
        await S['dfc'].wait_for('participant.muted', lambda q: q['participant_id'] == pid['wit']
                                and q['kind'] == 'video')
        # (the daemon may re-announce the witness to the observer, e.g. as a
        # participant.left of the old identity and a participant.joined of the
        # pseudonym; what matters is that it is role-only from now on)

        res = await clerk.call('hearing.set_special_measures', {
            'participant_id': pid['wit'],
            'special_measures': {'screened_from': ['defendant'], 'audio_only': True,
                                 'anonymous': False}})
        self.assertIsInstance(res, dict)
        e = [i for i in w.participants(hid) if (i.get('participant_id') or i.get('id')) ==
             pid['wit']][0]
        self.assertEqual(e['special_measures']['screened_from'], ['defendant'])
        self.assertEqual(e['special_measures']['audio_only'], True)
        await judge.call('hearing.mute', {'participant_id': pid['wit'], 'kind': 'video',
                                          'muted': False})
        m = await S['obs'].wait_for('participant.muted',
                                    lambda q: q['participant_id'] == pid['wit'])
        self.assertEqual(m['muted'], False)
        m = await S['def'].wait_for('participant.muted',
                                    lambda q: q['participant_id'] == wit_pseudo
                                    and q['kind'] == 'video' and q['muted'] is False)
        await self.assertRpcError(clerk, 'hearing.set_special_measures', {
            'participant_id': pid['wit'], 'special_measures': {'screened_from': 'defendant'}},
            -32602)
        await self.assertRpcError(clerk, 'hearing.set_special_measures', {
            'participant_id': pid['wit'], 'special_measures': {'screened_from': ['pilot']}},
            -32602)

        # the defendant never learnt who either witness is
        self.assertNotLeaked(S['def'], [pid['wit'], 'Wendy Witness', pid['anon'],
                                        'Anna Anonymous'], 'screening')
        # nobody but staff learnt who the anonymous witness is
        for key in ('dfc', 'wit', 'obs'):
            self.assertNotLeaked(S[key], [pid['anon'], 'Anna Anonymous'], 'anonymity')
        # the pseudonym is stable
        self.assertEqual(len({n.params['participant_id'] for n in S['def'].notes
                              if n.method == 'participant.muted'}), 1)

        # -- remove the observer -----------------------------------------------
        S['obs'].drain()
        await clerk.call('hearing.remove', {'participant_id': pid['obs']})
        sc = await S['obs'].wait_for('session.closing')
        self.assertEqual(sc['reason'], 'removed')
        self.assertEqual(await S['obs'].wait_closed(), 1000)
        for rpc in (clerk, judge, S['def'], S['dfc']):
            left = await rpc.wait_for('participant.left', lambda q: pid_of(q) == pid['obs'])
            self.assertEqual(left['reason'], 'removed')
            self.assertEqual(left['hearing_id'], hid)
        again = await self.ws('obs-again')
        await self.assertRpcError(again, 'session.hello', {'token': P['obs']['join_token']}, 4001)

        # -- the hearing's states ----------------------------------------------
        live = [clerk, clerk2, judge, S['def'], S['dfc'], S['wit'], S['anon']]
        await judge.call('hearing.set_state', {'state': 'in_session'})
        for rpc in live:
            st = await rpc.wait_for('hearing.state', lambda q: q['state'] == 'in_session')
            self.assertEqual(st['hearing_id'], hid)
        r = w.set_state(hid, 'adjourned')
        self.assertEqual(r.status, 200, r)
        for rpc in live:
            await rpc.wait_for('hearing.state', lambda q: q['state'] == 'adjourned')
        await self.assertRpcError(judge, 'hearing.set_state', {'state': 'open'}, 4009)
        await judge.call('hearing.set_state', {'state': 'in_session'})
        for rpc in live:
            await rpc.wait_for('hearing.state', lambda q: q['state'] == 'in_session')
        await self.assertRpcError(clerk, 'hearing.set_state', {'state': 'scheduled'}, 4009)
        await self.assertRpcError(clerk, 'hearing.set_state', {'state': 'in_session'}, 4009)
        self.assertEqual(w.hearing(hid)['state'], 'in_session')
        r = w.set_state(hid, 'closed')
        self.assertEqual(r.status, 200, r)
        for rpc in live:
            sc = await rpc.wait_for('session.closing')
            self.assertEqual(sc['reason'], 'hearing_closed', rpc.name)
            self.assertEqual(await rpc.wait_closed(), 1000, rpc.name)
        self.assertEqual(w.hearing(hid)['state'], 'closed')
        r = w.set_state(hid, 'open')
        self.assertApiError(r, 409, 4009)
        # every notification carries hearing_id (PROTOCOL.md)
        for rpc in live + [S['obs']]:
            for n in rpc.notes:
                self.assertEqual(n.params.get('hearing_id'), hid,
                                 '%s: %s without hearing_id: %r' % (rpc.name, n.method, n.params))
        # a closed hearing cannot be joined again (the hello itself may or may not
        # be refused)
        late = await self.ws('late')
        reply = await late.request('session.hello', {'token': P['def']['join_token']})
        if 'error' in reply:
            self.assertIn(reply['error']['code'], (4001, 4009), reply)
        else:
            await self.assertRpcError(late, 'hearing.join', {}, (4009, 4001), 'closed hearing')


class AlertTest(harness.DaemonTestCase):
    """DESIGN.md 4: clerks get alert notifications for what needs a human,
    among them a participant waiting in the lobby."""

    async def test_lobby_alert_to_clerk(self):
        w = self.world
        hid = w.new_hearing()
        self.assertEqual(w.set_state(hid, 'open').status, 200)
        p = w.add_participant(hid, 'Wanda Waiting', 'witness')
        clerk = await self.staff_ws('clerk', hid)
        rpc = await self.join_ws(p)
        self.assertEqual(rpc.joined['place'], 'lobby')
        await clerk.wait_for('lobby.waiting', lambda q: pid_of(q) == p['participant_id'])
        alert = await clerk.wait_for('alert')
        for k in ('code', 'severity', 'message', 'hearing_id'):
            self.assertIn(k, alert)
        self.assertEqual(alert['hearing_id'], hid)
        self.assertEqual(alert.get('participant_id'), p['participant_id'])
        # participants get no alerts
        await rpc.assert_no('alert', 0.3)


class ListingTest(harness.DaemonTestCase):
    """GET /hearings?courtroom_id=&date= (the date in the courtroom's time
    zone); lists answer {items, next_cursor}; creates answer 201 with id."""

    async def test_hearings_by_local_date(self):
        d, w = self.daemon, self.world
        tok = w.token('clerk')
        r = d.api('POST', '/courtrooms', {'name': 'Auckland 2', 'retention_days': 10,
                                          'time_zone': 'Pacific/Auckland'}, token=tok)
        self.assertEqual(r.status, 201, r)
        crt = r.body['id']
        self.assertTrue(crt.startswith('crt_'))
        self.assertEqual(r.body['name'], 'Auckland 2')
        self.assertEqual(r.body['time_zone'], 'Pacific/Auckland')
        # 12:00 UTC on 1 December is 01:00 on 2 December in Auckland (UTC+13)
        r = d.api('POST', '/hearings', {'courtroom_id': crt, 'case_reference': 'T/NZ-1',
                                        'title': 'R v Tz', 'starts_at': '2026-12-01T12:00:00Z',
                                        'ends_at': '2026-12-01T13:00:00Z'}, token=tok)
        self.assertEqual(r.status, 201, r)
        hid = r.body['id']
        self.assertEqual(r.body['state'], 'scheduled')
        self.assertEqual(r.body['starts_at'], '2026-12-01T12:00:00Z')
        r = d.api('GET', '/hearings?courtroom_id=%s&date=2026-12-02' % crt, token=tok)
        self.assertEqual(r.status, 200, r)
        self.assertIn('items', r.body)
        self.assertIn('next_cursor', r.body)
        self.assertEqual([h['id'] for h in r.body['items']], [hid])
        r = d.api('GET', '/hearings?courtroom_id=%s&date=2026-12-01' % crt, token=tok)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.body['items'], [], 'the date is the courtroom\'s, not UTC\'s')
        # the other courtroom's hearings are not listed under this one
        other = w.new_hearing()
        r = d.api('GET', '/hearings?courtroom_id=%s' % crt, token=tok)
        self.assertNotIn(other, [h['id'] for h in r.body['items']])
        for bad in ('date=2026-13-01', 'date=yesterday', 'courtroom_id=%s&date=2026-02-30' % crt):
            r = d.api('GET', '/hearings?' + bad, token=tok)
            self.assertApiError(r, 400, -32602, bad)
        r = d.api('GET', '/courtrooms', token=tok)
        self.assertIn('next_cursor', r.body)
        self.assertIn(crt, [c['id'] for c in r.body['items']])


class ConcurrencyTest(harness.DaemonTestCase):
    """Many clients at once: parallel logins (scrypt off the server thread),
    a crowd joining one lobby, and a stalled client that blocks nobody."""

    async def test_parallel_logins(self):
        d = self.daemon
        loop = asyncio.get_running_loop()
        t0 = loop.time()

        def login(i):
            who = ('clerk', 'judge', 'evidential')[i % 3]
            return d.api('POST', '/login', {'username': who,
                                            'password': harness.STAFF_PASSWORDS[who]})
        results = await asyncio.gather(*(loop.run_in_executor(None, login, i)
                                         for i in range(12)))
        self.assertEqual([r.status for r in results], [200] * 12, results)
        tokens = {r.body['token'] for r in results}
        self.assertEqual(len(tokens), 12, 'every login gets its own token')
        for t in tokens:
            d.secrets.add(t)
        # the server thread stayed responsive meanwhile
        self.assertEqual(d.http('GET', '/healthz').status, 200)
        self.assertLess(loop.time() - t0, 30)

    async def test_crowd_in_the_lobby(self):
        w = self.world
        hid = w.new_hearing()
        self.assertEqual(w.set_state(hid, 'open').status, 200)
        clerk = await self.staff_ws('clerk', hid)
        people = [w.add_participant(hid, 'Member %02d' % i, 'observer') for i in range(40)]
        socks = await asyncio.gather(*(self.join_ws(p, name='m%02d' % i)
                                       for i, p in enumerate(people)))
        self.assertEqual({s.joined['place'] for s in socks}, {'lobby'})
        for p in people:
            await clerk.wait_for('lobby.waiting', lambda q: pid_of(q) == p['participant_id'])
        # admit all at once; each learns of its own admission
        await asyncio.gather(*(clerk.call('hearing.admit', {'participant_id': p['participant_id']})
                               for p in people))
        for s, p in zip(socks, people):
            await s.wait_for('participant.admitted', lambda q: pid_of(q) == p['participant_id'])
        # nobody in the lobby learnt of the others before their own admission
        for s, p in zip(socks, people):
            first_admitted = next(n.seq for n in s.notes if n.method == 'participant.admitted'
                                  and pid_of(n.params) == p['participant_id'])
            for n in s.notes:
                if n.seq < first_admitted:
                    self.assertNotIn(n.method, ('lobby.waiting', 'participant.joined',
                                                'participant.admitted'), (s.name, n))

    async def test_stalled_client_blocks_nobody(self):
        import socket
        d = self.daemon
        raw = socket.create_connection(('127.0.0.1', d.port))
        tls = d.ssl_context().wrap_socket(raw, server_hostname='127.0.0.1')
        idle_tcp = socket.create_connection(('127.0.0.1', d.port))
        try:
            tls.sendall(b'POST /api/v1/login HTTP/1.1\r\nHost: 127.0.0.1\r\n'
                        b'Content-Length: 100\r\n\r\n{"user')
            loop = asyncio.get_running_loop()
            t0 = loop.time()
            self.assertEqual(d.http('GET', '/healthz').status, 200)
            rpc = await self.staff_ws('judge')
            self.assertEqual(rpc.hello['identity']['role'], 'judge')
            self.assertLess(loop.time() - t0, 5)
        finally:
            tls.close()
            idle_tcp.close()


class OpsTest(harness.DaemonTestCase):
    """/healthz, /metrics, Referrer-Policy on every answer."""

    @classmethod
    def setUpClass(cls):
        cls.daemon = harness.Daemon(name=cls.__name__)
        cls.initial_mode = None
        try:
            cls.daemon.start()

            def probe(first):
                path = os.path.join(cls.daemon.data_dir, 'initial-admin-password')
                cls.initial_mode = os.stat(path).st_mode & 0o777

            cls.world = harness.World(cls.daemon, before_admin_change=probe)
        except BaseException:
            cls.daemon.kill()
            raise

    async def test_healthz_metrics_headers(self):
        d = self.daemon
        r = d.http('GET', '/healthz')
        self.assertEqual(r.status, 200, r)
        r = d.http('GET', '/metrics')
        self.assertEqual(r.status, 200, r)
        self.assertIn('text/plain', r.headers.get('content-type', ''))
        text = r.raw.decode()
        self.assertRegex(text, r'(?m)^# TYPE \w+ (counter|gauge|histogram|summary)$')
        self.assertRegex(text, r'(?m)^[a-zA-Z_:][a-zA-Z0-9_:]*(\{[^}]*\})? [0-9.eE+-]+$')
        for path, token in (('/healthz', None), ('/metrics', None), ('/api/v1/courtrooms', None),
                            ('/api/v1/courtrooms', self.world.token('clerk')),
                            ('/api/v1/hearings/hrg_nosuch', self.world.token('clerk')),
                            ('/', None), ('/nosuchpage', None)):
            r = d.http('GET', path, token=token)
            self.assertEqual(r.headers.get('referrer-policy'), 'no-referrer',
                             '%s: %r' % (path, r.headers))
        r = d.api('POST', '/login', {'username': 'nobody', 'password': 'x' * 12})
        self.assertEqual(r.headers.get('referrer-policy'), 'no-referrer')

    async def test_initial_admin_password_file(self):
        path = os.path.join(self.daemon.data_dir, 'initial-admin-password')
        self.assertEqual(self.initial_mode, 0o600)
        # deleted once that password was changed (the World changed it)
        self.assertFalse(os.path.exists(path))
        self.assertIn('initial-admin-password', self.daemon.stderr_text())
        self.assertNotIn(self.daemon.admin_initial_password, self.daemon.stderr_text())
        self.assertEqual(os.stat(os.path.join(self.daemon.data_dir, 'secrets', 'token-key'))
                         .st_mode & 0o777, 0o600)


if __name__ == '__main__':
    harness.main()
