#!/usr/bin/env python3
"""End-to-end test of the web client in Firefox: Debian's firefox-esr
driven by puppeteer-core (npm) over WebDriver BiDi (run_firefox.mjs),
through the pages the gateway serves.

This file runs the daemon (tests/integration/harness.py, this tree's
web/) listening and relaying media on the root side of a veth pair whose
other end is in a network namespace of its own (test_e2e.py's
setup_network; root, iproute2): Firefox does not pair its host candidates
with a gateway on loopback, and keeps its default ICE behaviour here
(mDNS-obfuscated host candidates: the gateway reaches it by
peer-reflexive candidates, as it must for any Firefox). It starts a
PulseAudio daemon of its own with a null sink (Firefox has no fake audio
output: without a sound server its AudioContexts never run, so neither
the self-test's level meter nor the test's audio check could), makes the accounts,
the courtroom and an in-session hearing with a defendant and a defence
advocate over REST (harness.World), installs the npm dependencies
(ensure-deps.sh) and runs run_firefox.mjs with a config naming the
gateway's URL, the clerk's username and password, the hearing and the two
joining links, and where the screenshots go
(BUILD_ROOT/e2e-firefox-screenshots). The browser part is described in
run_firefox.mjs, and the command that cuts every page's media for a
while (cut.sh: nftables drops UDP to and from the gateway's address). A
Firefox that is missing or cannot be started, and media
that do not flow, are failures, not skips: the test set-up installs
firefox-esr (scripts/deps.txt).

    meson test -C build --suite e2e --print-errorlogs e2e-firefox
    # or by hand:
    VEJ_GATEWAY=build/daemon/vej-gateway VEJCTL=build/tools/vejctl \\
        /usr/bin/python3 tests/e2e/test_firefox.py

VEJ_IT_KEEP=1 keeps the daemon's data and logs and the browser's console
logs; VEJ_E2E_SHOTS=DIR puts the screenshots elsewhere; VEJ_FIREFOX names
another Firefox binary.
"""

import atexit
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, '..', 'integration'))

import harness  # noqa: E402
import test_e2e  # noqa: E402  (the network namespace, the daemon on its address)

FIREFOX = os.environ.get('VEJ_FIREFOX', '/usr/bin/firefox-esr')
PULSEAUDIO = '/usr/bin/pulseaudio'
RUNNER = os.path.join(HERE, 'run_firefox.mjs')
RUNNER_TIMEOUT = 130
NOT_FOR_BROWSER = ('G_DEBUG', 'G_SLICE', 'ASAN_OPTIONS', 'UBSAN_OPTIONS', 'LSAN_OPTIONS',
                   'LD_PRELOAD', 'MALLOC_PERTURB_', 'MESON_TEST_ITERATION')


def say(msg):
    print('[e2e-firefox %s] %s' % (time.strftime('%H:%M:%S'), msg), flush=True)


def fail(msg):
    print('FAIL: ' + msg, flush=True)
    sys.exit(1)


def browser_env(work):
    """Firefox refuses to start as root with a HOME it does not own: a HOME
    of its own in the work directory (owned by whoever runs the test); the
    sound server is the test's own (start_pulse)."""
    env = {k: v for k, v in os.environ.items() if k not in NOT_FOR_BROWSER}
    home = os.path.join(work, 'home')
    runtime = os.path.join(work, 'pulse')
    os.makedirs(home, exist_ok=True)
    os.makedirs(runtime, mode=0o700, exist_ok=True)
    env.update({'HOME': home, 'XDG_CONFIG_HOME': os.path.join(home, '.config'),
                'XDG_CACHE_HOME': os.path.join(home, '.cache'), 'XDG_RUNTIME_DIR': runtime,
                'PULSE_RUNTIME_PATH': runtime, 'PULSE_SERVER': 'unix:' + os.path.join(runtime, 'native'),
                'PUPPETEER_SKIP_DOWNLOAD': '1', 'MOZ_HEADLESS': '1'})
    env.pop('DISPLAY', None)
    return env


def start_pulse(work):
    """A PulseAudio daemon for the browser only: a null sink, its socket in
    WORK/pulse, no D-Bus, no exit when idle. Returns the process."""
    env = browser_env(work)
    log = open(os.path.join(work, 'pulseaudio.log'), 'wb')
    proc = subprocess.Popen([PULSEAUDIO, '-n', '--daemonize=no', '--exit-idle-time=-1',
                             '--use-pid-file=no', '--system=no', '--disallow-module-loading',
                             '-L', 'module-native-protocol-unix',
                             '-L', 'module-null-sink sink_name=vej_null'],
                            stdin=subprocess.DEVNULL, stdout=log, stderr=log, env=env,
                            start_new_session=True, preexec_fn=harness._die_with_parent)
    log.close()
    sock = env['PULSE_SERVER'][len('unix:'):]
    deadline = time.monotonic() + 10
    while not os.path.exists(sock):
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            with open(os.path.join(work, 'pulseaudio.log'), errors='replace') as f:
                fail('PulseAudio did not start: %s' % f.read()[-800:])
        time.sleep(0.05)
    return proc


def firefox_version():
    p = subprocess.run([FIREFOX, '--version'], capture_output=True, text=True, timeout=30,
                       env=browser_env(tempfile.mkdtemp(prefix='vej-ffv-')))
    return (p.stdout or p.stderr).strip()


def write_cut(work):
    """cut.sh on|off: drop (or stop dropping) every UDP datagram to or from
    the gateway's address, that is all media of every page (nftables, in
    the root namespace, a table of this run's own). Returns its path."""
    table = 'vejffcut' + test_e2e.TAG
    cut = os.path.join(work, 'cut.sh')
    with open(cut, 'w') as f:
        f.write('#!/bin/sh\nset -e\n'
                'if [ "$1" = on ]; then\n'
                '  nft -f - <<EOF\n'
                'table inet %(t)s {\n'
                '  chain in { type filter hook input priority -10; policy accept;\n'
                '    ip daddr %(ip)s meta l4proto udp drop\n'
                '    ip saddr %(ip)s meta l4proto udp drop\n'
                '  }\n'
                '}\n'
                'EOF\n'
                'else\n'
                '  nft delete table inet %(t)s\n'
                'fi\n' % {'t': table, 'ip': test_e2e.HOST_IP})
    os.chmod(cut, 0o700)
    atexit.register(lambda: subprocess.run(['nft', 'delete', 'table', 'inet', table],
                                           capture_output=True, timeout=20))
    return cut


def prepare(daemon):
    """Accounts, the courtroom, a hearing in session with two participants."""
    world = harness.World(daemon)
    hid = world.new_hearing(case_reference='T2026/FF01', title='R v Firefox')
    people = [world.add_participant(hid, 'Dan Defendant', 'defendant'),
              world.add_participant(hid, 'Ada Advocate', 'defence')]
    for st in ('open', 'in_session'):
        r = world.set_state(hid, st)
        if r.status != 200:
            raise harness.DaemonError('hearing state %s: %r' % (st, r))
    return hid, [{'key': p['role'], 'id': p['participant_id'], 'name': p['display_name'],
                  'url': daemon.base + '/join#t=' + p['join_token']} for p in people]


def main():
    # a meson timeout (SIGTERM): the finally clauses still take the daemon,
    # PulseAudio and the network namespace down
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))
    missing = harness.binaries_present()
    if missing:
        fail('not built: %s' % ', '.join(missing))
    if not os.access(FIREFOX, os.X_OK):
        fail('%s not installed (Debian package firefox-esr; scripts/install-deps)' % FIREFOX)
    if not os.access(PULSEAUDIO, os.X_OK):
        fail('%s not installed (Debian package pulseaudio; scripts/install-deps)' % PULSEAUDIO)
    if os.geteuid() != 0 or not shutil.which('ip'):
        fail('the gateway\'s address needs root and iproute2 (a veth pair; scripts/install-deps, as root)')
    p = subprocess.run([os.path.join(HERE, 'ensure-deps.sh')], timeout=180)
    if p.returncode != 0:
        fail('ensure-deps.sh exited %d' % p.returncode)
    say(firefox_version())

    build_root = os.environ.get('VEJ_BUILD_ROOT', os.path.join(HERE, '..', '..', 'build'))
    shots = os.path.abspath(os.environ.get('VEJ_E2E_SHOTS') or os.path.join(build_root, 'e2e-firefox-screenshots'))
    shutil.rmtree(shots, ignore_errors=True)
    os.makedirs(shots)
    work = tempfile.mkdtemp(prefix='vej-e2e-ff-')
    try:
        test_e2e.setup_network(work)
    except (RuntimeError, OSError, subprocess.TimeoutExpired) as e:
        fail('cannot make the network namespace: %s' % e)
    if not shutil.which('nft'):
        fail('the media cut needs nftables (scripts/install-deps, as root)')
    cut = write_cut(work)
    pulse = start_pulse(work)
    web_root = os.path.abspath(os.path.join(HERE, '..', '..', 'web'))
    daemon = test_e2e.NetDaemon({'server': {'listen': test_e2e.HOST_IP + ':0', 'web_root': web_root},
                                 'media': {'addresses': test_e2e.HOST_IP}}, name='e2e-ff')
    rc = None
    try:
        daemon.start()
        hid, people = prepare(daemon)
        cfg = {
            'firefox': FIREFOX,
            'base': daemon.base,
            'clerkUser': 'clerk',
            'clerkPassword': harness.STAFF_PASSWORDS['clerk'],
            'hearingId': hid,
            'cut': cut,
            'people': people,
            'shots': shots,
            'work': work,
            'hardTimeoutMs': (RUNNER_TIMEOUT - 10) * 1000,
        }
        rc = test_e2e.run_runner(daemon, RUNNER, cfg, work, browser_env(work), RUNNER_TIMEOUT,
                                 say)
    except harness.DaemonError as e:
        say(str(e))
        rc = rc or 1
    finally:
        daemon.kill()
        pulse.kill()
        pulse.wait()
        test_e2e.teardown_network()
    if rc != 0:
        print('\n===== daemon stderr (%s) =====' % daemon.stderr_path)
        print(daemon.tail(80))
        fail('run_firefox.mjs exit %s (screenshots in %s, work in %s)' % (rc, shots, work))
    print('PASS: the web client end to end in Firefox (screenshots in %s)' % shots)
    if not os.environ.get('VEJ_IT_KEEP'):
        daemon.cleanup()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == '__main__':
    main()
