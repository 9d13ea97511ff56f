"""How much a set of sequences looks like real DNA: k-mer spectra, GC content, motif matches
and predicted activity, against held-out real windows and two baselines (no TensorFlow, except
for the predicted activity).

    sets = comparison_sets(generated, real_train, real_heldout, seed=1)   # + uniform, dinucleotide shuffled
    table = compare_sets(sets, reference="real_heldout", motifs=read_jaspar(path))

- k-mer spectrum distance: the canonical k-mer counts (a k-mer and its reverse complement are
  one feature, as in the k-mer baseline) pooled over a set, as frequencies; the distance of two
  sets is the total variation distance (half the L1 distance) of their spectra, 0 (same) to 1.
- GC: per-sequence GC fraction; mean, standard deviation and the two-sample Kolmogorov-Smirnov
  statistic against the reference set's.
- Motif matches: a FIMO-style scan (memelite's FIMO: log-odds PWM, p-value of the score under a
  uniform background, both strands) at p < 1e-4 with the given JASPAR matrices; matches per kb
  (all motifs together and per motif), and the fraction of sequences with at least one.
- Predicted activity: a trained supervised model's mean prediction per task, each sequence
  centred in a window of the model's length padded with all-zero (N) rows, the same for every
  set (forward and reverse-complement averaged).

Baselines: `uniform` (each base drawn with probability 1/4) and `dinucleotide_shuffled`
(each real training sequence shuffled with its dinucleotide counts kept, Altschul-Erickson).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .attributions import dinucleotide_shuffle
from .baseline import kmer_counts

MOTIF_P_VALUE = 1e-4


def uniform_sequences(n: int, length: int, seed: int) -> np.ndarray:
    """Uniform random sequences, one-hot uint8 (n, length, 4)."""
    return np.eye(4, dtype=np.uint8)[np.random.default_rng(seed).integers(0, 4, size=(n, length))]


def shuffled_sequences(x: np.ndarray, seed: int) -> np.ndarray:
    """Dinucleotide shuffles of one-hot sequences x (n, length, 4), one each."""
    rng = np.random.default_rng(seed)
    return np.stack([dinucleotide_shuffle(s, rng) for s in np.asarray(x)]) if len(x) else np.asarray(x)


def comparison_sets(generated: np.ndarray, real_train: np.ndarray, real_heldout: np.ndarray, seed: int) -> dict:
    """The sets compared: generated, real held-out (the reference), real training, and the
    baselines uniform and dinucleotide-shuffled (from real training sequences); every set has
    the generated set's size (real sets: a seeded random subset when larger)."""
    n, length = generated.shape[0], generated.shape[1]
    rng = np.random.default_rng(seed)

    def subset(x):
        return x if len(x) <= n else x[np.sort(rng.choice(len(x), n, replace=False))]

    train = subset(real_train)
    return {
        "generated": np.asarray(generated, np.uint8),
        "real_heldout": subset(real_heldout),
        "real_train": train,
        "uniform": uniform_sequences(n, length, seed + 1),
        "dinucleotide_shuffled": shuffled_sequences(train, seed + 2),
    }


def kmer_spectrum(x: np.ndarray, k: int) -> np.ndarray:
    """Pooled canonical k-mer frequencies of a set of one-hot sequences (sums to 1)."""
    counts = kmer_counts(np.asarray(x), ks=(k,)).sum(axis=0).astype(np.float64)
    total = counts.sum()
    return counts / total if total > 0 else counts


def spectrum_distance(a: np.ndarray, b: np.ndarray, k: int) -> float:
    """Total variation distance of the k-mer spectra of two sets."""
    return float(0.5 * np.abs(kmer_spectrum(a, k) - kmer_spectrum(b, k)).sum())


def gc_fraction(x: np.ndarray) -> np.ndarray:
    """GC fraction of each sequence (over its bases; N rows left out)."""
    x = np.asarray(x)
    bases = x.sum(axis=(1, 2)).astype(np.float64)
    gc = x[:, :, 1:3].sum(axis=(1, 2)).astype(np.float64)
    return np.divide(gc, bases, out=np.full(len(x), np.nan), where=bases > 0)


def motif_matches(x: np.ndarray, motifs) -> np.ndarray:
    """Matches (p < 1e-4, both strands) per sequence and motif: int (n, motifs)."""
    from memelite import fimo

    x = np.asarray(x)
    out = np.zeros((len(x), len(motifs)), dtype=np.int64)
    if not len(x):
        return out
    pwms = {f"{i}:{m.name}": m.probabilities().T.astype(np.float64) for i, m in enumerate(motifs)}
    hits = fimo(pwms, x.transpose(0, 2, 1).astype(np.float32), threshold=MOTIF_P_VALUE, dim=0)
    for i, table in enumerate(hits):
        if len(table):
            np.add.at(out[:, i], table["sequence_name"].astype(int).to_numpy(), 1)
    return out


def predicted_activity(model, x: np.ndarray, batch_size: int = 256) -> np.ndarray:
    """A supervised model's predictions (n, tasks) for sequences centred in N-padded windows
    of the model's length, forward and reverse-complement averaged."""
    from .genome import reverse_complement

    length = int(model.inputs[0].shape[1])
    x = np.asarray(x)
    if x.shape[1] > length:
        raise ValueError(f"sequences of {x.shape[1]} bp are longer than the model's window ({length} bp)")
    start = (length - x.shape[1]) // 2
    out = []
    for lo in range(0, len(x), batch_size):
        block = np.zeros((min(batch_size, len(x) - lo), length, 4), np.float32)
        block[:, start : start + x.shape[1]] = x[lo : lo + batch_size]
        forward = np.asarray(model.predict_on_batch(block))
        reverse = np.asarray(model.predict_on_batch(np.ascontiguousarray(reverse_complement(block))))
        out.append((forward + reverse) / 2)
    return np.concatenate(out) if out else np.zeros((0, int(model.outputs[0].shape[-1])), np.float32)


def compare_sets(sets: dict, reference: str = "real_heldout", motifs=None, scorer=None, tasks=None,
                 ks=(4, 6)) -> pd.DataFrame:  # fmt: skip
    """One row per set: k-mer spectrum distances to the reference, GC statistics, motif match
    rates (when `motifs` are given) and mean predicted activity per task (when a `scorer`
    model is given, with its `tasks`)."""
    from scipy.stats import ks_2samp

    ref = sets[reference]
    ref_gc = gc_fraction(ref)
    rows = []
    for name, x in sets.items():
        row = {"set": name, "sequences": int(len(x)), "length": int(x.shape[1])}
        for k in ks:
            row[f"kmer{k}_distance"] = spectrum_distance(x, ref, k)
        gc = gc_fraction(x)
        row["gc_mean"] = float(np.nanmean(gc))
        row["gc_sd"] = float(np.nanstd(gc))
        row["gc_ks"] = float(ks_2samp(gc[~np.isnan(gc)], ref_gc[~np.isnan(ref_gc)]).statistic)
        if motifs:
            hits = motif_matches(x, motifs)
            kb = len(x) * x.shape[1] / 1000
            row["motif_matches_per_kb"] = float(hits.sum() / kb)
            row["fraction_with_match"] = float((hits.sum(axis=1) > 0).mean())
            for i, m in enumerate(motifs):
                row[f"matches_per_kb:{m.name}"] = float(hits[:, i].sum() / kb)
        if scorer is not None:
            pred = predicted_activity(scorer, x)
            for t, task in enumerate(tasks or range(pred.shape[1])):
                row[f"activity:{task}"] = float(pred[:, t].mean())
        rows.append(row)
    return pd.DataFrame(rows)


# --------------------------------------------------------------------------------------
# Generated sequences as FASTA, and the evaluation of a generator's samples
# --------------------------------------------------------------------------------------


def write_fasta(x: np.ndarray, path, prefix: str, width: int = 60):
    """One-hot sequences (n, length, 4) as FASTA records <prefix>_<i> (1-based), written atomically."""
    from .genome import decode_one_hot
    from .io_utils import atomic_path

    with atomic_path(path) as tmp:
        with open(tmp, "w") as handle:
            for i, seq in enumerate(np.asarray(x), 1):
                text = decode_one_hot(seq)
                handle.write(f">{prefix}_{i}\n")
                for lo in range(0, len(text), width):
                    handle.write(text[lo : lo + width] + "\n")


def read_fasta(path) -> np.ndarray:
    """Equal-length FASTA records as one-hot uint8 (n, length, 4); InputError naming the
    record for unequal lengths or an empty file."""
    from .errors import InputError
    from .genome import one_hot_sequence

    records, name, parts = [], None, []
    with open(path) as handle:
        for line in handle:
            line = line.strip()
            if line.startswith(">"):
                if name is not None:
                    records.append((name, "".join(parts)))
                name, parts = line[1:], []
            elif line:
                parts.append(line)
    if name is not None:
        records.append((name, "".join(parts)))
    if not records:
        raise InputError(path, "no FASTA records")
    length = len(records[0][1])
    for name, seq in records:
        if len(seq) != length:
            raise InputError(path, f"record {name!r} has {len(seq)} bases, the first has {length}: generated "
                                   "sequences have one length")  # fmt: skip
    return np.stack([one_hot_sequence(seq) for _, seq in records]).astype(np.uint8)


def evaluate_generated(samples_fa, train_h5, heldout_h5, seed: int, motifs_path=None, scorer_path=None) -> tuple:
    """(table, GC fractions per set) of a generator's samples against real held-out windows
    (cropped to the samples' length, as in training), real training windows and the baselines;
    `motifs_path`: a JASPAR file for the motif match rates; `scorer_path`: a supervised model
    whose predicted activity is compared."""
    from .gan import real_windows

    generated = read_fasta(samples_fa)
    length = generated.shape[1]
    sets = comparison_sets(generated, real_windows(train_h5, length), real_windows(heldout_h5, length), seed)
    motifs = None
    if motifs_path:
        from .motifs import read_jaspar

        motifs = read_jaspar(motifs_path)
    scorer = tasks = None
    if scorer_path:
        from .keras_objects import load_model, model_metadata

        scorer = load_model(scorer_path)
        tasks = model_metadata(scorer)["tasks"]
    table = compare_sets(sets, "real_heldout", motifs, scorer, tasks)
    return table, {name: gc_fraction(x) for name, x in sets.items()}
