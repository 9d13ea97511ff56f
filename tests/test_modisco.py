"""TF-MoDISco (modisco-lite) on attributions with a known motif, pattern matching and trimming,
the MEME file and the seqlet coordinates."""

import numpy as np
import pytest
from _utils import REPO

pytest.importorskip("modiscolite")

from deepcis.filter_motifs import jaspar_database, read_motif_file  # noqa: E402
from deepcis.modisco import Pattern, discover, pattern_tables, read_meme, seqlet_table, write_meme  # noqa: E402

PLANTED = REPO / "resources" / "motifs" / "planted_motifs.jaspar"


@pytest.fixture(scope="module")
def database():
    """JASPAR CORE vertebrates with the planted versions of the planted matrices."""
    planted = read_motif_file(PLANTED)
    ids = {m.id.split(".")[0] for m in planted}
    return [m for m in jaspar_database() if m.id.split(".")[0] not in ids] + planted


def test_modisco_finds_the_motif_the_attributions_carry(database):
    """Windows with a CTCF instance (drawn from its matrix, random strand) whose hypothetical
    contributions are the matrix's log-odds at the instance and small noise elsewhere: the
    pattern MoDISco finds matches the planted CTCF matrix, and its seqlets sit on the instances."""
    planted = {m.name: m for m in read_motif_file(PLANTED)}
    ctcf = planted["CTCF"]
    rng = np.random.default_rng(0)
    n, length = 160, 120
    codes = rng.integers(0, 4, (n, length))
    hyp = rng.normal(0, 0.02, (n, length, 4))
    p = ctcf.probabilities(0.5)
    log_odds = np.log2(p / 0.25)
    k = len(p)
    at = rng.integers(20, length - 20 - k, n)
    for i in range(n):
        site = np.array([rng.choice(4, p=row) for row in p])
        scores = log_odds
        if rng.random() < 0.5:  # the other strand
            site, scores = (3 - site)[::-1], log_odds[::-1, ::-1]
        codes[i, at[i]:at[i] + k] = site
        hyp[i, at[i]:at[i] + k] += 0.3 * scores
    x = np.eye(4)[codes]
    patterns = discover(x, hyp, "CTCF", min_metacluster_size=20, n_leiden_runs=2)
    positive = [q for q in patterns if q.sign == "positive"]
    assert positive, patterns
    table, matches, motifs = pattern_tables(positive, database)
    best = table.sort_values("seqlets", ascending=False).iloc[0]
    assert best["best_match_name"] == "CTCF" and best["best_q_value"] < 1e-3, table
    assert best["seqlets"] >= 0.5 * n and best["trimmed_end"] - best["trimmed_start"] >= 12
    # seqlets in genome coordinates overlap the planted instances
    windows = {"CTCF": {"chrom": ["chr1"] * n, "start": np.arange(n) * 1000}}
    seqlets = seqlet_table([q for q in positive if q.name == best["pattern"]], windows)
    row = (seqlets["start"] // 1000).to_numpy()
    overlap = np.minimum(seqlets["end"] - row * 1000, at[row] + k) - np.maximum(seqlets["start"] - row * 1000, at[row])
    assert (overlap > 0).mean() > 0.9


def test_near_uniform_patterns_are_listed_not_matched_and_meme_round_trips(tmp_path, database):
    planted = read_motif_file(PLANTED)
    gata = planted[1]
    counts = gata.counts / gata.counts.sum(axis=1, keepdims=True)
    flank = np.full((6, 4), 0.25)
    sharp = Pattern("GATA1", "pos_patterns.pattern_0", "positive", np.vstack([flank, counts, flank]),
                    np.vstack([flank * 0, counts * 2, flank * 0]), np.zeros((len(counts) + 12, 4)), [(0, 0, 23, False)] * 40)  # fmt: skip
    uniform = np.full((40, 4), 0.25) + np.random.default_rng(1).normal(0, 0.02, (40, 4))
    flat = Pattern("GATA1", "pos_patterns.pattern_1", "positive", uniform / uniform.sum(axis=1, keepdims=True),
                   np.ones((40, 4)), np.zeros((40, 4)), [(0, 0, 40, False)] * 30)  # fmt: skip
    table, _, motifs = pattern_tables([sharp, flat], database)
    assert table["matched"].tolist() == [True, False]
    assert table.loc[0, "best_match_id"] == "MA0035.4"  # the flat flanks (zero CWM) are trimmed off
    assert 6 <= table.loc[0, "trimmed_start"] < table.loc[0, "trimmed_end"] <= 6 + len(counts)
    assert table.loc[1, "best_match_id"] == "" and np.isnan(table.loc[1, "best_q_value"])
    write_meme(motifs, tmp_path / "m.meme")
    text = (tmp_path / "m.meme").read_text()
    assert text.startswith("MEME version 5") and "MOTIF GATA1.pos_patterns.pattern_0" in text and "nsites= 40" in text
    back = read_meme(tmp_path / "m.meme")
    assert [m.id for m in back] == ["GATA1.pos_patterns.pattern_0"]
    np.testing.assert_allclose(back[0].counts, motifs[0].probabilities(), atol=1e-6)
