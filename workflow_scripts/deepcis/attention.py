"""Attention maps of a transformer model (deepcis.models' `transformer`): the softmax attention
weights of every head of every block for chosen windows, saved and drawn.

    scores = attention_scores(model, x)        # (N, blocks, heads, P, P): query x key weights
    attention_maps(model_path, genome_path, windows, "attention.h5", "attention.png")

The weights are recomputed from the block's own layers: the input of block b's attention is
the output of its first layer norm (`block{b}_ln1`), and `block{b}_attention` is called on it
with `return_attention_scores=True` (inference mode: no attention dropout). Attention position
j covers window bases [j * s, (j + 1) * s) with s the stem's total pooling (its receptive
field is wider: the stem convolutions reach further).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .errors import InputError
from .io_utils import atomic_path, fsync_file


def attention_layers(model) -> list[tuple[str, str]]:
    """(layer norm, attention) layer names of each transformer block, in order."""
    names = [layer.name for layer in model.layers]
    blocks = []
    b = 1
    while f"block{b}_attention" in names:
        blocks.append((f"block{b}_ln1", f"block{b}_attention"))
        b += 1
    if not blocks:
        raise InputError(model.name, "has no transformer blocks (layers block1_attention, ...): not a transformer")
    return blocks


def resolution(model) -> int:
    """Bases per attention position: the product of the stem's pooling strides."""
    step = 1
    first = attention_layers(model)[0][0]
    for layer in model.layers:
        if layer.name == first:
            break
        if type(layer).__name__ in ("MaxPooling1D", "AveragePooling1D"):
            step *= int(layer.strides[0] if isinstance(layer.strides, (tuple, list)) else layer.strides)
    return step


def attention_scores(model, x: np.ndarray, batch_size: int = 64) -> np.ndarray:
    """Attention weights (N, blocks, heads, P, P) of windows x (N, L, 4); rows (queries) sum to 1."""
    import keras

    blocks = attention_layers(model)
    inputs = keras.Model(model.inputs, [model.get_layer(ln).output for ln, _ in blocks])
    out = []
    for lo in range(0, len(x), batch_size):
        normed = inputs.predict_on_batch(np.asarray(x[lo : lo + batch_size], np.float32))
        normed = normed if isinstance(normed, (list, tuple)) else [normed]
        per_block = []
        for (_, name), h in zip(blocks, normed):
            _, scores = model.get_layer(name)(h, h, return_attention_scores=True, training=False)
            per_block.append(np.asarray(scores, np.float32))
        out.append(np.stack(per_block, axis=1))
    return np.concatenate(out)


def attention_maps(model_path, genome_path, windows: pd.DataFrame, out_h5, out_png, plot_windows: int = 5) -> dict:
    """Attention weights of the windows (chrom, start, end, task) saved (HDF5) and drawn (mean
    over heads, one row per window, one panel per block)."""
    import h5py

    from .interpret import windows_x
    from .keras_objects import load_model, model_metadata

    model = load_model(model_path)
    length = int(model_metadata(model)["window_length"])
    x = windows_x(genome_path, windows, length, model_path)  # a genome, or the test split of a sequence table
    scores = attention_scores(model, x)
    step = resolution(model)
    with atomic_path(out_h5) as tmp:
        with h5py.File(tmp, "w", locking=False) as f:
            f.create_dataset("attention", data=scores)
            f.create_dataset("chrom", data=np.array(windows["chrom"], dtype=object), dtype=h5py.string_dtype("utf-8"))
            f.create_dataset("start", data=windows["start"].to_numpy(np.int64))
            f.create_dataset("end", data=windows["end"].to_numpy(np.int64))
            f.create_dataset("task", data=np.array(windows["task"], dtype=object), dtype=h5py.string_dtype("utf-8"))
            f.attrs.update({"model": str(model_path), "bases_per_position": step,
                            "definition": "attention[w, block, head, query, key]: softmax weight of key position for "
                                          "query position (rows sum to 1)"})  # fmt: skip
        fsync_file(tmp)
    _figure(scores[:plot_windows], windows.iloc[:plot_windows], step, out_png)
    return {"windows": len(windows), "blocks": scores.shape[1], "heads": scores.shape[2], "positions": scores.shape[3]}


def _figure(scores: np.ndarray, windows: pd.DataFrame, step: int, path):
    from .figures import plt, save_png

    n, blocks, _, positions, _ = scores.shape
    fig, axes = plt.subplots(max(1, n), blocks, figsize=(2.9 * blocks + 0.6, 2.6 * max(1, n)), squeeze=False)
    ticks = np.arange(positions)
    labels = [f"{j * step}" for j in ticks]
    every = max(1, positions // 6)
    for i in range(n):
        r = windows.iloc[i]
        for b in range(blocks):
            ax = axes[i, b]
            image = ax.imshow(scores[i, b].mean(axis=0), cmap="viridis", vmin=0, aspect="equal")
            ax.set_xticks(ticks[::every], labels[::every], fontsize=6)
            ax.set_yticks(ticks[::every], labels[::every], fontsize=6)
            ax.set_xlabel("key (bp from window start)", fontsize=7)
            if b == 0:
                ax.set_ylabel(f"{r['task']} {r['chrom']}:{r['start']}\nquery (bp)", fontsize=7)
            ax.set_title(f"block {b + 1}, mean of heads", fontsize=8)
            fig.colorbar(image, ax=ax, fraction=0.046, pad=0.04).ax.tick_params(labelsize=6)
    save_png(fig, path)
