# -*- coding: utf-8 -*-
# Copyright: hpc.slurm_vm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Whether a scheduler run reconciles, and whether that reconcile sweeps every hypervisor.

The scheduler writes the run's start time into a stamp file after each reconcile (and each sweep);
a run is due when the last one is at least the interval ago. A stamp that is missing, empty or not a
number counts as never: the run is due (the reconciler is what finds what a crash left behind).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import errno

from ansible_collections.hpc.slurm_vm.plugins.module_utils.common.errors import InvalidInput


def read_stamp(path):
    """The time a stamp file holds (epoch seconds), or 0.0 for never."""
    try:
        with open(path) as handle:
            text = handle.read().strip()
    except OSError as exc:
        if exc.errno == errno.ENOENT:
            return 0.0
        raise InvalidInput("cannot read the stamp file %s: %s" % (path, exc.strerror)) from None
    try:
        return float(text)
    except ValueError:
        return 0.0


def reconcile_schedule(options, now):
    """options: {interval, sweep_interval, sweep (None: by interval), stamp_file, sweep_stamp_file} ->
    {reconcile_due, sweep_due, reconcile_last, sweep_last} at time now."""
    for key in ("interval", "sweep_interval"):
        if options.get(key) is None or options[key] < 0:
            raise InvalidInput("reconcile.%s must be 0 or more seconds, got %r" % (key, options.get(key)))
    last = read_stamp(options["stamp_file"])
    sweep_last = read_stamp(options["sweep_stamp_file"])
    sweep = options.get("sweep")
    return {
        "reconcile_due": now - last >= options["interval"],
        "sweep_due": bool(sweep) if sweep is not None else now - sweep_last >= options["sweep_interval"],
        "reconcile_last": last,
        "sweep_last": sweep_last,
    }
