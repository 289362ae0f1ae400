"""vejctl against the real daemon: login, courtrooms, hearings, participants
(the join URL), state changes, --json output, errors with the server's code,
and audit verify on the data directory."""

import json
import os
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

    async def test_audit_verify(self):
        p = self.daemon.vejctl('audit', 'verify', '--data-dir', self.daemon.data_dir)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn('intact', p.stdout.decode())


if __name__ == '__main__':
    harness.main()
