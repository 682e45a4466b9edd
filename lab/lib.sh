# lab/lib.sh - sourced by the lab scripts. Debian 12, root, no systemd needed.
# shellcheck shell=bash
set -euo pipefail
# Ansible runs the executables of a folder given as inventory with --list/--host:
# a lab script must never act on that (it once recursed lab/up -> lab/down).
case "${1:-}" in --list|--host) echo '{}'; exit 0;; esac
# Daemons the lab starts must not inherit a lock their caller holds (`flock FILE lab/up` passes the
# lock's fd on, and every daemon would keep the lock until lab/down): close every inherited fd but
# 0-2 and bash's own 255. `source` has read this file whole already.
for _fd in /proc/$$/fd/*; do
  _fd=${_fd##*/}
  if [ "$_fd" -gt 2 ] 2>/dev/null && [ "$_fd" -lt 255 ]; then eval "exec $_fd>&-" 2>/dev/null || true; fi
done
unset _fd
LAB_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
LAB_DIR=${HPCVM_LAB_DIR:-/tmp/hpcvm-lab}
export HPCVM_LAB_DIR=$LAB_DIR HPCVM_LAB_ROOT=$LAB_ROOT
VENV=${HPCVM_VENV:-$LAB_ROOT/.venv}
T0=${HPCVM_T0:-$(date +%s%N)}; export HPCVM_T0=$T0

log() { local ms=$(( ($(date +%s%N) - T0) / 1000000 )); printf '[lab %3d.%03ds] %s\n' $((ms / 1000)) $((ms % 1000)) "$*" >&2; }
die() { echo "lab: error: $*" >&2; exit 1; }

# wait_for TIMEOUT_S CMD...: poll CMD every 50 ms until it succeeds
wait_for() {
  local t=$1; shift; local end=$(( $(date +%s%N) + t * 1000000000 ))
  until "$@" >/dev/null 2>&1; do
    [ "$(date +%s%N)" -gt "$end" ] && return 1
    sleep 0.05
  done
}

# alive PID [COMM]: PID exists, is no zombie, and (if given) runs COMM
alive() {
  local pid=$1 comm=${2:-} s
  [ -n "$pid" ] && [ "$pid" -gt 1 ] 2>/dev/null || return 1
  s=$(ps -o stat= -p "$pid" 2>/dev/null) || return 1
  [ -n "$s" ] && [ "${s#Z}" = "$s" ] || return 1
  [ -z "$comm" ] || [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = "$comm" ]
}

pid_of() { [ -s "$1" ] && tr -dc 0-9 < "$1" || true; }

# stop_pidfile FILE COMM: SIGTERM the process named in FILE if it runs COMM, wait, SIGKILL
stop_pidfile() {
  local f=$1 comm=$2 pid
  pid=$(pid_of "$f")
  if [ -n "$pid" ] && alive "$pid" "$comm"; then
    kill "$pid" 2>/dev/null || true
    wait_for 10 bash -c "! ps -o stat= -p $pid | grep -qv '^Z'" || kill -9 "$pid" 2>/dev/null || true
    log "$comm stopped (pid $pid)"
  fi
  rm -f "$f"
}

# Load the topology that lab/playbooks/configure.yml rendered from inventories/lab.
load_env() {
  [ -s "$LAB_DIR/etc/lab.env" ] || die "$LAB_DIR/etc/lab.env missing: run 'make lab-up' first"
  # shellcheck disable=SC1091
  . "$LAB_DIR/etc/lab.env"
}

netns_exists() { [ -e "/run/netns/$1" ]; }
in_lab() { nsenter --net="/run/netns/$LAB_NS" "$@"; }

munge_socket() { echo "$LAB_DIR/run/munge-$1/munge.socket"; }
slurm_conf_of() { case "$1" in host) echo "$HOST_SLURM_CONF";; vm) echo "$VM_SLURM_CONF";; *) die "unknown cluster '$1' (host or vm)";; esac; }
