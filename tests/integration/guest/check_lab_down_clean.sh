#!/usr/bin/env bash
# tests/integration/guest/check_lab_down_clean.sh [--vmlayer-only]
#   The "lab-down leaves nothing" smoke test. It takes the lab (or its VM layer) down,
#   so `make lab-down-check` runs it last, after every other test.
#   1. boots a guest (vm-deb12-003) through hpc.slurm_vm.libvirt_guest and dhcp_host, as
#      role spawn would (tests/integration/guest/lab_guest.yml), so there is a domain, a /tmp
#      disk, a console log, a DHCP reservation and a lease to clean up; the guest fetches its
#      boot bundle from the provisioning server (lab/provision), which is stopped too;
#   2. runs lab/down (default) or lab/vmlayer down (--vmlayer-only);
#   3. checks that no domain, qemu, disk, console file or reservation is left,
#      that the VM layer's daemons are gone, and (default) that the whole lab is gone:
#      its daemons, namespaces and host route;
#   4. --vmlayer-only: runs lab/vmlayer up again and checks the domain stays gone and
#      the node is back in the pool (FUTURE).
#   Exit 0 when every check passes; each failed check prints a FAIL line. The gate report
#   the guest posts (a line in the provisioning server's log $LAB_DIR/provision/reports/HOST.log,
#   which lab/down keeps like every log) is taken out again at the end.
. "$(dirname "$0")/../../../lab/lib.sh"
load_env
mode=full; [ "${1:-}" = --vmlayer-only ] && mode=vmlayer
HOST=vm-deb12-003
export LIBVIRT_DEFAULT_URI=qemu:///system
fails=0
check() { local what=$1; shift; if "$@"; then echo "ok   $what"; else echo "FAIL $what"; fails=$((fails + 1)); fi; }
none() { [ -z "$(eval "$1" 2>/dev/null)" ]; }
gone() { [ -z "$1" ] || ! alive "$1"; }   # zombies count as gone: PID 1 here may not reap
dead() { local p; p=$(pid_of "$1"); [ -z "$p" ] || ! alive "$p"; }
netns_exists "$LAB_NS" || "$LAB_ROOT/lab/up"

# 1. a guest with everything a guest leaves around; it is up once its readiness gate passed
report="$LAB_DIR/provision/reports/$HOST.log"
report_size=$(stat -c %s "$report" 2>/dev/null || echo none)
restore_report() {   # this run's gate report out of the server's log, whatever happened
  if [ "$report_size" = none ]; then rm -f "$report"; elif [ -e "$report" ]; then truncate -s "$report_size" "$report"; fi
}
trap restore_report EXIT
boot_log=$(mktemp)
(cd "$LAB_ROOT" && "$VENV/bin/ansible-playbook" tests/integration/guest/lab_guest.yml \
  -e "{\"lab_guests\": [\"$HOST\"], \"lab_guest_wait\": \"HPCVM-GATE-PASS host=$HOST\", \"lab_guest_timeout\": 300}") \
  >"$boot_log" 2>&1 || { tail -40 "$boot_log" >&2; rm -f "$boot_log"; die "the guest did not boot: cannot check the cleanup"; }
rm -f "$boot_log"
qemu_pid=$(pid_of "/run/libvirt/qemu/$HOST.pid")
check "guest $HOST runs (qemu pid ${qemu_pid:-?})" alive "$qemu_pid"
check "its files exist before the check" test -s "$LAB_DIR/guests/$HOST.console.log" -a -e "$LAB_DIR/guests/$HOST.tmp.raw" \
  -a -e "$LAB_DIR/dnsmasq/hosts.d/hpc-slurm-vm-$HOST"
daemon_pids=("/run/libvirtd.pid" "/run/virtlogd.pid" "$LAB_DIR/run/dnsmasq.pid")
if [ $mode = full ]; then daemon_pids+=("$LAB_DIR/run/nginx.pid"); fi   # the provisioning server; lab/vmlayer keeps it
saved=(); for f in "${daemon_pids[@]}"; do saved+=("$(pid_of "$f")"); done

# 2. down
if [ $mode = full ]; then "$LAB_ROOT/lab/down"; else "$LAB_ROOT/lab/vmlayer" down; fi

# 3. nothing left
check "qemu of $HOST gone" gone "$qemu_pid"
check "no qemu process at all" none "pgrep -x qemu-system-x86"
for i in "${!daemon_pids[@]}"; do
  check "$(basename "${daemon_pids[$i]}" .pid) stopped (was pid ${saved[$i]:-?})" gone "${saved[$i]:-}"
done
check "no guest disk, console or domain XML" none "find '$LAB_DIR' \\( -name '*.tmp.raw' -o -name '*.console.log' -o -name '*.qcow2' -o -path '$LAB_DIR/guests/*' \\)"
check "no DHCP reservation or lease" none "find '$LAB_DIR/dnsmasq' -type f"
check "no libvirt run state for $HOST" test ! -e "/run/libvirt/qemu/$HOST.pid" -a ! -e "/run/libvirt/qemu/$HOST.xml"
check "no tap device of a guest in the host namespace" none "ip -o link show | grep -E ': (vnet|tap)[0-9]+'"
if [ $mode = full ]; then
  check "netns $LAB_NS gone" test ! -e "/run/netns/$LAB_NS"
  check "no lab namespaces (hpcvm-*)" none "ip netns list | grep -E '^hpcvm-'"
  check "host route for $LAB_SUBNET gone" none "ip route show type unreachable | grep '^unreachable $LAB_SUBNET'"
  for f in "$LAB_DIR"/run/*/slurmctld.pid "$LAB_DIR"/run/munge-*/munged.pid "$LAB_DIR/run/named.pid"; do
    check "no process from $f" dead "$f"
  done
  check "libvirt's persistent config holds no lab domain" none "ls /etc/libvirt/qemu/*.xml"
  check "no watcher left" none "pgrep -f -- '--vm-slurm-conf $VM_SLURM_CONF'"
  check "no watch.pid" test ! -e "$LAB_DIR/run/watch.pid"
  check "no sshd of a stand-in, no ssh master connection of the lab" none \
    "pgrep -f '^(sshd: )?/usr/sbin/sshd -f $LAB_DIR/|^ssh: $LAB_DIR/ssh/cp/'"
else
  # 4. up again: the domain must not come back, the node is back in the pool
  "$LAB_ROOT/lab/vmlayer" up
  check "no domain $HOST after vmlayer up" none "virsh -q list --all --name | grep -x '$HOST'"
  check "no domain at all after vmlayer up" none "virsh -q list --all --name"
  check "still no guest file after vmlayer up" none "find '$LAB_DIR' \\( -name '*.tmp.raw' -o -name '*.console.log' -o -path '$LAB_DIR/guests/*' \\)"
  check "node $HOST back to FUTURE" bash -c "SLURM_CONF=$VM_SLURM_CONF nsenter --net=/run/netns/$LAB_NS scontrol -F -o show node $HOST | grep -q ' State=FUTURE '"
fi
if [ $fails = 0 ]; then echo "check_lab_down_clean ($mode): all checks passed"; else echo "check_lab_down_clean ($mode): $fails check(s) FAILED"; exit 1; fi
