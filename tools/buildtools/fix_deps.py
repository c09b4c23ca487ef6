"""Fix strict-deps errors in one command: `./bazelw run //tools:fix_deps -- //modules/11_embeddings/...`.

Builds the given targets with --keep_going, collects every `buildozer '...' //target` line the
import checker printed (tools/importcheck/check_imports.py, format_report), applies them with
buildozer in the workspace ($BUILD_WORKSPACE_DIRECTORY) and builds again, round after round, until
the build passes or nothing is left that buildozer can fix (a fixed library lets the checks of the
targets above it run, which may need fixes of their own).

It never adds a dep that layering forbids: the checker gives no buildozer command for an import of
a later module (its verdict is "module 11 may not depend on module 12: move this test to
modules/12_attention"), and an `add deps` of a higher-numbered module than the target's is refused
here too. Both are listed with the hint to move the code; so are verdicts that need a hand edit
(a name imported from a module that does not define it, a module nothing provides).

    fix_deps [--dry_run] [--rounds N] [--bazel PATH] [--startup_option OPT]... [--BUILD_FLAG]... PATTERN...

Arguments starting with `--` that are not fix_deps options go to `bazel build` (`--config=ci`).
Exit code 0: the build passes; 1: it still fails (the summary says why); 2: bad usage.
"""

import argparse
import os
import re
import subprocess
import sys
from dataclasses import dataclass, field

# `buildozer 'add deps //a:b' 'remove deps //c' //pkg:target` (format_report's last line).
BUILDOZER_LINE = re.compile(r"^buildozer((?: '[^']*')+) (\S+)\s*$")
EDIT = re.compile(r"'([^']*)'")
HEADER = re.compile(r"^\[strict deps\] (\S+?):? (.*)$")
SECTION = re.compile(r"^(imports|reaches|declares|has) ")
FIX = re.compile(r"^    fix:\s+(.*\S)\s*$")
NOT_VISIBLE = re.compile(r"target '(\S+)' is not visible from target '(\S+)'")
MODULE_FOLDER = re.compile(r"^modules/(\d\d)[^/]*")

# Edits buildozer may apply: what the checker prints. Anything else is listed for a hand fix.
ALLOWED_EDITS = {("add", "deps"), ("remove", "deps")}

# Variables the Python stub of `bazel run` sets for this program; a nested Bazel (and the
# repository rules it runs, pip among them) must not inherit them.
STUB_ENV = ("PYTHONPATH", "PYTHONSAFEPATH", "PYTHON_RUNFILES", "RUNFILES_DIR", "RUNFILES_MANIFEST_FILE",
            "RUNFILES_MANIFEST_ONLY", "JAVA_RUNFILES")


@dataclass(frozen=True)
class Edit:
    op: str  # "add" or "remove"
    attr: str  # "deps"
    value: str  # a label

    def command(self):
        return "%s %s %s" % (self.op, self.attr, self.value)


@dataclass(frozen=True)
class Fix:
    target: str
    edits: tuple  # of Edit

    def argv(self, buildozer):
        return [buildozer] + [e.command() for e in self.edits] + [self.target]

    def shell(self):
        return "buildozer %s %s" % (" ".join("'%s'" % e.command() for e in self.edits), self.target)


@dataclass(frozen=True)
class Problem:
    target: str
    text: str  # the checker's `fix:` text, or why a command was refused
    move: bool = False  # layering: the code must move to a later module (or its need to an earlier one)


@dataclass
class Report:
    fixes: list = field(default_factory=list)  # Fix, in order of appearance, without duplicates
    problems: list = field(default_factory=list)  # Problem: what buildozer cannot fix


def module_number(label):
    """'//modules/12_attention:attention' -> 12 (any package below modules/NN_name too); else None."""
    if label.startswith("@") and not label.startswith("@//"):
        return None  # another repository (@pypi//numpy)
    package = label.split("//", 1)[-1].split(":", 1)[0]
    m = MODULE_FOLDER.match(package)
    return int(m.group(1)) if m else None


def module_folder(label):
    package = label.split("//", 1)[-1].split(":", 1)[0]
    m = MODULE_FOLDER.match(package)
    return m.group(0) if m else package


def _later(target, dep):
    """(target's module, dep's module) if DEP is in a later module than TARGET, else None."""
    if dep.startswith(":"):
        return None  # same package
    mine, theirs = module_number(target), module_number(dep)
    if mine is None or theirs is None or theirs <= mine:
        return None
    return mine, theirs


def layering_refusal(target, dep):
    """Why `add deps DEP` to TARGET breaks layering (a module may depend only on lower numbers), or None."""
    later = _later(target, dep)
    if later is None:
        return None
    return ("module %02d may not depend on module %02d: not adding %s to %s; move the code that needs it "
            "to %s (or what it needs down to module %02d or below)"
            % (later + (dep, target, module_folder(dep), later[0])))


def visibility_problem(target, dep):
    """A Problem for Bazel's "DEP is not visible from TARGET" (a dep already declared)."""
    later = _later(target, dep)
    if later is None:
        return Problem(target, "%s is not visible from %s (Bazel's visibility): remove it from deps or make it visible"
                       % (dep, target))
    return Problem(target, "module %02d may not depend on module %02d: remove %s from deps of %s and move the code "
                   "that needs it to %s (or what it needs down to module %02d or below)"
                   % (later + (dep, target, module_folder(dep), later[0])), move=True)


def parse_report(text):
    """The fixes and the hand-fix problems in Bazel's output of a failed build (checker reports)."""
    report = Report()
    seen = set()
    current = None
    for raw in text.splitlines():
        line = raw.rstrip("\r")
        m = BUILDOZER_LINE.match(line)
        if m:
            target = m.group(2)
            edits, odd = [], []
            for command in EDIT.findall(m.group(1)):
                parts = command.split()
                if len(parts) == 3 and (parts[0], parts[1]) in ALLOWED_EDITS:
                    edits.append(Edit(*parts))
                else:
                    odd.append(command)
            for command in odd:
                report.problems.append(Problem(target, "buildozer '%s' is not a deps edit: apply it by hand" % command))
            fix = Fix(target, tuple(edits))
            if edits and fix not in seen:
                seen.add(fix)
                report.fixes.append(fix)
            continue
        m = HEADER.match(line)
        if m:
            current, rest = m.group(1), m.group(2)
            if not SECTION.match(rest):  # "cannot parse FILE:LINE: ...", or another error of the checker
                report.problems.append(Problem(current, rest))
            continue
        m = FIX.match(line)
        if m and current:
            fix_text = m.group(1)
            if fix_text.startswith(('add "', 'remove "')):
                continue  # covered by the buildozer line
            problem = Problem(current, fix_text, move="may not depend on module" in fix_text)
            if problem not in report.problems:
                report.problems.append(problem)
            continue
        m = NOT_VISIBLE.search(line)
        if m:
            problem = visibility_problem(m.group(2), m.group(1))
            if problem not in report.problems:
                report.problems.append(problem)
    return report


def plan(report):
    """(fixes to apply, problems): each `add deps` that layering forbids is taken out and refused."""
    fixes, refused = [], []
    for fix in report.fixes:
        kept = []
        for edit in fix.edits:
            why = layering_refusal(fix.target, edit.value) if edit.op == "add" else None
            if why:
                refused.append(Problem(fix.target, why, move=True))
            else:
                kept.append(edit)
        if kept:
            fixes.append(Fix(fix.target, tuple(kept)))
    return fixes, refused


def output_base_of(path):
    """The output base a `bazel run` binary runs from: .../OUTPUT_BASE/execroot/WS/bazel-out/... ."""
    marker = os.sep + "execroot" + os.sep
    return path.split(marker, 1)[0] if marker in path else None


def split_args(argv):
    """fix_deps' own options, flags for `bazel build`, and target patterns."""
    parser = argparse.ArgumentParser(prog="fix_deps", description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dry_run", "--dry-run", action="store_true", help="print the buildozer commands, change nothing")
    parser.add_argument("--rounds", type=int, default=4, help="at most this many fix-and-rebuild rounds (default 4)")
    parser.add_argument("--bazel", default=os.environ.get("BAZEL") or "bazel", help="Bazel to run (default: bazel on PATH)")
    parser.add_argument("--buildozer", default="buildozer", help="buildozer binary (set by //tools/buildtools:fix_deps)")
    parser.add_argument("--startup_option", action="append", default=[],
                        help="Bazel startup option (default: the --output_base this binary runs from)")
    parser.add_argument("patterns", nargs="*", metavar="PATTERN")
    ours, rest = parser.parse_known_args([a for a in argv if not a.startswith("-//") and a != "--"])
    flags = [a for a in rest if a.startswith("--")]
    unknown = [a for a in rest if not a.startswith("--")]
    if unknown:
        parser.error("unrecognized arguments: %s" % " ".join(unknown))
    negative = [a for a in argv if a.startswith("-//")]
    ours.patterns += negative
    if not [p for p in ours.patterns if not p.startswith("-")]:
        parser.error("name the targets to fix, e.g. //modules/11_embeddings/...")
    return ours, flags


def clean_env(env):
    return {k: v for k, v in env.items() if k not in STUB_ENV}


def bazel_build(opts, flags, workspace):
    """Runs `bazel build --keep_going`; shows its output as it comes; returns (exit code, output)."""
    argv = ([opts.bazel] + opts.startup_option + ["build", "--keep_going", "--color=no", "--curses=no"] + flags
            + ["--"] + opts.patterns)
    print("fix_deps: $ %s" % " ".join(argv), file=sys.stderr, flush=True)
    proc = subprocess.Popen(argv, cwd=workspace, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            env=clean_env(os.environ), text=True, errors="replace")
    lines = []
    for line in proc.stdout:
        sys.stderr.write(line)
        lines.append(line)
    return proc.wait(), "".join(lines)


def apply(fix, opts, workspace):
    """Runs buildozer for one target; True if it succeeded (buildozer's 3: nothing left to change)."""
    print("fix_deps: %s" % fix.shell(), file=sys.stderr, flush=True)
    if opts.dry_run:
        return True
    res = subprocess.run(fix.argv(opts.buildozer), cwd=workspace, stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT, text=True, errors="replace")
    if res.stdout.strip():
        sys.stderr.write("".join("    | %s\n" % line for line in res.stdout.splitlines()))
    if res.returncode not in (0, 3):
        print("fix_deps: buildozer failed (exit %d) on %s" % (res.returncode, fix.target), file=sys.stderr)
        return False
    return True


def summary(applied, problems, passed, dry_run):
    out = []
    if applied:
        verb = "would apply" if dry_run else "applied"
        out.append("fix_deps: %s %d buildozer command(s) to %d target(s):"
                   % (verb, len(applied), len({f.target for f in applied})))
        out.extend("  " + f.shell() for f in applied)
    moves = [p for p in problems if p.move]
    hand = [p for p in problems if not p.move]
    if moves:
        out.append("fix_deps: REFUSED %d fix(es) that layering forbids (a module may depend only on lower-numbered "
                   "modules); move the code instead:" % len(moves))
        out.extend("  %s: %s" % (p.target, p.text) for p in moves)
    if hand:
        out.append("fix_deps: %d problem(s) need a hand edit:" % len(hand))
        out.extend("  %s: %s" % (p.target, p.text) for p in hand)
    if passed:
        out.append("fix_deps: the build passes" + (" (dry run: nothing was changed)" if dry_run and applied else ""))
    else:
        out.append("fix_deps: the build still fails" + (": see the errors above" if not problems else ""))
    return "\n".join(out)


def main(argv):
    opts, flags = split_args(argv)
    workspace = os.environ.get("BUILD_WORKSPACE_DIRECTORY")
    if not workspace:
        print("fix_deps: run me with `bazel run //tools:fix_deps -- PATTERN...` (BUILD_WORKSPACE_DIRECTORY is unset)",
              file=sys.stderr)
        return 2
    if os.sep in opts.buildozer:
        opts.buildozer = os.path.abspath(opts.buildozer)
    if not any(o.startswith("--output_base") for o in opts.startup_option):
        # The server this `bazel run` came from (it released its lock before starting us).
        base = output_base_of(os.path.abspath(sys.argv[0]))
        if base:
            opts.startup_option.append("--output_base=" + base)
    applied, problems, passed = [], [], False
    for round_ in range(max(1, opts.rounds) + 1):  # the last build only confirms
        code, output = bazel_build(opts, flags, workspace)
        if code == 0:
            passed = True
            break
        report = parse_report(output)
        fixes, refused = plan(report)
        problems = report.problems + [p for p in refused if p not in report.problems]
        new = [f for f in fixes if f not in applied]
        if not new or round_ == max(1, opts.rounds):
            break
        ok = [f for f in new if apply(f, opts, workspace)]
        applied += ok
        if opts.dry_run or len(ok) < len(new):
            break
    print(summary(applied, [] if passed else problems, passed, opts.dry_run), file=sys.stderr)
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
