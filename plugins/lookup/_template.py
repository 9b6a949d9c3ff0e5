# -*- coding: utf-8 -*-
# Copyright: (c) 2026, ovr.fleet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type  # pylint: disable=invalid-name

DOCUMENTATION = r"""
name: _template
author: ovr.fleet contributors (@ovr-fleet)
version_added: 0.2.0
short_description: Internal - a role's template rendered without a copy of every variable
description:
  - Internal to the collection's roles; not a public interface.
  - Renders a template file found as C(ansible.builtin.template) finds it (the role's C(templates)
    folder first) with the task's variables, C(ansible_managed) and the C(template_*) variables,
    and returns the text, as the C(ansible.builtin.template) lookup does.
  - That lookup deep-copies every variable of the host before each template (on a fleet node that
    was about a tenth of the controller's time of a re-run); this one lays the few variables it adds
    over the task's variables instead, and changes neither.
  - Where this ansible-core has no such internal interface, it falls back to the
    C(ansible.builtin.template) lookup itself.
options:
  _terms:
    description: The template files.
    required: true
    type: list
    elements: path
"""

EXAMPLES = r"""
- name: A role's config, rendered on the controller, written in one call
  ovr.fleet.files:
    files:
      - path: /etc/ovr/example.conf
        content: "{{ lookup('ovr.fleet._template', 'example.conf.j2') }}"
"""

RETURN = r"""
_raw:
  description: The rendered text of each template.
  type: list
  elements: str
"""

import collections
import os

from ansible.errors import AnsibleError
from ansible.plugins.lookup import LookupBase
from ansible.plugins.loader import lookup_loader

try:  # the interfaces the ansible.builtin.template lookup itself uses (ansible-core 2.19 and later)
    from ansible.template import trust_as_template
    from ansible._internal._templating import _template_vars
    from ansible._internal._templating._engine import TemplateOptions
    HAS_ENGINE = True
except ImportError:  # pragma: no cover - another ansible-core: the builtin lookup does the work
    HAS_ENGINE = False


def search_path(variables, lookupfile):
    """Where Jinja looks for includes: the template's own folder, then each of Ansible's search
    paths and its templates folder (as the ansible.builtin.template lookup builds it)."""
    paths = [os.path.dirname(lookupfile)]
    for path in variables.get("ansible_search_path", []):
        paths.extend([os.path.join(path, "templates"), path])
    return paths


class LookupModule(LookupBase):
    """Thin: the search and the rendering are Ansible's own; only the copy is left out."""

    def run(self, terms, variables=None, **kwargs):
        variables = variables if variables is not None else {}
        if not HAS_ENGINE or kwargs:
            return lookup_loader.get("ansible.builtin.template", loader=self._loader, templar=self._templar).run(
                terms, variables, **kwargs)
        rendered = []
        for term in terms:
            lookupfile = self.find_file_in_search_path(variables, "templates", term)
            if not lookupfile:
                raise AnsibleError("the template file %s could not be found for the lookup" % term)
            template_data = trust_as_template(self._loader.get_text_file_contents(lookupfile))
            added = _template_vars.generate_ansible_template_vars(
                path=term, fullpath=lookupfile, include_ansible_managed="ansible_managed" not in variables)
            layered = collections.ChainMap(dict(added), variables)
            templar = self._templar.copy_with_new_env(available_variables=layered,
                                                      searchpath=search_path(variables, lookupfile))
            rendered.append(templar._engine.template(  # pylint: disable=protected-access
                template_data, options=TemplateOptions(escape_backslashes=False)))
        return rendered
