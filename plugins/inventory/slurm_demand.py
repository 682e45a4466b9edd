# -*- coding: utf-8 -*-
# Copyright: hpc.slurm_vm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
name: slurm_demand
short_description: Slurm queue demand and VM pools of hpc.slurm_vm as an inventory
version_added: 0.1.0
description:
  - Reads ONE snapshot of both clusters with four to six Slurm calls, whatever the number of jobs or nodes.
    VM cluster (pending and running jobs, pool nodes with FUTURE ones, reservations) and host cluster
    (the host jobs C(hpcvm:<host>) with their comments, which name the image version; while host jobs run, the
    states of their hypervisors and the MAINT reservations on them).
  - Every pool node of every image becomes a host in the group C(slurm_vm_image_<image>), with its node
    state, reason, registration, boot time, idle time, running jobs and their end times, host job,
    hypervisor, time left before the host job ends, and the planner's VM state (C(hidden) for a VM whose
    node a slurmctld restart made FUTURE while jobs still run on it).
  - Hypervisors running host jobs become hosts in the group C(slurm_vm_hypervisors).
  - Each image group carries the demand in C(slurm_vm_demand) (pending jobs, requested units, oldest
    wait, job ids (the first 1,000; C(job_ids_truncated) says if there were more) and the longest
    requested time limit). Jobs that are held, wait on a dependency or are
    blocked by a limit are not demand, nor are requeued jobs before their begin time.
  - The whole snapshot is written as JSON to O(snapshot_file), whose path is the variable
    C(slurm_vm_snapshot_file) of the host O(snapshot_host), for M(hpc.slurm_vm.vm_plan).
  - Configuration files must end in C(.slurm_demand.yml) or C(.slurm_demand.yaml).
  - When the source fails (the image table, a missing slurm.conf, a Slurm command that fails or a controller
    that does not answer, the snapshot file), Ansible only warns and goes on without it. So the plugin also sets
    C(slurm_vm_inventory_failure) on O(snapshot_host), with C(source) (this file), C(command) (the Slurm command
    that failed, or null), C(error) and C(msg) (one line saying all three), and sets no C(slurm_vm_snapshot_file).
    The collection's playbooks stop at their first task when there is no snapshot and print that C(msg).
requirements:
  - Slurm client commands (squeue, scontrol) on the controller
  - ClusterShell
extends_documentation_fragment:
  - ansible.builtin.constructed
  - ansible.builtin.inventory_cache
options:
  plugin:
    description: The name of this plugin.
    required: true
    choices: [hpc.slurm_vm.slurm_demand]
    type: str
  vm_slurm_conf:
    description: The VM cluster's slurm.conf (SLURM_CONF for its commands).
    required: true
    type: path
  host_slurm_conf:
    description:
      - The host cluster's slurm.conf. Defaults to O(vm_slurm_conf), for a site that runs both roles
        in one cluster.
    type: path
  images:
    description: The image table (C(slurm_vm_images)), inline.
    type: dict
  images_file:
    description:
      - A YAML file holding the image table under the key C(slurm_vm_images), for example the inventory's
        C(group_vars/all/images.yml). Used when O(images) is not set. Relative to the config file.
    type: str
  snapshot_file:
    description:
      - Where to write the snapshot (JSON, mode 0600), atomically, on every parse.
    type: str
    default: ~/.cache/hpc_slurm_vm/snapshot.json
  snapshot_host:
    description:
      - The host (where the scheduler runs) that gets C(slurm_vm_snapshot_file) and C(slurm_vm_snapshot_age).
      - Added as a local-connection host when the inventory does not have it.
    type: str
    default: localhost
  group_prefix:
    description: Prefix of the per-image groups.
    type: str
    default: slurm_vm_image_
  reason_prefix:
    description:
      - The prefix of the node reasons the collection's teardown sets (the site's
        C(slurm_vm_teardown_reason_prefix)); C(slurm_vm_state) tells a teardown's tail from a stray slurmd by it.
    type: str
    default: "hpc.slurm_vm:"
"""

EXAMPLES = r"""
# inventories/site_demand/site.slurm_demand.yml
plugin: hpc.slurm_vm.slurm_demand
vm_slurm_conf: /etc/slurm-vm/slurm.conf
host_slurm_conf: /etc/slurm/slurm.conf
images_file: ../site/group_vars/all/images.yml
keyed_groups:
  - key: slurm_vm_state
    prefix: vm_state
groups:
  slurm_vm_idle_long: slurm_vm_state == 'idle' and slurm_vm_idle_seconds > 3600
"""

import json
import os
import time

from ansible.errors import AnsibleParserError
from ansible.module_utils.common.text.converters import to_native
from ansible.plugins.inventory import BaseInventoryPlugin, Cacheable, Constructable

from ansible_collections.hpc.slurm_vm.plugins.module_utils.scheduler import image_table
from ansible_collections.hpc.slurm_vm.plugins.module_utils.common import nodeset
from ansible_collections.hpc.slurm_vm.plugins.module_utils.common.errors import SlurmVmError
from ansible_collections.hpc.slurm_vm.plugins.module_utils.common.marks import DEFAULT_REASON_PREFIX
from ansible_collections.hpc.slurm_vm.plugins.module_utils.common.runner import SubprocessRunner
from ansible_collections.hpc.slurm_vm.plugins.module_utils.common.state_files import write_atomic
from ansible_collections.hpc.slurm_vm.plugins.module_utils.slurm.snapshot import (
    SlurmSnapshotReader,
    snapshot_for_file,
)
from ansible_collections.hpc.slurm_vm.plugins.module_utils.scheduler.demand import demand_by_image, demand_summary
from ansible_collections.hpc.slurm_vm.plugins.module_utils.scheduler.planner import DEFAULT_GLOBAL_RULES
from ansible_collections.hpc.slurm_vm.plugins.module_utils.scheduler.vm_state import classify_vm, hosts_with_jobs

try:
    import yaml
except ImportError:  # pragma: no cover - ansible-core requires PyYAML
    yaml = None


# Runs the plugin's Slurm commands (argv lists, no shell, LC_ALL=C); SLURM_CONF comes per call.
SLURM_RUNNER = SubprocessRunner(timeout=120)


class InventoryModule(BaseInventoryPlugin, Constructable, Cacheable):
    NAME = "hpc.slurm_vm.slurm_demand"
    # common/runner.py's interface; None: SLURM_RUNNER. Unit tests set a replaying fake.
    runner = None

    def verify_file(self, path):
        return super(InventoryModule, self).verify_file(path) and path.endswith(
            (".slurm_demand.yml", ".slurm_demand.yaml"))

    def _images(self, path):
        images = self.get_option("images")
        if not images:
            images_file = self.get_option("images_file")
            if not images_file:
                raise AnsibleParserError("%s: set images or images_file" % path)
            images_file = os.path.expanduser(images_file)
            if not os.path.isabs(images_file):
                images_file = os.path.join(os.path.dirname(os.path.abspath(path)), images_file)
            try:
                with open(images_file) as handle:
                    images = (yaml.safe_load(handle) or {}).get("slurm_vm_images")
            except OSError as exc:
                raise AnsibleParserError("%s: cannot read images_file: %s" % (path, to_native(exc))) from exc
        try:
            return image_table.normalize_table(images)
        except SlurmVmError as exc:
            raise AnsibleParserError("%s: %s" % (path, exc.message)) from exc

    def parse(self, inventory, loader, path, cache=True):
        started = time.time()
        super(InventoryModule, self).parse(inventory, loader, path, cache)
        try:
            self._read_config_data(path)
            self._parse(path, cache, started)
        except Exception as exc:
            # ansible-core turns this into a warning and goes on: leave the playbooks the reason
            self._record_failure(path, exc)
            raise

    def _record_failure(self, path, exc):
        cause = exc.__cause__ if isinstance(exc.__cause__, SlurmVmError) else None
        argv = cause.details.get("cmd") if cause is not None else None
        command = " ".join(argv) if isinstance(argv, (list, tuple)) else argv
        error = cause.message if cause is not None else to_native(exc)
        if error.startswith(path + ": "):
            error = error[len(path) + 2:]
        try:
            snapshot_host = self.get_option("snapshot_host") or "localhost"
        except Exception:  # noqa: BLE001 - the config itself did not load
            snapshot_host = "localhost"
        self._add_snapshot_host(snapshot_host)
        self.inventory.set_variable(snapshot_host, "slurm_vm_inventory_failure", {
            "source": path, "command": command, "error": error,
            "msg": "no Slurm snapshot: the inventory source %s (hpc.slurm_vm.slurm_demand) failed: %s" % (path, error),
        })

    def _parse(self, path, cache, started):
        images = self._images(path)
        cache_key = self.get_cache_key(path)
        use_cache = self.get_option("cache") and cache
        snapshot = None
        if use_cache:
            try:
                snapshot = self._cache[cache_key]
            except KeyError:
                snapshot = None
        if snapshot is None:
            vm_conf = self.get_option("vm_slurm_conf")
            host_conf = self.get_option("host_slurm_conf") or vm_conf
            for conf in (vm_conf, host_conf):
                if not os.path.exists(conf):
                    raise AnsibleParserError("%s: slurm.conf %s does not exist" % (path, conf))
            reader = SlurmSnapshotReader(self.runner or SLURM_RUNNER, vm_conf, host_conf)
            hosts = [h for image in images.values() for h in image["hosts"]]
            try:
                snapshot = reader.read(hosts)
            except SlurmVmError as exc:
                raise AnsibleParserError("%s: %s" % (path, exc.message)) from exc
            snapshot["calls"] = reader.calls
        if self.get_option("cache"):
            self._cache[cache_key] = snapshot
        self._populate(snapshot, images)
        self.inventory.set_variable(self.get_option("snapshot_host"), "slurm_vm_inventory_seconds",
                                    round(time.time() - started, 4))

    def _write_snapshot(self, snapshot):
        path = os.path.expanduser(self.get_option("snapshot_file"))
        directory = os.path.dirname(path) or "."
        try:
            os.makedirs(directory, mode=0o700, exist_ok=True)
            # one shot (the C encoder), with array tasks grouped
            write_atomic(path, json.dumps(snapshot_for_file(snapshot), separators=(",", ":")), mode=0o600)
        except OSError as exc:
            raise AnsibleParserError("cannot write the snapshot to %s: %s" % (path, to_native(exc))) from exc
        return path

    def _populate(self, snapshot, images):
        now = snapshot["time"]
        snapshot_host = self._add_snapshot_host()
        self.inventory.set_variable(snapshot_host, "slurm_vm_snapshot_file", self._write_snapshot(snapshot))
        self.inventory.add_group("slurm_vm_hypervisors")
        demand = demand_by_image(snapshot["vm_jobs"], images, now)
        context = {"snapshot": snapshot, "running": running_jobs_by_node(snapshot["vm_jobs"]),
                   "busy_hosts": hosts_with_jobs(snapshot["vm_jobs"])}
        for name in sorted(images):
            image = images[name]
            group = self.inventory.add_group(self.get_option("group_prefix") + name)
            # At most 1,000 job ids per group: the whole list is in the snapshot file, and
            # ansible-core tags every value of an inventory variable one by one.
            summary = demand_summary(demand[name], image, now, max_ids=1000)
            self.inventory.set_variable(group, "slurm_vm_demand", summary)
            for host in image["hosts"]:
                self.inventory.add_host(host, group=group)
                self._set_host_vars(host, self._vm_host_vars(host, image, context), summary)
        for hypervisor, guests in sorted(guests_by_hypervisor(snapshot["host_jobs"]).items()):
            self.inventory.add_host(hypervisor, group="slurm_vm_hypervisors")
            self.inventory.set_variable(hypervisor, "slurm_vm_guests", guests)
        self.inventory.set_variable(snapshot_host, "slurm_vm_snapshot_age", int(time.time()) - now)

    def _add_snapshot_host(self, snapshot_host=None):
        """The host that gets the snapshot file's name: as an inventory variable, ansible-core 2.19
        would tag every one of the snapshot's values (over 1 s for 10,000 jobs), and
        `ansible-inventory --list` would repeat it per host."""
        snapshot_host = snapshot_host or self.get_option("snapshot_host")
        if snapshot_host not in self.inventory.hosts:
            self.inventory.add_host(snapshot_host)
            if snapshot_host == "localhost":
                # what the implicit localhost would have had
                for key, value in (("ansible_connection", "local"),
                                   ("ansible_python_interpreter", "{{ ansible_playbook_python }}")):
                    self.inventory.set_variable(snapshot_host, key, value)
        return snapshot_host

    def _vm_host_vars(self, host, image, context):
        snapshot = context["snapshot"]
        now = snapshot["time"]
        vm = classify_vm(host, image, snapshot, (), DEFAULT_GLOBAL_RULES, context["busy_hosts"],
                         reason_prefix=self.get_option("reason_prefix") or DEFAULT_REASON_PREFIX)
        node = vm["node"] or {}
        host_job = vm["host_job"] or {}
        return {
            "slurm_vm_image": image["name"],
            "slurm_vm_state": vm["state"],
            "slurm_vm_mac": image_table.vm_mac(image, host),
            "slurm_vm_ip": image_table.vm_ip(image, host),
            "slurm_node_state": node.get("state"),
            "slurm_node_flags": node.get("flags", []),
            "slurm_node_reason": node.get("reason", ""),
            "slurm_node_registered": node.get("registered", False),
            "slurm_node_boot_time": node.get("boot_time"),
            "slurm_vm_idle_since": vm.get("idle_since"),
            "slurm_vm_idle_seconds": now - vm["idle_since"] if vm.get("idle_since") else None,
            "slurm_vm_running_jobs": context["running"].get(host, []),
            "slurm_vm_host_job": host_job.get("id"),
            "slurm_vm_host_job_state": host_job.get("state"),
            "slurm_vm_hypervisor": host_job.get("hypervisor"),
            "slurm_vm_time_left": (host_job["end"] - now) if host_job.get("end") else None,
            "slurm_vm_reservation": vm["reservation"],
        }

    def _set_host_vars(self, host, hostvars, summary):
        strict = self.get_option("strict")
        for key, value in hostvars.items():
            self.inventory.set_variable(host, key, value)
        variables = dict(hostvars, inventory_hostname=host, slurm_vm_demand=summary)
        self._set_composite_vars(self.get_option("compose"), variables, host, strict=strict)
        self._add_host_to_composed_groups(self.get_option("groups"), variables, host, strict=strict)
        self._add_host_to_keyed_groups(self.get_option("keyed_groups"), variables, host, strict=strict)


def running_jobs_by_node(vm_jobs):
    """{node: [{id, end, user}]} of the VM-cluster jobs running (or completing) on each node."""
    running = {}
    for job in vm_jobs:
        if job["state"] in ("RUNNING", "COMPLETING") and job["nodelist"]:
            try:
                names = nodeset.expand(job["nodelist"])
            except SlurmVmError:
                names = []
            for name in names:
                running.setdefault(name, []).append({"id": job["id"], "end": job["end"], "user": job["user"]})
    return running


def guests_by_hypervisor(host_jobs):
    """{hypervisor: [VM hostnames, sorted]} of the running host jobs."""
    guests = {}
    for vm_name, job in host_jobs.items():
        if job["state"] == "RUNNING" and job.get("hypervisor"):
            guests.setdefault(job["hypervisor"], []).append(vm_name)
    return {hypervisor: sorted(names) for hypervisor, names in guests.items()}
