"""The tiny_lm command line: a short run end to end, and every bad flag or corpus exits with code 2
and a message naming the offending value and a hint."""

import os

import pytest

from examples.language_model import train

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(autouse=True)
def no_bazel_run_env(monkeypatch):
    # Paths must not depend on whether the test itself runs under `bazel run`.
    monkeypatch.delenv("BUILD_WORKSPACE_DIRECTORY", raising=False)
    monkeypatch.delenv("BUILD_WORKING_DIRECTORY", raising=False)


def fails(argv, capsys) -> str:
    """Runs main(argv), asserts exit code 2 (argparse's usage error), returns stderr."""
    with pytest.raises(SystemExit) as exc:
        train.main(argv)
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("usage: tiny_lm")
    return err


def test_short_run_prints_the_report_and_writes_the_png(tmp_path, capsys):
    out = tmp_path / "run"
    assert train.main(["--steps", "3", "--out", str(out), "--sample-tokens", "5", "--quiet"]) == 0
    stdout = capsys.readouterr().out
    png = out / "loss_curve.png"
    assert f"loss curve {png}" in stdout
    for label in ("train loss", "val loss", "unigram", "sample", "tokenizer  bpe: vocab 300"):
        assert label in stdout
    assert png.read_bytes().startswith(PNG_SIGNATURE)


def test_layers_and_tie_weights_reach_the_gpt(tmp_path, capsys):
    argv = ["--steps", "2", "--out", str(tmp_path), "--sample-tokens", "1", "--quiet", "--embed-dim", "16"]
    assert train.main(argv + ["--layers", "2", "--tie-weights"]) == 0
    tied = capsys.readouterr().out
    assert "model      GPT: 2 layers, embed 16, 4 heads" in tied and "tied head" in tied and "untied" not in tied
    assert train.main(argv) == 0
    untied = capsys.readouterr().out
    assert "GPT: 1 layer, embed 16" in untied and "untied head" in untied

    def parameters(report):
        return int(report.split(" parameters")[0].rsplit(": ", 1)[1].replace(",", ""))

    # A second block adds its weights; tying removes the head's own (vocab 300 x embed 16).
    block = parameters(tied) + 300 * 16 - parameters(untied)
    attention, layer_norms, mlp = 4 * (16 * 16 + 16), 2 * (16 + 16), (16 * 64 + 64) + (64 * 16 + 16)
    assert block == attention + layer_norms + mlp


def test_progress_bar_goes_to_stderr(tmp_path, capsys):
    assert train.main(["--steps", "10", "--out", str(tmp_path), "--sample-tokens", "1", "--tokenizer", "char"]) == 0
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 10 and err[-1].startswith("step 10/10 [########################] loss ")
    assert err[-1].endswith(" tok/s")


def test_relative_paths_are_relative_to_the_users_folder(tmp_path, monkeypatch, capsys):
    (tmp_path / "mine.txt").write_text("too short", encoding="utf-8")
    monkeypatch.setenv("BUILD_WORKING_DIRECTORY", str(tmp_path))  # what `bazel run` sets
    err = fails(["--corpus", "mine.txt", "--out", "o"], capsys)
    assert f"--corpus {tmp_path / 'mine.txt'}: too short" in err
    assert (tmp_path / "o").is_dir()  # --out was created in the user's folder, before training


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--steps", "0"], "argument --steps: must be a positive integer (>= 1), got '0'"),
        (["--layers", "0"], "argument --layers: must be a positive integer (>= 1), got '0'"),
        (["--steps", "ten"], "argument --steps: must be a positive integer, got 'ten'"),
        (["--seed", "-1"], "argument --seed: must be a non-negative integer (>= 0), got '-1'"),
        (["--lr", "-0.1"], "argument --lr: must be a positive finite number, got '-0.1'"),
        (["--lr", "nan"], "argument --lr: must be a positive finite number, got 'nan'"),
        (["--dropout", "1"], "argument --dropout: must be a number in [0, 1), got '1'"),
        (["--pos-encoding", "rope"], "argument --pos-encoding: invalid choice: 'rope' (choose from"),
        (["--tokenizer", "word"], "argument --tokenizer: invalid choice: 'word' (choose from"),
        (["--heads", "3"], "argument --heads: --embed-dim 64 is not divisible by --heads 3. Hint:"),
        (["--seq-len", "1"], "argument --seq-len: must be at least 2, got 1"),
        (["--vocab-size", "100"], "argument --vocab-size: 100 is too small for bpe: the minimum is 260"),
        (["--tokenizer", "char", "--vocab-size", "300"], "argument --vocab-size: only --tokenizer bpe"),
        (["--prompt", ""], "argument --prompt: the prompt is empty"),
        (["--bogus"], "unrecognized arguments: --bogus"),
    ],
)
def test_bad_flags_exit_2_naming_the_value(argv, message, tmp_path, capsys):
    assert message in fails(argv + ["--out", str(tmp_path)], capsys)


def test_missing_corpus(tmp_path, capsys):
    path = tmp_path / "missing.txt"
    err = fails(["--corpus", str(path), "--out", str(tmp_path)], capsys)
    assert f"--corpus {path}: no such file. Hint:" in err


def test_empty_corpus(tmp_path, capsys):
    path = tmp_path / "empty.txt"
    path.write_text("", encoding="utf-8")
    err = fails(["--corpus", str(path), "--out", str(tmp_path)], capsys)
    assert f"--corpus {path}: the file is empty (0 characters, none visible). Hint:" in err


def test_unreadable_corpus(tmp_path, capsys):
    err = fails(["--corpus", str(tmp_path), "--out", str(tmp_path)], capsys)
    assert f"--corpus {tmp_path}: is a directory, not a text file" in err
    latin1 = tmp_path / "latin1.txt"
    latin1.write_bytes("caf\u00e9 ".encode("latin-1") * 50)
    err = fails(["--corpus", str(latin1), "--out", str(tmp_path)], capsys)
    assert f"--corpus {latin1}: not UTF-8 text (byte 3 is 0xe9). Hint:" in err


def test_corpus_too_short_for_seq_len(tmp_path, capsys):
    path = tmp_path / "short.txt"
    path.write_text("one two three four five six seven eight nine ten " * 6, encoding="utf-8")
    err = fails(["--corpus", str(path), "--tokenizer", "char", "--seq-len", "64", "--out", str(tmp_path)], capsys)
    assert f"--corpus {path}: too short for --seq-len 64" in err
    assert "each part needs at least seq_len + 1 = 65" in err
    assert "Hint: use a longer text, or lower --seq-len (at most 30 for this text)" in err
    # The advice is right: that seq_len trains.
    assert train.main(["--corpus", str(path), "--tokenizer", "char", "--seq-len", "30", "--steps", "2",
                       "--sample-tokens", "2", "--out", str(tmp_path), "--quiet"]) == 0


@pytest.mark.parametrize("tokenizer", ["bpe", "char"])
def test_corpus_of_one_character(tokenizer, tmp_path, capsys):
    path = tmp_path / "one.txt"
    path.write_text("a", encoding="utf-8")
    err = fails(["--corpus", str(path), "--tokenizer", tokenizer, "--out", str(tmp_path)], capsys)
    assert f"--corpus {path}: too short: 1 character(s) cannot be split into training text and 10% validation" in err


def test_out_must_not_be_in_the_runfiles_or_a_file(tmp_path, monkeypatch, capsys):
    runfiles = tmp_path / "tiny_lm.runfiles" / "ws"
    runfiles.mkdir(parents=True)
    monkeypatch.chdir(runfiles)  # where a Bazel binary starts when run outside `bazel run`
    err = fails([], capsys)
    assert f"argument --out: {runfiles / 'out' / 'tiny_lm'} is inside Bazel's runfiles" in err
    a_file = tmp_path / "file.txt"
    a_file.write_text("x", encoding="utf-8")
    err = fails(["--out", str(a_file)], capsys)
    assert f"argument --out: {a_file} exists and is not a folder" in err
    assert not os.path.exists(runfiles / "out")
