"""deepcis.motifs: JASPAR reader, probabilities / log-odds, scanning."""

import pickle
from pathlib import Path

import numpy as np
import pytest

from deepcis import motifs as mt
from deepcis.errors import InputError

REPO = Path(__file__).resolve().parents[1]
BUNDLED = REPO / "resources" / "motifs" / "planted_motifs.jaspar"

GOOD = """# a comment
>MA0001.1\tTOY
A [ 10 0 0 5 ]
C [ 0 10 0 5 ]
G [ 0 0 10 0 ]
T [ 0 0 0 0 ]

>MA0002.1 SECOND name
A  1 2
C  1 2
G  1 2
T  1 2
"""


def _write(tmp_path, text, name="m.jaspar"):
    path = tmp_path / name
    path.write_text(text)
    return path


def _naive_scores(pwm, seq):
    """Reference scan: one window at a time, both strands, N -> -inf."""
    comp = {"A": "T", "C": "G", "G": "C", "T": "A"}
    w = pwm.shape[0]
    fwd, rev = [], []
    for i in range(len(seq) - w + 1):
        window = seq[i : i + w].upper()
        if any(b not in "ACGT" for b in window):
            fwd.append(-np.inf)
            rev.append(-np.inf)
            continue
        fwd.append(sum(pwm[j, "ACGT".index(b)] for j, b in enumerate(window)))
        rc = "".join(comp[b] for b in reversed(window))
        rev.append(sum(pwm[j, "ACGT".index(b)] for j, b in enumerate(rc)))
    return np.array(fwd), np.array(rev)


def test_bundled_file_has_the_five_planted_motifs():
    motifs = mt.read_jaspar(BUNDLED)
    assert [m.id for m in motifs] == ["MA0139.1", "MA0035.4", "MA0091.1", "MA0148.4", "MA0099.3"]
    assert [m.name for m in motifs] == ["CTCF", "GATA1", "TAL1::TCF3", "FOXA1", "FOS::JUN"]
    assert [m.length for m in motifs] == [19, 11, 12, 12, 10]
    ctcf = motifs[0]
    assert ctcf.counts.shape == (19, 4)
    # columns are A, C, G, T: position 5 of CTCF is A 8, C 903, G 0, T 2
    np.testing.assert_array_equal(ctcf.counts[4], [8, 903, 0, 2])
    assert ctcf.consensus() == "TGGCCACCAGGGGGCGCTA"
    assert motifs[4].consensus() == "ATGAGTCATC"


def test_reader_accepts_names_with_spaces_and_rows_without_brackets(tmp_path):
    motifs = mt.read_jaspar(_write(tmp_path, GOOD))
    assert [(m.id, m.name, m.length) for m in motifs] == [("MA0001.1", "TOY", 4), ("MA0002.1", "SECOND name", 2)]
    np.testing.assert_array_equal(motifs[0].counts[:, 0], [10, 0, 0, 5])
    assert not motifs[0].counts.flags.writeable


def test_probabilities_and_log_odds(tmp_path):
    toy = mt.read_jaspar(_write(tmp_path, GOOD))[0]
    p0 = toy.probabilities(pseudocount=0)
    np.testing.assert_allclose(p0[3], [0.5, 0.5, 0, 0])
    p = toy.probabilities(pseudocount=1.0)
    np.testing.assert_allclose(p.sum(axis=1), 1.0)
    np.testing.assert_allclose(p[0], [10.25 / 11, 0.25 / 11, 0.25 / 11, 0.25 / 11])
    lo = toy.log_odds()
    np.testing.assert_allclose(lo, np.log2(p / 0.25))
    bg = [0.3, 0.2, 0.2, 0.3]
    p_bg = toy.probabilities(1.0, bg)
    np.testing.assert_allclose(toy.log_odds(bg), np.log2(p_bg / np.array(bg)))
    assert toy.max_score() == pytest.approx(lo.max(axis=1).sum())
    assert toy.min_score() == pytest.approx(lo.min(axis=1).sum())
    assert np.isinf(toy.log_odds(pseudocount=0)).any()  # zero counts without pseudocount
    with pytest.raises(ValueError):
        toy.probabilities(background=[0.5, 0.5, 0, 0])
    rc = toy.reverse_complement()
    np.testing.assert_array_equal(rc.counts, toy.counts[::-1, ::-1])


def test_scan_matches_a_naive_scan_on_both_strands():
    rng = np.random.default_rng(3)
    seq = "".join(rng.choice(list("ACGTacgt"), size=400))
    seq = seq[:100] + "N" + seq[101:250] + "nnR" + seq[253:]
    for motif in mt.read_jaspar(BUNDLED):
        fwd, rev = mt.scan(motif, seq)
        ref_f, ref_r = _naive_scores(motif.log_odds(), seq)
        assert fwd.shape == ref_f.shape == (len(seq) - motif.length + 1,)
        np.testing.assert_array_equal(np.isinf(fwd), np.isinf(ref_f))
        finite = np.isfinite(ref_f)
        np.testing.assert_allclose(fwd[finite], ref_f[finite], atol=1e-9)
        np.testing.assert_allclose(rev[np.isfinite(ref_r)], ref_r[np.isfinite(ref_r)], atol=1e-9)
        assert np.isneginf(fwd[100]) and not np.isnan(fwd).any()


def test_scan_accepts_codes_and_one_hot_and_finds_the_consensus():
    ctcf = mt.read_jaspar(BUNDLED)[0]
    flank = "ACGTTGCA" * 3
    seq = flank + ctcf.consensus().lower() + flank + mt.reverse_complement(ctcf.consensus()) + flank
    codes = mt.encode(seq)
    one_hot = np.eye(4, dtype=np.uint8)[np.minimum(codes, 3)]
    for form in (seq, codes, one_hot):
        fwd, rev = mt.scan(ctcf, form)
        assert int(np.argmax(fwd)) == 24 and fwd[24] == pytest.approx(ctcf.max_score())
        assert int(np.argmax(rev)) == 24 + 19 + 24 and rev.max() == pytest.approx(ctcf.max_score())
    hits = mt.find_matches(ctcf, seq, 0.9 * ctcf.max_score())
    assert [(h.start, h.strand) for h in hits] == [(24, "+"), (67, "-")]
    best = mt.best_match(ctcf, seq)
    assert best.start == 24 and best.strand == "+"
    assert mt.score_window(ctcf, ctcf.consensus()) == pytest.approx(ctcf.max_score())
    # an all-zero one-hot row is an N
    one_hot[30] = 0
    assert np.isneginf(mt.scan(ctcf, one_hot)[0][24])


def test_encode_decode_round_trip():
    codes = mt.encode("ACGTNacgtRy")
    np.testing.assert_array_equal(codes, [0, 1, 2, 3, 4, 0, 1, 2, 3, 4, 4])
    assert mt.decode(codes) == "ACGTNACGTNN"
    assert mt.reverse_complement("AACGTN") == "NACGTT"


@pytest.mark.parametrize(
    "text, line, words",
    [
        ("A [ 1 2 ]\n", 1, "before any"),
        (">M1 X\nA [ 1 2 ]\nC [ 1 2 ]\nG [ 1 2 ]\nU [ 1 2 ]\n", 5, "row label"),
        (">M1 X\nA [ 1 2 ]\nC [ 1 x ]\nG [ 1 2 ]\nT [ 1 2 ]\n", 3, "not a number"),
        (">M1 X\nA [ 1 2 ]\nC [ 1 2 3 ]\nG [ 1 2 ]\nT [ 1 2 ]\n", 3, "has 3 counts"),
        ("# c\n>M1 X\nA [ 1 2 ]\nC [ 1 2 ]\nG [ 1 2 ]\n>M2\n", 2, "lacks row(s) T"),
        (">M1 X\nA [ 1 2 ]\nA [ 1 2 ]\n", 3, "second A row"),
        (">M1 X\nA 1 1\nC 1 1\nG 1 1\nT 1 1\n>M1 Y\n", 6, "duplicate motif ID"),
        (">M1 X\nA [ 1 -2 ]\n", 2, ">= 0"),
        (">M1 X\nA [ 1 2\n", 2, "does not close"),
        (">\n", 1, "without a motif ID"),
        ("# only comments\n\n", 2, "no motifs"),
        (">M1 X\nA [ 0 1 ]\nC [ 0 1 ]\nG [ 0 1 ]\nT [ 0 1 ]\n", 1, "position 1 has no counts"),
    ],
)
def test_malformed_files_name_the_line(tmp_path, text, line, words):
    path = _write(tmp_path, text, "bad.jaspar")
    with pytest.raises(mt.JasparFormatError) as info:
        mt.read_jaspar(path)
    err = info.value
    assert isinstance(err, ValueError) and isinstance(err, InputError)
    assert pickle.loads(pickle.dumps(err)).line == line
    assert err.line == line
    assert str(path) in str(err) and f"line {line}" in str(err) and words in str(err)


def test_missing_file_raises_file_not_found(tmp_path):
    with pytest.raises(FileNotFoundError):
        mt.read_jaspar(tmp_path / "absent.jaspar")
