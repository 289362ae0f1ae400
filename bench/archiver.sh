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
start=$(date +%s.%N)
last=$(nice -n "${VEJ_BENCH_NICE:-0}" "$build/recording/archiver/vej-archiver" "$dir/rec" 2>/dev/null | tail -n 1)
end=$(date +%s.%N)
python3 - "$last" "$start" "$end" "$participants" "$seconds" <<'PY'
import json, sys
done = json.loads(sys.argv[1])
if done.get("stage") != "done":
    sys.exit("vej-archiver failed: %s" % sys.argv[1])
media = done["media_s"]
total = float(sys.argv[3]) - float(sys.argv[2])
print("archiver: %s participants, %.1f s of hearing" % (sys.argv[4], media))
print("  per-participant files: %6.2f s  %6.1fx real time" % (done["participants_s"], media / done["participants_s"]))
print("  hearing.webm:          %6.2f s  %6.1fx real time" % (done["hearing_s"], media / done["hearing_s"]))
print("  whole run:             %6.2f s  %6.1fx real time" % (total, media / total))
PY
