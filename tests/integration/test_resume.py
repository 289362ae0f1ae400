"""Reconnects (PROTOCOL.md "Tokens and sessions", DESIGN.md 4 "Reconnect"):
a dropped socket keeps its place for resume_grace_s; session.resume
restores it; resume tokens are single use; after the grace the others get
participant.left {reason: timeout}; a second hello with the same join token
takes the session over, the old socket is closed with 4009 and the
participant goes back to the lobby (the bench is told)."""

import asyncio
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import pid_of  # noqa: E402

GRACE = 2


class ResumeTest(harness.DaemonTestCase):
    overrides = {'auth': {'resume_grace_s': GRACE}}

    async def admitted(self, name='Rita Resume', role='defendant', hid=None):
        """A hearing (open) with a clerk in main and one participant admitted."""
        w = self.world
        if hid is None:
            hid = w.new_hearing()
            self.assertEqual(w.set_state(hid, 'open').status, 200)
        p = w.add_participant(hid, name, role)
        clerk = await self.staff_ws('clerk', hid)
        rpc = await self.join_ws(p)
        self.assertEqual(rpc.joined['place'], 'lobby')
        await clerk.wait_for('lobby.waiting', lambda q: pid_of(q) == p['participant_id'])
        await clerk.call('hearing.admit', {'participant_id': p['participant_id']})
        await rpc.wait_for('participant.admitted', lambda q: pid_of(q) == p['participant_id'])
        return hid, p, clerk, rpc

    async def resume(self, resume_token, name='resumed'):
        rpc = await self.ws(name)
        reply = await rpc.request('session.resume', {'resume_token': resume_token})
        return rpc, reply

    async def test_resume_keeps_place(self):
        hid, p, clerk, rpc = await self.admitted()
        pid = p['participant_id']
        await clerk.call('hearing.move', {'participant_id': pid, 'place': 'consultation:c1'})
        await rpc.wait_for('participant.moved', lambda q: pid_of(q) == pid)
        r1 = rpc.hello['resume_token']
        self.assertIsInstance(r1, str)
        self.assertGreaterEqual(len(r1), 22)
        rpc.abort()
        await asyncio.sleep(0.3)
        rpc2, reply = await self.resume(r1, 'resumed-1')
        self.assertIn('result', reply, reply)
        res = reply['result']
        for k in ('session_id', 'resume_token', 'identity', 'ice_servers'):
            self.assertIn(k, res)
        self.assertEqual(res['identity']['participant_id'], pid)
        self.assertEqual(res['identity']['hearing_id'], hid)
        self.assertEqual(res['identity']['role'], 'defendant')
        r2 = res['resume_token']
        self.assertNotEqual(r2, r1, 'every resume returns a fresh resume token')
        self.daemon.secrets.update((r1, r2))
        joined = await rpc2.call('hearing.join', {})
        self.assertEqual(joined['place'], 'consultation:c1', 'the place is kept')
        self.assertEqual(joined['hearing']['id'], hid)
        self.assertIsInstance(joined['participants'], list)
        # idempotent
        again = await rpc2.call('hearing.join', {})
        self.assertEqual(again['place'], 'consultation:c1')
        # well past the grace: nobody was told it left
        await clerk.assert_no('participant.left', GRACE + 1.5, lambda q: pid_of(q) == pid)
        self.assertFalse(rpc2.closed.is_set())
        # still controlled as before
        await clerk.call('hearing.move', {'participant_id': pid, 'place': 'main'})
        mv = await rpc2.wait_for('participant.moved', lambda q: pid_of(q) == pid)
        self.assertEqual(mv['place'], 'main')

    async def test_resume_token_single_use(self):
        hid, p, clerk, rpc = await self.admitted('Sam Single')
        r1 = rpc.hello['resume_token']
        rpc.abort()
        await asyncio.sleep(0.2)
        rpc2, reply = await self.resume(r1, 'first')
        self.assertIn('result', reply, reply)
        r2 = reply['result']['resume_token']
        rpc3, reply = await self.resume(r1, 'replay')
        self.assertIn('error', reply, 'a resume token was accepted twice: %r' % reply)
        self.assertEqual(reply['error']['code'], 4001)
        # the replay did not disturb the resumed session
        self.assertFalse(rpc2.closed.is_set())
        self.assertEqual((await rpc2.call('hearing.join', {}))['place'], 'main')
        # the fresh token works once, too (after another drop)
        rpc2.abort()
        await asyncio.sleep(0.2)
        rpc4, reply = await self.resume(r2, 'second')
        self.assertIn('result', reply, reply)
        self.assertEqual((await rpc4.call('hearing.join', {}))['place'], 'main')
        for bogus in ('x' * 43, r1, r2):
            rpc5, reply = await self.resume(bogus, 'bogus')
            self.assertEqual(reply.get('error', {}).get('code'), 4001, '%r: %r' % (bogus, reply))
        rpc5, reply = await self.resume('', 'empty')
        self.assertIn(reply.get('error', {}).get('code'), (4001, -32602), reply)
        await clerk.assert_no('participant.left', 0.2, lambda q: pid_of(q) == p['participant_id'])

    async def test_grace_expiry(self):
        hid, p, clerk, rpc = await self.admitted('Tim Timeout', role='witness')
        pid = p['participant_id']
        judge = await self.staff_ws('judge', hid)
        r1 = rpc.hello['resume_token']
        rpc.abort()
        t0 = asyncio.get_running_loop().time()
        for staff in (clerk, judge):
            left = await staff.wait_for('participant.left', lambda q: pid_of(q) == pid,
                                        timeout=GRACE + 6)
            self.assertEqual(left['reason'], 'timeout')
            self.assertEqual(left['hearing_id'], hid)
        waited = asyncio.get_running_loop().time() - t0
        self.assertGreaterEqual(waited, GRACE - 0.5, 'left before the grace ended')
        rpc2, reply = await self.resume(r1, 'too-late')
        self.assertEqual(reply.get('error', {}).get('code'), 4001, reply)
        # the link itself still works: back through the lobby
        rpc3 = await self.join_ws(p, name='rejoin')
        self.assertIn(rpc3.joined['place'], ('lobby', 'main'))
        if rpc3.joined['place'] == 'lobby':
            await clerk.wait_for('lobby.waiting', lambda q: pid_of(q) == pid)

    async def test_clean_leave(self):
        hid, p, clerk, rpc = await self.admitted('Liam Leave', role='observer')
        pid = p['participant_id']
        await rpc.call('hearing.leave', {})
        left = await clerk.wait_for('participant.left', lambda q: pid_of(q) == pid)
        self.assertEqual(left['reason'], 'left')

    async def test_takeover(self):
        hid, p, clerk, old = await self.admitted('Tara Takeover', role='defence')
        pid = p['participant_id']
        await clerk.call('hearing.move', {'participant_id': pid, 'place': 'consultation:t1'})
        await old.wait_for('participant.moved', lambda q: pid_of(q) == pid)
        new = await self.ws('new')
        hello = await new.call('session.hello', {'token': p['join_token']})
        self.assertEqual(hello['identity']['participant_id'], pid)
        self.assertNotEqual(hello['resume_token'], old.hello['resume_token'])
        code = await old.wait_closed()
        self.assertEqual(code, 4009, 'the taken-over socket is closed with 4009')
        joined = await new.call('hearing.join', {})
        self.assertEqual(joined['place'], 'lobby', 'a takeover by link goes back to the lobby')
        await clerk.wait_for('lobby.waiting', lambda q: pid_of(q) == pid)
        await clerk.wait_for('alert', lambda q: q['code'] == 'link_reused'
                             and q['participant_id'] == pid)
        await clerk.assert_no('participant.left', 1.0, lambda q: pid_of(q) == pid)
        # the old socket's resume token does not steal it back
        rpc, reply = await self.resume(old.hello['resume_token'], 'steal')
        self.assertEqual(reply.get('error', {}).get('code'), 4001, reply)
        self.assertFalse(new.closed.is_set())
        # taking over a dropped session (within the grace) works the same way
        new.abort()
        await asyncio.sleep(0.2)
        await clerk.call('hearing.admit', {'participant_id': pid})
        await clerk.call('hearing.move', {'participant_id': pid, 'place': 'consultation:t1'})
        clerk.drain()
        newer = await self.join_ws(p, name='newer', join=False)
        joined = await newer.call('hearing.join', {})
        self.assertEqual(joined['place'], 'lobby')
        await clerk.wait_for('alert', lambda q: q['code'] == 'link_reused')

    async def test_resume_while_old_socket_open(self):
        """session.resume onto a new socket while the old one is still open:
        the old one is closed with 4009 (docs/protocol.md)."""
        hid, p, clerk, old = await self.admitted('Olga Open', role='probation')
        new, reply = await self.resume(old.hello['resume_token'], 'new')
        self.assertIn('result', reply, reply)
        self.assertEqual(await old.wait_closed(), 4009)
        self.assertEqual((await new.call('hearing.join', {}))['place'], 'main')
        await clerk.assert_no('participant.left', 0.5,
                              lambda q: pid_of(q) == p['participant_id'])

    async def test_staff_second_socket_takes_over(self):
        """A second session of the same staff account joining the same
        hearing takes the place over; the first socket is closed with 4009."""
        w = self.world
        hid = w.new_hearing()
        judge = await self.staff_ws('judge', hid)
        first = await self.staff_ws('clerk', hid)
        second = await self.staff_ws('clerk', hid)
        self.assertEqual(second.joined['place'], 'main')
        self.assertEqual(await first.wait_closed(), 4009)
        self.assertEqual(len([x for x in w.participants(hid) if x['role'] == 'clerk']), 1)
        await judge.assert_no('participant.left', 0.5)
        # the judge (another account) is untouched
        self.assertFalse(judge.closed.is_set())

    async def test_staff_socket_drop(self):
        """Staff sessions also resume (a clerk's laptop changing network)."""
        w = self.world
        hid = w.new_hearing()
        clerk = await self.staff_ws('clerk', hid)
        r1 = clerk.hello['resume_token']
        clerk.abort()
        await asyncio.sleep(0.2)
        rpc, reply = await self.resume(r1, 'clerk-resumed')
        self.assertIn('result', reply, reply)
        self.assertEqual(reply['result']['identity']['role'], 'clerk')
        joined = await rpc.call('hearing.join', {'hearing_id': hid})
        self.assertEqual(joined['place'], 'main')



class ShutdownWithSessionsTest(harness.DaemonTestCase):
    """SIGTERM with live sockets, dropped sessions within their grace,
    taken-over and resumed sessions: every live socket gets session.closing,
    the daemon exits 0 within 10 s with no memory error (DESIGN.md 3
    "On SIGTERM ... sends session.closing ... exits within 10 s")."""

    async def test_sigterm_with_sessions(self):
        w, d = self.world, self.daemon
        hid = w.new_hearing()
        self.assertEqual(w.set_state(hid, 'open').status, 200)
        clerk = await self.staff_ws('clerk', hid)
        P = [w.add_participant(hid, 'Party %d' % i, role)
             for i, role in enumerate(('defendant', 'witness', 'defence', 'observer',
                                       'prosecution'))]
        live = [clerk]
        # 0: connected and admitted
        s0 = await self.join_ws(P[0])
        await clerk.call('hearing.admit', {'participant_id': P[0]['participant_id']})
        live.append(s0)
        # 1: dropped, within its grace
        s1 = await self.join_ws(P[1])
        s1.abort()
        # 2: taken over twice, the old sockets dropped or closed by the takeover
        s2 = await self.join_ws(P[2])
        s2b = await self.join_ws(P[2], name='2b')
        await s2.wait_closed()
        s2b.abort()
        s2c = await self.join_ws(P[2], name='2c')
        live.append(s2c)
        # 3: dropped then resumed
        s3 = await self.join_ws(P[3])
        r3 = s3.hello['resume_token']
        s3.abort()
        await asyncio.sleep(0.2)
        s3b = await self.ws('3b')
        await s3b.call('session.resume', {'resume_token': r3})
        await s3b.call('hearing.join', {})
        live.append(s3b)
        # 4: hello only, never joined
        s4 = await self.join_ws(P[4], join=False)
        live.append(s4)
        await asyncio.sleep(0.3)
        elapsed = await asyncio.get_running_loop().run_in_executor(None, d.stop)
        self.assertLess(elapsed, 10)
        for rpc in live:
            code = await rpc.wait_closed(timeout=3)
            closing = [n.params for n in rpc.notes if n.method == 'session.closing']
            self.assertTrue(closing, '%s got no session.closing before the shutdown' % rpc.name)
            self.assertEqual(closing[-1].get('reason'), 'shutdown', rpc.name)
            self.assertEqual(code, 1001, rpc.name)
        # the data directory is fine afterwards
        d.start()
        self.assertEqual(d.http('GET', '/healthz').status, 200)



class StaffRejoinTest(harness.DaemonTestCase):
    """A clerk whose socket closed joins the same hearing again from a new
    socket (a reload of the console) while the old session is within its
    grace: one participant, in main, and a clean shutdown afterwards."""

    async def test_staff_rejoin_then_sigterm(self):
        w, d = self.world, self.daemon
        hid = w.new_hearing()
        first = await self.staff_ws('clerk', hid)
        await first.close()
        second = await self.staff_ws('clerk', hid)
        self.assertEqual(second.joined['place'], 'main')
        await second.close()
        third = await self.staff_ws('clerk', hid)
        self.assertEqual(third.joined['place'], 'main')
        clerks = [p for p in w.participants(hid) if p['role'] == 'clerk']
        self.assertEqual(len(clerks), 1, 'one participant per account and hearing: %r' % clerks)
        elapsed = await asyncio.get_running_loop().run_in_executor(None, d.stop)
        self.assertLess(elapsed, 10)
        d.start()


if __name__ == '__main__':
    harness.main()
