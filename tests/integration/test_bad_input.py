"""Bad input of every kind (PROTOCOL.md "Conventions", "Error codes",
"Tokens and sessions"): always an error with a stable code, never a crash,
never a change of state. After each test the daemon still serves another
client and the schedule is unchanged."""

import asyncio
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import b64u, b64u_dec, forge, jws_claims, jws_split, hs  # noqa: E402

import websockets  # noqa: E402
import websockets.exceptions  # noqa: E402

MAX_MESSAGE = 262144


class BadInputTest(harness.DaemonTestCase):
    overrides = {'server': {'unauthenticated_timeout_s': 3, 'rpc_rate_per_s': 50,
                            'rpc_burst': 100, 'max_message_bytes': MAX_MESSAGE}}

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        w = cls.world
        cls.hid = w.new_hearing(case_reference='T/BAD-A')
        cls.hid_b = w.new_hearing(case_reference='T/BAD-B')
        cls.pa = w.add_participant(cls.hid, 'Alice Defendant', 'defendant')
        cls.pb = w.add_participant(cls.hid_b, 'Bob Witness', 'witness')

    # -- the invariant checked after every test --------------------------------

    def snapshot(self):
        d, w = self.daemon, self.world
        out = {}
        for path in ('/hearings', '/courtrooms', '/hearings/%s' % self.hid,
                     '/hearings/%s/participants' % self.hid,
                     '/hearings/%s/participants' % self.hid_b):
            r = d.api('GET', path, token=w.token('clerk'))
            self.assertEqual(r.status, 200, '%s: %r' % (path, r))
            body = harness.stable(r.body)
            if path.endswith('/participants'):
                # a staff hearing.join adds the account's own participant row
                body = [p for p in body if p.get('role') not in ('clerk', 'judge')]
            out[path] = body
        return out

    async def asyncSetUp(self):
        await super().asyncSetUp()
        self.expect_changes = False
        self.before = self.snapshot()

    async def asyncTearDown(self):
        await super().asyncTearDown()
        r = self.daemon.http('GET', '/healthz')
        self.assertEqual(r.status, 200, 'healthz after the test: %r' % r)
        rpc = await harness.Rpc.connect(self.daemon, name='after')
        try:
            hello = await rpc.call('session.hello', {'token': self.world.token('judge')})
            self.assertEqual(hello['identity']['role'], 'judge')
        finally:
            await rpc.close()
        if not self.expect_changes:
            self.assertEqual(self.snapshot(), self.before, 'state changed')

    async def fresh(self, name='bad', hello=None):
        rpc = await self.ws(name)
        if hello:
            rpc.hello = await rpc.call('session.hello', {'token': hello})
        return rpc

    def assertNullIdError(self, reply, code, what):
        self.assertIn('error', reply, '%s: %r' % (what, reply))
        self.assertIsNone(reply['id'], '%s: %r' % (what, reply))
        self.assertNotIn('result', reply, what)
        c = reply['error']['code']
        if isinstance(code, (tuple, set, list)):
            self.assertIn(c, code, '%s: %r' % (what, reply))
        else:
            self.assertEqual(c, code, '%s: %r' % (what, reply))
        self.assertIsInstance(reply['error']['message'], str)

    # -- the JSON-RPC envelope ---------------------------------------------------

    async def test_not_json(self):
        rpc = await self.fresh()
        for text in ('hello', '{', '{"jsonrpc":"2.0","id":1,"method":"x"', '{"a":}', ' ', '',
                     '{"jsonrpc":"2.0","id":1,"method":"x"}garbage', 'NaN',
                     '{"jsonrpc":"2.0","id":1e400,"method":"x"}'):
            await rpc.send_raw(text)
            reply = await rpc.next_unmatched()
            self.assertNullIdError(reply, (-32700, -32600), 'not JSON %r' % text)
        self.assertFalse(rpc.closed.is_set())
        await rpc.send_raw('hello')
        self.assertNullIdError(await rpc.next_unmatched(), -32700, 'plain text')

    async def test_non_object(self):
        rpc = await self.fresh()
        for text in ('42', '"str"', 'null', 'true', '1.5'):
            await rpc.send_raw(text)
            self.assertNullIdError(await rpc.next_unmatched(), -32600, 'non-object %s' % text)

    async def test_batches(self):
        rpc = await self.fresh()
        batches = ['[]', '[{"jsonrpc":"2.0","id":1,"method":"session.hello","params":{"token":"x"}}]',
                   '[{"jsonrpc":"2.0","id":1,"method":"a"},{"jsonrpc":"2.0","id":2,"method":"b"}]',
                   '[1,2,3]']
        for text in batches:
            await rpc.send_raw(text)
            self.assertNullIdError(await rpc.next_unmatched(), -32600, 'batch %s' % text)
        # exactly one reply per batch
        await asyncio.sleep(0.5)
        self.assertTrue(rpc.unmatched.empty(), list(rpc.unmatched._queue))
        self.assertEqual(rpc.replies, {})
        self.assertEqual(len(rpc.messages), len(batches))

    async def test_bad_ids(self):
        rpc = await self.fresh()
        for id_text in ('null', '1.5', '{}', '[]', 'true', '{"a":1}', '[1]', '1e3', '-0.5'):
            text = '{"jsonrpc":"2.0","id":%s,"method":"session.hello","params":{"token":"x"}}' \
                % id_text
            await rpc.send_raw(text)
            self.assertNullIdError(await rpc.next_unmatched(), -32600, 'id %s' % id_text)
        # good ids are echoed exactly
        for good in ('abc', 0, -7, 2 ** 53, '', '1', 'ü-€'):
            reply = await rpc.request('no.such.method', {}, id=good)
            self.assertEqual(reply['id'], good)
            self.assertIs(type(reply['id']), type(good))
            self.assertEqual(reply['error']['code'], -32601)

    async def test_envelope_errors(self):
        rpc = await self.fresh()
        cases = [
            ('{"jsonrpc":"1.0","id":1,"method":"session.hello","params":{"token":"x"}}', -32600),
            ('{"id":2,"method":"session.hello","params":{"token":"x"}}', -32600),
            ('{"jsonrpc":"2.0","id":3}', -32600),
            ('{"jsonrpc":"2.0","id":4,"method":5}', -32600),
            ('{"jsonrpc":2.0,"id":5,"method":"session.hello"}', -32600),
            ('{"jsonrpc":"2.0","id":6,"method":"session.hello","params":[1,2]}',
             (-32600, -32602)),
            ('{"jsonrpc":"2.0","id":7,"method":"session.hello","params":"token"}',
             (-32600, -32602)),
            ('{"jsonrpc":"2.0","id":8,"method":"session.hello","params":null}', (-32600, -32602)),
        ]
        for text, code in cases:
            await rpc.send_raw(text)
            reply = await rpc.next_unmatched()
            self.assertIn('error', reply, text)
            self.assertNotIn('result', reply)
            c = reply['error']['code']
            self.assertIn(c, code if isinstance(code, tuple) else (code,), '%s: %r' % (text, reply))
            self.assertIn(reply['id'], (None, json.loads(text)['id']), reply)

    async def test_unknown_methods_and_param_types(self):
        rpc = await self.fresh()
        for m in ('no.such', 'session.Hello', 'hearing.', '', 'rpc.discover', 'a' * 1000):
            err = await rpc.error(m, {})
            self.assertIn(err['code'], (-32601, -32600), '%r: %r' % (m, err))
        # NUL in a string: the message is refused as a whole (id null or echoed)
        await rpc.send_raw('{"jsonrpc":"2.0","id":77,"method":"hearing.join\\u0000","params":{}}')
        reply = await rpc.next_unmatched()
        self.assertIn(reply['error']['code'], (-32600, -32601, -32602), reply)
        self.assertIn(reply['id'], (None, 77))
        await self.assertRpcError(rpc, 'no.such', {}, -32601)
        for params in ({}, {'token': 5}, {'token': None}, {'token': ['a']}, {'token': {}},
                       {'tok': 'x'}):
            await self.assertRpcError(rpc, 'session.hello', params, -32602)
        await self.assertRpcError(rpc, 'session.resume', {'resume_token': 12}, -32602)
        await self.assertRpcError(rpc, 'session.resume', {}, -32602)
        clerk = await self.fresh('clerk', hello=self.world.token('clerk'))
        for params in ({'hearing_id': 5}, {'hearing_id': None}, {'hearing_id': ['x']}):
            await self.assertRpcError(clerk, 'hearing.join', params, -32602)
        await clerk.call('hearing.join', {'hearing_id': self.hid})
        # the target is present (in the lobby), so only the parameters are wrong
        pa = await self.join_ws(self.pa)
        self.assertEqual(pa.joined['place'], 'lobby')
        for m, params in (
                ('hearing.admit', {'participant_id': 5}),
                ('hearing.admit', {}),
                ('hearing.move', {'participant_id': self.pa['participant_id'], 'place': None}),
                ('hearing.mute', {'participant_id': self.pa['participant_id'], 'kind': 'audio',
                                  'muted': 1}),
                ('hearing.mute', {'participant_id': self.pa['participant_id'], 'kind': 3,
                                  'muted': True}),
                ('hearing.set_state', {'state': 1}),
                ('hearing.set_state', {}),
                ('hearing.set_special_measures', {'participant_id': self.pa['participant_id'],
                                                  'special_measures': 'none'}),
                ('hearing.set_special_measures', {'participant_id': self.pa['participant_id'],
                                                  'special_measures': {'audio_only': 'yes'}}),
                ('hearing.remove', {'participant_id': {'id': 'x'}})):
            with self.subTest(method=m, params=params):
                await self.assertRpcError(clerk, m, params, -32602, m)

    async def test_duplicate_keys(self):
        rpc = await self.fresh()
        for text, rid in (
                ('{"jsonrpc":"2.0","id":1,"id":2,"method":"no.such"}', None),
                ('{"jsonrpc":"2.0","id":3,"method":"session.hello","method":"no.such",'
                 '"params":{"token":"x"}}', 3),
                ('{"jsonrpc":"2.0","id":4,"method":"session.hello","params":{"token":"a",'
                 '"token":"%s"}}' % self.world.token('clerk'), 4)):
            await rpc.send_raw(text)
            reply = await rpc.next_unmatched()
            self.assertIn('error', reply, '%s: %r' % (text, reply))
            self.assertIn(reply['error']['code'], (-32700, -32600, -32602), reply)
            self.assertIn(reply['id'], (None, rid), reply)
        # the duplicated token did not authenticate the socket
        await self.assertRpcError(rpc, 'hearing.join', {'hearing_id': self.hid}, 4001)

    async def test_notifications_never_answered(self):
        rpc = await self.fresh()
        for obj in ({'jsonrpc': '2.0', 'method': 'no.such'},
                    {'jsonrpc': '2.0', 'method': 'session.hello',
                     'params': {'token': self.world.token('clerk')}},
                    {'jsonrpc': '2.0', 'method': 'webrtc.candidate',
                     'params': {'pc': 'publish', 'candidate': ''}},
                    {'jsonrpc': '2.0', 'method': 'hearing.join',
                     'params': {'hearing_id': self.hid}}):
            await rpc.send_json(obj)
        await asyncio.sleep(1.0)
        self.assertEqual(rpc.messages, [], 'a message without id was answered')
        # the hello sent without id was dropped, not executed
        await self.assertRpcError(rpc, 'hearing.join', {'hearing_id': self.hid}, 4001)
        await rpc.call('session.hello', {'token': self.world.token('clerk')})

    async def test_invalid_utf8_closes_1007(self):
        for payload in (b'{"jsonrpc":"2.0","id":1,"method":"\xff\xfe"}',
                        b'\xc0\xaf', b'{"jsonrpc":"2.0","id":1,"method":"x\xed\xa0\x80"}'):
            rpc = await self.fresh('utf8')
            await rpc.send_raw(payload)
            code = await rpc.wait_closed()
            self.assertEqual(code, 1007, payload)
        rpc = await self.fresh('utf8-auth', hello=self.world.token('clerk'))
        await rpc.send_raw(b'{"jsonrpc":"2.0","id":"\xff","method":"no.such"}')
        self.assertEqual(await rpc.wait_closed(), 1007)

    async def test_oversized_message(self):
        rpc = await self.fresh('big', hello=self.world.token('clerk'))
        big = json.dumps({'jsonrpc': '2.0', 'id': 99, 'method': 'hearing.join',
                          'params': {'hearing_id': self.hid, 'pad': 'x' * (300 * 1024)}})
        await rpc.send_raw(big)
        reply = await rpc.next_unmatched(timeout=10)
        self.assertIn('error', reply, reply)
        self.assertEqual(reply['error']['code'], 4013, reply)
        self.assertIn(reply['id'], (None, 99))
        self.assertFalse(rpc.closed.is_set(), 'socket closed after 4013')
        # still usable, and the oversized join did not happen
        res = await rpc.call('hearing.join', {'hearing_id': self.hid})
        self.assertEqual(res['place'], 'main')
        # many fragments that add up to too much
        big2 = '{"jsonrpc":"2.0","id":100,"method":"no.such","params":{"p":"' + \
            'y' * (MAX_MESSAGE + 10) + '"}}'
        await rpc.ws.send(iter([big2[i:i + 16384] for i in range(0, len(big2), 16384)]))
        reply = await rpc.next_unmatched(timeout=10)
        self.assertEqual(reply['error']['code'], 4013, reply)
        reply = await rpc.request('no.such', {})
        self.assertEqual(reply['error']['code'], -32601)
        # just under the cap is a normal message
        pad = 'z' * (MAX_MESSAGE - 200)
        reply = await rpc.request('no.such', {'p': pad})
        self.assertEqual(reply['error']['code'], -32601, reply)

    async def test_rate_limit(self):
        rpc = await self.fresh('rate', hello=self.world.token('clerk'))
        n = 300
        t0 = time.monotonic()
        futs = {}
        loop = asyncio.get_running_loop()
        for i in range(n):
            rid = 'r%d' % i
            fut = loop.create_future()
            rpc.pending[json.dumps(rid)] = fut
            futs[rid] = fut
        await asyncio.gather(*(rpc.send_json({'jsonrpc': '2.0', 'id': 'r%d' % i,
                                              'method': 'no.such'}) for i in range(n)))
        elapsed = time.monotonic() - t0
        done, not_done = await asyncio.wait(futs.values(), timeout=15)
        self.assertEqual(len(not_done), 0, '%d requests unanswered' % len(not_done))
        codes = [f.result()[1]['error']['code'] for f in futs.values()]
        limited = codes.count(4029)
        ok = codes.count(-32601)
        self.assertEqual(limited + ok, n, set(codes))
        self.assertGreater(limited, 0, 'no 4029 after %d requests in %.2f s' % (n, elapsed))
        self.assertGreaterEqual(ok, 100, 'burst of 100 not honoured: %d' % ok)
        self.assertLessEqual(ok, 100 + 50 * (elapsed + 1) + 10, (ok, elapsed))
        self.assertFalse(rpc.closed.is_set(), 'socket closed by the rate limit')
        await asyncio.sleep(1.5)
        reply = await rpc.request('no.such', {})
        self.assertEqual(reply['error']['code'], -32601, 'tokens refilled: %r' % reply)

    async def test_unauthenticated_timeout(self):
        rpc = await self.fresh('idle')
        t0 = time.monotonic()
        await rpc.wait_closed(timeout=10)
        self.assertLess(time.monotonic() - t0, 9)
        self.assertGreater(time.monotonic() - t0, 1.5)
        # an authenticated socket is not closed
        rpc2 = await self.fresh('authed', hello=self.world.token('clerk'))
        await asyncio.sleep(4)
        self.assertFalse(rpc2.closed.is_set())
        await rpc2.request('no.such', {})

    # -- tokens -----------------------------------------------------------------

    async def forging_kit(self):
        tok = self.pa['join_token']
        key = harness.find_signing_key(self.daemon, tok)
        h, c, s = jws_split(tok)
        header_text = b64u_dec(h).decode()
        return tok, key, header_text, jws_claims(tok)

    async def hello_code(self, token):
        rpc = await harness.Rpc.connect(self.daemon, name='forged')
        try:
            # a message too large to be read (before session.hello the
            # limit is max_unauthenticated_message_bytes) is answered with
            # id null: take whichever reply comes
            by_id = asyncio.ensure_future(rpc.request('session.hello', {'token': token}))
            by_null = asyncio.ensure_future(rpc.next_unmatched())
            done, pending = await asyncio.wait({by_id, by_null}, timeout=harness.RPC_TIMEOUT,
                                               return_when=asyncio.FIRST_COMPLETED)
            for f in pending:
                f.cancel()
            self.assertTrue(done, 'no reply to session.hello')
            reply = done.pop().result()
            if 'error' in reply:
                return reply['error']['code']
            return 'ok'
        finally:
            await rpc.close()

    async def test_forged_join_tokens(self):
        tok, key, header_text, claims = await self.forging_kit()
        now = int(time.time())
        hdr = json.loads(header_text)
        kid = hdr['kid']
        # sanity: re-signing the same header and claims is accepted
        same = forge(key, None, claims, header_text=header_text)
        self.assertEqual(await self.hello_code(same), 'ok', 'harness forging is wrong')
        leeway = dict(claims, exp=now - 20, nbf=now - 100)
        self.assertEqual(await self.hello_code(forge(key, None, leeway, header_text=header_text)),
                         'ok', 'expired 20 s ago is inside the 60 s leeway')

        bad = {}
        bad['garbage'] = 'abc'
        bad['empty'] = ''
        bad['two parts'] = '.'.join(tok.split('.')[:2])
        bad['four parts'] = tok + '.x'
        bad['bad signature'] = tok[:-4] + ('AAAA' if tok[-4:] != 'AAAA' else 'BBBB')
        bad['signed with another key'] = forge(b'k' * 32, None, claims, header_text=header_text)
        bad['alg none'] = forge(key, {'alg': 'none', 'typ': 'JWT', 'kid': kid}, claims, alg=None)
        bad['alg none signed'] = forge(key, {'alg': 'none', 'typ': 'JWT', 'kid': kid}, claims)
        bad['HS512'] = forge(key, {'alg': 'HS512', 'typ': 'JWT', 'kid': kid}, claims, alg='HS512')
        bad['HS384'] = forge(key, {'alg': 'HS384', 'typ': 'JWT', 'kid': kid}, claims, alg='HS384')
        bad['RS256'] = forge(key, {'alg': 'RS256', 'typ': 'JWT', 'kid': kid}, claims)
        bad['crit'] = forge(key, {'alg': 'HS256', 'typ': 'JWT', 'kid': kid, 'crit': ['exp']},
                            claims)
        bad['extra header member'] = forge(key, {'alg': 'HS256', 'typ': 'JWT', 'kid': kid,
                                                 'jku': 'https://evil/'}, claims)
        bad['header order'] = forge(key, {'typ': 'JWT', 'alg': 'HS256', 'kid': kid}, claims)
        bad['other kid'] = forge(key, {'alg': 'HS256', 'typ': 'JWT', 'kid': kid + 'x'}, claims)
        bad['no kid'] = forge(key, {'alg': 'HS256', 'typ': 'JWT'}, claims)
        bad['expired'] = forge(key, None, dict(claims, exp=now - 3600, nbf=now - 7200),
                               header_text=header_text)
        bad['expired 61+ s'] = forge(key, None, dict(claims, exp=now - 90, nbf=now - 7200),
                                     header_text=header_text)
        bad['not yet valid'] = forge(key, None, dict(claims, nbf=now + 3600),
                                     header_text=header_text)
        bad['wrong audience'] = forge(key, None, dict(claims, aud='vej-staff'),
                                      header_text=header_text)
        bad['no audience'] = forge(key, None, {k: v for k, v in claims.items() if k != 'aud'},
                                   header_text=header_text)
        bad['other hearing'] = forge(key, None, dict(claims, hid=self.hid_b),
                                     header_text=header_text)
        bad['other participant of other hearing'] = forge(
            key, None, dict(claims, pid=self.pb['participant_id']), header_text=header_text)
        bad['unknown participant'] = forge(key, None, dict(claims, pid='ptc_' + 'z' * 26),
                                           header_text=header_text)
        bad['older ver'] = forge(key, None, dict(claims, ver=claims['ver'] - 1),
                                 header_text=header_text)
        bad['ver as string'] = forge(key, None, dict(claims, ver=str(claims['ver'])),
                                     header_text=header_text)
        bad['exp as string'] = forge(key, None, dict(claims, exp=str(claims['exp'])),
                                     header_text=header_text)
        # canonical base64url only: padding, standard alphabet, non-zero trailing bits
        h, c, s = jws_split(tok)
        bad['padded signature'] = h + '.' + c + '.' + s + '='
        bad['std alphabet'] = tok.replace('-', '+').replace('_', '/') \
            if ('-' in tok or '_' in tok) else tok + '+'
        alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'
        last = alphabet.index(s[-1])
        bad['non-canonical trailing bits'] = h + '.' + c + '.' + s[:-1] + alphabet[last ^ 1]
        self.assertEqual(b64u_dec(bad['non-canonical trailing bits'].split('.')[2]),
                         b64u_dec(s))
        padded_claims = c + '=' * (-len(c) % 4)
        if padded_claims != c:
            bad['padded claims'] = h + '.' + padded_claims + '.' + b64u(
                hs(key, h + '.' + padded_claims))
        bad['huge'] = 'a' * 5000 + '.' + 'b' * 5000 + '.' + 'c' * 43
        bad['staff-looking'] = b64u(os.urandom(32))
        for what, forged in bad.items():
            with self.subTest(token=what):
                code = await self.hello_code(forged)
                if what in ('huge', 'empty'):
                    self.assertIn(code, (4001, -32602, 4013), what)
                else:
                    self.assertEqual(code, 4001, '%s: hello answered %r' % (what, code))
        # the real one still works
        self.assertEqual(await self.hello_code(tok), 'ok')

    async def test_reissued_token_revokes_old(self):
        self.expect_changes = True
        w, d = self.world, self.daemon
        p = w.add_participant(self.hid_b, 'Reissue Me', 'observer')
        r = d.api('POST', '/hearings/%s/participants/%s/token' % (self.hid_b, p['participant_id']),
                  {}, token=w.token('clerk'))
        self.assertIn(r.status, (200, 201), r)
        new = r.body['join_token']
        d.secrets.add(new)
        self.assertNotEqual(new, p['join_token'])
        self.assertTrue(r.body['join_url'].endswith('/join#t=' + new))
        self.assertGreater(jws_claims(new)['ver'], jws_claims(p['join_token'])['ver'])
        self.assertEqual(await self.hello_code(p['join_token']), 4001)
        self.assertEqual(await self.hello_code(new), 'ok')

    async def test_staff_tokens(self):
        d, w = self.daemon, self.world
        for forged in ('x' * 43, b64u(os.urandom(32)), w.token('clerk')[:-1],
                       w.token('clerk') + 'A', w.token('clerk').upper()):
            self.assertEqual(await self.hello_code(forged), 4001, forged)
            self.assertApiError(d.api('GET', '/courtrooms', token=forged), 401, 4001)
        tok = d.login('clerk2', harness.STAFF_PASSWORDS['clerk2'])['token']
        self.assertEqual(await self.hello_code(tok), 'ok')
        r = d.api('POST', '/logout', {}, token=tok)
        self.assertIn(r.status, (200, 204), r)
        self.assertEqual(await self.hello_code(tok), 4001, 'revoked staff token')
        self.assertApiError(d.api('GET', '/courtrooms', token=tok), 401, 4001)

    async def test_other_hearing_id(self):
        w = self.world
        pa = await self.join_ws(self.pa, join=False)
        err = await pa.error('hearing.join', {'hearing_id': self.hid_b})
        self.assertIn(err['code'], (4003, 4004, -32602, 4009), err)
        res = await pa.call('hearing.join', {})
        self.assertEqual(res['hearing']['id'], self.hid)
        self.assertEqual(res['place'], 'lobby')
        pb = await self.join_ws(self.pb)
        clerk = await self.fresh('clerk', hello=w.token('clerk'))
        await clerk.call('hearing.join', {'hearing_id': self.hid})
        for m, params in (
                ('hearing.admit', {'hearing_id': self.hid_b,
                                   'participant_id': self.pb['participant_id']}),
                ('hearing.admit', {'participant_id': self.pb['participant_id']}),
                ('hearing.set_state', {'hearing_id': self.hid_b, 'state': 'open'}),
                ('hearing.mute', {'hearing_id': self.hid_b,
                                  'participant_id': self.pb['participant_id'], 'kind': 'audio',
                                  'muted': True}),
                ('hearing.remove', {'participant_id': self.pb['participant_id']})):
            err = await clerk.error(m, params)
            self.assertIn(err['code'], (4003, 4004, -32602, 4009), '%s: %r' % (m, err))
        for m in ('hearing.admit', 'hearing.leave'):
            err = await pa.error(m, {'hearing_id': self.hid_b,
                                     'participant_id': self.pb['participant_id']})
            self.assertIn(err['code'], (4003, 4004, -32602, 4009), '%s: %r' % (m, err))
        await pb.assert_no('participant.admitted', 0.5)
        self.assertFalse(pb.closed.is_set())
        self.assertEqual(w.hearing(self.hid_b)['state'], 'scheduled')

    # -- REST bodies --------------------------------------------------------------

    async def test_rest_bad_bodies(self):
        d, w = self.daemon, self.world
        tok = w.token('clerk')
        path = '/hearings/%s/participants' % self.hid
        cases = [
            (b'not json', (-32700,)),
            (b'{"display_name": "A", "role": "witness"', (-32700,)),
            (b'[{"display_name": "A", "role": "witness"}]', (-32600, -32602)),
            (b'"A"', (-32600, -32602)),
            (b'{"display_name": "\xff\xfe", "role": "witness"}', (-32700, -32602)),
            (b'{"display_name": "A\xc0\xaf", "role": "witness"}', (-32700, -32602)),
            (b'{"display_name": "A", "role": "witness", "role": "judge"}',
             (-32700, -32600, -32602)),
            (b'{"display_name": "A", "role": "pilot"}', (-32602,)),
            (b'{"display_name": "A"}', (-32602,)),
            (b'{"role": "witness"}', (-32602,)),
            (b'{"display_name": 5, "role": "witness"}', (-32602,)),
            (b'{"display_name": "A", "role": "witness", "special_measures": "x"}', (-32602,)),
            (b'{"display_name": "A", "role": "witness", '
             b'"special_measures": {"screened_from": "defendant"}}', (-32602,)),
            (b'{"display_name": "A", "role": "witness", '
             b'"special_measures": {"screened_from": ["nobody"]}}', (-32602,)),
            (b'{"display_name": "A", "role": "witness", '
             b'"special_measures": {"anonymous": "yes"}}', (-32602,)),
            (b'{"display_name": "", "role": "witness"}', (-32602,)),
        ]
        for body, codes in cases:
            with self.subTest(body=body):
                r = d.api('POST', path, body, token=tok)
                self.assertEqual(r.status, 400, '%r: %r' % (body, r))
                self.assertIn(r.error_code, codes, '%r: %r' % (body, r))
        for body in (b'{"name": "C", "retention_days": "x", "time_zone": "UTC"}',
                     b'{"name": "C", "retention_days": 30, "time_zone": "Mars/Olympus"}',
                     b'{"name": "C", "retention_days": -1, "time_zone": "UTC"}',
                     b'{"retention_days": 30, "time_zone": "UTC"}',
                     b'{"name": "\xff", "retention_days": 30, "time_zone": "UTC"}'):
            r = d.api('POST', '/courtrooms', body, token=tok)
            self.assertEqual(r.status, 400, '%r: %r' % (body, r))
        base = {'courtroom_id': w.courtroom_id, 'case_reference': 'T/BAD-X', 'title': 't',
                'starts_at': '2026-12-01T10:00:00Z', 'ends_at': '2026-12-01T11:00:00Z'}
        for change in ({'starts_at': 'tomorrow'}, {'starts_at': 5}, {'ends_at': '2026-13-01T00:00:00Z'},
                       {'courtroom_id': 5}, {'case_reference': None}):
            r = d.api('POST', '/hearings', dict(base, **change), token=tok)
            self.assertApiError(r, 400, -32602, repr(change))
        r = d.api('PATCH', '%s/%s' % (path, self.pa['participant_id']), b'{"display_name": "\xff"}',
                  token=tok)
        self.assertEqual(r.status, 400, r)
        r = d.api('PATCH', '%s/%s' % (path, self.pa['participant_id']), {'role': 'judge'},
                  token=tok)
        self.assertEqual(r.status, 400, 'role is not changeable by PATCH: %r' % r)

    async def test_sql_metacharacters_stored_verbatim(self):
        self.expect_changes = True
        d, w = self.daemon, self.world
        tok = w.token('clerk')
        nasty = ["Robert'); DROP TABLE participants;--", "x' OR '1'='1", '"; DELETE FROM users; --',
                 "name\\' /* */ UNION SELECT * FROM staff_sessions --", '%_%', "O'Brien",
                 '\u202eevil', 'emoji \U0001f600', '<script>alert(1)</script>']
        created = []
        for name in nasty:
            r = d.api('POST', '/hearings/%s/participants' % self.hid_b,
                      {'display_name': name, 'role': 'observer'}, token=tok)
            self.assertEqual(r.status, 201, '%r: %r' % (name, r))
            created.append((r.body['participant_id'], name))
            d.secrets.add(r.body['join_token'])
        items = {i.get('participant_id') or i.get('id'): i for i in w.participants(self.hid_b)}
        for pid, name in created:
            self.assertEqual(items[pid]['display_name'], name)
        r = d.api('POST', '/courtrooms', {'name': "Court'; DROP TABLE courtrooms;--",
                                          'retention_days': 7, 'time_zone': 'UTC'}, token=tok)
        self.assertEqual(r.status, 201, r)
        r = d.api('GET', '/courtrooms', token=tok)
        names = [c['name'] for c in r.body['items']]
        self.assertIn("Court'; DROP TABLE courtrooms;--", names)
        self.assertIn('Court 1', names)
        r = d.api('GET', "/hearings?courtroom_id=%27%20OR%201%3D1%20--", token=tok)
        self.assertIn(r.status, (200, 400, 404), r)
        if r.status == 200:
            self.assertEqual(r.body['items'], [])
        # everything else intact
        after = self.snapshot()
        self.assertEqual(after['/hearings/%s/participants' % self.hid],
                         self.before['/hearings/%s/participants' % self.hid])
        self.assertEqual(after['/hearings'], self.before['/hearings'])
        # the names travel intact over WebSocket too
        rpc = await self.join_ws({'join_token': self.pa['join_token'],
                                  'display_name': 'pa'}, join=False)
        self.assertEqual(rpc.hello['identity']['display_name'], 'Alice Defendant')

    async def test_huge_http_body(self):
        d, w = self.daemon, self.world
        body = json.dumps({'name': 'a' * (300 * 1024), 'retention_days': 1,
                           'time_zone': 'UTC'}).encode()
        head = ('POST /api/v1/courtrooms HTTP/1.1\r\nHost: 127.0.0.1\r\n'
                'Authorization: Bearer %s\r\nContent-Type: application/json\r\n'
                'Content-Length: %d\r\n\r\n' % (w.token('clerk'), len(body))).encode()
        status, headers, rbody = d.raw_https(head, [body], timeout=10)
        self.assertEqual(status, 413, headers)
        self.assertEqual(harness.loads_strict(rbody.decode())['error']['code'], 4013, rbody)
        # announced but larger than the cap, sent slowly: refused without reading it all
        head = ('POST /api/v1/courtrooms HTTP/1.1\r\nHost: 127.0.0.1\r\n'
                'Authorization: Bearer %s\r\nContent-Type: application/json\r\n'
                'Content-Length: %d\r\n\r\n' % (w.token('clerk'), 10 * 1024 * 1024)).encode()
        status, _, _ = d.raw_https(head, [b'{"name":"'] + [b'b' * 65536] * 5, timeout=10)
        self.assertEqual(status, 413)

    async def test_chunked_http_body(self):
        """A chunked request body (no Content-Length) is answered at once:
        processed, or refused with 411/400/413; an oversized one never
        accepted."""
        d, w = self.daemon, self.world
        head = ('POST /api/v1/courtrooms HTTP/1.1\r\nHost: 127.0.0.1\r\n'
                'Authorization: Bearer %s\r\nContent-Type: application/json\r\n'
                'Transfer-Encoding: chunked\r\n\r\n' % w.token('clerk')).encode()
        chunk = b'%x\r\n%s\r\n' % (65536, b'c' * 65536)
        status, _, _ = d.raw_https(head, [chunk] * 6 + [b'0\r\n\r\n'], timeout=5)
        self.assertIn(status, (413, 400, 411), 'oversized chunked body: no answer within 5 s')
        small = json.dumps({'name': 'Chunky', 'retention_days': 1, 'time_zone': 'UTC'}).encode()
        status, _, _ = d.raw_https(head, [b'%x\r\n%s\r\n' % (len(small), small),
                                          b'0\r\n\r\n'], timeout=5)
        self.assertIn(status, (201, 400, 411), 'small chunked body: no answer within 5 s')
        if status == 201:
            self.expect_changes = True

    async def test_upgrade_on_other_path_refused(self):
        for path in ('/other', '/ws/', '/ws/x', '/api/v1/ws', '/', '/wsx'):
            try:
                rpc = await harness.Rpc.connect(self.daemon, path=path, name='other')
            except (websockets.exceptions.InvalidHandshake, OSError, asyncio.TimeoutError):
                continue
            # an upgrade that "succeeded" must not be a working signalling socket
            try:
                reply = await rpc.request('session.hello', {'token': self.world.token('clerk')},
                                          timeout=3)
                self.fail('upgrade on %s accepted and answered %r' % (path, reply))
            except (AssertionError, ConnectionError) as e:
                if 'accepted and answered' in str(e):
                    raise
            finally:
                await rpc.close()


if __name__ == '__main__':
    harness.main()
