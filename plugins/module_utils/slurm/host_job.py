# -*- coding: utf-8 -*-
# Copyright: hpc.slurm_vm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The VMs' host jobs on the host cluster: one exclusive job per VM, named
hpcvm:<host>. A pure plan (which to submit, which exist, which to cancel) and a
client that lists them with one squeue and submits them with sbatch, script on stdin."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re
import time

from ansible_collections.hpc.slurm_vm.plugins.module_utils.common.marks import host_job_name
from ansible_collections.hpc.slurm_vm.plugins.module_utils.common.errors import InvalidInput
from ansible_collections.hpc.slurm_vm.plugins.module_utils.common.hostnames import is_vm_hostname
from ansible_collections.hpc.slurm_vm.plugins.module_utils.slurm.client import SlurmCommandError
from ansible_collections.hpc.slurm_vm.plugins.module_utils.slurm.durations import parse_duration
from ansible_collections.hpc.slurm_vm.plugins.module_utils.slurm.parse import HOST_JOB_LIVE_STATES
from ansible_collections.hpc.slurm_vm.plugins.module_utils.slurm.parse_squeue import (
    HOST_JOB_FIELDS,
    parse_host_jobs,
    squeue_format,
)

# sbatch option values reach sbatch as separate argv words; still refuse what Slurm would misread.
_COMMENT_RE = re.compile(r"^[^\n\r\0]*$")


class HostJobSubmitFailed(SlurmCommandError):
    """sbatch refused a host job."""


def validate(jobs, state):
    """Check the requested jobs; returns them keyed by hostname (the order kept)."""
    wanted = {}
    for job in jobs:
        host = job.get("hostname") or ""
        if not is_vm_hostname(host):
            raise InvalidInput("invalid hostname %r (a lowercase DNS label)" % host)
        if host in wanted:
            raise InvalidInput("hostname %s is listed twice" % host)
        if state == "present":
            if not job.get("script"):
                raise InvalidInput("job of %s has no script" % host)
            if job.get("time_limit"):
                _check_time_limit(job["time_limit"], host)
            if not _COMMENT_RE.match(job.get("comment") or ""):
                raise InvalidInput("the comment of %s spans lines" % host)
        wanted[host] = job
    return wanted


def _check_time_limit(value, host):
    """sbatch's --time forms (slurm/durations.py owns them), given as sbatch will read them; never UNLIMITED:
    a host job must end, the VM's life is planned to end before it."""
    text = str(value)
    try:
        seconds = parse_duration(text) if text == text.strip() else None
    except InvalidInput:
        seconds = None
    if seconds is None:
        raise InvalidInput("invalid time_limit %r for %s (Slurm [D-]HH:MM:SS)" % (value, host))


SQUEUE_FORMAT = squeue_format(HOST_JOB_FIELDS)


def plan(existing, wanted, state):
    """existing: parse_squeue.parse_host_jobs() result; wanted: validate() result.
    present: submit the hosts without a live job (a live one is kept, never duplicated).
    absent: cancel every live job of the hosts."""
    result = {"submit": [], "keep": {}, "cancel": []}
    for host in wanted:
        live = [j for j in existing.get(host, []) if j["state"] in HOST_JOB_LIVE_STATES]
        if state == "present":
            if live:
                result["keep"][host] = live[0]
            else:
                result["submit"].append(host)
        else:
            result["cancel"].extend((host, j["job_id"]) for j in live)
    return result


def sbatch_argv(job, options):
    """The sbatch command line for one host job (the script comes on stdin)."""
    host = job["hostname"]
    # --no-requeue: a VM dies with its hypervisor; its name goes back to the pool instead
    argv = ["sbatch", "--parsable", "--job-name=" + host_job_name(host), "--chdir=" + options["chdir"], "--no-requeue"]
    if options["exclusive"]:
        argv.append("--exclusive")
    if options.get("partition"):
        argv.append("--partition=" + options["partition"])
    if job.get("time_limit"):
        argv.append("--time=%s" % job["time_limit"])
    if options.get("signal_grace"):
        argv.append("--signal=B:TERM@%d" % int(options["signal_grace"]))
    if job.get("comment"):
        argv.append("--comment=" + job["comment"])
    if options.get("output_dir"):
        argv.append("--output=%s/%s-%%j.out" % (options["output_dir"].rstrip("/"), host))
    return argv


class HostJobClient(object):
    def __init__(self, slurm):
        self.slurm = slurm  # a slurm.client.SlurmClient: its runner, SLURM_CONF and --clusters

    def _run(self, argv, changes=False, data=None):
        if self.slurm.cluster:
            argv = argv[:1] + ["--clusters", self.slurm.cluster] + argv[1:]
        return self.slurm.runner.run(argv, env=self.slurm.env, changes=changes, data=data)

    def list(self, hosts):
        if not hosts:
            return {}
        result = self._run(["squeue", "-h", "--name=" + ",".join(host_job_name(h) for h in hosts),
                            "-o", SQUEUE_FORMAT])
        if result.rc != 0:
            raise SlurmCommandError("squeue failed: %s" % result.output.strip(), cmd=list(result.argv),
                                    rc=result.rc, stdout=result.stdout, stderr=result.stderr)
        return parse_host_jobs(result.stdout)

    def submit(self, job, options):
        result = self._run(sbatch_argv(job, options), changes=True, data=job["script"])
        if result.skipped:
            return None
        job_id = result.stdout.strip().split(";", 1)[0]
        if result.rc != 0 or not job_id.isdigit():
            raise HostJobSubmitFailed("sbatch failed for %s: %s" % (job["hostname"], result.output.strip()),
                                      cmd=list(result.argv), rc=result.rc, stdout=result.stdout,
                                      stderr=result.stderr)
        return job_id

    def wait_started(self, hosts, timeout, interval=0.25, clock=time.monotonic, sleep=time.sleep):
        """Poll until no job of hosts is PENDING any more, or timeout seconds pass; returns
        the last list() result. One squeue per poll (a host job on a free hypervisor starts
        within about a second)."""
        deadline = clock() + timeout
        while True:
            found = self.list(hosts)
            pending = [h for h in hosts if any(j["state"] == "PENDING" for j in found.get(h, []))]
            if not pending or clock() >= deadline:
                return found
            sleep(interval)

    def cancel(self, job_ids):
        if not job_ids:
            return
        result = self._run(["scancel"] + list(job_ids), changes=True)
        if result.rc != 0:
            raise SlurmCommandError("scancel failed: %s" % result.output.strip(), cmd=list(result.argv),
                                    rc=result.rc, stdout=result.stdout, stderr=result.stderr)
