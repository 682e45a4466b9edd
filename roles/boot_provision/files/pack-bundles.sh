#!/usr/bin/env bash
# pack-bundles.sh ROOT MANIFEST GROUP - build every VM's boot bundle (role boot_provision).
#
# ROOT/stage/common and ROOT/stage/image-<IMAGE> hold the parts the role rendered.
# MANIFEST (tab-separated, written by the role) lists the VMs and their site files:
#   vm    HOST IMAGE TOKEN REPORT_URL
#   file  HOST SRC  DEST  MODE      (DEST relative: into etc/; absolute: installed by start.sh)
# Each bundle becomes ROOT/vm/HOST/bundle.tar.gz (mode 0640, group GROUP), rebuilt
# reproducibly and replaced only when its content changed. Bundles of VMs no longer
# listed are removed. Prints one line per change: "changed HOST" or "removed HOST".
set -euo pipefail
root=$1 manifest=$2 group=$3
work=$(mktemp -d "$root/.pack.XXXXXX")
trap 'rm -rf "$work"' EXIT
declare -A image token url
hosts=()
while IFS=$'\t' read -r kind host a b c; do
  case "$kind" in
    vm) image[$host]=$a; token[$host]=$b; url[$host]=$c; hosts+=("$host");;
    file)
      t="$work/$host"; mkdir -p "$t/etc" "$t/site"
      if [ "${b#/}" != "$b" ]; then
        cp "$a" "$t/site/$(basename "$a")"
        printf '%s %s %s\n' "$(basename "$a")" "$b" "$c" >> "$t/site.list"
      else
        install -m "$c" "$a" "$t/etc/$b"
      fi;;
    ''|'#'*) ;;
    *) echo "pack-bundles: bad manifest line: $kind" >&2; exit 2;;
  esac
done < "$manifest"
for host in "${hosts[@]}"; do
  t="$work/$host"; mkdir -p "$t"
  cp -a "$root/stage/common/." "$t/"
  cp -a "$root/stage/image-${image[$host]}/." "$t/"
  umask 077
  printf "BUNDLE_HOST='%s'\nBUNDLE_IMAGE='%s'\nBUNDLE_TOKEN='%s'\nBUNDLE_REPORT_URL='%s'\n" \
    "$host" "${image[$host]}" "${token[$host]}" "${url[$host]}" > "$t/bundle.env"
  umask 022
  out="$root/vm/$host/bundle.tar.gz"; mkdir -p "$root/vm/$host"
  tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner -C "$t" -cf - . | gzip -n -6 > "$work/$host.tgz"
  if ! cmp -s "$work/$host.tgz" "$out"; then
    chgrp "$group" "$work/$host.tgz"; chmod 0640 "$work/$host.tgz"
    mv -f "$work/$host.tgz" "$out"
    echo "changed $host"
  fi
done
for d in "$root"/vm/*/; do
  [ -d "$d" ] || continue
  h=$(basename "$d")
  if [ -z "${image[$h]+x}" ]; then rm -rf "$d"; echo "removed $h"; fi
done
