"""Interpretation stage: choose windows, run ISM + attributions on them, filter motifs vs JASPAR.

    windows = select_windows("top_predicted", genome, window_length, tasks, predictions=..., n_per_task=1)
    explain_windows(model, genome, windows, ism_h5, attributions_h5, ism_png, attributions_png, ...)
    filter_motifs(model, dataset_h5, database, summary_tsv, matches_tsv, motifs_jaspar, logos_png, ...)

Window sources (config `interpret.windows`): "top_predicted" (per task, the test-split
windows labelled positive with the highest predictions, from the predictions file),
"variants" (windows centred on the variants with the largest |diff| per task, from the
effects table), "bed" (a BED of regions, each exactly one model window long and inside
the genome; anything else is refused naming the file and line). File layouts:
docs/interpretation.md.
The windows' bases come from the genome, or, for sequence-table inputs (no genome), from the
encoded test split, where `chrom` is the sequence ID (`windows_x`; "top_predicted" only:
the other sources name genome positions).
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd

from . import __version__
from .errors import InputError
from .io_utils import atomic_path, fsync_file

log = logging.getLogger("deepcis.interpret")

WINDOW_COLUMNS = ["chrom", "start", "end", "task", "source", "score"]
ISM_DEFINITION = "ism[w, i, b, t] = f_t(window w with base b at i) - f_t(window w)"


# --------------------------------------------------------------------------------------
# Window selection
# --------------------------------------------------------------------------------------


def read_region_bed(path, chrom_sizes: dict[str, int], window_length: int, tasks: list[str]) -> pd.DataFrame:
    """Regions of a BED (chrom, start, end[, name = task]) checked against genome and model."""
    from .peaks import region_records

    rows = []
    for number, chrom, start, end, fields in region_records(path, chrom_sizes):
        if end - start != window_length:
            raise InputError(path, f"region {chrom}:{start}-{end} is {end - start} bp; the model's window "
                                   f"length is {window_length} bp", number)  # fmt: skip
        task = fields[3] if len(fields) > 3 and fields[3] in tasks else tasks[0]
        rows.append([chrom, start, end, task, "bed", np.nan])
    return pd.DataFrame(rows, columns=WINDOW_COLUMNS)


def top_predicted_windows(predictions_path, tasks: list[str], n_per_task: int) -> pd.DataFrame:
    """Per task, the `n_per_task` windows labelled positive with the highest predictions (a
    continuous task: among its windows with the highest measured values, contributions.positive_rows)."""
    from .contributions import positive_rows
    from .predict import read_predictions

    pred = read_predictions(predictions_path)
    if pred.tasks != list(tasks):
        raise InputError(predictions_path, f"tasks {pred.tasks} differ from the model's tasks {list(tasks)}")
    rows = []
    for t, task in enumerate(tasks):
        positive = positive_rows(pred.y_true, t, None)
        best = positive[np.argsort(-pred.y_pred[positive, t], kind="stable")[:n_per_task]]
        for i in best:
            c = pred.coordinates.iloc[i]
            rows.append([c["chrom"], int(c["start"]), int(c["end"]), task, "top_predicted", float(pred.y_pred[i, t])])
    return pd.DataFrame(rows, columns=WINDOW_COLUMNS)


def variant_windows(effects_path, tasks: list[str], n_per_task: int, window_length: int,
                    chrom_sizes: dict[str, int]) -> pd.DataFrame:  # fmt: skip
    """Per task, windows centred on the variants with the largest |diff| (as scored); the
    effects file is the long table or the matrix (read in blocks: `deepcis.effects.top_rows`)."""
    from .effects import top_rows

    effects = top_rows(effects_path, n_per_task, per_task=True)
    if effects is None:
        effects = pd.DataFrame(columns=["chrom", "pos", "task", "abs_diff"])
    rows = []
    for task in tasks:
        top = effects[effects["task"] == task]
        for _, r in top.iterrows():
            size = chrom_sizes.get(str(r["chrom"]))
            if size is None or size < window_length:
                continue
            start = int(np.clip(int(r["pos"]) - 1 - window_length // 2, 0, size - window_length))
            rows.append([str(r["chrom"]), start, start + window_length, task, "variants", float(r["abs_diff"])])
    return pd.DataFrame(rows, columns=WINDOW_COLUMNS)


def select_windows(source: str, chrom_sizes: dict[str, int], window_length: int, tasks: list[str],
                   n_per_task: int = 1, predictions=None, effects=None, bed=None) -> pd.DataFrame:  # fmt: skip
    """Windows to interpret, one frame (chrom, start, end, task).

    Parameters
    ----------
    source : {"top_predicted", "variants", "bed"}
        Where the windows come from (config key ``interpret.windows``).
    chrom_sizes : dict of str to int, or None
        Chromosome lengths (bp); windows must lie inside them. None: no genome (sequence-table
        inputs; the windows are sequence IDs, checked when `windows_x` reads them).
    window_length : int
        The model's window length (bp).
    tasks : list of str
        The model's tasks, in output order.
    n_per_task : int
        Windows per task for ``top_predicted`` and ``variants``.
    predictions, effects, bed
        The predictions file, the effects table or the BED file of the chosen source.

    Returns
    -------
    pandas.DataFrame
        One row per window, 0-based half-open coordinates.
    """
    if chrom_sizes is None and source != "top_predicted":
        raise ValueError(f"window source {source!r} names genome positions; without a genome only top_predicted")
    if source == "top_predicted":
        windows = top_predicted_windows(predictions, tasks, n_per_task)
    elif source == "variants":
        windows = variant_windows(effects, tasks, n_per_task, window_length, chrom_sizes)
    elif source == "bed":
        windows = read_region_bed(bed, chrom_sizes, window_length, tasks)
    else:
        raise ValueError(f"window source {source!r} must be top_predicted, variants or bed")
    if chrom_sizes is None:  # sequence-table inputs: windows named by sequence ID, read from the dataset
        return windows.reset_index(drop=True)
    for r in windows.itertuples():
        if r.end - r.start != window_length or r.chrom not in chrom_sizes or r.end > chrom_sizes[r.chrom] or r.start < 0:
            raise InputError(predictions or effects or bed, f"window {r.chrom}:{r.start}-{r.end} does not fit the "
                                                            f"genome or the model's {window_length} bp")  # fmt: skip
    return windows.reset_index(drop=True)


# --------------------------------------------------------------------------------------
# ISM and attributions on the chosen windows
# --------------------------------------------------------------------------------------


def _write_maps(path, windows: pd.DataFrame, x: np.ndarray, maps: dict[str, np.ndarray], tasks, attrs: dict):
    import h5py

    with atomic_path(path) as tmp:
        with h5py.File(tmp, "w", locking=False) as f:
            f.create_dataset("chrom", data=np.array(windows["chrom"].astype(str), dtype=object), dtype=h5py.string_dtype())
            f.create_dataset("start", data=windows["start"].to_numpy(np.int64))
            f.create_dataset("end", data=windows["end"].to_numpy(np.int64))
            f.create_dataset("task", data=np.array(windows["task"].astype(str), dtype=object), dtype=h5py.string_dtype())
            f.create_dataset("tasks", data=np.array(list(tasks), dtype=object), dtype=h5py.string_dtype())
            f.create_dataset("x", data=x.astype(np.uint8))
            for name, value in maps.items():
                f.create_dataset(name, data=value.astype(np.float32))
            f.attrs.update({k: v for k, v in attrs.items() if v is not None})
            f.attrs["deepcis_version"] = __version__
        fsync_file(tmp)


def windows_x(sequences_path, windows: pd.DataFrame, length: int, model_file) -> np.ndarray:
    """One-hot (n, L, 4) of the windows (chrom, start, end): from a genome (FASTA or 2bit), or
    from an encoded dataset (HDF5; sequence-table inputs), where `chrom` is the sequence ID and
    `start`/`end` must be the ones stored for it."""
    import h5py

    if h5py.is_hdf5(sequences_path):
        return _dataset_windows(sequences_path, windows, length)
    from .genome import Genome

    with Genome(sequences_path) as genome:
        sizes = genome.chrom_sizes
        for r in windows.itertuples():
            if r.chrom not in sizes or r.start < 0 or r.end > sizes[r.chrom]:
                raise InputError(sequences_path, f"window {r.chrom}:{r.start}-{r.end} is outside the genome")
            if r.end - r.start != length:
                raise InputError(model_file, f"window {r.chrom}:{r.start}-{r.end} is {r.end - r.start} bp; the "
                                             f"model's window length is {length} bp")  # fmt: skip
        x = np.zeros((len(windows), length, 4), np.uint8)
        for i, r in enumerate(windows.itertuples()):
            x[i] = genome.one_hot_windows(r.chrom, np.array([r.start]), length)[0]
    return x


def _dataset_windows(path, windows: pd.DataFrame, length: int) -> np.ndarray:
    """The encoded windows of the sequence IDs `windows["chrom"]` (rows of an HDF5 dataset)."""
    from .dataset import XReader, decode_strings, open_dataset

    with open_dataset(path) as f:
        if int(f.attrs["window_length"]) != length:
            raise InputError(path, f"window length {int(f.attrs['window_length'])} differs from the model's {length} bp")
        ids = pd.Index(decode_strings(f["chrom"][()]))
        if not ids.is_unique:
            raise InputError(path, "sequence IDs (chrom) are not unique: windows cannot be chosen by ID")
        rows = ids.get_indexer(windows["chrom"].astype(str))
        for r, row in zip(windows.itertuples(), rows):
            if row < 0:
                raise InputError(path, f"no sequence {r.chrom!r} (the window {r.chrom}:{r.start}-{r.end} to interpret)")
            if (int(f["start"][row]), int(f["end"][row])) != (r.start, r.end):
                raise InputError(path, f"sequence {r.chrom!r} holds bases {int(f['start'][row])}-{int(f['end'][row])}, "
                                       f"not {r.start}-{r.end}")  # fmt: skip
        if not len(rows):
            return np.zeros((0, length, 4), np.uint8)
        unique, back = np.unique(rows, return_inverse=True)  # h5py reads sorted, unique rows
        return XReader(f)[unique][back]


def explain_windows(model_path, genome_path, windows: pd.DataFrame, ism_h5, attributions_h5, ism_png,
                    attributions_png, ism_method: str = "fast", reverse_complement: bool = True,
                    ig_steps: int = 32, ig_baseline: str = "uniform", seed: int = 0,
                    batch_size: int = 256, plot_windows: int = 5) -> dict:  # fmt: skip
    """ISM (all tasks) and attributions (the window's task) of each window; HDF5 + figures."""
    from .attributions import METHODS, attribute
    from .interpret_plots import attribution_figure, ism_figure
    from .keras_objects import load_model, model_metadata
    from .predict import resolve_model_file

    model_file = resolve_model_file(model_path)
    model = load_model(model_file)
    meta = model_metadata(model)
    tasks, length = meta["tasks"], int(meta["window_length"])
    x = windows_x(genome_path, windows, length, model_file)
    deltas, used = ism_maps(model, x, ism_method, reverse_complement, batch_size)
    maps = {m: np.zeros((len(windows), length, 4), np.float32) for m in METHODS}
    for i, r in enumerate(windows.itertuples()):
        t = tasks.index(r.task)
        for m in METHODS:
            kwargs = {"steps": ig_steps, "baseline": ig_baseline, "seed": seed} if m == "integrated_gradients" else {}
            maps[m][i] = attribute(model, x[i:i + 1].astype(np.float32), t, m, **kwargs)[0]
    attrs = {"model": str(model_path), "genome": str(genome_path), "window_length": length}
    _write_maps(ism_h5, windows, x, {"ism": deltas}, tasks,
                attrs | {"method": used, "reverse_complement": bool(reverse_complement), "definition": ISM_DEFINITION})
    _write_maps(attributions_h5, windows, x, maps, tasks,
                attrs | {"ig_steps": int(ig_steps), "ig_baseline": ig_baseline,
                         "definition": "maps of the model output of each window's task (see docs/interpretation.md)"})  # fmt: skip
    shown = list(range(min(plot_windows, len(windows))))
    label = [f"{windows.loc[i, 'task']} {windows.loc[i, 'chrom']}:{windows.loc[i, 'start']}-{windows.loc[i, 'end']}"
             for i in range(len(windows))]  # fmt: skip
    ism_figure([{"delta": deltas[i][:, :, tasks.index(windows.loc[i, "task"])], "x": x[i].astype(np.float32),
                 "title": f"ISM, {label[i]}"} for i in shown], ism_png)  # fmt: skip
    # IG is drawn summed over the bases of each position, at the window's base (the full map,
    # non-zero at every base for a uniform baseline, is in the HDF5 file); the sum is unchanged
    def drawn(m, i):
        return maps[m][i].sum(axis=1, keepdims=True) * x[i] if m == "integrated_gradients" else maps[m][i]

    attribution_figure([{"maps": {m: drawn(m, i) for m in METHODS}, "title": label[i]} for i in shown], attributions_png)
    return {"windows": len(windows), "ism_method": used}


def ism_maps(model, x: np.ndarray, ism_method: str = "fast", reverse_complement: bool = True,
             batch_size: int = 256) -> tuple[np.ndarray, str]:  # fmt: skip
    """ISM of every window of `x` (n, L, 4) for every task: ((n, L, 4, T), the method used).
    "fast" falls back to naive ISM (with a warning) for a model it cannot follow."""
    from .ism import FastISM, ism
    from .keras_objects import model_metadata

    engine = None
    if ism_method != "naive":
        try:
            engine = FastISM(model)
        except ValueError as error:
            if ism_method == "fast":
                log.warning("fast ISM unavailable (%s); using naive ISM", error)
    deltas = np.zeros((*x.shape[:3], len(model_metadata(model)["tasks"])), np.float32)
    for i in range(len(x)):
        deltas[i] = ism(model, x[i], method="naive" if engine is None else "fast",
                        reverse_complement=reverse_complement, batch_size=batch_size, engine=engine)
        log.info("ISM %d / %d", i + 1, len(x))
    return deltas, "fast" if engine is not None else "naive"


def ensemble_ism(model_paths: list, genome_path, windows: pd.DataFrame, ism_h5, ism_png, ism_method: str = "fast",
                 reverse_complement: bool = True, batch_size: int = 256, plot_windows: int = 5) -> dict:  # fmt: skip
    """ISM of a fold ensemble on the given windows: each member's ISM (`ism_maps`), then `ism`
    their mean (the ISM of the ensemble's mean output, which is linear in the members') and
    `ism_sd` the sd across members (ddof 1), in an HDF5 file laid out as `explain_windows`'
    ism.h5; the figure draws the mean. Members must share tasks and window length."""
    from .interpret_plots import ism_figure
    from .keras_objects import load_model, model_metadata
    from .predict import resolve_model_file

    if len(model_paths) < 2:
        raise ValueError("an ensemble needs at least two members")
    files = [resolve_model_file(p) for p in model_paths]
    members, used, x, tasks, length = [], set(), None, None, None
    for model_file in files:
        model = load_model(model_file)
        meta = model_metadata(model)
        if members and (list(meta["tasks"]) != tasks or int(meta["window_length"]) != length):
            raise InputError(model_file, f"tasks {list(meta['tasks'])} and window length {meta['window_length']} "
                                         f"differ from {files[0]}'s ({tasks}, {length})")  # fmt: skip
        tasks, length = list(meta["tasks"]), int(meta["window_length"])
        if x is None:
            x = windows_x(genome_path, windows, length, model_file)
        deltas, method = ism_maps(model, x, ism_method, reverse_complement, batch_size)
        members.append(deltas)
        used.add(method)
        log.info("member %d / %d: %s", len(members), len(files), model_file)
    stack = np.stack(members)
    mean, sd = stack.mean(axis=0), stack.std(axis=0, ddof=1)
    attrs = {"models": ",".join(map(str, files)), "ensemble_members": len(files), "genome": str(genome_path),
             "window_length": length, "method": ",".join(sorted(used)), "reverse_complement": bool(reverse_complement),
             "definition": ISM_DEFINITION + " (mean over members; ism_sd: their sd, ddof 1)"}  # fmt: skip
    _write_maps(ism_h5, windows, x, {"ism": mean, "ism_sd": sd}, tasks, attrs)
    shown = range(min(plot_windows, len(windows)))
    ism_figure([{"delta": mean[i][:, :, tasks.index(windows.loc[i, "task"])], "x": x[i].astype(np.float32),
                 "title": f"ISM, ensemble of {len(files)}, {windows.loc[i, 'task']} {windows.loc[i, 'chrom']}:"
                          f"{windows.loc[i, 'start']}-{windows.loc[i, 'end']}"} for i in shown], ism_png)  # fmt: skip
    return {"windows": len(windows), "members": len(files), "ism_method": ",".join(sorted(used)),
            "max_ism_sd": float(sd.max()) if sd.size else 0.0}  # fmt: skip


# --------------------------------------------------------------------------------------
# Filter motifs
# --------------------------------------------------------------------------------------


def write_jaspar(matrices, path):
    """Count matrices (NamedMatrix) in JASPAR format (readable by deepcis.motifs.read_jaspar)."""
    with atomic_path(path) as tmp:
        with open(tmp, "w") as handle:
            for m in matrices:
                handle.write(f">{m.id}\t{m.name}\n")
                for b, base in enumerate("ACGT"):
                    handle.write(f"{base} [ " + " ".join(f"{v:.0f}" for v in np.asarray(m.counts)[:, b]) + " ]\n")


def load_database(jaspar_cfg: dict):
    """The Tomtom database: a JASPAR-format file if configured, else pyjaspar's collection."""
    from .filter_motifs import jaspar_database, read_motif_file

    if jaspar_cfg.get("file"):
        return read_motif_file(jaspar_cfg["file"])
    return jaspar_database(jaspar_cfg.get("release", "JASPAR2026"), jaspar_cfg.get("collection", "CORE"),
                           jaspar_cfg.get("tax_group", "vertebrates"))  # fmt: skip


def filter_motifs(model_path, dataset_path, database, summary_tsv, matches_tsv, motifs_jaspar, logos_png,
                  max_windows: int = 2000, fraction: float = 0.5, min_sites: int = 10, max_q: float = 0.05,
                  top: int = 5, seed: int = 0, logos: int = 12) -> dict:  # fmt: skip
    """PWMs of the first convolution's filters from a split's windows, matched to a database."""
    from .dataset import XReader, open_dataset
    from .filter_motifs import filter_motif_table, filter_pfms
    from .interpret_plots import filter_logo_figure
    from .keras_objects import load_model, model_metadata
    from .predict import resolve_model_file

    model_file = resolve_model_file(model_path)
    with open_dataset(dataset_path) as f:
        n = XReader(f).shape[0]
        model = load_model(model_file)
        length = int(model_metadata(model)["window_length"])
        if int(f.attrs["window_length"]) != length:
            raise InputError(dataset_path, f"window length {int(f.attrs['window_length'])} differs from the model's "
                                           f"{length} bp ({model_file})")  # fmt: skip
        # windows with at least one positive label first (that is where motifs are), then others
        y = np.nan_to_num(f["y"][()].astype(np.float32))
        positive = np.nonzero(y.max(axis=1) > 0)[0]
        rest = np.setdiff1d(np.arange(n), positive)
        rng = np.random.default_rng(seed)
        chosen = np.concatenate([rng.permutation(positive), rng.permutation(rest)])[:max_windows]
        x = XReader(f)[np.sort(chosen)]
    pfms, sites, max_act = filter_pfms(model, x, fraction)
    summary, matches, queries = filter_motif_table(pfms, sites, max_act, database, min_sites, max_q, top)
    with atomic_path(summary_tsv) as tmp:
        summary.to_csv(tmp, sep="\t", index=False)
    with atomic_path(matches_tsv) as tmp:
        matches.to_csv(tmp, sep="\t", index=False)
    write_jaspar(queries, motifs_jaspar)
    matched = summary[summary["best_match_id"] != ""].sort_values("best_q_value").head(logos)
    by_id = {q.id: q.counts for q in queries}
    filter_logo_figure([by_id[r.filter] for r in matched.itertuples()],
                       [f"{r.filter}: {r.best_match_name} ({r.best_match_id}), q={r.best_q_value:.1e}"
                        for r in matched.itertuples()], logos_png)  # fmt: skip
    return {"windows": int(len(x)), "filters": int(len(pfms)), "matched_filters": int((summary["best_match_id"] != "").sum())}
