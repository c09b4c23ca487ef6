"""Tests of the wheels file: reading pip's --report, and its agreement with the lock (no network, no pip)."""

import json

import pytest

from tools.python import pypi_build

A = "a" * 64
B = "b" * 64
C = "c" * 64
LOCK = """\
numpy==2.4.6 \\
    --hash=sha256:%s \\
    --hash=sha256:%s
    # via -r requirements.in
pygments==2.21.0 \\
    --hash=sha256:%s
    # via pytest
""" % (A, B, C)
NUMPY_URL = "file:///opt/pypi/files/numpy-2.4.6-cp311-cp311-manylinux_2_27_x86_64.manylinux_2_28_x86_64.whl"
PYGMENTS_URL = "https://files.pythonhosted.org/packages/00/11/pygments-2.21.0-py3-none-any.whl"
HERE = {"implementation_name": "cpython", "python_version": "3.11", "sys_platform": "linux",
        "platform_machine": "x86_64", "libc": "glibc 2.36"}


def report_item(name, version, url, sha256):
    """One `install` entry as pip 23.2 writes it (fields this reader ignores shortened)."""
    return {"download_info": {"url": url, "archive_info": {"hash": "sha256=" + sha256, "hashes": {"sha256": sha256}}},
            "is_direct": False, "requested": True, "metadata": {"name": name, "version": version}}


def report(*items):
    return json.dumps({"version": "1", "pip_version": "23.2.1", "install": list(items),
                       "environment": {"python_version": "3.11"}})


GOOD_REPORT = report(report_item("numpy", "2.4.6", NUMPY_URL, B), report_item("Pygments", "2.21.0", PYGMENTS_URL, C))


def wheels_text(report_text=GOOD_REPORT, environment=HERE):
    return pypi_build.dump_wheels(pypi_build.record_wheels(LOCK, "requirements_lock.txt", report_text, environment))


def plan(lock=LOCK, wheels=None, here=HERE, lock_label="//:requirements_lock.txt"):
    return pypi_build.plan_wheels(lock, lock_label, wheels_text() if wheels is None else wheels,
                                  "//:requirements_lock.wheels.json", here)


def test_parse_report_reads_name_version_url_and_sha256():
    assert pypi_build.parse_report(GOOD_REPORT) == {
        "numpy": {"name": "numpy", "version": "2.4.6", "url": NUMPY_URL, "sha256": B},
        "pygments": {"name": "Pygments", "version": "2.21.0", "url": PYGMENTS_URL, "sha256": C},
    }


def test_parse_report_takes_the_old_hash_field_and_keeps_a_quoted_url():
    item = report_item("torch", "2.13.0+cpu", "file:///opt/wheels/torch-2.13.0%2Bcpu-cp311-cp311-linux_x86_64.whl", A)
    del item["download_info"]["archive_info"]["hashes"]  # pip 22.2 wrote only "hash"
    assert pypi_build.parse_report(report(item))["torch"] == {
        "name": "torch", "version": "2.13.0+cpu", "sha256": A,
        "url": "file:///opt/wheels/torch-2.13.0%2Bcpu-cp311-cp311-linux_x86_64.whl"}


@pytest.mark.parametrize("item, message", [
    (report_item("numpy", "2.4.6", "https://x/numpy-2.4.6.tar.gz", A),
     "pip would install numpy==2.4.6 from 'https://x/numpy-2.4.6.tar.gz', which is not a wheel"),
    (report_item("numpy", "2.4.6", NUMPY_URL, "md5:00"), "pip's report gives no sha256 for numpy==2.4.6"),
])
def test_parse_report_refuses_an_entry_it_cannot_download_by_hash(item, message):
    with pytest.raises(ValueError, match="^" + message.replace("(", r"\(").replace(")", r"\)")):
        pypi_build.parse_report(report(item))


def test_parse_report_refuses_another_report_version():
    with pytest.raises(ValueError, match="has version '2'; this reader knows version 1.*Hint: update"):
        pypi_build.parse_report(json.dumps({"version": "2", "install": []}))
    with pytest.raises(ValueError, match="is not JSON"):
        pypi_build.parse_report("ERROR: no such option: --report")


def test_record_wheels_writes_a_sorted_file_that_plans_the_same_downloads():
    document = json.loads(wheels_text())
    assert document["format"] == 1 and document["lock"] == "requirements_lock.txt"
    assert document["environment"] == HERE
    assert sorted(document["wheels"]) == ["numpy", "pygments"]
    assert plan() == {"wheels": [
        {"pin": "numpy==2.4.6", "url": NUMPY_URL, "sha256": B},
        {"pin": "Pygments==2.21.0", "url": PYGMENTS_URL, "sha256": C},
    ]}


def test_record_wheels_refuses_pips_choice_when_it_disagrees_with_the_lock():
    other = report(report_item("numpy", "2.4.6", NUMPY_URL, C), report_item("Pygments", "2.21.0", PYGMENTS_URL, C))
    with pytest.raises(ValueError) as error:
        pypi_build.record_wheels(LOCK, "requirements_lock.txt", other, HERE)
    assert str(error.value) == ("pip's choice of wheels for requirements_lock.txt disagrees with the lock:\n"
                                "  - numpy==2.4.6: the recorded wheel's sha256 %s is none of the lock's 2 hashes for it" % C)


def test_wheel_problems_name_each_offending_pin():
    pins = pypi_build.parse_lock(LOCK)
    wheels = pypi_build.parse_report(report(
        report_item("numpy", "2.4.5", NUMPY_URL, B),
        report_item("six", "1.17.0", "https://x/six-1.17.0-py3-none-any.whl", A)))
    assert pypi_build.wheel_problems(pins, wheels) == [
        "numpy==2.4.6: the wheel recorded is of version 2.4.5",
        "pygments==2.21.0: no wheel recorded for it",
        "six==1.17.0: recorded, but the lock does not pin it",
    ]


def test_a_lock_edited_after_recording_makes_the_wheels_file_stale_naming_pin_file_and_fix():
    bumped = LOCK.replace("numpy==2.4.6", "numpy==2.4.7").replace(B, "d" * 64)
    stale = plan(lock=bumped)["stale"]
    assert stale.startswith("//:requirements_lock.wheels.json is stale: it does not match //:requirements_lock.txt.\n")
    assert "  - numpy==2.4.7: the wheel recorded is of version 2.4.6\n" in stale
    assert stale.endswith("Fix: ./bazelw run //:requirements.update (rewrites it from the lock).")


def test_a_hash_dropped_from_the_lock_makes_the_wheels_file_stale():
    stale = plan(lock=LOCK.replace(" \\\n    --hash=sha256:" + B, ""))["stale"]
    assert "  - numpy==2.4.6: the recorded wheel's sha256 %s is none of the lock's 1 hashes for it\n" % B in stale


def test_the_torch_locks_fix_is_a_wheels_only_record():
    stale = plan(lock=LOCK.replace("pygments", "pygmentz"), lock_label="//benchmarks:requirements_torch_lock.txt")["stale"]
    assert "  - pygmentz==2.21.0: no wheel recorded for it\n" in stale
    assert stale.endswith("Fix: ./bazelw run //:requirements.update -- --wheels-only "
                          "benchmarks/requirements_torch_lock.txt (rewrites it from the lock).")


@pytest.mark.parametrize("text, why", [("{", "is not valid JSON"), ('{"format": 2}', "is not a wheels file of format 1 (got 2)"),
                                       ("[]", "is not a wheels file of format 1 (got [])")])
def test_an_unreadable_wheels_file_is_stale(text, why):
    stale = plan(wheels=text)["stale"]
    assert stale.startswith("//:requirements_lock.wheels.json " + why)
    assert stale.endswith("Fix: ./bazelw run //:requirements.update rewrites it.")


def test_wheels_for_another_interpreter_are_not_used():
    stale = plan(here=dict(HERE, python_version="3.12", platform_machine="aarch64"))["stale"]
    assert stale.startswith("//:requirements_lock.wheels.json lists wheels for another kind of interpreter:\n")
    assert "  - python_version is '3.12' here, '3.11' where the wheels were chosen\n" in stale
    assert "  - platform_machine is 'aarch64' here, 'x86_64' where the wheels were chosen\n" in stale
    assert stale.endswith("./bazelw run //:requirements.update")


def test_a_glibc_older_than_a_wheels_tags_need_is_not_used():
    stale = plan(here=dict(HERE, libc="glibc 2.26"))["stale"]
    assert "  - numpy==2.4.6: its wheel needs glibc 2.27, this machine has glibc 2.26" in stale
    assert "Pygments" not in stale  # a pure wheel runs anywhere
    assert "the C library is '' here" in plan(here=dict(HERE, libc=""))["stale"]  # musl
    assert "wheels" in plan(here=dict(HERE, libc="glibc 2.27"))


@pytest.mark.parametrize("filename, floor", [
    ("numpy-2.4.6-cp311-cp311-manylinux_2_27_x86_64.manylinux_2_28_x86_64.whl", (2, 27)),
    ("kiwisolver-1.5.1-cp311-cp311-manylinux2014_x86_64.manylinux_2_17_x86_64.whl", (2, 17)),
    ("coverage-7.17.5-cp311-cp311-manylinux1_x86_64.manylinux_2_28_x86_64.manylinux_2_5_x86_64.whl", (2, 5)),
    ("torch-2.13.0%2Bcpu-cp311-cp311-manylinux_2_28_x86_64.whl", (2, 28)),
    ("pygments-2.21.0-py3-none-any.whl", None),
    ("x-1-cp311-cp311-linux_x86_64.whl", None),
])
def test_glibc_floor(filename, floor):
    assert pypi_build.glibc_floor("https://host/p/" + filename) == floor


def test_wheels_file_name_and_hint():
    assert pypi_build.wheels_file_name("requirements_lock.txt") == "requirements_lock.wheels.json"
    assert pypi_build.wheels_file_name("lock") == "lock.wheels.json"
    assert pypi_build.relock_hint("//:requirements_lock.txt") == "./bazelw run //:requirements.update"
    assert pypi_build.relock_hint("@//benchmarks:requirements_torch_lock.txt") == (
        "./bazelw run //:requirements.update -- --wheels-only benchmarks/requirements_torch_lock.txt")


def test_a_wheel_with_other_bytes_fails_naming_the_package_and_both_hashes():
    text = pypi_build.explain_wheel_mismatch("//:requirements_lock.txt", "//:requirements_lock.wheels.json",
                                             "numpy==2.4.6", NUMPY_URL, A, B)
    assert text.startswith("Hash check failed for //:requirements_lock.txt: a downloaded wheel does not match")
    assert "  package: numpy==2.4.6\n" in text and "  wheel:   %s\n" % NUMPY_URL in text
    assert "(//:requirements_lock.txt and //:requirements_lock.wheels.json): %s\n" % A in text
    assert "  sha256 downloaded: %s\n" % B in text
    assert "re-lock: ./bazelw run //:requirements.update." in text


def test_the_plan_cli_prints_json_for_this_interpreter(tmp_path, capsys):
    lock = LOCK[LOCK.index("pygments=="):]  # a pure wheel: it fits any CPython 3.11 on any machine
    pure = report(report_item("Pygments", "2.21.0", PYGMENTS_URL, C))
    (tmp_path / "lock.txt").write_text(lock)
    (tmp_path / "lock.wheels.json").write_text(pypi_build.dump_wheels(
        pypi_build.record_wheels(lock, "lock.txt", pure, pypi_build.current_environment())))
    pypi_build._cli(["--plan-wheels", str(tmp_path / "lock.txt"), "//:lock.txt",
                     str(tmp_path / "lock.wheels.json"), "//:lock.wheels.json"])
    assert json.loads(capsys.readouterr().out) == {
        "wheels": [{"pin": "Pygments==2.21.0", "url": PYGMENTS_URL, "sha256": C}]}
