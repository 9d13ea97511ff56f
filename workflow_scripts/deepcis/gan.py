"""A Wasserstein GAN with gradient penalty (WGAN-GP) that generates DNA (Killoran et al. 2017).

    info = train_gan(train_h5, valid_h5, out_dir, "gan", hp, training, seed=42)
    x = sample(load_model(out_dir / "generator.keras"), n=1000, seed=1)   # (n, length, 4) one-hot

Generator: a latent vector (`latent_dim`, standard normal) -> dense -> `n_blocks` blocks of
(upsample x2, conv, ReLU) -> 1x1 conv -> per-position softmax over A, C, G, T: a soft one-hot
(length, 4), as in Killoran et al. (whose generator is a residual conv stack at full length).
Critic: `n_blocks` blocks of (conv, leaky ReLU, average-pool x2) -> flatten -> one linear
unit, no batch norm (the gradient penalty is per sample). Training (Gulrajani et al. 2017):
`critic_steps` critic updates per generator update, loss E[D(fake)] - E[D(real)] +
`gradient_penalty` x E[(|grad D(mix)| - 1)^2] on random interpolates of real and fake
windows; Adam (learning rate `train.learning_rate`, beta1 0.5, beta2 0.9). `network: resnet`
replaces both networks by Killoran et al.'s: residual blocks (ReLU, conv, ReLU, conv, x 0.3,
added) at full length, after a dense layer (generator) or a 1x1 conv (critic).

Real windows are the training split's, cropped to their central `length` bases (0 = the whole
window); windows with an N are left out (an all-zero row is not a soft one-hot). One epoch
is one pass of the critic over them. Samples are the argmax of the soft one-hot per position;
with `output: gumbel` the critic sees a one-hot drawn from the softmax instead (straight-through
Gumbel-max: the gradient is the softmax's), and samples are drawn the same way.
The critic can also score the maximum of its features over positions (`critic_max`) and read
the sequence through a trained scorer's first filters, frozen (`scorer_filters`); with `ema`
the generator saved is a moving average of its weights.
No resume: a killed job starts again and, seeded, ends with the same generator.
"""

from __future__ import annotations

import logging
import math
import time
from pathlib import Path

import numpy as np

from .models import Param, register

log = logging.getLogger("deepcis.gan")

MAX_REAL_ROWS = 200_000  # real windows read per split at most (a seeded subset): bounded memory

GAN_PARAMS = {
    "length": Param(0, "int", "bases generated: the central `length` bases of each window (0 = the whole window)",
                    minimum=0),
    "latent_dim": Param(64, "int", "size of the generator's standard-normal input"),
    "filters": Param(64, "int", "conv filters of the generator's and the critic's blocks"),
    "n_blocks": Param(3, "int", "upsampling blocks of the generator (x2 each) and pooling blocks of the critic; "
                      "residual blocks of each with `network` resnet"),
    "kernel_size": Param(5, "int", "conv kernel width ('same' padding)"),
    "critic_steps": Param(5, "int", "critic updates per generator update"),
    "gradient_penalty": Param(10.0, "float", "weight of the gradient penalty"),
    "output": Param("soft", "choice", "what the critic sees of a generated sequence, and how samples are drawn: "
                    "soft (the softmax itself; samples are its argmax) or gumbel (a one-hot drawn from the "
                    "softmax, straight-through gradients; samples are drawn the same way)",
                    choices=("soft", "gumbel")),
    "network": Param("upsample", "choice", "generator and critic: upsample (the generator upsamples x2 per block, "
                     "the critic average-pools x2 per block) or resnet (Killoran et al.'s: residual blocks of "
                     "ReLU, conv, ReLU, conv, scaled by 0.3 and added, at full length in both)",
                     choices=("upsample", "resnet")),
    "condition": Param("none", "choice", "none, or labels: the generator and the critic are given each window's "
                       "binary task labels (a conditional WGAN-GP with a projection critic); samples are drawn "
                       "with label rows of the training split, or with chosen labels for design",
                       choices=("none", "labels")),
    "guidance": Param(0.0, "float", "activity guidance: weight of a trained supervised model's (the `scorer`'s) "
                      "binary cross-entropy between its predictions of the generated sequences and their "
                      "labels, added to the generator's loss (condition: labels; 0 = off)"),
    "critic_max": Param(False, "bool", "add to the critic's score a linear unit on its features' maximum over "
                        "positions (does the window hold a motif anywhere), beside the flattened features' unit"),
    "ema": Param(0.0, "rate", "decay of an exponential moving average of the generator's weights, updated after "
                 "every generator step; the average is the generator saved and sampled (Yazici et al. 2019; "
                 "0 = off, the last weights)"),
    "scorer_filters": Param(False, "bool", "the critic also reads each sequence through the scorer's first "
                            "convolution (frozen: a trained model's motif detectors): their ReLU's maximum "
                            "over positions, through one linear unit, joins its score (needs generative.scorer)"),
}  # fmt: skip


def gan_length(window_length: int, hp: dict) -> int:
    """Bases per generated sequence."""
    return int(hp["length"]) or int(window_length)


def _check(hp, window_length, _length_left):
    length = gan_length(window_length, hp)
    if length > window_length:
        return f"hyperparameter 'length'={hp['length']} is longer than the window ({window_length} bp)"
    if hp["network"] == "upsample" and length < 2 ** hp["n_blocks"]:
        return (f"hyperparameter 'n_blocks'={hp['n_blocks']} halves the sequence {hp['n_blocks']} times, more than "
                f"its {length} bases allow")  # fmt: skip
    return None


@register(
    "gan",
    params=GAN_PARAMS,
    check=_check,
    family="generative",
    citation="Killoran N, Lee LJ, Delong A, Duvenaud D, Frey BJ (2017). Generating and designing DNA with deep "
             "generative models. arXiv:1712.06148 (NeurIPS workshop); WGAN-GP: Gulrajani I, Ahmed F, Arjovsky M, "
             "Dumoulin V, Courville A (2017). Improved training of Wasserstein GANs. NeurIPS 30.",
    description="WGAN-GP: upsampling conv generator with a per-position softmax (soft one-hot), conv critic "
                "with average pooling, gradient penalty.",
    defaults_note="deepcis defaults sized for CPU training (Killoran et al.: 5 residual blocks at full length, "
                  "latent 100).",
)
def build_gan(window_length: int, hp: dict, n_labels: int = 0, scorer_conv: list | None = None):
    """(generator, critic) Keras models; generator: latent -> (length, 4) soft one-hot. With
    `condition: labels` both also take a window's `n_labels` task labels (second input). With
    `scorer_conv` (`scorer_filters`: the weights of a scorer's first convolution, kernel and
    bias if any) the critic reads the sequence through those filters, frozen, too."""
    length = gan_length(window_length, hp)
    conditional = hp.get("condition", "none") == "labels"
    if conditional and n_labels < 1:
        raise ValueError("condition: labels needs at least one binary task")
    inputs, z = _generator_input(hp, n_labels if conditional else 0)
    build = _build_resnet_gan if hp["network"] == "resnet" else _build_upsample_gan
    out, seq, features = build(z, length, hp)
    generator = _model(inputs, out, "generator")
    critic = _critic(seq, features, n_labels if conditional else 0, bool(hp.get("critic_max", False)), scorer_conv)
    return generator, critic


def _model(inputs, outputs, name):
    import keras

    return keras.Model(inputs if len(inputs) > 1 else inputs[0], outputs, name=name)


def _generator_input(hp: dict, n_labels: int):
    """The generator's inputs and what its dense layer reads: the latent vector, with the labels
    appended when conditional (Mirza & Osindero 2014)."""
    import keras
    from keras import layers

    latent = keras.Input(shape=(hp["latent_dim"],), name="latent")
    if not n_labels:
        return [latent], latent
    labels = keras.Input(shape=(n_labels,), name="labels")
    return [latent, labels], layers.Concatenate(name="gen_condition")([latent, labels])


def _critic(seq, features, n_labels: int, with_max: bool = False, scorer_conv: list | None = None):
    """The critic's score: a linear unit on the flattened features; with `with_max`, plus a
    linear unit on the features' maximum over positions (a planted site counts wherever it
    lies, where the flattened unit weighs each position apart); when conditional, plus the
    projection of the labels onto that maximum (Miyato & Koyama 2018: the score rises when what
    the sequence holds agrees with its labels, wherever it lies). With `scorer_conv`, plus a
    linear unit on the maximum over positions of a trained model's first-layer filters (frozen,
    ReLU): motif detectors the critic does not have to learn first; when conditional, the
    labels are projected onto those maxima as well (does the window hold the motifs its labels
    say)."""
    import keras
    from keras import layers

    score = layers.Dense(1, dtype="float32", name="critic_score")(layers.Flatten(name="critic_flatten")(features))
    pooled = layers.GlobalMaxPooling1D(name="critic_max")(features) if with_max or n_labels else None
    if with_max:
        anywhere = layers.Dense(1, dtype="float32", name="critic_max_score")(pooled)
        score = layers.Add(dtype="float32", name="critic_sum")([score, anywhere])
    if scorer_conv is not None:
        width, _, n_filters = scorer_conv[0].shape
        conv = layers.Conv1D(n_filters, width, activation="relu", use_bias=len(scorer_conv) > 1, trainable=False,
                             name="critic_scorer_conv")  # fmt: skip
        motifs = layers.GlobalMaxPooling1D(name="critic_scorer_max")(conv(seq))
        conv.set_weights(scorer_conv)
        motif_score = layers.Dense(1, dtype="float32", name="critic_scorer_score")(motifs)
        score = layers.Add(dtype="float32", name="critic_with_scorer")([score, motif_score])
    if not n_labels:
        return keras.Model(seq, score, name="critic")
    labels = keras.Input(shape=(n_labels,), name="labels")
    if scorer_conv is not None:  # the labels are projected onto the trained filters' maxima too
        pooled = layers.Concatenate(name="critic_max_all")([pooled, motifs])
    embedded = layers.Dense(pooled.shape[-1], use_bias=False, name="critic_label_embedding")(labels)
    projection = layers.Dot(axes=1, dtype="float32", name="critic_projection")([pooled, embedded])
    score = layers.Add(dtype="float32", name="critic_conditional_score")([score, projection])
    return keras.Model([seq, labels], score, name="critic")


def _build_upsample_gan(z, length: int, hp: dict):
    """Upsampling generator from `z`; the critic's input and features (before its score)."""
    import keras
    from keras import layers

    scale = 2 ** hp["n_blocks"]
    start = math.ceil(length / scale)
    f, k = hp["filters"], hp["kernel_size"]
    x = layers.Dense(start * f, name="gen_dense")(z)
    x = layers.Reshape((start, f), name="gen_reshape")(x)
    for i in range(hp["n_blocks"]):
        b = i + 1
        x = layers.UpSampling1D(2, name=f"gen_upsample{b}")(x)
        x = layers.Conv1D(f, k, padding="same", name=f"gen_conv{b}")(x)
        x = layers.Activation("relu", name=f"gen_relu{b}")(x)
    x = layers.Conv1D(4, 1, name="gen_bases")(x)
    extra = start * scale - length
    if extra:
        x = layers.Cropping1D((extra // 2, extra - extra // 2), name="gen_crop")(x)
    out = layers.Activation("softmax", dtype="float32", name="soft_one_hot")(x)

    seq = keras.Input(shape=(length, 4), name="sequence")
    y = seq
    for i in range(hp["n_blocks"]):
        b = i + 1
        y = layers.Conv1D(f, k, padding="same", name=f"critic_conv{b}")(y)
        y = layers.LeakyReLU(0.2, name=f"critic_lrelu{b}")(y)
        y = layers.AveragePooling1D(2, padding="same", name=f"critic_pool{b}")(y)
    return out, seq, y


def _residual_block(x, f: int, k: int, name: str):
    """Killoran et al.'s (and Gulrajani et al.'s language model's) residual block: x + 0.3 x
    conv(ReLU(conv(ReLU(x))))."""
    from keras import layers

    y = layers.Activation("relu", name=f"{name}_relu1")(x)
    y = layers.Conv1D(f, k, padding="same", name=f"{name}_conv1")(y)
    y = layers.Activation("relu", name=f"{name}_relu2")(y)
    y = layers.Conv1D(f, k, padding="same", name=f"{name}_conv2")(y)
    y = layers.Rescaling(0.3, name=f"{name}_scale")(y)
    return layers.Add(name=f"{name}_add")([x, y])


def _build_resnet_gan(z, length: int, hp: dict):
    """Killoran et al.'s networks: generator `z` -> dense (length x filters) -> residual
    blocks -> 1x1 conv -> softmax; critic 1x1 conv -> residual blocks (its features; then
    flatten -> linear)."""
    import keras
    from keras import layers

    f, k = hp["filters"], hp["kernel_size"]
    x = layers.Dense(length * f, name="gen_dense")(z)
    x = layers.Reshape((length, f), name="gen_reshape")(x)
    for i in range(hp["n_blocks"]):
        x = _residual_block(x, f, k, f"gen_res{i + 1}")
    x = layers.Conv1D(4, 1, name="gen_bases")(x)
    out = layers.Activation("softmax", dtype="float32", name="soft_one_hot")(x)

    seq = keras.Input(shape=(length, 4), name="sequence")
    y = layers.Conv1D(f, 1, name="critic_in")(seq)
    for i in range(hp["n_blocks"]):
        y = _residual_block(y, f, k, f"critic_res{i + 1}")
    return out, seq, y


def crop_center(x: np.ndarray, length: int) -> np.ndarray:
    """The central `length` positions of windows x (N, L, 4)."""
    start = (x.shape[1] - length) // 2
    return x[:, start : start + length]


def real_windows(path, length: int, max_rows: int | None = MAX_REAL_ROWS, seed: int = 0,
                 block_rows: int = 4096, columns: list[int] | None = None):  # fmt: skip
    """Windows of a split cropped to their central `length` bases, those with an N left out;
    at most `max_rows` (a seeded random subset of the split's rows, in file order), read
    `block_rows` at a time. uint8 (N, length, 4); with label `columns` (label_columns), also
    those labels of the windows (N, len(columns)) float32 0/1 (a missing label is 0)."""
    from .dataset import XReader, open_dataset

    labels = columns is not None
    with open_dataset(path) as f:
        n = XReader(f).shape[0]
        wanted = np.arange(n)
        if max_rows is not None and n > max_rows:
            wanted = np.sort(np.random.default_rng(seed).choice(n, int(max_rows), replace=False))
        parts, label_parts = [], []
        for lo in range(0, n, block_rows):
            a, b = np.searchsorted(wanted, [lo, lo + block_rows])
            if a < b:
                x = crop_center(XReader(f)[lo : lo + block_rows][wanted[a:b] - lo], length)
                keep = x.max(axis=-1).min(axis=-1) > 0
                parts.append(x[keep])
                if labels:
                    y = f["y"][lo : lo + block_rows][wanted[a:b] - lo][keep][:, columns].astype(np.float32)
                    label_parts.append(np.nan_to_num(y, nan=0.0))
        x = np.concatenate(parts) if parts else np.zeros((0, length, 4), np.uint8)
        if not labels:
            return x
    return x, np.concatenate(label_parts) if label_parts else np.zeros((0, len(columns)), np.float32)


def label_columns(path, block_rows: int = 4096) -> tuple[list[str], list[int]]:
    """The tasks a conditional GAN trained on `path` takes as labels, and their label columns:
    the binary ones, every value 0, 1 or missing (a file of binary and signal tasks stores
    float32 labels and no task kinds). Read from the training split and applied to every split,
    so all give the generator the same labels."""
    from .dataset import dataset_tasks, open_dataset

    with open_dataset(path) as f:
        y, tasks = f["y"], dataset_tasks(f)
        if y.dtype == np.uint8:
            return list(tasks), list(range(y.shape[1]))
        binary = np.ones(y.shape[1], bool)
        for lo in range(0, y.shape[0], block_rows):
            block = y[lo : lo + block_rows]
            binary &= (np.isnan(block) | (block == 0) | (block == 1)).all(axis=0)
    columns = [int(i) for i in np.flatnonzero(binary)]
    return [tasks[i] for i in columns], columns


def label_rows(path, length: int, n: int, seed: int) -> np.ndarray:
    """`n` label rows drawn (seeded, with replacement) from a split's windows without N: the
    labels a conditional generator is sampled with, so its samples follow the split's mix of
    bound and unbound windows."""
    _, y = real_windows(path, length, seed=seed, columns=label_columns(path)[1])
    if not len(y):
        raise ValueError(f"{path}: no window without N to draw labels from")
    return y[np.random.default_rng(seed).integers(0, len(y), n)]


def is_conditional(generator) -> bool:
    """Whether a generator takes task labels beside its latent vector (`condition: labels`)."""
    return len(generator.inputs) > 1


def draw_bases(p: np.ndarray, output: str, rng: np.random.Generator) -> np.ndarray:
    """One-hot uint8 sequences from soft one-hots p (n, length, 4): the argmax per position
    (`output` soft) or a base drawn from p per position (gumbel, as in its training)."""
    if output == "soft":
        return np.eye(4, dtype=np.uint8)[p.argmax(axis=-1)]
    u = rng.random(p.shape[:-1] + (1,))
    return np.eye(4, dtype=np.uint8)[np.minimum((np.cumsum(p, axis=-1) < u).sum(axis=-1), 3)]


def sample(generator, n: int, seed: int, batch_size: int = 256, output: str = "soft",
           labels: np.ndarray | None = None) -> np.ndarray:  # fmt: skip
    """Sample `n` sequences from a generator as uint8 one-hot (n, length, 4): the argmax of its
    soft one-hot per position, or with `output` gumbel a base drawn from it (the generator's
    `output` hyperparameter, model.json). A conditional generator needs `labels` (n, T): each
    sample's task labels (label_rows, or chosen ones for design)."""
    rng = np.random.default_rng(seed)
    latent = int(generator.inputs[0].shape[-1])
    if is_conditional(generator):
        width = int(generator.inputs[1].shape[-1])
        if labels is None or np.shape(labels) != (n, width):
            raise ValueError(f"a conditional generator needs labels of shape ({n}, {width}); got "
                             f"{None if labels is None else np.shape(labels)}")  # fmt: skip
    elif labels is not None:
        raise ValueError("labels given for a generator that takes none (condition: none)")
    out = []
    for lo in range(0, n, batch_size):
        z = rng.standard_normal((min(batch_size, n - lo), latent)).astype(np.float32)
        given = z if labels is None else [z, np.asarray(labels[lo : lo + len(z)], np.float32)]
        out.append(draw_bases(np.asarray(generator.predict_on_batch(given)), output, rng))
    return np.concatenate(out) if out else np.zeros((0, 0, 4), np.uint8)


def scorer_conv_weights(scorer_path, length: int) -> list:
    """The weights of a trained model's first convolution (the layer filter_motifs reads: kernel
    (width, 4, filters), then its bias if it has one), for `scorer_filters`. ValueError when it
    has none or its filters are wider than the generated sequences."""
    from .filter_motifs import first_conv_block
    from .keras_objects import load_model

    scorer = load_model(scorer_path)
    try:
        weights = first_conv_block(scorer)[0].get_weights()
    except ValueError:
        raise ValueError(f"scorer_filters: the scorer {scorer_path} has no convolution whose filters the critic "
                         "could read") from None  # fmt: skip
    if weights[0].ndim != 3 or weights[0].shape[1] != 4:
        raise ValueError(f"scorer_filters: the first convolution of {scorer_path} does not read one-hot DNA (kernel "
                         f"{weights[0].shape})")  # fmt: skip
    if weights[0].shape[0] > length:
        raise ValueError(f"scorer_filters: the scorer's filters ({weights[0].shape[0]} bp) are wider than the "
                         f"generated sequences ({length} bp)")  # fmt: skip
    return weights


def scale_filters(weights: list) -> list:
    """A first layer's weights with each filter divided by its kernel's L2 norm (its bias with
    it): each filter's gradient with respect to the sequence then has norm 1, the scale the
    critic's gradient penalty holds it to, so one linear unit with weights near 1 can use them
    (a trained model's filters answer on scales of 0.01-1, and rescaling each by the spread of
    its answers instead gave gradient penalties of 4-5 for 20 epochs: a filter that rarely
    answers got a huge gradient). relu(a / s) = relu(a) / s, so every filter still answers to
    the same sequences. A filter of all zeros is kept as is."""
    norm = np.sqrt((np.asarray(weights[0], np.float64) ** 2).sum(axis=(0, 1)))
    scale = np.where(norm > 1e-12, norm, 1.0).astype(np.float32)
    return [np.asarray(weights[0], np.float32) / scale] + [np.asarray(b, np.float32) / scale for b in weights[1:]]


def _guide(scorer_path, label_names: list[str], length: int):
    """The scorer's part of an activity-guided generator loss: f(soft one-hots, labels) -> the
    mean binary cross-entropy between the scorer's predictions of their argmax sequences (each
    centred in an all-zero padded window of the scorer's length, as predicted_activity) and the
    labels, over the tasks both have. ValueError when they share none."""
    import keras
    import tensorflow as tf

    from .keras_objects import load_model, model_metadata

    scorer = load_model(scorer_path)
    scorer.trainable = False
    tasks = model_metadata(scorer)["tasks"]
    shared = [t for t in label_names if t in tasks]
    if not shared:
        raise ValueError(f"guidance: the scorer {scorer_path} predicts {tasks}, none of the labels {label_names}")
    label_index = [label_names.index(t) for t in shared]
    scorer_index = [tasks.index(t) for t in shared]
    window = int(scorer.inputs[0].shape[1])
    if length > window:
        raise ValueError(f"guidance: sequences of {length} bp are longer than the scorer's window ({window} bp)")
    left = (window - length) // 2

    def loss(p, c):
        # the scorer reads the sequences sampling gives (the argmax per position), with the
        # softmax's gradient (straight-through): near-uniform soft one-hots of an early generator
        # leave a ReLU scorer's first layer silent, so the scorer would give no gradient at all
        hard = tf.one_hot(tf.argmax(p, axis=-1), 4, dtype=p.dtype) + p - tf.stop_gradient(p)
        padded = tf.pad(hard, [[0, 0], [left, window - length - left], [0, 0]])
        predicted = tf.gather(scorer(padded, training=False), scorer_index, axis=1)
        return tf.reduce_mean(keras.losses.binary_crossentropy(tf.gather(c, label_index, axis=1), predicted))

    return loss, shared


def train_gan(train_path, valid_path, out_dir, model_name: str, hyperparameters: dict | None, training: dict | None,
              seed: int, threads: int = 2, on_epoch_end=None, scorer_path=None) -> dict:  # fmt: skip
    """Train the WGAN-GP; writes generator.keras, critic.keras, history.tsv and model.json.

    history: per epoch the critic's loss, the generator's loss, the Wasserstein estimate
    E[D(real)] - E[D(fake)] on the training batches and on validation windows (fresh fakes),
    the gradient penalty, and seconds. `on_epoch_end(epoch, generator)`, if given, is called
    after each epoch (1-based): benchmarks snapshot long runs with it."""
    from . import __version__
    from .io_utils import atomic_path, package_versions, write_json
    from .models import resolve_hyperparameters
    from .training import _data_id, _tf_version, configure_runtime, resolve_training, save_model_atomic, select_strategy

    cfg = resolve_training(training)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    configure_runtime(threads, seed, cfg["deterministic"], 1, False)
    import keras
    import tensorflow as tf

    from .dataset import open_dataset

    with open_dataset(train_path) as f:
        window_length = int(f.attrs["window_length"])
    hp = resolve_hyperparameters("gan", window_length, 1, hyperparameters)
    length = gan_length(window_length, hp)
    conditional = hp["condition"] == "labels"
    if conditional:
        condition_tasks, columns = label_columns(train_path)
        if not columns:
            from .errors import InputError

            raise InputError(train_path, "condition: labels needs binary task labels; every task of this file "
                             "is a signal task")  # fmt: skip
        real, real_labels = real_windows(train_path, length, columns=columns)
        valid, valid_labels = real_windows(valid_path, length, max_rows=512, seed=seed, columns=columns)
    else:
        condition_tasks = None
        real, valid = real_windows(train_path, length), real_windows(valid_path, length, max_rows=512, seed=seed)
        real_labels, valid_labels = np.zeros((len(real), 0), np.float32), np.zeros((len(valid), 0), np.float32)
    if cfg["fraction"] < 1:
        kept = np.sort(np.random.default_rng(seed).permutation(len(real))[: max(1, int(len(real) * cfg["fraction"]))])
        real, real_labels = real[kept], real_labels[kept]
    valid = valid.astype(np.float32)
    if len(real) < cfg["batch_size"]:
        raise ValueError(f"{train_path}: {len(real)} windows without N, fewer than one batch ({cfg['batch_size']})")
    strategy, device_info = select_strategy(cfg["devices"], 1)
    scorer_conv = None
    if hp["scorer_filters"]:
        if scorer_path is None:
            raise ValueError("scorer_filters needs a scorer (generative.scorer)")
        scorer_conv = scale_filters(scorer_conv_weights(scorer_path, length))
    generator, critic = build_gan(window_length, hp, real_labels.shape[1], scorer_conv)
    guidance, guided_tasks = float(hp["guidance"]), None
    if guidance:
        if not conditional or scorer_path is None:
            raise ValueError("guidance needs condition: labels and a scorer (generative.scorer)")
        guide, guided_tasks = _guide(scorer_path, condition_tasks, length)
    g_opt = keras.optimizers.Adam(cfg["learning_rate"], beta_1=0.5, beta_2=0.9)
    c_opt = keras.optimizers.Adam(cfg["learning_rate"], beta_1=0.5, beta_2=0.9)
    weight = float(hp["gradient_penalty"])
    batch = int(cfg["batch_size"])
    gumbel = hp["output"] == "gumbel"

    def with_labels(x, c):
        return [x, c] if conditional else x

    def fake_batch(z, c, u):
        # gumbel: a one-hot drawn from the softmax (Gumbel-max with the uniforms u) in the forward
        # pass, the softmax's gradient in the backward pass (straight-through; Jang et al. 2017),
        # so the critic judges the same hard sequences that sampling gives
        p = generator(with_labels(z, c), training=True)
        if not gumbel:
            return p
        noise = -tf.math.log(-tf.math.log(u + 1e-20) + 1e-20)
        hard = tf.one_hot(tf.argmax(tf.math.log(p + 1e-20) + noise, axis=-1), 4, dtype=p.dtype)
        return hard + p - tf.stop_gradient(p)

    def uniforms(rng):
        return tf.constant(rng.random((batch, length, 4), dtype=np.float32) if gumbel else np.zeros((1,), np.float32))

    @tf.function
    def critic_step(x_real, c, z, eps, u):
        # conditional: the fakes get the real batch's labels, so the critic compares like with like
        with tf.GradientTape() as tape:
            x_fake = fake_batch(z, c, u)
            mix = eps * x_real + (1.0 - eps) * x_fake
            with tf.GradientTape() as inner:
                inner.watch(mix)
                d_mix = critic(with_labels(mix, c), training=True)
            grad = inner.gradient(d_mix, mix)
            norm = tf.sqrt(tf.reduce_sum(tf.square(grad), axis=[1, 2]) + 1e-12)
            gp = tf.reduce_mean(tf.square(norm - 1.0))
            d_real = tf.reduce_mean(critic(with_labels(x_real, c), training=True))
            d_fake = tf.reduce_mean(critic(with_labels(x_fake, c), training=True))
            loss = d_fake - d_real + weight * gp
        c_opt.apply_gradients(zip(tape.gradient(loss, critic.trainable_variables), critic.trainable_variables))
        return loss, d_real - d_fake, gp

    # the generator saved and sampled: with ema, a moving average of its weights (which damps the
    # step-to-step swings of an adversarial game), else the generator itself
    decay = float(hp["ema"])
    averaged = generator
    if decay:
        averaged = keras.models.clone_model(generator)
        averaged.set_weights(generator.get_weights())

    @tf.function
    def generator_step(z, c, u):
        with tf.GradientTape() as tape:
            fake = fake_batch(z, c, u)
            adversarial = -tf.reduce_mean(critic(with_labels(fake, c), training=True))
            guided = guide(fake, c) if guidance else tf.constant(0.0)
            loss = adversarial + guidance * guided
        g_opt.apply_gradients(zip(tape.gradient(loss, generator.trainable_variables), generator.trainable_variables))
        if decay:
            for mean, weight in zip(averaged.weights, generator.weights):
                mean.assign(decay * mean + (1.0 - decay) * weight)
        return adversarial, guided

    history = []
    steps_per_epoch = len(real) // batch
    for epoch in range(cfg["epochs"]):
        t0 = time.perf_counter()
        rng = np.random.default_rng([seed, epoch])
        order = rng.permutation(len(real))
        c_loss, w_est, gps, g_loss, g_guided = [], [], [], [], []
        for step in range(steps_per_epoch):
            rows = np.sort(order[step * batch : (step + 1) * batch])
            x_real = real[rows].astype(np.float32)
            if cfg["reverse_complement"]:
                flip = rng.random(batch) < 0.5
                x_real[flip] = x_real[flip, ::-1, ::-1]
            z = rng.standard_normal((batch, hp["latent_dim"])).astype(np.float32)
            eps = rng.random((batch, 1, 1)).astype(np.float32)
            loss, w, gp = critic_step(tf.constant(x_real), tf.constant(real_labels[rows]), tf.constant(z),
                                      tf.constant(eps), uniforms(rng))  # fmt: skip
            c_loss.append(float(loss))
            w_est.append(float(w))
            gps.append(float(gp))
            if (step + 1) % hp["critic_steps"] == 0:
                z = rng.standard_normal((batch, hp["latent_dim"])).astype(np.float32)
                # the training split's mix of labels; drawn only when conditional, so an unconditioned
                # GAN's random stream (and its generator, for a seed) is what it was before conditioning
                c = real_labels[rng.integers(0, len(real), batch)] if conditional else real_labels[:batch]
                adversarial, guided = generator_step(tf.constant(z), tf.constant(c), uniforms(rng))
                g_loss.append(float(adversarial))
                g_guided.append(float(guided))
        valid_rng = np.random.default_rng([seed, epoch, 1])
        z = valid_rng.standard_normal((len(valid), hp["latent_dim"])).astype(np.float32)
        soft = np.asarray(averaged.predict_on_batch(with_labels(z, valid_labels)))
        fake = draw_bases(soft, "gumbel", valid_rng).astype(np.float32) if gumbel else soft
        valid_w = float(np.mean(critic.predict_on_batch(with_labels(valid, valid_labels)))
                        - np.mean(critic.predict_on_batch(with_labels(fake, valid_labels))))  # fmt: skip
        seconds = time.perf_counter() - t0
        history.append({"epoch": epoch + 1, "critic_loss": float(np.mean(c_loss)),
                        "generator_loss": float(np.mean(g_loss)) if g_loss else float("nan"),
                        "wasserstein": float(np.mean(w_est)), "valid_wasserstein": valid_w,
                        "gradient_penalty": float(np.mean(gps)), "generator_steps": len(g_loss),
                        # the scorer's cross-entropy on the generated sequences (guidance; 0 without)
                        "guided_loss": float(np.mean(g_guided)) if g_guided else float("nan"),
                        # how close the soft one-hots are to one-hot (1 = every position decided)
                        "max_probability": float(soft.max(axis=-1).mean()), "seconds": seconds})  # fmt: skip
        log.info("epoch %d: critic loss %.4f, generator loss %.4f, W estimate %.4f (valid %.4f), GP %.4f, "
                 "guided loss %.4f (%.1f s)", epoch + 1, history[-1]["critic_loss"], history[-1]["generator_loss"],
                 history[-1]["wasserstein"], valid_w, history[-1]["gradient_penalty"], history[-1]["guided_loss"],
                 seconds)  # fmt: skip
        if on_epoch_end is not None:
            on_epoch_end(epoch + 1, averaged)
    save_model_atomic(averaged, out_dir / "generator.keras")
    save_model_atomic(critic, out_dir / "critic.keras")
    columns = list(history[0]) if history else ["epoch"]
    with atomic_path(out_dir / "history.tsv") as tmp:
        with open(tmp, "w") as handle:
            handle.write("\t".join(columns) + "\n")
            for row in history:
                handle.write("\t".join(f"{row[c]:.6g}" if isinstance(row[c], float) else str(row[c]) for c in columns) + "\n")
    info = {
        "name": model_name, "architecture": "gan", "family": "generative", "window_length": window_length,
        "length": length, "hyperparameters": hp, "training": cfg, "seed": seed, "epochs_run": len(history),
        "best_epoch": len(history), "generator_steps": int(sum(h["generator_steps"] for h in history)),
        "train_seconds": float(sum(h["seconds"] for h in history)), "devices": device_info,
        "batches": {"train_rows": int(len(real)), "valid_rows": int(len(valid))},
        "condition_tasks": condition_tasks,
        "guidance": {"scorer": str(scorer_path), "tasks": guided_tasks} if guidance else None,
        "scorer_filters": str(scorer_path) if scorer_conv is not None else None,
        "data": {"train": _data_id(train_path), "valid": _data_id(valid_path)},
        "versions": package_versions(("numpy", "h5py")) | {"tensorflow": _tf_version(), "keras": keras.__version__,
                                                             "deepcis": __version__},
    }  # fmt: skip
    del strategy
    write_json(info, out_dir / "model.json")
    return info
