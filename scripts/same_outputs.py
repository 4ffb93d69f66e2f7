#!/usr/bin/env python3
"""Compares two run folders of the same experiment apart from times (issue 16: a refactoring
must not change results). Usage: same_outputs.py RUN_A RUN_B [--objective NAME].

--objective NAME: RUN_A was written before searches had one objective per accelerator (issue 15
item 4), when every search minimized the first accelerator's cost. Its search/X.jsonl and
X.result.json are compared with RUN_B's search/X_NAME.*, its table2.csv with RUN_B's rows whose
objective is NAME (without the columns objective and costs_more_than_exact); files that gather
every objective's evaluations (evaluated_*, pareto_*, results.json) are not compared. Exit 0 when results.json,
table2.csv, model_scores.csv, scores*.csv, pareto_*/evaluated_* and every search log and
result agree; otherwise prints each difference and exits 1.

Ignored: wall-clock fields (timing, wall_s, wall_seconds, seconds, timestamp, t_*_s,
accounting figures derived from wall time), paths that name the run folder itself, and the
identity hashes of a search log header (problem_hash, context.experiment): they cover the
resolved manifest, whose plugin paths and build ids (SDK ABI) name the binaries that ran; the
checkpoint's path (two clones hold the same checkpoint at different paths)."""
import csv
import io
import json
import pathlib
import sys

TIME_KEYS = {"timing", "wall_s", "wall_seconds", "seconds", "timestamp", "t_eval_s", "t_prof_s", "t_score_s",
             "t_representatives_s", "t_distribution_s", "t_eval_seconds", "log10_speedup_vs_wall",
             "log10_t_exh_seconds", "log", "problem_hash", "experiment", "checkpoint"}


def scrub(v):
    if isinstance(v, dict):
        return {k: scrub(x) for k, x in v.items() if k not in TIME_KEYS}
    if isinstance(v, list):
        return [scrub(x) for x in v]
    return v


def load_json_lines(p):
    return [scrub(json.loads(line)) for line in p.read_text().splitlines() if line.strip()]


NEW_TABLE2_COLUMNS = ("objective", "costs_more_than_exact")  # issue 15 item 4


def table2_rows(text, objective=None, columns=None):
    """Rows as dicts, restricted to `columns` (A's header) and, given an objective, to its rows."""
    out = []
    for r in csv.DictReader(io.StringIO(text)):
        if objective is not None and r.get("objective", objective) != objective:
            continue
        out.append({k: v for k, v in r.items() if columns is None or k in columns})
    return out


def main():
    args = sys.argv[1:]
    objective = None
    if "--objective" in args:
        i = args.index("--objective")
        if i + 1 >= len(args):
            print(__doc__)
            return 2
        objective = args[i + 1]
        del args[i:i + 2]
        TIME_KEYS.add("objective")
    if len(args) != 2:
        print(__doc__)
        return 2
    a, b = pathlib.Path(args[0]), pathlib.Path(args[1])
    diffs = []
    names = set()
    for root in (a, b):
        for p in root.rglob("*"):
            rel = p.relative_to(root)
            if p.is_file() and rel.parts[0] != "plots" and p.suffix in {".json", ".jsonl", ".csv"} \
                    and rel.name not in {"run.json", "manifest.resolved.json"}:
                names.add(rel)
    skipped = 0
    for rel in sorted(names):
        pa, pb = a / rel, b / rel
        if objective is not None:
            if rel.name.startswith(("evaluated_", "pareto_")) or rel.name == "results.json":
                skipped += 1
                continue
            if rel.parts[0] == "search":
                if not pa.exists():
                    continue  # B's per-objective files are reached from A's
                ext = next(e for e in (".result.json", ".jsonl", ".json", ".csv") if rel.name.endswith(e))
                pb = b / "search" / f"{rel.name[:-len(ext)]}_{objective}{ext}"
                if not pb.exists():
                    pb = b / rel  # one accelerator: no per-objective names
        if rel.name == "table2.csv" and pa.exists() and pb.exists():
            # A written before the columns of issue 15 item 4: compare the columns it has
            columns = next(csv.reader(io.StringIO(pa.read_text())), [])
            if table2_rows(pa.read_text()) != table2_rows(pb.read_text(), objective, columns):
                diffs.append(f"{rel}: differs" + (f" (objective {objective})" if objective else ""))
            continue
        if not pa.exists() or not pb.exists():
            diffs.append(f"{rel}: only in {'B' if not pa.exists() else 'A'}")
            continue
        if rel.suffix == ".csv":
            same = pa.read_text() == pb.read_text()
        elif rel.suffix == ".jsonl":
            same = load_json_lines(pa) == load_json_lines(pb)
        else:
            same = scrub(json.loads(pa.read_text())) == scrub(json.loads(pb.read_text()))
        if not same:
            diffs.append(f"{rel}: differs")
    for d in diffs:
        print(d)
    print(f"{len(names) - skipped} files compared, {len(diffs)} differ" +
          (f"; {skipped} gathering every objective not compared" if skipped else ""))
    return 1 if diffs else 0


if __name__ == "__main__":
    sys.exit(main())
