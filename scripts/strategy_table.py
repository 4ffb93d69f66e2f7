#!/usr/bin/env python3
"""Markdown table of the search answers in a hawx run folder (EXPERIMENTS.md uses it).

usage: strategy_table.py RUN_DIR [EXHAUSTIVE_LOG]

For each threshold: every strategy's full evaluations, answer, validation and test accuracy
and the first accelerator's power (results.json), against the cheapest answer of the run; with
EXHAUSTIVE_LOG (a search/*.jsonl of search.exhaustive over the same problem), also against the
exhaustive optimum: the cheapest logged configuration meeting the threshold (for a run below
layer granularity, pass the layer-level sweep: the optimum over layer-uniform configurations).
Configurations longer than 60 characters are cut (results.json holds them in full).
"""
import json
import sys


def cut(config):
    return config if len(config) <= 60 else config[:57] + "..."


def main():
    if len(sys.argv) not in (2, 3):
        sys.exit(__doc__.strip().splitlines()[2])
    run = sys.argv[1]
    res = json.load(open(run + "/results.json"))
    logged = []
    if len(sys.argv) == 3:
        with open(sys.argv[2]) as f:
            next(f)  # header
            logged = [json.loads(line) for line in f if line.strip()]
    by_drop = {}
    for s in res["searches"]:
        by_drop.setdefault(s["max_drop"], []).append(s)
    head = "| max drop | strategy | full evaluations | configuration | val acc | test acc | power (mW) | vs cheapest answer |"
    if logged:
        head += " vs exhaustive optimum |"
    print(head)
    print("|---" * (head.count("|") - 1) + "|")
    for drop, ss in sorted(by_drop.items()):
        answers = [s for s in ss if s["best"]]
        cheapest = min(s["best"]["accelerators"][0]["power_mw"] for s in answers) if answers else None
        opt = None
        if logged:
            ok = [e for e in logged if e["accuracy"] >= ss[0]["threshold"]]
            opt = min(e["power"] for e in ok) if ok else None
        for s in ss:
            b = s["best"]
            if not b:
                print(f"| {drop} | {s['strategy']} | {s['evaluations']} | none |  |  |  |  |" + (" |" if logged else ""))
                continue
            p = b["accelerators"][0]["power_mw"]
            row = (f"| {drop} | {s['strategy']} | {s['evaluations']} | `{cut(b['configuration'])}` | "
                   f"{b['validation_accuracy']:.2f} | {b['test_accuracy']:.2f} | {p:.2f} | {(p / cheapest - 1) * 100:+.1f}% |")
            if logged:
                row += f" {(p / opt - 1) * 100:+.1f}% |" if opt else " - |"
            print(row)
        if opt:
            best = min((e for e in logged if e["accuracy"] >= ss[0]["threshold"]), key=lambda e: e["power"])
            print(f"| {drop} | exhaustive optimum | {len(logged)} logged | `{best['configuration']}` | "
                  f"{best['accuracy']:.2f} |  | {best['power']:.2f} |  |  |")


main()
