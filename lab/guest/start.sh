#!/bin/sh
# Stage 2 of the lab's fast guest: PID 1 after switch_root, shipped in the boot tarball.
# The root is the host's / read-only over 9p under a tmpfs overlay, so munged and slurmd
# are the host's own binaries. The tarball (/opt/vmboot) holds guest.env and files/,
# a tree copied onto / : the VM cluster's slurm.conf and munge key at the host's paths.
# Readiness first (mounts, /tmp, munge); slurmd starts only when they pass, and its
# registration turns the FUTURE pool node IDLE.
C=/dev/ttyS0
B=/opt/vmboot
say() { echo "$*" > $C; }
fail() { say "HPCVM-GUEST-FAILED host=$(hostname) $*"; while :; do sleep 3600; done; }
. $B/guest.env || fail "no guest.env"
export SLURM_CONF PATH=/usr/sbin:/usr/bin:/sbin:/bin
cs=/sys/devices/system/clocksource/clocksource0
say "HPCVM-STAGE2 host=$(hostname) uptime=$(cut -d' ' -f1 /proc/uptime) clocksource=$(cat $cs/current_clocksource) ($(cat $cs/available_clocksource)) date=$(date -u +%FT%TZ)"
cp -a $B/files/. / || fail "cannot install the boot files"
rm -rf $B/files

# slurmd 22.05 needs a cgroup hierarchy; cgroup/v2 wants systemd + dbus, so mount v1
mount -t tmpfs -o mode=755 cgroup /sys/fs/cgroup
for c in freezer cpuset memory devices; do
  mkdir -p /sys/fs/cgroup/$c && mount -t cgroup -o $c cgroup /sys/fs/cgroup/$c 2>>$C
done
# cgroup/autodetect takes tmpfs plus a named "systemd" hierarchy for v1
mkdir -p /sys/fs/cgroup/systemd && mount -t cgroup -o none,name=systemd cgroup /sys/fs/cgroup/systemd 2>>$C

# readiness checks
[ "$(stat -f -c %T /tmp)" = ext2/ext3 ] || fail "/tmp is not the temp disk ($(stat -f -c %T /tmp))"
touch /tmp/.hpcvm-write-test && rm -f /tmp/.hpcvm-write-test || fail "/tmp is not writable"
[ -s "$SLURM_CONF" ] || fail "no $SLURM_CONF"

# munged: the host's binary (its state under /run: the host's munge dirs are not readable
# through 9p, which runs as the qemu user), the VM cluster's key, the socket slurm.conf names (AuthInfo)
sock=$(sed -n 's/^AuthInfo=.*socket=\([^, ]*\).*/\1/p' "$SLURM_CONF" | head -1)
[ -n "$sock" ] || fail "no AuthInfo socket in $SLURM_CONF"
sdir=$(dirname "$sock")
mkdir -p "$sdir" /run/munge && chmod 0755 "$sdir" && chmod 0700 /run/munge
chown root:root "$MUNGE_KEY" && chmod 0400 "$MUNGE_KEY"
munged --force --key-file="$MUNGE_KEY" --socket="$sock" --pid-file=/run/munged.pid \
  --log-file=/run/munge/munged.log --seed-file=/run/munge/munged.seed 2>>$C || fail "munged did not start"
i=0; until munge -S "$sock" -n </dev/null | unmunge -S "$sock" >/dev/null 2>&1; do
  i=$((i+1)); [ $i -ge 50 ] && fail "munge does not work"; sleep 0.1
done
say "HPCVM-MUNGE-READY uptime=$(cut -d' ' -f1 /proc/uptime)"

# slurmd's spool, pid and log paths from slurm.conf land on this guest's own /tmp disk
for key in SlurmdSpoolDir SlurmdPidFile SlurmdLogFile; do
  v=$(sed -n "s/^$key=//p" "$SLURM_CONF" | head -1 | sed "s/%n/$(hostname)/g")
  [ -z "$v" ] && continue
  if [ "$key" = SlurmdSpoolDir ]; then mkdir -p "$v"; else mkdir -p "$(dirname "$v")"; fi
done
slurmd_log=$(sed -n 's/^SlurmdLogFile=//p' "$SLURM_CONF" | head -1 | sed "s/%n/$(hostname)/g")
if ! slurmd -f "$SLURM_CONF" -N "$(hostname)" 2>>$C; then
  [ -z "$slurmd_log" ] || tail -20 "$slurmd_log" > $C
  fail "slurmd did not start"
fi
say "HPCVM-SLURMD-STARTED host=$(hostname) uptime=$(cut -d' ' -f1 /proc/uptime)"
# the console log is the only part of the guest the host sees: mirror slurmd's log there
[ -z "$slurmd_log" ] || { tail -n +1 -F "$slurmd_log" 2>/dev/null | sed -u 's/^/slurmd: /' > $C & }

# PID 1 duties: reap whatever gets reparented here (slurmstepd double-forks)
trap '' TERM
while :; do sleep 60 & wait $! 2>/dev/null; done
