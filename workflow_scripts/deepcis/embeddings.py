"""Autoencoder embeddings: one code per window of a split, its 2-D projection, and the code as
features of a per-task logistic regression (a linear probe) next to the untrained encoder's.

    write_embeddings(model_path, "results/encode/test.h5", "results/embed/ae/test.h5")
    projection_figure("results/embed/ae/test.h5", "projection.png")
    table = probe_embeddings({"train": ..., "valid": ..., "test": ...}, untrained={...}, tasks=[...])

Embeddings file (HDF5, row i = row i of the split's dataset file): `embedding` float32 (N, D)
(the code flattened: positions x channels, or the dense code), `chrom`, `start`, `end`, `y`
(the split's labels, float32, NaN = missing) and `tasks`; attributes `model`, `model_sha256`,
`code_shape`, `split`, `window_length`, `n_windows`, the split's `config_sha256` and
`genome_sha256`.

The probe reads a positional code as a bag of code words: the code vectors of every position
(standardised) are clustered by k-means into 256 code words on a seeded sample of the training
split's positions, and each window becomes the counts of its positions' nearest code words
(as bag-of-visual-words features in image retrieval), so a local pattern counts wherever in
the window it lies; a linear model on the flattened code ties each feature to one position.
A dense code is used as it is. Features are standardised with the training split's mean and
deviation; per task, L2 logistic regression is fitted on the training split's embeddings for
each C of the grid, C is chosen on the validation split's AUROC (as the k-mer baseline,
deepcis.baseline), and the test split is predicted once. The untrained reference goes
through the same steps with its own code words.
"""

from __future__ import annotations

import json
import logging

import numpy as np
import pandas as pd

from .dataset import XReader, dataset_tasks, decode_strings, open_dataset
from .errors import InputError
from .io_utils import atomic_path, fsync_file

log = logging.getLogger("deepcis.embeddings")

PROBE_CS = (0.001, 0.01, 0.1, 1.0)
PROBE_MAX_ROWS = 100_000  # per split, a seeded subset beyond (as the k-mer baseline's max_train_rows)
CODEBOOK_SIZE = 256


def write_embeddings(model_path, dataset_path, out_path, batch_size: int = 256, block_rows: int = 4096) -> dict:
    """Embed every window of a split with a trained autoencoder (streamed in blocks)."""
    import h5py

    from . import __version__
    from .autoencoder import encoder
    from .io_utils import sha256_file
    from .keras_objects import load_model
    from .predict import dataset_provenance

    model = load_model(model_path)
    enc = encoder(model)
    code = [int(d) for d in enc.outputs[0].shape[1:]]
    width = int(np.prod(code))
    f = open_dataset(dataset_path)
    try:
        length = int(f.attrs["window_length"])
        if int(model.inputs[0].shape[1]) != length:
            raise InputError(dataset_path, f"window length {length} differs from the autoencoder's "
                                           f"{int(model.inputs[0].shape[1])} bp ({model_path})")  # fmt: skip
        n, tasks = XReader(f).shape[0], dataset_tasks(f)
        attrs = dataset_provenance(f, dataset_path) | {
            "model": str(model_path), "model_sha256": sha256_file(model_path), "code_shape": json.dumps(code),
            "deepcis_version": __version__, "n_windows": int(n),
        }  # fmt: skip
        with atomic_path(out_path) as tmp:
            with h5py.File(tmp, "w", locking=False) as out:
                out.create_dataset("embedding", shape=(n, width), dtype=np.float32)
                out.create_dataset("y", data=f["y"][()].astype(np.float32))
                out.create_dataset("chrom", data=f["chrom"][()], dtype=h5py.string_dtype("utf-8"))
                out.create_dataset("start", data=f["start"][()])
                out.create_dataset("end", data=f["end"][()])
                out.create_dataset("tasks", data=np.array(tasks, dtype=object), dtype=h5py.string_dtype("utf-8"))
                out.attrs.update(attrs)
                for lo in range(0, n, block_rows):
                    x = XReader(f)[lo : lo + block_rows].astype(np.float32)
                    z = [np.asarray(enc.predict_on_batch(x[i : i + batch_size])) for i in range(0, len(x), batch_size)]
                    out["embedding"][lo : lo + len(x)] = np.concatenate(z).reshape(len(x), width)
            fsync_file(tmp)
    finally:
        f.close()
    return {"windows": int(n), "code_shape": code}


def read_embeddings(path, max_rows: int | None = None, seed: int = 0) -> dict:
    """{embedding, y, tasks, chrom, start, end, code_shape, attrs} of an embeddings file; with
    `max_rows`, a seeded random subset of at most that many rows (in file order)."""
    from .dataset import open_h5

    with open_h5(path, "embeddings file", ("embedding", "y", "tasks", "chrom", "start", "end")) as f:
        attrs = {k: (v.item() if isinstance(v, np.generic) else v) for k, v in f.attrs.items()}
        n = f["embedding"].shape[0]
        rows = slice(None)
        if max_rows is not None and n > max_rows:
            rows = np.sort(np.random.default_rng(seed).choice(n, int(max_rows), replace=False))
        out = {
            "embedding": f["embedding"][rows], "y": f["y"][rows], "tasks": dataset_tasks(f),
            "chrom": np.array(decode_strings(f["chrom"][rows]), dtype=object),
            "start": f["start"][rows], "end": f["end"][rows], "attrs": attrs,
            "rows": np.arange(n)[rows],
        }  # fmt: skip
    out["code_shape"] = json.loads(attrs.get("code_shape", "[]")) or [out["embedding"].shape[1]]
    return out


def fit_codebook(z: np.ndarray, code_shape, k: int = CODEBOOK_SIZE, seed: int = 0, sample: int = 100_000) -> dict:
    """Code words of a positional code: k-means (k centres) of standardised code vectors (one per
    window position) from a seeded sample of at most `sample` of them. None for a dense code."""
    from sklearn.cluster import MiniBatchKMeans

    if len(code_shape) < 2:
        return None
    vectors = np.asarray(z, np.float32).reshape(-1, int(code_shape[-1]))
    rng = np.random.default_rng(seed)
    if len(vectors) > sample:
        vectors = vectors[np.sort(rng.choice(len(vectors), sample, replace=False))]
    mean, scale = vectors.mean(axis=0), vectors.std(axis=0)
    scale[~(scale > 1e-12)] = 1.0
    k = min(int(k), len(vectors))
    kmeans = MiniBatchKMeans(n_clusters=k, random_state=seed, n_init=3).fit((vectors - mean) / scale)
    return {"mean": mean, "scale": scale, "centres": kmeans.cluster_centers_.astype(np.float32)}


def probe_features(z: np.ndarray, code_shape, codebook: dict | None, block: int = 256) -> np.ndarray:
    """The probe's features of flattened codes z (N, D): for a positional code, the counts of
    each code word (`fit_codebook`) among the window's positions (nearest centre); a dense
    code as it is."""
    z = np.asarray(z, np.float32)
    if codebook is None or len(code_shape) < 2:
        return z
    centres = codebook["centres"]
    squared = (centres**2).sum(axis=1)
    out = np.zeros((len(z), len(centres)), np.float32)
    for lo in range(0, len(z), block):
        vectors = (z[lo : lo + block].reshape(-1, int(code_shape[-1])) - codebook["mean"]) / codebook["scale"]
        nearest = np.argmin(squared[None, :] - 2 * vectors @ centres.T, axis=1).reshape(-1, int(code_shape[0]))
        for i, row in enumerate(nearest):
            out[lo + i] = np.bincount(row, minlength=len(centres))
    return out


def projection(z: np.ndarray, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(2-D PCA coordinates (N, 2), explained variance ratios (2,)) of standardised embeddings."""
    from sklearn.decomposition import PCA

    z = np.asarray(z, np.float64)
    scale = z.std(axis=0)
    scale[scale < 1e-12] = 1.0
    pca = PCA(n_components=2, random_state=seed)
    coords = pca.fit_transform((z - z.mean(axis=0)) / scale)
    return coords, pca.explained_variance_ratio_


def projection_figure(embeddings_path, out_png, tasks: list[str] | None = None, title: str = "", seed: int = 0):
    """PCA of a split's embeddings, one panel per task: windows labelled positive drawn over
    the others."""
    from .figures import plt, save_png

    data = read_embeddings(embeddings_path)
    tasks = [t for t in (tasks or data["tasks"]) if t in data["tasks"]]
    coords, ratio = projection(data["embedding"], seed)
    n = max(1, len(tasks))
    cols = min(n, 3)
    rows = -(-n // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(3.4 * cols, 3.1 * rows), squeeze=False)
    for ax, task in zip(axes.flat, tasks):
        y = data["y"][:, data["tasks"].index(task)]
        neg, pos = y == 0, y == 1
        ax.scatter(coords[neg, 0], coords[neg, 1], s=3, c="#b8c0c8", alpha=0.5, lw=0, label=f"negative ({neg.sum()})")
        ax.scatter(coords[pos, 0], coords[pos, 1], s=4, c="#c44e52", alpha=0.7, lw=0, label=f"positive ({pos.sum()})")
        ax.set_title(task, fontsize=9)
        ax.set_xlabel(f"PC1 ({ratio[0]:.0%})", fontsize=8)
        ax.set_ylabel(f"PC2 ({ratio[1]:.0%})", fontsize=8)
        ax.tick_params(labelsize=7)
        ax.legend(frameon=False, fontsize=6, markerscale=3)
    for ax in list(axes.flat)[len(tasks) :]:
        ax.axis("off")
    fig.suptitle(title or f"Embeddings of the {data['attrs'].get('split', '')} split, PCA", fontsize=10)
    save_png(fig, out_png)


# --------------------------------------------------------------------------------------
# The linear probe
# --------------------------------------------------------------------------------------


def _standardise(train: np.ndarray, *others: np.ndarray):
    mean = train.mean(axis=0)
    scale = train.std(axis=0)
    scale[~(scale > 1e-12)] = 1.0
    return [(a - mean) / scale for a in (train, *others)]


def fit_probe(features: dict, labels: dict, tasks: list[str], seed: int = 0, Cs=PROBE_CS) -> dict:
    """Per task, logistic regression on the training features, C chosen on validation AUROC.

    `features` and `labels` map "train", "valid", "test" to (N, F) and (N, T) arrays (labels
    NaN = missing). Returns {"test": (N_test, T) probabilities, "valid": ..., "C": [...],
    "valid_auroc": [...], "notes": [...]}."""
    from .baseline import _fit_one

    train, valid, test = _standardise(features["train"], features["valid"], features["test"])
    out = {"valid": np.zeros((len(valid), len(tasks)), np.float32), "test": np.zeros((len(test), len(tasks)), np.float32),
           "C": [], "valid_auroc": [], "notes": []}  # fmt: skip
    for t in range(len(tasks)):
        y_train, y_valid = labels["train"][:, t], labels["valid"][:, t]
        seen, v_seen = ~np.isnan(y_train), ~np.isnan(y_valid)
        y = y_train[seen]
        if len(y) == 0 or y.min() == y.max():
            rate = float(y.mean()) if len(y) else 0.5
            out["valid"][:, t] = out["test"][:, t] = rate
            out["C"].append(np.nan)
            out["valid_auroc"].append(np.nan)
            out["notes"].append(f"training labels have one class or none: constant {rate:g}")
            continue
        coef, intercept, C, auc, note = _fit_one(train[seen], y.astype(int), valid[v_seen], y_valid[v_seen].astype(int),
                                                 Cs, seed, "lbfgs", None, 1000)  # fmt: skip
        for split, x in (("valid", valid), ("test", test)):
            logits = x @ coef + intercept
            out[split][:, t] = 0.5 * (1.0 + np.tanh(0.5 * logits))
        out["C"].append(C)
        out["valid_auroc"].append(auc)
        out["notes"].append(note)
    return out


def write_probe_predictions(path, embeddings: dict, y_pred: np.ndarray, tasks: list[str], attrs: dict):
    """A predictions file (deepcis.predict's format) of the probe on one split."""
    from .predict import create_predictions, write_prediction_rows

    columns = [embeddings["tasks"].index(t) for t in tasks]
    base = {k: embeddings["attrs"][k] for k in ("split", "genome_sha256", "config_sha256", "window_length")
            if k in embeddings["attrs"]}  # fmt: skip
    with create_predictions(path, len(y_pred), tasks, base | attrs) as out:
        write_prediction_rows(out, 0, embeddings["chrom"], embeddings["start"], embeddings["end"],
                              embeddings["y"][:, columns], y_pred)  # fmt: skip


def probe_table(tasks: list[str], y_test: np.ndarray, trained: np.ndarray, untrained: np.ndarray,
                kmer: pd.DataFrame | None = None) -> pd.DataFrame:  # fmt: skip
    """Per task: test AUROC and AUPRC of the probe on the trained and on the untrained encoder's
    embeddings, the k-mer baseline's test AUROC, and which embedding won."""
    from .metrics import task_metrics

    a = task_metrics(y_test, trained, tasks).set_index("task")
    b = task_metrics(y_test, untrained, tasks).set_index("task")
    table = pd.DataFrame({"task": tasks, "auroc_trained": a.loc[tasks, "auroc"].to_numpy(),
                          "auroc_untrained": b.loc[tasks, "auroc"].to_numpy(),
                          "auprc_trained": a.loc[tasks, "auprc"].to_numpy(),
                          "auprc_untrained": b.loc[tasks, "auprc"].to_numpy()})  # fmt: skip
    if kmer is not None:
        table["auroc_kmer_baseline"] = kmer.set_index("task")["auroc"].reindex(tasks).to_numpy()
    table["trained_better"] = table["auroc_trained"] > table["auroc_untrained"]
    return table


def untrained_embeddings(hp: dict, window_length: int, seed: int, datasets: dict, rows: dict | None = None,
                         batch_size: int = 256, block_rows: int = 4096) -> dict:  # fmt: skip
    """Flattened codes of each split's windows (`rows[split]`: those rows only, sorted) under the
    autoencoder's architecture with random initial weights (seeded): the untrained reference
    of the probe. Read `block_rows` windows at a time."""
    import keras

    from .autoencoder import build_autoencoder, embed

    keras.utils.set_random_seed(int(seed))
    model = build_autoencoder(window_length, hp)
    out = {}
    for split, path in datasets.items():
        with open_dataset(path) as f:
            n = XReader(f).shape[0]
            wanted = np.arange(n) if rows is None or rows.get(split) is None else np.asarray(rows[split])
            parts = []
            for lo in range(0, n, block_rows):
                a, b = np.searchsorted(wanted, [lo, lo + block_rows])
                if a < b:
                    parts.append(embed(model, XReader(f)[lo : lo + block_rows][wanted[a:b] - lo], batch_size))
            out[split] = np.concatenate(parts) if parts else np.zeros((0, 0), np.float32)
    return out


def write_table(table: pd.DataFrame, path):
    """A table as TSV (NA for missing values), written atomically."""
    with atomic_path(path) as tmp:
        table.to_csv(tmp, sep="\t", index=False, float_format="%.6g", na_rep="NA")
