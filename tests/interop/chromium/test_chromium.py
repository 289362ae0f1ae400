#!/usr/bin/env python3
"""Headless Chromium interop.

Two Chromium participants (Debian's /usr/bin/chromium with fake camera and
microphone, driven by playwright-core from npm) join one in-session hearing
through the gateway's real signalling, from a minimal test page (page.html,
page.js): session.hello with their join token, hearing.join, webrtc.publish
(camera + microphone), webrtc.subscribe. Each must decode at least 30 video
frames (getStats inbound-rtp framesDecoded, attributed through media.tracks)
and receive audio from the other within 30 s. The SRTP profile and DTLS
cipher each PeerConnection used are recorded from getStats and compared
with the gateway's own webrtc.state report.

The judge joins first; the prosecution's page opens once the judge has
published and subscribed (so the judge's first subscribe offer carries
nobody's tracks and is followed by a re-offer, and the prosecution
subscribes to a publisher whose video started earlier).

  * 'Judge Chromium' (a join link, so role defence: bench roles belong to
    staff accounts only; the clerk admits it like the other) answers the
    subscribe offer as Chromium does (a=setup:active: the gateway is DTLS
    server on both of its PCs);
  * 'Pat Prosecution' (role prosecution: waits in the lobby; the clerk's
    WebSocket session admits it) has its subscribe answer munged to
    a=setup:passive (Chromium is DTLS server, the gateway DTLS client),
    and its publish offers reach the gateway without a=ssrc lines
    (unsignalled SSRCs: the gateway maps its packets to tracks by the mid
    header extension).

Every participant's negotiated header extensions are checked (per hop,
DESIGN.md 3): mid and abs-send-time on what it receives (audio-level on
audio, from which Chromium reads the publisher's level), mid (and
audio-level) on what it publishes, transport-wide-cc nowhere.

This file runs the daemon (tests/integration/harness.py, `[media] addresses
= 127.0.0.1`), sets up the hearing over REST, keeps the clerk's socket
(admitting whoever waits in the lobby), and runs run_chromium.mjs with the
participants' URLs and tokens. Exit 77 (meson: SKIP) when the daemon is not
built or chromium, node or npm is missing.

With --loss (meson: interop-chromium-loss) the same two participants talk
to the gateway only through UDP relays of the runner that drop every 15th
video packet in the media direction of each PeerConnection (from the page
on publish, to the page on subscribe; never RTX, RTCP, STUN or DTLS). No
root and no network namespace: the page points the gateway's candidates
at the relays and trickles none of its own. After both decode, 8 s more;
then each page must have sent NACKs and received retransmissions
(getStats inbound nackCount, retransmittedPacketsReceived), have been
NACKed and retransmitted as a publisher (outbound nackCount,
retransmittedPacketsSent), and have kept decoding the other's video at 10
fps or more; the gateway's /metrics must show NACKs received and RTX sent
(subscribers) and NACKs sent, recovered and RTX received (publishers).

Run by hand:
    VEJ_GATEWAY=build/daemon/vej-gateway VEJCTL=build/tools/vejctl \\
        /usr/bin/python3 tests/interop/chromium/test_chromium.py [--loss]
Environment: VEJ_CHROMIUM (default /usr/bin/chromium), VEJ_IT_KEEP=1 keeps
the temporary directories (daemon logs, Chromium profile, result.json),
VEJ_CHROMIUM_IGNORE_CERT_ERRORS=1 uses --ignore-certificate-errors instead
of trusting the gateway's certificate by its SPKI hash,
VEJ_CHROMIUM_EXPECT_GCM=0 drops the AEAD_AES_128_GCM expectation; for
diagnosis, VEJ_CHROMIUM_STAGGER=0 opens both pages at once (racy order) and
VEJ_CHROMIUM_SUB_BUNDLE=balanced gives the subscribe PCs bundlePolicy
balanced.
"""

import asyncio
import collections
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, '..', '..', 'integration'))

import harness  # noqa: E402
from harness import pid_of  # noqa: E402

CHROMIUM = os.environ.get('VEJ_CHROMIUM', '/usr/bin/chromium')
RUNNER = os.path.join(HERE, 'run_chromium.mjs')
ENSURE_DEPS = os.path.join(HERE, 'ensure-deps.sh')

MIN_FRAMES = 30
DECODE_TIMEOUT_MS = 30000     # from both pages loaded to >= MIN_FRAMES each way
# the whole Node run (Chromium start, pages, checks)
RUNNER_TIMEOUT = float(os.environ.get('VEJ_CHROMIUM_RUNNER_TIMEOUT', '110'))
NPM_TIMEOUT = 60.0           # npm ci of one package (meson's timeout is 180 s)

# variables meson's sanitizer setup puts in the environment: for the daemon,
# not for Chromium (G_DEBUG=fatal-criticals would abort it on any GLib critical)
# --ice-restart: once both decode, ICE restarts (run_chromium.mjs
# iceRestartPhase), then the prosecution's browser (a browser of its own) is
# frozen until the gateway loses consent on both its PCs, and ICE restarts
# bring it back (consentRecoveryPhase)
ICE_RESTART = '--ice-restart' in sys.argv[1:]
FREEZE_MS = 13000   # libnice 0.1.21 loses consent 10 s after the last answered check

NOT_FOR_BROWSER = ('G_DEBUG', 'G_SLICE', 'ASAN_OPTIONS', 'UBSAN_OPTIONS', 'LSAN_OPTIONS',
                   'LD_PRELOAD', 'MALLOC_PERTURB_', 'MESON_TEST_ITERATION')

LOSS = '--loss' in sys.argv[1:]
LOSS_CFG = {'dropEvery': 15, 'holdMs': 8000, 'minFps': 10}
# /metrics counters that must have moved under loss
LOSS_METRICS = ('vej_media_nack_received_total', 'vej_media_rtx_sent_total',
                'vej_media_nack_sent_total', 'vej_media_nack_recovered_total',
                'vej_media_rtx_received_total')


def skip(msg):
    print('SKIP: ' + msg)
    sys.exit(77)


def say(msg):
    print('[test %s] %s' % (time.strftime('%H:%M:%S'), msg), flush=True)


def browser_env(work):
    env = {k: v for k, v in os.environ.items() if k not in NOT_FOR_BROWSER}
    home = os.path.join(work, 'home')
    os.makedirs(home, exist_ok=True)
    # Chromium's NSS database and caches go to a throwaway HOME
    env.update({'HOME': home, 'XDG_CONFIG_HOME': os.path.join(home, '.config'),
                'XDG_CACHE_HOME': os.path.join(home, '.cache'),
                'PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD': '1'})
    return env


def kill_leftover_browsers(work_dir):
    """SIGKILLs the processes whose command line names our own (unique)
    temporary directory, and their process groups (playwright starts Chromium
    as a group leader; its helpers share the group): Chromium and Node
    processes started by this run that outlived it."""
    killed = []
    needle = work_dir.encode()
    own_group = os.getpgid(0)
    for name in os.listdir('/proc'):
        if not name.isdigit() or int(name) == os.getpid():
            continue
        try:
            with open('/proc/%s/cmdline' % name, 'rb') as f:
                cmd = f.read()
        except OSError:
            continue
        if needle not in cmd:
            continue
        pid = int(name)
        try:
            pgid = os.getpgid(pid)
            if pgid == pid and pgid != own_group:
                os.killpg(pgid, signal.SIGKILL)
            else:
                os.kill(pid, signal.SIGKILL)
            killed.append(pid)
        except OSError:
            pass
    return killed


async def admitter(clerk, expected, admitted, alerts):
    """The clerk admits each expected participant that waits in the lobby."""
    while True:
        try:
            note = await clerk.wait_for('lobby.waiting',
                                        lambda q: pid_of(q.get('participant')) in expected,
                                        timeout=3600)
        except AssertionError:
            return
        pid = pid_of(note.get('participant'))
        if pid in admitted:
            continue
        try:
            await clerk.call('hearing.admit', {'participant_id': pid})
            admitted.add(pid)
            say('clerk admitted %s from the lobby' % pid)
        except harness.RpcError as e:
            alerts.append('hearing.admit %s: %r' % (pid, e.error))
            say('clerk: hearing.admit %s failed: %r' % (pid, e.error))


async def failure_alerts(clerk, out):
    """Records (wall-clock time, params) of each media_failed alert to the clerk."""
    while True:
        try:
            note = await clerk.wait_for('alert', lambda q: q.get('code') == 'media_failed',
                                        timeout=3600)
        except AssertionError:
            return
        out.append((time.time(), note))


async def run_node(cfg_path, env):
    proc = await asyncio.create_subprocess_exec(
        'node', RUNNER, cfg_path, stdin=subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT, env=env, cwd=HERE, start_new_session=True)

    async def pump():
        while True:
            line = await proc.stdout.readline()
            if not line:
                return
            sys.stdout.write(line.decode('utf-8', 'replace'))
            sys.stdout.flush()

    try:
        await asyncio.wait_for(asyncio.gather(pump(), proc.wait()), RUNNER_TIMEOUT)
    except asyncio.TimeoutError:
        say('run_chromium.mjs still running after %.0f s: SIGTERM' % RUNNER_TIMEOUT)
        try:
            os.killpg(proc.pid, signal.SIGTERM)   # playwright closes Chromium on SIGTERM
            await asyncio.wait_for(proc.wait(), 10)
        except (OSError, asyncio.TimeoutError):
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except OSError:
                pass
            await proc.wait()
        return None
    return proc.returncode


async def scenario(daemon, world, work):
    failures = []
    hid = world.new_hearing(case_reference='T2026/CHR2' if LOSS else 'T2026/CHR1',
                            title='R v Chromium')
    for state in ('open', 'in_session'):
        r = world.set_state(hid, state)
        if r.status != 200:
            raise AssertionError('POST /hearings/%s/state %s: %r' % (hid, state, r))
    clerk = await world.staff_ws('clerk', hid)
    reply = await clerk.request('webrtc.subscribe', {'hearing_id': 'hrg_' + 'z' * 26})
    if reply.get('error', {}).get('code') == -32601:
        await clerk.close()
        return 'skip', ['webrtc.* not implemented by this daemon (-32601)']
    judge = world.add_participant(hid, 'Judge Chromium', 'defence')
    pros = world.add_participant(hid, 'Pat Prosecution', 'prosecution')
    expected = {judge['participant_id'], pros['participant_id']}
    admitted, alerts = set(), []
    task = asyncio.ensure_future(admitter(clerk, expected, admitted, alerts))
    failed_alerts = []
    alert_task = asyncio.ensure_future(failure_alerts(clerk, failed_alerts))

    profile = os.path.join(work, 'chromium-profile')
    os.makedirs(profile)
    result_path = os.path.join(work, 'result.json')
    cfg = {
        'chromium': CHROMIUM,
        'userDataDir': profile,
        'certPem': daemon.cert_path,
        'ignoreCertErrors': os.environ.get('VEJ_CHROMIUM_IGNORE_CERT_ERRORS') == '1',
        'expectGcmWhereGatewayServer': os.environ.get('VEJ_CHROMIUM_EXPECT_GCM', '1') != '0',
        'minFrames': MIN_FRAMES,
        'timeoutMs': DECODE_TIMEOUT_MS,
        'hardTimeoutMs': int((RUNNER_TIMEOUT - 5) * 1000),
        'resultPath': result_path,
        'stagger': os.environ.get('VEJ_CHROMIUM_STAGGER', '1') != '0',
        'staggerMs': 1000,
        'loss': LOSS_CFG if LOSS else None,
        'iceRestart': ICE_RESTART,
        'consentRecovery': ICE_RESTART,
        'freezeMs': FREEZE_MS,
        'participants': [
            {'name': 'Judge Chromium', 'role': 'defence', 'participant_id': judge['participant_id'],
             'ws': daemon.ws_url(), 'token': judge['join_token'], 'setup': 'active'},
            # publishes with unsignalled SSRCs: mapped to tracks by mid
            {'name': 'Pat Prosecution', 'role': 'prosecution',
             'participant_id': pros['participant_id'], 'ws': daemon.ws_url(),
             'token': pros['join_token'], 'setup': 'passive', 'unsignalled': True},
        ],
    }
    if os.environ.get('VEJ_CHROMIUM_SUB_BUNDLE'):
        for p in cfg['participants']:
            p['subscribeBundlePolicy'] = os.environ['VEJ_CHROMIUM_SUB_BUNDLE']
    cfg_path = os.path.join(work, 'config.json')
    fd = os.open(cfg_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, 'w') as f:
        json.dump(cfg, f)
    if os.environ.get('VEJ_CHROMIUM_SUB_BUNDLE'):
        for p in cfg['participants']:
            p['subscribeBundlePolicy'] = os.environ['VEJ_CHROMIUM_SUB_BUNDLE']
    say('hearing %s in_session; judge %s, prosecution %s; starting Chromium'
        % (hid, judge['participant_id'], pros['participant_id']))
    try:
        rc = await run_node(cfg_path, browser_env(work))
    finally:
        leftovers = kill_leftover_browsers(profile)
        if leftovers:
            say('killed leftover Chromium processes %r' % leftovers)
        for t in (task, alert_task):
            t.cancel()
            try:
                await t
            except (asyncio.CancelledError, Exception):
                pass
    try:
        m = daemon.http('GET', '/metrics')
        metrics = [ln for ln in m.raw.decode('utf-8', 'replace').splitlines()
                   if ln.startswith('vej_media') or ln.startswith('vej_peer')
                   or ln.startswith('vej_srtp') or ln.startswith('vej_dtls')]
    except Exception as e:  # noqa: BLE001 - diagnostics only
        metrics = ['GET /metrics: %r' % e]
    if LOSS:
        values = {}
        for ln in metrics:
            name, _, value = ln.partition(' ')
            values[name] = value
        say('gateway /metrics under loss:\n    ' + '\n    '.join(
            ln for ln in metrics if 'nack' in ln or 'rtx' in ln or 'dropped' in ln))
        for name in LOSS_METRICS:
            try:
                moved = float(values.get(name, '0')) > 0
            except ValueError:
                moved = False
            if not moved:
                failures.append('%s did not move under loss (%s)' % (name, values.get(name)))
    clerk_alerts = [n.params for n in clerk.notes if n.method == 'alert'
                    and n.params.get('code') != 'lobby_waiting']
    await clerk.close()
    if clerk.protocol_errors:
        failures.append('protocol errors on the clerk socket: %r' % clerk.protocol_errors)

    result = None
    try:
        with open(result_path, encoding='utf-8') as f:
            result = json.load(f)
    except (OSError, ValueError):
        pass
    if rc is None:
        failures.append('run_chromium.mjs did not finish within %.0f s' % RUNNER_TIMEOUT)
    elif rc == 2 and not (result and result.get('participants')):
        failures.append('run_chromium.mjs could not run the browsers (exit 2): see its output')
    elif rc != 0:
        failures.append('run_chromium.mjs failed (exit %d)' % rc)
    if result:
        failures += result.get('problems', [])
    elif rc is not None:
        failures.append('no result from run_chromium.mjs (%s)' % result_path)
    if pros['participant_id'] not in admitted:
        failures.append('the prosecution participant never appeared in the lobby to be admitted')
    failures += alerts
    if ICE_RESTART:
        # the frozen prosecution's two PCs fail: the clerk must hear about
        # each; and about each transient failure run_chromium.mjs reported
        # during the ICE restarts; about nothing else
        transients = [t['participant_id'] for t in
                      ((result or {}).get('iceRestartTransients') or [])]
        expected = collections.Counter(transients)
        expected[pros['participant_id']] += 2
        about = collections.Counter(a.get('participant_id') for _, a in failed_alerts)
        if about[pros['participant_id']] < expected[pros['participant_id']]:
            failures.append('the clerk got %d media_failed alert(s) about the frozen '
                            'participant (%d expected: publish and subscribe, and %d transient '
                            'failure(s)): %r' % (about[pros['participant_id']],
                                                 expected[pros['participant_id']],
                                                 transients.count(pros['participant_id']),
                                                 failed_alerts))
        unexpected = []
        for a in clerk_alerts:
            pid = a.get('participant_id')
            if a.get('code') == 'media_failed' and expected[pid] > 0:
                expected[pid] -= 1
            else:
                unexpected.append(a)
        clerk_alerts = unexpected
    if clerk_alerts:
        say('alerts to the clerk: %s' % json.dumps(clerk_alerts))
        failures += ['alert to the clerk: %s' % json.dumps(a) for a in clerk_alerts
                     if a.get('severity') != 'info']
    if result and result.get('participants'):
        say('results (Chromium %s; frames decoded after %s ms):'
            % (result.get('chromium'), result.get('msToDecode')))
        for e in result['participants']:
            for src, d in e['decoded'].items():
                v = max([x.get('framesDecoded', 0) for x in d['video']] or [0])
                a = max([x.get('packetsReceived', 0) for x in d['audio']] or [0])
                say('  %s <- %s: %d video frames decoded, %d audio packets' % (e['name'], src, v, a))
            for pc, c in e['cipher'].items():
                say('  %s %s PC: SRTP %s (Chromium getStats: %s; gateway webrtc.state: %s), '
                    'DTLS %s, Chromium DTLS %s / gateway DTLS %s'
                    % (e['name'], pc, c.get('srtpProfile'), c.get('srtpCipher'),
                       c.get('gatewayReports'), c.get('dtlsCipher'), c.get('dtlsRole'),
                       c.get('gatewayRole')))
    for r in (result or {}).get('iceRestarts') or []:
        say('  %s: signalling %s ms, new ICE pair after %s ms; %s'
            % (r.get('label'), r.get('signallingMs'), r.get('pairSwitchMs'),
               '; '.join('%s <- %s: first frame on the new pair after %s ms, longest stall %s ms'
                         % (x['name'], x['from'], x['firstFrameOnNewPairMs'], x['longestStallMs'])
                         for x in r.get('receivers', []))))
    if ICE_RESTART and result and not result.get('iceRestarts'):
        failures.append('no ICE restart result from run_chromium.mjs')
    cr = (result or {}).get('consentRecovery') or {}
    if ICE_RESTART and result and not cr.get('tFreeze'):
        failures.append('no consent loss/recovery result from run_chromium.mjs')
    if cr.get('tFreeze'):
        times = ['%.1f s' % (t - cr['tFreeze'] / 1000.0) for t, a in failed_alerts
                 if a.get('participant_id') == pros['participant_id']]
        say('  browser frozen %d ms: media_failed alerts to the clerk %s after the freeze; '
            'before the restarts %s; after the ICE restarts %s'
            % (cr.get('freezeMs', 0), ', '.join(times) or 'none', cr.get('beforeRestart'),
               '; '.join('%s <- %s first frame after %s ms' % (r['rx'], r['tx'], r['firstFrameMs'])
                         for r in cr.get('recovery', []))))
    if failures:
        say('gateway /metrics (media):\n    ' + '\n    '.join(metrics))
    return ('fail' if failures else 'pass'), failures


def main():
    missing = harness.binaries_present()
    if missing:
        skip('not built: %s' % ', '.join(missing))
    if not os.access(CHROMIUM, os.X_OK):
        skip('%s not installed (Debian package chromium)' % CHROMIUM)
    if not shutil.which('node'):
        skip('node not installed')
    try:
        p = subprocess.run([ENSURE_DEPS], timeout=NPM_TIMEOUT)
    except subprocess.TimeoutExpired:
        print('FAIL: %s took over %.0f s' % (ENSURE_DEPS, NPM_TIMEOUT))
        sys.exit(1)
    if p.returncode == 77:
        skip('node or npm missing (ensure-deps.sh)')
    if p.returncode != 0:
        print('FAIL: %s exited %d (npm ci of playwright-core failed)' % (ENSURE_DEPS, p.returncode))
        sys.exit(1)

    work = tempfile.mkdtemp(prefix='vej-chromium-')
    daemon = harness.Daemon({'media': {'addresses': '127.0.0.1'}},
                            name='chromium-restart' if ICE_RESTART else 'chromium')
    outcome, failures = 'fail', []
    try:
        daemon.start()
        world = harness.World(daemon)
        outcome, failures = asyncio.run(scenario(daemon, world, work))
        if daemon.running():
            try:
                daemon.stop()
            except harness.DaemonError as e:
                failures.append(str(e).splitlines()[0])
                outcome = 'fail'
        else:
            failures.append('the daemon died (status %s)' % (daemon.proc and daemon.proc.returncode))
            outcome = 'fail'
    except Exception as e:  # noqa: BLE001 - reported with the daemon's log below
        failures.append('%s: %s' % (type(e).__name__, e))
        outcome = 'fail'
    finally:
        daemon.kill()
        kill_leftover_browsers(work)

    if outcome == 'skip':
        daemon.cleanup()
        shutil.rmtree(work, ignore_errors=True)
        skip('; '.join(failures))
    if outcome == 'pass' and not failures:
        print('PASS: two Chromium participants decoded each other through the gateway'
              + (', repairing loss with NACK and RTX on both hops' if LOSS else '')
              + (', through ICE restarts of both kinds of PC' if ICE_RESTART else ''))
        if not os.environ.get('VEJ_IT_KEEP'):
            daemon.cleanup()
            shutil.rmtree(work, ignore_errors=True)
        sys.exit(0)
    print('\nFAIL:')
    for f in failures:
        print('  - ' + f)
    print('\n===== daemon stderr (%s) =====' % daemon.stderr_path)
    print(daemon.tail(120))
    print('===== kept: %s (result.json, chromium profile) and %s =====' % (work, daemon.root))
    sys.exit(1)


if __name__ == '__main__':
    main()
