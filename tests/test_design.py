"""Sequence design: greedy and beam evolution create the motif a model detects (and remove the
one a contrast task detects), implantation at spacings and orientations, and the config checks
of the design objective."""

import numpy as np
import pytest
import yaml
from _utils import REPO

keras = pytest.importorskip("keras")

from deepcis.config import check_model_tasks, check_stage_models, validate_config  # noqa: E402
from deepcis.design import evolve, implant, motif_check, motif_codes, random_seeds, spacing_scan  # noqa: E402
from deepcis.errors import ConfigError  # noqa: E402
from deepcis.motifs import Motif  # noqa: E402

AP1, GATA = "TGACTCA", "AGATAAG"


def detector(motifs: list[str], length: int):
    """One output per motif: sigmoid(4 x (best match - k + 1.5)), the best match being the most
    bases of a k bp window agreeing with the motif on either strand (a full match gives 0.99)."""
    from keras import layers, ops

    inp = keras.Input((length, 4))
    outs, convs = [], []
    for motif in motifs:
        conv = layers.Conv1D(2, len(motif), use_bias=False)
        best = layers.Lambda(lambda t: ops.max(t, axis=-1, keepdims=True))(layers.GlobalMaxPooling1D()(conv(inp)))
        dense = layers.Dense(1, activation="sigmoid")
        outs.append(dense(best))
        convs.append((conv, dense, motif))
    model = keras.Model(inp, layers.Concatenate()(outs) if len(outs) > 1 else outs[0])
    for conv, dense, motif in convs:
        codes = np.array(["ACGT".index(b) for b in motif])
        k = len(motif)
        kernel = np.zeros((k, 4, 2), np.float32)
        kernel[np.arange(k), codes, 0] = 1
        kernel[np.arange(k), 3 - codes[::-1], 1] = 1  # the reverse-complement strand
        conv.set_weights([kernel])
        dense.set_weights([np.array([[4.0]], np.float32), np.array([-4.0 * (k - 1.5)], np.float32)])
    return model


def _has(x, motif):
    seq = "".join("ACGT"[i] for i in np.argmax(x, axis=1))
    rc = seq[::-1].translate(str.maketrans("ACGT", "TGCA"))
    return motif in seq or motif in rc


def test_greedy_and_beam_evolution_create_the_motif_and_the_contrast_removes_the_other():
    length = 40
    model = detector([AP1, GATA], length)
    seeds = random_seeds(3, length, 0.5, seed=1)
    assert not any(_has(s, AP1) for s in seeds)
    greedy = evolve(model, seeds, task=0, rounds=8, reverse_complement=False)
    assert all(_has(s, AP1) for s in greedy.designed)
    traj = greedy.trajectory
    for _, g in traj.groupby("sequence"):
        assert np.all(np.diff(g["objective"].to_numpy()) >= 0) and len(g) == 9  # one row per round, converged ones repeat
    assert traj[traj["round"] == 8]["task_prediction"].min() > 0.9
    # one edit per round until convergence; replaying the edits on the seed gives the design
    for n in range(3):
        edits = greedy.edits[greedy.edits["sequence"] == n]
        assert list(edits["round"]) == list(range(1, len(edits) + 1))
        replay = seeds[n].copy()
        for e in edits.itertuples():
            assert "ACGT"[np.argmax(replay[e.position])] == e._4  # the 'from' base
            replay[e.position] = np.eye(4, dtype=np.uint8)["ACGT".index(e.to)]
        np.testing.assert_array_equal(replay, greedy.designed[n])
    beam = evolve(model, seeds, task=0, rounds=8, beam_width=3, reverse_complement=False)
    assert all(_has(s, AP1) for s in beam.designed)
    assert (beam.trajectory.groupby("sequence")["objective"].max() >= greedy.trajectory.groupby("sequence")["objective"].max() - 1e-6).all()
    # contrast: from seeds holding GATA, maximise AP1 and keep GATA low
    with_gata = implant(seeds, motif_codes(Motif("g", "g", np.eye(4)[["ACGT".index(b) for b in GATA]] * 10)), 30)
    both = evolve(model, with_gata, task=0, contrast=[1], rounds=12, reverse_complement=False)
    assert all(_has(s, AP1) and not _has(s, GATA) for s in both.designed)
    assert both.trajectory["contrast_prediction"].iloc[-1] < 0.5


def test_motif_check_finds_the_planted_motif_at_the_example_threshold():
    from deepcis.motifs import read_jaspar

    fos_jun = {m.id: m for m in read_jaspar(REPO / "resources" / "motifs" / "planted_motifs.jaspar")}["MA0099.3"]
    x = random_seeds(2, 50, 0.5, seed=3)
    x[1] = implant(x[1:2], motif_codes(fos_jun, "-"), 25)[0]
    table = motif_check(x, fos_jun, 0.75)
    assert table["motif_match"].tolist() == [False, True]
    assert table.loc[1, "motif_score_fraction"] == pytest.approx(1.0) and table.loc[1, "motif_strand"] == "-"


def test_spacing_scan_places_pairs_and_skips_overlaps():
    length = 80
    model = detector([AP1, GATA], length)
    backgrounds = random_seeds(4, length, 0.5, seed=5)
    a = Motif("a", "AP1", np.eye(4)[["ACGT".index(b) for b in AP1]] * 10)
    b = Motif("b", "GATA", np.eye(4)[["ACGT".index(c) for c in GATA]] * 10)
    table = spacing_scan(model, backgrounds, a, b, spacings=[4, 10, 30], orientations=["++", "-+"], reverse_complement=False,
                         tasks=["ap1", "gata"])  # fmt: skip
    pairs = table[table["construct"] == "A+B"]
    assert sorted(set(pairs["spacing"])) == [10, 30]  # 4 bp would overlap two 7 bp motifs
    assert set(pairs["orientation"]) == {"++", "-+"} and set(table["construct"]) == {"A", "B", "A+B"}
    alone = table[(table["construct"] == "A") & (table["task"] == "ap1")]
    assert (alone["effect_mean"] > 0.5).all()  # the detector fires on the implanted motif, either strand
    x = implant(backgrounds[:1], motif_codes(a, "+"), 40)
    assert _has(x[0], AP1) and "".join("ACGT"[i] for i in np.argmax(x[0, 37:44], axis=1)) == AP1


def _config(patch):
    cfg = yaml.safe_load((REPO / "config" / "config.yaml").read_text())
    cfg["design"].update(patch)
    cfg = validate_config(cfg)
    check_model_tasks(cfg, ["CTCF", "GATA1", "GATA1_TAL1", "FOXA1", "AP1", "CTCF_signal"])
    check_stage_models(cfg, ["CTCF", "GATA1", "GATA1_TAL1", "FOXA1", "AP1"])
    return cfg


def test_design_objective_naming_an_unknown_task_is_refused_with_the_key():
    _config({})  # the example's own design section passes
    with pytest.raises(ConfigError, match=r"config key design.task: 'NFKB' is not a task of model 'danq_small' \(its tasks: CTCF"):
        _config({"task": "NFKB"})
    with pytest.raises(ConfigError, match=r"design.contrast_tasks: \['REST'\] not tasks of model 'danq_small'"):
        _config({"contrast_tasks": ["REST"]})
    with pytest.raises(ConfigError, match=r"design.check_models: model 'deepsea_small' does not predict the design task 'FOXA1'"):
        _config({"task": "FOXA1"})
    with pytest.raises(ConfigError, match=r"design.model: 'nope' is not a model"):
        _config({"model": "nope"})
