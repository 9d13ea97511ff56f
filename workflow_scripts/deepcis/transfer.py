"""Transfer learning: start a model from a trained model folder, keep its body, put a new
output head on it for the new task set, freeze part of the body, fine-tune.

    model, frozen = transfer_model(source, tasks=["FOXA1"], window_length=600, freeze="convolutions")

The body is everything of the source up to the input of its output layer (`output`, the one
`deepcis.keras_objects.output_head` makes); the new head is a fresh `output_head` with one
unit per new task, followed by the `TaskMetadata` layer. `freeze`:

- "none": every layer trains;
- "convolutions": the Conv1D layers keep their weights (the learnt motif detectors);
- "body": only the new head trains (a linear probe on the source's features);
- an integer k: the first k layers that carry weights keep them.

An optional second stage (`unfreeze`) makes every layer trainable again and continues with
a lower learning rate (training.train_model runs both stages; docs/transfer.md).

The source's window length must equal the data's (a convolutional body could be applied to
another length, but the dense layers after it could not, and the learnt features belong to
that context): a mismatch is refused with a message naming both. The source's tasks are
compared with the target tasks: targets the source was trained on are named in the model's
`model.json` (`transfer.target_tasks_seen_by_source`), since a comparison with a model
trained from scratch is then not a transfer to an unseen task.

Figures and tables of the fine-tuned vs from-scratch comparison need no TensorFlow.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np
import pandas as pd

from .errors import ConfigError, InputError

log = logging.getLogger(__name__)

FREEZE_WORDS = ("none", "convolutions", "body")
HEAD_LAYERS = ("output", "output_activation", "task_metadata")


def check_freeze(freeze) -> None:
    """ConfigError unless `freeze` is none, convolutions, body or a number of layers >= 0."""
    if isinstance(freeze, bool) or not (freeze in FREEZE_WORDS or (isinstance(freeze, int) and freeze >= 0)):
        raise ConfigError(f"transfer.freeze: {freeze!r} is not one of {FREEZE_WORDS} or a number of layers >= 0")


def source_model_file(source) -> Path:
    """A model folder (with model.keras) or a .keras file -> the .keras file (must exist)."""
    path = Path(source)
    file = path / "model.keras" if path.suffix != ".keras" else path
    if not file.is_file():
        raise InputError(file, "source model not found (transfer.source names a model of this config or a model folder "
                               "with model.keras)")  # fmt: skip
    return file


def read_source_info(source) -> dict | None:
    """The source's model.json (tasks, window_length, architecture, ...) if it has one; no TensorFlow."""
    path = Path(source)
    info = (path.parent if path.suffix == ".keras" else path) / "model.json"
    if not info.is_file():
        return None
    try:
        return json.loads(info.read_text())
    except json.JSONDecodeError as error:
        raise InputError(info, f"not valid JSON: {error}") from None


def check_source(source_file, source_tasks: list[str], source_window: int, data_path, data_tasks: list[str],
                 data_window: int, target_tasks: list[str]) -> dict:  # fmt: skip
    """Refuse a source whose window length is not the data's; describe the task overlap."""
    if int(source_window) != int(data_window):
        raise InputError(
            data_path,
            f"window length {int(data_window)} differs from the window length {int(source_window)} of the source model "
            f"{source_file}: a model transfers only to windows of its own length (set prepare.window_length: "
            f"{int(source_window)}, or train this model from scratch)",
        )
    missing = [t for t in target_tasks if t not in data_tasks]
    if missing:
        raise InputError(data_path, f"has no task(s) {missing} to fine-tune on (its tasks: {data_tasks})")
    seen = [t for t in target_tasks if t in source_tasks]
    if seen:
        log.warning("target task(s) %s were tasks of the source model %s as well: this fine-tunes on tasks it has "
                    "seen, not a transfer to new ones", seen, source_file)  # fmt: skip
    return {"source_tasks": list(source_tasks), "source_window_length": int(source_window),
            "target_tasks": list(target_tasks), "target_tasks_seen_by_source": seen,
            "new_tasks": [t for t in target_tasks if t not in source_tasks]}  # fmt: skip


def _has_weights(layer) -> bool:
    return bool(layer.weights)


def body_layers(model) -> list:
    """The layers of a deepcis model before its output head, in order, that carry weights."""
    return [layer for layer in model.layers if layer.name not in HEAD_LAYERS and _has_weights(layer)]


def freeze_layers(model, freeze) -> list[str]:
    """Set `trainable = False` on the layers `freeze` names; returns their names."""
    import keras

    check_freeze(freeze)
    body = body_layers(model)
    if freeze == "none":
        chosen = []
    elif freeze == "convolutions":
        chosen = [layer for layer in body if isinstance(layer, keras.layers.Conv1D)]
    elif freeze == "body":
        chosen = body
    else:
        if freeze > len(body):
            raise ConfigError(f"transfer.freeze: {freeze} layers, but the source body has only {len(body)} layers with "
                              f"weights ({', '.join(layer.name for layer in body)})")  # fmt: skip
        chosen = body[:freeze]
    for layer in chosen:
        layer.trainable = False
    return [layer.name for layer in chosen]


def unfreeze_all(model) -> None:
    """Make every layer of `model` trainable (the second transfer stage)."""
    for layer in model.layers:
        layer.trainable = True


def transfer_model(source, tasks: list[str], window_length: int, head: str = "sigmoid", freeze="none"):
    """(new model with the source's body and a fresh head for `tasks`, names of frozen layers).

    `source` is a loaded deepcis Keras model (with its TaskMetadata layer). The body's layers
    are the source's objects: its weights are the starting point, not a copy.
    """
    import keras

    from .keras_objects import model_metadata, output_head, with_metadata

    meta = model_metadata(source)
    if int(meta["window_length"]) != int(window_length):
        raise InputError(source.name, f"window length {meta['window_length']} differs from {window_length}")
    try:
        features = source.get_layer("output").input
    except ValueError:
        raise InputError(source.name, "the source model has no layer named 'output' (not a deepcis model?)") from None
    outputs = output_head(features, len(tasks), head, name="output")
    model = keras.Model(source.inputs, outputs, name=f"{source.name}_transfer")
    model = with_metadata(model, tasks, window_length)
    frozen = freeze_layers(model, freeze)
    return model, frozen


# --------------------------------------------------------------------------------------
# Fine-tuned vs from scratch: table and learning curves (no TensorFlow)
# --------------------------------------------------------------------------------------

COMPARISON_COLUMNS = ["role", "model", "task", "train_rows", "train_positives", "epochs_run", "best_epoch",
                      "best_val_loss", "train_seconds", "auroc", "auprc", "pearson", "spearman"]  # fmt: skip


def comparison_table(models: dict[str, dict]) -> pd.DataFrame:
    """One row per (model, task). `models`: {role: {"name", "info" (model.json), "metrics" (DataFrame)}}."""
    rows = []
    for role, m in models.items():
        info, metrics = m["info"], m["metrics"].set_index("task")
        positives = info.get("positives_per_task", {})
        signal = {s["task"] for s in info.get("task_specs") or [] if s.get("type") == "signal"}
        for task in info["tasks"]:
            row = {"role": role, "model": m["name"], "task": task, "train_rows": info["batches"]["train_rows"],
                   "train_positives": None if task in signal else positives.get(task), "epochs_run": info["epochs_run"],
                   "best_epoch": info["best_epoch"], "best_val_loss": info["best_val_loss"],
                   "train_seconds": info["train_seconds"]}  # fmt: skip
            for col in ("auroc", "auprc", "pearson", "spearman"):
                row[col] = metrics.loc[task, col] if task in metrics.index else np.nan
            rows.append(row)
    return pd.DataFrame(rows, columns=COMPARISON_COLUMNS)


def learning_curves_figure(histories: dict[str, pd.DataFrame], table: pd.DataFrame, path, title: str = ""):
    """Learning curves side by side (one panel per model, shared loss axis; the second stage of a
    fine-tuned model shaded), and a panel of the test AUROC / AUPRC (or Pearson) per task."""
    import matplotlib.ticker

    from .figures import plt, save_png

    roles = list(histories)
    fig, axes = plt.subplots(1, len(roles) + 1, figsize=(4.2 * (len(roles) + 1), 3.8))
    lo = min(float(h[["loss", "val_loss"]].min().min()) for h in histories.values())
    hi = max(float(h[["loss", "val_loss"]].max().max()) for h in histories.values())
    pad = 0.05 * (hi - lo or 1.0)
    last = max(int(h["epoch"].max()) for h in histories.values())
    for ax, role in zip(axes, roles):
        h = histories[role]
        name = table.loc[table["role"] == role, "model"].iloc[0] if (table["role"] == role).any() else role
        ax.plot(h["epoch"], h["loss"], "o-", ms=3, color="#4c72b0", label="training loss")
        ax.plot(h["epoch"], h["val_loss"], "o-", ms=3, color="#dd8452", label="validation loss")
        if "stage" in h.columns and (h["stage"] == 2).any():
            first = h.loc[h["stage"] == 2, "epoch"].min()
            ax.axvspan(first - 0.5, h["epoch"].max() + 0.5, color="#dddddd", alpha=0.6, lw=0, label="stage 2: unfrozen")
        best = h.loc[h["val_loss"].idxmin()]
        ax.axvline(best["epoch"], color="#8c8c8c", ls="--", lw=1)
        ax.set_ylim(lo - pad, hi + pad)
        ax.set_xlim(0.5, last + 0.5)
        ax.xaxis.set_major_locator(matplotlib.ticker.MaxNLocator(integer=True))
        ax.set_xlabel("epoch")
        ax.set_ylabel("loss")
        ax.set_title(f"{role}: {name}", fontsize=10)
        ax.legend(frameon=False, fontsize=7)
    ax = axes[-1]
    tasks = list(dict.fromkeys(table["task"]))
    metrics = [c for c in ("auroc", "auprc", "pearson") if table[c].notna().any()] or ["auroc"]
    width = 0.8 / max(1, len(roles) * len(metrics))
    x = np.arange(len(tasks))
    colours = ["#c44e52", "#8172b2", "#55a868", "#937860", "#64b5cd", "#ccb974"]
    k = 0
    for role in roles:
        sub = table[table["role"] == role].set_index("task")
        for metric in metrics:
            values = [sub.loc[t, metric] if t in sub.index else np.nan for t in tasks]
            ax.bar(x - 0.4 + width * (k + 0.5), values, width, color=colours[k % len(colours)], label=f"{role} {metric.upper()}")
            k += 1
    ax.set_xticks(x, tasks)
    ax.set_ylim(0, 1)
    ax.set_title("test split", fontsize=10)
    ax.legend(frameon=False, fontsize=7)
    fig.suptitle(title, fontsize=11)
    save_png(fig, path)
