"""vejctl against the real daemon: login, courtrooms, hearings, participants
(the join URL), state changes, --json output, errors with the server's code,
and audit verify on the data directory."""

import json
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402


class VejctlTest(harness.DaemonTestCase):

    def ctl(self, *args, stdin=None, token='clerk'):
        env_args = ['--url', self.daemon.base, '--cacert', self.daemon.cert_path]
        if token:
            env_args += ['--token', self.world.token(token)]
        p = self.daemon.vejctl(*(list(args) + env_args),
                               stdin=stdin.encode() if stdin else None)
        return p.returncode, p.stdout.decode(), p.stderr.decode()

    async def test_login_prints_only_the_token(self):
        rc, out, err = self.ctl('login', '--user', 'clerk',
                                stdin=harness.STAFF_PASSWORDS['clerk'] + '\n', token=None)
        self.assertEqual(rc, 0, err)
        token = out.strip()
        self.assertEqual(len(token), 43, out)
        r = self.daemon.api('GET', '/courtrooms', token=token)
        self.assertEqual(r.status, 200, r)

    async def test_schedule_and_run_a_hearing(self):
        rc, out, err = self.ctl('courtroom', 'add', 'Court 7', '--retention-days', '30',
                                '--time-zone', 'Europe/London', '--json')
        self.assertEqual(rc, 0, err)
        crt = json.loads(out)
        self.assertTrue(crt['id'].startswith('crt_'), out)
        rc, out, err = self.ctl('courtroom', 'list')
        self.assertEqual(rc, 0, err)
        self.assertIn('Court 7', out)
        rc, out, err = self.ctl('hearing', 'schedule', '--courtroom', crt['id'], '--case',
                                'T2026/7777', '--title', 'R v Ctl', '--starts',
                                '2026-12-01T10:00:00Z', '--ends', '2026-12-01T12:00:00Z',
                                '--json')
        self.assertEqual(rc, 0, err)
        hrg = json.loads(out)
        self.assertEqual(hrg['state'], 'scheduled')
        rc, out, err = self.ctl('hearing', 'list', '--courtroom', crt['id'], '--date',
                                '2026-12-01')
        self.assertEqual(rc, 0, err)
        self.assertIn('T2026/7777', out)
        rc, out, err = self.ctl('participant', 'add', hrg['id'], '--name', 'Wyn Witness',
                                '--role', 'witness', '--screened-from', 'defendant',
                                '--audio-only')
        self.assertEqual(rc, 0, err)
        self.assertIn('/join#t=', out)
        # the printed link works: its token says hello
        url = [w for w in out.split() if '/join#t=' in w][0]
        rpc = await self.ws('link')
        res = await rpc.call('session.hello', {'token': url.split('#t=', 1)[1]})
        self.assertEqual(res['identity']['role'], 'witness')
        r = self.daemon.api('GET', '/hearings/%s/participants' % hrg['id'],
                            token=self.world.token('clerk'))
        sm = [p for p in r.body['items'] if p['display_name'] == 'Wyn Witness'][0]
        self.assertEqual(sm['special_measures']['screened_from'], ['defendant'])
        self.assertTrue(sm['special_measures']['audio_only'])
        rc, out, err = self.ctl('hearing', 'state', hrg['id'], 'open')
        self.assertEqual(rc, 0, err)
        rc, out, err = self.ctl('hearing', 'show', hrg['id'], '--json')
        self.assertEqual(json.loads(out)['state'], 'open')

    async def test_errors_carry_the_servers_code(self):
        rc, out, err = self.ctl('hearing', 'state', 'hrg_nosuchhearing', 'open')
        self.assertEqual(rc, 1)
        self.assertIn('4004', err + out)
        rc, out, err = self.ctl('courtroom', 'add', 'X', '--retention-days', '30',
                                '--time-zone', 'Europe/London', token='judge')
        self.assertEqual(rc, 1)
        self.assertIn('4003', err + out)
        rc, out, err = self.ctl('hearing', 'frobnicate')
        self.assertEqual(rc, 2, (out, err))

    async def test_user_commands(self):
        d, w = self.daemon, self.world
        crt = w.courtroom_id
        rc, out, err = self.ctl('user', 'create', 'alice', '--role', 'clerk', '--courtrooms', crt,
                                token='admin')
        self.assertEqual(rc, 0, err)
        m = re.search(r'one-time password.*: (\S+)', out)
        self.assertIsNotNone(m, out)
        otp = m.group(1)
        d.secrets.add(otp)
        first = d.login('alice', otp)
        self.assertTrue(first['must_change_password'])
        r = d.api('POST', '/account/password', {'current_password': otp,
                                                'new_password': 'alice-password-0009'},
                  token=first['token'])
        self.assertEqual(r.status, 200, r)
        d.secrets.add('alice-password-0009')
        tok = r.body['token']
        rc, out, err = self.ctl('user', 'list', token='admin')
        self.assertEqual(rc, 0, err)
        line = [x for x in out.splitlines() if ' alice ' in ' %s ' % x][0]
        self.assertIn(crt, line)
        # disable: the open socket ends at once, login refused; enable again
        rpc = self.track(await harness.Rpc.connect(d, name='alice'))
        await rpc.call('session.hello', {'token': tok})
        rc, out, err = self.ctl('user', 'disable', 'alice', token='admin')
        self.assertEqual(rc, 0, err)
        self.assertEqual((await rpc.wait_for('session.closing'))['reason'], 'account_disabled')
        r = d.api('POST', '/login', {'username': 'alice', 'password': 'alice-password-0009'})
        self.assertEqual(r.status, 401, r)
        rc, out, err = self.ctl('user', 'enable', 'alice', token='admin')
        self.assertEqual(rc, 0, err)
        tok = d.login('alice', 'alice-password-0009')['token']
        rc, out, err = self.ctl('user', 'set', 'alice', '--courtrooms', 'none', '--json',
                                token='admin')
        self.assertEqual(rc, 0, err)
        self.assertEqual(json.loads(out)['courtrooms'], [])
        self.assertEqual(d.api('GET', '/courtrooms', token=tok).status, 401)
        rc, out, err = self.ctl('user', 'reset-password', 'alice', token='admin')
        self.assertEqual(rc, 0, err)
        d.secrets.add(re.search(r': (\S+)$', out.strip()).group(1))
        rc, out, err = self.ctl('user', 'revoke', 'alice', token='admin')
        self.assertEqual(rc, 0, err)
        rc, out, err = self.ctl('user', 'totp-reset', 'alice', '--json', token='admin')
        self.assertEqual(rc, 0, err)
        self.assertFalse(json.loads(out)['totp_enabled'])
        # not an admin: the server's 4003
        rc, out, err = self.ctl('user', 'list', token='clerk')
        self.assertEqual(rc, 1)
        self.assertIn('4003', err)
        rc, out, err = self.ctl('user', 'disable', 'nobody-here', token='admin')
        self.assertEqual(rc, 1)
        rc, out, err = self.ctl('user', 'set', 'alice', token='admin')
        self.assertEqual(rc, 2, (out, err))
        # the local user add assigns courtrooms too
        p = d.vejctl('user', 'add', 'bob', '--role', 'judge', '--courtrooms', crt,
                     '--data-dir', d.data_dir, stdin=b'bob-password-00010\n')
        self.assertEqual(p.returncode, 0, p.stderr)
        d.secrets.add('bob-password-00010')
        users = {u['username']: u for u in w.users()}
        self.assertEqual(users['bob']['courtrooms'], [crt])

    async def test_plain_http_refused(self):
        p = self.daemon.vejctl('courtroom', 'list', '--url',
                               'http://127.0.0.1:%d' % self.daemon.port, '--token', 'x' * 43)
        self.assertEqual(p.returncode, 2, p.stdout)
        self.assertIn('https://', p.stderr.decode())

    async def test_audit_verify(self):
        p = self.daemon.vejctl('audit', 'verify', '--data-dir', self.daemon.data_dir)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn('intact', p.stdout.decode())


if __name__ == '__main__':
    harness.main()
