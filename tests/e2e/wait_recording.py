#!/usr/bin/env python3
"""Waits for the daemon to archive and seal the recording of a closed
hearing (docs/recording.md: at hearing close the finisher runs vej-archiver
and seals the signed manifest), for the e2e test's evidential part.

    wait_recording.py DATA_DIR HEARING_ID   -> prints {"recording_id": ..., "how": ...}

Finds DATA_DIR/recordings/REC whose capture.json names the hearing, then
waits (at most 150 s in all) for its manifest.json and SHA256SUMS.sig.
Nothing is archived or sealed here: a recording the daemon does not finish
fails the test. Exit 1 with the reason on stderr."""

import glob
import json
import os
import sys
import time

LIMIT_S = 150


def fail(msg):
    print('wait_recording: ' + msg, file=sys.stderr, flush=True)
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
        fail('usage: wait_recording.py DATA_DIR HEARING_ID')
    data_dir, hearing_id = sys.argv[1], sys.argv[2]
    t0 = time.monotonic()
    rdir, cap = None, None
    while time.monotonic() - t0 < LIMIT_S:
        rdir, cap = find_capture(data_dir, hearing_id)
        if rdir and all(os.path.exists(os.path.join(rdir, n)) for n in ('manifest.json', 'SHA256SUMS.sig')):
            print(json.dumps({'recording_id': os.path.basename(rdir),
                              'how': 'archived and sealed by the daemon %.1f s after the close'
                                     % (time.monotonic() - t0)}), flush=True)
            return
        time.sleep(0.25)
    fail('the recording of %s was not sealed within %d s (folder %s, capture state %s, files %s)'
         % (hearing_id, LIMIT_S, rdir, cap and cap.get('state'),
            sorted(os.listdir(rdir)) if rdir else None))


if __name__ == '__main__':
    main()
