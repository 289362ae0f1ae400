#!/usr/bin/env python3
"""Archives and seals the recording of a closed hearing for the e2e test:
what the daemon does by itself at hearing close once the recorder is wired
to the archiver and the seal (docs/recording.md).

    seal_recording.py DATA_DIR HEARING_ID   -> prints {"recording_id": ...}

Waits (at most 30 s) for DATA_DIR/recordings/REC/capture.json of that
hearing to say `stopped` with a `closed_at` (the real capture the recorder wrote during the
e2e hearing). If a signed manifest appears within 5 s after that, the daemon
sealed it itself and nothing more is done; otherwise the build tree's
vej-archiver makes the archive from the capture (per-participant files and
the composed archive/hearing.webm) and `vejctl recordings seal` signs it.
Environment: VEJCTL, VEJ_ARCHIVER (else VEJ_BUILD_ROOT/recording/archiver/
vej-archiver). Exit 1 with the reason on stderr."""

import glob
import json
import os
import subprocess
import sys
import time


def fail(msg):
    print('seal_recording: ' + msg, file=sys.stderr, flush=True)
    sys.exit(1)


def find_capture(data_dir, hearing_id):
    for path in glob.glob(os.path.join(data_dir, 'recordings', 'rec_*', 'capture.json')):
        try:
            with open(path) as f:
                cap = json.load(f)
        except (OSError, ValueError):
            continue  # being rewritten
        if (cap.get('hearing') or {}).get('id') == hearing_id:
            return os.path.dirname(path), cap
    return None, None


def main():
    if len(sys.argv) != 3:
        fail('usage: seal_recording.py DATA_DIR HEARING_ID')
    data_dir, hearing_id = sys.argv[1], sys.argv[2]
    end = time.monotonic() + 30
    rdir, cap = None, None
    while time.monotonic() < end:
        rdir, cap = find_capture(data_dir, hearing_id)
        if cap and cap.get('state') == 'stopped' and cap.get('closed_at'):
            break
        time.sleep(0.25)
    else:
        fail('no closed capture of %s in %s/recordings (last state %s)'
             % (hearing_id, data_dir, cap and cap.get('state')))
    rid = os.path.basename(rdir)
    manifest = os.path.join(rdir, 'manifest.json')
    end = time.monotonic() + 5
    while time.monotonic() < end and not os.path.exists(manifest):
        time.sleep(0.25)
    how = 'sealed by the daemon'
    if not os.path.exists(manifest):
        build = os.environ.get('VEJ_BUILD_ROOT', 'build')
        archiver = os.environ.get('VEJ_ARCHIVER') or os.path.join(build, 'recording', 'archiver', 'vej-archiver')
        t0 = time.monotonic()
        p = subprocess.run([archiver, rdir], capture_output=True, text=True, timeout=120)
        if p.returncode != 0:
            fail('%s exit %d: %s' % (archiver, p.returncode, p.stderr[-2000:]))
        p = subprocess.run([os.environ.get('VEJCTL', 'vejctl'), 'recordings', 'seal', rid,
                            '--data-dir', data_dir, '--json'], capture_output=True, text=True, timeout=60)
        if p.returncode != 0:
            fail('vejctl recordings seal exit %d: %s' % (p.returncode, p.stderr[-2000:]))
        how = 'archived and sealed here in %.1f s' % (time.monotonic() - t0)
    print(json.dumps({'recording_id': rid, 'how': how}), flush=True)


if __name__ == '__main__':
    main()
