# -*- coding: utf-8 -*-
"""plugins/module_utils/envfile.py: the one env-file dialect, written and read back."""

import pytest

from ansible.errors import AnsibleFilterError

from ansible_collections.ovr.fleet.plugins.filter.envfile import to_env_file
from ansible_collections.ovr.fleet.plugins.module_utils import envfile

AWKWARD = {
    "PLAIN": "value",
    "EMPTY": "",
    "NONE": None,
    "NUMBER": 42,
    "FLOAT": 1.5,
    "TRUE": True,
    "FALSE": False,
    "SPACES": "  two  words  ",
    "HASH": "a # not a comment",
    "DOLLAR": "$HOME and ${X}",
    "DOUBLE": 'say "hi"',
    "SINGLE": "it's",
    "BOTH": "it's \"quoted\" \\ and $5 and $$",
    "BACKSLASH": "C:\\path\\n",
    "UNICODE": "Zürich ☀",
    "EQUALS": "a=b=c",
}
READ_BACK = dict(AWKWARD, NONE="", NUMBER="42", FLOAT="1.5", TRUE="true", FALSE="false")


def test_render_is_sorted_quoted_and_headed():
    text = envfile.render({"B": "x", "A": "it's $1"}, "Managed by Ansible\n\nsecond line")
    assert text == "# Managed by Ansible\n#\n# second line\nA=\"it's $$1\"\nB='x'\n"


def test_round_trip_of_awkward_values():
    assert envfile.parse(envfile.render(AWKWARD, "header")) == READ_BACK


def test_render_is_deterministic():
    assert envfile.render(dict(reversed(list(AWKWARD.items())))) == envfile.render(AWKWARD)


def test_the_filter_writes_the_module_utils_dialect():
    assert to_env_file(AWKWARD, "header") == envfile.render(AWKWARD, "header")


@pytest.mark.parametrize("data, message", [
    ({"OVR_BANNER": "two\nlines"}, "OVR_BANNER: an env value may not contain a line break"),
    ({"X": "nul\x00"}, "X: an env value may not contain a line break or NUL byte"),
    ({"1BAD": "x"}, "'1BAD' is not a valid env variable name"),
    ({"BAD-KEY": "x"}, "'BAD-KEY' is not a valid env variable name"),
])
def test_render_refuses_what_cannot_be_read_back(data, message):
    with pytest.raises(envfile.EnvFileError, match=message):
        envfile.render(data)
    with pytest.raises(AnsibleFilterError, match=message):
        to_env_file(data)


def test_the_filter_wants_a_dict():
    with pytest.raises(AnsibleFilterError, match="to_env_file expects a dict, got list"):
        to_env_file(["A"])


def test_parse_reads_bare_values_comments_and_blank_lines():
    text = "# comment\n\n   # indented comment\nA=plain\nB=\nC=http://10.0.0.1:8428/\nD=x=y,z=w\nE='v'  \r\n"
    assert envfile.parse(text) == {"A": "plain", "B": "", "C": "http://10.0.0.1:8428/", "D": "x=y,z=w", "E": "v"}


@pytest.mark.parametrize("line, message", [
    ("JUST_A_WORD", "line 1 is not KEY=VALUE: JUST_A_WORD"),
    ("export A='x'", "line 1 does not start with a variable name: export A"),
    ("1A='x'", "line 1 does not start with a variable name: 1A"),
    ("A='unclosed", "line 1: the value of A is not quoted as the dialect writes it"),
    ("A='x' trailing", "line 1: the value of A is not quoted as the dialect writes it"),
    ('A="$HOME"', "line 1: the value of A is not quoted as the dialect writes it"),
    ('A="a\\nb"', "line 1: the value of A is not quoted as the dialect writes it"),
    ('A="unclosed', "line 1: the value of A is not quoted as the dialect writes it"),
    ("A=two words", "line 1: the value of A is a bare value with a blank"),
    ("A=$HOME", "line 1: the value of A is a bare value with a blank, quote, #, $ or backslash"),
    ("A=x#y", "line 1: the value of A is a bare value"),
    ("A = 'x'", "line 1 does not start with a variable name"),
])
def test_parse_refuses_bad_lines_naming_line_and_key(line, message):
    with pytest.raises(envfile.EnvFileError) as info:
        envfile.parse(line + "\n")
    assert message in str(info.value)
    assert info.value.line == 1


def test_parse_refuses_a_key_set_twice():
    with pytest.raises(envfile.EnvFileError, match="line 3 sets A a second time"):
        envfile.parse("A='1'\nB='2'\nA='3'\n")


def test_problems_lists_every_problem_at_once():
    text = "A='1'\nnot a line\nA='2'\nB=''\n"
    assert envfile.problems(text, ["A", "B", "C"]) == [
        "line 2 is not KEY=VALUE: not a line",
        "line 3 sets A a second time",
        "required key B is missing or empty",
        "required key C is missing or empty",
    ]
    assert envfile.problems(envfile.render({"A": "it's"}), ["A"]) == []
