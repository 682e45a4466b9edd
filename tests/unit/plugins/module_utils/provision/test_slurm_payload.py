# Copyright: hpc.slurm_vm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The Slurm payload plan of images without Slurm, from real dpkg-query -L and ldd outputs
captured on the lab host (Debian 12, slurm-wlm 22.05.8, munge 0.5.15)."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

import pytest

from ansible_collections.hpc.slurm_vm.plugins.filter import slurm_payload as payload_filter
from ansible_collections.hpc.slurm_vm.plugins.module_utils.provision import slurm_payload as sp

FIXTURES = os.path.join(os.path.dirname(__file__), "fixtures")


def fixture(name):
    with open(os.path.join(FIXTURES, name)) as handle:
        return handle.read()


@pytest.fixture(scope="module")
def real():
    files = sp.payload_files(sp.package_paths(fixture("dpkg-query-L.txt")))
    return files, sp.parse_ldd(fixture("ldd.txt"), files)


def test_package_files_keep_binaries_libraries_and_plugins_only(real):
    files, _ldd = real
    assert "/usr/sbin/slurmd-wlm" in files and "/usr/sbin/munged" in files and "/usr/bin/unmunge" in files
    assert "/usr/lib/x86_64-linux-gnu/slurm-wlm/libslurmfull.so" in files
    assert "/usr/lib/x86_64-linux-gnu/slurm-wlm/select_cons_tres.so" in files
    # folders, docs, /etc, unit files and /var stay out
    assert "/usr/lib/x86_64-linux-gnu/slurm-wlm" not in files and "/usr/sbin" not in files
    assert not [f for f in files if f.startswith(("/usr/share/", "/etc/", "/lib/systemd/", "/var/"))]
    assert files == sorted(files)


def test_plan_of_the_real_packages(real):
    files, ldd = real
    plan = sp.plan(files, ldd)
    libs = sorted(e["dest"] for e in plan["files"] if e["dest"].startswith("lib/"))
    # what a minimal Debian 12 lacks, and nothing of the C library
    assert libs == ["lib/libdbus-1.so.3", "lib/libhwloc.so.15", "lib/libjson-c.so.5", "lib/liblua5.1.so.0",
                    "lib/libnuma.so.1", "lib/libyaml-0.so.2"]
    assert "libc.so.6" in plan["skipped"] and "libudev.so.1" in plan["skipped"]
    # libmunge and libslurmfull are package files already: not copied twice
    assert not [e for e in plan["files"] if e["dest"] in ("lib/libmunge.so.2", "lib/libslurmfull.so")]
    assert plan["links"] == [{"dest": "usr/sbin/slurmd", "target": "slurmd-wlm"},
                             {"dest": "usr/sbin/slurmstepd", "target": "slurmstepd-wlm"}]
    assert plan["stepd"] == "usr/sbin/slurmstepd"
    assert plan["plugin_dir"] == "usr/lib/x86_64-linux-gnu/slurm-wlm"
    assert plan["library_path"] == ["lib", "usr/lib/x86_64-linux-gnu", "usr/lib/x86_64-linux-gnu/slurm-wlm"]
    assert plan["missing"] == []
    # deterministic: the same inputs in another order give the same text
    again = sp.plan(list(reversed(files)), dict(reversed(list(ldd.items()))))
    assert sp.plan_text(again) == sp.plan_text(plan)


def test_an_empty_skip_list_ships_every_library_but_the_c_library(real):
    files, ldd = real
    dests = {e["dest"] for e in sp.plan(files, ldd, skip_libs=[])["files"]}
    assert {"lib/libudev.so.1", "lib/libz.so.1", "lib/libpam.so.0"} <= dests
    assert not dests & {"lib/libc.so.6", "lib/libm.so.6", "lib/ld-linux-x86-64.so.2", "lib/linux-vdso.so.1"}


def test_plan_text_lines(real):
    files, ldd = real
    text = sp.plan_text(sp.plan(files, ldd))
    lines = text.splitlines()
    assert "file\t/usr/sbin/slurmd-wlm\tusr/sbin/slurmd-wlm" in lines
    assert "file\t/lib/x86_64-linux-gnu/libhwloc.so.15\tlib/libhwloc.so.15" in lines
    assert "link\tusr/sbin/slurmd\tslurmd-wlm" in lines
    assert lines[-3:] == ["env\tSLURM_VM_LIBRARY_PATH\tlib:usr/lib/x86_64-linux-gnu:usr/lib/x86_64-linux-gnu/slurm-wlm",
                          "env\tSLURM_VM_PLUGIN_DIR\tusr/lib/x86_64-linux-gnu/slurm-wlm",
                          "env\tSLURM_VM_STEPD\tusr/sbin/slurmstepd"]


LDD_ONE = """\tlinux-vdso.so.1 (0x00007ffd)
\tlibmunge.so.2 => /lib/x86_64-linux-gnu/libmunge.so.2 (0x00007f80)
\tlibc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x00007f80)
\t/lib64/ld-linux-x86-64.so.2 (0x00007f80)
"""
LDD_MANY = """/usr/bin/munge:
\tlibmunge.so.2 => /lib/x86_64-linux-gnu/libmunge.so.2 (0x1)
\tlibc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x2)
/usr/sbin/slurmd-wlm:
\tlibhwloc.so.15 => /lib/x86_64-linux-gnu/libhwloc.so.15 (0x3)
\tlibgone.so.7 => not found
/usr/sbin/slurmstepd-wlm:
\tlibhwloc.so.15 => /usr/lib/x86_64-linux-gnu/libhwloc.so.15 (0x3)
/usr/bin/some-script:
\tnot a dynamic executable
"""
MANY_FILES = ["/usr/bin/munge", "/usr/sbin/slurmd-wlm", "/usr/sbin/slurmstepd-wlm", "/usr/bin/some-script"]


@pytest.mark.parametrize("text, files, expected", [
    (LDD_ONE, ["/usr/bin/munge"], {"/usr/bin/munge": {
        "linux-vdso.so.1": None, "libmunge.so.2": "/lib/x86_64-linux-gnu/libmunge.so.2",
        "libc.so.6": "/lib/x86_64-linux-gnu/libc.so.6", "ld-linux-x86-64.so.2": "/lib64/ld-linux-x86-64.so.2"}}),
    (LDD_MANY, MANY_FILES, {
        "/usr/bin/munge": {"libmunge.so.2": "/lib/x86_64-linux-gnu/libmunge.so.2",
                           "libc.so.6": "/lib/x86_64-linux-gnu/libc.so.6"},
        "/usr/sbin/slurmd-wlm": {"libhwloc.so.15": "/lib/x86_64-linux-gnu/libhwloc.so.15", "libgone.so.7": None},
        "/usr/sbin/slurmstepd-wlm": {"libhwloc.so.15": "/usr/lib/x86_64-linux-gnu/libhwloc.so.15"},
        "/usr/bin/some-script": {}}),
], ids=["one-file-no-header", "several-files"])
def test_parse_ldd(text, files, expected):
    assert sp.parse_ldd(text, files) == expected


def test_missing_libraries_are_reported_and_usr_merge_aliases_are_one_library():
    plan = sp.plan(MANY_FILES, sp.parse_ldd(LDD_MANY, MANY_FILES), skip_libs=[])
    assert plan["missing"] == ["libgone.so.7 (needed by /usr/sbin/slurmd-wlm)"]
    libs = [e["dest"] for e in plan["files"] if e["dest"].startswith("lib/")]
    assert libs == ["lib/libhwloc.so.15", "lib/libmunge.so.2"]


@pytest.mark.parametrize("call, message", [
    (lambda: sp.parse_ldd("\tlibc.so.6 => /lib/libc.so.6 (0x1)\n", ["/a", "/b"]), "before any file header"),
    (lambda: sp.parse_ldd("/a:\n", ["/a", "/b"]), "said nothing about: /b"),
    (lambda: sp.parse_ldd("/a:\n\tlib c.so => /x (0x1)\n", ["/a"]), "unexpected library name"),
    (lambda: sp.package_paths("/usr/bin/ok\n/usr/bin/$(evil)\n"), "unexpected path"),
    (lambda: sp.plan(["/usr/bin/munge"], {"/usr/bin/munge": {}}), "no slurmd"),
    (lambda: sp.plan(MANY_FILES, {}, skip_libs="libz.so.1"), "skip_libs must be a list"),
    (lambda: sp.plan(MANY_FILES, {}, plugin_dir="relative/dir"), "plugin_dir must be an absolute path"),
    (lambda: sp.plan(["/usr/sbin/slurmd-wlm", "/usr/sbin/slurmstepd-wlm"],
                     {"/usr/sbin/slurmd-wlm": {"libx.so.1": "/opt/a/libx.so.1"},
                      "/usr/sbin/slurmstepd-wlm": {"libx.so.1": "/opt/b/libx.so.1"}}, skip_libs=[]),
     "resolves to both"),
], ids=["no-header", "file-not-covered", "bad-soname", "bad-path", "no-slurmd", "skip-not-list", "plugin-dir",
        "two-targets"])
def test_invalid_inputs_raise_a_typed_error(call, message):
    with pytest.raises(sp.SlurmPayloadError, match=message.replace("$", r"\$").replace("(", r"\(")):
        call()


def test_package_paths_drop_notes_and_the_root():
    text = "/.\n/usr\n/usr/sbin/slurmd-wlm\npackage diverts others to: /usr/sbin/x.real\n/usr/sbin/slurmd-wlm\n"
    assert sp.package_paths(text) == ["/usr", "/usr/sbin/slurmd-wlm"]


def test_filters_wrap_the_typed_errors(real):
    from ansible.errors import AnsibleFilterError

    filters = payload_filter.FilterModule().filters()
    files = filters["slurm_payload_files"](fixture("dpkg-query-L.txt"))
    plan = filters["slurm_payload_plan"](fixture("ldd.txt"), files, None)
    assert plan == sp.plan(*real)
    assert filters["slurm_payload_text"](plan).startswith("file\t")
    with pytest.raises(AnsibleFilterError, match="SlurmPayloadError"):
        filters["slurm_payload_plan"]("", ["/a", "/b"])
