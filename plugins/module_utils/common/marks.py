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

# Slurm: the host job of VM <host> on the host cluster, and its reservation in the VM cluster.
HOST_JOB_PREFIX = "hpcvm:"
RESERVATION_PREFIX = "hpcvm-"
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


def dhcp_object_name(host):
    """'vm-a-001' -> 'hpc-slurm-vm-vm-a-001' (dnsmasq hostsdir file, ISC dhcpd host object)."""
    return DHCP_NAME_PREFIX + host
