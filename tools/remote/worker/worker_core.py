"""The pure parts of the remote-execution worker (tools/remote/worker/worker.py): standard library only.

What lives here can be tested without a server or protobuf: path checks for names coming from the
CAS, the action's environment, the sandbox command line, running a command with a timeout, the
local blob cache and the walk over an action's outputs.
"""

import hashlib
import os
import signal
import subprocess
import time

# Where actions run inside the sandbox: a fresh tmpfs is mounted on /tmp, and the action's input
# directory is bind-mounted here, so no host path (the worker's state dir, a checkout) shows up.
SANDBOX_EXECROOT = "/tmp/execroot"

# Host folders covered by an empty tmpfs inside the sandbox: where checkouts, homes (with pyenv and
# user site-packages) and other users' temp files live. /tmp is always covered.
DEFAULT_HIDDEN = ("/home", "/root", "/work", "/srv", "/opt", "/mnt", "/media", "/var/tmp")

NOBODY = 65534

# Runs inside `unshare --mount --pid`: $1 the input dir, $2 the uid to run as ("" = keep),
# $3 the working directory relative to the input dir, then hidden folders, then `--`, then argv.
# `cd` first: the shell keeps its working directory even after a tmpfs covers its path, and
# /proc/self/cwd (a magic link, hence mount -c) lets the bind mount find it again.
_SANDBOX_SCRIPT = r"""set -eu
cd "$1"; uid=$2; wd=$3; shift 3
/bin/mount -t tmpfs -o mode=1777,size=4g tmpfs /tmp
while [ "$1" != -- ]; do
  if [ -d "$1" ]; then /bin/mount -t tmpfs -o mode=0755,size=1m tmpfs "$1"; fi
  shift
done
shift
/bin/mkdir -p "%(root)s"
/bin/mount -c --bind /proc/self/cwd "%(root)s"
cd "%(root)s/$wd"
if [ -n "$uid" ]; then exec /usr/bin/setpriv --reuid="$uid" --regid="$uid" --clear-groups -- "$@"; fi
exec "$@"
""" % {"root": SANDBOX_EXECROOT}


def check_name(name):
    """Returns NAME if it is one safe path component (a name in a CAS Directory); else ValueError."""
    if not isinstance(name, str):
        raise TypeError("a directory entry name must be a str, got %r" % (name,))
    if name in ("", ".", "..") or "/" in name or "\0" in name:
        raise ValueError(
            "unsafe directory entry name %r: a name must be one path component, not '', '.', '..', "
            "and contain no '/' or NUL. Hint: the client sent a malformed input tree." % (name,))
    return name


def check_relative(path):
    """Returns PATH if it is a relative path that stays inside the action's directory; else ValueError."""
    if not isinstance(path, str):
        raise TypeError("an output or working directory path must be a str, got %r" % (path,))
    if path == "":
        return path
    if path.startswith("/") or "\0" in path:
        raise ValueError(
            "path %r must be relative to the input root (no leading '/', no NUL). "
            "Hint: REAPI paths are relative to the action's working directory." % (path,))
    for part in path.split("/"):
        if part in ("", ".", ".."):
            raise ValueError(
                "path %r has the component %r; allowed are plain names separated by single '/'. "
                "Hint: normalise the path before sending it." % (path, part))
    return path


def action_env(pairs):
    """The environment of an action: exactly its (name, value) pairs, nothing of the worker's own."""
    env = {}
    for name, value in pairs:
        if not name or "=" in name or "\0" in name or "\0" in value:
            raise ValueError(
                "bad environment variable %r=%r: the name must be non-empty without '=' or NUL, the value "
                "without NUL" % (name, value))
        if name in env:
            raise ValueError("environment variable %r is set twice (values %r and %r); REAPI allows it once"
                             % (name, env[name], value))
        env[name] = value
    return env


def sandbox_argv(argv, execroot, working_directory="", uid=None, hidden=DEFAULT_HIDDEN):
    """The command that runs ARGV isolated: own mount and PID namespaces, host folders hidden.

    The action then sees its inputs at SANDBOX_EXECROOT, an empty /tmp, an empty tmpfs over each
    HIDDEN folder, the rest of the host's file system (/usr, /etc: the interpreter) and the host's
    network. With UID set (the worker runs as root) it runs as that user, so it can write neither
    the worker's blob cache (hard links into the input dir) nor anything else root owns.
    """
    if not argv:
        raise ValueError("an action needs a non-empty argv; got []")
    check_relative(working_directory)
    return ([
        "/usr/bin/unshare", "--mount", "--pid", "--fork", "--kill-child", "--mount-proc", "--propagation", "private",
        "--", "/bin/sh", "-c", _SANDBOX_SCRIPT, "sandbox", execroot, "" if uid is None else str(uid),
        working_directory,
    ] + [h for h in hidden] + ["--"] + list(argv))


class RunResult:
    __slots__ = ("exit_code", "timed_out", "seconds", "error")

    def __init__(self, exit_code, timed_out, seconds, error=""):
        self.exit_code, self.timed_out, self.seconds, self.error = exit_code, timed_out, seconds, error


def run_command(argv, cwd, env, timeout, stdout_path, stderr_path, should_stop=None, poll=0.1):
    """Runs ARGV in CWD with exactly ENV; stdout/stderr to files. Kills its whole process group after
    TIMEOUT seconds (None or 0: no limit) or as soon as SHOULD_STOP() is true.

    Returns a RunResult; a command that cannot start gives exit code 127 and the reason in `error`.
    """
    start = time.monotonic()
    with open(stdout_path, "wb") as out, open(stderr_path, "wb") as err:
        try:
            proc = subprocess.Popen(argv, cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=out, stderr=err,
                                    start_new_session=True, close_fds=True)
        except OSError as e:
            err.write(("worker: cannot start %r: %s\n" % (argv[0], e)).encode())
            return RunResult(127, False, time.monotonic() - start, str(e))
        timed_out = stopped = False
        while True:
            try:
                code = proc.wait(timeout=poll)
                break
            except subprocess.TimeoutExpired:
                pass
            if timeout and time.monotonic() - start > timeout:
                timed_out = True
            elif should_stop is not None and should_stop():
                stopped = True
            if timed_out or stopped:
                _kill_group(proc)
                code = proc.wait()
                break
    return RunResult(code, timed_out, time.monotonic() - start, "stopped" if stopped else "")


def _kill_group(proc):
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def sha256_file(path, chunk=1 << 20):
    h = hashlib.sha256()
    size = 0
    with open(path, "rb") as f:
        while True:
            block = f.read(chunk)
            if not block:
                break
            h.update(block)
            size += len(block)
    return h.hexdigest(), size


class BlobCache:
    """Content-addressed files on the worker's disk, hard-linked into each action's input dir.

    Executable and plain copies of a blob are separate files (a hard link shares the mode). Files
    are read-only; actions run as another user, so they cannot change a cached blob through a link.
    """

    def __init__(self, root):
        self.root = root
        os.makedirs(root, exist_ok=True)

    def path(self, hash_, executable):
        if len(hash_) != 64 or any(c not in "0123456789abcdef" for c in hash_):
            raise ValueError("blob hash %r is not a lowercase sha256 hex digest (64 characters)" % (hash_,))
        return os.path.join(self.root, hash_[:2], hash_ + (".x" if executable else ""))

    def has(self, hash_, executable=False):
        return os.path.exists(self.path(hash_, executable))

    def put(self, hash_, data, executable=False):
        """Stores DATA under HASH_ after checking that it really has that sha256."""
        got = hashlib.sha256(data).hexdigest()
        if got != hash_:
            raise ValueError("blob content has sha256 %s, expected %s: the CAS returned wrong bytes" % (got, hash_))
        dest = self.path(hash_, executable)
        os.makedirs(os.path.dirname(dest), exist_ok=True)
        tmp = "%s.tmp%d" % (dest, os.getpid())
        with open(tmp, "wb") as f:
            f.write(data)
        os.chmod(tmp, 0o555 if executable else 0o444)
        os.replace(tmp, dest)
        return dest

    def link(self, hash_, executable, dest):
        """Hard-links the cached blob to DEST, making the executable variant from the plain one if needed."""
        src = self.path(hash_, executable)
        if not os.path.exists(src):
            other = self.path(hash_, not executable)
            with open(other, "rb") as f:
                self.put(hash_, f.read(), executable)
        os.link(src, dest)


def walk_outputs(root, output_files, output_directories):
    """What an action left at its declared outputs under ROOT (the working directory).

    Returns (files, directories): files is a list of (path, abs_path, is_executable) for each declared
    output file that exists (symlinks followed); directories is a list of (path, tree) where tree is
    {"files": [(name, abs_path, is_executable)], "dirs": {name: tree}}. Missing outputs are left out,
    as REAPI says; a declared file that is a directory (or the reverse) is a ValueError.
    """
    files = []
    for rel in output_files:
        check_relative(rel)
        p = os.path.join(root, rel)
        if not os.path.exists(p):
            continue
        if os.path.isdir(p):
            raise ValueError("declared output file %r is a directory; declare it as an output directory" % rel)
        files.append((rel, p, os.access(p, os.X_OK) and bool(os.stat(p).st_mode & 0o111)))
    dirs = []
    for rel in output_directories:
        check_relative(rel)
        p = os.path.join(root, rel)
        if not os.path.exists(p):
            continue
        if not os.path.isdir(p):
            raise ValueError("declared output directory %r is a file; declare it as an output file" % rel)
        dirs.append((rel, _tree(p)))
    return files, dirs


def _tree(path):
    tree = {"files": [], "dirs": {}}
    for name in sorted(os.listdir(path)):
        p = os.path.join(path, name)
        if os.path.isdir(p):
            tree["dirs"][name] = _tree(p)
        elif os.path.exists(p):  # a dangling symlink is no output
            tree["files"].append((name, p, bool(os.stat(p).st_mode & 0o111)))
    return tree


def parents_to_create(output_files, output_directories):
    """The directories a worker must create before the command runs: each output's parent (REAPI)."""
    wanted = set()
    for rel in list(output_files) + list(output_directories):
        check_relative(rel)
        parent = os.path.dirname(rel)
        if parent:
            wanted.add(parent)
    return sorted(wanted)
