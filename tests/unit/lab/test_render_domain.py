# Copyright: hpc.slurm_vm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""lab/guest/render_domain.py: the lab guest's domain XML from the image table."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import importlib.util
import os
import xml.etree.ElementTree as ET  # noqa: S405 - parses XML this test wrote itself

import pytest

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
SPEC = importlib.util.spec_from_file_location("render_domain", os.path.join(REPO, "lab", "guest", "render_domain.py"))
render_domain = importlib.util.module_from_spec(SPEC)
SPEC.loader.exec_module(render_domain)

IMAGES = os.path.join(REPO, "inventories", "lab", "group_vars", "all", "images.yml")
TEMPLATE = os.path.join(REPO, "lab", "guest", "domain.xml.in")


def _argv(tmp_path, host="vm-deb12-003", **extra):
    args = {"images": IMAGES, "host": host, "template": TEMPLATE, "out": str(tmp_path / "d.xml"),
            "kernel": "/cache/vmlinux", "initrd": "/cache/initrd.gz",
            "fetch-url": "http://10.77.0.1:8080/boot/abc123.tar.gz", "tmpdisk": "/lab/guests/x.tmp.raw",
            "console": "/lab/guests/x.console.log", "jobs-dir": "/lab/jobs", "created": "2026-01-01T00:00:00Z"}
    args.update(extra)
    argv = []
    for key, value in args.items():
        argv += ["--" + key, value]
    return argv + ["--mount", "jobs:/lab/jobs"]


def test_values_come_from_the_image_table(tmp_path, capsys):
    assert render_domain.main(_argv(tmp_path)) == 0
    assert capsys.readouterr().out.split() == ["52:54:00:77:01:03", "10.77.1.3", "deb12", "br-hpcvm"]
    root = ET.parse(str(tmp_path / "d.xml")).getroot()  # noqa: S314
    assert root.get("type") == "qemu"
    assert root.findtext("name") == "vm-deb12-003"
    assert root.findtext("memory") == "512" and root.findtext("vcpu") == "1"
    assert root.find("devices/interface/mac").get("address") == "52:54:00:77:01:03"
    assert root.find("devices/interface/source").get("bridge") == "br-hpcvm"
    assert root.findtext("devices/disk/serial") == "hpcvm-tmp"
    cmdline = root.findtext("os/cmdline").split()
    assert "vm.hostname=vm-deb12-003" in cmdline
    assert "vm.fetch=http://10.77.0.1:8080/boot/abc123.tar.gz" in cmdline
    assert "vm.mount=jobs:/lab/jobs" in cmdline
    assert root.find("metadata/{urn:hpc.slurm_vm:1}vm/{urn:hpc.slurm_vm:1}image").text == "deb12"
    shares = {fs.find("target").get("dir"): fs for fs in root.findall("devices/filesystem")}
    assert shares["hostroot"].find("readonly") is not None and shares["hostroot"].get("multidevs") == "remap"
    assert shares["jobs"].find("readonly") is None


def test_paths_are_xml_escaped(tmp_path, capsys):
    assert render_domain.main(_argv(tmp_path, console="/lab/a'b&<c>.log")) == 0
    root = ET.parse(str(tmp_path / "d.xml")).getroot()  # noqa: S314
    assert root.find("devices/serial/source").get("path") == "/lab/a'b&<c>.log"


@pytest.mark.parametrize("host, why", [
    ("vm-deb12-099", "is in no image's pool"),
    ("hv01", "is in no image's pool"),
])
def test_a_host_outside_the_pools_is_refused(tmp_path, capsys, host, why):
    assert render_domain.main(_argv(tmp_path, host=host)) == 2
    assert why in capsys.readouterr().err
    assert not (tmp_path / "d.xml").exists()


def test_a_fetch_url_cannot_smuggle_kernel_parameters(tmp_path, capsys):
    assert render_domain.main(_argv(tmp_path, **{"fetch-url": "http://x/a init=/bin/sh"})) == 2
    assert "unsafe kernel command-line word" in capsys.readouterr().err
