"""First-layer filter motifs: activation PWMs, information content, Tomtom vs JASPAR.

    pfms, sites = filter_pfms(model, x, fraction=0.5)      # x (N, L, 4) one-hot windows
    table = match_motifs(queries, database)                 # Tomtom (memelite), BH q-values

Filter PWM (the Basset / DanQ approach): the first convolution's activations (after the
pointwise layers that follow it: batch norm, the ReLU) over a set of windows; for each
filter, every position whose activation exceeds `fraction` x the filter's maximum over
all windows contributes the kernel-wide subsequence it read; the base counts of those
subsequences are the filter's position frequency matrix (PFM). Positions outside the
window ('same' padding) count as no base.

Information content of a PWM column p (uniform background): 2 + sum_b p_b log2 p_b bits,
with a pseudocount of `pseudocount` per base added to the counts first.

Matching: memelite's Tomtom (complete-score variant, both strands; Gupta et al. 2007)
gives, for each query and database matrix, the p-value of the best alignment. q-values
are Benjamini-Hochberg over each query's p-values against the whole database (as MEME's
Tomtom reports them). The database: JASPAR CORE vertebrates, latest version of each
matrix (JASPAR's non-redundant set), from the pyjaspar package (see `jaspar_database`),
or any JASPAR-format file.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import pandas as pd

log = logging.getLogger("deepcis.filter_motifs")

# memelite 0.5.0 gives random query matrices p-values of 1e-14 to 1e-6 against the only two
# JASPAR vertebrate matrices longer than 30 columns (MA1929.2, MA1930.2, extended CTCF),
# whatever the query; such long database matrices are left out (p = 1). Checked by
# tests/test_interpret.py (random PWMs match nothing).
MAX_TARGET_LENGTH = 30
POINTWISE = ("BatchNormalization", "Activation", "Dropout", "ActivityRegularization", "SpatialDropout1D")


@dataclass
class NamedMatrix:
    """A motif as a (L, 4) count or probability matrix with an id and a name."""

    id: str
    name: str
    counts: np.ndarray  # (L, 4), ACGT

    def probabilities(self, pseudocount: float = 0.0) -> np.ndarray:
        c = np.asarray(self.counts, np.float64) + pseudocount
        return c / np.maximum(c.sum(axis=1, keepdims=True), 1e-12)


def information_content(counts: np.ndarray, pseudocount: float = 0.5) -> np.ndarray:
    """Bits per position (L,) of a count matrix (L, 4), uniform background."""
    c = np.asarray(counts, np.float64) + pseudocount
    p = c / c.sum(axis=1, keepdims=True)
    return 2.0 + np.sum(p * np.log2(np.where(p > 0, p, 1.0)), axis=1)


def trim(counts: np.ndarray, min_ic: float = 0.3, min_length: int = 4, pseudocount: float = 0.5) -> tuple[int, int]:
    """(start, end) of a matrix without its low-information flanks (IC < min_ic)."""
    ic = information_content(counts, pseudocount)
    keep = np.nonzero(ic >= min_ic)[0]
    if len(keep) == 0:
        return 0, len(ic)
    lo, hi = int(keep[0]), int(keep[-1]) + 1
    while hi - lo < min(min_length, len(ic)):  # widen around the informative core
        if lo > 0 and (hi >= len(ic) or ic[lo - 1] >= ic[hi]):
            lo -= 1
        else:
            hi += 1
    return lo, hi


# --------------------------------------------------------------------------------------
# Filter PWMs
# --------------------------------------------------------------------------------------


def first_conv_block(model):
    """(conv layer, the layers applied to its output up to the next non-pointwise layer)."""
    layers = [layer for layer in model.layers if type(layer).__name__ != "InputLayer"]
    for i, layer in enumerate(layers):
        if type(layer).__name__ == "Conv1D":
            after = []
            for nxt in layers[i + 1:]:
                if type(nxt).__name__ not in POINTWISE:
                    break
                after.append(nxt)
            return layer, after
    raise ValueError(f"model {model.name!r} has no Conv1D layer")


def filter_activations(model, x: np.ndarray, batch_size: int = 256) -> tuple[np.ndarray, int, int]:
    """First-conv-block activations (N, L_out, F), the kernel span and left padding."""
    import keras

    conv, after = first_conv_block(model)
    if conv.input.shape[-1] != 4 or conv.input is not model.inputs[0]:
        raise ValueError(f"the first convolution of {model.name!r} does not read the one-hot input")
    y = conv.output
    for layer in after:
        y = layer(y)
    sub = keras.Model(model.inputs[0], y)
    acts = np.concatenate([np.asarray(sub.predict_on_batch(np.asarray(x[i:i + batch_size], np.float32)))
                           for i in range(0, len(x), batch_size)])
    dilation = int(np.ravel([conv.dilation_rate])[0])
    span = dilation * (int(np.ravel([conv.kernel_size])[0]) - 1) + 1
    pad_left = (span - 1) // 2 if conv.padding == "same" else 0
    if dilation != 1:
        raise ValueError("filter PWMs of dilated first convolutions are not supported")
    return acts, span, pad_left


def filter_pfms(model, x: np.ndarray, fraction: float = 0.5, batch_size: int = 256
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:  # fmt: skip
    """PFMs (F, K, 4) of the first convolution's filters from windows x (N, L, 4).

    Returns (pfms, sites per filter (F,), max activation per filter (F,)).
    """
    if not 0 < fraction <= 1:
        raise ValueError(f"activation fraction {fraction} must be in (0, 1]")
    x = np.asarray(x, np.float32)
    acts, span, pad_left = filter_activations(model, x, batch_size)
    n_filters = acts.shape[-1]
    xp = np.pad(x, ((0, 0), (pad_left, span), (0, 0))) if pad_left or acts.shape[1] + span - 1 > x.shape[1] else x
    pfms = np.zeros((n_filters, span, 4), np.float64)
    sites = np.zeros(n_filters, np.int64)
    max_act = acts.reshape(-1, n_filters).max(axis=0)
    offsets = np.arange(span)
    for f in range(n_filters):
        if max_act[f] <= 0:
            continue
        n, pos = np.nonzero(acts[:, :, f] > fraction * max_act[f])
        sites[f] = len(n)
        for lo in range(0, len(n), 65536):  # bounded memory for filters with many sites
            sub = xp[n[lo:lo + 65536, None], pos[lo:lo + 65536, None] + offsets[None, :]]  # (s, K, 4)
            pfms[f] += sub.sum(axis=0)
    return pfms, sites, max_act


# --------------------------------------------------------------------------------------
# JASPAR and Tomtom
# --------------------------------------------------------------------------------------


def jaspar_database(release: str = "JASPAR2026", collection: str = "CORE", tax_group: str | None = "vertebrates"
                    ) -> list[NamedMatrix]:  # fmt: skip
    """Latest version of each matrix of a JASPAR collection, from the pyjaspar package."""
    from pyjaspar import jaspardb

    db = jaspardb(release=release)
    kwargs = {"collection": collection, "all_versions": False}
    if tax_group:
        kwargs["tax_group"] = [tax_group]
    motifs = db.fetch_motifs(**kwargs)
    if not motifs:
        raise ValueError(f"no JASPAR matrices for release {release}, collection {collection}, tax_group {tax_group}")
    return [NamedMatrix(m.matrix_id, m.name, np.array([m.counts[b] for b in "ACGT"], np.float64).T) for m in motifs]


def read_motif_file(path) -> list[NamedMatrix]:
    """A JASPAR-format file (deepcis.motifs.read_jaspar) as NamedMatrix records."""
    from .motifs import read_jaspar

    return [NamedMatrix(m.id, m.name, np.asarray(m.counts, np.float64)) for m in read_jaspar(path)]


def bh_qvalues(p: np.ndarray) -> np.ndarray:
    """Benjamini-Hochberg q-values of a 1-d array of p-values (monotone, capped at 1)."""
    p = np.asarray(p, np.float64)
    n = len(p)
    if n == 0:
        return p.copy()
    order = np.argsort(p)
    ranked = p[order] * n / np.arange(1, n + 1)
    q = np.minimum.accumulate(ranked[::-1])[::-1]
    out = np.empty(n)
    out[order] = np.minimum(q, 1.0)
    return out


def tomtom(queries: list[np.ndarray], targets: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Tomtom p-values (Q, T), q-values (Q, T), offsets and strands; matrices are (L, 4)."""
    from memelite import tomtom as _tomtom

    qs = [np.ascontiguousarray(np.asarray(q, np.float64).T) for q in queries]
    usable = [j for j, t in enumerate(targets) if len(t) <= MAX_TARGET_LENGTH]
    if len(usable) < len(targets):
        log.info("Tomtom: %d database matrices longer than %d columns left out", len(targets) - len(usable),
                 MAX_TARGET_LENGTH)  # fmt: skip
    ts = [np.ascontiguousarray(np.asarray(targets[j], np.float64).T) for j in usable]
    # exact target columns (n_target_bins=None): the approximate hashing is faster but less exact
    p_u, _scores, off_u, _overlaps, str_u = _tomtom(qs, ts, n_target_bins=None, n_jobs=1)
    p = np.ones((len(queries), len(targets)))
    offsets = np.zeros((len(queries), len(targets)), np.int64)
    strands = np.zeros((len(queries), len(targets)), np.int64)
    p[:, usable], offsets[:, usable], strands[:, usable] = p_u, off_u, str_u
    q = np.vstack([bh_qvalues(row) for row in p]) if len(p) else p
    return p, q, offsets, strands


def match_motifs(queries: list[NamedMatrix], database: list[NamedMatrix], max_q: float = 0.05,
                 top: int = 5, pseudocount: float = 0.5) -> pd.DataFrame:  # fmt: skip
    """The best database matches of each query: rows with q <= max_q, at most `top` per query.

    Columns: query, target_id, target_name, p_value, q_value, strand, offset, rank.
    """
    cols = ["query", "target_id", "target_name", "p_value", "q_value", "strand", "offset", "rank"]
    if not queries:
        return pd.DataFrame(columns=cols)
    p, q, offsets, strands = tomtom([m.probabilities(pseudocount) for m in queries],
                                    [m.probabilities(pseudocount) for m in database])
    rows = []
    for i, query in enumerate(queries):
        order = np.argsort(p[i], kind="stable")
        rank = 0
        for j in order[: max(top, 0)]:
            if q[i, j] > max_q:
                break
            rank += 1
            rows.append([query.id, database[j].id, database[j].name, float(p[i, j]), float(q[i, j]),
                         "-" if int(strands[i, j]) == 1 else "+", int(offsets[i, j]), rank])
    return pd.DataFrame(rows, columns=cols)


def filter_motif_table(pfms: np.ndarray, sites: np.ndarray, max_act: np.ndarray, database: list[NamedMatrix],
                       min_sites: int = 10, max_q: float = 0.05, top: int = 5, trim_ic: float = 0.3
                       ) -> tuple[pd.DataFrame, pd.DataFrame, list[NamedMatrix]]:  # fmt: skip
    """Per-filter summary, the match table, and the (trimmed) filter motifs that were matched against the database.

    Filters with fewer than `min_sites` activating subsequences are listed but not matched.
    """
    summary, queries = [], []
    for f in range(len(pfms)):
        ic = information_content(pfms[f]) if sites[f] else np.zeros(pfms.shape[1])
        lo, hi = trim(pfms[f], trim_ic) if sites[f] else (0, pfms.shape[1])
        name = f"filter{f}"
        summary.append({"filter": name, "sites": int(sites[f]), "max_activation": float(max_act[f]),
                        "information_content": float(ic.sum()), "trimmed_start": lo, "trimmed_end": hi,
                        "consensus": "".join("ACGT"[b] for b in np.argmax(pfms[f][lo:hi], axis=1)) if sites[f] else ""})
        if sites[f] >= min_sites:
            queries.append(NamedMatrix(name, name, pfms[f][lo:hi]))
    matches = match_motifs(queries, database, max_q=max_q, top=top)
    summary = pd.DataFrame(summary)
    best = matches[matches["rank"] == 1].set_index("query") if len(matches) else None
    for col in ("best_match_id", "best_match_name"):
        summary[col] = ""
    summary["best_q_value"] = np.nan
    if best is not None:
        hit = summary["filter"].isin(best.index)
        summary.loc[hit, "best_match_id"] = summary.loc[hit, "filter"].map(best["target_id"])
        summary.loc[hit, "best_match_name"] = summary.loc[hit, "filter"].map(best["target_name"])
        summary.loc[hit, "best_q_value"] = summary.loc[hit, "filter"].map(best["q_value"])
    return summary, matches, queries
