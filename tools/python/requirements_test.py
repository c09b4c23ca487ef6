"""Offline check that the lock pins, with hashes, every requirement of requirements.in, and that the
committed wheels files (LOCK.wheels.json) still describe their locks."""

import json
import os
import re

import pytest

from tools.python.pypi_build import LOCKS, normalize, parse_lock, plan_wheels, wheels_file_name

LOCK_SAMPLE = """\
numpy==2.4.6 \\
    --hash=sha256:aaa \\
    --hash=sha256:bbb
    # via -r requirements.in
pluggy==1.7.0 \\
    --hash=sha256:ccc
    # via
    #   pytest
    #   pip-tools
"""


def requirement_names(text):
    names = []
    for line in text.splitlines():
        line = line.split("#", 1)[0].strip()
        if line and not line.startswith("-"):
            names.append(normalize(re.split(r"[\s<>=!~;\[]", line, maxsplit=1)[0]))
    return names


def unlocked(requirements_in, lock_text):
    """Requirements (and lock entries) that are not pinned with == and at least one hash."""
    pins = parse_lock(lock_text)
    problems = ["%s: not pinned in the lock" % n for n in requirement_names(requirements_in) if n not in pins]
    problems += ["%s==%s: no --hash" % (k, p["version"]) for k, p in sorted(pins.items()) if not p["hashes"]]
    problems += ["%s: pinned but no `# via` says why" % k for k, p in sorted(pins.items()) if not p["via"]]
    return problems


def test_every_requirement_is_pinned_and_hashed():
    with open("requirements.in", encoding="utf-8") as f:
        requirements_in = f.read()
    with open("requirements_lock.txt", encoding="utf-8") as f:
        lock = f.read()
    assert requirement_names(requirements_in) == ["numpy", "pytest", "pip_tools", "coverage", "matplotlib"]
    assert unlocked(requirements_in, lock) == [], "re-lock with: ./bazelw run //:requirements.update"


def test_parse_lock_reads_pins_hashes_and_via():
    pins = parse_lock(LOCK_SAMPLE)
    assert pins["numpy"] == {"name": "numpy", "version": "2.4.6", "hashes": ["sha256:aaa", "sha256:bbb"],
                             "via": ["-r requirements.in"]}
    assert pins["pluggy"]["via"] == ["pytest", "pip-tools"]


def test_removed_pin_is_reported():
    lock_without_numpy = LOCK_SAMPLE.split("pluggy", 1)[0].replace("numpy", "other")
    assert unlocked("numpy\n", lock_without_numpy) == ["numpy: not pinned in the lock"]


def test_missing_hash_is_reported():
    lock = "numpy==2.4.6\n    # via -r requirements.in\n"
    assert unlocked("numpy\n", lock) == ["numpy==2.4.6: no --hash"]


@pytest.mark.parametrize("lock", LOCKS)
def test_the_committed_wheels_file_matches_its_lock(lock):
    """A stale wheels file makes every fetch fall back to pip (slow, uncached): caught here instead."""
    label = "//%s:%s" % os.path.split(lock)
    wheels_path = wheels_file_name(lock)
    with open(lock, encoding="utf-8") as f:
        lock_text = f.read()
    with open(wheels_path, encoding="utf-8") as f:
        wheels_text = f.read()
    recorded = json.loads(wheels_text)
    assert recorded["lock"] == os.path.basename(lock)
    # Against the environment it was recorded for: whether this machine is one is the fetch's business.
    plan = plan_wheels(lock_text, label, wheels_text, wheels_file_name(label), recorded["environment"])
    assert "stale" not in plan, plan.get("stale")
    assert len(plan["wheels"]) == len(parse_lock(lock_text))


@pytest.mark.parametrize("line, name", [("pip-tools>=7", "pip_tools"), ("NumPy ; python_version>'3'", "numpy"),
                                        ("pytest[testing]==9", "pytest")])
def test_requirement_names(line, name):
    assert requirement_names(line + "\n# comment\n-c constraints.txt\n") == [name]
