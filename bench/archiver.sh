#!/bin/sh
# bench/archiver.sh - vej-archiver's speed as a multiple of real time.
#
# Usage: bench/archiver.sh [BUILD_DIR [SECONDS [PARTICIPANTS]]]
#
# Writes a recording of PARTICIPANTS (default 4) publishers over SECONDS
# (default 120) of real VP8 640x360 30 fps + Opus media with capture-synth
# (tests/unit/recording/fixture.c: the same scenario as the tests, one
# participant leaving and rejoining), runs BUILD_DIR's vej-archiver on it
# (BUILD_DIR: a release build without sanitizers, default build-bench) and
# prints, from the archiver's last progress line, the wall time and the
# multiple of real time of the per-participant files (remux) and of the
# composed hearing.webm (decode, tile, mix, encode). Set VEJ_BENCH_NICE=10
# to run it at the priority the daemon gives it.
set -eu
build=${1:-build-bench}
seconds=${2:-120}
participants=${3:-4}
for t in recording/archiver/vej-archiver tests/unit/recording/capture-synth; do
  if [ ! -x "$build/$t" ]; then
    echo "bench/archiver.sh: $build/$t missing: meson setup $build --buildtype=release && ninja -C $build $t" >&2
    exit 2
  fi
done
dir=$(mktemp -d /tmp/vej-bench-archiver-XXXXXX)
trap 'rm -rf "$dir"' EXIT INT TERM
"$build/tests/unit/recording/capture-synth" "$dir/rec" "$participants" "$seconds"
python3 - "$build/recording/archiver/vej-archiver" "$dir/rec" "$participants" "${VEJ_BENCH_NICE:-0}" <<'PY'
import json, os, resource, subprocess, sys, time
program, rec, participants, niceness = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
t0 = time.monotonic()
proc = subprocess.run([program, rec], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                      preexec_fn=lambda: os.nice(niceness), text=True)
wall = time.monotonic() - t0
usage = resource.getrusage(resource.RUSAGE_CHILDREN)
lines = proc.stdout.strip().splitlines()
done = json.loads(lines[-1]) if lines else {}
if proc.returncode != 0 or done.get("stage") != "done":
    sys.exit("vej-archiver failed: %s" % (lines[-1] if lines else proc.returncode))
media = done["media_s"]
cpu = usage.ru_utime + usage.ru_stime
print("archiver: %s participants, %.1f s of hearing, load average %.1f" %
      (participants, media, os.getloadavg()[0]))
print("  per-participant files: %6.2f s  %6.1fx real time" % (done["participants_s"], media / done["participants_s"]))
print("  hearing.webm:          %6.2f s  %6.1fx real time" % (done["hearing_s"], media / done["hearing_s"]))
print("  whole run:             %6.2f s  %6.1fx real time (CPU %.1f s: %.1fx real time per core)" %
      (wall, media / wall, cpu, media / cpu))
PY
