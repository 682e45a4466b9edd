# -*- coding: utf-8 -*-
# Copyright: hpc.slurm_vm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Provisioning by filename: pick each node's site-local files by their names.

A site keeps several variants of a file side by side::

    slurm.local.conf.20.n_GPU_NODES    # nodes of alias GPU_NODES, priority 20
    slurm.local.conf.10.n_ALL          # nodes of alias ALL, priority 10
    slurm.local.conf.remain            # every other node

An alias names a nodeset, defined as ``GPU_NODES=taurusi[2045-2108]`` (a line
of an alias file) or as a mapping ``{GPU_NODES: 'taurusi[2045-2108]'}``, and
is expanded with ClusterShell.  For one hostname and one base name:

* every ``<base>.<prio>.n_<ALIAS>`` whose alias contains the hostname is a
  candidate; the highest ``<prio>`` (a non-negative integer) wins;
* ties: two candidates with the same priority and different aliases.  With
  ``tie_policy='alias_order'`` (the default) the alias that sorts first by
  plain string comparison wins, and the others are reported in ``ties``;
  ``tie_policy='error'`` raises SelectionTie instead.  Either way the result
  never depends on the order the files were listed in;
* no candidate: ``<base>.remain`` if it exists, else nothing (selected None);
* a name that starts with ``<base>.`` but follows neither pattern, or names an
  alias that is not defined, raises a typed error (a typo must not silently
  fall through to ``.remain``).  Names not starting with ``<base>.`` are
  ignored, so one folder can hold the variants of several bases.

The same rule serves slurm.local.conf, gres.conf, prolog/epilog and plugstack
files.  Everything here is pure: no I/O, no Ansible.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

from ansible_collections.hpc.slurm_vm.plugins.module_utils.common import nodeset
from ansible_collections.hpc.slurm_vm.plugins.module_utils.common.errors import InvalidInput

ALIAS_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")
# A base name: a plain file name, no path, no leading dot.
BASE_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.+-]{0,127}$")
PRIO_RE = re.compile(r"^(0|[1-9][0-9]{0,8})$")
REMAIN = "remain"
TIE_POLICIES = ("alias_order", "error")


class FileSelectionError(InvalidInput):
    """Base class of the provisioning-by-filename errors."""


class MalformedAlias(FileSelectionError):
    """An alias definition is not NAME=NODESET, or its name is invalid or repeated."""


class MalformedNodeset(FileSelectionError):
    """An alias's nodeset does not parse (ClusterShell) or is empty."""


class MalformedSelectionName(FileSelectionError):
    """A file name starts with '<base>.' but is neither <base>.<prio>.n_<ALIAS> nor <base>.remain."""


class UnknownAlias(FileSelectionError):
    """A file name refers to an alias that is not defined."""


class SelectionTie(FileSelectionError):
    """Two matching files share the highest priority (only with tie_policy='error')."""


def parse_alias_text(text):
    """Parse alias lines 'NAME=NODESET' (blank lines and '#' comments allowed) into a dict.

    Raises MalformedAlias for a line without '=', an invalid or repeated name.
    The nodesets themselves are checked by normalize_aliases().
    """
    if not isinstance(text, str):
        raise MalformedAlias("alias definitions must be text, got %s" % type(text).__name__)
    aliases = {}
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        name, sep, value = line.partition("=")
        name, value = name.strip(), value.strip()
        if not sep:
            raise MalformedAlias("alias line %d: expected NAME=NODESET, got %r" % (number, raw.strip()), line=number)
        _check_alias_name(name, "alias line %d" % number)
        if name in aliases:
            raise MalformedAlias("alias line %d: %s is defined twice" % (number, name), line=number, alias=name)
        aliases[name] = value
    return aliases


def _check_alias_name(name, where):
    if not isinstance(name, str) or not ALIAS_RE.match(name):
        raise MalformedAlias("%s: invalid alias name %r (letters, digits and '_', not starting with a digit)"
                             % (where, name), alias=name)


def normalize_aliases(aliases):
    """{NAME: nodeset string or list} (or alias text) -> {NAME: frozenset of hostnames}.

    Raises MalformedAlias / MalformedNodeset.
    """
    if isinstance(aliases, str):
        aliases = parse_alias_text(aliases)
    if aliases is None:
        aliases = {}
    if not isinstance(aliases, dict):
        raise MalformedAlias("aliases must be a mapping NAME: NODESET or alias text, got %s"
                             % type(aliases).__name__)
    expanded = {}
    for name in sorted(aliases, key=str):
        _check_alias_name(name, "aliases")
        value = aliases[name]
        if isinstance(value, (list, tuple)):
            items = [str(v).strip() for v in value]
        else:
            items = [str(value if value is not None else "").strip()]
        if not [i for i in items if i]:
            raise MalformedNodeset("alias %s: empty nodeset" % name, alias=name)
        try:
            hosts = nodeset.expand([i for i in items if i])
        except InvalidInput as exc:
            raise MalformedNodeset("alias %s: %s" % (name, exc.message), alias=name) from exc
        if not hosts:
            raise MalformedNodeset("alias %s: nodeset %r names no host" % (name, value), alias=name)
        expanded[name] = frozenset(hosts)
    return expanded


def parse_selection_name(filename, base):
    """Classify one file name against one base.

    Returns None when the name does not start with '<base>.', ('remain', None, None)
    for '<base>.remain', or ('alias', prio, alias) for '<base>.<prio>.n_<ALIAS>'.
    Raises MalformedSelectionName for anything else that starts with '<base>.'.
    """
    prefix = base + "."
    if not filename.startswith(prefix):
        return None
    rest = filename[len(prefix):]
    if rest == REMAIN:
        return (REMAIN, None, None)
    prio, sep, tail = rest.partition(".")
    if sep and PRIO_RE.match(prio) and tail.startswith("n_"):
        alias = tail[2:]
        if ALIAS_RE.match(alias):
            return ("alias", int(prio), alias)
    raise MalformedSelectionName(
        "file %r: expected %s.<prio>.n_<ALIAS> (prio a non-negative integer) or %s.remain"
        % (filename, base, base), file=filename, base=base)


def _check_base(base):
    if not isinstance(base, str) or not BASE_RE.match(base):
        raise FileSelectionError("invalid base file name %r" % (base,), base=base)


def select_file(filenames, base, hostname, aliases, tie_policy="alias_order", other_bases=()):
    """Pick the variant of `base` for `hostname` among `filenames` (names, not paths).

    `aliases` is the output of normalize_aliases() (or anything it accepts).
    `other_bases`: names that belong to a longer base listed here (e.g.
    'slurm.conf.d.remain' when base is 'slurm.conf') are skipped, not errors.
    Returns a dict: base, hostname, selected (file name or None), reason
    ('alias', 'remain' or 'none'), prio, alias, ties (other aliases at the
    winning priority, sorted) and candidates (every matching file, best first).
    """
    _check_base(base)
    if tie_policy not in TIE_POLICIES:
        raise FileSelectionError("tie_policy must be one of %s, got %r" % (", ".join(TIE_POLICIES), tie_policy))
    if not isinstance(hostname, str) or not hostname:
        raise FileSelectionError("hostname must be a non-empty string, got %r" % (hostname,))
    expanded = aliases if _is_normalized(aliases) else normalize_aliases(aliases)
    matches = []
    remain = None
    longer = [b + "." for b in other_bases if b != base and b.startswith(base + ".")]
    for name in sorted({str(f) for f in filenames}):
        if any(name.startswith(prefix) for prefix in longer):
            continue
        kind = parse_selection_name(name, base)
        if kind is None:
            continue
        if kind[0] == REMAIN:
            remain = name
            continue
        _kind, prio, alias = kind
        if alias not in expanded:
            raise UnknownAlias("file %r names alias %s, which is not defined (defined: %s)"
                               % (name, alias, ", ".join(sorted(expanded)) or "none"),
                               file=name, alias=alias)
        if hostname in expanded[alias]:
            matches.append((prio, alias, name))
    # best first: highest priority, then alias name ascending (the documented tie rule)
    matches.sort(key=lambda m: (-m[0], m[1]))
    result = dict(base=base, hostname=hostname, selected=None, reason="none", prio=None, alias=None,
                  ties=[], candidates=[m[2] for m in matches])
    if matches:
        prio, alias, name = matches[0]
        ties = [m[1] for m in matches[1:] if m[0] == prio]
        if ties and tie_policy == "error":
            raise SelectionTie("host %s: %s matches several files at priority %d: %s"
                               % (hostname, base, prio, ", ".join(m[2] for m in matches if m[0] == prio)),
                               hostname=hostname, base=base, prio=prio)
        result.update(selected=name, reason="alias", prio=prio, alias=alias, ties=ties)
    elif remain is not None:
        result.update(selected=remain, reason=REMAIN)
    return result


def _is_normalized(aliases):
    return isinstance(aliases, dict) and all(isinstance(v, frozenset) for v in aliases.values())


def select_files(filenames, bases, hostname, aliases, tie_policy="alias_order"):
    """select_file() for several bases: {base: result}."""
    expanded = normalize_aliases(aliases) if not _is_normalized(aliases) else aliases
    return {base: select_file(filenames, base, hostname, expanded, tie_policy, bases) for base in bases}


def selection_plan(filenames, bases, hostnames, aliases, tie_policy="alias_order"):
    """{hostname: {base: selected file name or None}} for many hosts at once.

    Aliases are expanded once; use this in push mode or to render many bundles.
    """
    expanded = normalize_aliases(aliases) if not _is_normalized(aliases) else aliases
    plan = {}
    for host in hostnames:
        plan[host] = {base: select_file(filenames, base, host, expanded, tie_policy, bases)["selected"]
                      for base in bases}
    return plan
