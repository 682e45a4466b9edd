# Copyright: hpc.slurm_vm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Module image_pause: the check/real/repeat matrix on a real folder, and its argument checks."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json

from ansible_collections.hpc.slurm_vm.plugins.modules import image_pause

IMAGES = {"deb12": {"pool": "vm-deb12-[001-002]"}}


def _args(tmp_path, **more):
    args = {"state_dir": str(tmp_path), "images": IMAGES, "image": "deb12", "reason": "cert pending", "by": "alice"}
    args.update(more)
    return args


def test_pause_matrix_check_real_repeat_resume(run_module, tmp_path):
    path = tmp_path / "paused.json"
    kind, check = run_module(image_pause.main, dict(_args(tmp_path), _ansible_check_mode=True, _ansible_diff=True))
    assert (kind, check["changed"]) == ("exit", True) and not path.exists()
    assert check["diff"]["after"]["deb12"]["reason"] == "cert pending"
    kind, real = run_module(image_pause.main, _args(tmp_path))
    assert (kind, real["changed"]) == ("exit", True)
    assert json.loads(path.read_text())["deb12"]["by"] == "alice"
    kind, again = run_module(image_pause.main, _args(tmp_path))
    assert (kind, again["changed"]) == ("exit", False)
    kind, check_resume = run_module(image_pause.main, dict(_args(tmp_path, state="active"), _ansible_check_mode=True))
    assert check_resume["changed"] is True and "deb12" in json.loads(path.read_text())
    kind, resumed = run_module(image_pause.main, _args(tmp_path, state="active", reason=None))
    assert resumed["changed"] is True and json.loads(path.read_text()) == {}
    kind, resumed_again = run_module(image_pause.main, _args(tmp_path, state="active"))
    assert resumed_again["changed"] is False


def test_pause_without_reason_fails(run_module, tmp_path):
    kind, result = run_module(image_pause.main, _args(tmp_path, reason=None))
    assert kind == "fail" and "reason" in result["msg"], result  # Ansible's required_if, or the module's own check
    assert not (tmp_path / "paused.json").exists()


def test_unknown_image_fails_clearly(run_module, tmp_path):
    kind, result = run_module(image_pause.main, _args(tmp_path, image="sl6"))
    assert kind == "fail" and result["error"] == "UnknownImage"
    assert result["msg"] == "image 'sl6' is not in the image table (slurm_vm_images: deb12)"
    assert not (tmp_path / "paused.json").exists()
