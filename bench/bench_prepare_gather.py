"""Prepare's gather alone on a genome-scale run's kept chunk files (issue 15; a benchmark).

Runs `deepcis.prepare_chunks.gather_chunks` as rule prepare_windows does, on the chunk files
of a `bench/bench_genome_scale.py --keep --notemp` run (or any run with `--notemp`), with the
deepcis found first on `--code` (e.g. an old checkout's `workflow_scripts`, for an A/B of two
versions on the same chunks), and prints wall-clock, CPU and peak RSS as JSON. Run it under
`/usr/bin/time -v` to count bedtools' CPU too. `--gc-oversample` draws more candidates from the
same chunks (the memory of the negatives, without a larger genome).

    /usr/bin/time -v nice -n 19 .venv/bin/python bench/bench_prepare_gather.py RUN OUT --gc-oversample 40
"""

from __future__ import annotations

import argparse
import csv
import json
import resource
import sys
import time
from pathlib import Path


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("run", type=Path, help="the run's folder: inputs/config.json, results/prepare/chunks/*.h5")
    parser.add_argument("out", type=Path, help="folder for the windows files and stats.tsv")
    parser.add_argument("--code", type=Path, help="a folder holding the deepcis package to use (default: the installed one)")
    parser.add_argument("--gc-oversample", type=float, help="override prepare.negatives.gc_oversample")
    args = parser.parse_args(argv)
    if args.code:
        sys.path.insert(0, str(args.code.resolve()))
    import deepcis
    from deepcis.config import validate_config
    from deepcis.intervals import bedtools_tempdir
    from deepcis.prepare_chunks import gather_chunks
    from deepcis.splits import SPLITS

    raw = json.loads((args.run / "inputs" / "config.json").read_text())
    cfg = validate_config(raw)
    with open(raw["tasks"]) as handle:
        tasks = {row["name"]: row["peaks"] for row in csv.DictReader(handle, delimiter="\t")}
    chunks = sorted((args.run / "results" / "prepare" / "chunks").glob("*.h5"), key=lambda p: int(p.stem))
    prepare = {k: v for k, v in cfg["prepare"].items() if k != "chunks"}
    if args.gc_oversample:
        prepare["negatives"] = prepare["negatives"] | {"gc_oversample": args.gc_oversample}
    args.out.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    with bedtools_tempdir(args.out):
        done = gather_chunks(chunks, raw["genome"], tasks, prepare, cfg["split"], cfg["seed"],
                             {s: args.out / f"{s}.bed" for s in SPLITS}, blacklist_path=raw.get("blacklist"),
                             chromosomes=cfg["chromosomes"], regions=cfg.get("regions"))  # fmt: skip
    done.stats.to_csv(args.out / "stats.tsv", sep="\t", index=False)
    usage = resource.getrusage(resource.RUSAGE_SELF)
    print(json.dumps({"deepcis": deepcis.__file__, "chunks": len(chunks), "wall_s": round(time.perf_counter() - start, 1),
                      "cpu_s": round(usage.ru_utime + usage.ru_stime, 1), "peak_rss_mb": round(usage.ru_maxrss / 1024, 1)}))  # fmt: skip


if __name__ == "__main__":
    main()
