# Copyright: hpc.slurm_vm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Role host_prep's Epilog snippet in the lab's host cluster (issue 10): a host job
SIGKILLed before its trap could run still loses its VM, files and marker."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import subprocess
import uuid

from ..conftest import wait_until

URI = "qemu:///system"
# A throwaway domain: no disk, no network, 32 MiB; SeaBIOS finds nothing to boot and waits.
DOMAIN_XML = """<domain type='qemu'>
  <name>{name}</name>
  <memory unit='MiB'>32</memory>
  <vcpu>1</vcpu>
  <os><type arch='x86_64'>hvm</type></os>
  <devices><emulator>/usr/bin/qemu-system-x86_64</emulator></devices>
</domain>"""


def virsh(*args):
    return subprocess.run(["virsh", "-q", "-c", URI] + list(args), capture_output=True, text=True, check=False,
                          timeout=60)


def test_epilog_cleans_up_after_a_sigkilled_host_job(lab, tmp_path):
    vm = "epilogtest-%s" % uuid.uuid4().hex[:6]
    vm_dir = os.path.join(lab.dir, "guests")
    marker_dir = os.path.join(lab.dir, "hostjobs")
    os.makedirs(vm_dir, exist_ok=True)
    xml = tmp_path / "domain.xml"
    xml.write_text(DOMAIN_XML.format(name=vm))
    files = [os.path.join(vm_dir, vm + suffix) for suffix in (".tmp.qcow2", ".console.log")]
    job_id = None
    try:
        assert virsh("define", str(xml)).returncode == 0
        assert virsh("start", vm).returncode == 0
        for path in files:
            with open(path, "w") as handle:
                handle.write("x")
        # what the real host job does first (roles/claim/templates/host_job.sh.j2), then it waits
        script = "#!/bin/sh\nmkdir -p %s\nprintf 'vm=%%s\\n' %s > %s/$SLURM_JOB_ID\nsleep 600\n" % (
            marker_dir, vm, marker_dir)
        job_id = lab.run(["sbatch", "--parsable", "--chdir=/", "--exclusive", "--job-name=hpcvm:" + vm, "-t", "10"],
                         cluster="host", input=script).stdout.strip().split(";")[0]
        marker = os.path.join(marker_dir, job_id)
        wait_until(lambda: os.path.exists(marker), 30, what="the host job to write its marker")
        # SIGKILL the batch shell: no trap runs; only the Epilog can clean up
        lab.run(["scancel", "--signal=KILL", "--batch", job_id], cluster="host")
        wait_until(lambda: virsh("domstate", vm).returncode != 0, 60, what="the Epilog to destroy and undefine %s" % vm)
        assert not any(os.path.exists(p) for p in files), [p for p in files if os.path.exists(p)]
        assert not os.path.exists(marker)
    finally:
        if job_id:
            lab.run(["scancel", job_id], cluster="host", check=False)
        virsh("destroy", vm)
        virsh("undefine", vm)
        for path in files:
            if os.path.exists(path):
                os.unlink(path)
