"""Interpretation: fast ISM equals naive ISM, attribution properties, filter PWMs, Tomtom, bad input."""

import numpy as np
import pandas as pd
import pytest
from _utils import REPO, randomise_batch_norm

keras = pytest.importorskip("keras")

from deepcis.attributions import (  # noqa: E402
    attribute,
    baseline_for,
    dinucleotide_shuffle,
    predict_task,
)
from deepcis.errors import InputError  # noqa: E402
from deepcis.filter_motifs import (  # noqa: E402
    NamedMatrix,
    bh_qvalues,
    filter_pfms,
    information_content,
    match_motifs,
    read_motif_file,
)
from deepcis.interpret import read_region_bed, select_windows  # noqa: E402
from deepcis.ism import FastISM, fast_ism, ism, naive_ism  # noqa: E402
from deepcis.models import build_model  # noqa: E402

PLANTED = REPO / "resources" / "motifs" / "planted_motifs.jaspar"


def _window(length, seed=0, n_at=(3,)):
    rng = np.random.default_rng(seed)
    x = np.eye(4, dtype=np.float32)[rng.integers(0, 4, length)]
    for i in n_at:
        x[i] = 0  # an N: all four bases are tried there
    return x


FAST_CASES = [
    # even kernels, odd window lengths, pools with remainders, 'same' padding, pool stride != size
    ("deepsea", 203, {"conv_filters": [6, 6, 6], "kernel_size": [8, 5, 4], "pool_size": [4, 3], "dense_units": 8}),
    ("deepsea", 160, {"conv_filters": [6, 6], "kernel_size": [3, 6], "pool_size": [5], "dropout": 0.1, "dense_units": 8}),
    ("basset", 201, {"conv_filters": [6, 6, 6], "kernel_size": [7, 4, 3], "pool_size": [3, 2, 2], "dense_units": [8, 8]}),
    ("basset", 199, {"conv_filters": [6, 6, 6], "kernel_size": [6, 4, 3], "pool_size": [3, 2, 2], "dense_units": [8, 8],
                     "padding": "same"}),  # fmt: skip
    ("danq", 157, {"conv_filters": 6, "kernel_size": 10, "pool_size": 7, "pool_stride": 5, "lstm_units": 4, "dense_units": 8}),
]


@pytest.mark.parametrize("name, length, hp", FAST_CASES)
def test_fast_ism_equals_naive_ism(name, length, hp):
    keras.utils.set_random_seed(1)
    model = build_model(name, length, 3, hp)
    randomise_batch_norm(model)
    x = _window(length, n_at=(0, length // 2, length - 1))
    naive = naive_ism(model, x, batch_size=97)
    fast = fast_ism(model, x, batch_size=61)  # batches that do not divide the mutants
    scale = float(np.abs(naive).max())
    assert scale > 1e-4  # the model reacts, so the comparison means something
    # float32 outputs near 0.5 round at ~6e-8: the two paths agree to a few ulps of the output
    tol = 1e-6
    np.testing.assert_allclose(fast, naive, atol=tol, rtol=0)
    # with reverse-complement averaging too
    np.testing.assert_allclose(ism(model, x, "fast", reverse_complement=True),
                               ism(model, x, "naive", reverse_complement=True), atol=tol, rtol=0)  # fmt: skip


def test_ism_definition_and_reference_base_zero():
    keras.utils.set_random_seed(2)
    model = build_model("deepsea", 64, 2, {"conv_filters": [4, 4], "kernel_size": 5, "pool_size": 2, "dropout": 0.1, "dense_units": 4})
    x = _window(64, n_at=())
    delta = fast_ism(model, x)
    assert delta.shape == (64, 4, 2)
    assert np.all(delta[x.astype(bool)] == 0)  # the window's own base
    mutant = x.copy()
    mutant[10] = [0, 0, 0, 0]
    base = (int(np.argmax(x[10])) + 1) % 4
    mutant[10, base] = 1
    expect = model.predict(np.stack([mutant, x]), verbose=0)
    np.testing.assert_allclose(delta[10, base], expect[0] - expect[1], atol=1e-6)


def test_fast_ism_refuses_non_chain_models_and_auto_falls_back():
    keras.utils.set_random_seed(3)
    model = build_model("basenji_dilated", 64, 2, {"stem_filters": 4, "n_blocks": 1, "block_filters": 4, "dense_units": 4})
    x = _window(64)
    with pytest.raises(ValueError, match="one chain"):
        FastISM(model)
    np.testing.assert_allclose(ism(model, x, "auto"), naive_ism(model, x), atol=1e-6)


def test_ism_refuses_a_window_of_the_wrong_length():
    model = build_model("deepsea", 64, 1, {"conv_filters": [4, 4], "kernel_size": 5, "pool_size": 2, "dropout": 0.1, "dense_units": 4})
    with pytest.raises(ValueError, match="window length 65 does not match the model's input length 64"):
        ism(model, _window(65))


# --------------------------------------------------------------------------------------
# Attributions
# --------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def small_model():
    keras.utils.set_random_seed(4)
    return build_model("deepsea", 80, 2, {"conv_filters": [8, 8], "kernel_size": 6, "pool_size": 3, "dropout": 0.1, "dense_units": 8})


def test_fold_ensemble_ism_is_the_members_mean_and_spread(small_genome, small_model, tmp_path):
    """ensemble_ism (rule cv_ensemble_ism): `ism` is the mean of the members' ISM maps (that of
    the ensemble's mean output), `ism_sd` their sd; a member with other tasks is refused."""
    import h5py

    from deepcis.interpret import ensemble_ism
    from deepcis.keras_objects import with_metadata

    genome_path, _ = small_genome
    keras.utils.set_random_seed(9)
    hp = {"conv_filters": [8, 8], "kernel_size": 6, "pool_size": 3, "dropout": 0.1, "dense_units": 8}
    models = [small_model, build_model("deepsea", 80, 2, hp)]
    paths = []
    for i, model in enumerate(models):
        paths.append(tmp_path / f"fold{i}.keras")
        with_metadata(model, ["A", "B"], 80).save(paths[-1])
    windows = pd.DataFrame({"chrom": ["chrA", "chrB"], "start": [100, 2000], "end": [180, 2080], "task": ["B", "A"],
                            "source": "bed", "score": np.nan})  # fmt: skip
    summary = ensemble_ism(paths, genome_path, windows, tmp_path / "ism.h5", tmp_path / "ism.png", batch_size=64)
    assert summary["members"] == 2 and summary["ism_method"] == "fast"
    with h5py.File(tmp_path / "ism.h5") as f:
        x, mean, sd = f["x"][()].astype(np.float32), f["ism"][()], f["ism_sd"][()]
        assert f.attrs["ensemble_members"] == 2 and list(f["tasks"].asstr()[()]) == ["A", "B"]
    maps = np.stack([[ism(m, x[i], method="naive", reverse_complement=True) for i in range(2)] for m in models])
    np.testing.assert_allclose(mean, maps.mean(axis=0), atol=2e-5)
    np.testing.assert_allclose(sd, maps.std(axis=0, ddof=1), atol=2e-5)
    assert sd.max() > 0
    with_metadata(small_model, ["A", "C"], 80).save(tmp_path / "other.keras")
    with pytest.raises(InputError, match=r"other.keras: tasks \['A', 'C'\]"):
        ensemble_ism([paths[0], tmp_path / "other.keras"], genome_path, windows, tmp_path / "x.h5", tmp_path / "x.png")
    assert not (tmp_path / "x.h5").exists()


def test_grad_x_input_is_gradient_at_observed_bases(small_model):
    x = np.stack([_window(80, 5, n_at=()), _window(80, 6, n_at=())])
    saliency = attribute(small_model, x, 1, "saliency")
    gxi = attribute(small_model, x, 1, "grad_x_input")
    assert np.abs(saliency).max() > 0
    np.testing.assert_allclose(gxi, saliency * x)
    assert np.all(gxi[x == 0] == 0)


@pytest.mark.parametrize("baseline", ["uniform", "zeros", "shuffle"])
def test_integrated_gradients_completeness(small_model, baseline):
    """Sum of IG attributions ~ f(x) - f(baseline) (mean over the baselines for shuffles)."""
    x = _window(80, 7, n_at=())[None]
    ig = attribute(small_model, x, 0, "integrated_gradients", baseline=baseline, steps=256, n_shuffles=3, seed=1)
    bases = baseline_for(x[0], baseline, np.random.default_rng(1), 3)
    gap = predict_task(small_model, x, 0)[0] - predict_task(small_model, bases, 0).mean()
    assert abs(gap) > 1e-4
    assert abs(ig.sum() - gap) < 0.02 * abs(gap) + 1e-6, (ig.sum(), gap)


def test_dinucleotide_shuffle_keeps_dinucleotide_counts():
    x = _window(300, 8, n_at=())
    rng = np.random.default_rng(0)
    counts = lambda w: np.bincount(4 * np.argmax(w[:-1], 1) + np.argmax(w[1:], 1), minlength=16)  # noqa: E731
    shuffles = [dinucleotide_shuffle(x, rng) for _ in range(5)]
    for s in shuffles:
        assert np.array_equal(counts(s), counts(x))
        assert np.argmax(s[0]) == np.argmax(x[0]) and np.argmax(s[-1]) == np.argmax(x[-1])
    assert any(not np.array_equal(s, x) for s in shuffles)


def test_attribution_bad_input(small_model):
    with pytest.raises(ValueError, match="window length 81"):
        attribute(small_model, _window(81)[None], 0, "saliency")
    with pytest.raises(ValueError, match="task index 5"):
        attribute(small_model, _window(80)[None], 5, "saliency")
    with pytest.raises(ValueError, match="must be one of"):
        attribute(small_model, _window(80)[None], 0, "deeplift")


# --------------------------------------------------------------------------------------
# Filter motifs and Tomtom
# --------------------------------------------------------------------------------------


def test_filter_pwm_recovers_the_motif_its_weights_encode():
    """A conv filter set to a motif's log-odds: its activation PWM is that motif."""
    motif = read_motif_file(PLANTED)[0]  # CTCF, 19 bp
    probs = motif.probabilities(0.5)
    k = len(probs)
    model = build_model("danq", 300, 1, {"conv_filters": 2, "kernel_size": k, "pool_size": 4, "pool_stride": 4,
                                         "lstm_units": 2, "dense_units": 2})  # fmt: skip
    conv = model.get_layer("conv1")
    kernel = np.zeros((k, 4, 2), np.float32)
    kernel[:, :, 0] = np.log2(probs / 0.25)
    kernel[:, :, 1] = np.random.default_rng(0).normal(size=(k, 4))
    conv.set_weights([kernel, np.array([-8.0, 0.0], np.float32)])
    rng = np.random.default_rng(1)
    x = np.eye(4, dtype=np.float32)[rng.integers(0, 4, (200, 300))]
    for i in range(100):  # plant sampled instances in half the windows
        site = [rng.choice(4, p=p) for p in probs]
        start = rng.integers(0, 300 - k)
        x[i, start:start + k] = np.eye(4)[site]
    pfms, sites, _ = filter_pfms(model, x, fraction=0.5)
    assert sites[0] >= 50
    found = pfms[0] / pfms[0].sum(axis=1, keepdims=True)
    # every informative position's top base is the motif's, and the columns correlate
    informative = information_content(motif.counts) > 1.0
    assert np.array_equal(found[informative].argmax(1), probs[informative].argmax(1))
    assert np.corrcoef(found.ravel(), probs.ravel())[0, 1] > 0.9


def test_bh_qvalues():
    p = np.array([0.01, 0.04, 0.03, 0.005, 0.5])
    expect = np.array([0.025, 0.05, 0.05, 0.025, 0.5])  # p * n / rank, then running minimum from the top
    np.testing.assert_allclose(bh_qvalues(p), expect)


@pytest.fixture(scope="module")
def jaspar():
    from deepcis.filter_motifs import jaspar_database

    return jaspar_database()


def test_tomtom_matches_a_jaspar_matrix_to_itself_and_not_a_shuffle(jaspar):
    rng = np.random.default_rng(0)
    planted = read_motif_file(PLANTED)
    shuffled = [NamedMatrix(m.id + "_shuffled", "", m.counts[rng.permutation(len(m.counts))][:, rng.permutation(4)])
                for m in planted]  # fmt: skip
    table = match_motifs(planted + shuffled, jaspar, max_q=0.05, top=3)
    best = table[table["rank"] == 1].set_index("query")
    for m in planted:  # the same JASPAR matrix (a newer version of its ID) is the best match
        assert best.loc[m.id, "target_id"].split(".")[0] == m.id.split(".")[0]
        assert best.loc[m.id, "q_value"] < 0.05
    assert not table["query"].str.endswith("_shuffled").any(), table
    # calibration on 40 more shuffled JASPAR matrices: few match anything (a shuffled
    # poly-G or zinc-finger matrix may still resemble a real one), and no database matrix
    # attracts many of them (memelite's long-target p-values did: filter_motifs.MAX_TARGET_LENGTH)
    picks = rng.choice(len(jaspar), 40, replace=False)
    more = [NamedMatrix(f"s{i}", "", jaspar[i].counts[rng.permutation(len(jaspar[i].counts))][:, rng.permutation(4)])
            for i in picks]  # fmt: skip
    table = match_motifs(more, jaspar, max_q=0.05)
    assert table["query"].nunique() <= 8, table
    assert table["target_id"].value_counts().max() <= 2, table


# --------------------------------------------------------------------------------------
# Windows and bad input
# --------------------------------------------------------------------------------------


def test_region_bed_refuses_regions_outside_the_genome_or_of_the_wrong_length(tmp_path):
    sizes = {"chr1": 1000}
    bed = tmp_path / "regions.bed"
    bed.write_text("chr1\t100\t300\tB\nchr1\t900\t1100\n")
    with pytest.raises(InputError, match=r"regions.bed, line 2: region chr1:900-1100 is outside the genome"):
        read_region_bed(bed, sizes, 200, ["A", "B"])
    bed.write_text("chr1\t100\t301\n")
    with pytest.raises(InputError, match=r"line 1: region chr1:100-301 is 201 bp; the model's window length is 200 bp"):
        read_region_bed(bed, sizes, 200, ["A"])
    bed.write_text("chrX\t100\t300\n")
    with pytest.raises(InputError, match="chromosome 'chrX' is not in the genome"):
        read_region_bed(bed, sizes, 200, ["A"])
    bed.write_text("# regions\nchr1\t100\t300\tB\nchr1\t0\t200\n")
    windows = read_region_bed(bed, sizes, 200, ["A", "B"])
    assert windows[["start", "task"]].values.tolist() == [[100, "B"], [0, "A"]]


def test_variant_windows_are_centred_and_clipped(tmp_path):
    """Both forms of the effects (the long table and the matrix) give the same windows."""
    from deepcis.effects import MatrixWriter

    variants = {"chrom": ["chr1"] * 3, "pos": [500, 30, 700], "id": ["a", "b", "c"], "ref": ["A"] * 3,
                "alt": ["G"] * 3, "ref_match": [True] * 3}  # fmt: skip
    diff = np.array([[0.1, 0.0], [-0.9, 0.2], [0.0, 0.5]])  # alleles x tasks A, B
    scores = {"ref_prob": np.full((3, 2), 0.5), "alt_prob": 0.5 + diff, "diff": diff, "logit_diff": diff}
    long = tmp_path / "effects.tsv.gz"
    rows = [{k: v[i] for k, v in variants.items()} | {"task": t} | {k: v[i, j] for k, v in scores.items()}
            | {"abs_diff": abs(diff[i, j])} for i in range(3) for j, t in enumerate("AB")]  # fmt: skip
    pd.DataFrame(rows).to_csv(long, sep="\t", index=False)
    with MatrixWriter(tmp_path / "effects.h5", ["A", "B"], list(scores)) as writer:
        writer.append(variants, scores)
    for effects in (long, tmp_path / "effects.h5"):
        windows = select_windows("variants", {"chr1": 1000}, 200, ["A", "B"], 1, effects=effects)
        assert windows[["start", "end", "task"]].values.tolist() == [[0, 200, "A"], [599, 799, "B"]]


def test_interpretation_of_sequence_table_windows_by_id(tmp_path, small_model):
    """Without a genome (sequence tables) the top predicted test sequences are chosen by ID and
    their bases read from the encoded split (what ISM, attributions and attention maps then
    explain: `explain_windows` and `attention_maps` read them through `windows_x`); window
    sources that name genome positions are refused."""
    from deepcis import dataset
    from deepcis.interpret import windows_x
    from deepcis.keras_objects import with_metadata
    from deepcis.predict import predict_dataset

    codes = np.random.default_rng(2).integers(0, 5, (12, 80))
    attrs = {"genome": "none (sequence table)", "genome_sha256": "", "label_mode": "sequence_table", "split": "test",
             "config_sha256": "0"}  # fmt: skip
    ids = [f"seq{i}" for i in range(12)]
    with dataset.create_dataset(tmp_path / "test.h5", 12, 80, ["A", "B"], attrs) as f:
        dataset.write_rows(f, 0, codes, np.tile([[1, 1], [0, 0]], (6, 1)), ids, np.zeros(12), np.full(12, 80))
    with_metadata(small_model, ["A", "B"], 80).save(tmp_path / "model.keras")
    predict_dataset(tmp_path / "model.keras", tmp_path / "test.h5", tmp_path / "test.predictions.h5")
    windows = select_windows("top_predicted", None, 80, ["A", "B"], 2, predictions=tmp_path / "test.predictions.h5")
    assert len(windows) == 4 and set(windows["chrom"]) <= set(ids[::2])  # positives only, by ID
    x = windows_x(tmp_path / "test.h5", windows, 80, tmp_path / "model.keras")
    np.testing.assert_array_equal(x, np.eye(5, dtype=np.uint8)[codes[[ids.index(c) for c in windows["chrom"]]], :4])
    unknown = windows.assign(chrom="seq99")
    with pytest.raises(InputError, match="no sequence 'seq99'"):
        windows_x(tmp_path / "test.h5", unknown, 80, tmp_path / "model.keras")
    with pytest.raises(ValueError, match="names genome positions"):
        select_windows("bed", None, 80, ["A", "B"], bed=tmp_path / "x.bed")
