"""In every *_accelerated_test target (its name does not match pytest's test_*.py, so only a target
that names it collects it): importing it switches acceleration on for the whole session. pytest
imports every test file before it runs any test, so the lower modules' test files beside it run
against the accelerated path. (A `-p` plugin would be imported by pytest itself, which the
run-time guard refuses: only the test's own sources may import its deps.)"""

from tinytorch.core import acceleration

acceleration.enable()


def test_acceleration_is_enabled_for_this_session():
    assert acceleration.is_enabled()
