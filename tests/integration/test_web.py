"""The web client's static files as the gateway serves them.

docs/api.md, "Static pages": `/` is the console and `/join` the participant
page; every static file carries a strict Content-Security-Policy (scripts,
styles and connections from this origin only, no inline script or style,
no framing), the security headers of every response, the right MIME type,
and `cache-control: no-cache`; nothing outside web_root is served. The
files themselves hold no inline script, inline style or event-handler
attribute (the CSP would block them) and load nothing from other hosts.
"""

import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402

TOP = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..')
WEB = os.path.join(TOP, 'web')


def csp_directives(value):
    out = {}
    for part in value.split(';'):
        words = part.split()
        if words:
            out[words[0]] = words[1:]
    return out


class WebTest(harness.DaemonTestCase):
    make_world = False

    def get(self, path):
        return self.daemon.http('GET', path, headers={'Accept': '*/*'})

    async def test_pages_and_types(self):
        cases = [('/', 'text/html'), ('/join', 'text/html'), ('/index.html', 'text/html'),
                 ('/js/rpc.js', 'text/javascript'), ('/js/join.js', 'text/javascript'),
                 ('/css/app.css', 'text/css'), ('/favicon.svg', 'image/svg+xml')]
        for path, ctype in cases:
            r = self.get(path)
            self.assertEqual(r.status, 200, path)
            self.assertTrue(r.headers.get('content-type', '').startswith(ctype),
                            '%s: %r' % (path, r.headers.get('content-type')))
            self.assertEqual(r.headers.get('x-content-type-options'), 'nosniff', path)
            self.assertEqual(r.headers.get('referrer-policy'), 'no-referrer', path)
            self.assertEqual(r.headers.get('cache-control'), 'no-cache', path)
            self.assertEqual(r.headers.get('x-frame-options'), 'DENY', path)
            self.assertEqual(r.headers.get('cross-origin-opener-policy'), 'same-origin', path)
            csp = csp_directives(r.headers.get('content-security-policy', ''))
            self.assertEqual(csp.get('default-src'), ["'none'"], path)
            self.assertEqual(csp.get('script-src'), ["'self'"], path)
            self.assertEqual(csp.get('style-src'), ["'self'"], path)
            self.assertEqual(csp.get('connect-src'),
                             ["'self'", 'wss://127.0.0.1:%d' % self.daemon.port], path)
            self.assertEqual(csp.get('frame-ancestors'), ["'none'"], path)
            self.assertEqual(csp.get('base-uri'), ["'none'"], path)
        self.assertIn(b'/js/join.js', self.get('/join').raw)
        self.assertIn(b'/js/console.js', self.get('/').raw)

    async def test_host_named_in_csp_only_when_plain(self):
        d = self.daemon
        for host, named in (('court.example.org', True), ('[::1]:8443', True),
                            ('evil.example;script-src *', False), ('a b', False),
                            ('x' * 300, False)):
            r = d.http('GET', '/join', headers={'Accept': '*/*', 'Host': host})
            self.assertEqual(r.status, 200, host)
            csp = csp_directives(r.headers.get('content-security-policy', ''))
            self.assertEqual(csp.get('connect-src'), ["'self'"] + (['wss://' + host] if named else []),
                             host)
            self.assertEqual(csp.get('script-src'), ["'self'"], host)

    async def test_api_answers_stay_no_store(self):
        r = self.daemon.http('GET', '/api/v1/courtrooms')
        self.assertEqual(r.headers.get('cache-control'), 'no-store')
        self.assertIsNone(r.headers.get('content-security-policy'))

    async def test_nothing_outside_web_root(self):
        for path in ('/../meson.build', '/js/../../meson.build', '/%2e%2e/meson.build', '/js',
                     '/js/', '/nosuch.js', '/join/', '/..%2fmeson.build'):
            r = self.get(path)
            self.assertEqual(r.status, 404, '%s: %r' % (path, r))
        self.assertEqual(self.daemon.http('POST', '/join', body=b'').status, 404)

    async def test_files_have_no_inline_code(self):
        for root, _, files in os.walk(WEB):
            for name in files:
                path = os.path.join(root, name)
                with open(path, encoding='utf-8') as f:
                    text = f.read()
                rel = os.path.relpath(path, WEB)
                self.assertNotRegex(text, r'https?://(?!www\.w3\.org/2000/svg)', rel + ': loads from another host')
                if name.endswith('.html'):
                    for m in re.finditer(r'<script\b([^>]*)>', text):
                        self.assertIn('src=', m.group(1), rel + ': inline <script>')
                    self.assertNotRegex(text, r'<style\b', rel + ': inline <style>')
                    self.assertNotRegex(text, r'\sstyle\s*=', rel + ': style attribute')
                    self.assertNotRegex(text, r'\son[a-z]+\s*=', rel + ': event-handler attribute')
                if name.endswith('.js'):
                    code = re.sub(r'(^|\s)//[^\n]*', '', text)
                    m = re.search(r'\binnerHTML\b|\bouterHTML\b|insertAdjacentHTML|document\.write|'
                                  r'\beval\(|new Function|localStorage', code)
                    self.assertIsNone(m, '%s: %s (markup or code from strings, or localStorage)'
                                      % (rel, m and m.group(0)))


class StartScriptTest(harness.unittest.TestCase):
    """scripts/start tells a newcomer which address to open and where the
    first admin password is (VEJ_START_DRY_RUN: says it, starts nothing)."""

    def run_start(self, *args):
        env = dict(os.environ, VEJ_START_DRY_RUN='1')
        p = subprocess.run([os.path.join(TOP, 'scripts', 'start')] + list(args), env=env,
                           capture_output=True, text=True, timeout=30)
        self.assertEqual(p.returncode, 0, p.stderr)
        return p.stdout

    def test_default_and_listen(self):
        out = self.run_start()
        self.assertIn('https://127.0.0.1:8443/', out)
        self.assertIn(os.path.realpath(os.path.join(TOP, 'data', 'initial-admin-password')), out)
        self.assertIn('admin', out)
        self.assertIn('https://127.0.0.1:9443/', self.run_start('--listen', '127.0.0.1:9443'))
        self.assertIn('https://localhost:9444/', self.run_start('--listen=0.0.0.0:9444'))


if __name__ == '__main__':
    harness.main()
