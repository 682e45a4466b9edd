# -*- coding: utf-8 -*-
# Copyright: hpc.slurm_vm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""slurm_job_comment: write (or clear) the comments that say why VM jobs wait.

The comments come from the plan (scheduler/job_reasons.py). Right before writing, the
jobs' comments are read again in one `squeue`: a comment that is neither empty nor ours
(it does not start with the prefix) was set by the user and is kept, whatever the plan
read earlier. A job that has ended in the meantime is left out. Each distinct comment is
one `scontrol update JobId=<id,id,...> Comment=<text>`.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

from ansible_collections.hpc.slurm_vm.plugins.module_utils.common.errors import InvalidInput
from ansible_collections.hpc.slurm_vm.plugins.module_utils.slurm.client import SlurmCommandError
from ansible_collections.hpc.slurm_vm.plugins.module_utils.slurm.parse_squeue import parse_squeue, squeue_format

COMMENT_FIELDS = ("id", "state", "comment")
COMMENT_FORMAT = squeue_format(COMMENT_FIELDS)
# A job id as squeue -r prints it: 123, an array task 123_4, or a whole array 123.
JOB_ID_RE = re.compile(r"^[0-9]+(_[0-9]+)?$")
MAX_COMMENT = 1024
# Job ids per scontrol update and per squeue -j: one argument of Linux argv holds at most 128 KiB, and a
# backlog of 100,000 pending jobs may be told one reason at once. More ids than this are read with one
# squeue of the whole queue instead.
IDS_PER_CALL = 500
_GONE_TEXT = "Invalid job id specified"


def validate(comments, prefix):
    """The requested items, checked: job ids Slurm prints, one-line comments that start with
    the prefix (or are empty: clear), no job twice. Raises InvalidInput."""
    if not prefix or not prefix.strip():
        raise InvalidInput("prefix must not be empty: it is how our comments are told from the users'")
    seen = {}
    for item in comments:
        text = item["comment"]
        if text and not text.startswith(prefix):
            raise InvalidInput("comment %r does not start with the prefix %r" % (text, prefix))
        if "\n" in text or "\r" in text or len(text) > MAX_COMMENT:
            raise InvalidInput("comment must be one line of at most %d characters: %r" % (MAX_COMMENT, text[:80]))
        for job_id in item["jobs"]:
            if not JOB_ID_RE.match(str(job_id)):
                raise InvalidInput("invalid job id %r (Slurm prints 123 or 123_4)" % job_id)
            if job_id in seen:
                raise InvalidInput("job %s is listed twice (comments %r and %r)" % (job_id, seen[job_id], text))
            seen[job_id] = text
    return seen


def plan(wanted, current, prefix):
    """wanted: {job id: comment}; current: {job id: [comment of each of its tasks]} as read now.
    Returns {"update": {comment: [job ids]}, "kept": {job id: reason}}."""
    update, kept = {}, {}
    for job_id in sorted(wanted):
        text = wanted[job_id]
        now = current.get(job_id)
        if now is None:
            kept[job_id] = "not in the queue any more"
            continue
        foreign = sorted({c for c in now if c and not c.startswith(prefix)})
        if foreign:
            kept[job_id] = "holds a comment that is not ours: %r" % foreign[0]
            continue
        if all(c == text for c in now):
            continue
        update.setdefault(text, []).append(job_id)
    return {"update": update, "kept": kept}


class JobCommentClient(object):
    def __init__(self, slurm):
        self.slurm = slurm  # a slurm.client.SlurmClient: its runner, SLURM_CONF and --clusters

    def _run(self, argv, changes=False):
        if self.slurm.cluster:
            argv = argv[:1] + ["--clusters", self.slurm.cluster] + argv[1:]
        return self.slurm.runner.run(argv, env=self.slurm.env, changes=changes)

    def comments(self, job_ids):
        """{job id: [comment of each of its lines]} for the listed jobs still in the queue. A whole
        array's id collects its tasks' lines. Raises SlurmCommandError when squeue fails."""
        if not job_ids:
            return {}
        argv = ["squeue", "-h", "-r", "-o", COMMENT_FORMAT]
        if len(job_ids) <= IDS_PER_CALL:
            argv[3:3] = ["-j", ",".join(job_ids)]
        result = self._run(argv)
        if result.rc != 0:
            if _GONE_TEXT in result.output:
                return {}  # Slurm answered: none of them is in the queue any more
            raise SlurmCommandError("squeue failed: %s" % result.output.strip(), cmd=list(result.argv),
                                    rc=result.rc, stdout=result.stdout, stderr=result.stderr)
        asked = set(job_ids)
        found = {}
        for job in parse_squeue(result.stdout, COMMENT_FIELDS):
            array_id = job["id"].partition("_")[0]
            key = job["id"] if job["id"] in asked else array_id
            if key in asked:
                found.setdefault(key, []).append(job["comment"])
        return found

    def set_comment(self, job_ids, text):
        """scontrol update for the jobs, IDS_PER_CALL at a time; the command lines. Raises SlurmCommandError."""
        commands = []
        for start in range(0, len(job_ids), IDS_PER_CALL):
            argv = comment_argv(job_ids[start:start + IDS_PER_CALL], text)
            result = self.slurm.scontrol(argv[1:], changes=True)
            if result.rc != 0 and not result.skipped:
                raise SlurmCommandError("scontrol update %s Comment=... failed: %s" % (argv[2], result.output.strip()),
                                        cmd=list(result.argv), rc=result.rc, stdout=result.stdout,
                                        stderr=result.stderr)
            commands.append(argv)
        return commands


def comment_argv(job_ids, text):
    return ["scontrol", "update", "JobId=" + ",".join(job_ids), "Comment=" + text]


def run_slurm_job_comment(module, client):
    params = module.params
    wanted = validate(params["comments"], params["prefix"])
    planned = plan(wanted, client.comments(sorted(wanted)), params["prefix"])
    commands = []
    for text in sorted(planned["update"]):
        ids = planned["update"][text]
        if module.check_mode:
            commands.extend(comment_argv(ids[start:start + IDS_PER_CALL], text)
                            for start in range(0, len(ids), IDS_PER_CALL))
        else:
            commands.extend(client.set_comment(ids, text))
    changed_jobs = sorted(j for ids in planned["update"].values() for j in ids)
    after = {}
    if changed_jobs and not module.check_mode:
        after = client.comments(changed_jobs)
        wrong = sorted(j for j in changed_jobs if j in after and any(c != wanted[j] for c in after[j]))
        if wrong:
            raise SlurmCommandError("Slurm did not keep the comment of job(s) %s" % ",".join(wrong))
    return dict(changed=bool(changed_jobs), changed_jobs=changed_jobs, kept=planned["kept"], commands=commands)
