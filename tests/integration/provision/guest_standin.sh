#!/usr/bin/env bash
# guest_standin.sh NS HOST IP URL TMP_SIZE WORKDIR
#   A guest without a VM, for the boot_provision tests: network namespace NS on the
#   lab bridge with address IP, then UTS, mount and PID namespaces of its own. Like a
#   guest's init it gets a fresh /tmp ("its disk", a tmpfs of TMP_SIZE) and /run,
#   fetches its bundle from URL, unpacks it and runs start.sh as PID 1. The console is
#   WORKDIR/console.log. Stop it with SIGKILL to this process (unshare --kill-child).
set -euo pipefail
ns=$1 host=$2 ip=$3 url=$4 tmpsize=$5 work=$6
lab_ns=${LAB_NS:-hpcvm-lab} bridge=${LAB_BRIDGE:-br-hpcvm} lab_dir=${HPCVM_LAB_DIR:-/tmp/hpcvm-lab}
veth="vbp$(printf %s "$ns" | md5sum | cut -c1-10)"
[ -e "/run/netns/$ns" ] || ip netns add "$ns"
if ! nsenter --net="/run/netns/$lab_ns" ip link show "$veth" >/dev/null 2>&1; then
  nsenter --net="/run/netns/$lab_ns" ip link add "$veth" type veth peer name eth0 netns "$ns"
fi
nsenter --net="/run/netns/$lab_ns" ip link set "$veth" master "$bridge" up
ip -n "$ns" link set lo up
ip -n "$ns" addr replace "$ip/16" dev eth0
ip -n "$ns" link set eth0 up
cp "$lab_dir/etc/hosts" "$work/hosts"
: > "$work/console.log"
exec nsenter --net="/run/netns/$ns" unshare --kill-child --uts --mount --pid --fork --mount-proc bash -c '
  set -e
  token=$(cat "$2/token")   # read before /tmp is replaced
  hostname "$1"
  mount --bind "$2/hosts" /etc/hosts
  [ -e /dev/ttyS0 ] && mount --bind "$2/console.log" /dev/ttyS0
  mount -t tmpfs -o "size=$3" tmpdisk /tmp
  mount -t tmpfs -o mode=755 run /run
  mkdir -p /tmp/boot
  curl -fsS -m 10 -H "X-HPCVM-Token: $token" -o /tmp/boot.tgz "$4"
  tar -xzf /tmp/boot.tgz -C /tmp/boot
  exec sh /tmp/boot/start.sh
' guest "$host" "$work" "$tmpsize" "$url"
