#!/usr/bin/env python3
"""Markdown tables of a run's test metrics: windows and scanning evaluation side by side.

    .venv/bin/python scripts/evaluation_tables.py [RESULTS_DIR] [--split test] [--highlight CTCF]

Reads `<RESULTS_DIR>/evaluate/<model>/<split>.metrics.tsv` and, where present,
`<split>_scan.metrics.tsv` of every model folder (the k-mer baseline last) and prints: per model
the tasks evaluated and the median AUROC / AUPRC over tasks of both evaluations; the tasks whose
name contains `--highlight` (AUROC of every model, both evaluations); and per task, every
model's AUROC and AUPRC. docs/evaluation.md shows its output for config/encode_dream_chrX.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd

BASELINE = "kmer_baseline"
EVALUATIONS = {"windows": "{split}.metrics.tsv", "scanning": "{split}_scan.metrics.tsv"}


def read_run(results, split: str = "test") -> dict[str, dict[str, pd.DataFrame]]:
    """{evaluation: {model: metrics}} for the models with a metrics file of that evaluation."""
    folders = sorted(p for p in (Path(results) / "evaluate").iterdir() if p.is_dir())
    folders.sort(key=lambda p: p.name == BASELINE)  # the baseline last
    tables = {}
    for evaluation, pattern in EVALUATIONS.items():
        found = {p.name: p / pattern.format(split=split) for p in folders}
        found = {m: pd.read_csv(f, sep="\t", na_values=["NA"]) for m, f in found.items() if f.is_file()}
        if found:
            tables[evaluation] = found
    if not tables:
        raise ValueError(f"{results}: no {split} metrics under evaluate/<model>/")
    return tables


def _cell(value, digits=3) -> str:
    return "NA" if pd.isna(value) else f"{value:.{digits}f}"


def _markdown(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return "\n".join(lines + ["| " + " | ".join(r) + " |" for r in rows])


def medians_table(tables: dict) -> str:
    evaluations = list(tables)
    models = list(dict.fromkeys(m for t in tables.values() for m in t))
    header = ["model", "tasks"] + [f"{e} median {s}" for e in evaluations for s in ("AUROC", "AUPRC")]
    rows = []
    for model in models:
        first = next(t[model] for t in tables.values() if model in t)
        row = [model, str(int(first["auroc"].notna().sum()))]
        for e in evaluations:
            df = tables[e].get(model)
            row += [_cell(df[s].median()) if df is not None else "-" for s in ("auroc", "auprc")]
        rows.append(row)
    return _markdown(header, rows)


def task_table(tables: dict, score: str, contains: str | None = None) -> str:
    evaluations = list(tables)
    models = list(dict.fromkeys(m for t in tables.values() for m in t))
    tasks = list(dict.fromkeys(t for ev in tables.values() for df in ev.values() for t in df["task"]))
    if contains:
        tasks = [t for t in tasks if contains in t]
    header = ["task", "positives"] + [f"{m} ({e[:4]})" for e in evaluations for m in models]
    rows = []
    for task in tasks:
        positives = []
        row = [task]
        for e in evaluations:
            for m in models:
                df = tables[e].get(m)
                hit = df[df["task"] == task] if df is not None else pd.DataFrame()
                row.append(_cell(hit[score].iloc[0]) if len(hit) else "-")
                if len(hit) and m == models[0]:
                    positives.append(str(int(hit["positives"].iloc[0])))
        rows.append([row[0], " / ".join(positives), *row[1:]])
    return _markdown(header, rows)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("results", nargs="?", default="results")
    parser.add_argument("--split", default="test")
    parser.add_argument("--highlight", default="CTCF")
    args = parser.parse_args(argv)
    tables = read_run(args.results, args.split)
    print(f"### Medians over tasks ({args.split} split)\n\n{medians_table(tables)}\n")
    print(f"### {args.highlight} tasks, AUROC\n\n{task_table(tables, 'auroc', args.highlight)}\n")
    for score in ("auroc", "auprc"):
        print(f"### {score.upper()} per task (positives: {' / '.join(tables)})\n\n{task_table(tables, score)}\n")


if __name__ == "__main__":
    main()
