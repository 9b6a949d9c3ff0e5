# -*- coding: utf-8 -*-
"""One convention for the roles' handlers (the prometheus.prometheus one, docs/architecture.md):
every handler is named for what it does and listens to a topic ``ovr <subject> <action>``; tasks
notify topics, never a handler's name, and every topic notified has a listener."""
import pathlib
import re

import pytest
import yaml

ROOT = pathlib.Path(__file__).resolve().parents[2]
TOPIC = re.compile(r"^ovr [a-z][a-z_]*( [a-z_]+)* (restart|reload|refresh|changed)$")


def load(path):
    with open(path, encoding="utf-8") as handle:
        return yaml.safe_load(handle) or []


def as_list(value):
    return [value] if isinstance(value, str) else list(value or [])


def handlers():
    for path in sorted(ROOT.glob("roles/*/handlers/main.yml")):
        for handler in load(path):
            yield path.parent.parent.name, handler


def notified():
    """(file, topic) of every notify in the roles' tasks, blocks included."""
    def walk(tasks, path):
        for task in tasks or []:
            if not isinstance(task, dict):
                continue
            for topic in as_list(task.get("notify")):
                yield path, topic
            for key in ("block", "rescue", "always"):
                yield from walk(task.get(key), path)
    for path in sorted(ROOT.glob("roles/*/tasks/*.yml")):
        yield from walk(load(path), path.relative_to(ROOT))


@pytest.mark.parametrize("role,handler", list(handlers()), ids=lambda v: v if isinstance(v, str) else v.get("name"))
def test_each_handler_listens_to_an_ovr_topic(role, handler):
    topics = as_list(handler.get("listen"))
    assert topics, "%s: handler %r has no listen: topic" % (role, handler.get("name"))
    for topic in topics:
        assert TOPIC.match(topic), "%s: topic %r is not 'ovr <subject> <restart|reload|refresh|changed>'" % (role, topic)


def test_every_notify_names_a_topic_with_a_listener():
    topics = {t for _role, h in handlers() for t in as_list(h.get("listen"))}
    names = {h.get("name") for _role, h in handlers()}
    for path, topic in notified():
        assert topic in topics, "%s notifies %r, which no handler listens to%s" % (
            path, topic, " (a handler's name: notify its topic)" if topic in names else "")
