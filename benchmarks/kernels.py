"""Kernel benchmarks: tinytorch against PyTorch 2.13 (CPU), side by side, on both of tinytorch's paths.

    ./bazelw run //benchmarks:kernels                 # everything, 1 and 2 threads (a few minutes)
    ./bazelw run //benchmarks:kernels -- --quick      # fewer repeats
    ./bazelw run //benchmarks:kernels -- --out DIR --threads 2 --only attention

Writes kernels.md (tables) and kernels.json (one record per row: kernel, workload, threads,
ours_ms, torch_ms, ratio = ours/torch, max_abs_diff, plus torch_variant and bandwidth fields)
under --out or <workspace>/out/benchmarks, and prints both paths at the end.

Two tinytorch paths per row. "ours" is the accelerated path: every worker calls
``tinytorch.core.acceleration.enable()`` first (the speed work of module 18); the targets apply to
it. "reference" is the same call with acceleration switched off around it (the plain maths of
modules 05, 11 and 12), timed in the same interleaved rounds and reported beside it.

How it measures. One worker process per (thread count, PyTorch allocator): the thread count is
fixed in the environment before numpy and torch load (OMP/OPENBLAS/MKL_NUM_THREADS, and
torch.set_num_threads), so both libraries get the same number of threads; the second allocator
process sets THP_MEM_ALLOC_ENABLE=1 (PyTorch's huge-page allocator) and re-times the dense
embedding rows. In a process, ours and PyTorch's version of a row alternate (timing.side_by_side)
and the medians are reported; max_abs_diff compares their outputs and gradients (same weights,
same inputs). OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE, if set, are removed for the workers (they
slow numpy's OpenBLAS here); --keep-openblas-env keeps them. Tests never change them.

OMP_WAIT_POLICY=PASSIVE is set for the workers (--omp-wait-policy changes it). Why: after each
call PyTorch's OpenMP threads spin, waiting for more work; with ours timed right after it, on a
2-CPU machine that spinning thread takes the core our second thread needs (a large gather timed
3.9 ms after a PyTorch call vs 2.3 ms alone). PASSIVE makes them sleep instead; PyTorch's own
times did not get worse with it here (its large gather: 1.4 ms PASSIVE, 1.8-2.0 ms default).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import tracemalloc

import numpy as np

from report import copy_bandwidth_gbps, markdown_table, output_dir, write_json
from timing import Case, side_by_side

EMBEDDING_WORKLOADS = {  # name: (vocab, dim, batch, seq)
    "small": (1_000, 64, 8, 32),
    "medium": (32_000, 512, 32, 128),
    "large": (50_257, 768, 16, 512),
}
ATTENTION_WORKLOADS = {  # name: (batch, heads, seq, head_dim); always causal
    "b8 h8 s128 d64": (8, 8, 128, 64),
    "b4 h12 s512 d64": (4, 12, 512, 64),
}
THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
OMP_WAIT_POLICIES = ("PASSIVE", "ACTIVE", "keep")
SLOW_OPENBLAS_VARIABLES = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")
GROUPS = ("embedding", "embedding_layer", "attention")

# (description, kernel, workloads, threads, torch_variant, limit)
TARGETS = [
    ("dense Embedding fwd+bwd <= 1.0x PyTorch", "Embedding fwd+bwd (dense)", ("medium", "large"), 2, "default", 1.0),
    ("dense Embedding fwd+bwd <= 1.5x PyTorch THP", "Embedding fwd+bwd (dense)", ("medium", "large"), 2, "thp", 1.5),
    ("row-sparse Embedding fwd+bwd <= 1.5x PyTorch sparse=True", "Embedding fwd+bwd (sparse)", ("medium", "large"), 2, "default", 1.5),
    ("causal SDPA forward <= 2x at seq 128", "scaled_dot_product_attention fwd", ("b8 h8 s128 d64",), 2, "default", 2.0),
    ("causal SDPA forward <= 1.5x at seq 512", "scaled_dot_product_attention fwd", ("b4 h12 s512 d64",), 2, "default", 1.5),
    ("causal SDPA fwd+bwd <= 1.5x", "scaled_dot_product_attention fwd+bwd", tuple(ATTENTION_WORKLOADS), 2, "default", 1.5),
]


# ---------------------------------------------------------------------------------------------
# Worker: runs in a fresh process with the thread count already in its environment
# ---------------------------------------------------------------------------------------------
def max_diff(pairs) -> float:
    """Largest |ours - torch| over (ours array, torch tensor) pairs."""
    return max(float(np.max(np.abs(np.asarray(a, dtype=np.float64) - b.detach().numpy().astype(np.float64)))) for a, b in pairs)


def on_reference_path(fn):
    """fn, run with acceleration switched off (the reference path) and on again after."""
    if fn is None:
        return None

    def run():
        from tinytorch.core import acceleration

        with acceleration.enabled(False):
            return fn()

    return run


class Rows:
    """Collects one record per benchmark row: accelerated ("ours"), reference and PyTorch."""

    def __init__(self, threads, variant, repeats):
        self.threads, self.variant, self.repeats = threads, variant, repeats
        self.records = []

    def compare(self, kernel, workload, ours: Case, torch_case: Case, diff, bytes_moved=None):
        cases = {"ours": ours, "reference": Case(on_reference_path(ours.run), on_reference_path(ours.setup)), "torch": torch_case}
        if bytes_moved is not None:
            # The bound: np.copyto of the same bytes (half read, half written), timed in the same
            # rounds as both kernels, so a busy neighbour or a slow phase of the machine slows
            # the bound too instead of showing up as a kernel being far from it.
            src = np.ones(int(bytes_moved) // 8, dtype=np.float32)
            dst = np.zeros_like(src)
            cases["copy"] = Case(lambda: np.copyto(dst, src))
        stats = side_by_side(cases, repeats=self.repeats)
        record = {
            "kernel": kernel,
            "workload": workload,
            "threads": self.threads,
            "ours_ms": round(stats["ours"].median_ms, 4),
            "torch_ms": round(stats["torch"].median_ms, 4),
            "ratio": round(stats["ours"].median_ms / stats["torch"].median_ms, 3),
            "reference_ms": round(stats["reference"].median_ms, 4),
            "reference_ratio": round(stats["reference"].median_ms / stats["torch"].median_ms, 3),
            "max_abs_diff": diff(),
            "reference_max_abs_diff": on_reference_path(diff)(),
            "torch_variant": self.variant,
            "repeats": self.repeats,
        }
        if bytes_moved is not None:
            bound_ms = stats["copy"].median_ms
            record.update(
                bytes_moved=int(bytes_moved),
                copy_gbps=round(bytes_moved / bound_ms / 1e6, 2),
                bound_ms=round(bound_ms, 4),
                ours_x_bound=round(record["ours_ms"] / bound_ms, 2),
                reference_x_bound=round(record["reference_ms"] / bound_ms, 2),
                torch_x_bound=round(record["torch_ms"] / bound_ms, 2),
            )
        self.records.append(record)
        print(f"  {kernel:45s} {workload:16s} t={self.threads} {self.variant:7s} ours {record['ours_ms']:9.3f} ms"
              f"  reference {record['reference_ms']:9.3f} ms  torch {record['torch_ms']:9.3f} ms  ratio {record['ratio']:6.2f}"
              f"  diff {record['max_abs_diff']:.2e}",
              file=sys.stderr, flush=True)


def bench_embedding(rows: Rows, torch, workloads, dense_only=False):
    from tinytorch.text.embedding_core import Embedding

    for name in workloads:
        vocab, dim, batch, seq = EMBEDDING_WORKLOADS[name]
        tokens = batch * seq
        rng = np.random.default_rng(0)
        ids = rng.integers(0, vocab, size=(batch, seq))
        upstream = rng.standard_normal((batch, seq, dim), dtype=np.float32)
        ids_t, upstream_t = torch.from_numpy(ids), torch.from_numpy(upstream)
        gather_bytes = 2 * tokens * dim * 4 + ids.nbytes  # read the rows, write the output
        table_bytes = vocab * dim * 4
        for sparse in ((False,) if dense_only else (False, True)):
            mode = "sparse" if sparse else "dense"
            ours = Embedding(vocab, dim, seed=0, sparse=sparse)
            theirs = torch.nn.Embedding(vocab, dim, sparse=sparse)
            with torch.no_grad():
                theirs.weight.copy_(torch.from_numpy(ours.weight.data))
            w, tw = ours.weight, theirs.weight

            def ours_fwd_bwd():
                w.grad = None
                ours(ids).backward(upstream)

            def torch_fwd_bwd():
                tw.grad = None
                theirs(ids_t).backward(upstream_t)

            def grad_diff():
                ours_fwd_bwd()
                torch_fwd_bwd()
                ours_grad = w.grad.to_dense() if sparse else w.grad.data
                torch_grad = tw.grad.to_dense() if sparse else tw.grad
                return max_diff([(ours_grad, torch_grad)])

            if not sparse and not dense_only:
                rows.compare("Embedding fwd", name, Case(lambda: ours(ids)), Case(lambda: theirs(ids_t)),
                             lambda: max_diff([(ours(ids).data, theirs(ids_t))]), gather_bytes)
                graph = {}

                def ours_setup():
                    w.grad = None
                    graph["ours"] = ours(ids)

                def torch_setup():
                    tw.grad = None
                    graph["torch"] = theirs(ids_t)

                rows.compare("Embedding bwd (dense)", name,
                             Case(lambda: graph["ours"].backward(upstream), ours_setup),
                             Case(lambda: graph["torch"].backward(upstream_t), torch_setup),
                             grad_diff, table_bytes + upstream.nbytes)
            # Dense: the gather, then a whole zero table written and the upstream rows read.
            # Sparse: the gather only; the gradient keeps the ids and a view of the upstream rows.
            backward_bytes = ids.nbytes if sparse else table_bytes + upstream.nbytes
            rows.compare(f"Embedding fwd+bwd ({mode})", name, Case(ours_fwd_bwd), Case(torch_fwd_bwd), grad_diff,
                         gather_bytes + backward_bytes)


def bench_embedding_layer(rows: Rows, torch, workloads):
    from tinytorch.text.embeddings import EmbeddingLayer

    for name in workloads:
        vocab, dim, batch, seq = EMBEDDING_WORKLOADS[name]
        rng = np.random.default_rng(0)
        ids = rng.integers(0, vocab, size=(batch, seq))
        upstream = rng.standard_normal((batch, seq, dim), dtype=np.float32)
        ids_t, upstream_t = torch.from_numpy(ids), torch.from_numpy(upstream)
        for encoding in ("learned", "sinusoidal"):
            ours = EmbeddingLayer(vocab, dim, max_seq_len=seq, pos_encoding=encoding, seed=0)
            token = torch.nn.Embedding(vocab, dim)
            with torch.no_grad():
                token.weight.copy_(torch.from_numpy(ours.token_embedding.weight.data))
            table = ours.pos_encoding.position_embeddings if encoding == "learned" else ours.pos_encoding.encodings
            positions = torch.tensor(table.data, requires_grad=encoding == "learned")
            ours_params = ours.parameters()
            torch_params = [token.weight] + ([positions] if encoding == "learned" else [])

            def ours_fwd_bwd():
                for p in ours_params:
                    p.grad = None
                ours(ids).backward(upstream)

            def torch_fwd_bwd():
                for p in torch_params:
                    p.grad = None
                (token(ids_t) + positions[:seq]).backward(upstream_t)

            def diff():
                ours_fwd_bwd()
                torch_fwd_bwd()
                out_pair = (ours(ids).data, token(ids_t) + positions[:seq])
                return max_diff([out_pair] + [(p.grad.data, t.grad) for p, t in zip(ours_params, torch_params)])

            rows.compare(f"EmbeddingLayer fwd+bwd ({encoding})", name, Case(ours_fwd_bwd), Case(torch_fwd_bwd), diff)


def bench_attention(rows: Rows, torch, workloads):
    from tinytorch.core.attention import MultiHeadAttention, causal_mask, scaled_dot_product_attention
    from tinytorch.core.tensor import Tensor

    F = torch.nn.functional
    for name in workloads:
        batch, heads, seq, head_dim = ATTENTION_WORKLOADS[name]
        rng = np.random.default_rng(0)
        q, k, v, upstream = (rng.standard_normal((batch, heads, seq, head_dim), dtype=np.float32) for _ in range(4))
        mask = causal_mask(seq)  # built once, like a model's cached mask (PyTorch gets is_causal=True)
        tq, tk, tv, tup = (torch.from_numpy(a) for a in (q, k, v, upstream))

        # Forward only: no gradient recorded on either side. Tensors are built once (Tensor()
        # copies its data), as PyTorch's tensors are.
        plain = [Tensor(a) for a in (q, k, v)]

        def ours_fwd(need_weights=False):
            return scaled_dot_product_attention(*plain, mask, need_weights=need_weights)[0]

        def torch_fwd():
            with torch.no_grad():
                return F.scaled_dot_product_attention(tq, tk, tv, is_causal=True)

        rows.compare("scaled_dot_product_attention fwd", name, Case(ours_fwd), Case(torch_fwd),
                     lambda: max_diff([(ours_fwd().data, torch_fwd())]))
        rows.compare("scaled_dot_product_attention fwd (need_weights=True)", name,
                     Case(lambda: ours_fwd(True)), Case(torch_fwd), lambda: max_diff([(ours_fwd(True).data, torch_fwd())]))

        for need_weights in (False, True):
            ours_in = [Tensor(a, requires_grad=True) for a in (q, k, v)]
            torch_in = [t.clone().requires_grad_() for t in (tq, tk, tv)]

            def ours_fwd_bwd(ours_in=ours_in, need_weights=need_weights):
                for t in ours_in:
                    t.grad = None
                out = scaled_dot_product_attention(*ours_in, mask, need_weights=need_weights)[0]
                out.backward(upstream)
                return out

            def torch_fwd_bwd(torch_in=torch_in):
                for t in torch_in:
                    t.grad = None
                out = F.scaled_dot_product_attention(*torch_in, is_causal=True)
                out.backward(tup)
                return out

            def diff(ours_fwd_bwd=ours_fwd_bwd, torch_fwd_bwd=torch_fwd_bwd, ours_in=ours_in, torch_in=torch_in):
                pairs = [(ours_fwd_bwd().data, torch_fwd_bwd())]
                return max_diff(pairs + [(a.grad.data, b.grad) for a, b in zip(ours_in, torch_in)])

            suffix = " (need_weights=True)" if need_weights else ""
            rows.compare("scaled_dot_product_attention fwd+bwd" + suffix, name, Case(ours_fwd_bwd), Case(torch_fwd_bwd), diff)

        # MultiHeadAttention vs torch.nn.MultiheadAttention with the same weights.
        embed = heads * head_dim
        ours = MultiHeadAttention(embed, heads, seed=0)
        theirs = torch.nn.MultiheadAttention(embed, heads, batch_first=True)
        with torch.no_grad():  # ours: y = x @ W + b (W is (in, out)); torch: y = x @ W.T + b
            theirs.in_proj_weight.copy_(torch.from_numpy(np.concatenate([p.weight.data.T for p in (ours.q_proj, ours.k_proj, ours.v_proj)])))
            theirs.in_proj_bias.copy_(torch.from_numpy(np.concatenate([p.bias.data for p in (ours.q_proj, ours.k_proj, ours.v_proj)])))
            theirs.out_proj.weight.copy_(torch.from_numpy(np.ascontiguousarray(ours.out_proj.weight.data.T)))
            theirs.out_proj.bias.copy_(torch.from_numpy(ours.out_proj.bias.data))
        x = rng.standard_normal((batch, seq, embed), dtype=np.float32)
        x_upstream = rng.standard_normal((batch, seq, embed), dtype=np.float32)
        tx, tx_up = torch.from_numpy(x), torch.from_numpy(x_upstream)
        blocked = torch.triu(torch.ones(seq, seq, dtype=torch.bool), diagonal=1)  # torch: True = blocked

        x_plain = Tensor(x)

        def ours_mha_fwd():
            return ours(x_plain, mask)

        def torch_mha_fwd():
            with torch.no_grad():
                return theirs(tx, tx, tx, attn_mask=blocked, is_causal=True, need_weights=False)[0]

        rows.compare("MultiHeadAttention fwd", name, Case(ours_mha_fwd), Case(torch_mha_fwd),
                     lambda: max_diff([(ours_mha_fwd().data, torch_mha_fwd())]))

        ours_x, torch_x = Tensor(x, requires_grad=True), tx.clone().requires_grad_()

        def ours_mha_fwd_bwd():
            ours_x.grad = None
            for p in ours.parameters():
                p.grad = None
            out = ours(ours_x, mask)
            out.backward(x_upstream)
            return out

        def torch_mha_fwd_bwd():
            torch_x.grad = None
            theirs.zero_grad(set_to_none=True)
            out = theirs(torch_x, torch_x, torch_x, attn_mask=blocked, is_causal=True, need_weights=False)[0]
            out.backward(tx_up)
            return out

        def mha_diff():
            pairs = [(ours_mha_fwd_bwd().data, torch_mha_fwd_bwd()), (ours_x.grad.data, torch_x.grad)]
            return max_diff(pairs)

        rows.compare("MultiHeadAttention fwd+bwd", name, Case(ours_mha_fwd_bwd), Case(torch_mha_fwd_bwd), mha_diff)


def embedding_backward_memory():
    """tracemalloc peak of our embedding backward (numpy reports its buffers to tracemalloc)."""
    from tinytorch.text.embedding_core import Embedding

    records = []
    for name in ("medium", "large"):
        vocab, dim, batch, seq = EMBEDDING_WORKLOADS[name]
        rng = np.random.default_rng(0)
        ids = rng.integers(0, vocab, size=(batch, seq))
        upstream = rng.standard_normal((batch, seq, dim), dtype=np.float32)
        for sparse in (False, True):
            emb = Embedding(vocab, dim, seed=0, sparse=sparse)
            out = emb(ids)
            tracemalloc.start()
            out.backward(upstream)
            _, peak = tracemalloc.get_traced_memory()
            tracemalloc.stop()
            records.append({
                "workload": name,
                "mode": "sparse" if sparse else "dense",
                "peak_mib": round(peak / 2**20, 1),
                "weight_table_mib": round(vocab * dim * 4 / 2**20, 1),
                "upstream_mib": round(upstream.nbytes / 2**20, 1),
                "one_hot_would_be_mib": round(batch * seq * vocab * 4 / 2**20, 1),
            })
    return records


def environment_info(torch, threads):
    info = {
        "threads": threads,
        "numpy": np.__version__,
        "torch": torch.__version__,
        "torch_threads": torch.get_num_threads(),
        "python": sys.version.split()[0],
        "cpu_count": os.cpu_count(),
        "env": {v: os.environ.get(v) for v in THREAD_VARIABLES + SLOW_OPENBLAS_VARIABLES + ("THP_MEM_ALLOC_ENABLE", "OMP_WAIT_POLICY")},
    }
    try:
        from threadpoolctl import threadpool_info

        info["threadpools"] = [
            {k: p.get(k) for k in ("user_api", "internal_api", "num_threads", "architecture", "filepath")}
            for p in threadpool_info()
        ]
    except ImportError:
        info["threadpools"] = "threadpoolctl not installed"
    return info


def load_average() -> str:
    """/proc/loadavg's 1-minute figure: how busy the machine was (other processes skew timings)."""
    try:
        with open("/proc/loadavg", encoding="ascii") as f:
            return f.read().split()[0]
    except OSError:
        return "unknown"


def worker(args):
    import torch

    from tinytorch.core import acceleration

    acceleration.enable()  # "ours" is the accelerated path; Rows.compare times the reference beside it
    torch.set_num_threads(args.threads)
    load_at_start = load_average()
    bandwidth = copy_bandwidth_gbps()
    rows = Rows(args.threads, args.variant, args.repeats)
    groups = args.only.split(",")
    if args.variant == "thp":  # PyTorch's huge-page allocator only changes large allocations
        bench_embedding(rows, torch, [w for w in EMBEDDING_WORKLOADS], dense_only=True)
    else:
        if "embedding" in groups:
            bench_embedding(rows, torch, list(EMBEDDING_WORKLOADS))
        if "embedding_layer" in groups:
            bench_embedding_layer(rows, torch, list(EMBEDDING_WORKLOADS))
        if "attention" in groups:
            bench_attention(rows, torch, list(ATTENTION_WORKLOADS))
    result = {
        "rows": rows.records,
        "copy_bandwidth_gbps": round(bandwidth, 2),
        "environment": dict(environment_info(torch, args.threads), load_average=[load_at_start, load_average()]),
    }
    if args.memory:
        result["memory"] = embedding_backward_memory()
    with open(args.json, "w", encoding="utf-8") as f:
        json.dump(result, f)


# ---------------------------------------------------------------------------------------------
# Driver: one worker per (threads, allocator), then the tables
# ---------------------------------------------------------------------------------------------
def run_worker(threads, variant, args, memory):
    env = dict(os.environ)
    for var in THREAD_VARIABLES:
        env[var] = str(threads)
    removed = {}
    if not args.keep_openblas_env:
        removed = {v: env.pop(v) for v in SLOW_OPENBLAS_VARIABLES if v in env}
    if args.omp_wait_policy != "keep":
        env["OMP_WAIT_POLICY"] = args.omp_wait_policy
    if variant == "thp":
        env["THP_MEM_ALLOC_ENABLE"] = "1"
    else:
        env.pop("THP_MEM_ALLOC_ENABLE", None)
    # The worker sees exactly this process's import path (Bazel runfiles or the PYTHONPATH).
    env["PYTHONPATH"] = os.pathsep.join(p for p in sys.path if p)
    flags = [f for f, on in (("-S", sys.flags.no_site), ("-s", sys.flags.no_user_site), ("-P", getattr(sys.flags, "safe_path", False))) if on]
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "rows.json")
        command = [sys.executable, *flags, os.path.abspath(__file__), "--worker", "--threads", str(threads),
                   "--variant", variant, "--repeats", str(args.repeats), "--only", args.only, "--json", out]
        if memory:
            command.append("--memory")
        print(f"kernels: {threads} thread(s), PyTorch allocator {variant}", file=sys.stderr, flush=True)
        subprocess.run(command, env=env, check=True)
        with open(out, encoding="utf-8") as f:
            result = json.load(f)
    result["environment"]["removed_env"] = removed
    if removed:
        result["environment"]["driver_blas_with_those_variables"] = blas_architectures()
    return result


def blas_architectures():
    """OpenBLAS core types threadpoolctl sees in this (driver) process, or why it cannot tell."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return "threadpoolctl not installed"
    return [p.get("architecture") for p in threadpool_info() if p.get("internal_api") == "openblas"]


def evaluate_targets(records):
    index = {(r["kernel"], r["workload"], r["threads"], r["torch_variant"]): r for r in records}
    targets = []
    for description, kernel, workloads, threads, variant, limit in TARGETS:
        for workload in workloads:
            row = index.get((kernel, workload, threads, variant))
            if row is None:
                continue
            targets.append({"target": description, "workload": workload, "threads": threads, "ratio": row["ratio"],
                            "ours_ms": row["ours_ms"], "torch_ms": row["torch_ms"], "limit": limit, "met": row["ratio"] <= limit,
                            "reference_ms": row.get("reference_ms"), "reference_ratio": row.get("reference_ratio")})
    large_gather = index.get(("Embedding fwd", "large", 2, "default"))
    if large_gather is not None:
        targets.append({"target": "large gather within 1.5x of the copy-bandwidth bound", "workload": "large", "threads": 2,
                        "ratio": large_gather["ours_x_bound"], "ours_ms": large_gather["ours_ms"],
                        "torch_ms": large_gather["torch_ms"], "limit": 1.5, "met": large_gather["ours_x_bound"] <= 1.5,
                        "reference_ms": large_gather.get("reference_ms"), "reference_ratio": large_gather.get("reference_x_bound")})
    return targets


def write_report(results, args):
    records = [r for res in results for r in res["rows"]]
    targets = evaluate_targets(records)
    memory = next((res["memory"] for res in results if "memory" in res), [])
    bandwidths = {f"{res['environment']['threads']} thread(s), {res['rows'][0]['torch_variant'] if res['rows'] else ''}": res["copy_bandwidth_gbps"] for res in results}

    def vs(r):
        return "PyTorch THP" if r["torch_variant"] == "thp" else "PyTorch"

    main_table = markdown_table(records, [
        ("kernel", "kernel"), ("workload", "workload"), ("threads", "threads"), ("against", vs),
        ("reference ms", "reference_ms"), ("accelerated ms", "ours_ms"), ("torch ms", "torch_ms"),
        ("reference / torch", "reference_ratio"), ("accelerated / torch", "ratio"),
        ("max abs diff (acc.)", "max_abs_diff"), ("max abs diff (ref.)", "reference_max_abs_diff"),
    ])
    bandwidth_rows = [r for r in records if "bytes_moved" in r]
    bandwidth_table = markdown_table(bandwidth_rows, [
        ("kernel", "kernel"), ("workload", "workload"), ("threads", "threads"), ("against", vs),
        ("MB moved", lambda r: r["bytes_moved"] / 1e6), ("copy GB/s", "copy_gbps"), ("bound ms", "bound_ms"),
        ("ours ms", "ours_ms"), ("ours GB/s", lambda r: r["bytes_moved"] / r["ours_ms"] / 1e6), ("ours / bound", "ours_x_bound"),
        ("torch ms", "torch_ms"), ("torch GB/s", lambda r: r["bytes_moved"] / r["torch_ms"] / 1e6), ("torch / bound", "torch_x_bound"),
    ])
    target_table = markdown_table(targets, [
        ("target", "target"), ("workload", "workload"), ("threads", "threads"), ("accelerated ms", "ours_ms"),
        ("torch ms", "torch_ms"), ("measured (accelerated)", "ratio"), ("limit", "limit"), ("met", lambda t: "yes" if t["met"] else "NO"),
        ("reference ms", "reference_ms"), ("reference measured", "reference_ratio"),
    ])
    memory_table = markdown_table(memory, [
        ("workload", "workload"), ("gradient", "mode"), ("peak MiB (tracemalloc)", "peak_mib"),
        ("weight table MiB", "weight_table_mib"), ("upstream MiB", "upstream_mib"), ("one-hot would be MiB", "one_hot_would_be_mib"),
    ])
    env = results[0]["environment"]
    removed = {k: v for res in results for k, v in res["environment"].get("removed_env", {}).items()}
    loads = ", ".join(
        f"{res['environment']['threads']} thread(s) {res['rows'][0]['torch_variant'] if res['rows'] else ''}: "
        + " -> ".join(res["environment"]["load_average"])
        for res in results
    )
    text = "\n".join([
        "# Kernel benchmarks: tinytorch vs PyTorch " + env["torch"] + " (CPU)",
        "",
        f"Median of {args.repeats} interleaved runs per side, same process, same thread count. "
        f"numpy {env['numpy']}, Python {env['python']}, {env['cpu_count']} CPUs. "
        "ratio = ours / torch (below 1: ours is faster). \"accelerated\" (ours) is tinytorch with "
        "`tinytorch.core.acceleration.enable()`, the path the targets apply to; \"reference\" is the same call with "
        "acceleration off (the plain maths of modules 05/11/12), timed in the same rounds. "
        "`scaled_dot_product_attention` rows use need_weights=False (PyTorch returns no weights either); "
        "the need_weights=True rows also build and return the (seq, seq) weights.",
        "",
        "Environment changes for the benchmark processes only: "
        + (", ".join(f"unset {k}={v}" for k, v in removed.items())
           + f" (OpenBLAS core type with them: {results[0]['environment'].get('driver_blas_with_those_variables')}, "
           + f"without: {[p.get('architecture') for p in env.get('threadpools', []) if isinstance(p, dict) and p.get('internal_api') == 'openblas']})"
           if removed else "none needed (OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE not set)")
        + "; thread variables " + ", ".join(THREAD_VARIABLES) + " set per worker"
        + f"; OMP_WAIT_POLICY={env['env'].get('OMP_WAIT_POLICY')} (PyTorch's spinning OpenMP threads "
        "would otherwise take the second core from the row timed after them; see kernels.py).",
        "",
        f"Load average (1 min) at the start -> end of each worker: {loads}. A load above the CPU count "
        "means other processes shared the cores; multi-threaded BLAS/OpenMP suffers most.",
        "",
        "## Targets",
        "",
        target_table,
        "",
        "## All rows",
        "",
        main_table,
        "",
        "## Bytes moved vs memory bandwidth",
        "",
        "Copy bandwidth (np.copyto of 256 MiB, read + write): "
        + ", ".join(f"{k}: {v:.1f} GB/s" for k, v in bandwidths.items())
        + " (measured once at the start). Bound = np.copyto of the same number of bytes (half read, half "
        "written), timed in the same interleaved rounds as both kernels (its rate is the \"copy GB/s\" "
        "column). Forward: read the rows + write the output. "
        "Dense backward: write the whole (vocab, dim) table + read the upstream gradient. "
        "Sparse backward: only the ids (both libraries keep a view of the upstream gradient as the values).",
        "",
        bandwidth_table,
        "",
        "## Peak memory of the embedding backward",
        "",
        memory_table,
        "",
    ])
    out = output_dir(args.out)
    md_path, json_path = os.path.join(out, "kernels.md"), os.path.join(out, "kernels.json")
    with open(md_path, "w", encoding="utf-8") as f:
        f.write(text)
    write_json(json_path, {
        "rows": records,
        "targets": targets,
        "memory": memory,
        "copy_bandwidth_gbps": bandwidths,
        "environment": [res["environment"] for res in results],
    })
    print(text)
    print(f"kernels: wrote {md_path}")
    print(f"kernels: wrote {json_path}")


def main(argv=None):
    parser = argparse.ArgumentParser(description="tinytorch vs PyTorch kernel benchmarks")
    parser.add_argument("--out", help="output folder (default: <workspace>/out/benchmarks)")
    parser.add_argument("--threads", default="1,2", help="thread counts, e.g. 1,2")
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--quick", action="store_true", help="5 repeats")
    parser.add_argument("--only", default=",".join(GROUPS), help="comma-separated subset of " + ",".join(GROUPS))
    parser.add_argument("--no-thp", action="store_true", help="skip the PyTorch huge-page-allocator processes")
    parser.add_argument("--omp-wait-policy", default="PASSIVE", choices=OMP_WAIT_POLICIES,
                        help="OMP_WAIT_POLICY for the workers (default PASSIVE; keep = leave the environment as is)")
    parser.add_argument("--keep-openblas-env", action="store_true", help="do not unset OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE")
    # Internal: the per-process worker.
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--variant", default="default", help=argparse.SUPPRESS)
    parser.add_argument("--json", help=argparse.SUPPRESS)
    parser.add_argument("--memory", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.quick:
        args.repeats = 5
    if args.worker:
        args.threads = int(args.threads)
        return worker(args)

    results = []
    thread_counts = [int(t) for t in args.threads.split(",")]
    for i, threads in enumerate(thread_counts):
        results.append(run_worker(threads, "default", args, memory=i == 0 and "embedding" in args.only))
        if not args.no_thp and "embedding" in args.only.split(","):
            results.append(run_worker(threads, "thp", args, memory=False))
    write_report(results, args)


if __name__ == "__main__":
    main()
