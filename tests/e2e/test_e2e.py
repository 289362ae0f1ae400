#!/usr/bin/env python3
"""End-to-end test of the web client: Debian's Chromium driven by
playwright-core (run_e2e.mjs) through the pages the gateway serves.

This file runs the daemon (tests/integration/harness.py, `[media] addresses
= 127.0.0.1`), installs the npm dependencies (ensure-deps.sh) and runs
run_e2e.mjs with a config naming the gateway's URL and certificate, the
initial admin password, the usernames and passwords the staff will choose
(the admin creates their accounts in the page), the command that waits
for the daemon to archive and seal the closed hearing's recording
(wait_recording.py) and where the
screenshots go (BUILD_ROOT/e2e-screenshots). The browser part is
described in run_e2e.mjs. A missing Chromium or Node.js is a failure, not a
skip: the test set-up installs them (scripts/deps.txt).

    meson test -C build --suite e2e --print-errorlogs
    # or by hand:
    VEJ_GATEWAY=build/daemon/vej-gateway VEJCTL=build/tools/vejctl \\
        /usr/bin/python3 tests/e2e/test_e2e.py

The network cut (needs root, iproute2 and nftables, as the test set-up
has): the defendant's Chromium runs in a network namespace of its own
(NS, a veth pair 10.253.N.2 <-> 10.253.N.1 in the root namespace), the
gateway listens and relays media on 10.253.N.1, every other browser uses
that address too. run_e2e.mjs asks (cut.sh, through the config's `cut`
command) for the namespace's traffic to be dropped by nftables for 5 s;
the browser's offline emulation would not stop WebRTC.

VEJ_IT_KEEP=1 keeps the daemon's data and logs; VEJ_E2E_SHOTS=DIR puts the
screenshots elsewhere.
"""

import atexit
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, '..', 'integration'))

import harness  # noqa: E402

CHROMIUM = os.environ.get('VEJ_CHROMIUM', '/usr/bin/chromium')
RUNNER = os.path.join(HERE, 'run_e2e.mjs')
RUNNER_TIMEOUT = 200
CLERK_PASSWORD = 'clerk-e2e-password-1'
JUDGE_PASSWORD = 'judge-e2e-password-1'
EVID_PASSWORD = 'evid-e2e-password-1'
ADMIN_NEW_PASSWORD = 'admin-e2e-password-1'
NOT_FOR_BROWSER = ('G_DEBUG', 'G_SLICE', 'ASAN_OPTIONS', 'UBSAN_OPTIONS', 'LSAN_OPTIONS',
                   'LD_PRELOAD', 'MALLOC_PERTURB_', 'MESON_TEST_ITERATION')


TAG = '%04x' % (os.getpid() & 0xffff)
NS = 'vejweb-' + TAG
VH, VN = 'vwh' + TAG, 'vwn' + TAG
NET = '10.253.%d' % (os.getpid() % 250 + 1)
HOST_IP, NS_IP = NET + '.1', NET + '.2'


def sh(*cmd, stdin=None):
    p = subprocess.run(list(cmd), input=stdin, capture_output=True, text=True, timeout=20)
    if p.returncode != 0:
        raise RuntimeError('%s: exit %d: %s' % (' '.join(cmd), p.returncode,
                                                (p.stderr or p.stdout).strip()))
    return p.stdout


def teardown_network():
    for cmd in (['ip', 'link', 'del', VH], ['ip', 'netns', 'del', NS]):
        subprocess.run(cmd, capture_output=True, timeout=20)


def remove_stale():
    """Namespaces and links of earlier runs whose process is gone."""
    live = {'%04x' % (int(p) & 0xffff) for p in os.listdir('/proc') if p.isdigit()}
    for name in subprocess.run(['ip', 'netns', 'list'], capture_output=True, text=True,
                               timeout=20).stdout.split():
        m = re.match(r'^vejweb-([0-9a-f]{4})$', name)
        if m and m.group(1) not in live:
            subprocess.run(['ip', 'netns', 'del', name], capture_output=True, timeout=20)


def setup_network(work):
    """The defendant's namespace; returns (chromium wrapper, cut command)."""
    remove_stale()
    atexit.register(teardown_network)
    sh('ip', 'netns', 'add', NS)
    sh('ip', 'link', 'add', VH, 'type', 'veth', 'peer', 'name', VN, 'netns', NS)
    sh('ip', 'addr', 'add', HOST_IP + '/24', 'dev', VH)
    sh('ip', 'link', 'set', VH, 'up')
    sh('ip', 'netns', 'exec', NS, 'ip', 'addr', 'add', NS_IP + '/24', 'dev', VN)
    sh('ip', 'netns', 'exec', NS, 'ip', 'link', 'set', VN, 'up')
    sh('ip', 'netns', 'exec', NS, 'ip', 'link', 'set', 'lo', 'up')
    wrapper = os.path.join(work, 'chromium-in-ns')
    with open(wrapper, 'w') as f:
        f.write('#!/bin/sh\nexec ip netns exec %s %s "$@"\n' % (NS, CHROMIUM))
    os.chmod(wrapper, 0o700)
    cut = os.path.join(work, 'cut.sh')
    with open(cut, 'w') as f:
        # cut.sh on|off: drop everything in and out of the namespace but
        # loopback, or stop dropping
        f.write('#!/bin/sh\nset -e\n'
                'if [ "$1" = on ]; then\n'
                '  ip netns exec %(ns)s nft -f - <<EOF\n'
                'table inet vejcut {\n'
                '  chain in { type filter hook input priority -10; policy drop; iifname "lo" accept; }\n'
                '  chain out { type filter hook output priority -10; policy drop; oifname "lo" accept; }\n'
                '}\n'
                'EOF\n'
                'else\n'
                '  ip netns exec %(ns)s nft delete table inet vejcut\n'
                'fi\n' % {'ns': NS})
    os.chmod(cut, 0o700)
    return wrapper, cut


def say(msg):
    print('[e2e %s] %s' % (time.strftime('%H:%M:%S'), msg), flush=True)


def fail(msg):
    print('FAIL: ' + msg, flush=True)
    sys.exit(1)


def browser_env(work):
    env = {k: v for k, v in os.environ.items() if k not in NOT_FOR_BROWSER}
    home = os.path.join(work, 'home')
    os.makedirs(home, exist_ok=True)
    env.update({'HOME': home, 'XDG_CONFIG_HOME': os.path.join(home, '.config'),
                'XDG_CACHE_HOME': os.path.join(home, '.cache'),
                'PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD': '1'})
    return env


def run_runner(daemon, runner, cfg, work, env, timeout, say):
    """Writes CFG into WORK (mode 0600: it holds passwords), runs `node
    RUNNER` on it in a process group of its own for at most TIMEOUT
    seconds, then stops the daemon and checks its logs. Returns the
    runner's exit status (not 0 when it was killed or the daemon died)."""
    cfg_path = os.path.join(work, 'config.json')
    fd = os.open(cfg_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, 'w') as f:
        json.dump(cfg, f)
    name = os.path.basename(runner)
    say('gateway at %s; running %s' % (daemon.base, name))
    proc = subprocess.Popen(['node', runner, cfg_path], cwd=HERE, env=env, start_new_session=True)
    try:
        rc = proc.wait(timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        rc = proc.wait() or 1
        say('%s did not finish within %d s' % (name, timeout))
    if daemon.running():
        daemon.stop()
    else:
        rc = rc or 1
        say('the daemon died')
    daemon.check_logs()
    return rc


class NetDaemon(harness.Daemon):
    """The daemon listening on HOST_IP: the harness looks for 127.0.0.1 in
    the start-up line and builds its URLs with it."""

    def stderr_text(self):
        return super().stderr_text().replace('https://%s:' % HOST_IP, 'https://127.0.0.1:')

    @property
    def base(self):
        return 'https://%s:%d' % (HOST_IP, self.port)


def main():
    missing = harness.binaries_present()
    if missing:
        fail('not built: %s' % ', '.join(missing))
    if not os.access(CHROMIUM, os.X_OK):
        fail('%s not installed (Debian package chromium; scripts/install-deps)' % CHROMIUM)
    p = subprocess.run([os.path.join(HERE, 'ensure-deps.sh')], timeout=120)
    if p.returncode != 0:
        fail('ensure-deps.sh exited %d' % p.returncode)

    build_root = os.environ.get('VEJ_BUILD_ROOT', os.path.join(HERE, '..', '..', 'build'))
    shots = os.environ.get('VEJ_E2E_SHOTS') or os.path.join(build_root, 'e2e-screenshots')
    shutil.rmtree(shots, ignore_errors=True)
    os.makedirs(shots)
    work = tempfile.mkdtemp(prefix='vej-e2e-')
    if os.geteuid() != 0 or not shutil.which('nft') or not shutil.which('ip'):
        fail('the network cut needs root, iproute2 and nftables (scripts/install-deps, as root)')
    try:
        wrapper, cut = setup_network(work)
    except (RuntimeError, OSError, subprocess.TimeoutExpired) as e:
        fail('cannot make the network namespace: %s' % e)
    # the pages of this source tree, whichever build the daemon comes from
    web_root = os.path.abspath(os.path.join(HERE, '..', '..', 'web'))
    daemon = NetDaemon({'server': {'listen': HOST_IP + ':0', 'web_root': web_root},
                        'media': {'addresses': HOST_IP}},
                       name='e2e')
    rc = None
    try:
        daemon.start()
        seal = os.path.join(work, 'wait-recording.sh')
        with open(seal, 'w') as f:
            f.write('#!/bin/sh\nexec /usr/bin/python3 %s %s "$1"\n'
                    % (os.path.join(HERE, 'wait_recording.py'), daemon.data_dir))
        os.chmod(seal, 0o700)
        cfg = {
            'chromium': CHROMIUM,
            'chromiumInNs': wrapper,
            'cut': cut,
            'base': daemon.base,
            'certPem': daemon.cert_path,
            'adminPassword': daemon.admin_initial_password,
            'adminNewPassword': ADMIN_NEW_PASSWORD,
            'clerkUser': 'clerk1',
            'clerkPassword': CLERK_PASSWORD,
            'judgeUser': 'judge1',
            'judgePassword': JUDGE_PASSWORD,
            'evidUser': 'evid1',
            'evidPassword': EVID_PASSWORD,
            'seal': seal,
            'shots': shots,
            'work': work,
            'hardTimeoutMs': (RUNNER_TIMEOUT - 10) * 1000,
        }
        for pw in (ADMIN_NEW_PASSWORD, CLERK_PASSWORD, JUDGE_PASSWORD, EVID_PASSWORD):
            daemon.secrets.add(pw)
        rc = run_runner(daemon, RUNNER, cfg, work, browser_env(work), RUNNER_TIMEOUT, say)
    except harness.DaemonError as e:
        say(str(e))
        rc = rc or 1
    finally:
        daemon.kill()
        teardown_network()
    if rc != 0:
        print('\n===== daemon stderr (%s) =====' % daemon.stderr_path)
        print(daemon.tail(80))
        fail('run_e2e.mjs exit %s (screenshots in %s, work in %s)' % (rc, shots, work))
    print('PASS: the web client end to end (screenshots in %s)' % shots)
    if not os.environ.get('VEJ_IT_KEEP'):
        daemon.cleanup()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == '__main__':
    main()
