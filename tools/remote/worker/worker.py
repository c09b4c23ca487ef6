"""A BuildGrid worker: the Remote Workers API (google.devtools.remoteworkers.v1test2 Bots) in Python.

    python worker.py --server 127.0.0.1:50051 --instance main --work-dir DIR --bot-id NAME \
        [--property OSFamily=Linux ...] [--hide /path ...] [--no-sandbox]

Runs one action at a time: takes a lease, fetches the Action, its Command and its input tree from
the CAS into a fresh directory (blobs cached on disk and hard-linked in), runs the command with
exactly the action's environment and its timeout, in a sandbox (worker_core.sandbox_argv), uploads
its outputs, stdout and stderr and reports the ActionResult. SIGTERM/SIGINT: the running action is
killed, its lease is handed back as UNAVAILABLE (BuildGrid retries it on another bot), and the
session says BOT_TERMINATING. Needs BuildGrid's wheel (its generated protos) and grpcio.
"""

import argparse
import logging
import os
import shutil
import signal
import socket
import sys
import threading
import time
import uuid

import grpc
from buildgrid._protos.build.bazel.remote.execution.v2 import remote_execution_pb2 as re_pb2
from buildgrid._protos.build.bazel.remote.execution.v2 import remote_execution_pb2_grpc as re_grpc
from buildgrid._protos.google.bytestream import bytestream_pb2, bytestream_pb2_grpc
from buildgrid._protos.google.devtools.remoteworkers.v1test2 import bots_pb2, bots_pb2_grpc, worker_pb2
from buildgrid._protos.google.rpc import code_pb2

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import worker_core  # noqa: E402  (beside this file)

LOG = logging.getLogger("worker")
EMPTY_SHA = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
BATCH_LIMIT = 2 * 1024 * 1024  # bytes per BatchRead/BatchUpdate call, well under gRPC's 4 MiB message limit
CHUNK = 1024 * 1024
HEARTBEAT = 5.0  # seconds between UpdateBotSession calls while an action runs (keepalive is 30 s)
LONG_POLL = 10.0  # seconds an idle UpdateBotSession may wait for a lease (also how fast SIGTERM is seen)


class Cas:
    """CAS reads and writes for one instance: batch calls for small blobs, ByteStream for large."""

    def __init__(self, channel, instance, cache):
        self.instance = instance
        self.cas = re_grpc.ContentAddressableStorageStub(channel)
        self.bs = bytestream_pb2_grpc.ByteStreamStub(channel)
        self.cache = cache

    def _name(self, *parts):
        return "/".join(([self.instance] if self.instance else []) + list(parts))

    def read(self, digest):
        if digest.size_bytes == 0:
            return b""
        if digest.size_bytes <= BATCH_LIMIT:
            resp = self.cas.BatchReadBlobs(re_pb2.BatchReadBlobsRequest(instance_name=self.instance, digests=[digest]))
            r = resp.responses[0]
            if r.status.code != code_pb2.OK:
                raise RuntimeError("CAS has no blob %s/%d: %s" % (digest.hash, digest.size_bytes, r.status.message))
            return r.data
        name = self._name("blobs", digest.hash, str(digest.size_bytes))
        return b"".join(r.data for r in self.bs.Read(bytestream_pb2.ReadRequest(resource_name=name)))

    def read_message(self, digest, cls):
        msg = cls()
        msg.ParseFromString(self.read(digest))
        return msg

    def fetch_into_cache(self, digests):
        """Puts every digest (hash -> size) not yet on disk into the blob cache."""
        missing = [(h, s) for h, s in digests.items() if s > 0 and not (self.cache.has(h) or self.cache.has(h, True))]
        batch, size = [], 0
        for h, s in missing:
            if s > BATCH_LIMIT:
                self.cache.put(h, self.read(re_pb2.Digest(hash=h, size_bytes=s)))
                continue
            if size + s > BATCH_LIMIT and batch:
                self._batch_read(batch)
                batch, size = [], 0
            batch.append(re_pb2.Digest(hash=h, size_bytes=s))
            size += s
        if batch:
            self._batch_read(batch)

    def _batch_read(self, digests):
        resp = self.cas.BatchReadBlobs(re_pb2.BatchReadBlobsRequest(instance_name=self.instance, digests=digests))
        for r in resp.responses:
            if r.status.code != code_pb2.OK:
                raise RuntimeError("CAS has no blob %s/%d: %s" % (r.digest.hash, r.digest.size_bytes, r.status.message))
            self.cache.put(r.digest.hash, r.data)

    def get_tree(self, root):
        """Every Directory of the input tree, by digest hash."""
        dirs = {}
        if root.size_bytes == 0:
            dirs[root.hash] = re_pb2.Directory()
        for resp in self.cas.GetTree(re_pb2.GetTreeRequest(instance_name=self.instance, root_digest=root)):
            for d in resp.directories:
                dirs[re_digest(d.SerializeToString()).hash] = d
        return dirs

    def upload(self, blobs):
        """Uploads {hash: (size, bytes or path)} that the CAS does not have yet."""
        if not blobs:
            return
        want = [re_pb2.Digest(hash=h, size_bytes=s) for h, (s, _) in blobs.items() if s > 0]
        missing = []
        for i in range(0, len(want), 1000):
            resp = self.cas.FindMissingBlobs(
                re_pb2.FindMissingBlobsRequest(instance_name=self.instance, blob_digests=want[i:i + 1000]))
            missing.extend(resp.missing_blob_digests)
        batch, size = [], 0
        for d in missing:
            data = _data(blobs[d.hash][1])
            if d.size_bytes > BATCH_LIMIT:
                self._stream_write(d, data)
                continue
            if size + d.size_bytes > BATCH_LIMIT and batch:
                self._batch_write(batch)
                batch, size = [], 0
            batch.append(re_pb2.BatchUpdateBlobsRequest.Request(digest=d, data=data))
            size += d.size_bytes
        if batch:
            self._batch_write(batch)

    def _batch_write(self, requests):
        resp = self.cas.BatchUpdateBlobs(re_pb2.BatchUpdateBlobsRequest(instance_name=self.instance, requests=requests))
        for r in resp.responses:
            if r.status.code != code_pb2.OK:
                raise RuntimeError("CAS refused blob %s: %s" % (r.digest.hash, r.status.message))

    def _stream_write(self, digest, data):
        name = self._name("uploads", str(uuid.uuid4()), "blobs", digest.hash, str(digest.size_bytes))

        def chunks():
            for off in range(0, len(data), CHUNK):
                yield bytestream_pb2.WriteRequest(resource_name=name if off == 0 else "", write_offset=off,
                                                  data=data[off:off + CHUNK], finish_write=off + CHUNK >= len(data))

        resp = self.bs.Write(chunks())
        if resp.committed_size != len(data):
            raise RuntimeError("ByteStream write of %s committed %d of %d bytes" % (digest.hash, resp.committed_size,
                                                                                   len(data)))


def _data(item):
    if isinstance(item, bytes):
        return item
    with open(item, "rb") as f:
        return f.read()


def re_digest(data):
    import hashlib
    return re_pb2.Digest(hash=hashlib.sha256(data).hexdigest(), size_bytes=len(data))


def stage(cas, dirs, root_hash, dest, chown_uid):
    """Materialises the input tree ROOT_HASH at DEST (which exists) from the blob cache."""
    digests = {}
    for d in dirs.values():
        for f in d.files:
            digests[f.digest.hash] = f.digest.size_bytes
    cas.fetch_into_cache(digests)

    def fill(directory, path):
        if chown_uid is not None:
            os.chown(path, chown_uid, chown_uid)
        for f in directory.files:
            target = os.path.join(path, worker_core.check_name(f.name))
            if f.digest.size_bytes == 0:
                with open(target, "wb"):
                    pass
                os.chmod(target, 0o555 if f.is_executable else 0o444)
            else:
                cas.cache.link(f.digest.hash, f.is_executable, target)
        for s in directory.symlinks:
            os.symlink(s.target, os.path.join(path, worker_core.check_name(s.name)))
        for sub in directory.directories:
            child = os.path.join(path, worker_core.check_name(sub.name))
            os.mkdir(child)
            if sub.digest.hash not in dirs:
                raise RuntimeError("input tree lacks directory %s" % sub.digest.hash)
            fill(dirs[sub.digest.hash], child)

    fill(dirs[root_hash], dest)


def _file_blob(path):
    digest, size = worker_core.sha256_file(path)
    return re_pb2.Digest(hash=digest, size_bytes=size)


def _directory_proto(tree, blobs, children):
    d = re_pb2.Directory()
    for name, path, executable in tree["files"]:
        dg = _file_blob(path)
        blobs[dg.hash] = (dg.size_bytes, path)
        d.files.add(name=name, digest=dg, is_executable=executable)
    for name, sub in sorted(tree["dirs"].items()):
        child = _directory_proto(sub, blobs, children)
        data = child.SerializeToString()
        children.append(child)
        d.directories.add(name=name, digest=re_digest(data))
    return d


class Worker:
    def __init__(self, args):
        self.args = args
        self.stop = threading.Event()
        self.channel = grpc.insecure_channel(args.server, options=[("grpc.max_receive_message_length", 64 << 20),
                                                                   ("grpc.max_send_message_length", 64 << 20)])
        self.bots = bots_pb2_grpc.BotsStub(self.channel)
        self.work_dir = os.path.abspath(args.work_dir)
        self.cas = Cas(self.channel, args.instance, worker_core.BlobCache(os.path.join(self.work_dir, "blobs")))
        self.uid = worker_core.NOBODY if (os.geteuid() == 0 and not args.no_sandbox) else None
        self.session = None
        self.actions_done = 0

    def _session_proto(self, status):
        s = bots_pb2.BotSession(bot_id=self.args.bot_id, status=status)
        device = s.worker.devices.add(handle=self.args.bot_id)
        for kv in self.args.property:
            key, _, value = kv.partition("=")
            device.properties.add(key=key, value=value)
        s.worker.configs.add(key="capacity", value="1")
        return s

    def run(self):
        self.session = self.bots.CreateBotSession(
            bots_pb2.CreateBotSessionRequest(parent=self.args.instance, bot_session=self._session_proto(bots_pb2.OK)),
            timeout=self.args.connect_timeout, wait_for_ready=True)
        LOG.info("bot session %s", self.session.name)
        while not self.stop.is_set():
            leases = [le for le in self.session.leases if le.state in (bots_pb2.PENDING, bots_pb2.ACTIVE)]
            if leases:
                self._work(leases[0])
                continue
            try:
                self.session = self._update(timeout=LONG_POLL)
            except grpc.RpcError as e:
                if e.code() != grpc.StatusCode.DEADLINE_EXCEEDED:
                    LOG.warning("UpdateBotSession: %s %s", e.code(), e.details())
                    time.sleep(1)
        self._shutdown()

    def _update(self, timeout):
        return self.bots.UpdateBotSession(
            bots_pb2.UpdateBotSessionRequest(name=self.session.name, bot_session=self.session), timeout=timeout)

    def _work(self, lease):
        lease.state = bots_pb2.ACTIVE
        del self.session.leases[:]
        self.session.leases.append(lease)
        outcome = {}
        thread = threading.Thread(target=self._execute_into, args=(lease, outcome), daemon=True)
        thread.start()
        cancelled = False
        while thread.is_alive():
            thread.join(HEARTBEAT)
            if not thread.is_alive() or self.stop.is_set():
                continue
            try:
                reply = self._update(timeout=HEARTBEAT * 2)
                if not any(le.id == lease.id for le in reply.leases):
                    LOG.info("lease %s was cancelled by the server", lease.id)
                    cancelled = True
                    self.cancel_current = True
            except grpc.RpcError as e:
                LOG.warning("heartbeat: %s %s", e.code(), e.details())
        thread.join()
        if self.stop.is_set() or cancelled:
            # Hand the lease back: UNAVAILABLE is one of BuildGrid's retryable codes.
            lease.status.code = code_pb2.UNAVAILABLE
            lease.status.message = "worker %s shut down before the action finished" % self.args.bot_id
            lease.ClearField("result")
        else:
            status, result = outcome.get("status"), outcome.get("result")
            lease.status.CopyFrom(status)
            if result is not None:
                lease.result.Pack(result)
        lease.state = bots_pb2.COMPLETED
        del self.session.leases[:]
        self.session.leases.append(lease)
        if cancelled:
            del self.session.leases[:]
        for attempt in range(5):
            try:
                self.session = self._update(timeout=0.1 if self.stop.is_set() else LONG_POLL)
                break
            except grpc.RpcError as e:
                if e.code() == grpc.StatusCode.DEADLINE_EXCEEDED:
                    break  # the server got the update and waits for new work for us
                LOG.warning("reporting lease %s: %s %s", lease.id, e.code(), e.details())
                time.sleep(1)
        keep = [le for le in self.session.leases if le.id != lease.id]
        del self.session.leases[:]
        self.session.leases.extend(keep)
        self.actions_done += 1

    cancel_current = False

    def _execute_into(self, lease, outcome):
        try:
            self.cancel_current = False
            outcome["status"], outcome["result"] = self.execute(lease)
        except Exception as e:  # reported to the client as the action's error, never swallowed
            LOG.exception("lease %s failed", lease.id)
            from buildgrid._protos.google.rpc import status_pb2
            outcome["status"] = status_pb2.Status(code=code_pb2.INTERNAL, message="worker %s: %s" % (
                self.args.bot_id, e))
            outcome["result"] = None

    def execute(self, lease):
        from buildgrid._protos.google.rpc import status_pb2
        meta = re_pb2.ExecutedActionMetadata(worker=self.args.bot_id)
        meta.worker_start_timestamp.GetCurrentTime()
        action = re_pb2.Action()
        if lease.payload.Is(re_pb2.Action.DESCRIPTOR):
            lease.payload.Unpack(action)
        else:
            digest = re_pb2.Digest()
            lease.payload.Unpack(digest)
            action = self.cas.read_message(digest, re_pb2.Action)
        command = self.cas.read_message(action.command_digest, re_pb2.Command)
        action_dir = os.path.join(self.work_dir, "actions", lease.id.replace("/", "_"))
        shutil.rmtree(action_dir, ignore_errors=True)
        root = os.path.join(action_dir, "root")
        os.makedirs(root)
        try:
            meta.input_fetch_start_timestamp.GetCurrentTime()
            dirs = self.cas.get_tree(action.input_root_digest)
            stage(self.cas, dirs, action.input_root_digest.hash, root, self.uid)
            meta.input_fetch_completed_timestamp.GetCurrentTime()

            wd_rel = worker_core.check_relative(command.working_directory)
            wd = os.path.join(root, wd_rel) if wd_rel else root
            os.makedirs(wd, exist_ok=True)
            out_files, out_dirs = list(command.output_files), list(command.output_directories)
            if command.output_paths:  # REAPI 2.1: one list for both kinds
                out_files, out_dirs = list(command.output_paths), list(command.output_paths)
            for parent in worker_core.parents_to_create(out_files, out_dirs):
                p = os.path.join(wd, parent)
                os.makedirs(p, exist_ok=True)
                if self.uid is not None:
                    _chown_up(p, root, self.uid)
            env = worker_core.action_env((v.name, v.value) for v in command.environment_variables)
            argv = list(command.arguments)
            if not self.args.no_sandbox:
                argv, cwd = worker_core.sandbox_argv(argv, root, wd_rel, self.uid, self.args.hide), root
            else:
                cwd = wd
            timeout = action.timeout.seconds + action.timeout.nanos / 1e9 if action.HasField("timeout") else None
            stdout, stderr = os.path.join(action_dir, "stdout"), os.path.join(action_dir, "stderr")
            meta.execution_start_timestamp.GetCurrentTime()
            run = worker_core.run_command(argv, cwd, env, timeout, stdout, stderr,
                                          should_stop=lambda: self.stop.is_set() or self.cancel_current)
            meta.execution_completed_timestamp.GetCurrentTime()
            LOG.info("lease %s: exit %d in %.1f s%s", lease.id, run.exit_code, run.seconds,
                     " (timed out)" if run.timed_out else "")

            meta.output_upload_start_timestamp.GetCurrentTime()
            result = re_pb2.ActionResult(exit_code=run.exit_code)
            blobs = {}
            if command.output_paths:
                out_files = [p for p in command.output_paths if not os.path.isdir(os.path.join(wd, p))]
                out_dirs = [p for p in command.output_paths if os.path.isdir(os.path.join(wd, p))]
            files, trees = worker_core.walk_outputs(wd, out_files, out_dirs)
            for rel, path, executable in files:
                dg = _file_blob(path)
                blobs[dg.hash] = (dg.size_bytes, path)
                result.output_files.add(path=rel, digest=dg, is_executable=executable)
            for rel, tree in trees:
                children = []
                rootdir = _directory_proto(tree, blobs, children)
                data = re_pb2.Tree(root=rootdir, children=children).SerializeToString()
                dg = re_digest(data)
                blobs[dg.hash] = (dg.size_bytes, data)
                result.output_directories.add(path=rel, tree_digest=dg)
            for name, path in (("stdout", stdout), ("stderr", stderr)):
                dg = _file_blob(path)
                blobs[dg.hash] = (dg.size_bytes, path)
                getattr(result, name + "_digest").CopyFrom(dg)
            self.cas.upload(blobs)
            meta.output_upload_completed_timestamp.GetCurrentTime()
            meta.worker_completed_timestamp.GetCurrentTime()
            result.execution_metadata.CopyFrom(meta)
            status = status_pb2.Status(code=code_pb2.OK)
            if run.timed_out:
                status = status_pb2.Status(code=code_pb2.DEADLINE_EXCEEDED,
                                           message="action timed out after %.0f s" % timeout)
            return status, result
        finally:
            if not self.args.keep_dirs:
                _rmtree(action_dir)

    def _shutdown(self):
        try:
            del self.session.leases[:]
            self.session.status = bots_pb2.BOT_TERMINATING
            self._update(timeout=5)
        except grpc.RpcError as e:
            if e.code() != grpc.StatusCode.DEADLINE_EXCEEDED:
                LOG.warning("final UpdateBotSession: %s %s", e.code(), e.details())
        LOG.info("stopped after %d action(s)", self.actions_done)


def _chown_up(path, root, uid):
    while True:
        os.chown(path, uid, uid)
        if os.path.samefile(path, root):
            return
        path = os.path.dirname(path)


def _rmtree(path):
    def onerror(func, p, _exc):
        os.chmod(os.path.dirname(p), 0o755)
        func(p)
    shutil.rmtree(path, onerror=onerror)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--server", required=True, help="host:port of BuildGrid's gRPC endpoint")
    p.add_argument("--instance", default="main")
    p.add_argument("--work-dir", required=True, help="blob cache and per-action dirs (outside any checkout)")
    p.add_argument("--bot-id", default="%s-%d" % (socket.gethostname(), os.getpid()))
    p.add_argument("--property", action="append", default=[], help="KEY=VALUE this worker advertises")
    p.add_argument("--hide", action="append", default=list(worker_core.DEFAULT_HIDDEN),
                   help="host folder to cover with an empty tmpfs in the sandbox (repeatable)")
    p.add_argument("--connect-timeout", type=float, default=60.0, help="seconds to wait for the server at start")
    p.add_argument("--no-sandbox", action="store_true", help="run actions directly (debugging only)")
    p.add_argument("--keep-dirs", action="store_true", help="keep each action's dir (debugging)")
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s " + args.bot_id + " %(levelname)s %(message)s")
    w = Worker(args)

    def on_signal(signum, _frame):
        LOG.info("signal %d: finishing", signum)
        w.stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    w.run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
