# Copyright: hpc.slurm_vm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""One VM's whole life in the lab, driven only by the scheduler play.

Used by the end-to-end test (tests/e2e) and by `make demo` (lab/demo), so both
tell the same story: a pending --gres=vm_<image>:1 job gets a VM, runs in it,
the VM goes idle and is torn down, and every trace of it is gone.
Run inside the lab network namespace (lab/exec).
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import subprocess
import time

import dns.exception
import dns.message
import dns.query
import dns.rcode
import dns.rdatatype
import dns.reversename
import yaml

from ansible_collections.hpc.slurm_vm.plugins.module_utils.scheduler import image_table

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
LAB_DIR = os.environ.get("HPCVM_LAB_DIR", "/tmp/hpcvm-lab")
VM_CONF = os.path.join(LAB_DIR, "etc", "vm", "slurm.conf")
HOST_CONF = os.path.join(LAB_DIR, "etc", "host", "slurm.conf")
DNS_SERVER = "10.77.0.1"
ZONE = "vms.lab.test"


class StoryError(AssertionError):
    pass


def run(argv, conf=VM_CONF, check=True, timeout=120):
    env = dict(os.environ, SLURM_CONF=conf, LC_ALL="C")
    proc = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=timeout, check=False)
    if check and proc.returncode != 0:
        raise StoryError("%s failed (rc %d): %s%s"
                         % (argv, proc.returncode, proc.stdout[-2000:], proc.stderr[-2000:]))
    return proc


def scontrol_fields(text):
    fields = {}
    key = None
    for word in text.strip().split(" "):
        name, sep, value = word.partition("=")
        if sep and name.isalnum():
            key = name
            fields[key] = value
        elif key:
            fields[key] += " " + word
    return fields


def job(job_id, conf=VM_CONF):
    """The job's fields. Fails when Slurm does not answer or no longer knows the job: the lab keeps
    finished jobs for an hour (MinJobAge), so an unknown job is never read as a finished one."""
    return scontrol_fields(run(["scontrol", "-o", "show", "job", job_id], conf=conf).stdout)


def node(name):
    """The node's fields; fails when Slurm does not answer or does not know the node."""
    return scontrol_fields(run(["scontrol", "-F", "-o", "show", "node", name]).stdout)


class Story(object):
    """Drives the scheduler and records what happens, with timings."""

    def __init__(self, image="deb12", idle_timeout=20, say=print, rules=None, extra_vars=None, name="story",
                 image_rules=None):
        """rules: more rules for the image; image_rules: {other image: more rules};
        extra_vars: more variables for the scheduler runs."""
        self.image = image
        self.say = say
        self.t0 = time.time()
        self.events = []
        with open(os.path.join(REPO, "inventories", "lab", "group_vars", "all", "images.yml")) as handle:
            images = yaml.safe_load(handle)["slurm_vm_images"]
        images[image].setdefault("rules", {})["idle_timeout"] = idle_timeout
        images[image]["rules"].update(rules or {})
        for other, more in (image_rules or {}).items():
            images[other].setdefault("rules", {}).update(more)
        os.makedirs(os.path.join(LAB_DIR, "scheduler"), exist_ok=True)
        self.extra_vars = os.path.join(LAB_DIR, "scheduler", "%s-vars.json" % name)
        self.more_vars = dict(extra_vars or {})
        self.images = images
        self.write_images()

    def write_images(self):
        """The scheduler runs from now on use self.images (a test may change it)."""
        with open(self.extra_vars, "w") as handle:
            json.dump(dict(self.more_vars, slurm_vm_images=self.images), handle)

    def event(self, what):
        elapsed = time.time() - self.t0
        self.events.append((round(elapsed, 1), what))
        self.say("[%6.1fs] %s" % (elapsed, what))

    def scheduler(self):
        started = time.time()
        proc = subprocess.run(
            [os.path.join(REPO, ".venv", "bin", "ansible-playbook"), "-i", "inventories/lab",
             "-i", "inventories/lab_demand", "playbooks/scheduler.yml", "-e", "@" + self.extra_vars],
            cwd=REPO, capture_output=True, text=True, timeout=600, check=False,
            env=dict(os.environ, ANSIBLE_NOCOLOR="1", ANSIBLE_DISPLAY_SKIPPED_HOSTS="0"))
        if proc.returncode != 0:
            raise StoryError("scheduler run failed (rc %d):\n%s\n%s"
                             % (proc.returncode, proc.stdout[-6000:], proc.stderr[-3000:]))
        with open(os.path.join(LAB_DIR, "scheduler", "summary.json")) as handle:
            summary = json.load(handle)
        summary["seconds"] = round(time.time() - started, 1)
        return summary

    def wait(self, what, predicate, timeout, every=None):
        """Poll predicate (running the scheduler every `every` seconds) until it returns a truthy value."""
        deadline = time.time() + timeout
        next_run = time.time()
        while True:
            if every and time.time() >= next_run:
                summary = self.scheduler()
                for host in summary["spawned"]:
                    self.event("scheduler: claimed %s (DNS, DHCP), host job submitted, VM spawned (run %.1fs)"
                               % (host, summary["seconds"]))
                for item in summary["teardown"]:
                    self.event("scheduler: teardown %s step %s: %s" % (item["hostname"], item["step"], item["reason"]))
                next_run = time.time() + every
            value = predicate()
            if value:
                return value
            if time.time() > deadline:
                raise StoryError("timed out after %ds waiting for %s" % (timeout, what))
            time.sleep(1)

    def one_vm(self, marker="story"):
        """The main job: returns (vm hostname, job output). The job is an srun, pending until a VM is
        ready; its output comes back over the network to the submitting side (no shared folder)."""
        gres = self.images[self.image].get("gres", "vm_" + self.image)
        env = dict(os.environ, SLURM_CONF=VM_CONF, LC_ALL="C")
        command = 'echo "job $SLURM_JOB_ID ran on $(hostname)"'
        srun = subprocess.Popen(  # noqa: S603 - an argv list
            ["srun", "--chdir=/", "-J", marker, "--gres=%s:1" % gres, "-t", "5", "sh", "-c", command],
            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.event("user: srun --gres=%s:1 %s" % (gres, command))
        seen = {}

        def started():
            if srun.poll() is not None:
                return True
            line = run(["squeue", "-h", "-n", marker, "-o", "%i|%T|%r|%N"]).stdout.strip()
            if line:
                job_id, state, reason, nodes = line.split("|", 3)
                if state not in seen:
                    seen[state] = True
                    where = " on " + nodes if nodes else " (%s)" % reason
                    self.event("job %s %s%s" % (job_id, state.lower(), where))
                return state in ("RUNNING", "COMPLETING")
            return False
        try:
            self.wait("the job to run", started, timeout=400, every=15)
            output, errors = srun.communicate(timeout=120)
        finally:
            if srun.poll() is None:
                srun.kill()
        if srun.returncode != 0:
            raise StoryError("srun failed (rc %s): %s" % (srun.returncode, errors))
        output = output.strip()
        words = output.split()
        if len(words) != 5 or words[2:4] != ["ran", "on"]:
            raise StoryError("unexpected job output %r" % output)
        vm = words[4]
        self.event("job output: %r" % output)
        host_job = self.host_job(vm)
        if host_job:
            self.event("VM %s runs in host job %s on hypervisor %s" % (vm, host_job["JobId"], host_job["NodeList"]))
            mark = self.dns_mark(vm)
            if "job=%s" % host_job["JobId"] not in mark.split():
                raise StoryError("the DNS mark of %s does not name its host job %s: %r" % (vm, host_job["JobId"], mark))
            self.event("DNS mark: %s" % mark)
        self.wait("VM %s to be torn down and back in the pool" % vm,
                  lambda: self.in_pool(vm) and not self.host_job(vm), timeout=300, every=4)
        self.event("VM %s gone, name back in the pool (FUTURE)" % vm)
        return vm, output

    @staticmethod
    def in_pool(vm):
        """FUTURE again (NOT_RESPONDING may stay on it until the next registration)."""
        return node(vm).get("State", "").split("+")[0] == "FUTURE"

    def host_job(self, vm):
        """The VM's live host job's fields, or None; fails when the host cluster does not answer."""
        ids = run(["squeue", "-h", "--name", "hpcvm:" + vm, "-o", "%i"], conf=HOST_CONF).stdout.split()
        return job(ids[0], conf=HOST_CONF) if ids else None

    @staticmethod
    def host_job_names():
        """The names (hpcvm:<vm>) of every live host job; fails when the host cluster does not answer."""
        names = run(["squeue", "-h", "-o", "%j"], conf=HOST_CONF).stdout.split()
        return sorted(name for name in names if name.startswith("hpcvm:"))

    @staticmethod
    def dns_mark(vm):
        values = dns_values(vm + "." + ZONE, "TXT")
        return values[0].strip('"') if values else ""

    def vm_ip(self, vm):
        images = image_table.normalize_table(self.images)
        return image_table.vm_ip(image_table.image_of_host(images, vm), vm)

    def traces(self, vm):
        """Everything that would still mark the VM as alive; empty when it is truly gone. Every
        source must answer: a daemon that does not is an error, never "no trace"."""
        left = []
        if self.host_job(vm):
            left.append("host job")
        res = run(["scontrol", "-o", "show", "reservation", "hpcvm-" + vm], check=False)
        if res.returncode == 0:
            left.append("reservation")
        elif "not found" not in res.stdout + res.stderr:
            raise StoryError("scontrol show reservation failed: %s%s" % (res.stdout, res.stderr))
        if not self.in_pool(vm):
            left.append("node state %s" % node(vm).get("State"))
        if os.path.exists(os.path.join(LAB_DIR, "dnsmasq", "hosts.d", "hpc-slurm-vm-" + vm)):
            left.append("DHCP reservation")
        for rtype in ("A", "TXT"):
            values = dns_values(vm + "." + ZONE, rtype)
            if values:
                left.append("DNS %s %s" % (rtype, " ".join(values)))
        ptr = dns_values(dns.reversename.from_address(self.vm_ip(vm)).to_text(), "PTR")
        if ptr:
            left.append("DNS PTR %s" % " ".join(ptr))
        domains = subprocess.run(["virsh", "-q", "-c", "qemu:///system", "list", "--all", "--name"],
                                 capture_output=True, text=True, check=False, timeout=30)
        if domains.returncode != 0:
            raise StoryError("libvirtd does not answer: %s" % domains.stderr.strip())
        if vm in domains.stdout.split():
            left.append("domain")
        guests = os.path.join(LAB_DIR, "guests")
        for name in os.listdir(guests) if os.path.isdir(guests) else []:
            if name.startswith(vm + "."):
                left.append("file guests/" + name)
        return left


def dns_values(name, rtype):
    """The values of name's rtype RRset on the lab's BIND ([] for NXDOMAIN or no such RRset); fails
    when BIND does not answer or answers with an error."""
    query = dns.message.make_query(name, rtype)
    try:
        answer = dns.query.udp(query, DNS_SERVER, timeout=5)
    except (OSError, dns.exception.DNSException) as error:
        raise StoryError("BIND at %s does not answer %s %s: %s" % (DNS_SERVER, name, rtype, error)) from None
    if answer.rcode() not in (dns.rcode.NOERROR, dns.rcode.NXDOMAIN):
        raise StoryError("BIND answered %s %s with %s" % (name, rtype, dns.rcode.to_text(answer.rcode())))
    return sorted(item.to_text() for rrset in answer.answer if rrset.rdtype == dns.rdatatype.from_text(rtype)
                  for item in rrset)
