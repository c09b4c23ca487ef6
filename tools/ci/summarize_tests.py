"""Adds up the pytest cases of every test.xml under bazel-testlogs: `tests: N passed, N failed`.

Bazel's own summary counts test *targets*; this counts the test *cases* inside them.
Usage: python3 tools/ci/summarize_tests.py [TESTLOGS_DIR]
"""

import os
import sys
import xml.etree.ElementTree as ET


def count(testlogs):
    passed = failed = 0
    for folder, _, files in os.walk(testlogs, followlinks=True):
        if "test.xml" not in files:
            continue
        for case in ET.parse(os.path.join(folder, "test.xml")).iter("testcase"):
            if case.find("failure") is not None or case.find("error") is not None:
                failed += 1
            elif case.find("skipped") is None:
                passed += 1
    return passed, failed


if __name__ == "__main__":
    passed, failed = count(sys.argv[1] if len(sys.argv) > 1 else "bazel-testlogs")
    print("tests: %d passed, %d failed" % (passed, failed))
