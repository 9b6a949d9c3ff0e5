"""The FQCN scanner behind test_dependencies.py finds every way a task, template or plugin can
use another collection, and takes nothing else for one."""
import yaml

from collection_tree import counts, uses_in_python, uses_in_text, uses_in_yaml

TASKS = yaml.safe_load("""
- name: A module with its options
  community.docker.docker_compose_v2:
    project_src: /opt/ovr/edge
    wait: true
- name: A block
  block:
    - name: Nested
      community.crypto.x509_certificate_info:
        content: x
- name: An action by string
  action: community.general.pids name=x
- name: Filters, tests and lookups in Jinja
  ansible.builtin.set_fact:
    a: "{{ x | map('community.general.dict_kv', 'path') | list }}"
    b: "{{ x | community.general.json_query('a') }}"
    c: "{{ x is community.general.a_module }}"
    d: "{{ lookup('community.general.random_string', length=4) }}"
  module_defaults:
    group/community.docker.docker:
      docker_host: unix:///run/docker.sock
- name: Not uses (a builtin, our own, a file name)
  ansible.builtin.template:
    src: nginx.conf.j2
    dest: "{{ x | ovr.fleet.to_env_file }}"
""")

ACTION_PLUGIN = '''
DOCUMENTATION = "seealso: [module: community.general.not_a_use]"
from ansible.plugins.action import ActionBase
from ansible_collections.ovr.fleet.plugins.module_utils import fleet_model


class ActionModule(ActionBase):
    def run(self, tmp=None, task_vars=None):
        ports = self._execute_module(module_name="community.general.listen_ports_facts", task_vars=task_vars)
        return self._execute_module("community.docker.docker_host_info", module_args={"containers": True})
'''


def found(uses):
    return {(u.fqcn, u.kind, u.options) for u in uses}


def test_tasks():
    assert found(uses_in_yaml(TASKS, "t.yml")) == {
        ("community.docker.docker_compose_v2", "module", ("project_src", "wait")),
        ("community.crypto.x509_certificate_info", "module", ("content",)),
        ("community.general.pids", "module", ()),
        ("community.general.dict_kv", None, ()),
        ("community.general.json_query", "filter", ()),
        ("community.general.a_module", "test", ()),
        ("community.general.random_string", None, ()),
        ("community.docker.docker", "action_group", ()),
        ("ansible.builtin.set_fact", "module", ("a", "b", "c", "d")),
        ("ansible.builtin.template", "module", ("dest", "src")),
        ("ovr.fleet.to_env_file", "filter", ()),
        ("nginx.conf.j2", None, ()),
    }


def test_action_plugin_module_calls():
    assert found(uses_in_python(ACTION_PLUGIN, "a.py")) == {
        ("community.general.listen_ports_facts", "module", ()),
        ("community.docker.docker_host_info", "module", ()),
        ("ovr.fleet.*", "import", ()),
    }


def test_templates():
    assert found(uses_in_text("{{ peers | community.general.json_query('[*].ip') | to_json }}", "x.j2")) == {
        ("community.general.json_query", "filter", ()),
    }


def test_what_counts_as_another_collection():
    assert counts("community.general.dict_kv")
    assert counts("community.zabbix.zabbix_host")  # a known namespace, even when not installed
    assert not counts("ansible.builtin.copy")
    assert not counts("ansible.legacy.copy")
    assert not counts("ovr.fleet.to_env_file")
    assert not counts("nginx.conf.j2")
    assert not counts("ansible.module_utils.basic")
