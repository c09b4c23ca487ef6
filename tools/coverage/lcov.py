"""lcov tracefiles: read, merge (sum the hits per file), write; and the form genhtml 1.16 reads.

    python3 -S -m tools.coverage.lcov merge OUT IN...     one record per file, hits summed
    python3 -S -m tools.coverage.lcov genhtml IN [OUT]    the same data as lcov 1.16 reads it

Stdlib only: the report generator of `bazel coverage --combined_report=lcov`
(third_party/remote_coverage_tools) merges with it, and tools/coverage/html.sh runs it outside Bazel.

coverage.py 7 writes the lcov 2 forms `FN:start,end,name` and named branches
(`BRDA:2,0,jump to line 3,1`). Debian's lcov 1.16 takes the end line of the first for the function's
name (every function then shows as two, one never run) and skips the second entirely (no branch
data). `genhtml_form` writes `FN:start,name` and numbers each line's branches instead.
"""

import sys


class FileRecord:
    """One source file's data: hits per line, per function and per branch (None: not reached)."""

    def __init__(self, path):
        self.path = path
        self.lines = {}  # line -> hits
        self.functions = {}  # name -> [start, end or None, hits]
        self.branches = {}  # (line, block, branch) -> hits or None ("-": the block never ran)

    def add(self, other):
        for line, hits in other.lines.items():
            self.lines[line] = self.lines.get(line, 0) + hits
        for name, (start, end, hits) in other.functions.items():
            mine = self.functions.setdefault(name, [start, end, 0])
            mine[1] = mine[1] if mine[1] is not None else end
            mine[2] += hits
        for key, hits in other.branches.items():
            old = self.branches.get(key)
            self.branches[key] = hits if old is None else old if hits is None else old + hits

    @property
    def lines_hit(self):
        return sum(1 for hits in self.lines.values() if hits > 0)

    @property
    def branches_hit(self):
        return sum(1 for hits in self.branches.values() if hits)


def _int(text):
    return None if text.strip() == "-" else int(text)


def parse(text):
    """{path: FileRecord} of an lcov tracefile; a file named twice (two tests) is summed."""
    records = {}
    current = None
    for raw in text.splitlines():
        line = raw.strip()
        tag, _, value = line.partition(":")
        if tag == "SF":
            current = FileRecord(value)
        elif current is None or not line:
            continue
        elif tag == "DA":
            number, hits = value.split(",")[:2]
            current.lines[int(number)] = current.lines.get(int(number), 0) + int(hits)
        elif tag == "FN":
            parts = value.split(",", 2)
            if len(parts) == 3 and parts[1].isdigit():  # lcov 2: FN:start,end,name
                start, end, name = int(parts[0]), int(parts[1]), parts[2]
            else:  # lcov 1: FN:start,name
                start, end, name = int(parts[0]), None, value.split(",", 1)[1]
            current.functions.setdefault(name, [start, end, 0])
        elif tag == "FNDA":
            hits, name = value.split(",", 1)
            current.functions.setdefault(name, [0, None, 0])[2] += int(hits)
        elif tag == "BRDA":
            head, hits = value.rsplit(",", 1)
            number, block, branch = head.split(",", 2)
            key = (int(number), block, branch)
            new = _int(hits)
            old = current.branches.get(key)
            current.branches[key] = new if old is None else old if new is None else old + new
        elif line == "end_of_record":
            if current.path in records:
                records[current.path].add(current)
            else:
                records[current.path] = current
            current = None
    return records


def merge(texts):
    """One {path: FileRecord} of several tracefiles, hits summed file by file."""
    merged = {}
    for text in texts:
        for path, record in parse(text).items():
            if path in merged:
                merged[path].add(record)
            else:
                merged[path] = record
    return merged


def _branch_order(item):
    (number, block, _), _ = item
    return number, int(block) if block.isdigit() else -1, block  # stable: a line's branches keep their order


def render(records, genhtml=False):
    """Tracefile text, files sorted by path; `genhtml=True` writes what lcov 1.16 understands."""
    out = []
    for path in sorted(records):
        r = records[path]
        out.append("SF:" + path)
        out += ["DA:%d,%d" % (n, hits) for n, hits in sorted(r.lines.items())]
        out += ["LF:%d" % len(r.lines), "LH:%d" % r.lines_hit]
        functions = sorted(r.functions.items(), key=lambda item: (item[1][0], item[0]))
        for name, (start, end, _) in functions:
            out.append("FN:%d,%s" % (start, name) if genhtml or end is None else "FN:%d,%d,%s" % (start, end, name))
        out += ["FNDA:%d,%s" % (hits, name) for name, (_, _, hits) in functions]
        out += ["FNF:%d" % len(functions), "FNH:%d" % sum(1 for _, f in functions if f[2] > 0)]
        numbers = {}  # (line, block) -> {branch: index}, for the genhtml form
        for (number, block, branch), hits in sorted(r.branches.items(), key=_branch_order):
            if genhtml:
                per_block = numbers.setdefault((number, block), {})
                branch = str(per_block.setdefault(branch, len(per_block)))
                block = block if block.isdigit() else "0"
            out.append("BRDA:%d,%s,%s,%s" % (number, block, branch, "-" if hits is None else hits))
        out += ["BRF:%d" % len(r.branches), "BRH:%d" % r.branches_hit]
        out.append("end_of_record")
    return "\n".join(out) + "\n" if out else ""


def genhtml_form(text):
    """The tracefile as Debian's lcov 1.16 reads it (see the module docstring)."""
    return render(parse(text), genhtml=True)


def merge_files(paths):
    texts = []
    for path in paths:
        with open(path, encoding="utf-8") as f:
            texts.append(f.read())
    return render(merge(texts))


def main(argv):
    if len(argv) >= 2 and argv[0] == "merge":
        text = merge_files(argv[2:])
        with open(argv[1], "w", encoding="utf-8") as f:
            f.write(text)
        return 0
    if len(argv) in (2, 3) and argv[0] == "genhtml":
        with open(argv[1], encoding="utf-8") as f:
            text = genhtml_form(f.read())
        if len(argv) == 3:
            with open(argv[2], "w", encoding="utf-8") as f:
                f.write(text)
        else:
            sys.stdout.write(text)
        return 0
    print(__doc__.split("\n\n")[1], file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
