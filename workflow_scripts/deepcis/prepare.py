"""The prepare stage: genome + peak files -> labelled windows per split, with statistics.

Order of work: read and validate every input (fail before any long work), build positives
(DeepSEA bins or Basset merged peaks) and filter them (chromosome ends, blacklist, N) one
chunk of chromosomes at a time, then, genome-wide, draw and filter negatives, pick them,
assign splits and write the outputs atomically (`deepcis.prepare_chunks`; the workflow runs
the chunks as separate jobs). This module holds the input checks they share and
`prepare_windows`, the whole stage in one process.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from . import intervals, splits, windows_file
from .errors import ConfigError, InputError
from .genome import Genome
from .io_utils import atomic_path
from .peaks import IntervalSet, parse_region, read_intervals

log = logging.getLogger(__name__)


@dataclass
class PreparedWindows:
    """The prepare stage's result: labelled windows with their split, task names, stats, warnings."""

    windows: pd.DataFrame  # chrom, start, end, name, split, then one uint8 column per task
    tasks: list[str]
    stats: pd.DataFrame  # section, split, item, value
    warnings: list[str] = field(default_factory=list)


def select_chromosomes(
    all_sizes: dict[str, int], chromosomes: list[str] | None, window_length: int, genome_path
) -> tuple[dict[str, int], list[str]]:
    """The chromosomes to use; those shorter than the window are skipped (error if named)."""
    warnings = []
    if chromosomes:
        missing = [c for c in chromosomes if c not in all_sizes]
        if missing:
            raise ConfigError(
                f"config chromosomes: {missing} not in genome {genome_path} "
                f"(it has {list(all_sizes)[:8]}{' ...' if len(all_sizes) > 8 else ''})"
            )
        short = [c for c in chromosomes if all_sizes[c] < window_length]
        if short:
            raise ConfigError(
                f"config chromosomes: {short} are shorter than the window length {window_length} bp "
                f"({', '.join(f'{c}: {all_sizes[c]} bp' for c in short)})"
            )
        return {c: all_sizes[c] for c in chromosomes}, warnings
    selected = {c: n for c, n in all_sizes.items() if n >= window_length}
    skipped = [c for c in all_sizes if c not in selected]
    if skipped:
        warnings.append(f"skipped {len(skipped)} chromosome(s) shorter than the {window_length} bp window: {skipped[:10]}")
    if not selected:
        raise ConfigError(
            f"prepare.window_length {window_length} bp is longer than every chromosome of {genome_path} "
            f"(longest: {max(all_sizes.values())} bp)"
        )
    return selected, warnings


def read_task_peaks(tasks: dict[str, str], chrom_sizes: dict[str, int], all_sizes: dict[str, int],
                    require: bool = True, region: pd.DataFrame | None = None, regions: list[str] | None = None,
                    keep=None):  # fmt: skip
    """Peaks per task; records on chromosomes outside the selection are dropped silently, those on
    chromosomes missing from the genome are counted in a warning, and so are summits clamped to a
    peak's last base (deepcis.peaks). `require`: a task without a peak on the selected
    chromosomes is an error; with `region` (the run's `regions`), so is a task without a peak
    in them. `keep`: the chromosomes whose peaks are returned (a prepare chunk's; default every
    selected one). One file is held at a time besides the peaks kept."""
    peaks, warnings, outside = {}, [], None
    keep = list(chrom_sizes) if keep is None else list(keep)
    for task, path in tasks.items():
        peak_set = read_intervals(path, all_sizes, what=f"peak file of task {task!r}")
        if peak_set.skipped_chroms:
            n = sum(peak_set.skipped_chroms.values())
            warnings.append(
                f"{path}: skipped {n} peak(s) on chromosomes absent from the genome: "
                f"{sorted(peak_set.skipped_chroms)[:10]}"
            )
        if peak_set.clamped_summits:
            warnings.append(
                f"{path}: {peak_set.clamped_summits} summit offset(s) equal to the peak length, clamped to the "
                "peak's last base"
            )
        on_selected = np.isin(peak_set.chrom, list(chrom_sizes))
        if require and not on_selected.any():
            raise InputError(path, f"task {task!r} has no peak on the selected chromosomes {list(chrom_sizes)[:10]}")
        if region is not None and outside is None and not intervals.overlaps_any(peak_set.frame()[on_selected], region).any():
            outside = task  # refused once every file is read and checked
        mine = np.isin(peak_set.chrom, keep)
        peaks[task] = IntervalSet(
            path=peak_set.path,
            chrom=peak_set.chrom[mine],
            start=peak_set.start[mine],
            end=peak_set.end[mine],
            summit=peak_set.summit[mine],
            clamped_summits=peak_set.clamped_summits,
        )
    if outside is not None:
        raise ConfigError(f"task {outside!r} has no peak in the chosen region(s) {regions} (peak file {tasks[outside]})")
    return peaks, warnings


def region_frame(regions: list[str] | None, chrom_sizes: dict[str, int], where: str = "config regions") -> pd.DataFrame | None:
    """The run's regions (`chrom:start-end`, 0-based half-open) as a chrom/start/end frame, checked
    against the selected chromosomes and sorted; None when the run is not restricted."""
    if not regions:
        return None
    rows = [parse_region(r, chrom_sizes, where) for r in regions]
    order = {c: i for i, c in enumerate(chrom_sizes)}
    frame = pd.DataFrame(rows, columns=["chrom", "start", "end"])
    frame = frame.assign(_k=frame["chrom"].map(order)).sort_values(["_k", "start"]).drop(columns="_k").reset_index(drop=True)
    ends = frame.groupby("chrom", sort=False)["end"].shift()
    if (frame["start"] < ends).any():
        raise ConfigError(f"{where}: regions overlap each other ({regions})")
    return frame


def prepare_windows(
    genome_path,
    tasks: dict[str, str],
    prepare_cfg: dict,
    split_cfg: dict,
    seed: int,
    blacklist_path=None,
    chromosomes: list[str] | None = None,
    regions: list[str] | None = None,
    n_chunks: int = 1,
) -> PreparedWindows:
    """The prepare stage in one process: genome + peaks -> labelled, filtered windows assigned
    to splits, as one frame (for small runs and tests). The workflow runs the same steps as
    jobs (`deepcis.prepare_chunks`: `n_chunks` chunk jobs, then the gather); the result does
    not depend on `n_chunks`.

    Parameters
    ----------
    genome_path : str or os.PathLike
        Genome FASTA (plain or bgzip).
    tasks : dict of str to str
        Peak file per task name.
    prepare_cfg, split_cfg : dict
        The validated ``prepare`` and ``split`` config sections.
    seed : int
        Seed of negatives and fraction splits.
    blacklist_path : str or os.PathLike, optional
        BED of regions whose windows are dropped.
    chromosomes : list of str, optional
        Chromosomes to use (default: every one at least one window long).
    regions : list of str, optional
        Config ``regions``: restrict the run to these ``chrom:start-end`` intervals of the
        selected chromosomes (every window, positive or negative, lies inside one).
    n_chunks : int
        Chromosome groups the positives are built in (`deepcis.prepare_chunks.plan_chunks`).

    ``prepare_cfg["min_positives"]`` drops a task with fewer positive windows in a split
    (a warning, and ``tasks_dropped`` rows in the stats).

    Returns
    -------
    PreparedWindows
    """
    import tempfile
    from pathlib import Path

    from .prepare_chunks import gather_chunks, prepare_chunk

    with tempfile.TemporaryDirectory(prefix="deepcis-prepare-") as folder:
        folder = Path(folder)
        chunk_paths = [folder / f"chunk{i}.h5" for i in range(n_chunks)]
        for i, path in enumerate(chunk_paths):
            prepare_chunk(genome_path, tasks, prepare_cfg, split_cfg, seed, path, i, n_chunks,
                          blacklist_path=blacklist_path, chromosomes=chromosomes, regions=regions)  # fmt: skip
        beds = {s: folder / f"{s}.bed" for s in splits.SPLITS}
        done = gather_chunks(chunk_paths, genome_path, tasks, prepare_cfg, split_cfg, seed, beds,
                             blacklist_path=blacklist_path, chromosomes=chromosomes, regions=regions)  # fmt: skip
        parts = [windows_file.read_windows(beds[s])[0].assign(split=s) for s in splits.SPLITS]
        with Genome(genome_path) as genome:
            order = {c: i for i, c in enumerate(genome.chrom_sizes)}
    windows = pd.concat(parts, ignore_index=True)
    rank = np.lexsort((windows["end"].to_numpy(), windows["start"].to_numpy(), windows["chrom"].map(order).to_numpy()))
    windows = windows.iloc[rank].reset_index(drop=True)[[*windows_file.WINDOWS_BED_FIXED, "split", *done.tasks]]
    return PreparedWindows(windows=windows, tasks=done.tasks, stats=done.stats, warnings=done.warnings)


def write_windows_bed(windows: pd.DataFrame, tasks: list[str], split_name: str, path) -> int:
    """One split's windows as a windows BED (chrom, start, end, name) and its labels file
    (`deepcis.windows_file`: 0/1 uint8, or float32 targets with NaN for a missing label when
    the tasks sheet has signal tasks or measured regions)."""
    return windows_file.write_windows(windows[windows["split"] == split_name], tasks, path)


def read_windows_header(path) -> list[str]:
    """The columns of a windows BED and its labels (`chrom start end name <tasks>`), or InputError."""
    return windows_file.read_header(path)


def read_windows_bed(path, label_dtype=np.uint8) -> tuple[pd.DataFrame, list[str]]:
    """Read a windows BED written by `write_windows_bed` with its labels (one column per task);
    `label_dtype` float32 for float targets (NaN kept)."""
    return windows_file.read_windows(path, label_dtype)


def write_stats(stats: pd.DataFrame, path):
    """Write the long-format stats table (section, split, item, value) as TSV, atomically."""
    with atomic_path(path) as tmp:
        stats.to_csv(tmp, sep="\t", index=False)
