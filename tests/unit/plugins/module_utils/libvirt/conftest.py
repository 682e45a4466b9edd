# Copyright: hpc.slurm_vm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Shared fixtures of the libvirt unit tests: image files and module parameters of a typical guest."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest


@pytest.fixture
def images(tmp_path):
    root = tmp_path / "images"
    root.mkdir()
    for name in ("base.qcow2", "vmlinux", "initrd.gz"):
        (root / name).write_bytes(b"x")
    return root


@pytest.fixture
def spec_params(images):
    """params(**extra): libvirt_guest parameters of a lab guest booting images/vmlinux, with extra on top."""
    def params(**extra):
        base = dict(name="vm-deb12-005", state_dir="/tmp/hpcvm-lab/vms", virt_type="qemu", memory=256, vcpus=1,
                    mac="52:54:00:77:01:05", bridge="br-hpcvm", image_dir=str(images), kernel=str(images / "vmlinux"),
                    initrd=str(images / "initrd.gz"), cmdline="console=ttyS0 vm.hostname=vm-deb12-005",
                    filesystems=[dict(source="/", target="hostroot", readonly=True)],
                    tmp_disk=dict(size="512M", serial="hpcvm-tmp"), metadata=dict(image="deb12", hostjob="42"))
        base.update(extra)
        return base
    return params
