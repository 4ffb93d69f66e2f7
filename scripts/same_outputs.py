#!/usr/bin/env python3
"""Compares two run folders of the same experiment apart from times (issue 16: a refactoring
must not change results). Usage: same_outputs.py RUN_A RUN_B. Exit 0 when results.json,
table2.csv, model_scores.csv, scores*.csv, pareto_*/evaluated_* and every search log and
result agree; otherwise prints each difference and exits 1.

Ignored: wall-clock fields (timing, wall_s, wall_seconds, seconds, timestamp, t_*_s,
accounting figures derived from wall time), paths that name the run folder itself, and the
identity hashes of a search log header (problem_hash, context.experiment): they cover the
resolved manifest, whose plugin paths and build ids (SDK ABI) name the binaries that ran."""
import json
import pathlib
import sys

TIME_KEYS = {"timing", "wall_s", "wall_seconds", "seconds", "timestamp", "t_eval_s", "t_prof_s", "t_score_s",
             "t_representatives_s", "t_distribution_s", "t_eval_seconds", "log10_speedup_vs_wall",
             "log10_t_exh_seconds", "log", "problem_hash", "experiment"}


def scrub(v):
    if isinstance(v, dict):
        return {k: scrub(x) for k, x in v.items() if k not in TIME_KEYS}
    if isinstance(v, list):
        return [scrub(x) for x in v]
    return v


def load_json_lines(p):
    return [scrub(json.loads(line)) for line in p.read_text().splitlines() if line.strip()]


def main():
    if len(sys.argv) != 3:
        print(__doc__)
        return 2
    a, b = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])
    diffs = []
    names = set()
    for root in (a, b):
        for p in root.rglob("*"):
            rel = p.relative_to(root)
            if p.is_file() and rel.parts[0] != "plots" and p.suffix in {".json", ".jsonl", ".csv"} \
                    and rel.name not in {"run.json", "manifest.resolved.json"}:
                names.add(rel)
    for rel in sorted(names):
        pa, pb = a / rel, b / rel
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
    print(f"{len(names)} files compared, {len(diffs)} differ")
    return 1 if diffs else 0


if __name__ == "__main__":
    sys.exit(main())
