#!/bin/sh
# readiness-gate.sh - the in-guest readiness gate of hpc.slurm_vm (role boot_provision).
#
#   readiness-gate.sh CONFIG [-- COMMAND [ARG...]]
#
# Runs the checks configured in CONFIG (a shell fragment rendered per image) and,
# when all pass, execs COMMAND (slurmd), so the node registers only when it is
# ready. When a check fails, its reason goes to the console and to the
# provisioning server (POST GATE_REPORT_URL with the VM's token), and the gate
# exits 1 without running COMMAND. Exit 2: bad usage or configuration.
# POSIX sh: runs under busybox (initramfs guests) as well as dash and bash.
#
# CONFIG may set (defaults in brackets):
#   GATE_MOUNTS            mount points that must be mounted                   [/tmp]
#   GATE_TMP_DIR           folder that must be writable                        [/tmp]
#   GATE_TMP_MIN_FREE_MB   free space it needs, in MiB                         [64]
#   GATE_MUNGE_SOCKET      munged socket for an encode/decode round trip ("" skips)
#   GATE_CLOCK_MIN_EPOCH   the clock must not be before this (seconds)         [0]
#   GATE_CLOCK_MAX_EPOCH   ... nor after this ("" or 0: no upper bound)
#   GATE_CHECKS_DIR        folder of custom checks, each run with sh; rc 0 passes
#   GATE_CHECK_TIMEOUT     seconds per custom check                            [30]
#   GATE_HOSTNAME          the hostname the guest must have ("" skips)
#   GATE_ATTEMPTS          rounds of checks before giving up                   [3]
#   GATE_RETRY_DELAY       seconds between rounds                              [2]
#   GATE_CONSOLE           a console device to echo messages to (e.g. /dev/ttyS0)
#   GATE_REPORT_URL        where reports are POSTed ("" disables reporting)
#   GATE_TOKEN             the VM's token, sent as header X-HPCVM-Token
#   GATE_IMAGE             the image name, for the report
# Any of them may also come from the environment (CONFIG overrides).
set -u
[ $# -ge 1 ] || { echo "usage: $0 CONFIG [-- COMMAND [ARG...]]" >&2; exit 2; }
CONFIG=$1; shift
[ -r "$CONFIG" ] || { echo "readiness-gate: cannot read $CONFIG" >&2; exit 2; }
if [ $# -gt 0 ]; then
  [ "$1" = "--" ] || { echo "usage: $0 CONFIG [-- COMMAND [ARG...]]" >&2; exit 2; }
  shift
fi
# shellcheck disable=SC1090
. "$CONFIG" || { echo "readiness-gate: $CONFIG does not parse" >&2; exit 2; }
: "${GATE_MOUNTS=/tmp}" "${GATE_TMP_DIR=/tmp}" "${GATE_TMP_MIN_FREE_MB:=64}" "${GATE_MUNGE_SOCKET=}"
: "${GATE_CLOCK_MIN_EPOCH:=0}" "${GATE_CLOCK_MAX_EPOCH:=0}" "${GATE_CHECKS_DIR=}" "${GATE_CHECK_TIMEOUT:=30}"
: "${GATE_HOSTNAME=}" "${GATE_ATTEMPTS:=3}" "${GATE_RETRY_DELAY:=2}" "${GATE_CONSOLE=}"
: "${GATE_REPORT_URL=}" "${GATE_TOKEN=}" "${GATE_IMAGE=}"
# Under TCG every process the gate starts costs tens of milliseconds on the VM's boot path: builtins
# (read, case) do what they can, and the munge round trip, the slowest check, runs beside the others.
HOST=""; read -r HOST < /proc/sys/kernel/hostname 2>/dev/null || HOST=$(hostname 2>/dev/null)

say() {
  echo "$*" >&2
  if [ -n "$GATE_CONSOLE" ] && [ -w "$GATE_CONSOLE" ]; then echo "$*" >> "$GATE_CONSOLE" 2>/dev/null || true; fi
}

json_escape() { printf '%s' "$1" | tr '\n\r\t' '   ' | sed 's/\\/\\\\/g; s/"/\\"/g'; }

report() {  # report STATUS CHECK REASON: best effort, bounded in time
  [ -n "$GATE_REPORT_URL" ] || return 0
  body=$(printf '{"status":"%s","host":"%s","image":"%s","check":"%s","reason":"%s","time":%s,"attempt":%s}' \
    "$1" "$(json_escape "$HOST")" "$(json_escape "$GATE_IMAGE")" "$2" "$(json_escape "$3")" "$(date +%s)" "$attempt")
  if command -v curl >/dev/null 2>&1; then
    curl -fsS -o /dev/null -m 5 -X POST -H "X-HPCVM-Token: $GATE_TOKEN" -H 'Content-Type: application/json' \
      --data-binary "$body" "$GATE_REPORT_URL" 2>/dev/null
  elif command -v wget >/dev/null 2>&1; then
    # busybox wget -T segfaults (1.35): bound it with timeout instead
    timeout 10 wget -q -O /dev/null --header "X-HPCVM-Token: $GATE_TOKEN" \
      --header 'Content-Type: application/json' --post-data "$body" "$GATE_REPORT_URL" 2>/dev/null
  else
    false
  fi || say "HPCVM-GATE-WARN host=$HOST could not send the report to $GATE_REPORT_URL"
}

is_mounted() {
  while read -r _dev mnt _rest; do [ "$mnt" = "$1" ] && return 0; done < /proc/mounts
  return 1
}

# each check_* sets REASON and returns nonzero on failure
check_hostname() {
  [ -z "$GATE_HOSTNAME" ] || [ "$HOST" = "$GATE_HOSTNAME" ] && return 0
  REASON="hostname is '$HOST', expected '$GATE_HOSTNAME'"; return 1
}
check_mounts() {
  for m in $GATE_MOUNTS; do
    is_mounted "$m" || { REASON="$m is not mounted"; return 1; }
  done
}
check_tmp() {
  [ -n "$GATE_TMP_DIR" ] || return 0
  [ -d "$GATE_TMP_DIR" ] || { REASON="$GATE_TMP_DIR does not exist"; return 1; }
  # test -w asks access(2), which also refuses a read-only mount (EROFS): no file to create and remove
  [ -w "$GATE_TMP_DIR" ] || { REASON="$GATE_TMP_DIR is not writable"; return 1; }
  free_kb=$(df -Pk "$GATE_TMP_DIR" 2>/dev/null | { read -r _h; read -r _fs _size _used avail _rest; echo "${avail:-}"; })
  case "$free_kb" in ''|*[!0-9]*) REASON="cannot read the free space of $GATE_TMP_DIR"; return 1;; esac
  need_kb=$((GATE_TMP_MIN_FREE_MB * 1024))
  [ "$free_kb" -ge "$need_kb" ] && return 0
  REASON="$GATE_TMP_DIR has $((free_kb / 1024)) MiB free, needs $GATE_TMP_MIN_FREE_MB MiB"; return 1
}
check_munge() {
  [ -n "$GATE_MUNGE_SOCKET" ] || return 0
  command -v munge >/dev/null 2>&1 && command -v unmunge >/dev/null 2>&1 \
    || { REASON="munge/unmunge not installed"; return 1; }
  out=$(munge -n -S "$GATE_MUNGE_SOCKET" 2>&1 | unmunge -S "$GATE_MUNGE_SOCKET" 2>&1) \
    || { REASON="munge encode/decode via $GATE_MUNGE_SOCKET failed: $(printf '%s' "$out" | tail -1)"; return 1; }
}
check_clock() {
  now=$(date +%s)
  if [ "$now" -lt "$GATE_CLOCK_MIN_EPOCH" ]; then
    REASON="clock not sane: now=$now is before $GATE_CLOCK_MIN_EPOCH"; return 1
  fi
  if [ "$GATE_CLOCK_MAX_EPOCH" -gt 0 ] && [ "$now" -gt "$GATE_CLOCK_MAX_EPOCH" ]; then
    REASON="clock not sane: now=$now is after $GATE_CLOCK_MAX_EPOCH"; return 1
  fi
}
check_custom() {
  [ -n "$GATE_CHECKS_DIR" ] && [ -d "$GATE_CHECKS_DIR" ] || return 0
  for c in "$GATE_CHECKS_DIR"/*; do
    [ -f "$c" ] || continue
    CHECK="custom:${c##*/}"
    if command -v timeout >/dev/null 2>&1; then
      out=$(timeout "$GATE_CHECK_TIMEOUT" sh "$c" 2>&1); rc=$?
    else
      out=$(sh "$c" 2>&1); rc=$?
    fi
    [ $rc -eq 0 ] && continue
    last=$(printf '%s\n' "$out" | awk 'NF {l=$0} END {print l}')
    REASON="rc $rc${last:+: $last}"; return 1
  done
  CHECK=custom
}

# run_checks: every check, in this order for the verdict: the first that fails is the one reported.
# The munge round trip starts first in the background and the others run meanwhile; it is always
# waited for, so no check outlives the round. When it failed, it runs once more in the foreground
# for its reason (a failing gate is not the path that needs to be fast).
run_checks() {
  ( check_munge ) >/dev/null 2>&1 &
  munge_pid=$!
  for CHECK in hostname mounts tmp; do
    REASON=""
    "check_$CHECK" || { wait "$munge_pid"; return 1; }
  done
  if ! wait "$munge_pid"; then
    CHECK=munge; REASON=""
    check_munge || return 1
  fi
  for CHECK in clock custom; do
    REASON=""
    "check_$CHECK" || return 1
  done
}

attempt=1
while :; do
  if run_checks; then
    say "HPCVM-GATE-PASS host=$HOST image=$GATE_IMAGE attempt=$attempt"
    report pass all "all checks passed" &   # slurmd starts now; the report is bounded and goes on beside it
    break
  fi
  say "HPCVM-GATE-FAIL host=$HOST image=$GATE_IMAGE check=$CHECK attempt=$attempt/$GATE_ATTEMPTS reason=$REASON"
  if [ "$attempt" -ge "$GATE_ATTEMPTS" ]; then
    report fail "$CHECK" "$REASON"
    exit 1
  fi
  attempt=$((attempt + 1))
  sleep "$GATE_RETRY_DELAY"
done
[ $# -gt 0 ] || exit 0
exec "$@"
