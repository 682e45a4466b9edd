#!/bin/sh
# A STAND-IN for munged, installed as /usr/local/sbin/munged in the bp-guest container only
# (the test image has no munge). start.sh starts it with the bundle's key; it records the
# key file it was given and that key's mode, and creates the socket start.sh waits for.
# The scenario's gates do not run the munge round trip (gate.munge: false); the lab's
# integration tests run it against a real munged.
set -u
out=/var/lib/hpcvm-standin/munged.started
mkdir -p "${out%/*}"
key="" socket=""
for a in "$@"; do
  case "$a" in
    --key-file=*) key=${a#--key-file=};;
    --socket=*) socket=${a#--socket=};;
  esac
done
{
  echo "argv: $*"
  stat -c 'key: %a %n' "$key" 2>&1
  echo "key-sha256: $(sha256sum < "$key" | cut -d' ' -f1)"
} > "$out"
[ -n "$socket" ] && mkdir -p "${socket%/*}" \
  && python3 -c 'import socket, sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])' "$socket"
