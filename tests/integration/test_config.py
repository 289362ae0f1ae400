"""The command line and the configuration file: unknown groups and keys and
bad values stop the daemon with exit status 2 and a message naming the file
and the key; --version and --help; flags override the file."""

import os
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402

VERSION = '0.1.0'


class ConfigTest(unittest.TestCase):

    def run_daemon(self, config_text=None, args=(), timeout=10, data_dir=True):
        d = harness.Daemon(name='config')
        self.addCleanup(d.cleanup)
        argv = [harness.GATEWAY]
        if config_text is not None:
            d.write_config(config_text)
            argv += ['--config', d.config_path]
        if data_dir:
            argv += ['--data-dir', d.data_dir]
        argv += list(args)
        t0 = time.monotonic()
        try:
            p = subprocess.run(argv, capture_output=True, timeout=timeout, stdin=subprocess.DEVNULL)
        except subprocess.TimeoutExpired:
            self.fail('%r still running after %d s (expected to exit at once)' % (argv, timeout))
        out = p.stdout.decode('utf-8', 'replace')
        err = p.stderr.decode('utf-8', 'replace')
        for pat in harness.SANITIZER_PATTERNS:
            self.assertNotIn(pat, out + err)
        return d, p.returncode, out, err, time.monotonic() - t0

    def assertRefused(self, config_text, *needles):
        d, rc, out, err, _ = self.run_daemon(config_text)
        self.assertEqual(rc, 2, 'exit status for %r: %d\n%s%s' % (config_text, rc, out, err))
        self.assertIn(d.config_path, err, 'the message names the file: %r' % err)
        for n in needles:
            self.assertIn(n, err, 'the message names %r: %r' % (n, err))
        self.assertNotIn('listening on', err)
        return err

    def test_unknown_key(self):
        self.assertRefused('[server]\nlisten=127.0.0.1:0\nbogus_key=1\n', 'bogus_key')
        self.assertRefused('[auth]\nresume_grace=30\n', 'resume_grace')
        self.assertRefused('[server]\nlisten=127.0.0.1:0\n[hearing]\nmax_participant=3\n',
                           'max_participant')

    def test_unknown_group(self):
        self.assertRefused('[server]\nlisten=127.0.0.1:0\n[nonsense]\nx=1\n', 'nonsense')
        self.assertRefused('[Server]\nlisten=127.0.0.1:0\n', 'Server')

    def test_bad_values(self):
        for group, key, value in (
                ('server', 'max_message_bytes', 'abc'),
                ('server', 'max_message_bytes', '-1'),
                ('server', 'max_message_bytes', '1e9'),
                ('server', 'unauthenticated_timeout_s', '-5'),
                ('server', 'rpc_rate_per_s', 'fast'),
                ('server', 'rpc_burst', '99999999999999999999'),
                ('server', 'listen', 'notaport'),
                ('server', 'listen', '127.0.0.1:70000'),
                ('server', 'listen', '127.0.0.1:-1'),
                ('auth', 'resume_grace_s', ''),
                ('auth', 'resume_grace_s', '30s'),
                ('auth', 'login_attempts_per_minute', '0x'),
                ('hearing', 'max_participants', '-3'),
                ('log', 'log_level', 'chatty'),
                ('media', 'public_ipv4', '203.0.113'),
                ('media', 'public_ipv4', '203.0.113.7:5000'),
                ('media', 'public_ipv4', 'gateway.example.org'),
                ('media', 'public_ipv4', '127.0.0.1'),
                ('media', 'public_ipv4', '0.0.0.0'),
                ('media', 'public_ipv4', '169.254.1.1'),
                ('media', 'public_ipv4', '239.1.1.1'),
                ('media', 'public_ipv4', '2001:db8::7'),
                ('media', 'public_ipv6', '203.0.113.7'),
                ('media', 'public_ipv6', '[2001:db8::7]'),
                ('media', 'public_ipv6', 'fe80::1'),
                ('media', 'public_ipv6', '::1'),
                ('media', 'public_ipv6', '::ffff:203.0.113.7'),
                ('media', 'advertise_private', 'no')):
            text = '[server]\nlisten=127.0.0.1:0\n' if group != 'server' else ''
            text += '[%s]\n%s=%s\n' % (group, key, value)
            if group == 'server' and key != 'listen':
                text = '[server]\nlisten=127.0.0.1:0\n%s=%s\n' % (key, value)
            with self.subTest(key=key, value=value):
                self.assertRefused(text, key)

    def test_public_ipv6_needs_ipv6(self):
        """[media] public_ipv6 maps IPv6 host candidates: refused, with the
        reason, when ipv6 = false offers none."""
        self.assertRefused('[server]\nlisten=127.0.0.1:0\n[media]\npublic_ipv6=2001:db8::7\n',
                           'public_ipv6', 'ipv6 = true')

    def test_not_an_ini_file(self):
        d, rc, out, err, _ = self.run_daemon('this is not\x00 a key file [[[\n')
        self.assertNotEqual(rc, 0, err)
        self.assertIn(d.config_path, err)
        self.assertNotIn('listening on', err)

    def test_missing_config_file(self):
        p = subprocess.run([harness.GATEWAY, '--config', '/nonexistent/vej.conf'],
                           capture_output=True, timeout=10, stdin=subprocess.DEVNULL)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn('/nonexistent/vej.conf', p.stderr.decode('utf-8', 'replace'))

    def test_version(self):
        d, rc, out, err, elapsed = self.run_daemon(None, ['--version'], data_dir=False)
        self.assertEqual(rc, 0, err)
        self.assertIn(VERSION, out + err)
        self.assertNotIn('listening on', err)

    def test_help(self):
        d, rc, out, err, _ = self.run_daemon(None, ['--help'], data_dir=False)
        self.assertEqual(rc, 0, err)
        text = out + err
        for flag in ('--config', '--data-dir', '--listen', '--version', '--help'):
            self.assertIn(flag, text)
        self.assertNotIn('listening on', err)

    def test_unknown_flag(self):
        d, rc, out, err, _ = self.run_daemon(None, ['--no-such-flag'])
        self.assertNotEqual(rc, 0)
        self.assertIn('no-such-flag', out + err)
        self.assertNotIn('listening on', err)

    def test_bad_listen_flag(self):
        d, rc, out, err, _ = self.run_daemon(None, ['--listen', 'localhost'])
        self.assertNotEqual(rc, 0, err)
        self.assertNotIn('listening on', err)

    def test_flags_override_file_and_defaults_load(self):
        """--listen wins over the file; the documented default file loads."""
        d = harness.Daemon(name='override')
        self.addCleanup(d.cleanup)
        d.write_config('[server]\nlisten=127.0.0.1:1\n')
        d.start(extra_args=['--listen', '127.0.0.1:0'])
        try:
            self.assertNotEqual(d.port, 1)
            self.assertEqual(d.http('GET', '/healthz').status, 200)
        finally:
            d.stop()
        src = os.environ.get('VEJ_SOURCE_ROOT', os.path.join(harness.HERE, '..', '..'))
        default = os.path.join(src, 'config', 'vej-gateway.conf')
        if not os.path.exists(default):
            self.skipTest('config/vej-gateway.conf not written yet')
        d2 = harness.Daemon(name='default-conf')
        self.addCleanup(d2.cleanup)
        with open(default, encoding='utf-8') as f:
            d2.write_config(f.read())
        d2.start(extra_args=['--listen', '127.0.0.1:0'])
        try:
            self.assertEqual(d2.http('GET', '/healthz').status, 200)
        finally:
            d2.stop()

    def test_sigterm_while_idle_and_with_clients(self):
        d = harness.Daemon(name='sigterm')
        self.addCleanup(d.cleanup)
        d.start()
        import socket
        import ssl
        # a half-open TLS connection and an idle TCP connection must not hold
        # up the shutdown
        s1 = socket.create_connection(('127.0.0.1', d.port))
        s2 = socket.create_connection(('127.0.0.1', d.port))
        tls = ssl.create_default_context(cafile=d.cert_path).wrap_socket(
            s2, server_hostname='127.0.0.1')
        try:
            elapsed = d.stop()
            self.assertLess(elapsed, 10)
        finally:
            s1.close()
            tls.close()

    def test_open_file_limit_raised_for_max_connections(self):
        """Started with a soft open-file limit of 1,024, the daemon raises
        it to max_connections + 4,160 (up to the hard limit) so that every
        connection it accepts fits."""
        import resource
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        want = 3000 + 4160
        if hard != resource.RLIM_INFINITY and hard < want:
            want = hard
        d = harness.Daemon({'server': {'max_connections': 3000}}, name='nofile')
        self.addCleanup(d.cleanup)
        resource.setrlimit(resource.RLIMIT_NOFILE, (1024, hard))
        try:
            d.start()
        finally:
            resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
        try:
            with open('/proc/%d/limits' % d.proc.pid) as f:
                line = next(l for l in f if l.startswith('Max open files'))
            self.assertEqual(int(line.split()[3]), want, line)
            self.assertEqual(d.http('GET', '/healthz').status, 200)
        finally:
            d.stop()


if __name__ == '__main__':
    harness.main()
