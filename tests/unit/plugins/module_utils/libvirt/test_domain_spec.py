# Copyright: hpc.slurm_vm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""domain_spec: validation of every module parameter, sizes, and taking over libvirt's generated values."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy

import pytest
from ansible_collections.hpc.slurm_vm.plugins.module_utils.libvirt import domain_spec as ds
from ansible_collections.hpc.slurm_vm.plugins.module_utils.common.errors import InvalidInput


def test_generated_mac_is_taken_over(spec_params):
    desired = ds.desired_spec(spec_params(mac=None))
    current = copy.deepcopy(desired)
    current["interfaces"][0]["mac"] = "52:54:00:aa:bb:cc"
    assert ds.fill_generated(desired, current) == current
    assert ds.fill_generated(desired, None) is desired


@pytest.mark.parametrize("field", ["cmdline", "sysinfo", "metadata"])
@pytest.mark.parametrize("char", ["\x00", "\x1b", "\n", "\x7f", "\ud800"])
def test_control_characters_are_rejected(spec_params, field, char):
    value = {"cmdline": "a%sb" % char, "sysinfo": dict(serial="a%sb" % char),
             "metadata": dict(image="a%sb" % char)}[field]
    with pytest.raises(InvalidInput, match="control character"):
        ds.desired_spec(spec_params(**{field: value}))


# The MAC rule is common/addresses.py's host_mac, shared with dhcp_host and the image table.
@pytest.mark.parametrize("mac, expected", [
    ("52:54:00:77:01:05", "52:54:00:77:01:05"),
    ("52:54:00:AA:bb:0C", "52:54:00:aa:bb:0c"),
    ("52-54-00-77-01-05", "52:54:00:77:01:05"),
    # 12 bare hex digits: refused here before, accepted by dhcp_host; one rule now accepts them
    ("525400770105", "52:54:00:77:01:05"),
])
def test_mac_normalized(spec_params, mac, expected):
    assert ds.desired_spec(spec_params(mac=mac))["interfaces"][0]["mac"] == expected


@pytest.mark.parametrize("mac", ["52:54:00:77:01", "52:54:00:77:01:05:06", "52:54:00:77:01:0g",
                                 "01:00:5e:00:00:01", "ff:ff:ff:ff:ff:ff", "52:54:00:77:01:05'/><x a='",
                                 # accepted before the shared rule: all zero, mixed separators
                                 "00:00:00:00:00:00", "52:54-00:77:01:05"])
def test_invalid_mac(spec_params, mac):
    with pytest.raises(InvalidInput, match="MAC"):
        ds.desired_spec(spec_params(mac=mac))


def test_image_outside_the_allowed_directory(spec_params, images, tmp_path):
    outside = tmp_path / "elsewhere.qcow2"
    outside.write_bytes(b"x")
    link = images / "link.qcow2"
    link.symlink_to(outside)
    for path in (str(outside), str(images / ".." / "elsewhere.qcow2"), str(link)):
        with pytest.raises(InvalidInput, match="outside the allowed image directory"):
            ds.desired_spec(spec_params(image=path, image_dir=str(images)))
    spec = ds.desired_spec(spec_params(image=str(images / "base.qcow2"), image_dir=str(images)))
    assert spec["base_image"] == str(images / "base.qcow2")


@pytest.mark.parametrize("key", ["image", "kernel", "initrd"])
def test_every_boot_file_is_confined(spec_params, images, tmp_path, key):
    outside = tmp_path / "elsewhere"
    outside.write_bytes(b"x")
    (images / "up").symlink_to(tmp_path)
    for path in (str(outside), str(images / ".." / "elsewhere"), str(images / "up" / "elsewhere"), "/etc/passwd"):
        with pytest.raises(InvalidInput, match="%s .* is outside the allowed image directory %s;" % (key, images)):
            ds.desired_spec(spec_params(**{key: path}), check_files=False)


@pytest.mark.parametrize("image_dir", [None, ""])
def test_without_image_dir_the_default_directory_confines(spec_params, images, image_dir):
    # /img/../../etc/passwd as a raw image backed an overlay by /etc/passwd when image_dir was unset
    params = spec_params(image="/img/../../etc/passwd", image_format="raw", kernel=None, initrd=None, cmdline=None,
                         image_dir=image_dir)
    with pytest.raises(InvalidInput) as caught:
        ds.desired_spec(params)
    assert caught.value.details["image_dir"] == ds.DEFAULT_IMAGE_DIR == "/var/lib/hpc-slurm-vm/images"
    assert caught.value.details["resolved"] == "/etc/passwd"
    with pytest.raises(InvalidInput, match="kernel %s is outside the allowed image directory /var/lib/hpc-slurm-vm/"
                                           "images" % (images / "vmlinux")):
        ds.desired_spec(spec_params(image_dir=image_dir))


@pytest.mark.parametrize("key", ["image", "kernel", "initrd"])
def test_missing_image_files(spec_params, images, key):
    with pytest.raises(InvalidInput, match="does not exist"):
        ds.desired_spec(spec_params(**{key: str(images / "missing")}))


@pytest.mark.parametrize("extra, message", [
    (dict(kernel=None, initrd=None, cmdline=None), "give an image"),
    (dict(kernel=None, initrd=None), "need a kernel"),
    (dict(bridge="br0", network="default"), "either bridge or network"),
    (dict(bridge=None), "needs a bridge or a network"),
    (dict(bridge="br;rm"), "invalid bridge"),
    (dict(kernel="relative/vmlinux"), "absolute path"),
    (dict(memory=0), "memory"),
    (dict(vcpus="two"), "vcpus"),
    (dict(virt_type="xen"), "virt_type"),
    (dict(cpu_mode="custom"), "cpu_mode"),
    (dict(sysinfo=dict(uuid="x")), "unknown sysinfo field"),
    (dict(metadata={"bad key": "x"}), "invalid metadata key"),
    (dict(metadata={"k": {"nested": 1}}), "scalar"),
    (dict(filesystems=[dict(source="/", target="a b")]), "target"),
    (dict(filesystems=[dict(source="/", target="t"), dict(source="/srv", target="t")]), "used twice"),
    (dict(filesystems=[dict(source="/", target="t", driver="virtiofs", readonly=True)]), "read-only"),
    (dict(tmp_disk=dict(size="lots")), "tmp_disk.size"),
    (dict(tmp_disk=dict(size="1G", serial="x" * 21)), "tmp_disk.serial"),
    (dict(tmp_disk=dict(size="1G", filesystem="xfs")), r"tmp_disk.filesystem must be one of none, ext4, got 'xfs'"),
    (dict(rng="no"), r"rng must be true or false, got 'no'"),
    (dict(rng=0), r"rng must be true or false, got 0"),
])
def test_bad_input(spec_params, extra, message):
    with pytest.raises(InvalidInput, match=message):
        ds.desired_spec(spec_params(**extra))


@pytest.mark.parametrize("value, size", [("512M", 512 * 1024 ** 2), ("2G", 2 * 1024 ** 3), ("1GiB", 1024 ** 3),
                                         ("4096", 4096), (1024, 1024), (" 1 t ", 1024 ** 4)])
def test_parse_size(value, size):
    assert ds.parse_size(value) == size


@pytest.mark.parametrize("value", ["0", "-1M", "1.5G", "1P", True, ""])
def test_parse_size_rejects(value):
    with pytest.raises(InvalidInput):
        ds.parse_size(value)


@pytest.mark.parametrize("tmp_disk, expected", [
    (None, None), (dict(size="1G"), "none"), (dict(size="1G", filesystem=None), "none"),
    (dict(size="1G", filesystem="none"), "none"), (dict(size="1G", filesystem="ext4"), "ext4"),
])
def test_tmp_disk_filesystem_is_checked_but_not_part_of_the_spec(spec_params, tmp_disk, expected):
    """How the file is made, not what libvirt holds: a spec with ext4 equals one without."""
    params = spec_params(tmp_disk=tmp_disk)
    assert ds.tmp_disk_filesystem(params) == expected
    spec = ds.desired_spec(params)
    assert set(spec) == set(ds.SPEC_KEYS)
    if tmp_disk:
        assert spec == ds.desired_spec(spec_params(tmp_disk=dict(tmp_disk, filesystem="none")))
