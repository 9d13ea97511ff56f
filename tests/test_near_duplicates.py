"""Near-duplicate detection (MinHash + LSH candidates, exact k-mer Jaccard decides) and the
sequence-table split that keeps near-duplicates on one side."""

import numpy as np
import pandas as pd
import pytest

from deepcis.near_duplicates import (
    band_layout,
    candidate_probability,
    connected_groups,
    jaccard,
    kmer_set,
    near_duplicate_pairs,
)
from deepcis.seqtable import assign_table_splits

RNG = np.random.default_rng(7)


def random_seq(n: int, rng=RNG) -> str:
    return "".join(rng.choice(list("ACGT"), n))


def mutate(seq: str, rate: float, rng=RNG) -> str:
    s = np.array(list(seq))
    where = rng.random(len(s)) < rate
    s[where] = [rng.choice([b for b in "ACGT" if b != c]) for c in s[where]]
    return "".join(s)


def revcomp(seq: str) -> str:
    return seq.translate(str.maketrans("ACGT", "TGCA"))[::-1]


def test_kmer_sets_skip_n_and_are_strand_blind():
    assert kmer_set("ACGTNACGT", 4, reverse_complement=False).tolist() == [0b00011011]  # only ACGT twice
    s = random_seq(80)
    assert np.array_equal(kmer_set(s, 6), kmer_set(revcomp(s), 6))
    assert not np.array_equal(kmer_set(s, 6, reverse_complement=False), kmer_set(revcomp(s), 6, reverse_complement=False))
    assert len(kmer_set("ACG", 4)) == 0 and jaccard(kmer_set("ACG", 4), kmer_set("NNNN", 4)) == 0.0
    with pytest.raises(ValueError, match="k must be"):
        kmer_set(s, 32)


def test_band_layout_puts_the_s_curve_below_the_threshold():
    bands, rows = band_layout(128, 0.5)
    assert bands * rows <= 128 and (1 / bands) ** (1 / rows) <= 0.4
    assert candidate_probability(0.6, bands, rows) >= 0.99
    assert candidate_probability(0.1, bands, rows) < 0.05


def test_planted_near_duplicates_are_found_and_random_sequences_are_not():
    """100 random 200 bp sequences, 20 of them copied with 2% substitutions (k=8 Jaccard ~0.5-0.8),
    5 as reverse complements with 1%: every planted pair found, no pair between unrelated ones."""
    base = [random_seq(200) for _ in range(100)]
    copies = [mutate(base[i], 0.02) for i in range(20)] + [revcomp(mutate(base[i], 0.01)) for i in range(20, 25)]
    seqs = base + copies
    truth = {(i, 100 + i) for i in range(25)}
    exact = {(i, j) for i in range(len(seqs)) for j in range(i + 1, len(seqs))
             if jaccard(kmer_set(seqs[i], 8), kmer_set(seqs[j], 8)) >= 0.5}  # fmt: skip
    found = near_duplicate_pairs(seqs, k=8, threshold=0.5, permutations=128, seed=1)
    assert {(i, j) for i, j, _ in found} == exact
    assert exact <= truth and len(exact) >= 20  # a 2% copy may fall under 0.5 now and then
    assert all(score >= 0.5 for *_, score in found)
    strand = near_duplicate_pairs(seqs, k=8, threshold=0.5, seed=1, reverse_complement=False)
    assert not {(i, j) for i, j, _ in strand} & {(i, 100 + i) for i in range(20, 25)}


def test_connected_groups_number_components_in_order():
    assert connected_groups(6, [(4, 5, 1.0), (1, 4, 1.0), (2, 3, 0.9)]).tolist() == [0, 1, 2, 2, 1, 1]
    assert connected_groups(0, []).tolist() == []


def test_split_keeps_near_duplicates_together_and_drops_those_near_the_test_table():
    base = [random_seq(150) for _ in range(60)]
    near = [mutate(base[i], 0.01) for i in range(30)]
    table = pd.DataFrame({"sequence": base + near, "y": [1.0, 0.0] * 45})
    split, counts = assign_table_splits(table, None, 0.2, 0.2, "random", seed=3,
                                        near={"k": 8, "threshold": 0.5, "permutations": 128})  # fmt: skip
    for i in range(30):
        assert split[i] == split[60 + i]
    changed = sum(near[i] != base[i] for i in range(30))  # an unchanged copy is an exact duplicate
    assert counts["near_duplicate_pairs"] == counts["near_duplicate_sequences"] == changed
    assert counts["groups"] == 60 and counts["duplicate_sequences"] == 30 - changed
    plain, plain_counts = assign_table_splits(table, None, 0.2, 0.2, "random", seed=3)
    assert sum(plain[i] != plain[60 + i] for i in range(30)) > 0 and "near_duplicate_pairs" not in plain_counts

    test = pd.DataFrame({"sequence": [mutate(base[i], 0.01) for i in range(5)] + [base[40]], "y": 1.0})
    split, counts = assign_table_splits(table, test, 0.2, 0.0, "random", seed=3,
                                        near={"k": 8, "threshold": 0.5, "permutations": 128})  # fmt: skip
    dropped = set(np.flatnonzero(split == "dropped"))
    assert {0, 1, 2, 3, 4, 60, 61, 62, 63, 64, 40} <= dropped  # near test, their near copies, the exact one
    assert counts["train_in_test_dropped"] == len(dropped)


def test_prepare_sequence_table_reports_near_duplicates(tmp_path):
    """The config section reaches the split: near copies counted in the stats table, kept together."""
    from deepcis.config import validate_config
    from deepcis.seqtable import prepare_sequence_table

    base = [random_seq(200) for _ in range(80)]
    seqs = base + [mutate(base[i], 0.01) for i in range(10)]
    path = tmp_path / "t.tsv"
    pd.DataFrame({"id": [f"s{i}" for i in range(90)], "sequence": seqs, "bound": [i % 2 for i in range(90)]}).to_csv(path, sep="\t", index=False)
    cfg = validate_config({"sequence_table": {"train": [str(path)], "near_duplicates": {"enabled": True}},
                           "prepare": {"window_length": 200}, "interpret": {"enabled": False}})["sequence_table"]  # fmt: skip
    outputs = {s: tmp_path / f"{s}.h5" for s in ("train", "valid", "test")}
    outputs |= {"stats": tmp_path / "stats.tsv", "plot": tmp_path / "balance.png"}
    counts = prepare_sequence_table(cfg, 200, 42, outputs, "0" * 64)
    changed = sum(seqs[80 + i] != base[i] for i in range(10))
    stats = pd.read_csv(outputs["stats"], sep="\t").set_index("item")["value"]
    assert stats["near_duplicate_pairs"] == counts["near_duplicate_pairs"] == changed
    with pytest.raises(Exception, match="threshold"):
        validate_config({"sequence_table": {"train": [str(path)], "near_duplicates": {"threshold": 0}}})
