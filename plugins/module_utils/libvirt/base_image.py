# -*- coding: utf-8 -*-
# Copyright: hpc.slurm_vm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Which version of a base image a guest's overlay sits on, and whether it is still there.

A base image is identified by its path, size, mtime and SHA-256. The checksum is taken
once per version of the file: base_facts() trusts a version the scheduler recorded while
the file's path, size and mtime still equal the record, and otherwise hashes the file
(streamed, in chunks) through a per-hypervisor cache (Sha256Cache: a small JSON file in
the VM folder, keyed by path, size, mtime in ns and inode), so the next guest on the same
unchanged file does not read it again.

check_record() refuses a base whose checksum differs from the recorded one (overwritten in
place: every overlay on the old content would be corrupted); base_metadata() and
recorded_base() write and read the version in the domain's metadata; base_change() tells
libvirt_guest_info whether the file under a guest's overlay still is the recorded one.
Typed errors, no fail_json.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import errno
import fcntl
import hashlib
import json
import os
import re
import time

from ansible_collections.hpc.slurm_vm.plugins.module_utils.common import state_files
from ansible_collections.hpc.slurm_vm.plugins.module_utils.common.errors import InvalidInput
from ansible_collections.hpc.slurm_vm.plugins.module_utils.libvirt.errors import BaseImageChanged, GuestFileError

# In the VM folder, hidden: the reconciler lists that folder without hidden files, and judges
# only files named after a pool host.
CACHE_FILE = ".base-sha256.json"
LOCK_FILE = ".base-sha256.lock"
CACHE_FORMAT = 1
CACHE_MAX_ENTRIES = 64
CHUNK = 4 * 1024 * 1024
HASH_ATTEMPTS = 3
# A recorded mtime (float seconds) equals the file's when it is within this of st_mtime_ns:
# a float of today's epoch holds about 0.24 us, and a JSON round trip keeps it exactly.
MTIME_TOLERANCE_NS = 1000
SHA256_RE = re.compile(r"^[0-9a-f]{64}$")
# The domain metadata keys (urn:hpc.slurm_vm:1 <meta key=...>) this module writes.
META_KEYS = ("base_path", "base_size", "base_mtime", "base_sha256")
VERSION_KEY = "image_version"
REMEDY = ("give a new version a new file name (and point the image table's boot image at it), or a new version "
          "label in the image table (slurm_vm_images.<image>.version); or put the recorded file back")


# ------------------------------------------------------------------ the file
def _identity(st):
    """What makes two stats the same version of a file, for the cache."""
    return (st.st_size, st.st_mtime_ns, st.st_ino)


def stat_base(path):
    """os.stat of a base image; a missing or unreadable one raises GuestFileError."""
    try:
        st = os.stat(path)
    except OSError as exc:
        raise GuestFileError("cannot read the base image %s: %s" % (path, exc.strerror or exc), path=path) from None
    return st


def sha256_file(path):
    """(hex SHA-256, os.stat_result of the content hashed): streamed in CHUNK pieces. A file that changes
    while it is read (size, mtime or inode, or the path now names another file) is read again, up to
    HASH_ATTEMPTS times; then GuestFileError."""
    buf = bytearray(CHUNK)
    view = memoryview(buf)
    for _attempt in range(HASH_ATTEMPTS):
        try:
            with open(path, "rb", buffering=0) as handle:
                before = os.fstat(handle.fileno())
                digest = hashlib.sha256()
                while True:
                    count = handle.readinto(buf)
                    if not count:
                        break
                    digest.update(view[:count])
                after = os.fstat(handle.fileno())
            now = os.stat(path)
        except OSError as exc:
            raise GuestFileError("cannot read the base image %s: %s" % (path, exc.strerror or exc),
                                 path=path) from None
        if _identity(before) == _identity(after) == _identity(now):
            return digest.hexdigest(), before
    raise GuestFileError("the base image %s changed while it was read (%d times): is it being written? A base "
                         "image must not change while guests use it" % (path, HASH_ATTEMPTS), path=path)


# ------------------------------------------------------------------ the cache
class Sha256Cache(object):
    """SHA-256 of files by (path, size, mtime_ns, inode), kept in <directory>/.base-sha256.json (mode 0600).

    sha256() looks a file up (the file in memory, then the cache file) and hashes it when neither knows
    that version; flush() then stores what was hashed. A caller flushes only once its other checks have
    passed, so a task that is refused leaves no cache behind; writable=False (check mode) never writes.
    Writers hold an exclusive flock on <directory>/.base-sha256.lock while they merge their entries into
    the file, so concurrent spawns on one hypervisor never lose each other's entries, and the file is
    replaced atomically (rename), so readers without the lock always see a whole file. Within one process
    a version of a file is hashed at most once. A cache that cannot be written is not an error: the
    checksum is still right, and `warnings` says why it was not kept.
    """

    def __init__(self, directory, writable=True):
        self.directory = directory
        self.writable = writable
        self.path = os.path.join(directory, CACHE_FILE) if directory else None
        self.lock_path = os.path.join(directory, LOCK_FILE) if directory else None
        self.memo = {}
        self.pending = {}
        self.warnings = []
        self.hashed = []   # paths this object read in full

    @staticmethod
    def key(path, st):
        return "%s|%d|%d|%d" % ((path,) + _identity(st))

    def _load(self):
        if not self.path:
            return {}
        try:
            with open(self.path) as handle:
                data = json.load(handle)
        except (OSError, ValueError):
            return {}   # none yet, or unreadable: hashing again is always right
        entries = data.get("entries") if isinstance(data, dict) and data.get("format") == CACHE_FORMAT else None
        if not isinstance(entries, dict):
            return {}
        return {key: value for key, value in entries.items()
                if isinstance(value, dict) and SHA256_RE.match(str(value.get("sha256", "")))}

    def sha256(self, path, st=None):
        """(hex SHA-256, stat of that content, hashed): hashed is True when the file was read now."""
        st = st or stat_base(path)
        key = self.key(path, st)
        if key in self.memo:
            return self.memo[key], st, False
        entry = self._load().get(key)
        if entry:
            self.memo[key] = entry["sha256"]
            return entry["sha256"], st, False
        digest, st = sha256_file(path)
        self.hashed.append(path)
        key = self.key(path, st)
        self.memo[key] = digest
        self.pending[key] = {"path": path, "size": st.st_size, "mtime_ns": st.st_mtime_ns, "inode": st.st_ino,
                             "sha256": digest, "hashed_at": round(time.time(), 3)}
        return digest, st, True

    def flush(self, create_directory=True):
        """Store the checksums hashed since the last flush (unless read-only); True when they were stored."""
        if not self.writable or not self.pending or not self.directory:
            return False
        if not os.path.isdir(self.directory):
            if not create_directory:
                return False
            try:
                os.makedirs(self.directory, 0o755)
            except OSError as exc:
                if exc.errno != errno.EEXIST:
                    self.warnings.append("the checksum cache is not kept: cannot create %s: %s"
                                         % (self.directory, exc.strerror or exc))
                    return False
        try:
            lock = os.open(self.lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        except OSError as exc:
            self.warnings.append("the checksum cache %s is not kept: %s" % (self.lock_path, exc.strerror or exc))
            return False
        try:
            fcntl.flock(lock, fcntl.LOCK_EX)
            entries = self._load()
            entries.update(self.pending)
            stored = self._store(entries)
        finally:
            os.close(lock)   # releases the flock
        if stored:
            self.pending = {}
        return stored

    def _store(self, entries):
        """Write entries (pruned: a file that no longer has that size, mtime and inode is forgotten) atomically."""
        kept = {}
        for key, entry in entries.items():
            try:
                st = os.stat(entry["path"])
            except (OSError, KeyError, TypeError):
                continue
            if key == self.key(entry["path"], st):
                kept[key] = entry
        newest = sorted(kept.items(), key=lambda item: item[1].get("hashed_at") or 0, reverse=True)
        data = {"format": CACHE_FORMAT, "entries": dict(sorted(newest[:CACHE_MAX_ENTRIES]))}
        try:
            state_files.write_atomic(self.path, json.dumps(data, indent=1, sort_keys=True) + "\n", 0o600, sync=True)
        except OSError as exc:
            self.warnings.append("the checksum cache %s is not kept: %s" % (self.path, exc.strerror or exc))
            return False
        return True


# ------------------------------------------------------------------ versions
def check_base_record(record, what="base_record"):
    """A recorded base version (path, size, mtime, sha256) validated: a dict with those types, or None."""
    if not record:
        return None
    if not isinstance(record, dict):
        raise InvalidInput("%s must be a mapping of path, size, mtime and sha256" % what)
    missing = [key for key in ("path", "size", "mtime", "sha256") if record.get(key) in (None, "")]
    if missing:
        raise InvalidInput("%s lacks %s (it needs path, size, mtime and sha256, as libvirt_guest returns them in "
                           "base)" % (what, ", ".join(missing)), base_record=record)
    path = str(record["path"])
    if not os.path.isabs(path):
        raise InvalidInput("%s.path must be an absolute path, got %r" % (what, path))
    sha = str(record["sha256"]).strip().lower()
    if not SHA256_RE.match(sha):
        raise InvalidInput("%s.sha256 must be 64 hex digits, got %r" % (what, record["sha256"]))
    try:
        size = int(record["size"])
        mtime = float(record["mtime"])
    except (TypeError, ValueError):
        raise InvalidInput("%s: size must be a whole number of bytes and mtime a number of seconds, got %r and %r"
                           % (what, record["size"], record["mtime"])) from None
    if isinstance(record["size"], bool) or size < 0 or str(record["size"]).strip() not in (str(size), "%s.0" % size):
        raise InvalidInput("%s.size must be a whole number of bytes, got %r" % (what, record["size"]))
    return {"path": os.path.normpath(path), "size": size, "mtime": mtime, "sha256": sha}


def same_stat(record, path, st):
    """Whether the file at path, as st, still has the record's path, size and mtime."""
    return (record["path"] == os.path.normpath(path) and record["size"] == st.st_size
            and abs(round(record["mtime"] * 1e9) - st.st_mtime_ns) <= MTIME_TOLERANCE_NS)


def _facts(path, st, sha, hashed):
    return {"path": path, "size": st.st_size, "mtime": st.st_mtime_ns / 1e9, "sha256": sha, "hashed": hashed}


def base_facts(path, record=None, cache=None):
    """{path, size, mtime, sha256, hashed} of the base image at path. A record (check_base_record) whose
    path, size and mtime the file still has lends its sha256 (no hashing); otherwise the file is hashed,
    through cache (a Sha256Cache) when given."""
    st = stat_base(path)
    if record and same_stat(record, path, st):
        return _facts(path, st, record["sha256"], False)
    if cache is None:
        digest, st = sha256_file(path)
        return _facts(path, st, digest, True)
    digest, st, hashed = cache.sha256(path, st)
    return _facts(path, st, digest, hashed)


def _when(mtime):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(mtime))


def describe(version):
    """'sha256 abc.. (123 bytes, mtime 2026-12-02T14:35:00Z)'."""
    return "sha256 %s (%d bytes, mtime %s)" % (version["sha256"], version["size"], _when(version["mtime"]))


def check_record(facts, record, image):
    """Raise BaseImageChanged when the base's checksum differs from the recorded version's."""
    if not record or facts["sha256"] == record["sha256"]:
        return
    raise BaseImageChanged(
        "image %s: the base image %s was changed in place: its recorded version is %s, the file now is %s. "
        "Refusing to create an overlay or anything else on it (the guests on the recorded version may be "
        "damaged). To roll out new content, %s."
        % (image, facts["path"], describe(record), describe(facts), REMEDY),
        image=image, path=facts["path"], recorded=dict(record), current=dict(facts))


def base_metadata(version):
    """The domain metadata entries (strings) of a base version."""
    return {
        "base_path": version["path"],
        "base_size": str(int(version["size"])),
        "base_mtime": repr(float(version["mtime"])),
        "base_sha256": version["sha256"],
    }


def recorded_base(metadata):
    """The base version a domain's metadata records ({path, size, mtime, sha256}), or None."""
    metadata = metadata or {}
    if not all(metadata.get(key) for key in META_KEYS):
        return None
    try:
        return check_base_record({"path": metadata["base_path"], "size": metadata["base_size"],
                                  "mtime": metadata["base_mtime"], "sha256": metadata["base_sha256"]})
    except InvalidInput:
        return None


def base_change(recorded, cache, image):
    """(changed, reason) of a recorded base version: (None, None) without one; (False, None) while the file
    has the recorded size and mtime, or other ones but the recorded checksum; else (True, why)."""
    if not recorded:
        return None, None
    path = recorded["path"]
    try:
        st = os.stat(path)
    except OSError as exc:
        return True, ("image %s: the base image %s under this guest's overlay is gone (%s); it was %s"
                      % (image, path, exc.strerror or exc, describe(recorded)))
    if same_stat(recorded, path, st):
        return False, None
    try:
        digest, st, _hashed = cache.sha256(path, st)
    except GuestFileError as exc:
        return True, "image %s: the base image %s under this guest's overlay cannot be read: %s" % (
            image, path, exc.message)
    if digest == recorded["sha256"]:
        return False, None
    current = _facts(path, st, digest, True)
    return True, ("image %s: the base image %s under this guest's overlay was changed in place: the guest was "
                  "created on %s, the file now is %s; the guest's disk may be damaged. To roll out new content, %s."
                  % (image, path, describe(recorded), describe(current), REMEDY))
