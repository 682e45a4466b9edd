# -*- coding: utf-8 -*-
# Copyright: hpc.slurm_vm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Pure helpers: which files carry Slurm and munge into an image that lacks them.

Role boot_provision (per-image setting ``slurm_binaries``) collects, once per run on
the provisioning server, the files of a few Debian packages (``dpkg-query -L``) and
the shared libraries they need (one ``ldd`` over all of them), and packs them under
a prefix in the boot bundle. The functions here turn those two command outputs into
a deterministic plan; they run no command themselves.

* package files: regular files under the binary and library folders, no docs,
  no /etc, no unit files; a folder is a path another listed path lies under;
* libraries: the ldd closure, minus the C library family (it must be the guest's
  own) and minus the libraries the image already has (``skip_libs``), each copied
  to ``lib/<soname>``;
* ``X-wlm`` binaries (Debian's alternatives) also get the plain name ``X``.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import posixpath
import re

from ansible_collections.hpc.slurm_vm.plugins.module_utils.common.errors import InvalidInput

DEFAULT_PACKAGES = ("slurmd", "slurm-wlm-basic-plugins", "munge", "libmunge2")
DEFAULT_PLUGIN_DIR = "/usr/lib/x86_64-linux-gnu/slurm-wlm"
# folders whose files go into the payload; everything else (docs, /etc, units) stays out
DEFAULT_KEEP_DIRS = ("/usr/sbin", "/usr/bin", "/usr/lib", "/sbin", "/bin", "/lib")
SKIP_DIRS = ("/usr/lib/systemd", "/lib/systemd", "/usr/lib/tmpfiles.d", "/usr/lib/sysusers.d",
             "/usr/share", "/usr/lib/debug")
# the C library family: never shipped, the guest's own ld.so must load its own libc
GLIBC_LIBS = frozenset((
    "ld-linux-x86-64.so.2", "ld-linux.so.2", "ld-linux-aarch64.so.1", "libc.so.6", "libm.so.6",
    "libmvec.so.1", "libresolv.so.2", "libdl.so.2", "libpthread.so.0", "librt.so.1", "libutil.so.1",
    "libanl.so.1", "libnsl.so.1", "libcrypt.so.1", "libBrokenLocale.so.1", "libthread_db.so.1",
    "libnss_files.so.2", "libnss_dns.so.2", "libc_malloc_debug.so.0", "linux-vdso.so.1",
))
# libraries a minimal Debian 12 (debootstrap minbase + systemd) already has
DEBIAN12_MINBASE_LIBS = (
    "libacl.so.1", "libapparmor.so.1", "libattr.so.1", "libaudit.so.1", "libblkid.so.1", "libbz2.so.1.0",
    "libcap-ng.so.0", "libcap.so.2", "libcom_err.so.2", "libcrypto.so.3", "libgcc_s.so.1", "libgcrypt.so.20",
    "libgmp.so.10", "libgpg-error.so.0", "libkmod.so.2", "liblz4.so.1", "liblzma.so.5", "libmd.so.0",
    "libmount.so.1", "libpam.so.0", "libpam_misc.so.0", "libpcre2-8.so.0", "libseccomp.so.2",
    "libselinux.so.1", "libsemanage.so.2", "libsepol.so.2", "libsmartcols.so.1", "libssl.so.3",
    "libstdc++.so.6", "libsystemd.so.0", "libtinfo.so.6", "libudev.so.1", "libuuid.so.1", "libz.so.1",
    "libzstd.so.1",
)
SONAME_RE = re.compile(r"^[A-Za-z0-9_.+-]+$")
PATH_RE = re.compile(r"^/[A-Za-z0-9_.+@/-]+$")
ALIAS_SUFFIX = "-wlm"


class SlurmPayloadError(InvalidInput):
    """The package listing, the ldd output or an option of the Slurm payload is invalid."""


def _canon(path):
    """Debian 12 is usr-merged: /lib/x is /usr/lib/x."""
    for top in ("/lib/", "/lib64/", "/bin/", "/sbin/"):
        if path.startswith(top):
            return "/usr" + path
    return path


def _under(path, folders):
    return any(path == d or path.startswith(d.rstrip("/") + "/") for d in folders)


def package_paths(text):
    """The paths of ``dpkg-query -L PKG...`` output, sorted and unique.

    Lines such as ``diverted by`` notes and the root ``/.`` are dropped."""
    if not isinstance(text, str):
        raise SlurmPayloadError("the package listing must be text")
    paths = set()
    for line in text.splitlines():
        line = line.strip()
        if not line.startswith("/") or line == "/.":
            continue
        if " " in line:   # "package diverts others to: ..." and the like
            continue
        if not PATH_RE.match(line):
            raise SlurmPayloadError("unexpected path in the package listing: %r" % line)
        paths.add(posixpath.normpath(line))
    return sorted(paths)


def payload_files(paths, keep_dirs=DEFAULT_KEEP_DIRS):
    """The files among ``paths`` worth shipping: not a folder (a path another one lies
    under), under ``keep_dirs`` and not under the doc, unit and debug folders."""
    paths = sorted(set(paths))
    folders = set()
    for path in paths:
        parent = posixpath.dirname(path)
        while parent not in ("/", ""):
            folders.add(parent)
            parent = posixpath.dirname(parent)
    return [p for p in paths
            if p not in folders and _under(p, keep_dirs) and not _under(p, SKIP_DIRS)]


def parse_ldd(text, files):
    """Parse ``ldd FILE...`` output: {file: {soname: resolved path or None}}.

    With one file ldd prints no ``FILE:`` header; with several it does. Files ldd calls
    "not a dynamic executable" (scripts, data) map to an empty dict."""
    if not isinstance(text, str):
        raise SlurmPayloadError("the ldd output must be text")
    files = list(files)
    result = {}
    current = files[0] if len(files) == 1 else None
    if current:
        result[current] = {}
    for raw in text.splitlines():
        if not raw.strip():
            continue
        if not raw[0].isspace() and raw.rstrip().endswith(":"):
            current = raw.rstrip()[:-1]
            result[current] = {}
            continue
        if current is None:
            raise SlurmPayloadError("ldd output before any file header: %r" % raw)
        line = raw.strip()
        if line.startswith(("not a dynamic executable", "statically linked")):
            continue
        if "=>" in line:
            name, _sep, rest = line.partition("=>")
            name, rest = name.strip(), rest.strip()
            target = None if rest.startswith("not found") else rest.split(" (")[0].strip() or None
        else:   # "/lib64/ld-linux-x86-64.so.2 (0x...)", "linux-vdso.so.1 (0x...)"
            name = posixpath.basename(line.split(" (")[0].strip())
            target = line.split(" (")[0].strip() if line.startswith("/") else None
        if not SONAME_RE.match(name):
            raise SlurmPayloadError("unexpected library name in the ldd output: %r" % name)
        result[current][name] = target
    missing = sorted(set(files) - set(result))
    if missing:
        raise SlurmPayloadError("ldd said nothing about: %s" % ", ".join(missing))
    return result


def _check_libs(names, what):
    if isinstance(names, str) or not all(isinstance(n, str) and SONAME_RE.match(n) for n in names):
        raise SlurmPayloadError("%s must be a list of library file names" % what)
    return set(names)


def plan(files, ldd, skip_libs=DEBIAN12_MINBASE_LIBS, plugin_dir=DEFAULT_PLUGIN_DIR, stepd="slurmstepd"):
    """The payload, relative to its prefix::

        {files: [{src, dest}], links: [{dest, target}], library_path: [dir], plugin_dir, stepd,
         missing: ["soname (needed by file)"], skipped: [soname]}

    ``files`` are the package files (``payload_files``), ``ldd`` the parsed ldd output of
    them. Each needed library that is neither the C library, nor in ``skip_libs``, nor
    one of the package files itself goes to ``lib/<soname>``. ``missing`` lists the
    libraries ldd could not find (a plugin the site does not use may need one)."""
    files = sorted(set(files))
    skip = _check_libs(skip_libs, "skip_libs") | GLIBC_LIBS
    if not isinstance(plugin_dir, str) or not PATH_RE.match(plugin_dir):
        raise SlurmPayloadError("plugin_dir must be an absolute path")
    own = {_canon(f) for f in files}
    entries = [{"src": f, "dest": f.lstrip("/")} for f in files]
    libs, missing, skipped = {}, set(), set()
    for needer in sorted(ldd):
        for soname, target in sorted(ldd[needer].items()):
            if soname in skip:
                skipped.add(soname)
            elif target is None:
                missing.add("%s (needed by %s)" % (soname, needer))
            elif _canon(target) in own:
                continue
            elif soname in libs and _canon(libs[soname]) != _canon(target):
                raise SlurmPayloadError("%s resolves to both %s and %s" % (soname, libs[soname], target))
            else:
                libs[soname] = target
    entries += [{"src": libs[name], "dest": "lib/" + name} for name in sorted(libs)]
    links = []
    present = {e["dest"] for e in entries}
    for entry in entries:
        dest = entry["dest"]
        base = posixpath.basename(dest)
        if base.endswith(ALIAS_SUFFIX) and posixpath.dirname(dest) in ("usr/sbin", "usr/bin", "sbin", "bin"):
            alias = posixpath.join(posixpath.dirname(dest), base[:-len(ALIAS_SUFFIX)])
            if alias not in present:
                links.append({"dest": alias, "target": base})
    lib_dirs = ["lib"] + sorted({posixpath.dirname(e["dest"]) for e in entries[:len(files)]
                                 if re.search(r"\.so(\.[0-9]+)*$", e["dest"])})
    names = {posixpath.basename(e["dest"]) for e in entries} | {posixpath.basename(x["dest"]) for x in links}
    stepd_dest = next((d for d in sorted(present | {x["dest"] for x in links})
                       if posixpath.basename(d) == stepd and posixpath.dirname(d) in ("usr/sbin", "sbin")), None)
    if "slurmd" not in names or stepd_dest is None:
        raise SlurmPayloadError("the packages hold no slurmd and %s: is the slurmd package installed?" % stepd)
    return {
        "files": entries,
        "links": links,
        "library_path": lib_dirs,
        "plugin_dir": plugin_dir.lstrip("/"),
        "stepd": stepd_dest,
        "missing": sorted(missing),
        "skipped": sorted(skipped),
    }


def plan_text(payload):
    """The plan as tab-separated lines for the role's stage script (stable order)."""
    lines = ["file\t%s\t%s" % (e["src"], e["dest"]) for e in payload["files"]]
    lines += ["link\t%s\t%s" % (x["dest"], x["target"]) for x in payload["links"]]
    lines.append("env\tSLURM_VM_LIBRARY_PATH\t%s" % ":".join(payload["library_path"]))
    lines.append("env\tSLURM_VM_PLUGIN_DIR\t%s" % payload["plugin_dir"])
    lines.append("env\tSLURM_VM_STEPD\t%s" % payload["stepd"])
    return "\n".join(lines) + "\n"
