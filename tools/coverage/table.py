"""Line and branch coverage per module, as a markdown table, from a (combined) lcov tracefile.

    python3 -S -m tools.coverage.table bazel-out/_coverage/_coverage_report.dat

A file counts for the module folder it lives in (`modules/11_embeddings/...` -> `11_embeddings`);
a file outside `modules/` counts for its top-level folder. Percentages are cut, not rounded, to one
decimal (99.96% shows as 99.9%: 100% means every line or branch ran).
"""

import sys

from tools.coverage import lcov


def module_of(path):
    parts = path.split("/")
    if len(parts) > 2 and parts[0] == "modules":
        return parts[1]
    return parts[0] if len(parts) > 1 else "."


def percent(hit, total):
    if total == 0:
        return "n/a"
    tenths = hit * 1000 // total
    return "%d.%d%%" % divmod(tenths, 10) if tenths < 1000 else "100%"


def rows(records):
    """[(module, files, lines hit, lines, branches hit, branches)], sorted by module, then 'total'."""
    per = {}
    for path, r in records.items():
        row = per.setdefault(module_of(path), [0, 0, 0, 0, 0])
        row[0] += 1
        row[1] += r.lines_hit
        row[2] += len(r.lines)
        row[3] += r.branches_hit
        row[4] += len(r.branches)
    table = [(module,) + tuple(row) for module, row in sorted(per.items())]
    if table:
        table.append(("total",) + tuple(sum(row[i] for row in table) for i in range(1, 6)))
    return table


def markdown(records):
    out = ["| module | files | lines | line coverage | branches | branch coverage |",
           "|---|---:|---:|---:|---:|---:|"]
    for module, files, lh, lf, bh, bf in rows(records):
        name = "**total**" if module == "total" else module
        out.append("| %s | %d | %d / %d | %s | %d / %d | %s |" % (name, files, lh, lf, percent(lh, lf), bh, bf, percent(bh, bf)))
    return "\n".join(out) + "\n"


def main(argv):
    if len(argv) != 1:
        print("usage: python3 -S -m tools.coverage.table TRACEFILE", file=sys.stderr)
        return 2
    with open(argv[0], encoding="utf-8") as f:
        records = lcov.parse(f.read())
    if not records:
        print("table: %s has no coverage data" % argv[0], file=sys.stderr)
        return 1
    sys.stdout.write(markdown(records))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
