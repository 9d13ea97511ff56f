"""The DeepSHAP stage: attributions of every positive test window of chosen tasks, in HDF5.

    explain_positives(model_path, "results/encode/test.h5", "contributions.h5", "summary.tsv",
                      "contributions.png", tasks=["CTCF"], n_shuffles=20)

For each task, the test windows labelled 1 for it (at most `max_windows`, the first ones in
genome order) are explained with DeepLIFT/DeepSHAP (deepcis.deeplift), or with integrated
gradients from the same shuffled references when the model has layers DeepLIFT cannot
handle exactly (logged as a warning naming the layer types). The summation-to-delta error
of every window is checked against `tolerance` (warn, or fail with `on_error: fail`).

`contributions.h5` (one group per task, rows aligned to genome coordinates):

- `<task>/hypothetical`, `<task>/contributions` float32 (N, L, 4): hypothetical and actual
  contributions (mean over references);
- `<task>/x` uint8 (N, L, 4), `<task>/chrom`, `start`, `end` (N,): the windows, 0-based half-open;
- `<task>/prediction`, `reference_prediction`, `summation_error` float32 (N,);
- group attributes `method`, `max_summation_error`, `unsupported_layers`; file attributes
  `model`, `dataset`, `n_shuffles`, `seed`, `tolerance`, `ig_steps`, `deepcis_version`.
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd

from . import __version__
from .errors import InputError
from .io_utils import atomic_path, fsync_file

log = logging.getLogger("deepcis.contributions")

SUMMARY_COLUMNS = ["task", "windows", "method", "max_summation_error", "median_summation_error", "tolerance",
                   "mean_prediction", "mean_reference_prediction", "unsupported_layers"]  # fmt: skip


# a continuous task's "positives": this top fraction of its windows by measured value
TOP_FRACTION = 0.1


def is_continuous(values) -> bool:
    """A label column with a finite value other than 0 and 1 (an activity or signal task)."""
    values = np.asarray(values, np.float32)
    values = values[np.isfinite(values)]
    return bool(np.any((values != 0) & (values != 1)))


def positive_rows(y: np.ndarray, column: int, max_windows: int | None) -> np.ndarray:
    """Rows labelled 1 in `column` (NaN = missing is not positive), at most `max_windows`. For a
    continuous column (MPRA activity, a signal task), the rows with the highest measured values:
    the top TOP_FRACTION of its finite ones (at least one), at most `max_windows`; in file order."""
    values = np.asarray(y[:, column], np.float32)
    if is_continuous(values):
        finite = np.flatnonzero(np.isfinite(values))
        n = int(np.ceil(len(finite) * TOP_FRACTION))
        n = min(n, max_windows) if max_windows else n
        return np.sort(finite[np.argsort(-values[finite], kind="stable")[:n]])
    rows = np.flatnonzero(np.nan_to_num(values) == 1)
    return rows if not max_windows else rows[:max_windows]


def _concatenate(parts: list, method: str, window_shape) -> object:
    """One Attributions of the blocks of a task (an empty one for a task without windows)."""
    from .deeplift import Attributions

    if not parts:
        maps = np.zeros((0, *window_shape), np.float32)
        return Attributions(method, maps, maps, *(np.zeros(0, np.float32) for _ in range(3)))
    return Attributions(method, *(np.concatenate([getattr(p, k) for p in parts]) for k in
                                  ("hypothetical", "contributions", "prediction", "reference_prediction",
                                   "summation_error")))  # fmt: skip


def explain_positives(model_path, dataset_path, out_h5, summary_tsv, figure_png, tasks: list[str] | None = None,
                      n_shuffles: int = 20, seed: int = 0, batch_size: int = 128, tolerance: float = 1e-3,
                      ig_tolerance: float = 0.05, on_error: str = "warn", ig_steps: int = 32,
                      max_windows: int | None = None,
                      block: int = 64) -> pd.DataFrame:  # fmt: skip
    """DeepSHAP (or the IG fallback) of the positive test windows of `tasks` (default: every
    task of the model; a continuous task's positives are its windows of highest measured value,
    `positive_rows`); writes the HDF5 file, a per-task summary and a figure."""
    import h5py

    from .dataset import XReader, dataset_tasks, decode_strings, open_dataset
    from .deeplift import check_summation, choose_method, deep_lift_shap
    from .keras_objects import load_model, model_metadata
    from .predict import model_task_columns, resolve_model_file

    model_file = resolve_model_file(model_path)
    with open_dataset(dataset_path) as f:
        data_tasks = dataset_tasks(f)
        model = load_model(model_file)
        meta = model_metadata(model)
        columns = model_task_columns(dataset_path, meta["tasks"], meta["window_length"], model_file, data_tasks,
                                     int(f.attrs["window_length"]))  # fmt: skip
        model_tasks = list(meta["tasks"])
        chosen = list(tasks) if tasks else model_tasks
        unknown = [t for t in chosen if t not in model_tasks]
        if unknown:
            raise InputError(model_file, f"task(s) {unknown} are not predicted by this model; its tasks: {model_tasks}")
        method, bad = choose_method(model)
        if bad:
            log.warning("model %s has layers DeepLIFT cannot handle exactly (%s): explained with integrated gradients "
                        "(%d steps) from the same dinucleotide-shuffled references instead", model_file.parent.name,
                        ", ".join(bad), ig_steps)  # fmt: skip
        y = f["y"][()]
        rows_of = {t: positive_rows(y, columns[model_tasks.index(t)], max_windows) for t in chosen}
        attrs = {"model": str(model_path), "dataset": str(dataset_path), "n_shuffles": int(n_shuffles), "seed": int(seed),
                 "tolerance": float(tolerance), "ig_tolerance": float(ig_tolerance), "ig_steps": int(ig_steps), "deepcis_version": __version__,
                 "definition": "DeepLIFT rescale rule (DeepSHAP: mean over dinucleotide-shuffled references) of the "
                               "model output of each task; docs/interpretation.md"}  # fmt: skip
        summary, panels = [], []
        with atomic_path(out_h5) as tmp:
            with h5py.File(tmp, "w", locking=False) as out:
                out.attrs.update(attrs)
                for task in chosen:
                    rows = rows_of[task]
                    t = model_tasks.index(task)
                    parts = []
                    for lo in range(0, len(rows), block):  # bounded memory: block windows at a time
                        x = XReader(f)[rows[lo:lo + block]].astype(np.float32)
                        parts.append(deep_lift_shap(model, x, t, n_shuffles, seed, batch_size, method, ig_steps,
                                                    keys=rows[lo:lo + block]))  # fmt: skip
                        log.info("%s: %d / %d windows", task, min(len(rows), lo + block), len(rows))
                    result = _concatenate(parts, method, XReader(f).shape[1:])
                    limit = tolerance if method == "deeplift_shap" else ig_tolerance
                    worst = check_summation(result, limit, on_error, what=f"{task}: ")
                    g = out.create_group(task)
                    g.create_dataset("x", data=XReader(f)[rows] if len(rows) else np.zeros((0, *XReader(f).shape[1:]), np.uint8))
                    chrom = decode_strings(f["chrom"][rows]) if len(rows) else []
                    g.create_dataset("chrom", data=np.array(chrom, dtype=object), dtype=h5py.string_dtype())
                    for name in ("start", "end"):
                        g.create_dataset(name, data=f[name][rows] if len(rows) else np.zeros(0, np.int64))
                    for name in ("hypothetical", "contributions", "prediction", "reference_prediction", "summation_error"):
                        g.create_dataset(name, data=getattr(result, name).astype(np.float32))
                    g.attrs.update({"method": method, "max_summation_error": worst, "unsupported_layers": ", ".join(bad)})
                    summary.append([task, len(rows), method, worst,
                                    float(np.median(result.summation_error)) if len(rows) else np.nan, limit,
                                    float(result.prediction.mean()) if len(rows) else np.nan,
                                    float(result.reference_prediction.mean()) if len(rows) else np.nan,
                                    ", ".join(bad)])  # fmt: skip
                    if len(rows):
                        best = int(np.argmax(result.prediction))
                        panels.append({"contributions": result.contributions[best],
                                       "title": f"{task} {chrom[best]}:{int(f['start'][rows[best]])}-"
                                                f"{int(f['end'][rows[best]])} ({method}, f(x) = "
                                                f"{result.prediction[best]:.3f}, mean f(ref) = "
                                                f"{result.reference_prediction[best]:.3f})"})  # fmt: skip
            fsync_file(tmp)
    table = pd.DataFrame(summary, columns=SUMMARY_COLUMNS)
    with atomic_path(summary_tsv) as tmp:
        table.to_csv(tmp, sep="\t", index=False, float_format="%.4g")
    from .interpret_plots import contribution_figure

    contribution_figure(panels, figure_png)
    return table


def read_contributions(path, task: str) -> dict:
    """One task's group of a contributions file as arrays (keys as in the module doc)."""
    import h5py

    from .dataset import decode_strings

    with h5py.File(path, "r", locking=False) as f:
        if task not in f:
            raise InputError(path, f"holds no attributions for task {task!r}; it has {sorted(f.keys())}")
        g = f[task]
        out = {k: g[k][()] for k in g.keys()}
        out["chrom"] = decode_strings(out["chrom"])
        out["method"] = str(g.attrs["method"])
    return out
