# -*- coding: utf-8 -*-
# Copyright: hpc.slurm_vm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The image table (slurm_vm_images): validation, pool addresses, slurm.conf lines.

One table drives the planner, the roles, libvirt_guest and the VM cluster's
slurm.conf, so VM size and Slurm's view of it cannot drift apart.  Everything
here is pure: no I/O, no Ansible.

Only the hostname is ever allocated.  Its MAC and IP follow from its pool
index, the number at the end of the name:
  MAC = mac_prefix + index (big-endian in the remaining bytes)
  IP  = subnet network address + ip_offset + index
common/addresses.py (AddressPool) owns that rule and what makes an address valid:
every pool host's IP is a host address of the subnet (neither its network nor its
broadcast address), and none is the network.gateway an image names (optional).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import functools
import hashlib
import json
import re

from ansible_collections.hpc.slurm_vm.plugins.module_utils.common import nodeset
from ansible_collections.hpc.slurm_vm.plugins.module_utils.common.addresses import (
    AddressPool,
    Subnet,
    host_ip,
    int_to_ipv4,
    ipv4_to_int,
)
from ansible_collections.hpc.slurm_vm.plugins.module_utils.common.hostnames import is_vm_hostname
from ansible_collections.hpc.slurm_vm.plugins.module_utils.common.errors import (
    ImageTableError,
    InvalidInput,
    NotInPool,
    UnknownImage,
)

IMAGE_NAME_RE = re.compile(r"^[a-z0-9][a-z0-9_]{0,30}$")
GRES_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,62}$")
FEATURE_RE = re.compile(r"^[A-Za-z0-9_.]{1,64}$")
TRAILING_INDEX_RE = re.compile(r"(\d+)$")

DEFAULT_RULES = {
    "max_vms": None,  # None: the pool size
    "min_idle": 0,  # warm VMs kept idle without demand
    "max_spawn_per_run": None,  # None: no limit beyond max_vms
    "idle_timeout": 600,
    "lifetime": 86400,  # a VM's longest life, never beyond its host job
    "boot_timeout": 300,  # from the host job's start to the node's registration
    "backoff_failures": 3,  # consecutive failed boots before the image backs off
    "backoff_seconds": 1800,
    "failed_hold": 600,  # a node whose VM did not boot stays DOWN (sinfo -R) this long before it returns to the pool
}
RULE_ALIASES = {"warm_pool": "min_idle", "max_lifetime": "lifetime"}
_POSITIVE_RULES = ("idle_timeout", "lifetime", "boot_timeout", "backoff_failures")
DEFAULT_REAL_MEMORY_RESERVE_MB = 64
KNOWN_KEYS = frozenset((
    "gres", "gres_count", "feature", "pool", "vcpus", "memory_mb", "real_memory_mb",
    "boot", "network", "rules", "description", "version",
))
# An image's version label (optional; the version id adds a digest of its boot settings to it).
VERSION_LABEL_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+-]{0,31}$")
KNOWN_NETWORK_KEYS = frozenset(("bridge", "libvirt_network", "subnet", "ip_offset", "mac_prefix", "node_addr",
                                "gateway"))


def _positive_int(image, key, value, minimum=1):
    if isinstance(value, bool) or not isinstance(value, int):
        try:
            value = int(str(value), 10)
        except ValueError:
            raise ImageTableError("image %s: %s must be an integer, got %r" % (image, key, value)) from None
    if value < minimum:
        raise ImageTableError("image %s: %s must be at least %d, got %d" % (image, key, minimum, value))
    return value


def _normalize_network(name, raw):
    if not isinstance(raw, dict):
        raise ImageTableError("image %s: network must be a mapping" % name)
    unknown = set(raw) - KNOWN_NETWORK_KEYS
    if unknown:
        raise ImageTableError("image %s: unknown network keys: %s" % (name, ", ".join(sorted(unknown))))
    ip_offset = _positive_int(name, "network.ip_offset", raw.get("ip_offset", 0), minimum=0)
    try:
        pool = AddressPool(raw.get("subnet"), ip_offset, raw.get("mac_prefix"))
    except InvalidInput as exc:
        raise ImageTableError("image %s: %s" % (name, exc.message)) from exc
    bridge = raw.get("bridge")
    libvirt_network = raw.get("libvirt_network")
    if bool(bridge) == bool(libvirt_network):
        raise ImageTableError("image %s: network needs exactly one of bridge or libvirt_network" % name)
    gateway = raw.get("gateway")
    if gateway is not None:
        try:
            gateway = host_ip(gateway, str(pool.subnet), "network.gateway")
        except InvalidInput as exc:
            raise ImageTableError("image %s: %s" % (name, exc.message)) from exc
    return {
        "bridge": bridge,
        "libvirt_network": libvirt_network,
        "subnet": str(pool.subnet),
        "ip_offset": ip_offset,
        "mac_prefix": pool.mac_prefix,
        "node_addr": bool(raw.get("node_addr", True)),
        "gateway": gateway,  # optional: known, no pool host may get it
    }


def _normalize_rules(name, raw):
    raw = {RULE_ALIASES.get(k, k): v for k, v in (raw or {}).items()}
    unknown = set(raw) - set(DEFAULT_RULES)
    if unknown:
        raise ImageTableError("image %s: unknown rules: %s" % (name, ", ".join(sorted(unknown))))
    rules = dict(DEFAULT_RULES)
    for key, value in raw.items():
        if value is None:
            continue
        if key in _POSITIVE_RULES:
            value = _positive_int(name, "rules." + key, value)
        else:
            value = _positive_int(name, "rules." + key, value, minimum=0)
        rules[key] = value
    return rules


def normalize_image(name, raw, boot=None):
    """Validate one table entry and return it with every default filled in. boot: how the image boots
    (the site's slurm_vm_boot[name], role spawn's), part of its version with the entry's own `boot`."""
    _check_entry(name, raw)
    hosts, indices = _pool_hosts(name, raw.get("pool"))
    gres, feature = _request_names(name, raw)
    memory_mb, real_memory_mb = _memory(name, raw)
    network = _normalize_network(name, raw.get("network"))
    _check_pool_addresses(name, network, indices)
    gres_count = _positive_int(name, "gres_count", raw.get("gres_count", 1))
    vcpus = _positive_int(name, "vcpus", raw.get("vcpus", 1))
    if gres_count > vcpus:
        # every job takes at least one CPU: only vcpus of them could share a VM, not gres_count
        raise ImageTableError("image %s: gres_count %d needs vcpus >= %d (each job of a shared VM takes at least one "
                              "CPU; vcpus is %d)" % (name, gres_count, gres_count, vcpus))
    return {
        "name": name,
        "description": raw.get("description", ""),
        "gres": gres,
        "gres_count": gres_count,
        "feature": feature,
        "pool": nodeset.normalize(raw["pool"]),
        "hosts": hosts,
        "indices": indices,
        "vcpus": vcpus,
        "memory_mb": memory_mb,
        "real_memory_mb": real_memory_mb,
        "boot": raw.get("boot") or {},
        "version": image_version(name, dict(raw.get("boot") or {}, **(boot or {})), raw.get("version")),
        "network": network,
        "rules": _normalize_rules(name, raw.get("rules")),
    }


def image_version(name, boot, label=None):
    """The image's version id: a digest of its boot settings (disk image, kernel, initrd, command line...:
    the entry's `boot` and the site's slurm_vm_boot for it),
    after the table's optional `version` label ('2026.11-a1b2c3d4'), or the digest alone ('a1b2c3d4e5f6').

    Any change of the boot settings, or of the label, is a new version, and VMs of the old one are
    rolled over (lifecycle.py). The label is how an admin says that a file changed under the same
    name is a new version (a base image overwritten in place is refused, not rolled: see libvirt_guest)."""
    try:
        text = json.dumps(boot, sort_keys=True, separators=(",", ":"), default=str)
    except (TypeError, ValueError) as exc:
        raise ImageTableError("image %s: boot must be plain data (%s)" % (name, exc)) from exc
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
    if label is None or label == "":
        return digest[:12]
    label = str(label)
    if not VERSION_LABEL_RE.match(label):
        raise ImageTableError("image %s: version %r must be letters, digits, '.', '_', '+' or '-' (max 32), "
                              "starting with a letter or digit" % (name, label))
    return "%s-%s" % (label, digest[:8])


def _check_pool_addresses(name, network, indices):
    """Every pool host gets a host address of the subnet (and a MAC under the prefix), and none gets the gateway."""
    host_of = {index: host for host, index in indices.items()}
    try:
        _pool(network).check_indices(min(host_of), max(host_of))
    except InvalidInput as exc:
        raise ImageTableError("image %s: host %s: %s" % (name, host_of[exc.details["index"]], exc.message)) from exc
    if network["gateway"] is not None:
        _refuse_gateway_host(name, network, host_of, ipv4_to_int(network["gateway"]), name)


def _refuse_gateway_host(name, network, host_of, gateway, gateway_image):
    """Refuse the pool of image name when one of its hosts would get the gateway (an integer) of gateway_image."""
    host = host_of.get(gateway - _pool(network).ip_int(0))
    if host is not None:
        raise ImageTableError("image %s: host %s would get %s, the gateway of image %s; move network.ip_offset or "
                              "the pool" % (name, host, int_to_ipv4(gateway), gateway_image),
                              hostname=host, gateway=int_to_ipv4(gateway))


def _check_entry(name, raw):
    if not IMAGE_NAME_RE.match(str(name)):
        raise ImageTableError("image name %r must be lowercase letters, digits and '_' (max 31)" % (name,))
    if not isinstance(raw, dict):
        raise ImageTableError("image %s: the entry must be a mapping" % name)
    unknown = set(raw) - KNOWN_KEYS
    if unknown:
        raise ImageTableError("image %s: unknown keys: %s" % (name, ", ".join(sorted(unknown))))


def _pool_hosts(name, pool):
    """The pool's hostnames in order, and {hostname: pool index} (the number each name ends in)."""
    if not pool:
        raise ImageTableError("image %s: pool (a hostlist such as vm-%s-[001-010]) is required" % (name, name))
    try:
        hosts = nodeset.expand(pool)
    except InvalidInput as exc:
        raise ImageTableError("image %s: pool: %s" % (name, exc.message)) from exc
    indices = {}
    for host in hosts:
        if not is_vm_hostname(host):
            raise ImageTableError(
                "image %s: pool hostname %r must be a lowercase DNS label (a-z, 0-9, '-')" % (name, host))
        match = TRAILING_INDEX_RE.search(host)
        if not match:
            raise ImageTableError("image %s: pool hostname %r must end in its index number" % (name, host))
        index = int(match.group(1))
        if index in indices.values():
            raise ImageTableError("image %s: pool hostnames %r share index %d" % (name, host, index))
        indices[host] = index
    return hosts, indices


def _request_names(name, raw):
    """The gres and the node feature a job names to ask for this image (one of them at least)."""
    gres = raw.get("gres", "vm_%s" % name)
    feature = raw.get("feature")
    if feature is not None and not FEATURE_RE.match(str(feature)):
        raise ImageTableError("image %s: feature %r is not a valid Slurm feature name" % (name, feature))
    if gres is not None and not GRES_RE.match(str(gres)):
        raise ImageTableError("image %s: gres %r is not a valid gres name" % (name, gres))
    if gres is None and feature is None:
        raise ImageTableError("image %s: needs a gres or a feature to be requested by" % name)
    return gres, feature


def _memory(name, raw):
    """The VM's memory and the RealMemory Slurm is told (what the guest's kernel leaves of it)."""
    memory_mb = _positive_int(name, "memory_mb", raw.get("memory_mb", 1024), minimum=64)
    real_memory_mb = raw.get("real_memory_mb")
    if real_memory_mb is None:
        real_memory_mb = memory_mb - DEFAULT_REAL_MEMORY_RESERVE_MB
    real_memory_mb = _positive_int(name, "real_memory_mb", real_memory_mb)
    if real_memory_mb > memory_mb:
        raise ImageTableError(
            "image %s: real_memory_mb (%d) exceeds memory_mb (%d)" % (name, real_memory_mb, memory_mb))
    return memory_mb, real_memory_mb


def normalize_table(table, boot=None):
    """Validate the whole table: every entry, plus no name, MAC, IP or gres shared. boot: the site's
    slurm_vm_boot ({image: how it boots}), which the images' versions include."""
    if not isinstance(table, dict) or not table:
        raise ImageTableError("slurm_vm_images must be a non-empty mapping of image name to entry")
    if boot is not None and not isinstance(boot, dict):
        raise ImageTableError("slurm_vm_boot must be a mapping of image name to its boot settings")
    images = {}
    owner_of = {}
    for name in sorted(table):
        image = normalize_image(name, table[name], (boot or {}).get(name))
        # Integers, not formatted addresses: a table of 10,000 hosts checks in milliseconds.
        pool = _pool(image["network"])
        for host, index in image["indices"].items():
            for key, value in (("hostname", host), ("mac", pool.mac_int(index)), ("ip", pool.ip_int(index))):
                other = owner_of.get((key, value))
                if other is not None:
                    shown = vm_mac(image, host) if key == "mac" else vm_ip(image, host) if key == "ip" else host
                    raise ImageTableError("images %s and %s share the %s %s" % (other, name, key, shown))
                owner_of[(key, value)] = name
        if image["gres"] is not None:
            other = owner_of.get(("gres", image["gres"]))
            if other is not None:
                raise ImageTableError("images %s and %s share the gres %s" % (other, name, image["gres"]))
            owner_of[("gres", image["gres"])] = name
        if image["rules"]["max_vms"] is None:
            image["rules"]["max_vms"] = len(image["hosts"])
        images[name] = image
    _refuse_other_images_gateways(images)
    return images


def _refuse_other_images_gateways(images):
    """No pool host gets the gateway another image names (normalize_image checks the image's own)."""
    for gateway_image in sorted(images):
        gateway = images[gateway_image]["network"]["gateway"]
        for name in sorted(images) if gateway is not None else ():
            if name != gateway_image:
                host_of = {index: host for host, index in images[name]["indices"].items()}
                _refuse_gateway_host(name, images[name]["network"], host_of, ipv4_to_int(gateway), gateway_image)


def get_image(images, name):
    try:
        return images[name]
    except KeyError:
        raise UnknownImage("unknown image %r; the table defines: %s" % (name, ", ".join(sorted(images)))) from None


def image_of_host(images, hostname):
    """The image whose pool holds hostname."""
    for image in images.values():
        if hostname in image["indices"]:
            return image
    raise NotInPool("%r is in no image's pool" % (hostname,), hostname=hostname)


def _index(image, hostname):
    try:
        return image["indices"][hostname]
    except KeyError:
        raise NotInPool("%r is not in the pool %s of image %s" % (hostname, image["pool"], image["name"]),
                        hostname=hostname) from None


def _pool(network):
    return _address_pool(network["subnet"], network["ip_offset"], network["mac_prefix"])


@functools.lru_cache(maxsize=256)
def _address_pool(subnet, ip_offset, mac_prefix):
    # One per pool, not per host: vm_mac/vm_ip run for every host of every pool.
    return AddressPool(subnet, ip_offset, mac_prefix)


def vm_mac(image, hostname):
    """The deterministic MAC of a pool host."""
    return _pool(image["network"]).mac(_index(image, hostname))


def vm_ip(image, hostname):
    """The deterministic IP address of a pool host."""
    return _pool(image["network"]).ip(_index(image, hostname))


def vm_prefixlen(image):
    return Subnet(image["network"]["subnet"]).prefixlen


def pool_addresses(image):
    """[{hostname, mac, ip}] for every host of the pool, in pool order."""
    return [{"hostname": h, "mac": vm_mac(image, h), "ip": vm_ip(image, h)} for h in image["hosts"]]
