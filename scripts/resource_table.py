#!/usr/bin/env python3
"""Per-rule resource use from a run's Snakemake benchmark files, as a Markdown table.

    .venv/bin/python scripts/resource_table.py [BENCHMARKS_DIR] [--jobs]   # default: benchmarks/

One row per rule (jobs of a rule, e.g. encode chunks, are pooled): number of jobs, wall time
(mean and max, s), CPU time (max, s), peak resident memory (max_rss, MB), data read and
written (max, MB). With --jobs, one row per job instead (named by its benchmark file, e.g.
`train_model.danq_small`) and a total of the wall times. docs/cluster.md shows its output for
the bundled example.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd

COLUMNS = ["rule", "jobs", "wall_mean_s", "wall_max_s", "cpu_max_s", "max_rss_mb", "io_in_mb", "io_out_mb"]


def read_benchmarks(folder) -> pd.DataFrame:
    """Every benchmark TSV under `folder`; the rule is the file name up to the first dot."""
    frames = []
    for path in sorted(Path(folder).rglob("*.tsv")):
        frame = pd.read_csv(path, sep="\t", na_values=["-", "NA"])
        if "s" not in frame.columns or "max_rss" not in frame.columns:
            raise ValueError(f"{path}: not a Snakemake benchmark file (columns {list(frame.columns)})")
        frame["rule"] = path.name.split(".")[0]
        frame["job"] = path.name.removesuffix(".tsv")
        frames.append(frame)
    if not frames:
        raise ValueError(f"{folder}: no benchmark files")
    return pd.concat(frames, ignore_index=True)


def resource_table(bench: pd.DataFrame) -> pd.DataFrame:
    grouped = bench.groupby("rule", sort=False)
    table = pd.DataFrame(
        {
            "jobs": grouped.size(),
            "wall_mean_s": grouped["s"].mean(),
            "wall_max_s": grouped["s"].max(),
            "cpu_max_s": grouped["cpu_time"].max(),
            "max_rss_mb": grouped["max_rss"].max(),
            "io_in_mb": grouped["io_in"].max(),
            "io_out_mb": grouped["io_out"].max(),
        }
    ).reset_index()
    return table[COLUMNS].sort_values("wall_max_s", ascending=False, ignore_index=True)


def job_table(bench: pd.DataFrame) -> pd.DataFrame:
    """One row per job (benchmark file): wall and CPU time (s), peak memory (MB), slowest first."""
    table = bench.rename(columns={"s": "wall_s", "cpu_time": "cpu_s", "max_rss": "max_rss_mb"})
    return table[["job", "wall_s", "cpu_s", "max_rss_mb"]].sort_values("wall_s", ascending=False, ignore_index=True)


def to_markdown(table: pd.DataFrame) -> str:
    def cell(value):
        if isinstance(value, float):
            return "-" if pd.isna(value) else f"{value:.1f}" if value < 100 else f"{value:.0f}"
        return str(value)

    columns = list(table.columns)
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in table.itertuples(index=False)]
    return "\n".join(lines)


if __name__ == "__main__":
    args = [a for a in sys.argv[1:] if a != "--jobs"]
    bench = read_benchmarks(args[0] if args else "benchmarks")
    if "--jobs" in sys.argv[1:]:
        jobs = job_table(bench)
        print(to_markdown(jobs))
        print(f"\n{len(jobs)} jobs, wall time summed over jobs: {jobs['wall_s'].sum() / 60:.1f} min")
    else:
        print(to_markdown(resource_table(bench)))
