"""Genome tracks: predictions along whole regions or chromosomes as one bigWig per task.

    regions = read_track_regions("regions.bed", chrom_sizes, window_length)   # or whole_chromosomes(...)
    predict_tracks(model_path, genome_path, regions, out_dir, stride=50)

Tiling: in every region [s, e) windows of the model's length L start at s, s + stride, ...
while they fit (start + L <= e). A window's prediction (every task; forward and reverse
complement averaged) is written for the central `min(stride, L)` bp of the window,
[start + (L - w) // 2, + w): tiles at the stride touch end to end, so each covered base gets
the prediction of the one window centred on it, and a region's track spans its windows'
central parts (about L/2 - stride/2 bp short of each region end). Overlapping or touching
regions are merged first.

Memory is bounded by `block` windows at a time, whatever the region size: the genome is read
through deepcis.genome's memory map, the next block is read and encoded in a background
thread while the model predicts the current one, and every block is appended to the open
bigWig files (pyBigWig; the header holds every chromosome of the genome with its size).

Optionally the DeepLIFT/SHAP contributions (deepcis.deeplift; the IG fallback for models it
cannot handle exactly) of one task, summed over the bases of each position, go to one more
bigWig, over the same central part of each window.

Bad input (a BED naming a contig not in the genome, a region shorter than a window, a stride
below 1, a malformed line) is refused with the file and line before any prediction.
"""

from __future__ import annotations

import logging
import threading
from contextlib import ExitStack
from pathlib import Path

import numpy as np
import pandas as pd

from .errors import ConfigError, InputError
from .io_utils import atomic_path

log = logging.getLogger("deepcis.tracks")

REGION_COLUMNS = ["chrom", "start", "end"]


def read_track_regions(path, chrom_sizes: dict[str, int], window_length: int) -> pd.DataFrame:
    """Regions of a BED (chrom, start, end, ...), each checked against the genome and the
    window; an InputError names the file and line of the first problem."""
    from .peaks import region_records

    rows = []
    for number, chrom, start, end, _ in region_records(path, chrom_sizes):
        if end - start < window_length:
            raise InputError(path, f"region {chrom}:{start}-{end} is {end - start} bp, shorter than one model "
                                   f"window ({window_length} bp)", number)  # fmt: skip
        rows.append([chrom, start, end])
    return merge_regions(pd.DataFrame(rows, columns=REGION_COLUMNS), list(chrom_sizes))


def whole_chromosomes(chrom_sizes: dict[str, int], window_length: int, chromosomes: list[str] | None = None,
                      source: str = "tracks.chromosomes") -> pd.DataFrame:  # fmt: skip
    """Whole chromosomes as regions (all at least one window long when none are named)."""
    if chromosomes:
        missing = [c for c in chromosomes if c not in chrom_sizes]
        if missing:
            raise ConfigError(f"{source}: {missing} not in the genome (its contigs: {', '.join(list(chrom_sizes)[:10])})")
        short = [c for c in chromosomes if chrom_sizes[c] < window_length]
        if short:
            raise ConfigError(f"{source}: {short} shorter than one model window ({window_length} bp)")
        names = list(chromosomes)
    else:
        names = [c for c, n in chrom_sizes.items() if n >= window_length]
    return merge_regions(pd.DataFrame([[c, 0, chrom_sizes[c]] for c in names], columns=REGION_COLUMNS), list(chrom_sizes))


def merge_regions(regions: pd.DataFrame, order: list[str]) -> pd.DataFrame:
    """Regions sorted in genome order with overlapping or touching ones merged."""
    rank = {c: i for i, c in enumerate(order)}
    regions = regions.assign(rank=regions["chrom"].map(rank)).sort_values(["rank", "start", "end"])
    merged = []
    for r in regions.itertuples():
        if merged and merged[-1][0] == r.chrom and r.start <= merged[-1][2]:
            merged[-1][2] = max(merged[-1][2], r.end)
        else:
            merged.append([r.chrom, r.start, r.end])
    return pd.DataFrame(merged, columns=REGION_COLUMNS)


def check_stride(stride) -> int:
    """The stride as an int, or a ConfigError naming the key."""
    if isinstance(stride, bool) or not isinstance(stride, (int, np.integer)) or stride < 1:
        raise ConfigError(f"tracks.stride: {stride!r} must be a positive integer (bp between window starts)")
    return int(stride)


def window_starts(start: int, end: int, window_length: int, stride: int) -> np.ndarray:
    """Starts of the windows tiling [start, end) at `stride`."""
    return np.arange(start, end - window_length + 1, stride, dtype=np.int64)


def tiles(regions: pd.DataFrame, window_length: int, stride: int, block: int):
    """(chrom, window starts) blocks of at most `block` windows, in genome order."""
    for r in regions.itertuples():
        starts = window_starts(r.start, r.end, window_length, stride)
        for lo in range(0, len(starts), block):
            yield r.chrom, starts[lo:lo + block]


def count_windows(regions: pd.DataFrame, window_length: int, stride: int) -> int:
    """Windows that tile the regions."""
    return int(sum(len(window_starts(r.start, r.end, window_length, stride)) for r in regions.itertuples()))


def covered_span(window_length: int, stride: int) -> tuple[int, int]:
    """(offset, width): the part of a window its value is written for."""
    width = min(stride, window_length)
    return (window_length - width) // 2, width


def _prefetched(genome, blocks, window_length: int):
    """The one-hot windows of each block, the next one read in a background thread."""
    blocks = iter(blocks)
    result: dict = {}

    def load(item):
        chrom, starts = item
        result["x"] = genome.one_hot_windows(chrom, starts, window_length)
        result["item"] = item

    item = next(blocks, None)
    if item is None:
        return
    load(item)
    while True:
        x, current = result["x"], result["item"]
        nxt = next(blocks, None)
        thread = None
        if nxt is not None:
            thread = threading.Thread(target=load, args=(nxt,))
            thread.start()
        yield current[0], current[1], x
        if thread is None:
            return
        thread.join()


def track_names(tasks: list[str], attribution_task: str | None) -> list[str]:
    """The bigWig file names of a model's tracks: one per task, then `<task>.attribution`."""
    return [f"{t}.bw" for t in tasks] + ([f"{attribution_task}.attribution.bw"] if attribution_task else [])


def predict_tracks(model_path, genome_path, regions: pd.DataFrame, out_dir, stride: int, batch_size: int = 256,
                   reverse_complement: bool = True, block: int = 4096, attribution_task: str | None = None,
                   attribution_shuffles: int = 8, seed: int = 0, ig_steps: int = 32) -> dict:  # fmt: skip
    """One bigWig per task (and optionally one of summed contributions) over the tiled regions."""
    import pyBigWig

    from .deeplift import choose_method, deep_lift_shap
    from .genome import Genome
    from .keras_objects import load_model, model_metadata
    from .predict import predict_windows, resolve_model_file

    stride = check_stride(stride)
    model_file = resolve_model_file(model_path)
    model = load_model(model_file)
    meta = model_metadata(model)
    tasks, length = list(meta["tasks"]), int(meta["window_length"])
    if attribution_task is not None and attribution_task not in tasks:
        raise ConfigError(f"tracks.attribution_task: {attribution_task!r} is not a task of model {model_file} "
                          f"({', '.join(tasks)})")  # fmt: skip
    offset, width = covered_span(length, stride)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    names = track_names(tasks, attribution_task)
    method, bad = choose_method(model)
    if attribution_task and bad:
        log.warning("attribution track: model has layers DeepLIFT cannot handle exactly (%s); integrated gradients "
                    "from the same shuffled references instead", ", ".join(bad))  # fmt: skip
    n_windows = count_windows(regions, length, stride)
    done = 0
    with Genome(genome_path) as genome:
        header = list(genome.chrom_sizes.items())
        with ExitStack() as outputs:  # every file appears only when all are complete
            files = [pyBigWig.open(str(outputs.enter_context(atomic_path(out_dir / n))), "w") for n in names]
            try:
                for f in files:
                    f.addHeader(header, maxZooms=10)
                for chrom, starts, x in _prefetched(genome, tiles(regions, length, stride, block), length):
                    pred = predict_windows(model, x, batch_size, reverse_complement)
                    lo = starts + offset
                    for t, f in enumerate(files[:len(tasks)]):
                        f.addEntries(chrom, int(lo[0]), values=pred[:, t].astype(np.float64).tolist(), span=width,
                                     step=width)  # fmt: skip
                    if attribution_task:
                        att = deep_lift_shap(model, x.astype(np.float32), tasks.index(attribution_task),
                                             attribution_shuffles, seed, batch_size, method, ig_steps, offset=done)
                        per_base = att.contributions.sum(axis=2)[:, offset:offset + width].astype(np.float64)
                        files[-1].addEntries(chrom, int(lo[0]), values=per_base.ravel().tolist(), span=1, step=1)
                    done += len(starts)
                    log.info("%s: %d / %d windows", chrom, done, n_windows)
            finally:
                for f in files:
                    f.close()
    return {"windows": done, "tasks": tasks, "files": names, "stride": stride, "span": width,
            "attribution_method": method if attribution_task else None}  # fmt: skip


def signal_at(bigwig_path, chrom: str, positions: np.ndarray) -> np.ndarray:
    """Values of a bigWig at 0-based positions of one chromosome (NaN where no data)."""
    import pyBigWig

    bw = pyBigWig.open(str(bigwig_path))
    try:
        values = np.asarray(bw.values(chrom, 0, bw.chroms(chrom)), np.float64)
    finally:
        bw.close()
    return values[np.asarray(positions, np.int64)]


def read_task_peaks(paths: dict, chrom_sizes: dict[str, int]) -> dict:
    """{task: validated peak intervals} (deepcis.peaks) of each task's peak file."""
    from .peaks import read_intervals

    return {task: read_intervals(path, chrom_sizes, what=f"peak file of task {task}") for task, path in paths.items()}


def _intervals(peaks, chrom: str) -> np.ndarray:
    """(start, end) rows of a peak set's intervals on one chromosome."""
    on = peaks.chrom.astype(str) == chrom
    return np.stack([peaks.start[on], peaks.end[on]], axis=1).astype(np.int64)


def _inside(length: int, intervals: np.ndarray, offset: int = 0) -> np.ndarray:
    mask = np.zeros(length, bool)
    for lo, hi in intervals:
        mask[max(0, lo - offset):max(0, min(length, hi - offset))] = True
    return mask


def track_summary(out_dir, names: list[str], regions: pd.DataFrame, peaks: dict | None = None) -> pd.DataFrame:
    """Per bigWig: covered bases, mean and max value, and for a task with peaks ({task: peak
    intervals}, `read_task_peaks`) the mean inside its peaks over the mean outside them (over
    the covered bases of the regions)."""
    import pyBigWig

    rows = []
    for name in names:
        task = name[:-3].removesuffix(".attribution")
        bw = pyBigWig.open(str(Path(out_dir) / name))
        try:
            inside_sum = outside_sum = 0.0
            inside_n = outside_n = 0
            total, count, top = 0.0, 0, -np.inf
            for r in regions.itertuples():
                v = np.asarray(bw.values(r.chrom, int(r.start), int(r.end)), np.float64)
                ok = np.isfinite(v)
                total += float(v[ok].sum())
                count += int(ok.sum())
                top = max(top, float(v[ok].max()) if ok.any() else -np.inf)
                if peaks and task in peaks and not name.endswith(".attribution.bw"):
                    mask = _inside(len(v), _intervals(peaks[task], r.chrom), int(r.start))
                    inside_sum += float(v[ok & mask].sum())
                    inside_n += int((ok & mask).sum())
                    outside_sum += float(v[ok & ~mask].sum())
                    outside_n += int((ok & ~mask).sum())
        finally:
            bw.close()
        inside = inside_sum / inside_n if inside_n else np.nan
        outside = outside_sum / outside_n if outside_n else np.nan
        rows.append([name, task, count, total / count if count else np.nan, top if count else np.nan, inside_n, inside,
                     outside, inside / outside if inside_n and outside_n and outside > 0 else np.nan])  # fmt: skip
    return pd.DataFrame(rows, columns=["file", "task", "covered_bp", "mean", "max", "peak_bp", "mean_in_peaks",
                                       "mean_outside_peaks", "peak_ratio"])  # fmt: skip


def track_regions(model_file, genome_path, cfg: dict) -> tuple[pd.DataFrame, dict[str, int], int]:
    """The regions a tracks config tiles (its BED, checked, or whole chromosomes) for a model's
    window length, the genome's chromosome sizes and that window length."""
    from .genome import Genome
    from .keras_objects import load_model, model_metadata

    length = int(model_metadata(load_model(model_file))["window_length"])
    with Genome(genome_path) as genome:
        sizes = genome.chrom_sizes
    if cfg.get("regions"):
        return read_track_regions(cfg["regions"], sizes, length), sizes, length
    return whole_chromosomes(sizes, length, cfg.get("chromosomes")), sizes, length


def summarise_tracks(out_dir, files: list[str], regions: pd.DataFrame, peaks: dict, cfg: dict, summary_tsv,
                     figure_png, sd_files: list[str] | None = None) -> pd.DataFrame:  # fmt: skip
    """The tracks summary (`track_summary`) written to `summary_tsv`, and the figure of the first
    `plot_bp` bases of the first region. With `sd_files` (an ensemble's spread tracks, one per
    file) the table gets `mean_sd`, the mean of each spread track over the covered bases."""
    import pyBigWig

    from .design_plots import tracks_figure

    table = track_summary(out_dir, files, regions, peaks)
    if sd_files is not None:
        table["mean_sd"] = track_summary(out_dir, sd_files, regions)["mean"].to_numpy()
    with atomic_path(summary_tsv) as tmp:
        table.to_csv(tmp, sep="\t", index=False, float_format="%.5g")
    first = regions.iloc[0]
    lo, hi = int(first["start"]), min(int(first["end"]), int(first["start"]) + cfg["plot_bp"])
    values, drawn_peaks = {}, {}
    for name in files:
        bw = pyBigWig.open(str(Path(out_dir) / name))
        try:
            values[name[:-3]] = np.asarray(bw.values(str(first["chrom"]), lo, hi), np.float64)
        finally:
            bw.close()
        task = name[:-3]
        if peaks and task in peaks:
            drawn_peaks[task] = [(a, b) for a, b in _intervals(peaks[task], str(first["chrom"])) if b > lo and a < hi]
    tracks_figure(values, str(first["chrom"]), lo, figure_png, drawn_peaks)
    return table


def genome_tracks(model_path, genome_path, cfg: dict, out_dir, summary_tsv, figure_png, peaks: dict | None = None,
                  seed: int = 0) -> pd.DataFrame:  # fmt: skip
    """The tracks rule: regions (BED or whole chromosomes, checked first), bigWigs, summary, figure."""
    from .predict import resolve_model_file

    stride = check_stride(cfg["stride"])
    model_file = resolve_model_file(model_path)
    regions, sizes, length = track_regions(model_file, genome_path, cfg)
    peaks = read_task_peaks(peaks or {}, sizes)
    log.info("%d regions, %d windows at stride %d", len(regions), count_windows(regions, length, stride), stride)
    info = predict_tracks(model_file, genome_path, regions, out_dir, stride, cfg["batch_size"], cfg["reverse_complement"],
                          cfg["block"], cfg.get("attribution_task"), cfg["attribution_shuffles"], seed)  # fmt: skip
    return summarise_tracks(out_dir, info["files"], regions, peaks, cfg, summary_tsv, figure_png)


def ensemble_tracks(model_paths: list, genome_path, cfg: dict, out_dir, summary_tsv, figure_png,
                    peaks: dict | None = None, seed: int = 0) -> pd.DataFrame:  # fmt: skip
    """The tracks of a fold ensemble: each member's tracks (`predict_tracks`, one model at a time,
    in a temporary folder), then per track the mean over members and their spread
    (`deepcis.ensemble.mean_bigwigs`: <name>.bw the mean, <name>.sd.bw the sd). The summary and
    figure are those of the mean tracks, with the mean of the sd track per file (`mean_sd`)."""
    import tempfile

    from .ensemble import mean_bigwigs, sd_name
    from .predict import resolve_model_file

    if len(model_paths) < 2:
        raise ValueError("an ensemble needs at least two members")
    stride = check_stride(cfg["stride"])
    files = [resolve_model_file(p) for p in model_paths]
    regions, sizes, _ = track_regions(files[0], genome_path, cfg)
    peaks = read_task_peaks(peaks or {}, sizes)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=out_dir.parent, prefix=".ensemble_tracks.") as tmp:
        members, names = [], None
        for i, model_file in enumerate(files):
            member = Path(tmp) / str(i)
            info = predict_tracks(model_file, genome_path, regions, member, stride, cfg["batch_size"],
                                  cfg["reverse_complement"], cfg["block"], cfg.get("attribution_task"),
                                  cfg["attribution_shuffles"], seed)  # fmt: skip
            if names is not None and info["files"] != names:
                raise InputError(model_file, f"tracks {info['files']} differ from {files[0]}'s {names}: the members "
                                             "do not predict the same tasks")  # fmt: skip
            names = info["files"]
            members.append(member)
            log.info("member %d / %d: %s", i + 1, len(files), model_file)
        mean_bigwigs(members, names, regions, out_dir)
    return summarise_tracks(out_dir, names, regions, peaks, cfg, summary_tsv, figure_png,
                            sd_files=[sd_name(n) for n in names])
