"""Prepare scattered over groups of chromosomes: one job per chunk, one gather (issue 15).

A chunk job (`prepare_chunk`) reads and checks every input as the single job did (so every
chunk refuses the same bad input with the same message), then builds the positive windows of
its own chromosomes: DeepSEA bins or Basset sites, the run's regions, the chromosome-end,
blacklist and N filters. It writes them with their labels, GC fractions and the regions no
negative may touch to one HDF5 file (`write_chunk`). Bins, merges and filters never cross a
chromosome, so these are exactly the single job's rows for those chromosomes.

The gather (`gather_chunks`) does what is genome-wide, in the single job's order and with its
one random stream, so that its files equal the single job's: the number of negatives (ratio x
every positive), the candidates drawn from one RNG seeded from the config, their exclusion
and filters, GC matching against every positive's GC; then, chunk by chunk in genome order,
split assignment, `min_positives`, the stats and the three windows files, streamed
(`deepcis.windows_file.WindowsWriter`). The candidates are numbers replayed block by block
from the RNG's state (`deepcis.negatives.CandidateDraw`) and filtered one chunk at a time;
what stays is one byte per drawn candidate (its GC bin) until the pick (`_negatives`).

Memory: a chunk job holds its chromosomes' peaks, bins and positive windows x T labels; the
gather holds one chunk's candidates (de-duplicated, filtered `FILTER_ROWS` at a time) or one
chunk's windows as numbers (about 40 bytes each; `_chunk_rows`) with `WRITE_ROWS` windows x T
labels at a time, plus, genome-wide, one byte per drawn candidate (`oversample` x wanted;
10 x positives for 1:1 GC-matched negatives), a permutation of the largest GC bin's
candidates (4 bytes each) and the chosen negatives (16 bytes each); for flanking negatives
also every positive's start (16 bytes) and the draw (16 bytes a candidate). Neither holds the
genome's labels. The FASTA is memory-mapped; `Genome` drops a chromosome's pages from the
RSS when reads move on to the next, so the RSS holds one chromosome's sequence, not the genome.
"""

from __future__ import annotations

import json
import logging
from contextlib import ExitStack
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from . import intervals, labels, negatives, splits, window_filters, windows_file
from .errors import ConfigError
from .genome import Genome
from .io_utils import atomic_path
from .peaks import read_intervals

log = logging.getLogger(__name__)

LABEL_CHUNK_ROWS = 4096


def plan_chunks(chrom_sizes: dict[str, int], n_chunks: int) -> list[list[str]]:
    """`n_chunks` groups of consecutive chromosomes (genome order): one chromosome per chunk
    when there are chunks enough, else groups whose largest total length is the smallest
    contiguous groups allow (small contigs share a chunk). Groups left over are empty."""
    names, sizes = list(chrom_sizes), list(chrom_sizes.values())
    if n_chunks >= len(names):
        return [[name] for name in names] + [[] for _ in range(n_chunks - len(names))]

    def greedy(capacity: int) -> list[list[str]]:
        groups, total = [], 0
        for name, size in zip(names, sizes):
            if not groups or total + size > capacity:
                groups.append([])
                total = 0
            groups[-1].append(name)
            total += size
        return groups

    low, high = max(sizes), sum(sizes)
    while low < high:  # the smallest capacity that needs at most n_chunks groups
        mid = (low + high) // 2
        if len(greedy(mid)) <= n_chunks:
            high = mid
        else:
            low = mid + 1
    groups = greedy(low)
    return groups + [[] for _ in range(n_chunks - len(groups))]


@dataclass
class Run:
    """What every prepare job derives from the config and the genome (cheap; checked first)."""

    genome: Genome
    all_sizes: dict[str, int]
    chrom_sizes: dict[str, int]  # the selected chromosomes, genome order
    region: pd.DataFrame | None
    territories: dict[str, pd.DataFrame]
    warnings: list[str] = field(default_factory=list)

    def close(self):
        self.genome.close()


def open_run(genome_path, prepare_cfg: dict, split_cfg: dict, seed: int, chromosomes=None, regions=None) -> Run:
    """Open the genome, select chromosomes, check regions and split settings (errors first)."""
    from .prepare import region_frame, select_chromosomes

    if prepare_cfg["mode"] not in ("deepsea", "basset"):
        raise ConfigError(f"config prepare.mode: unknown mode {prepare_cfg['mode']!r}; choose deepsea or basset")
    genome = Genome(genome_path)
    try:
        all_sizes = genome.chrom_sizes
        chrom_sizes, warnings = select_chromosomes(all_sizes, chromosomes, int(prepare_cfg["window_length"]), genome_path)
        region = region_frame(regions, chrom_sizes)
        territories = splits.split_territories(split_cfg, chrom_sizes, seed)
    except Exception:
        genome.close()
        raise
    return Run(genome, all_sizes, chrom_sizes, region, territories, warnings)


def read_blacklist(blacklist_path, all_sizes: dict[str, int], keep) -> pd.DataFrame | None:
    """The blacklist's intervals on the chromosomes `keep`, or None without a blacklist."""
    if not blacklist_path:
        return None
    bl = read_intervals(blacklist_path, all_sizes, what="blacklist", allow_empty=True)
    return bl.frame()[np.isin(bl.chrom, list(keep))]


# ------------------------------------------------------------------------------ chunk job


def _positives(mode: str, peaks: dict, sizes: dict[str, int], prepare_cfg: dict) -> labels.Positives:
    window_length = int(prepare_cfg["window_length"])
    if not sizes or not any(len(p) for p in peaks.values()):
        empty = pd.DataFrame({"chrom": pd.Series(dtype=object), "start": pd.Series(dtype=np.int64),
                              "end": pd.Series(dtype=np.int64)})  # fmt: skip
        return labels.Positives(empty, np.zeros((0, len(peaks)), np.uint8), empty)
    if mode == "deepsea":
        cfg = prepare_cfg["deepsea"]
        return labels.deepsea_positives(peaks, sizes, window_length, int(cfg["bin_size"]), float(cfg["min_fraction"]))
    return labels.basset_positives(peaks, sizes, window_length, int(prepare_cfg["basset"]["merge_overlap"]))


def prepare_chunk(genome_path, tasks: dict[str, str], prepare_cfg: dict, split_cfg: dict, seed: int, out_path,
                  chunk: int, n_chunks: int, blacklist_path=None, chromosomes=None, regions=None) -> int:  # fmt: skip
    """One chunk's filtered positive windows and labels -> `out_path` (`write_chunk`).

    Every input is read and checked as by the single job; only chunk `chunk` of
    `plan_chunks(selected chromosomes, n_chunks)` is labelled. Returns its positive windows.
    """
    from .prepare import read_task_peaks

    run = open_run(genome_path, prepare_cfg, split_cfg, seed, chromosomes, regions)
    try:
        names = plan_chunks(run.chrom_sizes, n_chunks)[chunk]
        sizes = {c: run.chrom_sizes[c] for c in names}
        peaks, peak_warnings = read_task_peaks(tasks, run.chrom_sizes, run.all_sizes, region=run.region,
                                               regions=regions, keep=names)  # fmt: skip
        blacklist = read_blacklist(blacklist_path, run.all_sizes, names)
        pos = _positives(prepare_cfg["mode"], peaks, sizes, prepare_cfg)
        outside = None
        if run.region is not None:  # a restricted run: only windows wholly inside its regions
            inside = splits.inside_any(pos.windows, run.region)
            outside = int((~inside).sum())
            pos = labels.Positives(pos.windows[inside].reset_index(drop=True), pos.labels[inside], pos.peak_regions)
        kept = window_filters.filter_windows(pos.windows, run.chrom_sizes, run.genome, blacklist,
                                             float(prepare_cfg["max_n_fraction"]))  # fmt: skip
    finally:
        run.close()
    summary = {
        "chunk": chunk, "chroms": names, "tasks": list(tasks), "positive_windows_before_filters": len(pos.windows),
        "outside_regions": outside, "drops": kept.dropped, "peak_warnings": peak_warnings,
        "summits_clamped": [[str(p.path), int(p.clamped_summits)] for p in peaks.values()],
    }  # fmt: skip
    code = {c: i for i, c in enumerate(run.chrom_sizes)}
    write_chunk(out_path, summary, pos.windows[kept.keep].reset_index(drop=True), pos.labels[kept.keep],
                kept.gc_fraction[kept.keep], pos.peak_regions, code)  # fmt: skip
    return int(kept.keep.sum())


def _codes(frame: pd.DataFrame, code: dict[str, int]) -> np.ndarray:
    return frame["chrom"].map(code).to_numpy(np.int32) if len(frame) else np.zeros(0, np.int32)


def write_chunk(path, summary: dict, windows: pd.DataFrame, y: np.ndarray, gc: np.ndarray,
                peak_regions: pd.DataFrame, code: dict[str, int]) -> None:  # fmt: skip
    """A chunk file: `summary` (JSON attribute), the positive windows (`chrom` as the index of
    the selected chromosome, `start`, `end`), their labels `y` (n, T) uint8 and `gc`, and the
    peak regions no negative may touch (`region_chrom`, `region_start`, `region_end`)."""
    import h5py

    with atomic_path(path) as tmp, h5py.File(tmp, "w", locking=False) as f:
        f.attrs["summary"] = json.dumps(summary)
        f.create_dataset("chrom", data=_codes(windows, code))
        f.create_dataset("start", data=windows["start"].to_numpy(np.int64))
        f.create_dataset("end", data=windows["end"].to_numpy(np.int64))
        f.create_dataset("gc", data=np.asarray(gc, np.float64))
        rows = (min(LABEL_CHUNK_ROWS, len(y)), max(1, y.shape[1])) if len(y) and y.shape[1] else None
        f.create_dataset("y", data=np.asarray(y, np.uint8), chunks=rows, compression="gzip" if rows else None,
                         compression_opts=1 if rows else None)  # fmt: skip
        f.create_dataset("region_chrom", data=_codes(peak_regions, code))
        f.create_dataset("region_start", data=peak_regions["start"].to_numpy(np.int64))
        f.create_dataset("region_end", data=peak_regions["end"].to_numpy(np.int64))


class Chunk:
    """A chunk file, read part by part (`names`: the selected chromosomes, code order)."""

    def __init__(self, path, names: np.ndarray):
        import h5py

        self.path, self.names = path, names
        with h5py.File(path, "r", locking=False) as f:
            self.summary = json.loads(f.attrs["summary"])
            self.n = int(f["start"].shape[0])

    def _read(self, *keys):
        import h5py

        with h5py.File(self.path, "r", locking=False) as f:
            return [f[k][()] for k in keys]

    def numbers(self) -> tuple[np.ndarray, np.ndarray]:
        """The positive windows' chromosome indices and starts (int64)."""
        chrom, start = self._read("chrom", "start")
        return chrom.astype(np.int64), start.astype(np.int64)

    def windows(self) -> pd.DataFrame:
        chrom, start, end = self._read("chrom", "start", "end")
        return pd.DataFrame({"chrom": self.names[chrom], "start": start, "end": end})

    def gc(self) -> np.ndarray:
        return self._read("gc")[0]

    def peak_regions(self) -> pd.DataFrame:
        chrom, start, end = self._read("region_chrom", "region_start", "region_end")
        return pd.DataFrame({"chrom": self.names[chrom], "start": start, "end": end})


# ---------------------------------------------------------------------------------- gather


@dataclass
class Gathered:
    """The gather's result besides its files: kept (binary) task names, stats, warnings."""

    tasks: list[str]
    stats: pd.DataFrame  # section, split, item, value
    warnings: list[str]


FILTER_ROWS = 1 << 20  # candidates filtered at a time (peak exclusion, regions, blacklist, N, GC)


@dataclass
class Negatives:
    """The gather's negatives: per chunk the chosen windows as numbers (chromosome index,
    start; draw order), the drops of the candidate filters, candidates left, wanted, and the
    candidates outside the run's regions (None when the run is not restricted)."""

    per_chunk: list[tuple[np.ndarray, np.ndarray]]
    dropped: dict[str, int]
    n_candidates: int
    n_wanted: int
    outside: int | None

    @property
    def n_chosen(self) -> int:
        return sum(len(start) for _, start in self.per_chunk)


def _filter_chunk_candidates(run: Run, chunk: Chunk, code, start, window_length: int, bin_size, blacklist,
                             max_n_fraction: float, counts: dict):  # fmt: skip
    """Which of one chunk's unique candidates pass (core inside the chromosome and free of the
    chunk's peak regions, inside the run's regions, the window filters) and their GC, in
    blocks of `FILTER_ROWS`; the drops are added to `counts`."""
    names = np.array(list(run.chrom_sizes), dtype=object)
    sizes = np.array(list(run.chrom_sizes.values()), np.int64)
    core_start, core_end = negatives.core_bounds(start, window_length, bin_size)
    valid = (core_start >= 0) & (core_end <= sizes[code])
    keep, gc = np.zeros(len(start), dtype=bool), np.full(len(start), np.nan)
    regions = chunk.peak_regions()
    for lo in range(0, len(start), FILTER_ROWS):
        rows = lo + np.flatnonzero(valid[lo : lo + FILTER_ROWS])
        chrom = names[code[rows]]
        core = pd.DataFrame({"chrom": chrom, "start": core_start[rows], "end": core_end[rows]})
        rows = rows[~intervals.overlaps_any(core, regions)]
        cand = pd.DataFrame({"chrom": names[code[rows]], "start": start[rows], "end": start[rows] + window_length})
        if run.region is not None:
            inside = splits.inside_any(cand, run.region)
            counts["outside"] += int((~inside).sum())
            rows, cand = rows[inside], cand[inside].reset_index(drop=True)
        kept = window_filters.filter_windows(cand, run.chrom_sizes, run.genome, blacklist, max_n_fraction)
        for reason, n in kept.dropped.items():
            counts["dropped"][reason] += n
        keep[rows[kept.keep]] = True
        gc[rows[kept.keep]] = kept.gc_fraction[kept.keep]
    return keep, gc


def _negatives(run: Run, chunks: list[Chunk], prepare_cfg: dict, seed: int, blacklist_path) -> Negatives:
    """The single job's negatives from every chunk's positives, with memory bounded by a chunk.

    The candidates are drawn as in one job (one RNG seeded from the config; `oversample` x
    wanted), but as numbers and replayed block by block (`negatives.CandidateDraw`): for each
    chunk its candidates are collected, de-duplicated, freed of its peak regions and filtered;
    a candidate that passes leaves only its GC bin (one byte per drawn candidate). The GC-
    matched pick (`negatives.select_negatives`: per bin a permutation of the bin's candidates
    in draw order) then runs on the bin counts, and one more replay takes the chosen ones.
    """
    neg_cfg = prepare_cfg["negatives"]
    strategy = neg_cfg["strategy"]
    window_length = int(prepare_cfg["window_length"])
    n_pos = sum(c.n for c in chunks)
    n_wanted = int(round(float(neg_cfg["ratio"]) * n_pos)) if strategy != "none" else 0
    oversample = float(neg_cfg["gc_oversample"] if strategy == "gc_matched" else 3.0)
    bin_size = int(prepare_cfg["deepsea"]["bin_size"]) if prepare_cfg["mode"] == "deepsea" else None
    positives = None
    if strategy == "flanking":  # the positives as numbers (12 bytes each), in the single job's order
        parts = [c.numbers() for c in chunks]
        positives = tuple(np.concatenate([p[i] for p in parts]) if parts else np.zeros(0, np.int64) for i in (0, 1))
    rng = np.random.default_rng(seed)
    draw = negatives.candidate_draw(
        strategy, n_wanted, positives, run.chrom_sizes, window_length, rng, bin_size=bin_size,
        flank_min=int(neg_cfg["flank_min"]), flank_max=int(neg_cfg["flank_max"]), oversample=oversample, spans=run.region,
    )  # fmt: skip
    del positives
    counts = {"dropped": dict.fromkeys(window_filters.REASONS, 0), "outside": 0}
    outside = 0 if run.region is not None else None
    empty = [(np.zeros(0, np.int64), np.zeros(0, np.int64)) for _ in chunks]
    if draw is None or draw.n == 0:
        return Negatives(empty, counts["dropped"], 0, n_wanted, outside)
    gc_bins = int(neg_cfg["gc_bins"]) if strategy == "gc_matched" else 1
    bin_of = np.full(draw.n, -1, dtype=np.int8 if gc_bins < 128 else np.int32)  # a passing candidate's GC bin
    blacklist = read_blacklist(blacklist_path, run.all_sizes, run.chrom_sizes)
    code_of = {name: i for i, name in enumerate(run.chrom_sizes)}
    for chunk in chunks:
        mine = np.zeros(len(code_of), dtype=bool)
        mine[[code_of[name] for name in chunk.summary["chroms"]]] = True
        index, code, start = draw.take(mine)
        unique = negatives.first_unique(code, start)  # chunks share no chromosome: unique genome-wide
        index, code, start = index[unique], code[unique], start[unique]
        keep, gc = _filter_chunk_candidates(run, chunk, code, start, window_length, bin_size, blacklist,
                                            float(prepare_cfg["max_n_fraction"]), counts)  # fmt: skip
        bin_of[index[keep]] = negatives.gc_bin(gc[keep], gc_bins)
        del index, code, start, keep, gc
    passed = bin_of >= 0
    n_cand = int(passed.sum())
    outside = counts["outside"] if run.region is not None else None
    if n_cand == 0:
        return Negatives(empty, counts["dropped"], 0, n_wanted, outside)
    per_bin = np.bincount(bin_of[passed], minlength=gc_bins)
    del passed
    pos_bins = np.zeros(gc_bins, np.int64)
    if strategy == "gc_matched":
        for chunk in chunks:
            pos_bins += np.bincount(negatives.gc_bin(chunk.gc(), gc_bins), minlength=gc_bins)
    chosen_ranks = negatives.select_in_bins(strategy, n_wanted, per_bin, pos_bins, n_pos, rng)
    chosen = _ranks_to_draws(bin_of, chosen_ranks)
    del bin_of
    code, start = draw.pick(chosen)
    chunk_of = np.zeros(len(code_of), np.int64)
    for i, chunk in enumerate(chunks):
        chunk_of[[code_of[name] for name in chunk.summary["chroms"]]] = i
    which = chunk_of[code]
    per_chunk = [(code[which == i], start[which == i]) for i in range(len(chunks))]
    return Negatives(per_chunk, counts["dropped"], n_cand, n_wanted, outside)


def _ranks_to_draws(bin_of: np.ndarray, chosen_ranks: list[np.ndarray], block: int = 1 << 22) -> np.ndarray:
    """Sorted draw indices of the chosen candidates: per bin, the candidates whose rank among
    that bin's passing candidates (draw order) is in `chosen_ranks[bin]` (sorted)."""
    seen = np.zeros(len(chosen_ranks), np.int64)
    found = [np.zeros(0, np.int64)]
    for lo in range(0, len(bin_of), block):
        part = bin_of[lo : lo + block]
        for b, ranks in enumerate(chosen_ranks):
            rows = np.flatnonzero(part == b)
            first, last = np.searchsorted(ranks, [seen[b], seen[b] + len(rows)])
            found.append(lo + rows[ranks[first:last] - seen[b]])
            seen[b] += len(rows)
    return np.sort(np.concatenate(found))


@dataclass
class _ChunkRows:
    """A chunk's windows as numbers, in output order: positives and negatives, boundary-dropped,
    sorted by chromosome, start and end and de-duplicated as the single job did. `source`: the
    positive's row in the chunk file, -1 for a negative; `split`: index into `splits.SPLITS`."""

    code: np.ndarray
    start: np.ndarray
    end: np.ndarray
    source: np.ndarray
    split: np.ndarray
    boundary: int  # windows dropped at a split boundary (duplicates counted)

    def __len__(self) -> int:
        return len(self.start)


def _chunk_rows(chunk: Chunk, neg_code: np.ndarray, neg_start: np.ndarray, window_length: int,
                names: np.ndarray, territories: dict) -> _ChunkRows:  # fmt: skip
    """Order a chunk's windows without reading its labels (about 40 bytes per window)."""
    pos_code, pos_start = chunk.numbers()
    (pos_end,) = chunk._read("end")
    code = np.concatenate([pos_code, np.asarray(neg_code, np.int64)])
    start = np.concatenate([pos_start, np.asarray(neg_start, np.int64)])
    end = np.concatenate([pos_end.astype(np.int64), np.asarray(neg_start, np.int64) + window_length])
    source = np.concatenate([np.arange(len(pos_start), dtype=np.int64), np.full(len(neg_start), -1, np.int64)])
    split = np.full(len(start), -1, np.int8)
    if len(start):
        named = splits.assign_splits(pd.DataFrame({"chrom": names[code], "start": start, "end": end}), territories)
        for i, name in enumerate(splits.SPLITS):
            split[named == name] = i
    keep = split >= 0
    boundary = int((~keep).sum())
    code, start, end, source, split = code[keep], start[keep], end[keep], source[keep], split[keep]
    rank = np.lexsort((end, start, code))  # stable: ties keep positives first, negatives in draw order
    code, start, end = code[rank], start[rank], end[rank]
    first = np.ones(len(rank), dtype=bool)
    first[1:] = (code[1:] != code[:-1]) | (start[1:] != start[:-1]) | (end[1:] != end[:-1])
    rank = rank[first]
    return _ChunkRows(code[first], start[first], end[first], source[rank], split[rank], boundary)


def _label_rows(y_dataset, rows: np.ndarray, width: int) -> np.ndarray:
    """Rows `rows` (increasing in the usual case) of a chunk's labels dataset."""
    if not len(rows):
        return np.zeros((0, width), np.uint8)
    lo, hi = int(rows.min()), int(rows.max()) + 1
    if hi - lo <= 4 * len(rows):  # positives are stored in genome order: a block reads one stretch
        return y_dataset[lo:hi][rows - lo]
    unique, back = np.unique(rows, return_inverse=True)
    return y_dataset[unique][back]


def _block(rows: _ChunkRows, block: slice, y_dataset, columns: list[int], names: np.ndarray, neg_name: str,
           drop_orphans: bool):  # fmt: skip
    """One block of a chunk's ordered windows: (frame chrom/start/end/name, labels of the
    `columns` tasks, positive flags, split indices, positives dropped for holding no kept
    task when `drop_orphans`)."""
    source = rows.source[block]
    positive = source >= 0
    y = np.zeros((len(source), len(columns)), np.uint8)
    if positive.any():
        y[positive] = _label_rows(y_dataset, source[positive], y_dataset.shape[1])[:, columns]
    keep = ~(positive & (y.sum(axis=1) == 0)) if drop_orphans else np.ones(len(source), dtype=bool)
    frame = pd.DataFrame({"chrom": names[rows.code[block][keep]], "start": rows.start[block][keep],
                          "end": rows.end[block][keep], "name": np.where(positive[keep], "peak", neg_name).astype(object)})  # fmt: skip
    return frame, y[keep], positive[keep], rows.split[block][keep], int((~keep).sum())


class _DropTasks(Exception):
    """min_positives drops tasks: the files are written again without them."""


WRITE_ROWS = 1 << 15  # windows whose labels the gather holds at a time (x tasks bytes)


def _write_splits(chunks, negs, run: Run, bed_paths: dict, task_names: list[str], kept_tasks: list[str],
                  check=None, task_rows=None, bin_size: int = 200, window_length: int = 1000,
                  neg_name: str = "negative", block_rows: int | None = None) -> dict:  # fmt: skip
    """Stream every chunk's windows into the split files; per split the window counts and
    per-task positives of `kept_tasks`. `negs`: per chunk its negatives' chromosome indices and
    starts (`window_length` long, named `neg_name`). `check(counts)` runs before the files are
    renamed into place (an exception leaves none). `task_rows`: add signal targets and
    measured masks.

    Memory: a chunk's windows as numbers (`_chunk_rows`) plus `block_rows` windows' labels;
    never a chunk's whole label matrix.
    """
    import h5py

    block_rows = block_rows or WRITE_ROWS
    names = np.array(list(run.chrom_sizes), dtype=object)
    columns = [task_names.index(t) for t in kept_tasks]
    counts = {s: {"all": 0, "positive": 0, "tasks": np.zeros(len(kept_tasks), np.int64)} for s in splits.SPLITS}
    boundary = orphans = 0
    out_tasks, dtype, targets = kept_tasks, np.uint8, None
    if task_rows is not None:
        from .signals import TaskTargets

        targets = TaskTargets(task_rows, run.chrom_sizes, bin_size)
        out_tasks, dtype = targets.tasks, (np.float32 if targets.float_labels else np.uint8)
    drop_orphans = len(kept_tasks) < len(task_names)  # positives left without a kept task hold peaks: dropped
    with ExitStack() as stack:
        writers = {s: stack.enter_context(windows_file.WindowsWriter(bed_paths[s], out_tasks, dtype)) for s in splits.SPLITS}
        for chunk, (neg_code, neg_start) in zip(chunks, negs):
            rows = _chunk_rows(chunk, neg_code, neg_start, window_length, names, run.territories)
            boundary += rows.boundary
            with h5py.File(chunk.path, "r", locking=False) as y_file:
                for lo in range(0, len(rows), block_rows):
                    frame, y, positive, split, dropped = _block(rows, slice(lo, lo + block_rows), y_file["y"], columns,
                                                                names, neg_name, drop_orphans)  # fmt: skip
                    orphans += dropped
                    for i, s in enumerate(splits.SPLITS):
                        mine = split == i
                        if not mine.any():
                            continue
                        part, y_part = frame[mine].reset_index(drop=True), y[mine]
                        c = counts[s]
                        c["all"] += len(part)
                        c["positive"] += int(positive[mine].sum())
                        c["tasks"] += y_part.sum(axis=0, dtype=np.int64)
                        if targets is not None:
                            part = targets.apply(pd.concat([part, pd.DataFrame(y_part, columns=kept_tasks)], axis=1))
                            y_part = part[out_tasks].to_numpy(dtype)
                        writers[s].write(part, y_part)
        counts["_boundary"], counts["_orphans"] = boundary, orphans
        counts["_target_warnings"] = (targets.warnings + targets.unlabelled()) if targets is not None else []
        if check is not None:
            check(counts)
    return counts


def gather_chunks(chunk_paths, genome_path, tasks: dict[str, str], prepare_cfg: dict, split_cfg: dict, seed: int,
                  bed_paths: dict, blacklist_path=None, chromosomes=None, regions=None, task_rows=None) -> Gathered:  # fmt: skip
    """Every chunk -> the split files (`bed_paths`: split -> windows BED; its labels file beside
    it), equal to the single job's; returns the tasks kept, the stats and the warnings.

    `task_rows` (the tasks sheet's rows): add signal targets and measured-region masks
    (`deepcis.signals.add_task_targets`) to the labels as they are written.
    """
    run = open_run(genome_path, prepare_cfg, split_cfg, seed, chromosomes, regions)
    try:
        names = np.array(list(run.chrom_sizes), dtype=object)
        chunks = [Chunk(p, names) for p in chunk_paths]
        planned = plan_chunks(run.chrom_sizes, len(chunks))
        for c, want in zip(chunks, planned):
            if c.summary["chroms"] != want or c.summary["tasks"] != list(tasks):
                raise ConfigError(f"{c.path}: a chunk of another run (chromosomes {c.summary['chroms'][:5]}, "
                                  f"expected {want[:5]}); rerun its prepare_chunk job")  # fmt: skip
        warnings = run.warnings + (chunks[0].summary["peak_warnings"] if chunks else [])
        neg = _negatives(run, chunks, prepare_cfg, seed, blacklist_path)
        strategy = prepare_cfg["negatives"]["strategy"]
        neg_dropped, n_cand, n_wanted, neg_outside = neg.dropped, neg.n_candidates, neg.n_wanted, neg.outside
        if neg.n_chosen < n_wanted:
            warnings.append(f"negatives: asked for {n_wanted} ({strategy}), found {neg.n_chosen} that pass the filters")
        negs = neg.per_chunk
        write_options = {"bin_size": int(prepare_cfg["deepsea"]["bin_size"]), "neg_name": f"negative_{strategy}",
                         "window_length": int(prepare_cfg["window_length"])}  # fmt: skip
        task_names = list(tasks)
        min_positives = int(prepare_cfg.get("min_positives", 0))
        state = {}

        def check(counts):
            n_all = sum(counts[s]["all"] for s in splits.SPLITS)
            for s in splits.SPLITS:
                if counts[s]["all"] == 0:
                    raise ConfigError(
                        f"split {s!r} is empty: no window of the {n_all} kept falls in it "
                        f"(split mode {split_cfg['mode']!r}); check the split settings against where the peaks are"
                    )
            short = rare_tasks(counts, task_names, min_positives)
            state["short"] = short
            if short:
                raise _DropTasks()

        try:
            counts = _write_splits(chunks, negs, run, bed_paths, task_names, task_names, check, task_rows, **write_options)
            kept, short = task_names, []
        except _DropTasks:
            short = state["short"]
            dropped = list(dict.fromkeys(t for t, _, _ in short))
            kept = [t for t in task_names if t not in dropped]
            counts = _write_splits(chunks, negs, run, bed_paths, task_names, kept, None, task_rows, **write_options)
    finally:
        run.close()
    for task, split_name, n in short:
        warnings.append(f"task {task!r} dropped: {n} positive window(s) in split {split_name!r} < prepare.min_positives "
                        f"{min_positives}")  # fmt: skip
    summaries = [c.summary for c in chunks]
    pos_dropped = {r: sum(s["drops"][r] for s in summaries) for r in window_filters.REASONS}
    rows = []
    for s in splits.SPLITS:
        c = counts[s]
        rows += [("windows", s, "all", c["all"]), ("windows", s, "positive", c["positive"]),
                 ("windows", s, "negative", c["all"] - c["positive"])]  # fmt: skip
        rows += [("positives", s, task, int(n)) for task, n in zip(kept, c["tasks"])]
    rows += [("drops", "positive", reason, n) for reason, n in pos_dropped.items()]
    rows += [("drops", "negative_candidate", reason, n) for reason, n in neg_dropped.items()]
    rows += [
        ("drops", "all", "split_boundary", counts["_boundary"]),
        ("input", "all", "positive_windows_before_filters", sum(s["positive_windows_before_filters"] for s in summaries)),
        ("input", "all", "negative_candidates_after_filters", n_cand),
        ("input", "all", "negatives_wanted", n_wanted),
    ]
    for row in rows:
        if row[0] == "positives" and row[3] == 0:
            # a task that cannot be trained or evaluated there: said on the console (deepcis.jobs), not only logged
            warnings.append(f"task {row[2]!r} has no positive window in the {row[1]} split (peaks: "
                            f"{tasks.get(row[2], '?')}); its metrics there will be NA")  # fmt: skip
    if run.region is not None:
        rows += [("drops", "positive", "outside_regions", sum(s["outside_regions"] for s in summaries)),
                 ("drops", "negative_candidate", "outside_regions", neg_outside)]  # fmt: skip
    clamped = summaries[0]["summits_clamped"] if summaries else []
    rows += [("summits_clamped", "all", path, n) for path, n in clamped if n]
    rows += [("input", "all", "summits_clamped", sum(n for _, n in clamped))]
    rows += [("tasks_dropped", s, task, n) for task, s, n in short]
    if short:
        rows += [("drops", "positive", "task_dropped", counts["_orphans"])]
    stats = pd.DataFrame(rows, columns=["section", "split", "item", "value"])
    for message in warnings:
        log.warning(message)
    for message in counts["_target_warnings"]:
        log.warning(message)
    return Gathered(tasks=kept, stats=stats, warnings=warnings)


def rare_tasks(counts: dict, tasks: list[str], min_positives: int) -> list[tuple[str, str, int]]:
    """(task, split, positives) below `min_positives` in some split; ConfigError when no task is left."""
    if min_positives <= 0:
        return []
    short = [(t, s, int(counts[s]["tasks"][i])) for i, t in enumerate(tasks) for s in splits.SPLITS
             if counts[s]["tasks"][i] < min_positives]  # fmt: skip
    if short and len({t for t, _, _ in short}) == len(tasks):
        raise ConfigError(f"prepare.min_positives {min_positives}: every task has fewer positive windows in some split "
                          f"({', '.join(f'{t} {n} in {s}' for t, s, n in short[:10])}); lower it or change the split")  # fmt: skip
    return short
