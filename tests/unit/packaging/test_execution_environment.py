# Copyright: hpc.slurm_vm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The execution environment (execution-environment.yml, ansible-builder v3) as a site builds it: the collection
tarball from `ansible-galaxy collection build` beside the definition, then `ansible-builder create`, which writes
the build context without a container engine. No base image can be pulled here, so the test stops at the context
and replays what the image build would do with it, with the same files and scripts:

- the tarball is in the context, and the galaxy stage's install (run in the context's _build folder, which the
  Containerfile copies to /build) installs the collection from it;
- the Python requirements in the context are requirements.txt, and the builder stage's introspection (ansible-
  builder's own script, over the installed collection) hands pip exactly those: the collection's copy of the
  file is not read a second time;
- the system packages are bindep.txt, and what bindep selects from them on the base image's platform (CentOS
  Stream 9: rpm) are the scheduler host's Slurm client and munge, entries written for rpm, with EPEL enabled
  before they are installed.

Skipped without ansible-builder (requirements-dev.txt) or outside the source checkout (no galaxy.yml)."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import functools
import hashlib
import os
import re
import shlex
import shutil
import subprocess
import sys
from unittest import mock

import pytest
import yaml

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
BIN = os.path.dirname(sys.executable)
NAMESPACE, NAME = "hpc", "slurm_vm"

if not os.path.isfile(os.path.join(ROOT, "galaxy.yml")):
    pytest.skip("needs the source checkout (galaxy.yml): the tarball is built from it", allow_module_level=True)
if not os.path.isfile(os.path.join(BIN, "ansible-builder")):
    pytest.skip("ansible-builder is not installed beside %s (pip install -r requirements-dev.txt)" % sys.executable,
                allow_module_level=True)

from bindep.depends import Depends  # noqa: E402  (ansible-builder's dependency: checked above)

# Base images the definition may name, with the /etc/os-release they carry (ID, VERSION_ID). Pulling one is not
# possible here: a new base image is added to this table once its os-release has been read (and the EPEL step
# in execution-environment.yml works there: UBI has no epel-release package).
BASE_IMAGES = {
    "quay.io/ansible/awx-ee": ("centos", "9"),             # built FROM quay.io/centos/centos:stream9
    "quay.io/centos/centos": ("centos", "9"),              # :stream9
}
# The scheduler host's packages on rpm: the Slurm client commands (EPEL) and munge.
RPM_SCHEDULER_PACKAGES = {"slurm", "munge"}


def _env(tmp):
    """A site's shell: no ANSIBLE_* of the caller, an empty ansible.cfg, its own Ansible home."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANSIBLE_") and k != "PYTHONPATH"}
    env.update(ANSIBLE_CONFIG=os.path.join(tmp, "empty-ansible.cfg"), ANSIBLE_HOME=os.path.join(tmp, "ansible-home"),
               ANSIBLE_LOCAL_TEMP=os.path.join(tmp, "ansible-local"), ANSIBLE_NOCOLOR="1")
    return env


def _run(argv, cwd, tmp, env=None):
    proc = subprocess.run(argv, cwd=cwd, env=dict(_env(tmp), **(env or {})), capture_output=True, text=True,
                          timeout=120, check=False)
    assert proc.returncode == 0, "%s\nrc %d\n%s\n%s" % (argv, proc.returncode, proc.stdout, proc.stderr)
    return proc


def _sha256(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def _read(path):
    with open(path) as f:
        return f.read()


def _requirement_lines(text):
    """pip requirement lines without comments and blanks, as introspect.py reads them."""
    lines = (re.sub(r"(^|\s+)#.*$", "", line).strip() for line in text.splitlines())
    return [line for line in lines if line]


@pytest.fixture(scope="module")
def ee(tmp_path_factory):
    """A site's EE folder: the definition and the files it names, the freshly built tarball beside them; then
    `ansible-builder create` writes the context there."""
    tmp = str(tmp_path_factory.mktemp("ee"))
    with open(os.path.join(tmp, "empty-ansible.cfg"), "w"):
        pass
    project = os.path.join(tmp, "project")
    os.mkdir(project)
    for name in ("execution-environment.yml", "requirements.txt", "bindep.txt"):
        shutil.copy(os.path.join(ROOT, name), project)
    _run([os.path.join(BIN, "ansible-galaxy"), "collection", "build", ROOT, "--output-path", project], tmp, tmp)
    (tarball,) = [os.path.join(project, f) for f in os.listdir(project) if f.endswith(".tar.gz")]
    context = os.path.join(tmp, "context")
    create = _run([os.path.join(BIN, "ansible-builder"), "create", "--file", "execution-environment.yml",
                   "--context", context, "--output-filename", "Containerfile", "-v3"], project, tmp)
    with open(os.path.join(ROOT, "galaxy.yml")) as f:
        version = yaml.safe_load(f)["version"]
    with open(os.path.join(project, "execution-environment.yml")) as f:
        definition = yaml.safe_load(f)
    return {"tmp": tmp, "tarball": tarball, "context": context, "build": os.path.join(context, "_build"),
            "containerfile": _read(os.path.join(context, "Containerfile")), "version": version,
            "definition": definition, "create_log": create.stdout + create.stderr}


def _stage(containerfile, name):
    """The lines of one build stage (FROM ... AS name up to the next FROM)."""
    stage = re.search(r"^FROM \S+ AS %s\n(.*?)(?=^FROM |\Z)" % name, containerfile, re.M | re.S)
    assert stage, "no %s stage in the Containerfile" % name
    return stage.group(1)


@pytest.fixture(scope="module")
def installed(ee):
    """The galaxy stage, replayed: its ansible-galaxy command, in the folder the Containerfile copies to /build."""
    galaxy = _stage(ee["containerfile"], "galaxy")
    assert re.search(r"^COPY _build /build\nWORKDIR /build$", galaxy, re.M), galaxy
    (command,) = re.findall(r"^RUN (.*ansible-galaxy collection install .*)$", galaxy, re.M)
    argv = shlex.split(command.replace("$ANSIBLE_GALAXY_CLI_COLLECTION_OPTS", ""))
    env = dict(item.split("=", 1) for item in argv[:argv.index("ansible-galaxy")])
    argv = argv[argv.index("ansible-galaxy"):]
    collections = os.path.join(ee["tmp"], "usr-share-ansible-collections")
    argv[argv.index("--collections-path") + 1] = collections
    argv[0] = os.path.join(BIN, "ansible-galaxy")
    _run(argv + ["--offline"], ee["build"], ee["tmp"], env)
    return collections


def test_the_collection_comes_from_the_built_tarball(ee, request):
    name = "%s-%s-%s.tar.gz" % (NAMESPACE, NAME, ee["version"])
    assert os.path.basename(ee["tarball"]) == name
    in_context = [os.path.join(folder, f) for folder, _dirs, files in os.walk(ee["build"]) for f in files
                  if f.endswith(".tar.gz")]
    assert [os.path.basename(p) for p in in_context] == [name], ee["create_log"]
    assert _sha256(in_context[0]) == _sha256(ee["tarball"])
    with open(os.path.join(ee["build"], "requirements.yml")) as f:
        galaxy = yaml.safe_load(f)
    assert galaxy["collections"] == [{"name": os.path.relpath(in_context[0], ee["build"]), "type": "file"}]
    # and the galaxy stage installs it from there
    installed = request.getfixturevalue("installed")
    with open(os.path.join(installed, "ansible_collections", NAMESPACE, NAME, "MANIFEST.json")) as f:
        manifest = yaml.safe_load(f)
    assert (manifest["collection_info"]["namespace"], manifest["collection_info"]["name"],
            manifest["collection_info"]["version"]) == (NAMESPACE, NAME, ee["version"])


@pytest.fixture(scope="module")
def introspected(ee, installed):
    """The builder stage's introspection, replayed with ansible-builder's own script over the installed collection:
    the requirements.txt and bindep.txt that assemble then hands to pip and bindep."""
    builder = _stage(ee["containerfile"], "builder")
    (command,) = re.findall(r"^RUN \$PYCMD /output/scripts/introspect.py (introspect .*)$", builder, re.M)
    out = os.path.join(ee["tmp"], "introspected")
    argv = [re.sub(r"^(--write-\w+=)/tmp/src/", r"\1" + out + "/", a) for a in shlex.split(command)]
    # its working dir is /build, where the builder stage copied the context's files under the same names
    _run([sys.executable, os.path.join(ee["build"], "scripts", "introspect.py")] + argv + [installed],
         ee["build"], ee["tmp"])
    return {name: _read(os.path.join(out, name)) for name in ("requirements.txt", "bindep.txt")}


def test_the_python_requirements_are_the_runtime_file(ee, request):
    runtime = _read(os.path.join(ROOT, "requirements.txt"))
    # hypervisors only (libvirt_guest runs there): their distribution's python3-libvirt
    assert not [line for line in _requirement_lines(runtime) if line.lower().startswith("libvirt")]
    assert _read(os.path.join(ee["build"], "requirements.txt")) == runtime
    # what pip gets is requirements.txt, once: the tarball's copy of it is not read a second time
    introspected = request.getfixturevalue("introspected")
    assert _requirement_lines(introspected["requirements.txt"]) == _requirement_lines(runtime)


@functools.lru_cache(maxsize=None)
def _depends(bindep_text):
    """bindep's parser (it compiles its grammar each time: about 1 s)."""
    return Depends(bindep_text)


def _platform_profiles(distro_id, version):
    """What bindep's own platform detection gives on a host with that /etc/os-release."""
    with mock.patch("bindep.depends.distro.id", return_value=distro_id), \
            mock.patch("bindep.depends.distro.codename", return_value=""), \
            mock.patch("bindep.depends.distro.version", return_value=version), \
            mock.patch("bindep.depends.distro.name", return_value=distro_id):
        return Depends.platform_profiles(_depends(""))


def _platforms(rule):
    """The positive platform selectors of a bindep rule (name, selectors, version)."""
    return {profile for sense, profile in (s for s in rule[1] if isinstance(s, tuple))
            if sense and profile.startswith("platform:")}


def _packages(bindep_text, profiles):
    """The package names bindep selects for these profiles (platform ones included)."""
    return [rule[0] for rule in _depends(bindep_text).active_rules(profiles)]


def test_the_system_packages_fit_the_base_image(ee, request):
    base = ee["definition"]["images"]["base_image"]["name"].rsplit(":", 1)[0]
    assert base in BASE_IMAGES, "unknown base image %s: add its os-release to BASE_IMAGES" % base
    platform = _platform_profiles(*BASE_IMAGES[base])
    assert "platform:rpm" in platform
    assert re.search(r'^ARG PKGMGR="/usr/bin/(dnf|microdnf)"$', ee["containerfile"], re.M)
    assert _read(os.path.join(ee["build"], "bindep.txt")) == _read(os.path.join(ROOT, "bindep.txt"))

    # What assemble (builder stage) lists from the introspected bindep.txt on that platform: `bindep -l newline`
    # (default profile) for the final image, `bindep -b compile` for the builder stage.
    introspected = request.getfixturevalue("introspected")
    runtime = _packages(introspected["bindep.txt"], ["default"] + platform)
    assert set(runtime) == RPM_SCHEDULER_PACKAGES, runtime
    for rule in _depends(introspected["bindep.txt"]).active_rules(["default"] + platform):
        # written for this platform, not a name that happens to be selected on every platform
        assert _platforms(rule) and _platforms(rule) <= set(platform), rule
    compile_only = _packages(introspected["bindep.txt"], ["compile"] + platform)
    assert compile_only == [], "nothing to compile: every Python requirement of the runtime has a wheel"

    # slurm is in EPEL: the base stage enables it (with CRB) before any stage installs packages.
    base_stage = _stage(ee["containerfile"], "base")
    assert "epel-release" in base_stage and "crb" in base_stage


def test_the_scheduler_hosts_packages_exist_for_both_platforms():
    """bindep.txt's default profile is the scheduler host: the Slurm client and munge on Debian and on EL."""
    text = _read(os.path.join(ROOT, "bindep.txt"))
    debian = _packages(text, ["default"] + _platform_profiles("debian", "12"))
    assert set(debian) == {"slurm-client", "munge"}
    el = _packages(text, ["scheduler"] + _platform_profiles("rocky", "9.4"))
    assert set(el) == RPM_SCHEDULER_PACKAGES
    hypervisor = _packages(text, ["hypervisor"] + _platform_profiles("debian", "12"))
    assert {"python3-libvirt", "python3-netaddr", "libvirt-daemon-system"} <= set(hypervisor)
    assert not set(hypervisor) & set(debian), "a profile without selectors would land on every host"
