"""Predictions for arbitrary sequences given as FASTA: one row per sequence, TSV out.

    check_fasta("designs.fa")                                    # InputError with file and line
    predict_fasta(model_path, "designs.fa", "predictions.tsv")

Length policy (the model reads windows of exactly L bp):

- a sequence of L bp is used as is (`fit` = `exact`);
- a shorter one is centred in an L bp window padded with N (all-zero one-hot rows, what an
  unknown base encodes to): (L - n) // 2 Ns on the left, the rest on the right (`padded`);
- a longer one is centre-cropped: its bases [(n - L) // 2, (n - L) // 2 + L) (`cropped`).

`used_start`/`used_end` give the bases of the sequence the model read (0-based, half-open).
Bases may be upper or lower case; A, C, G, T and N only: anything else (IUPAC codes, `-`, `*`,
digits) is refused with the file and line before any prediction, as is an empty sequence,
a sequence line before the first header or a header without a name. Predictions average
both strands (`reverse_complement`), as the other prediction stages do.
"""

from __future__ import annotations

import gzip
import logging
from pathlib import Path

import numpy as np
import pandas as pd

from .errors import InputError
from .io_utils import atomic_path

log = logging.getLogger("deepcis.sequences")

ALLOWED = frozenset("ACGTNacgtn")
CODE = np.full(256, 4, np.int64)
for _i, _b in enumerate("ACGT"):
    CODE[ord(_b)] = CODE[ord(_b.lower())] = _i


def _open(path: Path):
    return gzip.open(path, "rt") if path.suffix == ".gz" else open(path)


def fasta_records(path):
    """(name, sequence, header line number) of every record; checks as in the module doc."""
    path = Path(path)
    if not path.is_file():
        raise InputError(path, "FASTA file not found")
    name, parts, at = None, [], 0
    with _open(path) as handle:
        for number, line in enumerate(handle, 1):
            line = line.rstrip("\r\n")
            if line.startswith(">"):
                if name is not None:
                    yield _finish(path, name, parts, at)
                name, parts, at = line[1:].split()[0] if line[1:].split() else "", [], number
                if not name:
                    raise InputError(path, "header without a sequence name", number)
                continue
            if not line.strip():
                continue
            if name is None:
                raise InputError(path, "sequence before the first '>' header", number)
            bad = set(line) - ALLOWED
            if bad:
                shown = ", ".join(repr(c) for c in sorted(bad))
                raise InputError(path, f"sequence {name!r} has characters other than A, C, G, T, N: {shown}", number)
            parts.append(line)
    if name is not None:
        yield _finish(path, name, parts, at)


def _finish(path, name, parts, at):
    seq = "".join(parts)
    if not seq:
        raise InputError(path, f"sequence {name!r} is empty", at)
    return name, seq, at


def check_fasta(path) -> int:
    """Validate the whole file before any work; the number of records."""
    n = sum(1 for _ in fasta_records(path))
    if n == 0:
        raise InputError(path, "holds no FASTA record")
    return n


def fit_to_window(seq: str, length: int) -> tuple[np.ndarray, str, int, int]:
    """One-hot (L, 4) of a sequence under the length policy; (x, fit, used_start, used_end)."""
    n = len(seq)
    if n >= length:
        lo = (n - length) // 2
        used = seq[lo:lo + length]
        fit, start, end, pad = ("exact" if n == length else "cropped"), lo, lo + length, 0
    else:
        used, fit, start, end, pad = seq, "padded", 0, n, (length - n) // 2
    codes = CODE[np.frombuffer(used.encode("ascii"), np.uint8)]
    x = np.zeros((length, 4), np.uint8)
    rows = np.arange(len(codes)) + pad
    known = codes < 4
    x[rows[known], codes[known]] = 1
    return x, fit, start, end


def predict_fasta(model_path, fasta_path, out_tsv, batch_size: int = 256, reverse_complement: bool = True,
                  block: int = 4096) -> dict:  # fmt: skip
    """Predict every record of a FASTA file; TSV with name, length, fit, used_start, used_end
    and one column per task. The file is checked whole before the model loads."""
    from .keras_objects import load_model, model_metadata
    from .predict import predict_windows, resolve_model_file

    n = check_fasta(fasta_path)
    model_file = resolve_model_file(model_path)
    model = load_model(model_file)
    meta = model_metadata(model)
    tasks, length = list(meta["tasks"]), int(meta["window_length"])
    columns = ["name", "length", "fit", "used_start", "used_end", *tasks]
    fits: dict[str, int] = {}
    with atomic_path(out_tsv) as tmp:
        with open(tmp, "w") as out:
            out.write("\t".join(columns) + "\n")
            batch: list = []

            def flush():
                x = np.stack([b[1] for b in batch])
                pred = predict_windows(model, x, batch_size, reverse_complement)
                rows = pd.DataFrame([[b[0], b[2], b[3], b[4], b[5]] for b in batch], columns=columns[:5])
                rows[tasks] = pred
                rows.to_csv(out, sep="\t", index=False, header=False, float_format="%.6g")
                batch.clear()

            for name, seq, _ in fasta_records(fasta_path):
                x, fit, start, end = fit_to_window(seq, length)
                fits[fit] = fits.get(fit, 0) + 1
                batch.append((name, x, len(seq), fit, start, end))
                if len(batch) == block:
                    flush()
            if batch:
                flush()
    log.info("predicted %d sequences (%s) with %s", n, fits, model_file)
    return {"sequences": n, "fits": fits, "tasks": tasks}
