# Copyright: hpc.slurm_vm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Role boot_provision as ansible-playbook runs it: idempotent, check mode changes
nothing, the host cluster's munge key is refused, and push mode selects by filename."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import re
import tarfile

from .helpers import REPO, sh

PLAYBOOKS = os.path.join(os.path.dirname(__file__), "playbooks")


def playbook(name, extra, *args):
    path = os.path.join(extra["_scratch"], "vars-%s.json" % name)
    with open(path, "w") as handle:
        json.dump({k: v for k, v in extra.items() if not k.startswith("_")}, handle)
    proc = sh([os.path.join(REPO, ".venv", "bin", "ansible-playbook"), os.path.join(PLAYBOOKS, name + ".yml"),
               "-e", "@" + path] + list(args), check=False, cwd=REPO, timeout=300)
    recap = re.search(r"localhost\s+:\s+ok=(\d+)\s+changed=(\d+)\s+unreachable=\d+\s+failed=(\d+)", proc.stdout)
    return proc, (dict(ok=int(recap.group(1)), changed=int(recap.group(2)), failed=int(recap.group(3)))
                  if recap else None)


def pull_vars(lab, root, **extra):
    values = dict(
        _scratch=root,
        boot_provision_root=root + "/boot",
        boot_provision_hosts=["vm-disk-003", "vm-disk-004"],
        boot_provision_slurm_conf_src=lab.conf["vm"],
        boot_provision_munge_key_src=lab.dir + "/secrets/munge-vm.key",
        boot_provision_forbidden_munge_keys=[lab.dir + "/secrets/munge-host.key"],
        boot_provision_token_secret="t" * 24,
        boot_provision_site_dir=REPO + "/lab/provision-site",
        boot_provision_site_aliases_file=REPO + "/lab/provision-site/aliases",
        boot_provision_owner="root", boot_provision_group="root", boot_provision_nginx_user="",
        boot_provision_image_settings={"disk": {"gate": {"commands": {"gpu": "nvidia-smi -L"}}}},
    )
    values.update(extra)
    return values


def test_pull_is_idempotent_and_check_mode_changes_nothing(lab):
    root = lab.scratch("bp-role")
    proc, recap = playbook("pull", pull_vars(lab, root))
    assert recap and recap["failed"] == 0 and recap["changed"] > 0, proc.stdout[-3000:]
    assert sorted(os.listdir(root + "/boot/vm")) == ["vm-disk-003", "vm-disk-004"]
    with tarfile.open(root + "/boot/vm/vm-disk-004/bundle.tar.gz") as tar:
        assert tar.extractfile("./checks/gpu").read().decode() == "nvidia-smi -L\n"
    proc, recap = playbook("pull", pull_vars(lab, root))
    assert recap == dict(recap, failed=0, changed=0), proc.stdout[-3000:]
    # a changed VM list: check mode predicts a change and touches nothing
    before = os.listdir(root + "/boot/vm")
    proc, recap = playbook("pull", pull_vars(lab, root, boot_provision_hosts=["vm-disk-004"]), "--check", "--diff")
    assert recap and recap["failed"] == 0 and recap["changed"] > 0, proc.stdout[-3000:]
    assert os.listdir(root + "/boot/vm") == before
    proc, recap = playbook("pull", pull_vars(lab, root, boot_provision_hosts=["vm-disk-004"]))
    assert recap and recap["failed"] == 0 and recap["changed"] > 0, proc.stdout[-3000:]
    assert os.listdir(root + "/boot/vm") == ["vm-disk-004"]


def test_the_host_clusters_munge_key_is_refused(lab):
    root = lab.scratch("bp-role")
    host_key = lab.dir + "/secrets/munge-host.key"
    copy = root + "/copy-of-host.key"
    with open(host_key, "rb") as src, open(copy, "wb") as dst:
        dst.write(src.read())
    for key in (host_key, copy):   # by path, and by content under another name
        proc, recap = playbook("pull", pull_vars(lab, root, boot_provision_munge_key_src=key))
        assert recap and recap["failed"] == 1, proc.stdout[-2000:]
        assert "NEVER the host cluster" in proc.stdout
        assert not os.path.exists(root + "/boot/stage/common/etc/munge.key")


def test_push_mode_selects_by_filename(lab):
    root = lab.scratch("bp-push")
    site = root + "/site"
    os.makedirs(site)
    files = {"slurm.local.conf.20.n_GPU_NODES": "gpu\n", "slurm.local.conf.10.n_ALL": "all\n",
             "slurm.local.conf.remain": "remain\n", "gres.conf.5.n_GPU_NODES": "Name=gpu Count=4\n",
             "prolog.remain": "#!/bin/sh\n"}
    for name, content in files.items():
        with open(os.path.join(site, name), "w") as handle:
            handle.write(content)
    aliases = "GPU_NODES=taurusi[2045-2108]\nALL=taurusi[1001-9999]\n"
    for host, local, gres in (("taurusi2050", "gpu\n", True), ("taurusi1005", "all\n", False)):
        dest = os.path.join(root, host)
        os.makedirs(dest)
        if not gres:   # a stale gres.conf is removed when nothing is selected for it
            with open(os.path.join(dest, "gres.conf"), "w") as handle:
                handle.write("stale\n")
        extra = dict(_scratch=root, boot_provision_site_dir=site, boot_provision_site_aliases=aliases,
                     boot_provision_push_hostname=host, boot_provision_push_dest=dest,
                     boot_provision_push_remove_unselected=True)
        proc, recap = playbook("push", extra)
        assert recap and recap["failed"] == 0, proc.stdout[-3000:]
        with open(os.path.join(dest, "slurm.local.conf")) as handle:
            assert handle.read() == local
        assert os.path.exists(os.path.join(dest, "gres.conf")) == gres
        assert oct(os.stat(os.path.join(dest, "prolog")).st_mode & 0o777) == "0o755"
        proc, recap = playbook("push", extra)
        assert recap and recap["changed"] == 0, proc.stdout[-3000:]
