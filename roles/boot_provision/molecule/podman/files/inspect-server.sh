#!/bin/sh
# inspect-server.sh ROOT VM_KEY HOST_KEY - what verify.yml checks on the provisioning server,
# in one command (each remote task costs seconds over the podman connection):
#   stat:    MODE GROUP PATH of the rendered files
#   key:     SHA256 PATH of the staged, the VM cluster's and the host cluster's munge keys
#   bundle:  MODE GROUP PATH of every served bundle
#   HOST:    tar -tv lines of HOST's bundle
#   local HOST: the first line of HOST's slurm.local.conf (names the site file chosen)
# and packs all bundles into /tmp/bp-bundles.tar for the guest stand-in.
set -eu
root=$1 vm_key=$2 host_key=$3
cd "$root"
for p in stage/common/etc/munge.key stage/common/start.sh stage/common/readiness-gate.sh \
         stage/common/etc/slurm.conf stage/common/etc/pools.conf stage/manifest.tsv vm reports; do
  stat -c 'stat: %a %G %n' "$p"
done
for k in stage/common/etc/munge.key "$vm_key" "$host_key"; do
  echo "key: $(sha256sum < "$k" | cut -d' ' -f1) $k"
done
find vm -type f -printf 'bundle: %m %g %p\n' | sort
for b in vm/*/bundle.tar.gz; do
  h=${b#vm/}; h=${h%/bundle.tar.gz}
  tar -tvzf "$b" | sed "s|^|$h: |"
  echo "local $h: $(tar -xzOf "$b" ./etc/slurm.local.conf | head -1)"
done
tar -cf /tmp/bp-bundles.tar vm
