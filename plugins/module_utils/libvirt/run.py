# -*- coding: utf-8 -*-
# Copyright: hpc.slurm_vm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""libvirt_guest's work: read the current guest, plan, and (unless in check mode) apply.

The module hands its AnsibleModule to run_libvirt_guest(), which makes the
LibvirtClient and GuestFiles, calls ensure_guest() and turns typed errors into
one fail_json (common/module_exit.finish_module); run_libvirt_guest_info() lists
the guests the same way. ensure_guest() holds the order of operations and the
rollback: a guest this run created is removed again, files and all, when a later
step of the same run fails, so nothing is left half-done.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import contextlib
import time

from ansible_collections.hpc.slurm_vm.plugins.module_utils.common import addresses
from ansible_collections.hpc.slurm_vm.plugins.module_utils.common.errors import InvalidInput, SlurmVmError
from ansible_collections.hpc.slurm_vm.plugins.module_utils.common.module_exit import finish_module
from ansible_collections.hpc.slurm_vm.plugins.module_utils.libvirt import base_image
from ansible_collections.hpc.slurm_vm.plugins.module_utils.libvirt.client import LIBVIRT_IMPORT_ERROR, LibvirtClient
from ansible_collections.hpc.slurm_vm.plugins.module_utils.libvirt.domain_build import (
    build_domain_xml,
    canonical_xml,
    guest_metadata_xml,
)
from ansible_collections.hpc.slurm_vm.plugins.module_utils.libvirt.domain_spec import (
    check_name,
    check_path,
    check_text,
    desired_spec,
    tmp_disk_filesystem,
)
from ansible_collections.hpc.slurm_vm.plugins.module_utils.libvirt.guest_files import GuestFiles, guest_files
from ansible_collections.hpc.slurm_vm.plugins.module_utils.libvirt.plan import plan_guest

WAIT_STATES = ("running", "shutoff")
DEFAULT_TIMEOUT = 300
DEFAULT_SHUTDOWN_TIMEOUT = 60


def run_libvirt_guest(module):
    """Run libvirt_guest for an AnsibleModule: exit_json with the result, or fail_json."""
    def run(argv):
        return module.run_command(argv, environ_update={"LC_ALL": "C"})

    def work():
        qemu_img = module.get_bin_path("qemu-img") or "qemu-img"
        # None when missing: only an ext4 tmp disk needs it, and that then fails before any change
        mkfs_ext4 = module.get_bin_path("mkfs.ext4")
        with contextlib.closing(LibvirtClient(module.params["uri"])) as client:
            result = ensure_guest(module.params, client, GuestFiles(run, qemu_img=qemu_img, mkfs_ext4=mkfs_ext4),
                                  check_mode=module.check_mode,
                                  cache=base_image.Sha256Cache(module.params["state_dir"],
                                                               writable=not module.check_mode))
        for warning in result.pop("warnings"):
            module.warn(warning)
        return result

    finish_module(module, work, required_library=("libvirt-python", LIBVIRT_IMPORT_ERROR),
                  failure_keys=dict(changed=False), catch_all=True)


def run_libvirt_guest_info(module):
    """Run libvirt_guest_info: the guests that carry our mark (or all of them), sorted by name, each with its
    image version and whether the base image under its overlay changed (guest_base_versions)."""
    def work():
        with contextlib.closing(LibvirtClient(module.params["uri"])) as client:
            guests = client.list_guests(only_ours=not module.params["all"], names=module.params["name"])
        cache = base_image.Sha256Cache(module.params.get("state_dir"), writable=not module.check_mode)
        guest_base_versions(guests, cache)
        cache.flush(create_directory=False)
        for warning in cache.warnings:
            module.warn(warning)
        return dict(changed=False, guests=guests)

    finish_module(module, work, required_library=("libvirt-python", LIBVIRT_IMPORT_ERROR), catch_all=True)


def guest_base_versions(guests, cache):
    """Add image_version, base (the recorded base version), base_changed and base_changed_reason to each
    guest of libvirt_guest_info; a base file is hashed at most once per version (cache, a Sha256Cache)."""
    for guest in guests:
        meta = guest.get("metadata") or {}
        guest["image_version"] = meta.get(base_image.VERSION_KEY) or None
        recorded = base_image.recorded_base(meta) if guest.get("ours") else None
        guest["base"] = recorded
        changed, reason = base_image.base_change(recorded, cache, meta.get("image") or guest["name"])
        guest["base_changed"] = changed
        guest["base_changed_reason"] = reason
    return guests


def _file_facts(files, paths):
    return {
        "overlay": files.exists(paths["overlay"]),
        "tmp_disk": files.size(paths["tmp_disk"]),
        "console_log": files.exists(paths["console_log"]),
    }


def check_seconds(value, what, default):
    """A number of seconds to wait: the default when unset, 0 (do not wait) or more; never negative."""
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise InvalidInput("%s must be a number of seconds, got %r" % (what, value), **{what: value})
    if value < 0:
        raise InvalidInput("%s must be 0 or more seconds, got %r" % (what, value), **{what: value})
    return value


def _check_wait_for(wait_for, spec, state, check_mode):
    if not wait_for:
        return None
    unknown = set(wait_for) - {"console", "address", "state"}
    if unknown:
        raise InvalidInput("unknown wait_for keys: %s (known: console, address, state)" % ", ".join(sorted(unknown)))
    wait = {k: v for k, v in wait_for.items() if v not in (None, "")}
    if not wait:
        return None
    if wait.get("state") and wait["state"] not in WAIT_STATES:
        raise InvalidInput("wait_for.state must be one of %s" % ", ".join(WAIT_STATES))
    if (wait.get("console") or wait.get("address")) and state != "running":
        raise InvalidInput("wait_for console or address needs state: running")
    if wait.get("console") and not (spec and spec["console_log"]):
        raise InvalidInput("wait_for.console needs console_log: true")
    if wait.get("address") and wait["address"] != "any":
        # the module connects to it (TCP port 22): a dotted IPv4 address, never a name or anything else
        wait["address"] = addresses.ipv4_address(wait["address"], "wait_for.address")
    return wait


def ensure_guest(params, client, files, check_mode=False, clock=time.time, monotonic=time.monotonic, cache=None):
    """Bring one guest to params['state']; returns the module result (without 'diff' when unchanged).

    cache: the Sha256Cache of base image checksums (default: one in the state_dir, not written in check mode).
    """
    began = monotonic()
    state = params.get("state") or "running"
    name, paths, spec, wait = _validate(params, state, files, check_mode)
    record = base_image.check_base_record(params.get("base_record")) if state != "absent" else None
    current = client.current(name)
    if cache is None:
        cache = base_image.Sha256Cache(params["state_dir"], writable=not check_mode)
    started = monotonic()
    base = _base_version(params, spec, state, current, files, paths, record, cache) if spec else None
    base_seconds = round(monotonic() - started, 3)
    plan = plan_guest(spec, state, params.get("persistent", True), current, _file_facts(files, paths),
                      force=bool(params.get("force")))
    desired = plan["desired"]
    result = _planned_result(name, plan, current, paths)
    result["base"] = base
    if base:
        result["timings"]["base"] = base_seconds
    if check_mode:
        result["timings"]["total"] = round(monotonic() - began, 3)
        return result

    if "create_tmp_disk" in plan["actions"]:
        files.check_filesystem_tool(paths["tmp_disk"], tmp_disk_filesystem(params))
    # the checks have passed: keep the checksums hashed (the next guest on the same file does not hash it)
    cache.flush()
    result["warnings"].extend(cache.warnings)
    try:
        _apply(plan, desired, current, client, files, paths, params, result, monotonic, clock)
    except SlurmVmError:
        if current is None and state != "absent":
            _rollback(client, files, paths, name)
        raise
    _read_back_state(client, name, state, result)
    if wait:
        _wait(client, name, desired, wait, params, result)
    result["timings"]["total"] = round(monotonic() - began, 3)
    return result


def _validate(params, state, files, check_mode):
    """(name, paths, desired spec or None for absent, wait or None); raises InvalidInput before any change."""
    name = check_name(params["name"])
    check_seconds(params.get("timeout"), "timeout", DEFAULT_TIMEOUT)
    check_seconds(params.get("shutdown_timeout"), "shutdown_timeout", DEFAULT_SHUTDOWN_TIMEOUT)
    state_dir = check_path(params["state_dir"], "state_dir")
    paths = guest_files(name, state_dir)
    spec = None
    if state != "absent":
        spec = desired_spec(dict(params, name=name, state_dir=state_dir))
    wait = _check_wait_for(params.get("wait_for"), spec, state, check_mode)
    if spec and spec["tmp_disk_size"]:
        files.check_space(paths["tmp_disk"], spec["tmp_disk_size"] - (files.size(paths["tmp_disk"]) or 0))
    return name, paths, spec, wait


def _base_version(params, spec, state, current, files, paths, record, cache):
    """The version of the base image under the guest's overlay ({path, size, mtime, sha256, hashed}, or None
    without an image), written with image_version into spec's metadata. Raises BaseImageChanged, before any
    change, when the file's checksum differs from record (the scheduler's) or, for an existing guest whose
    overlay is kept, from the version its metadata records; except when an existing guest is only stopped.

    The metadata keeps the version the overlay was made on: an existing guest whose overlay stays keeps
    its recorded one, a new overlay gets the file's current one."""
    metadata = spec["metadata"]
    for key in base_image.META_KEYS:
        if key in metadata:
            raise InvalidInput("metadata.%s is set by the module (the base image's version); leave it out" % key)
    version = params.get("image_version")
    if version not in (None, ""):
        version = check_text(version, "image_version")
        if metadata.get(base_image.VERSION_KEY, version) != version:
            raise InvalidInput("metadata.image_version %r and image_version %r differ; give image_version only"
                               % (metadata[base_image.VERSION_KEY], version))
        metadata[base_image.VERSION_KEY] = version
    if not spec["base_image"]:
        return None
    carried = None
    if (current and current["ours"] and current["spec"].get("base_image") == spec["base_image"]
            and files.exists(paths["overlay"])):
        carried = base_image.recorded_base(current["spec"].get("metadata"))
    expected = record or carried
    base = base_image.base_facts(spec["base_image"], expected, cache)
    if current is None or state in ("running", "defined"):
        base_image.check_record(base, expected, metadata.get("image") or spec["name"])
    metadata.update(base_image.base_metadata(carried or base))
    return base


def _planned_result(name, plan, current, paths):
    """The module result as planned (what check mode reports), with the diff when anything differs."""
    desired = plan["desired"]
    result = {
        "changed": bool(plan["actions"]),
        "name": name,
        "actions": plan["actions"],
        "changes": plan["changes"],
        "restart_needed": plan["restart_needed"],
        "warnings": plan["warnings"],
        "state": plan["after_state"],
        "files": {key: path for key, path in paths.items()
                  if desired and ((key == "overlay" and desired["base_image"])
                                  or (key == "tmp_disk" and desired["tmp_disk_size"])
                                  or (key == "console_log" and desired["console_log"]))},
        "timings": {},
    }
    before = canonical_xml(current["spec"]) if current else ""
    after = canonical_xml(desired) if desired else ""
    if plan["actions"] or before != after:
        result["diff"] = {"before": before, "after": after,
                          "before_header": "%s (%s)" % (name, current["state"] if current else "absent"),
                          "after_header": "%s (%s)" % (name, plan["after_state"])}
    if current:
        result["uuid"] = current["uuid"]
    return result


def _read_back_state(client, name, state, result):
    """After the changes: the uuid and state libvirt now reports."""
    if state == "absent":
        result["state"] = "absent"
        return
    fresh = client.current(name)
    if fresh:
        result["uuid"] = fresh["uuid"]
        result["state"] = fresh["state"]


def _wait(client, name, desired, wait, params, result):
    try:
        waited = client.wait_for(name, console_log=desired["console_log"] if desired else None,
                                 marker=wait.get("console"), address=wait.get("address"),
                                 state=wait.get("state"),
                                 timeout=check_seconds(params.get("timeout"), "timeout", DEFAULT_TIMEOUT),
                                 mac=desired["interfaces"][0]["mac"] if desired and desired["interfaces"] else None)
    except SlurmVmError as exc:
        # the guest was changed all the same: say so in the failure
        exc.details.update(changed=result["changed"], actions=result["actions"], timings=result["timings"])
        raise
    result["timings"]["wait"] = waited["elapsed"]
    result["addresses"] = waited["addresses"]
    result["state"] = waited["state"]


def _timed(result, key, monotonic, func, *args):
    start = monotonic()
    value = func(*args)
    result["timings"][key] = round(result["timings"].get(key, 0) + monotonic() - start, 3)
    return value


def _apply(plan, desired, current, client, files, paths, params, result, monotonic, clock):
    name = result["name"]
    uuid = current["uuid"] if current else None
    for action in plan["actions"]:
        if action == "destroy":
            _timed(result, "destroy", monotonic, client.destroy, name)
        elif action == "undefine":
            _timed(result, "undefine", monotonic, client.undefine, name)
        elif action.startswith("remove_"):
            files.remove(paths[action[len("remove_"):]])
        elif action == "create_overlay":
            _timed(result, "overlay", monotonic, files.create_overlay, paths["overlay"], desired["base_image"],
                   params.get("image_format") or "qcow2")
        elif action == "create_tmp_disk":
            _timed(result, "tmp_disk", monotonic, files.create_tmp_disk, paths["tmp_disk"], desired["tmp_disk_size"],
                   tmp_disk_filesystem(params))
        elif action == "define":
            _timed(result, "define", monotonic, client.define, build_domain_xml(desired, uuid=uuid), name)
        elif action == "set_metadata":
            active = bool(current and current["active"])
            started = current.get("started") if current else None
            if current and current["persistent"]:
                client.set_metadata(name, guest_metadata_xml(desired), live=False, config=True)
            if active:
                client.set_metadata(name, guest_metadata_xml(desired, started=started), live=True, config=False)
        elif action in ("start", "create_transient"):
            if desired["console_log"]:
                files.reset_console_log(paths["console_log"])
            if action == "start":
                _timed(result, "start", monotonic, client.start, name)
            else:
                _timed(result, "start", monotonic, client.create_transient, build_domain_xml(desired), name)
            # when it started, live only: the _info module's uptime (the config copy stays as desired)
            client.set_metadata(name, guest_metadata_xml(desired, started=clock()), live=True, config=False)
        elif action == "resume":
            client.resume(name)
        elif action == "shutdown":
            grace = check_seconds(params.get("shutdown_timeout"), "shutdown_timeout", DEFAULT_SHUTDOWN_TIMEOUT)
            outcome = _timed(result, "shutdown", monotonic, client.shutdown, name, grace)
            if outcome == "destroyed":
                result["warnings"].append("%s did not shut down within %ss: destroyed" % (name, grace))
        else:   # pragma: no cover - the planner only emits the actions above
            raise InvalidInput("unknown action %s" % action)


def _rollback(client, files, paths, name):
    """Remove what this run created for a new guest; best effort, the first error is what matters."""
    for step in (lambda: client.destroy(name), lambda: client.undefine(name),
                 lambda: files.remove(paths["overlay"]), lambda: files.remove(paths["tmp_disk"]),
                 lambda: files.remove(paths["console_log"])):
        with contextlib.suppress(SlurmVmError):
            step()
