"""Benchmark of the labels prepare hands to encode (issue 15; not a timed test).

Prints, from one run, for N windows x T tasks (default 20,000 x 919, DeepSEA's task count, 2%
positive labels): bytes per window x task, write and read rates (labels/s) of
(a) the former format, one text column per task in the windows BED (pandas `to_csv`, and
    `read_csv` as encode parsed it), the reference;
(b) deepcis' windows BED + gzip'd binary labels file (`deepcis.windows_file`), read back in
    encode's blocks of 4,096 rows;
and the ratios (b)/(a), with the sizes extrapolated to 4.4 M windows.

    nice -n 19 .venv/bin/python bench/bench_labels.py --windows 20000 --tasks 919
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from deepcis import windows_file


def frame_of(n: int, n_tasks: int, density: float, seed: int = 0) -> tuple[pd.DataFrame, list[str]]:
    rng = np.random.default_rng(seed)
    tasks = [f"t{i}" for i in range(n_tasks)]
    starts = np.arange(n, dtype=np.int64) * 200 + 10_000
    fixed = pd.DataFrame({"chrom": "chr1", "start": starts, "end": starts + 1000, "name": "peak"})
    labels = pd.DataFrame((rng.random((n, n_tasks)) < density).astype(np.uint8), columns=tasks)
    return pd.concat([fixed, labels], axis=1), tasks


def text_format(frame, tasks, path: Path) -> tuple[float, float]:
    """(write s, read s) of one text column per task, as prepare and encode did it."""
    start = time.perf_counter()
    with open(path, "w") as handle:
        handle.write("#" + "\t".join([*windows_file.WINDOWS_BED_FIXED, *tasks]) + "\n")
        frame.to_csv(handle, sep="\t", header=False, index=False)
    write = time.perf_counter() - start
    start = time.perf_counter()
    pd.read_csv(path, sep="\t", skiprows=1, header=None, names=list(frame.columns),
                dtype={"chrom": object, "name": object, "start": np.int64, "end": np.int64} | dict.fromkeys(tasks, np.float32))  # fmt: skip
    return write, time.perf_counter() - start


def binary_format(frame, tasks, path: Path) -> tuple[float, float]:
    start = time.perf_counter()
    windows_file.write_windows(frame, tasks, path)
    write = time.perf_counter() - start
    start = time.perf_counter()
    pd.read_csv(path, sep="\t", skiprows=1, header=None, names=windows_file.WINDOWS_BED_FIXED,
                dtype={"chrom": object, "name": object, "start": np.int64, "end": np.int64})  # fmt: skip
    with windows_file.open_labels(path) as f:
        for lo in range(0, len(frame), 4096):
            f["y"][lo : lo + 4096].astype(np.float32)
    return write, time.perf_counter() - start


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--windows", type=int, default=20_000)
    parser.add_argument("--tasks", type=int, default=919)
    parser.add_argument("--density", type=float, default=0.02, help="fraction of positive labels")
    args = parser.parse_args(argv)
    frame, tasks = frame_of(args.windows, args.tasks, args.density)
    cells = args.windows * args.tasks
    with tempfile.TemporaryDirectory() as tmp:
        text = Path(tmp) / "text.bed"
        binary = Path(tmp) / "pair.bed"
        t_write, t_read = text_format(frame, tasks, text)
        b_write, b_read = binary_format(frame, tasks, binary)
        t_bytes = os.path.getsize(text)
        b_bytes = os.path.getsize(binary) + os.path.getsize(windows_file.labels_path(binary))
    print(f"{args.windows:,} windows x {args.tasks} tasks, {args.density:.0%} positive")
    for name, size, write, read in (("(a) text columns", t_bytes, t_write, t_read), ("(b) BED + labels.h5", b_bytes, b_write, b_read)):
        print(f"  {name:<20} {size / cells:.3f} bytes per window x task ({size / args.windows:,.0f} per window; "
              f"{size / args.windows * 4.4e6 / 1e9:.2f} GB at 4.4 M windows), write {cells / write / 1e6:.1f} M labels/s, "
              f"read {cells / read / 1e6:.1f} M labels/s")  # fmt: skip
    print(f"  (b)/(a): size {b_bytes / t_bytes:.3f}, write speed {t_write / b_write:.0f}x, read speed {t_read / b_read:.0f}x")


if __name__ == "__main__":
    main()
