# Copyright: hpc.slurm_vm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""paused.json: its check and reader, and the writer image_pause uses (change one entry, atomically, 0600)."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import stat

import pytest

from ansible_collections.hpc.slurm_vm.plugins.module_utils.common.errors import InvalidInput, UnknownImage
from ansible_collections.hpc.slurm_vm.plugins.module_utils.scheduler import pause

IMAGES = {"deb12": {}, "disk": {}}
ENTRY = {"reason": "cert pending", "since": 1000, "by": "alice"}


def params(state_dir, **more):
    base = {"state_dir": str(state_dir), "image": "deb12", "state": "paused", "reason": "cert pending",
            "images": IMAGES, "by": None}
    base.update(more)
    return base


def test_read_missing_file_is_no_paused_image(tmp_path):
    assert pause.read_paused(str(tmp_path / "paused.json")) == {}


@pytest.mark.parametrize("data, message", [
    ([], "is not a mapping"),
    ({"deb12": {"reason": " ", "since": 1}}, "image deb12 has no reason"),
    ({"deb12": {"reason": "x", "since": "yesterday"}}, "image deb12 has no 'since'"),
    ({"deb12": {"reason": "x", "since": True}}, "image deb12 has no 'since'"),
])
def test_malformed_file_is_refused_with_its_path(tmp_path, data, message):
    path = tmp_path / "paused.json"
    path.write_text(json.dumps(data))
    with pytest.raises(InvalidInput, match=message):
        pause.read_paused(str(path))


def test_pause_writes_the_entry_atomically_with_mode_0600(tmp_path):
    result = pause.run_image_pause(params(tmp_path), now=1000.7, user="alice")
    assert result["changed"] is True
    assert result["paused"] == ENTRY
    path = tmp_path / "paused.json"
    assert json.loads(path.read_text()) == {"deb12": ENTRY}
    assert stat.S_IMODE(os.stat(str(path)).st_mode) == 0o600
    assert result["diff"]["before"] == {} and result["diff"]["after"] == {"deb12": ENTRY}
    assert sorted(os.listdir(str(tmp_path))) == ["paused.json", "paused.json.lock"]  # no temporary file left
    assert pause.read_paused(str(path)) == {"deb12": ENTRY}  # what the planner reads


def test_pausing_again_with_the_same_reason_changes_nothing(tmp_path):
    pause.run_image_pause(params(tmp_path), now=1000, user="alice")
    before = os.stat(str(tmp_path / "paused.json")).st_mtime_ns
    again = pause.run_image_pause(params(tmp_path, reason="  cert pending "), now=2000, user="bob")
    assert again["changed"] is False and again["paused"] == ENTRY
    assert os.stat(str(tmp_path / "paused.json")).st_mtime_ns == before


def test_another_reason_changes_reason_and_by_and_keeps_since(tmp_path):
    pause.run_image_pause(params(tmp_path), now=1000, user="alice")
    result = pause.run_image_pause(params(tmp_path, reason="new kernel"), now=2000, user="bob")
    assert result["changed"] is True
    assert result["paused"] == {"reason": "new kernel", "since": 1000, "by": "bob"}


def test_pausing_a_second_image_keeps_the_first(tmp_path):
    pause.run_image_pause(params(tmp_path), now=1000, user="alice")
    pause.run_image_pause(params(tmp_path, image="disk", reason="disk broken"), now=1500, user="bob")
    assert sorted(pause.read_paused(str(tmp_path / "paused.json"))) == ["deb12", "disk"]


def test_resume_removes_only_the_entry_and_again_changes_nothing(tmp_path):
    pause.run_image_pause(params(tmp_path), now=1000, user="alice")
    pause.run_image_pause(params(tmp_path, image="disk", reason="disk broken"), now=1500, user="bob")
    result = pause.run_image_pause(params(tmp_path, state="active", reason=None), user="carol")
    assert result["changed"] is True and result["paused"] is None
    assert list(pause.read_paused(str(tmp_path / "paused.json"))) == ["disk"]
    again = pause.run_image_pause(params(tmp_path, state="active", reason=None), user="carol")
    assert again["changed"] is False


def test_resume_of_a_never_paused_image_writes_no_file(tmp_path):
    result = pause.run_image_pause(params(tmp_path, state="active"), user="carol")
    assert result["changed"] is False
    assert not (tmp_path / "paused.json").exists()


def test_check_mode_predicts_and_writes_nothing(tmp_path):
    result = pause.run_image_pause(params(tmp_path), check_mode=True, now=1000, user="alice")
    assert result["changed"] is True and result["paused"] == ENTRY
    assert os.listdir(str(tmp_path)) == []  # neither the file nor the lock


def test_unknown_image_is_refused_and_nothing_is_written(tmp_path):
    with pytest.raises(UnknownImage, match=r"image 'sl6' is not in the image table \(slurm_vm_images: deb12, disk\)"):
        pause.run_image_pause(params(tmp_path, image="sl6"), user="alice")
    assert os.listdir(str(tmp_path)) == []


def test_an_image_that_left_the_table_while_paused_can_still_be_resumed(tmp_path):
    (tmp_path / "paused.json").write_text(json.dumps({"sl6": ENTRY}))
    result = pause.run_image_pause(params(tmp_path, image="sl6", state="active"), user="alice")
    assert result["changed"] is True and pause.read_paused(str(tmp_path / "paused.json")) == {}


@pytest.mark.parametrize("reason", ["", "   ", "two\nlines", "x" * 201, "bell\x07"])
def test_a_bad_reason_is_refused(tmp_path, reason):
    with pytest.raises(InvalidInput, match="reason"):
        pause.run_image_pause(params(tmp_path, reason=reason), user="alice")
    assert os.listdir(str(tmp_path)) == []


def test_a_missing_state_folder_is_refused(tmp_path):
    with pytest.raises(InvalidInput, match="state folder .*/nope does not exist"):
        pause.run_image_pause(params(tmp_path / "nope"), user="alice")
    assert not (tmp_path / "nope").exists()


def test_a_malformed_file_is_not_overwritten(tmp_path):
    (tmp_path / "paused.json").write_text("{not json")
    with pytest.raises(InvalidInput, match="cannot read the paused images"):
        pause.run_image_pause(params(tmp_path), user="alice")
    assert (tmp_path / "paused.json").read_text() == "{not json"


def test_invoking_user_is_the_sudo_caller_as_root(monkeypatch):
    monkeypatch.setattr(pause.os, "geteuid", lambda: 0)
    monkeypatch.setenv("SUDO_USER", "alice")
    assert pause.invoking_user() == "alice"
    monkeypatch.setattr(pause.os, "geteuid", lambda: 1000)
    monkeypatch.setattr(pause.getpass, "getuser", lambda: "bob")
    assert pause.invoking_user() == "bob"
