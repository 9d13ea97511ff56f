"""Near-duplicate sequences (k-mer Jaccard similarity), found with MinHash and LSH, for
leakage-aware splits of sequence tables.

    links = near_duplicate_pairs(sequences, k=8, threshold=0.5, permutations=128, seed=0)
    groups = connected_groups(len(sequences), links)

Two sequences are near-duplicates when the Jaccard similarity of their k-mer sets is at least
`threshold` (with `reverse_complement`, k-mers are canonical: a sequence and its reverse
complement have the same set). Exact Jaccard decides; MinHash signatures only propose the
candidate pairs, through locality-sensitive hashing in bands of `rows` signature entries
(Broder 1997; Leskovec, Rajaraman & Ullman, Mining of Massive Datasets, ch. 3). A pair at the
threshold becomes a candidate with probability 1 - (1 - J^rows)^bands; `band_layout` picks the
layout whose S-curve midpoint lies well below the threshold (>= 0.99 at J = threshold + 0.1
for the defaults), so misses are rare and false candidates are removed by the exact check.
K-mers with N are skipped; a sequence with no valid k-mer has no near-duplicates.
"""

from __future__ import annotations

import numpy as np

from .genome import BASE_CODES, N_CODE

_MAX_K = 31  # 2 bits per base in a uint64


def kmer_set(seq: str, k: int, reverse_complement: bool = True) -> np.ndarray:
    """Sorted distinct k-mer codes (2 bits per base) of `seq`, skipping k-mers with N;
    with `reverse_complement`, each k-mer's code is the lesser of it and its reverse complement."""
    if not 1 <= k <= _MAX_K:
        raise ValueError(f"k must be 1-{_MAX_K}, got {k}")
    bases = BASE_CODES[np.frombuffer(seq.encode("ascii"), dtype=np.uint8)]
    if len(bases) < k:
        return np.zeros(0, dtype=np.uint64)
    windows = np.lib.stride_tricks.sliding_window_view(bases, k)
    valid = (windows < N_CODE).all(axis=1)
    windows = windows[valid].astype(np.uint64)
    powers = np.uint64(4) ** np.arange(k - 1, -1, -1, dtype=np.uint64)
    codes = windows @ powers
    if reverse_complement:
        rc = (np.uint64(3) - windows[:, ::-1]) @ powers
        codes = np.minimum(codes, rc)
    return np.unique(codes)


def jaccard(a: np.ndarray, b: np.ndarray) -> float:
    """Jaccard similarity of two sorted distinct code arrays (0 when both are empty)."""
    union = len(a) + len(b)
    if union == 0:
        return 0.0
    inter = len(np.intersect1d(a, b, assume_unique=True))
    return inter / (union - inter)


def _splitmix64(x: np.ndarray) -> np.ndarray:
    """SplitMix64's finaliser (Steele, Lea & Flood 2014): a well-mixed 64-bit hash of each value."""
    x = x ^ (x >> np.uint64(30))
    x = x * np.uint64(0xBF58476D1CE4E5B9)
    x = x ^ (x >> np.uint64(27))
    x = x * np.uint64(0x94D049BB133111EB)
    return x ^ (x >> np.uint64(31))


def minhash_signatures(sets: list[np.ndarray], permutations: int, seed: int) -> np.ndarray:
    """(n, permutations) uint64 MinHash signatures: hash function i is SplitMix64 of the code
    plus a seeded 64-bit offset; the signature entry is its minimum over a set. An empty set
    gets the maximum value."""
    offsets = np.random.default_rng(seed).integers(0, 2**63, permutations, dtype=np.uint64) * np.uint64(2)
    out = np.full((len(sets), permutations), np.iinfo(np.uint64).max, dtype=np.uint64)
    with np.errstate(over="ignore"):
        for i, codes in enumerate(sets):
            if len(codes):
                out[i] = _splitmix64(codes[None, :] + offsets[:, None]).min(axis=1)
    return out


def band_layout(permutations: int, threshold: float) -> tuple[int, int]:
    """(bands, rows) with bands * rows <= permutations: the most rows per band (fewest false
    candidates) whose S-curve midpoint (1 / bands) ** (1 / rows) is <= 0.8 x threshold."""
    best = (permutations, 1)
    for rows in range(1, permutations + 1):
        bands = permutations // rows
        if (1.0 / bands) ** (1.0 / rows) <= 0.8 * threshold:
            best = (bands, rows)
    return best


def candidate_probability(j: float, bands: int, rows: int) -> float:
    """Probability that a pair with Jaccard `j` shares at least one band."""
    return 1.0 - (1.0 - j**rows) ** bands


def near_duplicate_pairs(sequences: list[str], k: int = 8, threshold: float = 0.5, permutations: int = 128,
                         seed: int = 0, reverse_complement: bool = True) -> list[tuple[int, int, float]]:  # fmt: skip
    """Pairs (i, j, jaccard) with i < j whose k-mer Jaccard is >= `threshold`, among LSH candidates."""
    if not 0.0 < threshold <= 1.0:
        raise ValueError(f"threshold must be in (0, 1], got {threshold}")
    sets = [kmer_set(s, k, reverse_complement) for s in sequences]
    signatures = minhash_signatures(sets, permutations, seed)
    bands, rows = band_layout(permutations, threshold)
    has_kmers = np.flatnonzero([len(s) > 0 for s in sets])
    candidates: set[tuple[int, int]] = set()
    for band in range(bands):
        block = np.ascontiguousarray(signatures[has_kmers, band * rows : (band + 1) * rows])
        keys = block.view(np.dtype((np.void, block.dtype.itemsize * rows))).ravel()
        order = np.argsort(keys, kind="stable")
        sorted_keys = keys[order]
        starts = np.flatnonzero(np.r_[True, sorted_keys[1:] != sorted_keys[:-1]])
        ends = np.r_[starts[1:], len(order)]
        for s, e in zip(starts, ends):
            if e - s > 1:
                members = np.sort(has_kmers[order[s:e]])
                candidates.update((int(members[x]), int(members[y])) for x in range(len(members)) for y in range(x + 1, len(members)))
    pairs = []
    for i, j in sorted(candidates):
        score = jaccard(sets[i], sets[j])
        if score >= threshold:
            pairs.append((i, j, score))
    return pairs


def connected_groups(n: int, pairs) -> np.ndarray:
    """Group ids 0.. (numbered in order of first member) of the connected components of `pairs`."""
    parent = np.arange(n)

    def root(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for i, j, *_ in pairs:
        ri, rj = root(i), root(j)
        if ri != rj:
            parent[max(ri, rj)] = min(ri, rj)
    roots = np.array([root(x) for x in range(n)], dtype=np.int64)
    return np.unique(roots, return_inverse=True)[1] if n else roots
