#!/usr/bin/env bash
# stage-slurm-binaries.sh PLAN OUT - pack the Slurm and munge binaries for images without
# them (role boot_provision, per-image setting slurm_binaries) into OUT (a .tar.gz).
#
# PLAN (tab-separated, rendered from the slurm_payload_plan filter):
#   file  SRC   DEST      copy SRC (symlinks followed) to DEST, relative to the prefix
#   link  DEST  TARGET    symbolic link DEST -> TARGET
#   env   KEY   VALUE     a line KEY='VALUE' in slurm-vm.env (paths relative to the prefix)
# The tarball is reproducible (sorted names, mtime 0, owner root, gzip -n) and OUT is
# replaced only when its content changed; then the script prints "changed OUT".
set -euo pipefail
plan=$1 out=$2
work=$(mktemp -d "$(dirname "$out")/.slurm-binaries.XXXXXX")
trap 'rm -rf "$work"' EXIT
t="$work/tree"; mkdir -p "$t"
: > "$t/slurm-vm.env"
while IFS=$'\t' read -r kind a b; do
  case "$kind" in
    file) mkdir -p "$t/$(dirname "$b")"; cp -L --preserve=mode "$a" "$t/$b";;
    link) mkdir -p "$t/$(dirname "$a")"; ln -sfn "$b" "$t/$a";;
    env) printf "%s='%s'\n" "$a" "$b" >> "$t/slurm-vm.env";;
    ''|'#'*) ;;
    *) echo "stage-slurm-binaries: bad plan line: $kind" >&2; exit 2;;
  esac
done < "$plan"
chmod -R u+w,go-w "$t"
tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner -C "$t" -cf - . | gzip -n -6 > "$work/out.tgz"
if ! cmp -s "$work/out.tgz" "$out"; then
  chmod 0644 "$work/out.tgz"
  mv -f "$work/out.tgz" "$out"
  echo "changed $out"
fi
