"""Cross-validation folds (deepcis.cv, rules/cv.smk): the assignment, its checks, the fold
datasets and tables, the fold ensembles and the paired comparison. The end-to-end run (3 folds x
2 models with a sweep, killed and resumed) is in tests/test_protocols_e2e.py."""

import h5py
import numpy as np
import pandas as pd
import pytest
from _utils import make_split

from deepcis.config import validate_config
from deepcis.cv import (
    assign_folds,
    check_cv,
    cv_models,
    fold_metrics_table,
    fold_parts,
    fold_spread,
    overlap_clusters,
    read_windows,
    write_fold_dataset,
)
from deepcis.cv_report import spread_figure
from deepcis.dataset import read_x
from deepcis.errors import ConfigError
from deepcis.intervals import overlaps_any


def _windows(seed=0, n_chrom=4, per_chrom=60, length=200, stride=100):
    """Tiled windows (stride < length: neighbours overlap) with gaps, on n_chrom chromosomes."""
    rng = np.random.default_rng(seed)
    rows = []
    for c in range(n_chrom):
        pos = 0
        for _ in range(per_chrom):
            pos += stride if rng.random() < 0.7 else int(rng.integers(300, 3000))
            rows.append((f"chr{c + 1}", pos, pos + length))
    return pd.DataFrame(rows, columns=["chrom", "start", "end"])


CV = {"block_size": 2000, "holdout": False}


@pytest.mark.parametrize("by", ["chromosome", "region", "fraction"])
@pytest.mark.parametrize("k", [3, 4])
def test_every_window_is_test_exactly_once_and_parts_never_overlap(by, k):
    windows = _windows()
    fold = assign_folds(windows, CV | {"folds": k, "by": by}, seed=3)
    assert set(np.unique(fold)) == set(range(k))
    tested = np.zeros(len(windows), dtype=int)
    for f in range(k):
        part = fold_parts(fold, f, k)
        tested += part == "test"
        assert (part == "valid").any() and (part == "train").any()
        for a in ("train", "valid", "test"):
            mine = windows[part == a].reset_index(drop=True)
            others = windows[part != a].reset_index(drop=True)
            assert not overlaps_any(mine, others).any(), (by, f, a)
    assert (tested == 1).all()
    # deterministic; fraction mode depends on the seed
    assert np.array_equal(fold, assign_folds(windows, CV | {"folds": k, "by": by}, seed=3))
    if by == "chromosome":
        assert windows.groupby("chrom").apply(lambda g: fold[g.index].min() == fold[g.index].max()).all()


def test_fraction_folds_follow_the_seed_and_region_folds_are_contiguous():
    windows = _windows(n_chrom=2, per_chrom=200)
    a = assign_folds(windows, CV | {"folds": 3, "by": "fraction"}, seed=1)
    b = assign_folds(windows, CV | {"folds": 3, "by": "fraction"}, seed=2)
    assert not np.array_equal(a, b)
    region = assign_folds(windows, CV | {"folds": 3, "by": "region"}, seed=1)
    assert np.all(np.diff(region) >= 0)  # genome order: fold 0, then 1, then 2
    assert np.bincount(region).min() > len(windows) / 3 * 0.7  # about equal sizes


def test_overlap_clusters_chain_overlaps_and_stop_at_chromosomes():
    windows = pd.DataFrame({"chrom": ["c1", "c1", "c1", "c1", "c2"], "start": [0, 150, 290, 600, 0],
                            "end": [200, 350, 490, 800, 200]})  # fmt: skip
    assert overlap_clusters(windows).tolist() == [0, 0, 0, 1, 2]


def test_fold_assignment_refuses_what_cannot_make_k_folds():
    windows = _windows(n_chrom=3)
    with pytest.raises(ConfigError, match="only 3 chromosome"):
        assign_folds(windows, CV | {"folds": 4, "by": "chromosome"}, seed=0)
    one_cluster = pd.DataFrame({"chrom": ["c1"] * 5, "start": range(0, 50, 10), "end": range(100, 150, 10)})
    with pytest.raises(ConfigError, match="only 1 clusters"):
        assign_folds(one_cluster, CV | {"folds": 3, "by": "region"}, seed=0)
    with pytest.raises(ConfigError, match="blocks of 10000000 bp"):
        assign_folds(windows, CV | {"folds": 4, "by": "fraction", "block_size": 10_000_000}, seed=0)
    with pytest.raises(ConfigError, match="3 folds for 2 window"):
        assign_folds(windows.head(2), CV | {"folds": 3, "by": "region"}, seed=0)


def _config(tmp_path, **cv):
    return {"genome": "g.fa", "tasks": "t.tsv", "models": {"m": {"architecture": "deepsea"}}, "cv": cv}


@pytest.mark.parametrize(
    "cv, message",
    [
        ({"folds": 2}, "at least 3 are needed"),
        ({"folds": 3, "folds_by": "x"}, "'folds_by' was unexpected"),
        ({"folds": 3, "by": "chromosomes"}, "cv.by"),
        ({"folds": 3, "models": ["nope"]}, "'nope' is not in models"),
        ({"folds": -1}, "cv.folds"),
    ],
)
def test_cv_config_is_checked_at_parse_time(tmp_path, cv, message):
    with pytest.raises(ConfigError, match=message):
        validate_config(_config(tmp_path, **cv))


def test_cv_fold_count_against_the_chromosomes(tmp_path):
    config = validate_config(_config(tmp_path, folds=4))
    with pytest.raises(ConfigError, match="4 folds by chromosome, but only 3"):
        check_cv(config, ["chr1", "chr2", "chr3"])
    check_cv(config, ["chr1", "chr2", "chr3", "chr4"])
    check_cv(config, None)  # genome not indexed yet: rule cv_folds checks the windows
    held_out = validate_config(_config(tmp_path, folds=3, holdout=True) | {"split": {"valid": ["chr1"], "test": ["chr4"]}})
    with pytest.raises(ConfigError, match="outside the held-out test split"):
        check_cv(held_out, ["chr1", "chr2", "chr4"])
    assert validate_config(_config(tmp_path, folds=3, by="region"))["cv"]["block_size"] == 1_000_000


def test_external_and_transfer_models_have_no_folds(tmp_path):
    config = validate_config(_config(tmp_path, folds=3))
    # after validation: what the external and transfer sections look like there
    config["models"]["ext"] = {"external": {"file": "x.keras"}}
    config["models"]["tuned"] = {"architecture": "deepsea", "transfer": {"from": "m"}}
    assert check_cv(config) is None and cv_models(config) == ["m"]  # default: neither is in
    for name, message in [("ext", "external model"), ("tuned", "fine-tuned from a model")]:
        config["cv"]["models"] = ["m", name]
        with pytest.raises(ConfigError, match=message):
            check_cv(config)
    config["cv"]["models"] = []
    with pytest.raises(ConfigError, match="no trained model"):
        check_cv(config)
    config["cv"]["models"], config["tasks"] = None, None  # a sequence-table config
    with pytest.raises(ConfigError, match="sequence tables"):
        check_cv(config)


def test_fold_datasets_hold_the_assigned_rows(tmp_path):
    sources = {s: make_split(tmp_path / f"{s}.h5", n, seed=i, split=s) for i, (s, n) in enumerate([("train", 40), ("valid", 12), ("test", 12)])}
    windows = read_windows(sources)
    assert len(windows) == 64
    windows["fold"] = np.arange(len(windows)) % 3
    total = 0
    for part in ("train", "valid", "test"):
        out = tmp_path / f"fold1.{part}.h5"
        n = write_fold_dataset(sources, windows, 1, 3, part, out, {"cv_assignment_sha256": "abc"}, block_rows=5)
        total += n
        expected = windows[fold_parts(windows["fold"].to_numpy(), 1, 3) == part]
        with h5py.File(out) as f:
            assert f.attrs["split"] == part and f.attrs["cv_fold"] == "fold1" and f.attrs["cv_assignment_sha256"] == "abc"
            assert f["start"][()].tolist() == expected["start"].tolist()
            first = expected.iloc[0]
            with h5py.File(sources[first["source"]]) as src:
                assert np.array_equal(read_x(f, 0), read_x(src, int(first["row"])))
                assert np.array_equal(f["y"][()][0], src["y"][int(first["row"])])
    assert total == 64


def test_fold_tables_mean_and_sd():
    def frame(a, b):
        return pd.DataFrame({"task": ["t1", "t2"], "auroc": [a, b], "auprc": [a / 2, b / 2],
                             "pearson": [np.nan] * 2, "spearman": [np.nan] * 2})  # fmt: skip

    per_fold = fold_metrics_table({("m", "fold0"): frame(0.6, 0.8), ("m", "fold1"): frame(0.8, np.nan)})
    overall = per_fold[per_fold["task"] == "overall"]["auroc"].tolist()
    assert overall == pytest.approx([0.7, 0.8])
    spread = fold_spread(per_fold).set_index("task")
    assert spread.loc["t1", "auroc_mean"] == pytest.approx(0.7)
    assert spread.loc["t1", "auroc_sd"] == pytest.approx(np.std([0.6, 0.8], ddof=1))
    assert np.isnan(spread.loc["t2", "auroc_sd"])  # one defined fold: no sd
    assert spread.loc["overall", "folds"] == 2


def test_spread_figure_stays_readable_with_many_tasks(tmp_path):
    """47 tasks x 3 models (the chrX comparison) once made a 158-inch figure: at most 40 in."""
    from PIL import Image

    rng = np.random.default_rng(0)

    def frame(tasks):
        return pd.DataFrame({"task": [f"t{j}" for j in range(tasks)], "auroc": rng.uniform(0.5, 0.7, tasks),
                             "auprc": rng.uniform(0, 0.1, tasks), "pearson": np.nan, "spearman": np.nan})  # fmt: skip

    for tasks, widest in ((47, 40), (2, 6)):
        per_fold = fold_metrics_table({(m, f"fold{k}"): frame(tasks) for m in ("deepsea", "basset", "danq") for k in range(3)})
        spread_figure(per_fold, tmp_path / f"{tasks}.png")
        with Image.open(tmp_path / f"{tasks}.png") as image:
            dpi = round(image.info.get("dpi", (120, 120))[0])
            assert image.width <= widest * dpi + 1, (tasks, image.width, dpi)


# --------------------------------------------------------------------------------------
# Fold ensembles (deepcis.ensemble; no TensorFlow)
# --------------------------------------------------------------------------------------


def _predictions(path, y_true, y_pred, tasks=("a", "b"), starts=None):
    from deepcis.predict import create_predictions, write_prediction_rows

    n = len(y_true)
    starts = np.arange(n) * 100 if starts is None else np.asarray(starts)
    with create_predictions(path, n, list(tasks), {"split": "test"}) as f:
        write_prediction_rows(f, 0, ["chr1"] * n, starts, starts + 100, y_true, y_pred)
    return path


def test_ensemble_mean_beats_noisy_members_and_checks_they_match(tmp_path):
    from deepcis.ensemble import ensemble_comparison, mean_predictions
    from deepcis.errors import InputError
    from deepcis.predict import read_predictions

    rng = np.random.default_rng(0)
    y = (rng.random((400, 2)) < 0.4).astype(np.float32)
    # each member: the truth plus its own strong noise; their mean cancels part of the noise
    members = {f"fold{k}": _predictions(tmp_path / f"{k}.h5", y, y * 0.5 + rng.random(y.shape).astype(np.float32)) for k in range(3)}
    out = tmp_path / "ens.h5"
    assert mean_predictions(list(members.values()), out) == {"members": 3, "windows": 400, "tasks": 2}
    stack = np.stack([read_predictions(p).y_pred for p in members.values()])
    assert np.allclose(read_predictions(out).y_pred, stack.mean(axis=0), atol=1e-6)
    with h5py.File(out) as f:
        assert np.allclose(f["y_pred_sd"][()], stack.std(axis=0, ddof=1), atol=1e-6)
    table = ensemble_comparison(members, out).set_index(["member", "task"])
    assert table.loc[("mean_single", "a"), "auroc"] == pytest.approx(np.mean([table.loc[(f"fold{k}", "a"), "auroc"] for k in range(3)]))
    assert table.loc[("gain", "overall"), "auroc"] > 0  # the ensemble averages the noise away
    assert table.loc[("gain", "a"), "auroc"] == pytest.approx(table.loc[("ensemble", "a"), "auroc"] - table.loc[("mean_single", "a"), "auroc"])
    # members that did not predict the same windows, tasks or labels are refused, naming the file
    other = _predictions(tmp_path / "o.h5", y, y, starts=np.arange(400) * 100 + 1)
    with pytest.raises(InputError, match="windows differ"):
        mean_predictions([members["fold0"], other], tmp_path / "x.h5")
    with pytest.raises(InputError, match="tasks"):
        mean_predictions([members["fold0"], _predictions(tmp_path / "t.h5", y, y, tasks=("a", "c"))], tmp_path / "x.h5")
    with pytest.raises(InputError, match="labels differ"):
        mean_predictions([members["fold0"], _predictions(tmp_path / "l.h5", 1 - y, y)], tmp_path / "x.h5")
    assert not (tmp_path / "x.h5").exists()


def test_ensemble_effects_mean_and_spread(tmp_path):
    import gzip

    from deepcis.ensemble import ensemble_effects
    from deepcis.errors import InputError

    keys = "chrom\tpos\tid\tref\talt\tref_match\ttask"
    head = keys + "\tref_prob\talt_prob\tdiff\tabs_diff\tlogit_diff\n"

    def table(path, rows):
        with gzip.open(path, "wt") as f:
            f.write(head + "".join(f"chr1\t{p}\tv{p}\tA\tG\tTrue\tT1\t{r}\t{a}\t{a - r}\t{abs(a - r)}\t0.5\n" for p, r, a in rows))
        return path

    paths = [table(tmp_path / f"{k}.tsv.gz", [(10, 0.2, 0.2 + d), (20, 0.5, 0.5)]) for k, d in enumerate([0.1, 0.3, 0.5])]
    out = tmp_path / "ens.tsv.gz"
    assert ensemble_effects(paths, out)["members"] == 3
    got = pd.read_csv(out, sep="\t")
    assert got["diff"].tolist() == pytest.approx([0.3, 0.0])
    assert got["diff_sd"].tolist() == pytest.approx([0.2, 0.0])
    assert got[["diff_min", "diff_max"]].iloc[0].tolist() == pytest.approx([0.1, 0.5])
    assert "pvalue" not in got.columns and list(got.columns[:7]) == keys.split("\t")
    assert gzip.open(out).read() and out.read_bytes()[4:8] == b"\0\0\0\0"  # no mtime: same bytes on a rerun
    with pytest.raises(InputError, match="alleles or tasks differ"):
        ensemble_effects([paths[0], table(tmp_path / "x.tsv.gz", [(10, 0.2, 0.3)])], tmp_path / "bad.tsv.gz")
    # members in the matrix form give the same ensemble, written in either form
    from deepcis.effects import MatrixWriter, iter_effects

    h5s = []
    for k, d in enumerate([0.1, 0.3, 0.5]):
        alt = np.array([[0.2 + d], [0.5]])
        scores = {"ref_prob": np.array([[0.2], [0.5]]), "alt_prob": alt, "diff": alt - [[0.2], [0.5]], "logit_diff": np.full((2, 1), 0.5)}
        with MatrixWriter(tmp_path / f"{k}.h5", ["T1"], list(scores), "float32") as writer:
            writer.append({"chrom": ["chr1"] * 2, "pos": [10, 20], "id": ["v10", "v20"], "ref": ["A"] * 2, "alt": ["G"] * 2,
                           "ref_match": [True, True]}, scores)  # fmt: skip
        h5s.append(tmp_path / f"{k}.h5")
    ensemble_effects(h5s, [tmp_path / "ens.h5", tmp_path / "ens2.tsv.gz"], matrix_dtype="float32")
    pd.testing.assert_frame_equal(pd.read_csv(tmp_path / "ens2.tsv.gz", sep="\t"), got)
    (block,) = iter_effects(tmp_path / "ens.h5")
    assert block.scores["diff_sd"][:, 0].tolist() == pytest.approx([0.2, 0.0])


def test_ensemble_needs_an_outer_test_set_variants_tracks_or_ism(tmp_path):
    off = {"interpret": {"enabled": False}}  # (on by default: ISM of every model, so of the ensemble too)
    with pytest.raises(ConfigError, match="nothing to ensemble"):
        validate_config(_config(tmp_path, folds=3, ensemble=True, holdout=False) | off)
    two = _config(tmp_path, folds=3, ensemble=True, models=["m"]) | off
    two["models"]["n"] = {"architecture": "deepsea"}
    with pytest.raises(ConfigError, match="nothing to ensemble"):  # tracks of another model only
        validate_config(two | {"tracks": {"enabled": True, "models": ["n"]}})
    validate_config(_config(tmp_path, folds=3, ensemble=True, holdout=True) | off)
    validate_config(_config(tmp_path, folds=3, ensemble=True) | off | {"variants": {"vcf": "v.vcf"}})
    validate_config(_config(tmp_path, folds=3, ensemble=True) | off | {"tracks": {"enabled": True}})
    validate_config(_config(tmp_path, folds=3, ensemble=True) | {"interpret": {"enabled": True, "models": ["m"]}})


# --------------------------------------------------------------------------------------
# Paired comparison of cross-validated models (deepcis.cv_compare; config/architecture_comparison)
# --------------------------------------------------------------------------------------


def _per_fold(values: dict) -> pd.DataFrame:
    rows = [{"model": m, "fold": f"fold{k}", "task": "overall", "auroc": v, "auprc": v / 2, "pearson": np.nan,
             "spearman": np.nan} for m, vs in values.items() for k, v in enumerate(vs)]  # fmt: skip
    rows.append({"model": "a", "fold": "fold0", "task": "t1", "auroc": 0.1, "auprc": 0.1, "pearson": np.nan, "spearman": np.nan})
    return pd.DataFrame(rows)


def test_best_model_against_the_rest_fold_by_fold():
    from scipy.stats import binomtest, wilcoxon

    from deepcis.cv_compare import best_against_rest, paired_table

    per_fold = _per_fold({"a": [0.80, 0.82, 0.79, 0.85, 0.81], "b": [0.75, 0.80, 0.70, 0.84, 0.78],
                          "c": [0.81, 0.80, 0.80, 0.83, 0.80]})  # fmt: skip
    table = best_against_rest(per_fold, "auroc")
    assert set(table["best"]) == {"a"} and table["other"].tolist() == ["c", "b"]  # smallest gap first
    b = table.set_index("other").loc["b"]
    diffs = np.array([0.05, 0.02, 0.09, 0.01, 0.03])
    assert b["diff_mean"] == pytest.approx(diffs.mean()) and b["diff_sd"] == pytest.approx(diffs.std(ddof=1))
    assert (b["best_wins"], b["other_wins"], b["folds"]) == (5, 0, 5)
    assert b["wilcoxon_p"] == pytest.approx(wilcoxon(diffs).pvalue) == pytest.approx(0.0625)  # 5 folds: 2/2^5 at best
    assert b["sign_p"] == pytest.approx(binomtest(5, 5).pvalue)
    c = table.set_index("other").loc["c"]
    assert (c["best_wins"], c["other_wins"]) == (3, 2) and c["sign_p"] == pytest.approx(1.0)
    # a fold one model lacks is left out of the pairing; one model alone has nothing to compare
    missing = per_fold[~((per_fold["model"] == "b") & (per_fold["fold"] == "fold4"))]
    assert best_against_rest(missing, "auroc")["folds"].tolist() == [4, 4]
    assert best_against_rest(_per_fold({"a": [0.8, 0.9]}), "auroc").empty
    both = paired_table(per_fold)
    assert both["metric"].tolist() == ["auroc", "auroc", "auprc", "auprc"]
