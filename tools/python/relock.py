"""`./bazelw run //:requirements.update`: re-lock requirements.in into requirements_lock.txt.

Runs pip-compile (from the lock itself, @pypi//pip_tools) with hashes, in the workspace folder.
"""

import os
import sys

from piptools.scripts.compile import cli

ARGS = [
    "--generate-hashes",
    "--allow-unsafe",  # pin pip and setuptools too: pip-tools needs them, and the lock is all we install
    "--strip-extras",
    "--no-emit-index-url",
    "--no-emit-find-links",
    "--output-file=requirements_lock.txt",
    "requirements.in",
]


def main(argv):
    workspace = os.environ.get("BUILD_WORKSPACE_DIRECTORY")
    if not workspace:
        print("relock: run me with `./bazelw run //:requirements.update`", file=sys.stderr)
        return 2
    os.chdir(workspace)
    # pip-compile writes its own command line into the lock header; keep it the documented one.
    sys.argv = ["pip-compile"] + ARGS + list(argv)
    return cli.main(args=ARGS + list(argv), prog_name="pip-compile", standalone_mode=False) or 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
