# Copyright: hpc.slurm_vm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The VM cluster's slurm.conf lines rendered from the image table."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.hpc.slurm_vm.plugins.module_utils.scheduler import image_table, pool_conf
from ansible_collections.hpc.slurm_vm.tests.unit.plugins.module_utils.scheduler.test_image_table import TABLE


def test_render_pool_conf():
    text = pool_conf.render_pool_conf(image_table.normalize_table(TABLE), max_time="2-00:00:00",
                                      default_time=90, partition_options="Hidden=NO")
    lines = text.splitlines()
    assert "GresTypes=vm_deb12" in lines
    assert ("NodeName=vm-deb12-002 NodeAddr=10.77.1.2 CPUs=2 RealMemory=960 Gres=vm_deb12:1 State=FUTURE"
            in lines)
    # node_addr: false renders the pool as one line, with the feature instead of a gres
    assert "NodeName=vm-sl6-[009-010] CPUs=1 RealMemory=400 Features=sl6 State=FUTURE" in lines
    # DefMemPerCPU: the least RealMemory per CPU of the images (sl6: 400 / 1; deb12: 960 / 2 = 480)
    assert lines[-1] == ("PartitionName=vms Nodes=vm-deb12-[001-004],vm-sl6-[009-010] "
                         "DefaultTime=01:30:00 MaxTime=2-00:00:00 State=UP DefMemPerCPU=400 Hidden=NO")


def test_a_site_sets_its_own_default_memory_in_the_partition_options():
    text = pool_conf.render_pool_conf(image_table.normalize_table(TABLE), partition_options="DefMemPerNode=100")
    assert text.splitlines()[-1].endswith("State=UP DefMemPerNode=100") and "DefMemPerCPU" not in text


@pytest.mark.parametrize("kwargs, message", [
    ({"max_time": "UNLIMITED"}, "finite MaxTime"),
    ({"max_time": "1:00:00", "default_time": "2:00:00"}, "at most MaxTime"),
    ({"partition": "vms\nNodeName=evil"}, "invalid partition name"),
    ({"partition_options": "A=1\nNodeName=evil"}, "one line"),
    ({"max_time": "forever"}, "invalid Slurm time"),
])
def test_render_pool_conf_refuses_bad_partition_settings(kwargs, message):
    images = image_table.normalize_table(TABLE)
    with pytest.raises(Exception) as err:
        pool_conf.render_pool_conf(images, **kwargs)
    assert message in str(err.value)
