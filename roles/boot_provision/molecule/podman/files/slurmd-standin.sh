#!/bin/sh
# A STAND-IN for slurmd, installed as /usr/local/sbin/slurmd in the bp-guest container only
# (the test image has no Slurm). The readiness gate execs it when every check passes; it
# records that it was started, with which arguments and hostname, and what it found in the
# bundle folder (the etc files slurm.conf includes and their modes), then exits 0.
set -u
out=/var/lib/hpcvm-standin/slurmd.started
mkdir -p "${out%/*}"
conf=""
prev=""
for a in "$@"; do [ "$prev" = "-f" ] && conf=$a; prev=$a; done
{
  echo "argv: $(printf '[%s]' "$@")"
  echo "hostname: $(hostname)"
  [ -n "$conf" ] && stat -c 'mode: %a %n' "${conf%/*}"/* 2>&1
  [ -n "$conf" ] && sed -n 's/^# site file /site: slurm.local.conf <- /p' "${conf%/*}/slurm.local.conf" 2>&1
} > "$out"
echo "slurmd stand-in started: $*"
