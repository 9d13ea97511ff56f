"""Per-window predictions of a trained model on one split, and the predictions file.

The predictions file (HDF5, one per model and split) is what the metrics and plots read, so
they can be recomputed without the model. Layout (see docs/evaluation.md):

- `chrom` (N,) UTF-8, `start`, `end` (N,) int64: the windows, 0-based half-open, in the
  dataset's order;
- `y_true` (N, T) float32: the dataset's labels, NaN = missing;
- `y_pred` (N, T) float32: the predictions (probabilities for a sigmoid head);
- `tasks` (T,) UTF-8, in column order;
- attributes: `model` (path as given), `model_sha256`, `predictor` (`keras` or
  `kmer_baseline`), `dataset` (path as given), `split`, `reverse_complement`,
  `window_length`, `n_windows`, `deepcis_version`, and the dataset's `genome_sha256` and
  `config_sha256`.

TensorFlow and Keras are imported only inside `predict_dataset`: the baseline and the
metrics read and write predictions files without them.
"""

from __future__ import annotations

import logging
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from . import __version__
from .dataset import XReader, dataset_tasks, open_dataset
from .errors import InputError
from .genome import reverse_complement
from .io_utils import atomic_path, fsync_file

log = logging.getLogger("deepcis.predict")

PREDICTION_DATASETS = ("chrom", "start", "end", "y_true", "y_pred", "tasks")
BLOCK_ROWS = 4096


# --------------------------------------------------------------------------------------
# The predictions file
# --------------------------------------------------------------------------------------


@dataclass
class Predictions:
    """The content of a predictions file."""

    tasks: list[str]
    y_true: np.ndarray  # float32 (N, T), NaN = missing
    y_pred: np.ndarray  # float32 (N, T)
    coordinates: pd.DataFrame  # chrom, start, end
    attrs: dict = field(default_factory=dict)

    def __len__(self) -> int:
        return self.y_pred.shape[0]


@contextmanager
def create_predictions(path, n: int, tasks: list[str], attrs: dict):
    """Open a new predictions file of `n` rows; it appears at `path` only on success."""
    import h5py

    tasks = [str(t) for t in tasks]
    rows = max(1, min(n, 65536))
    with atomic_path(path) as tmp:
        with h5py.File(tmp, "w", locking=False) as f:
            f.create_dataset("chrom", shape=(n,), dtype=h5py.string_dtype("utf-8"), chunks=(rows,))
            for name in ("start", "end"):
                f.create_dataset(name, shape=(n,), dtype=np.int64, chunks=(rows,))
            for name in ("y_true", "y_pred"):
                f.create_dataset(name, shape=(n, len(tasks)), dtype=np.float32, chunks=(rows, max(1, len(tasks))))
            f.create_dataset("tasks", data=np.array(tasks, dtype=object), dtype=h5py.string_dtype("utf-8"))
            f.attrs.update({k: v for k, v in attrs.items() if v is not None})
            f.attrs["deepcis_version"] = __version__
            f.attrs["n_windows"] = int(n)
            yield f
        fsync_file(tmp)


def write_prediction_rows(f, offset: int, chrom, start, end, y_true, y_pred):
    """Write one block of windows (coordinates, labels, predictions) at row `offset` of an open predictions file."""
    hi = offset + len(start)
    f["chrom"][offset:hi] = np.asarray(chrom, dtype=object)
    f["start"][offset:hi] = start
    f["end"][offset:hi] = end
    f["y_true"][offset:hi] = np.asarray(y_true, dtype=np.float32)
    f["y_pred"][offset:hi] = np.asarray(y_pred, dtype=np.float32)


def open_predictions(path):
    """Open a predictions file read-only after checking its datasets and shapes."""
    from .dataset import open_h5

    f = open_h5(path, "predictions file", PREDICTION_DATASETS)
    n, t = f["start"].shape[0], f["tasks"].shape[0]
    if f["y_true"].shape != (n, t) or f["y_pred"].shape != (n, t):
        shapes = f"y_true {f['y_true'].shape} and y_pred {f['y_pred'].shape}"
        f.close()
        raise InputError(path, f"{shapes} do not match {n} windows x {t} tasks")
    return f


def read_predictions(path) -> Predictions:
    """Read a predictions file (written by `predict_dataset` or the k-mer baseline)."""
    with open_predictions(path) as f:
        tasks = dataset_tasks(f)
        y_true = f["y_true"][()].astype(np.float32, copy=False)
        y_pred = f["y_pred"][()].astype(np.float32, copy=False)
        chrom = [c.decode() if isinstance(c, bytes) else str(c) for c in f["chrom"][()]]
        coordinates = pd.DataFrame({"chrom": chrom, "start": f["start"][()], "end": f["end"][()]})
        attrs = {k: (v.item() if isinstance(v, np.generic) else v) for k, v in f.attrs.items()}
    return Predictions(tasks, y_true, y_pred, coordinates, attrs)


def dataset_provenance(f, dataset_path) -> dict:
    """Attributes a predictions file copies from the dataset it was computed on."""
    attrs = {"dataset": str(dataset_path), "window_length": int(f.attrs["window_length"])}
    for key in ("split", "genome_sha256", "config_sha256"):
        if key in f.attrs:
            value = f.attrs[key]
            attrs[key] = value.decode() if isinstance(value, bytes) else str(value)
    return attrs


# --------------------------------------------------------------------------------------
# Keras predictions
# --------------------------------------------------------------------------------------


def resolve_model_file(model_path) -> Path:
    """A model folder (with `model.keras`) or the `.keras` file itself."""
    path = Path(model_path)
    if path.is_dir():
        path = path / "model.keras"
    if not path.is_file():
        raise InputError(path, "model file not found")
    return path


def check_dataset_matches(dataset_path, tasks: list[str], window_length: int, model_file,
                          data_tasks: list[str], data_window: int):  # fmt: skip
    """Refuse a dataset whose tasks (names and order) or window length are not the model's."""
    if data_tasks != list(tasks):
        raise InputError(dataset_path, f"tasks {data_tasks} differ from the model's tasks {list(tasks)} "
                                       f"({model_file}); names and order must match")  # fmt: skip
    if int(data_window) != int(window_length):
        raise InputError(dataset_path, f"window length {int(data_window)} differs from the model's "
                                       f"window length {int(window_length)} ({model_file})")  # fmt: skip


def model_task_columns(dataset_path, tasks: list[str], window_length: int, model_file, data_tasks: list[str],
                       data_window: int) -> list[int]:  # fmt: skip
    """Columns of the dataset's labels, in the model's task order, for a model that predicts
    all or some of the dataset's tasks (a model trained on a task subset, a transferred model).
    Refuses a task the dataset lacks and another window length."""
    if int(data_window) != int(window_length):
        raise InputError(dataset_path, f"window length {int(data_window)} differs from the model's "
                                       f"window length {int(window_length)} ({model_file})")  # fmt: skip
    missing = [t for t in tasks if t not in data_tasks]
    if missing:
        raise InputError(dataset_path, f"lacks the model's task(s) {missing} ({model_file}); the dataset's tasks: "
                                       f"{data_tasks}")  # fmt: skip
    return [data_tasks.index(t) for t in tasks]


def _set_threads(threads: int | None):
    if not threads:
        return
    import tensorflow as tf

    try:
        tf.config.threading.set_intra_op_parallelism_threads(int(threads))
        tf.config.threading.set_inter_op_parallelism_threads(max(1, min(2, int(threads))))
    except RuntimeError:  # TensorFlow already initialised in this process: keep its settings
        log.warning("TensorFlow already initialised; thread settings unchanged")


def predict_dataset(model_path, dataset_path, out_path, batch_size: int = 256, reverse_complement: bool = True,
                    block_rows: int = BLOCK_ROWS, threads: int | None = None) -> dict:  # fmt: skip
    """Predict every window of a dataset split with a trained model; write a predictions file.

    `model_path` is a model folder or its `model.keras`. The dataset must have every task of
    the model (it may have more: the file then holds the model's tasks, in its order) and
    the model's window length. `x` is read `block_rows`
    rows at a time; with `reverse_complement` each window is also predicted on its reverse
    complement and the two predictions are averaged. Returns a small summary dict.
    """
    from .io_utils import sha256_file

    model_file = resolve_model_file(model_path)
    f = open_dataset(dataset_path)  # checks the contract before the model loads
    try:
        data_tasks = dataset_tasks(f)
        data_window = int(f.attrs["window_length"])
        _set_threads(threads)
        from .keras_objects import load_model, model_metadata

        model = load_model(model_file)
        meta = model_metadata(model)
        columns = model_task_columns(dataset_path, meta["tasks"], meta["window_length"], model_file, data_tasks, data_window)
        tasks = list(meta["tasks"])
        n = XReader(f).shape[0]
        attrs = dataset_provenance(f, dataset_path) | {
            "model": str(model_path), "model_sha256": sha256_file(model_file), "predictor": "keras",
            "reverse_complement": bool(reverse_complement),
        }  # fmt: skip
        if len(tasks) < len(data_tasks):
            log.info("the model predicts %d of the dataset's %d tasks: %s", len(tasks), len(data_tasks), tasks)
        with create_predictions(out_path, n, tasks, attrs) as out:
            for lo in range(0, n, block_rows):
                hi = min(n, lo + block_rows)
                x = XReader(f)[lo:hi]
                # predict_windows, not model.predict: the latter's per-call set-up cost DanQ half
                # its speed on 512-window blocks (bench/bench_predict.py, docs/benchmarks.md)
                p = predict_windows(model, x, batch_size, reverse_complement_average=reverse_complement)
                if p.shape != (hi - lo, len(tasks)):
                    raise InputError(model_file, f"model output shape {p.shape} is not (windows, {len(tasks)} tasks)")
                write_prediction_rows(out, lo, f["chrom"][lo:hi], f["start"][lo:hi], f["end"][lo:hi],
                                      f["y"][lo:hi].astype(np.float32)[:, columns], p)  # fmt: skip
                log.info("predicted %d / %d windows", hi, n)
    finally:
        f.close()
    return {"windows": int(n), "tasks": len(tasks), "reverse_complement": bool(reverse_complement)}


def predict_windows(model, x: np.ndarray, batch_size: int = 256, reverse_complement_average: bool = True) -> np.ndarray:
    """Predictions (N, T) of one-hot windows through Keras' traced predict step, one call per
    batch; with `reverse_complement_average` each batch holds the windows and their reverse
    complements, and the two predictions are averaged. For many small calls (genome tracks,
    design rounds) this avoids `model.predict`'s per-call set-up, which on 2 CPU cores took as
    long as the prediction of 4,096 windows itself."""
    out = []
    for lo in range(0, len(x), batch_size):
        xb = np.asarray(x[lo:lo + batch_size], np.float32)
        if reverse_complement_average:
            both = np.asarray(model.predict_on_batch(np.concatenate([xb, reverse_complement(xb)])), np.float32)
            out.append((both[:len(xb)] + both[len(xb):]) / np.float32(2))
        else:
            out.append(np.asarray(model.predict_on_batch(xb), np.float32))
    return np.concatenate(out) if out else np.zeros((0, model.outputs[0].shape[-1]), np.float32)
