"""Integration harness: runs the real vej-gateway daemon on loopback.

Everything here drives the daemon from outside, through its public
interfaces (PROTOCOL.md): the command line, the configuration file, HTTPS
REST under /api/v1 and JSON-RPC 2.0 over wss://.../ws. Every wait is bounded.

Run a test file with Debian's /usr/bin/python3 (websockets 10.4):
    VEJ_GATEWAY=build/daemon/vej-gateway VEJCTL=build/tools/vejctl \
        /usr/bin/python3 tests/integration/test_flow.py
A missing binary makes the file exit with 77 (meson: SKIP).
Set VEJ_IT_KEEP=1 to keep the temporary data directories, and
VEJ_IT_WRAPPER='valgrind --error-exitcode=99 --leak-check=full' to run the
daemon under a wrapper (its reports land in the daemon's stderr log).
"""

import asyncio
import base64
import collections
import datetime
import hashlib
import hmac
import http.client
import json
import os
import re
import shlex
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import unittest

import websockets
import websockets.exceptions

HERE = os.path.dirname(os.path.abspath(__file__))
BUILD_ROOT = os.environ.get('VEJ_BUILD_ROOT', os.path.join(HERE, '..', '..', 'build'))
GATEWAY = os.environ.get('VEJ_GATEWAY', os.path.join(BUILD_ROOT, 'daemon', 'vej-gateway'))
VEJCTL = os.environ.get('VEJCTL', os.path.join(BUILD_ROOT, 'tools', 'vejctl'))

START_TIMEOUT = 20.0   # until "listening on" (sanitizer builds are slow)
STOP_TIMEOUT = 10.0    # PROTOCOL/DESIGN: SIGTERM -> exit within 10 s
RPC_TIMEOUT = 8.0      # one request/response round trip
NOTE_TIMEOUT = 5.0     # a notification caused by an action
REST_TIMEOUT = 15.0

SANITIZER_PATTERNS = ('ERROR: AddressSanitizer', 'ERROR: LeakSanitizer', 'runtime error:',
                      'WARNING: ThreadSanitizer')

STAFF_PASSWORDS = {
    'clerk': 'clerk-password-0001',
    'clerk2': 'clerk2-password-0002',
    'judge': 'judge-password-0003',
    'evidential': 'evidential-password-0004',
    'admin': 'admin-new-password-0005',
}

_ALL_DAEMONS = []


def _die_with_parent():
    """In the child before exec: SIGKILL when the test process dies (a meson
    timeout kills the runner; its daemons must not outlive it)."""
    try:
        import ctypes
        libc = ctypes.CDLL('libc.so.6', use_errno=True)
        libc.prctl(1, signal.SIGKILL, 0, 0, 0)  # PR_SET_PDEATHSIG
    except Exception:
        pass


def _kill_all_daemons():
    for d in _ALL_DAEMONS:
        d.kill()


def now_utc():
    return datetime.datetime.now(datetime.timezone.utc)


def rfc3339(dt):
    return dt.astimezone(datetime.timezone.utc).strftime('%Y-%m-%dT%H:%M:%SZ')


def b64u(data):
    return base64.urlsafe_b64encode(data).rstrip(b'=').decode('ascii')


def b64u_dec(text):
    if isinstance(text, bytes):
        text = text.decode('ascii')
    return base64.urlsafe_b64decode(text + '=' * (-len(text) % 4))


def no_dup_pairs(pairs):
    """object_pairs_hook refusing duplicate keys (the daemon must never send them)."""
    d = {}
    for k, v in pairs:
        if k in d:
            raise ValueError('duplicate key %r in a message from the daemon' % k)
        d[k] = v
    return d


def loads_strict(text):
    return json.loads(text, object_pairs_hook=no_dup_pairs)


# --------------------------------------------------------------------------
# The daemon process
# --------------------------------------------------------------------------

class DaemonError(AssertionError):
    pass


class Daemon:
    """One vej-gateway process on a temporary data directory.

    overrides: {'server': {'rpc_rate_per_s': 5}, 'auth': {...}} written to the
    configuration file (merged over the harness defaults).
    """

    def __init__(self, overrides=None, name='daemon'):
        self.name = name
        self.root = tempfile.mkdtemp(prefix='vej-it-%s-' % name)
        self.data_dir = os.path.join(self.root, 'data')
        self.config_path = os.path.join(self.root, 'vej-gateway.conf')
        # every test logs in from 127.0.0.1: the per-address login limit is
        # raised except where a test is about it
        self.overrides = {'server': {'listen': '127.0.0.1:0'},
                          'auth': {'login_attempts_per_minute': 1000}}
        for group, keys in (overrides or {}).items():
            self.overrides.setdefault(group, {}).update(keys)
        self.proc = None
        self.port = None
        self.run_no = 0
        self.stderr_path = None
        self.stdout_path = None
        self.logs = []  # every stderr/stdout file of every run
        self.secrets = set()  # texts that must never appear in the logs
        self.admin_initial_password = None
        self._ssl = None
        _ALL_DAEMONS.append(self)

    # -- configuration -----------------------------------------------------

    def write_config(self, text=None):
        if text is None:
            lines = []
            for group, keys in self.overrides.items():
                lines.append('[%s]' % group)
                for k, v in keys.items():
                    if isinstance(v, bool):
                        v = 'true' if v else 'false'
                    lines.append('%s=%s' % (k, v))
                lines.append('')
            text = '\n'.join(lines)
        with open(self.config_path, 'w', encoding='utf-8') as f:
            f.write(text)
        return self.config_path

    # -- start and stop ----------------------------------------------------

    def _env(self):
        env = dict(os.environ)
        env.setdefault('UBSAN_OPTIONS', 'print_stacktrace=1')
        env.pop('VEJ_TOKEN_KEY', None)
        return env

    def start(self, extra_args=(), timeout=START_TIMEOUT):
        """Starts the daemon and waits for `listening on https://127.0.0.1:PORT`."""
        assert self.proc is None, 'already running'
        if not os.path.exists(self.config_path):
            self.write_config()
        self.run_no += 1
        self.stderr_path = os.path.join(self.root, 'stderr-%d.log' % self.run_no)
        self.stdout_path = os.path.join(self.root, 'stdout-%d.log' % self.run_no)
        self.logs += [self.stderr_path, self.stdout_path]
        err = open(self.stderr_path, 'wb')
        out = open(self.stdout_path, 'wb')
        args = shlex.split(os.environ.get('VEJ_IT_WRAPPER', ''))  # e.g. valgrind
        args += [GATEWAY, '--config', self.config_path, '--data-dir', self.data_dir]
        args += list(extra_args)
        self.proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=out, stderr=err,
                                     env=self._env(), start_new_session=True,
                                     preexec_fn=_die_with_parent)
        err.close()
        out.close()
        deadline = time.monotonic() + timeout
        pat = re.compile(r'listening on https://127\.0\.0\.1:(\d+)')
        while True:
            text = self.stderr_text()
            m = pat.search(text)
            if m:
                self.port = int(m.group(1))
                break
            if self.proc.poll() is not None:
                rc = self.proc.returncode
                self.proc = None
                raise DaemonError('%s exited with status %s before listening; stderr:\n%s'
                                  % (self.name, rc, self.tail()))
            if time.monotonic() > deadline:
                self.kill()
                raise DaemonError('%s printed no "listening on https://127.0.0.1:PORT" within '
                                  '%.0f s; stderr:\n%s' % (self.name, timeout, self.tail()))
            time.sleep(0.05)
        if self.port == 0:
            raise DaemonError('daemon reported port 0')
        self._ssl = None
        self._read_admin_password()
        return self

    def _read_admin_password(self):
        path = os.path.join(self.data_dir, 'initial-admin-password')
        deadline = time.monotonic() + 5
        while not os.path.exists(path) and time.monotonic() < deadline and self.run_no == 1:
            time.sleep(0.05)
        if os.path.exists(path):
            with open(path, encoding='utf-8') as f:
                pw = f.read().strip()
            if pw:
                if self.admin_initial_password is None:
                    self.admin_initial_password = pw
                self.secrets.add(pw)

    def stderr_text(self):
        try:
            with open(self.stderr_path, 'rb') as f:
                return f.read().decode('utf-8', 'replace')
        except (OSError, TypeError):
            return ''

    def tail(self, n=80):
        """The last n lines of stderr, preceded by the first sanitizer or
        valgrind report when there is one."""
        lines = self.stderr_text().splitlines()
        out = lines[-n:]
        marks = SANITIZER_PATTERNS + ('Invalid read', 'Invalid write', 'Invalid free',
                                      'definitely lost in', 'uninitialised', 'Mismatched free')
        for i, line in enumerate(lines):
            if any(m in line for m in marks):
                if i < len(lines) - n:
                    out = lines[i:i + 40] + ['[...]'] + out
                break
        return '\n'.join(out)

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def check_logs(self):
        """No sanitizer report and no secret in anything the daemon printed."""
        problems = []
        for path in self.logs:
            try:
                with open(path, 'rb') as f:
                    text = f.read().decode('utf-8', 'replace')
            except OSError:
                continue
            for pat in SANITIZER_PATTERNS:
                if pat in text:
                    problems.append('%s: sanitizer report (%r)' % (path, pat))
            for s in self.secrets:
                if s and len(s) >= 8 and s in text:
                    problems.append('%s: a secret (password or token %s...) was logged'
                                    % (path, s[:6]))
        return problems

    def stop(self, sig=signal.SIGTERM, timeout=STOP_TIMEOUT):
        """SIGTERM; asserts exit status 0 within 10 s and clean logs."""
        if self.proc is None:
            return None
        proc = self.proc
        t0 = time.monotonic()
        if proc.poll() is None:
            proc.send_signal(sig)
        try:
            rc = proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise DaemonError('%s did not exit within %.0f s of SIGTERM; stderr:\n%s'
                              % (self.name, timeout, self.tail()))
        elapsed = time.monotonic() - t0
        self.proc = None
        problems = self.check_logs()
        if rc != 0:
            problems.insert(0, 'exit status %s after SIGTERM (expected 0)' % rc)
        if problems:
            raise DaemonError('%s: %s (stopped in %.1f s); stderr:\n%s'
                              % (self.name, '; '.join(problems), elapsed, self.tail()))
        return elapsed

    def kill(self):
        if self.proc is not None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except OSError:
                pass
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                pass
            self.proc = None

    def restart(self):
        self.stop()
        return self.start()

    def cleanup(self):
        self.kill()
        if not os.environ.get('VEJ_IT_KEEP'):
            shutil.rmtree(self.root, ignore_errors=True)

    # -- client plumbing ---------------------------------------------------

    @property
    def cert_path(self):
        return os.path.join(self.data_dir, 'tls', 'cert.pem')

    def ssl_context(self):
        if self._ssl is None:
            self._ssl = ssl.create_default_context(cafile=self.cert_path)
        return self._ssl

    @property
    def base(self):
        return 'https://127.0.0.1:%d' % self.port

    def ws_url(self, path='/ws'):
        return 'wss://127.0.0.1:%d%s' % (self.port, path)

    def token_key(self):
        with open(os.path.join(self.data_dir, 'secrets', 'token-key'), 'rb') as f:
            return f.read()

    # -- REST ----------------------------------------------------------------

    def http(self, method, path, body=None, token=None, headers=None, raw=False,
             timeout=REST_TIMEOUT):
        """One HTTPS request. body: dict/list (JSON), bytes or str (sent as is).
        Returns Response(status, headers, body (parsed JSON when it parses), raw)."""
        hdrs = {'Accept': 'application/json'}
        if token is not None:
            hdrs['Authorization'] = 'Bearer ' + token
        data = None
        if body is not None:
            if isinstance(body, (bytes, bytearray)):
                data = bytes(body)
            elif isinstance(body, str):
                data = body.encode('utf-8')
            else:
                data = json.dumps(body).encode('utf-8')
            hdrs['Content-Type'] = 'application/json'
        if headers:
            hdrs.update(headers)
        conn = http.client.HTTPSConnection('127.0.0.1', self.port, context=self.ssl_context(),
                                           timeout=timeout)
        try:
            conn.request(method, path, body=data, headers=hdrs)
            resp = conn.getresponse()
            payload = resp.read()
            return Response(resp.status, resp.getheaders(), payload)
        finally:
            conn.close()

    def api(self, method, path, body=None, token=None, **kw):
        return self.http(method, '/api/v1' + path, body=body, token=token, **kw)

    def raw_https(self, request_bytes, body_chunks=(), timeout=REST_TIMEOUT):
        """Sends raw bytes over TLS (tolerating an early close) and returns
        (status, headers-text, body-bytes) of whatever answer arrived."""
        sock = socket.create_connection(('127.0.0.1', self.port), timeout=timeout)
        tls = self.ssl_context().wrap_socket(sock, server_hostname='127.0.0.1')
        try:
            try:
                tls.sendall(request_bytes)
                for chunk in body_chunks:
                    tls.sendall(chunk)
            except (BrokenPipeError, ConnectionResetError, ssl.SSLError, socket.timeout):
                pass
            data = b''
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                try:
                    chunk = tls.recv(65536)
                except (ConnectionResetError, ssl.SSLError, socket.timeout):
                    break
                if not chunk:
                    break
                data += chunk
                if b'\r\n\r\n' in data:
                    head, _, rest = data.partition(b'\r\n\r\n')
                    m = re.search(rb'(?i)content-length:\s*(\d+)', head)
                    if m and len(rest) >= int(m.group(1)):
                        break
                    if re.search(rb'(?i)transfer-encoding:\s*chunked', head) and \
                            rest.endswith(b'0\r\n\r\n'):
                        break
        finally:
            tls.close()
        head, _, rest = data.partition(b'\r\n\r\n')
        if re.search(rb'(?i)transfer-encoding:\s*chunked', head):
            body = b''
            while rest:
                size_line, _, rest = rest.partition(b'\r\n')
                try:
                    size = int(size_line.split(b';')[0], 16)
                except ValueError:
                    break
                if size == 0:
                    break
                body += rest[:size]
                rest = rest[size + 2:]
            rest = body
        m = re.match(rb'HTTP/1\.[01] (\d{3})', head)
        return (int(m.group(1)) if m else None), head.decode('latin-1'), rest

    # -- accounts --------------------------------------------------------------

    def vejctl(self, *args, stdin=None, timeout=30):
        p = subprocess.run([VEJCTL] + list(args), input=stdin, capture_output=True,
                           timeout=timeout, env=self._env())
        for s in (p.stdout, p.stderr):
            t = s.decode('utf-8', 'replace')
            for pat in SANITIZER_PATTERNS:
                if pat in t:
                    raise DaemonError('vejctl %s: sanitizer report:\n%s' % (' '.join(args), t))
        return p

    def add_user(self, name, role, password):
        p = self.vejctl('user', 'add', name, '--role', role, '--data-dir', self.data_dir,
                        stdin=(password + '\n').encode())
        if p.returncode != 0:
            raise DaemonError('vejctl user add %s --role %s failed (%d): %s %s'
                              % (name, role, p.returncode, p.stdout.decode(errors='replace'),
                                 p.stderr.decode(errors='replace')))
        self.secrets.add(password)

    def login(self, username, password):
        r = self.api('POST', '/login', {'username': username, 'password': password})
        if r.status != 200:
            raise DaemonError('login %s: HTTP %d %r' % (username, r.status, r.body))
        self.secrets.add(r.body['token'])
        return r.body


class Response:
    def __init__(self, status, headers, raw):
        self.status = status
        self.headers = {k.lower(): v for k, v in headers}
        self.raw = raw
        try:
            self.body = loads_strict(raw.decode('utf-8')) if raw else None
        except (ValueError, UnicodeDecodeError):
            self.body = None

    @property
    def error_code(self):
        try:
            return self.body['error']['code']
        except (TypeError, KeyError):
            return None

    def __repr__(self):
        return '<HTTP %d %s>' % (self.status, self.raw[:300])


# --------------------------------------------------------------------------
# JSON-RPC over WebSocket
# --------------------------------------------------------------------------

class RpcError(AssertionError):
    def __init__(self, method, error):
        self.method = method
        self.error = error
        self.code = error.get('code') if isinstance(error, dict) else None
        AssertionError.__init__(self, '%s -> error %r' % (method, error))


Note = collections.namedtuple('Note', 'seq method params')


class Rpc:
    """A JSON-RPC 2.0 client over one WebSocket.

    Every received message is kept (self.messages, raw text) for leak
    checks. Replies are matched to requests by id; replies with an unknown
    id (e.g. id null) go to self.unmatched. Notifications are kept in order
    and consumed by wait_for().
    """

    def __init__(self, ws, name='client'):
        self.ws = ws
        self.name = name
        self.messages = []       # raw texts, in order
        self.notes = []          # Note
        self.consumed = set()    # seqs of notes consumed by wait_for
        self.pending = {}        # id key -> future
        self.replies = {}        # id key -> (seq, msg) for ids never awaited
        self.unmatched = asyncio.Queue()
        self.protocol_errors = []
        self.seq = 0
        self.next_id = 1
        self.closed = asyncio.Event()
        self._changed = asyncio.Event()
        self.hello = None
        self._reader = asyncio.ensure_future(self._read())

    @classmethod
    async def connect(cls, daemon, path='/ws', name='client', timeout=RPC_TIMEOUT):
        ws = await asyncio.wait_for(
            websockets.connect(daemon.ws_url(path), ssl=daemon.ssl_context(), compression=None,
                               max_size=8 * 1024 * 1024, ping_interval=None,
                               open_timeout=timeout, close_timeout=2),
            timeout + 1)
        return cls(ws, name)

    def _wake(self):
        ev = self._changed
        self._changed = asyncio.Event()
        ev.set()

    async def _read(self):
        try:
            async for text in self.ws:
                self.seq += 1
                if isinstance(text, bytes):
                    self.protocol_errors.append('binary frame from the daemon')
                    text = text.decode('utf-8', 'replace')
                self.messages.append(text)
                try:
                    msg = loads_strict(text)
                except ValueError as e:
                    self.protocol_errors.append('unparsable message %r: %s' % (text[:200], e))
                    continue
                if not isinstance(msg, dict) or msg.get('jsonrpc') != '2.0':
                    self.protocol_errors.append('not a JSON-RPC 2.0 object: %r' % text[:200])
                    continue
                if 'method' in msg and 'id' not in msg:
                    if not isinstance(msg.get('params'), dict):
                        self.protocol_errors.append('notification without object params: %r'
                                                    % text[:200])
                        params = {}
                    else:
                        params = msg['params']
                    self.notes.append(Note(self.seq, msg['method'], params))
                elif 'id' in msg and ('result' in msg) != ('error' in msg):
                    key = json.dumps(msg['id'])
                    fut = self.pending.pop(key, None)
                    if fut is not None and not fut.done():
                        fut.set_result((self.seq, msg))
                    elif msg['id'] is None:
                        self.unmatched.put_nowait(msg)
                    else:
                        self.replies[key] = (self.seq, msg)
                        self.unmatched.put_nowait(msg)
                else:
                    self.protocol_errors.append('neither reply nor notification: %r' % text[:200])
                self._wake()
        except websockets.exceptions.ConnectionClosed:
            pass
        except Exception as e:  # keep the reason for the test's message
            self.protocol_errors.append('reader: %r' % e)
        finally:
            self.closed.set()
            for fut in self.pending.values():
                if not fut.done():
                    fut.set_exception(ConnectionError('%s: socket closed (code %s) while waiting'
                                                      % (self.name, self.ws.close_code)))
            self.pending.clear()
            self._wake()

    # -- sending -------------------------------------------------------------

    def new_id(self):
        i = self.next_id
        self.next_id += 1
        return i

    async def send_raw(self, data):
        """Sends a text message as is (str), or bytes as a text frame without
        UTF-8 validation."""
        if isinstance(data, (bytes, bytearray)):
            await self.ws.write_frame(True, 0x1, bytes(data))
        else:
            await self.ws.send(data)

    async def send_json(self, obj):
        await self.ws.send(json.dumps(obj))

    async def request_raw(self, text, id_value, timeout=RPC_TIMEOUT):
        """Sends raw text whose id is id_value and awaits the reply with that id."""
        key = json.dumps(id_value)
        fut = asyncio.get_running_loop().create_future()
        self.pending[key] = fut
        await self.send_raw(text)
        return await self._await(fut, key, 'raw request', timeout)

    async def _await(self, fut, key, what, timeout):
        try:
            seq, msg = await asyncio.wait_for(fut, timeout)
        except asyncio.TimeoutError:
            self.pending.pop(key, None)
            raise AssertionError('%s: no reply to %s (id %s) within %.1f s; unmatched: %r; '
                                 'last messages: %r' % (self.name, what, key, timeout,
                                                        list(self.unmatched._queue),
                                                        self.messages[-5:]))
        self.last_reply_seq = seq
        return msg

    async def request(self, method, params=None, timeout=RPC_TIMEOUT, id=None, **extra):
        """Sends a request and returns the whole reply message."""
        if id is None:
            id = self.new_id()
        msg = {'jsonrpc': '2.0', 'id': id, 'method': method}
        if params is not None:
            msg['params'] = params
        msg.update(extra)
        key = json.dumps(id)
        fut = asyncio.get_running_loop().create_future()
        self.pending[key] = fut
        await self.ws.send(json.dumps(msg))
        reply = await self._await(fut, key, method, timeout)
        if reply.get('id') != id or type(reply.get('id')) is not type(id):
            raise AssertionError('%s: reply id %r is not the request id %r'
                                 % (method, reply.get('id'), id))
        return reply

    async def call(self, method, params=None, timeout=RPC_TIMEOUT):
        """Returns the result; raises RpcError on an error reply."""
        reply = await self.request(method, params if params is not None else {}, timeout)
        if 'error' in reply:
            raise RpcError(method, reply['error'])
        return reply['result']

    async def error(self, method, params=None, timeout=RPC_TIMEOUT):
        """Expects an error reply; returns the error object."""
        reply = await self.request(method, params if params is not None else {}, timeout)
        if 'error' not in reply:
            raise AssertionError('%s(%r): expected an error, got result %r'
                                 % (method, params, reply.get('result')))
        err = reply['error']
        if not isinstance(err, dict) or not isinstance(err.get('code'), int) \
                or not isinstance(err.get('message'), str):
            raise AssertionError('%s: malformed error object %r' % (method, err))
        return err

    async def next_unmatched(self, timeout=RPC_TIMEOUT):
        try:
            return await asyncio.wait_for(self.unmatched.get(), timeout)
        except asyncio.TimeoutError:
            raise AssertionError('%s: no reply within %.1f s; last messages: %r'
                                 % (self.name, timeout, self.messages[-5:]))

    # -- notifications -----------------------------------------------------

    def _find(self, method, pred, include_consumed=False):
        for n in self.notes:
            if n.method != method:
                continue
            if n.seq in self.consumed and not include_consumed:
                continue
            try:
                ok = pred is None or pred(n.params)
            except (KeyError, TypeError, AttributeError):
                ok = False
            if ok:
                return n
        return None

    async def wait_for(self, method, pred=None, timeout=NOTE_TIMEOUT, full=False):
        """Waits for an unconsumed notification `method` matching pred(params)
        and consumes it. full=True returns the Note (with its arrival seq)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            ev = self._changed
            n = self._find(method, pred)
            if n is not None:
                self.consumed.add(n.seq)
                return n if full else n.params
            left = deadline - loop.time()
            if left <= 0 or self.closed.is_set():
                seen = [x.params for x in self.notes if x.method == method]
                raise AssertionError(
                    '%s: no matching %s notification within %.1f s (socket closed: %s, code %s);'
                    ' %s seen: %r; recent methods: %r'
                    % (self.name, method, timeout, self.closed.is_set(), self.ws.close_code,
                       method, seen[-6:], [x.method for x in self.notes][-20:]))
            try:
                await asyncio.wait_for(ev.wait(), left)
            except asyncio.TimeoutError:
                pass

    async def assert_no(self, method, within=1.0, pred=None):
        """Fails if an unconsumed notification `method` matching pred arrives
        (or has arrived) within `within` seconds."""
        await asyncio.sleep(within)
        n = self._find(method, pred)
        if n is not None:
            raise AssertionError('%s: unexpected %s %r' % (self.name, method, n.params))

    def drain(self):
        """Marks every notification received so far as consumed."""
        for n in self.notes:
            self.consumed.add(n.seq)

    # -- closing -------------------------------------------------------------

    async def wait_closed(self, timeout=NOTE_TIMEOUT):
        """Waits until the daemon closes the socket; returns the close code."""
        try:
            await asyncio.wait_for(self.closed.wait(), timeout)
        except asyncio.TimeoutError:
            raise AssertionError('%s: socket still open after %.1f s' % (self.name, timeout))
        try:
            await asyncio.wait_for(self.ws.wait_closed(), 3)
        except asyncio.TimeoutError:
            pass
        return self.ws.close_code

    def abort(self):
        """Drops the TCP connection without a close handshake (a network loss)."""
        self.ws.transport.abort()

    async def close(self):
        try:
            await asyncio.wait_for(self.ws.close(), 3)
        except (asyncio.TimeoutError, websockets.exceptions.WebSocketException, OSError):
            self.ws.transport.abort()
        self._reader.cancel()
        try:
            await self._reader
        except (asyncio.CancelledError, Exception):
            pass

    def text(self):
        return '\n'.join(self.messages)


STABLE_KEYS = ('id', 'participant_id', 'display_name', 'role', 'special_measures', 'name',
               'retention_days', 'time_zone', 'courtroom_id', 'case_reference', 'title',
               'starts_at', 'ends_at', 'state')


def stable(body):
    """The stored fields of an object or listing (a listing may also carry
    live state such as a participant's current place)."""
    def one(o):
        return {k: o.get(k) for k in STABLE_KEYS if k in o} if isinstance(o, dict) else o
    if isinstance(body, dict) and isinstance(body.get('items'), list):
        return [one(i) for i in body['items']]
    if isinstance(body, list):
        return [one(i) for i in body]
    return one(body)


def pid_of(obj):
    """participant_id of a notification's params or a roster entry."""
    if not isinstance(obj, dict):
        return None
    if isinstance(obj.get('participant'), dict):
        return obj['participant'].get('participant_id')
    return obj.get('participant_id', obj.get('id'))


def party(params):
    """The participant object of a notification."""
    return params.get('participant') if isinstance(params.get('participant'), dict) else params


# --------------------------------------------------------------------------
# JWS helpers (the test's own data directory holds the key)
# --------------------------------------------------------------------------

def jws_split(token):
    h, c, s = token.split('.')
    return h, c, s


def jws_header(token):
    return json.loads(b64u_dec(token.split('.')[0]))


def jws_claims(token):
    return json.loads(b64u_dec(token.split('.')[1]))


def hs(key, signing_input, alg='HS256'):
    digest = {'HS256': hashlib.sha256, 'HS384': hashlib.sha384, 'HS512': hashlib.sha512}[alg]
    return hmac.new(key, signing_input.encode('ascii'), digest).digest()


def hkdf_sha256(ikm, info, length=32, salt=b''):
    """RFC 5869 with SHA-256."""
    prk = hmac.new(salt or b'\0' * 32, ikm, hashlib.sha256).digest()
    out, block, i = b'', b'', 1
    while len(out) < length:
        block = hmac.new(prk, block + info + bytes([i]), hashlib.sha256).digest()
        out += block
        i += 1
    return out[:length]


def find_signing_key(daemon, real_token):
    """The key bytes that reproduce real_token's signature (the raw file, or
    its base64 text)."""
    raw = daemon.token_key()
    h, c, s = jws_split(real_token)
    cands = [raw, raw.strip()]
    for dec in (base64.b64decode, b64u_dec):
        try:
            cands.append(dec(raw.strip() + b'=' * (-len(raw.strip()) % 4)))
        except Exception:
            pass
    # join tokens are signed with a key derived from the secret (HKDF-SHA256,
    # empty salt, docs/operations.md "Key rotation")
    cands += [hkdf_sha256(k, b'vej-gateway join-token key v2') for k in list(cands) if k]
    for k in cands:
        if b64u(hs(k, h + '.' + c)) == s:
            return k
    raise AssertionError('cannot reproduce the join token signature from '
                         'DATA_DIR/secrets/token-key (%d bytes)' % len(raw))


def forge(key, header, claims, alg='HS256', header_text=None):
    """A compact JWS from a header (dict or exact text) and claims (dict)."""
    if header_text is None:
        header_text = json.dumps(header, separators=(',', ':'))
    h = b64u(header_text.encode())
    c = b64u(json.dumps(claims, separators=(',', ':')).encode())
    if alg is None:
        return h + '.' + c + '.'
    return h + '.' + c + '.' + b64u(hs(key, h + '.' + c, alg))


# --------------------------------------------------------------------------
# A world: accounts, a courtroom, hearings and participants
# --------------------------------------------------------------------------

class World:
    """Admin (password changed), clerk, clerk2, judge, evidential; one courtroom."""

    def __init__(self, daemon, before_admin_change=None):
        self.d = daemon
        d = daemon
        pw0 = d.admin_initial_password
        if pw0 is None:
            raise DaemonError('no DATA_DIR/initial-admin-password on a fresh data directory')
        first = d.login('admin', pw0)
        if before_admin_change is not None:
            before_admin_change(first)
        r = d.api('POST', '/account/password',
                  {'current_password': pw0, 'new_password': STAFF_PASSWORDS['admin']},
                  token=first['token'])
        if r.status != 200:
            raise DaemonError('admin password change: %r' % r)
        d.secrets.add(STAFF_PASSWORDS['admin'])
        self.tokens = {'admin': d.login('admin', STAFF_PASSWORDS['admin'])['token']}
        for name, role in (('clerk', 'clerk'), ('clerk2', 'clerk'), ('judge', 'judge'),
                           ('evidential', 'evidential')):
            d.add_user(name, role, STAFF_PASSWORDS[name])
        self.tokens['clerk'] = d.login('clerk', STAFF_PASSWORDS['clerk'])['token']
        # the clerk who creates a courtroom is assigned to it; the admin
        # assigns the others (staff see only their courtrooms)
        r = d.api('POST', '/courtrooms', {'name': 'Court 1', 'retention_days': 30,
                                          'time_zone': 'Europe/London'},
                  token=self.tokens['clerk'])
        if r.status != 201:
            raise DaemonError('create courtroom: %r' % r)
        self.courtroom = r.body
        self.courtroom_id = r.body['id']
        self.user_ids = {u['username']: u['id'] for u in self.users()}
        for name in ('clerk2', 'judge', 'evidential'):
            self.assign(name, [self.courtroom_id])
            self.tokens[name] = d.login(name, STAFF_PASSWORDS[name])['token']
        self._n = 0

    def users(self):
        r = self.d.api('GET', '/users?limit=200', token=self.tokens['admin'])
        if r.status != 200:
            raise DaemonError('list users: %r' % r)
        return r.body['items']

    def assign(self, name, courtrooms):
        """Sets an account's courtrooms (this ends its open sessions)."""
        r = self.d.api('PATCH', '/users/%s' % self.user_ids[name], {'courtrooms': courtrooms},
                       token=self.tokens['admin'])
        if r.status != 200:
            raise DaemonError('assign %s: %r' % (name, r))
        return r.body

    def token(self, who):
        return self.tokens[who]

    def new_hearing(self, case_reference=None, title='R v Example', token='clerk'):
        self._n += 1
        start = now_utc() + datetime.timedelta(minutes=30)
        body = {'courtroom_id': self.courtroom_id,
                'case_reference': case_reference or 'T2026/%04d' % self._n,
                'title': title, 'starts_at': rfc3339(start),
                'ends_at': rfc3339(start + datetime.timedelta(hours=2))}
        r = self.d.api('POST', '/hearings', body, token=self.tokens[token])
        if r.status != 201:
            raise DaemonError('create hearing: %r' % r)
        return r.body['id']

    def add_participant(self, hearing_id, name, role, special_measures=None, token='clerk'):
        body = {'display_name': name, 'role': role}
        if special_measures is not None:
            body['special_measures'] = special_measures
        r = self.d.api('POST', '/hearings/%s/participants' % hearing_id, body,
                       token=self.tokens[token])
        if r.status != 201:
            raise DaemonError('add participant %s: %r' % (name, r))
        self.d.secrets.add(r.body['join_token'])
        out = dict(r.body)
        out['display_name'] = name
        out['role'] = role
        return out

    def participants(self, hearing_id, token='clerk'):
        r = self.d.api('GET', '/hearings/%s/participants' % hearing_id, token=self.tokens[token])
        if r.status != 200:
            raise DaemonError('list participants: %r' % r)
        return r.body['items']

    def set_state(self, hearing_id, state, token='clerk'):
        return self.d.api('POST', '/hearings/%s/state' % hearing_id, {'state': state},
                          token=self.tokens[token])

    def hearing(self, hearing_id, token='clerk'):
        r = self.d.api('GET', '/hearings/%s' % hearing_id, token=self.tokens[token])
        if r.status != 200:
            raise DaemonError('get hearing: %r' % r)
        return r.body

    async def ws(self, name='client'):
        return await Rpc.connect(self.d, name=name)

    async def staff_ws(self, who, hearing_id=None):
        """A socket with session.hello done (staff token) and, if given, joined."""
        rpc = await Rpc.connect(self.d, name=who)
        rpc.hello = await rpc.call('session.hello', {'token': self.tokens[who]})
        if hearing_id is not None:
            rpc.joined = await rpc.call('hearing.join', {'hearing_id': hearing_id})
        return rpc

    async def join_ws(self, participant, name=None, join=True):
        """A participant socket: session.hello with its join token, then hearing.join."""
        rpc = await Rpc.connect(self.d, name=name or participant['display_name'])
        rpc.hello = await rpc.call('session.hello', {'token': participant['join_token']})
        self.d.secrets.add(rpc.hello.get('resume_token', ''))
        rpc.joined = None
        if join:
            rpc.joined = await rpc.call('hearing.join', {})
        return rpc


def audit_entries(daemon, admin_token, since):
    """Every audit entry since `since` (a datetime), following next_cursor."""
    items, cursor = [], None
    for _ in range(100):
        q = '/audit?from=%s' % rfc3339(since)
        if cursor:
            q += '&cursor=%s' % cursor
        r = daemon.api('GET', q, token=admin_token)
        if r.status != 200:
            raise AssertionError('GET %s: %r' % (q, r))
        items += r.body['items']
        if not r.body.get('next_cursor') or r.body['next_cursor'] == cursor:
            break
        cursor = r.body['next_cursor']
    return items


# --------------------------------------------------------------------------
# unittest glue
# --------------------------------------------------------------------------

class DaemonTestCase(unittest.IsolatedAsyncioTestCase):
    """One daemon (and World) per test class."""

    overrides = {}
    make_world = True

    @classmethod
    def setUpClass(cls):
        cls.daemon = Daemon(cls.overrides, name=cls.__name__)
        try:
            cls.daemon.start()
            cls.world = World(cls.daemon) if cls.make_world else None
        except BaseException:
            cls.daemon.kill()
            raise

    @classmethod
    def tearDownClass(cls):
        cls.daemon.stop()

    def setUp(self):
        self._sockets = []

    async def asyncSetUp(self):
        # REST calls block the loop briefly by design; keep asyncio's debug
        # mode (on in IsolatedAsyncioTestCase) from reporting them
        asyncio.get_running_loop().slow_callback_duration = 60

    async def asyncTearDown(self):
        for rpc in self._sockets:
            await rpc.close()
            if rpc.protocol_errors:
                self.fail('%s: protocol errors from the daemon: %r'
                          % (rpc.name, rpc.protocol_errors))
        if self.daemon.proc is not None:  # (None: a test stopped it itself)
            self.assertTrue(self.daemon.running(),
                            'the daemon died; stderr:\n' + self.daemon.tail())

    def track(self, rpc):
        self._sockets.append(rpc)
        return rpc

    async def ws(self, name='client'):
        return self.track(await self.world.ws(name))

    async def staff_ws(self, who, hearing_id=None):
        return self.track(await self.world.staff_ws(who, hearing_id))

    async def join_ws(self, participant, name=None, join=True):
        return self.track(await self.world.join_ws(participant, name, join))

    # -- assertions ------------------------------------------------------------

    def assertApiError(self, resp, status, code=None, msg=''):
        self.assertEqual(resp.status, status, '%s: %r' % (msg, resp))
        self.assertIsInstance(resp.body, dict, '%s: error body is not JSON: %r' % (msg, resp))
        err = resp.body.get('error')
        self.assertIsInstance(err, dict, '%s: no error object: %r' % (msg, resp))
        self.assertIsInstance(err.get('message'), str, '%s: %r' % (msg, resp))
        if code is not None:
            self.assertEqual(err.get('code'), code, '%s: %r' % (msg, resp))

    async def assertRpcError(self, rpc, method, params, code, msg=''):
        err = await rpc.error(method, params)
        if isinstance(code, (set, tuple, list)):
            self.assertIn(err['code'], code, '%s %s(%r): %r' % (msg, method, params, err))
        else:
            self.assertEqual(err['code'], code, '%s %s(%r): %r' % (msg, method, params, err))
        return err

    def assertNotLeaked(self, rpc, secrets, what=''):
        text = rpc.text()
        for s in secrets:
            self.assertNotIn(s, text, '%s: %s received %r (%s)' % (what, rpc.name, s, text[:0]))


def binaries_present():
    missing = [p for p in (GATEWAY, VEJCTL) if not os.access(p, os.X_OK)]
    return missing



def extmaps(lines):
    """{uri: id} of an m-line's a=extmap lines (the direction suffix dropped)."""
    out = {}
    for line in lines:
        m = re.match(r'a=extmap:(\d+)(?:/\w+)? (\S+)', line)
        if m:
            out[m.group(2)] = int(m.group(1))
    return out

def main():
    missing = binaries_present()
    if missing:
        print('SKIP: not built: %s' % ', '.join(missing))
        sys.exit(77)
    import atexit
    atexit.register(_kill_all_daemons)

    def on_signal(signum, frame):
        _kill_all_daemons()
        sys.exit(128 + signum)
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    prog = unittest.main(verbosity=2, exit=False, buffer=False)
    ok = prog.result.wasSuccessful()
    for d in _ALL_DAEMONS:
        d.kill()
        if not ok:
            print('\n===== %s (%s) stderr tail =====' % (d.name, d.root))
            for path in d.logs:
                if path.endswith('.log') and 'stderr' in path:
                    try:
                        with open(path, 'rb') as f:
                            lines = f.read().decode('utf-8', 'replace').splitlines()
                    except OSError:
                        continue
                    print('--- %s' % path)
                    print('\n'.join(lines[-60:]))
        if ok:
            d.cleanup()
    sys.exit(0 if ok else 1)
