# -*- coding: utf-8 -*-
# Copyright: hpc.slurm_vm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Ownership marks and shared names: the one place that says what "ours" looks like.

Every part of the collection that writes or recognizes one of these names imports it
from here (DESIGN.md, "Ownership marks"); role YAML reaches them through the filters
in plugins/filter/marks.py. Only the teardown reason prefix is a site setting
(slurm_vm_teardown_reason_prefix); DEFAULT_REASON_PREFIX is its default.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.hpc.slurm_vm.plugins.module_utils.common.errors import InvalidInput

# Slurm: the host job of VM <host> on the host cluster, and its reservation in the VM cluster.
HOST_JOB_PREFIX = "hpcvm:"
RESERVATION_PREFIX = "hpcvm-"
# Slurm 22.05 reservations have no Comment field, so the mark of a reservation is its name AND the shape the
# spawn role gives it (roles/spawn/tasks/main.yml): Nodes exactly <host>, Users exactly RESERVATION_USERS, no
# Accounts, no Flags (Slurm's own SPEC_NODES aside), no PartitionName. Its times are not part of the mark:
# the collection sets them from the host job and moves them.
RESERVATION_USERS = ("root",)
# Node reasons the collection sets start with this (slurm_vm_teardown_reason_prefix).
DEFAULT_REASON_PREFIX = "hpc.slurm_vm:"
# DNS: the TXT mark's tag ("hpc.slurm_vm vm=<host> image=<img> job=<hostjob>");
# Kea: the key of the reservation's user-context.
MARK_TAG = "hpc.slurm_vm"
# dnsmasq: the hostsdir file name; ISC dhcpd: the host object name.
DHCP_NAME_PREFIX = "hpc-slurm-vm-"
# libvirt: the domain metadata's namespace and its XML prefix.
LIBVIRT_NAMESPACE = "urn:hpc.slurm_vm:1"
LIBVIRT_NAMESPACE_PREFIX = "hpcvm"


def host_job_name(host):
    """'vm-a-001' -> 'hpcvm:vm-a-001'."""
    return HOST_JOB_PREFIX + host


def host_job_comment(image, host, version=None):
    """The host job's comment: what it runs, for admins (squeue -O comment) and the planner (the version)."""
    comment = "%s image=%s vm=%s" % (MARK_TAG, image, host)
    return comment + " version=%s" % version if version else comment


def host_job_comment_fields(comment):
    """{key: value} of a host job comment host_job_comment wrote ({} for any other comment)."""
    words = (comment or "").split()
    if not words or words[0] != MARK_TAG:
        return {}
    return dict(word.split("=", 1) for word in words[1:] if "=" in word)


def _host_after(prefix, name):
    """What follows prefix in name: the VM hostname a mark names; None when name is not marked (or is the bare
    prefix)."""
    if name and name.startswith(prefix) and len(name) > len(prefix):
        return name[len(prefix):]
    return None


def host_of_job(job_name):
    """The VM hostname a host job's name marks, or None for a job that is not ours."""
    return _host_after(HOST_JOB_PREFIX, job_name)


def reservation_name(host):
    """'vm-a-001' -> 'hpcvm-vm-a-001'."""
    return RESERVATION_PREFIX + host


def host_of_reservation(name):
    """The VM hostname a reservation's name marks, or None for a reservation that is not ours."""
    return _host_after(RESERVATION_PREFIX, name)


def reservation_mark_mismatches(name, nodes, users, accounts=(), flags=(), partition=None):
    """What a reservation named `name` holds where the collection's own would hold something else, as
    [(Slurm field, what it holds, what ours holds)]; [] when it carries the mark. nodes, users, accounts,
    flags: lists (flags without the ones Slurm sets itself); partition: a name or None.
    A name without RESERVATION_PREFIX gives [("ReservationName", name, "hpcvm-<host>")]."""
    host = host_of_reservation(name)
    if host is None:
        return [("ReservationName", name, RESERVATION_PREFIX + "<host>")]
    ours = (("Nodes", sorted(nodes or []), [host]), ("Users", sorted(users or []), sorted(RESERVATION_USERS)),
            ("Accounts", sorted(accounts or []), []), ("Flags", sorted(flags or []), []))
    mismatches = [(field, held, wanted) for field, held, wanted in ours if held != wanted]
    if partition:
        mismatches.append(("PartitionName", partition, None))
    return mismatches


def dhcp_object_name(host):
    """'vm-a-001' -> 'hpc-slurm-vm-vm-a-001' (dnsmasq hostsdir file, ISC dhcpd host object)."""
    return DHCP_NAME_PREFIX + host


# An admin's reason (a drain's node reason; a pause's, which reaches the users' job comments: at most 1024
# characters there with the prefix and image name): one printable line, this long at most.
MAX_ADMIN_REASON = 200


def admin_reason_text(reason, missing):
    """reason stripped: one printable line of at most MAX_ADMIN_REASON characters. Raises InvalidInput with
    missing (what to say when it is empty) or the rule it breaks."""
    text = (reason or "").strip()
    if not text:
        raise InvalidInput(missing)
    if len(text) > MAX_ADMIN_REASON or any(ord(c) < 32 or ord(c) == 127 for c in text):
        raise InvalidInput("the reason must be one line of at most %d printable characters: %r"
                           % (MAX_ADMIN_REASON, text[:80]))
    return text
