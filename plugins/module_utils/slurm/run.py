# -*- coding: utf-8 -*-
# Copyright: hpc.slurm_vm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The Slurm modules' work: slurm_host_job, slurm_node_state, slurm_reservation and
slurm_reservation_info.

Each run_* function takes the module's AnsibleModule, makes the SlurmClient from the
shared connection options, reads, plans with the pure functions of host_job.py,
node_state.py and reservation.py, applies the plan unless in check mode, and returns
the module's result. Typed errors propagate; the module's main() hands the function to
common/module_exit.exit_with_result, which turns them into one fail_json.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import time

from ansible_collections.hpc.slurm_vm.plugins.module_utils.common import nodeset
from ansible_collections.hpc.slurm_vm.plugins.module_utils.common.errors import InvalidInput, SlurmVmError
from ansible_collections.hpc.slurm_vm.plugins.module_utils.common.runner import CommandRunner
from ansible_collections.hpc.slurm_vm.plugins.module_utils.slurm import host_job
from ansible_collections.hpc.slurm_vm.plugins.module_utils.slurm import node_state
from ansible_collections.hpc.slurm_vm.plugins.module_utils.slurm import reservation as resv
from ansible_collections.hpc.slurm_vm.plugins.module_utils.slurm.client import SlurmClient
from ansible_collections.hpc.slurm_vm.plugins.module_utils.slurm.parse import reservation_from_record


def slurm_client(module):
    """A SlurmClient on the module's connection options (slurm_conf, cluster)."""
    return SlurmClient(CommandRunner(module), module.params["slurm_conf"], module.params["cluster"])


# ---------------------------------------------------------------- slurm_host_job
def run_slurm_host_job(module):
    params = module.params
    wanted = host_job.validate(params["jobs"], params["state"])
    client = host_job.HostJobClient(slurm_client(module))
    planned = host_job.plan(client.list(list(wanted)), wanted, params["state"])
    if params["state"] == "absent":
        return _cancel_host_jobs(client, wanted, planned)
    jobs, failed, commands = _submit_host_jobs(client, wanted, planned, params)
    if not module.check_mode:
        try:
            _read_back_host_jobs(client, jobs, params["wait"])
        except SlurmVmError as exc:
            # the jobs exist now: the failure says which, so the caller can record or cancel them
            submitted = [j for j in jobs if j["action"] == "submitted"]
            exc.message = "%s (after sbatch submitted %s)" % (
                exc.message, ", ".join("%s as job %s" % (j["hostname"], j["job_id"]) for j in submitted) or "nothing")
            exc.details.update(changed=bool(submitted), jobs=jobs, failed_jobs=failed, commands=commands)
            raise
    result = dict(changed=any(j["action"] == "submitted" for j in jobs), jobs=jobs, failed_jobs=failed,
                  commands=commands)
    if failed and params["fail_on_error"]:
        module.fail_json(msg="sbatch refused %d host job(s): %s" % (len(failed), "; ".join(f["msg"] for f in failed)),
                         **result)
    return result


def _cancel_host_jobs(client, wanted, planned):
    commands = []
    ids = [job_id for _host, job_id in planned["cancel"]]
    if ids:
        commands.append(["scancel"] + ids)
        client.cancel(ids)
    cancelled = dict(planned["cancel"])
    jobs = [{"hostname": host, "job_id": cancelled.get(host), "action": "cancelled" if host in cancelled else "absent"}
            for host in wanted]
    return dict(changed=bool(ids), jobs=jobs, failed_jobs=[], commands=commands)


def _submit_host_jobs(client, wanted, planned, params):
    """(jobs, failed_jobs, commands): a host with a live job keeps it, the others are submitted."""
    jobs, failed, commands = [], [], []
    for host, job in wanted.items():
        if host in planned["keep"]:
            jobs.append({"hostname": host, "job_id": planned["keep"][host]["job_id"], "action": "kept"})
            continue
        commands.append(host_job.sbatch_argv(job, params))
        try:
            job_id = client.submit(job, params)
        except host_job.HostJobSubmitFailed as exc:
            failed.append({"hostname": host, "msg": exc.message})
            jobs.append({"hostname": host, "job_id": None, "action": "failed"})
            continue
        jobs.append({"hostname": host, "job_id": job_id, "action": "submitted"})
    return jobs, failed, commands


def _read_back_host_jobs(client, jobs, wait):
    """Add state, node, start and end to each job with an id, after waiting up to `wait` seconds."""
    live = [j["hostname"] for j in jobs if j["job_id"]]
    if not live:
        return
    found = client.wait_started(live, wait) if wait > 0 else client.list(live)
    for entry in jobs:
        current = [j for j in found.get(entry["hostname"], []) if j["job_id"] == entry["job_id"]]
        if current:
            entry.update(state=current[0]["state"], node=current[0]["node"], start=current[0]["start"],
                         end=current[0]["end"])


# -------------------------------------------------------------- slurm_node_state
def run_slurm_node_state(module):
    params = module.params
    names = list(dict.fromkeys(nodeset.expand(params["nodes"])))
    if not names:
        raise InvalidInput("nodes is empty")
    client = slurm_client(module)
    expression = nodeset.fold(names)  # once: folding 1,000 names is not free
    if params["wait_registered"]:
        before = node_state.wait_registered(client, names, params["timeout"], expression=expression)
    else:
        before = client.show_nodes(names, expression)
    planned = node_state.plan(before, names, params["state"], params["reason"], params["only_if_registered"],
                              expression)
    commands = [["update", "nodename=%s" % group_expression, "state=%s" % request]
                + (["reason=%s" % request_reason] if request_reason else [])
                for request, request_reason, _group, group_expression in planned["groups"]]
    after = planned["after"] if module.check_mode else node_state.apply(client, names, before, planned, expression)
    changed_nodes = [n for n in names if n in planned["changes"]]
    result = dict(
        changed=bool(changed_nodes),
        changed_nodes=changed_nodes,
        changed_expression=_changed_expression(names, changed_nodes, planned, expression),
        commands=commands,
        nodes={n: dict(changed=n in planned["changes"], request=planned["changes"].get(n),
                       before=_node_view(before[n]), after=_node_view(after[n])) for n in names},
    )
    if module._diff:
        result["diff"] = dict(before={n: node_state.diff_view(before[n]) for n in changed_nodes},
                              after={n: node_state.diff_view(after[n]) for n in changed_nodes})
    return result


def _changed_expression(names, changed_nodes, planned, expression):
    """The hostlist of the changed nodes, folded again only when no expression at hand says it."""
    if len(changed_nodes) == len(names):
        return expression
    if len(planned["groups"]) == 1:
        return planned["groups"][0][3]
    return nodeset.fold(changed_nodes) if changed_nodes else ""


def _node_view(node):
    return dict(state=node["state"], reason=node["reason"], registered=node["registered"])


# ------------------------------------------------------------- slurm_reservation
def run_slurm_reservation(module):
    params = module.params
    name = resv.validate_name(params["name"])
    client = slurm_client(module)
    now = int(time.time())
    desired = resv.desired_from_params(params, now) if params["state"] == "present" else None
    before = _read_reservation(client, name)
    command, after = _change_reservation(client, name, before, desired, params, now, module.check_mode)
    if command and not module.check_mode and params["state"] == "present":
        after = _read_reservation(client, name)

    result = dict(changed=bool(command), command=command,
                  reservation=resv.public_view(after) if after else {})
    if module._diff:
        result["diff"] = dict(before=resv.public_view(before) if before else {},
                              after=resv.public_view(after) if after else {})
    return result


def _read_reservation(client, name):
    record = client.reservation(name)
    return reservation_from_record(record) if record else None


def _change_reservation(client, name, before, desired, params, now, check_mode):
    """(the scontrol arguments, the predicted reservation after); runs them unless in check mode.
    One command at most: delete, create or update."""
    command, after = [], before
    if params["state"] == "absent":
        if before is not None:
            resv.check_ownership(before, "delete", params["force"])
            command, after = ["delete", "ReservationName=%s" % name], None
            if not check_mode:
                client.delete_reservation(name)
    elif before is None:
        args = resv.create_args(desired)
        command, after = ["create", "reservation"] + args, resv.predict_created(desired, now)
        if not check_mode:
            client.create_reservation(args)
    else:
        args, after = resv.update_args(before, desired, now, params["time_tolerance"])
        if args:
            resv.check_ownership(before, "change", params["force"])
            command = ["update", "ReservationName=%s" % name] + args
            if not check_mode:
                client.update_reservation(name, args)
    return command, after


# -------------------------------------------------------- slurm_reservation_info
def run_slurm_reservation_info(module):
    found = [reservation_from_record(r) for r in slurm_client(module).reservations()]
    found = resv.filter_by_prefix(found, module.params["name_prefix"])
    return dict(changed=False, reservations=[dict(resv.public_view(r), owned=resv.owned(r))
                                             for r in sorted(found, key=lambda r: r["name"])])
