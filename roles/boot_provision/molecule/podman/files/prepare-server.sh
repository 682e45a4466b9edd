#!/bin/sh
# prepare-server.sh SLURM_CONF VM_KEY HOST_KEY SITE_DIR - the provisioning server's inputs,
# from this folder (mounted read-only at /srv/molecule): the VM cluster's slurm.conf and
# the pool fragment it includes, the site-local files and their aliases, and two random,
# distinct munge keys (the VM cluster's, and a host cluster key the role must refuse).
set -eu
slurm_conf=$1 vm_key=$2 host_key=$3 site=$4
here=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$(dirname "$slurm_conf")" "$(dirname "$vm_key")" "$(dirname "$host_key")" "$site"
install -m 0644 "$here/server/slurm.conf" "$slurm_conf"
install -m 0644 "$here/server/pools.conf" "$(dirname "$slurm_conf")/pools.conf"
install -m 0644 "$here"/site/* "$site/"
for k in "$host_key" "$vm_key"; do   # the VM key last: prepare.yml's `creates`
  (umask 077 && head -c 1024 /dev/urandom > "$k.new") && chmod 0400 "$k.new" && mv "$k.new" "$k"
done
