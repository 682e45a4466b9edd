#!/bin/sh
# boot-guest.sh BUNDLES_TAR HOST [scratch] [drain] - boot the bp-guest container as HOST, like
# a guest's init would (see tests/integration/provision/guest_standin.sh): forget the previous
# boot, mount a fresh tmpfs on /tmp (the guest's own disk; the gate checks it), unpack HOST's
# bundle (from the tar of every bundle verify.yml fetched) into /tmp/boot and run its start.sh,
# which installs the bundle, starts munged and runs the readiness gate; the gate execs slurmd
# only when every check passes. slurmd and munged are stand-ins (files/*-standin.sh).
#   scratch  mount a tmpfs on /scratch for this boot (a gate may require that mount)
#   drain    set /etc/hpcvm-drain for this boot (the alpha image's custom check refuses it)
# Prints start.sh's output (the gate's verdict and reason), "rc=N", then what the stand-ins
# recorded, the console, and the modes of the files start.sh installed outside the bundle.
set -u
tar=$1 host=$2; shift 2
scratch=0 drain=0
for o in "$@"; do case "$o" in scratch) scratch=1;; drain) drain=1;; *) echo "bad option $o" >&2; exit 2;; esac; done
rm -rf /run/hpc-slurm-vm /var/lib/hpcvm-standin /run/munge-vm /etc/hpcvm-site.env /var/spool/slurmd-* /etc/hpcvm-drain
: > /var/log/hpcvm-console.log   # the image's console (image setting console)
mount -t tmpfs -o size=128m,mode=1777 tmpdisk /tmp || { echo "rc=98"; exit 0; }
mkdir -p /tmp/boot
if ! tar -xOf "$tar" "vm/$host/bundle.tar.gz" | tar -xz -C /tmp/boot; then umount /tmp; echo "rc=99"; exit 0; fi
[ $scratch = 0 ] || { mkdir -p /scratch && mount -t tmpfs -o size=16m scratch /scratch; }
[ $drain = 0 ] || echo "drained by molecule" > /etc/hpcvm-drain
sh /tmp/boot/start.sh 2>&1
rc=$?
[ $scratch = 0 ] || umount /scratch
rm -f /etc/hpcvm-drain
umount /tmp
echo "rc=$rc"
for f in /var/lib/hpcvm-standin/slurmd.started /var/lib/hpcvm-standin/munged.started; do
  if [ -f "$f" ]; then sed "s|^|${f##*/}: |" "$f"; else echo "${f##*/}: none"; fi
done
sed 's|^|console: |' /var/log/hpcvm-console.log
stat -c 'installed: %a %F %n' /etc/hpcvm-site.env /var/spool/slurmd-"$host" 2>&1
