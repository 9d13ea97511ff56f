"""Run summary, report tables and provenance (deepcis.report_tables) on small hand-made inputs."""

import hashlib
import json

import numpy as np
import pandas as pd
import pytest

from deepcis import report_tables as rs
from deepcis import variants
from deepcis.errors import InputError

TASKS = ["CTCF", "GATA1", "REG"]


def _metrics(path, auroc, auprc, pearson=(np.nan, np.nan, np.nan)):
    df = pd.DataFrame({"task": TASKS, "kind": ["binary", "binary", "regression"], "n": 100, "positives": [10, 20, 0],
                       "negatives": [90, 80, 0], "auroc": auroc, "auprc": auprc, "pearson": pearson,
                       "spearman": pearson, "note": ["", "", ""]})  # fmt: skip
    df.to_csv(path, sep="\t", index=False, na_rep="NA")
    return path


def _model_json(path, seconds, kind="CPU", devices=("/device:CPU:0",)):
    info = {"train_seconds": seconds, "epochs_run": 7, "best_epoch": 5, "versions": {"keras": "3.15.1"},
            "devices": {"kind": kind, "devices": list(devices), "replicas": len(devices)}}  # fmt: skip
    path.write_text(json.dumps(info))
    return path


@pytest.fixture
def run(tmp_path):
    metrics = {
        "a": _metrics(tmp_path / "a.tsv", [0.9, 0.6, np.nan], [0.5, 0.3, np.nan], [np.nan, np.nan, 0.2]),
        "b": _metrics(tmp_path / "b.tsv", [0.8, 0.7, np.nan], [0.6, 0.2, np.nan], [np.nan, np.nan, 0.5]),
        "kmer_baseline": _metrics(tmp_path / "k.tsv", [0.7, 0.65, np.nan], [0.1, 0.25, np.nan]),
    }
    models = {"a": _model_json(tmp_path / "a.json", 100.0),
              "b": _model_json(tmp_path / "b.json", 4000.0, "GPU", ("/device:GPU:0", "/device:GPU:1"))}  # fmt: skip
    bench = tmp_path / "fit.tsv"
    bench.write_text("s\th:m:s\tmax_rss\n12.5\t0:00:12\t100\n")
    return tmp_path, metrics, models, {"kmer_baseline": bench}


def test_summary_scores_time_device_and_best_per_task(run):
    tmp, metrics, models, baseline = run
    out = tmp / "out"
    summary = rs.write_run_summary(metrics, models, baseline, "test", out / "s.tsv", out / "s.html", out / "f.html")
    summary = summary.set_index("model")
    assert summary.loc["a", "median_auroc"] == pytest.approx(0.75)
    assert summary.loc["b", "mean_auprc"] == pytest.approx(0.4)
    assert summary.loc["b", "median_pearson"] == pytest.approx(0.5) and np.isnan(summary.loc["kmer_baseline", "median_pearson"])
    assert summary.loc["a", "train_seconds"] == 100.0 and summary.loc["kmer_baseline", "train_seconds"] == 12.5
    assert summary.loc["a", "device"] == "CPU"
    assert summary.loc["b", "device"] == "GPU x2 (/device:GPU:0, /device:GPU:1)"
    assert summary.loc["kmer_baseline", "device"] == "CPU (scikit-learn)"
    assert summary.loc["a", "epochs"] == "7 (best 5)"
    table = rs.per_task_scores({m: rs.read_metrics_table(p) for m, p in metrics.items()}, "auroc")
    assert rs.best_models(table).tolist() == ["a", "b", ""]  # a task without AUROC has no winner
    fragment = (out / "f.html").read_text()
    assert fragment.startswith('<div class="deepcis-summary">') and "<html" not in fragment
    assert "<td>CTCF</td><td>a (0.900)</td><td>b (0.600)</td>" in fragment
    assert "<td>REG</td><td>NA</td><td>NA</td><td>b (0.500)</td>" in fragment  # Pearson wins on regression
    page = (out / "s.html").read_text()
    assert page.startswith("<!doctype html>") and "<script" not in page and "http" not in page
    assert '<td class="best">0.900</td>' in page and "66.7 min" in page and "12 s" in page
    tsv = pd.read_csv(out / "s.tsv", sep="\t")
    assert tsv["model"].tolist() == ["a", "b", "kmer_baseline"]


def test_models_on_different_task_subsets(tmp_path):
    a = rs.read_metrics_table(_metrics(tmp_path / "a.tsv", [0.9, 0.6, np.nan], [0.5, 0.3, np.nan]))
    b = rs.read_metrics_table(_metrics(tmp_path / "b.tsv", [0.8, 0.7, np.nan], [0.6, 0.2, np.nan]))
    b = b[b["task"] == "GATA1"].reset_index(drop=True)
    table = rs.per_task_scores({"b": b, "a": a}, "auroc")
    assert table.index.tolist() == ["GATA1", "CTCF", "REG"] and np.isnan(table.loc["CTCF", "b"])
    assert rs.best_models(table).tolist() == ["b", "a", ""]


def test_html_escapes_names(tmp_path):
    path = _metrics(tmp_path / "m.tsv", [0.9, 0.6, np.nan], [0.5, 0.3, np.nan])
    html = rs.metrics_html("<b>x</b>", {"test": path})
    assert "&lt;b&gt;x&lt;/b&gt;" in html and "<b>x</b>" not in html


def test_bad_inputs_name_the_file(tmp_path):
    bad = tmp_path / "bad.tsv"
    bad.write_text("task\tauroc\nCTCF\t0.5\n")
    with pytest.raises(InputError, match=r"bad.tsv: not a metrics table"):
        rs.read_metrics_table(bad)
    with pytest.raises(InputError, match=r"bad.tsv: not a Snakemake benchmark"):
        rs.read_benchmark_seconds(bad)
    with pytest.raises(InputError, match=r"bad.tsv: not a prepare stats table"):
        rs.read_stats(bad)
    with pytest.raises(InputError, match=r"missing.fa: input file \(genome\) not found"):
        rs.run_info({}, {"genome": tmp_path / "missing.fa"})


def test_top_effects_streams_in_chunks(tmp_path):
    rng = np.random.default_rng(0)
    n = 1000
    diff = rng.normal(size=n)
    df = pd.DataFrame({"chrom": "chr1", "pos": np.arange(n) + 1, "id": [f"v{i}" for i in range(n)], "ref": "A",
                       "alt": "C", "ref_match": True, "task": "CTCF", "ref_prob": 0.5, "alt_prob": 0.5 + diff / 10,
                       "diff": diff, "abs_diff": np.abs(diff), "logit_diff": diff})  # fmt: skip
    path = tmp_path / "effects.tsv.gz"
    df.to_csv(path, sep="\t", index=False)
    top = variants.top_effects(path, 15, chunksize=97)
    expected = df.nlargest(15, "abs_diff", keep="first")
    assert top["id"].tolist() == expected["id"].tolist()
    html = rs.top_effects_html("m", path, 15)
    assert html.count("<tr>") == 16



def test_top_effects_of_an_empty_table(tmp_path):
    """Nothing scored (a header, no rows): an empty table in the report and the figure, not an
    error. A file without even a header, or without abs_diff, is refused naming the file."""
    header_only = tmp_path / "none.tsv.gz"
    pd.DataFrame(columns=variants.TSV_COLUMNS).to_csv(header_only, sep="\t", index=False)
    top = variants.top_effects(header_only, 5)
    assert len(top) == 0 and list(top.columns) == variants.TSV_COLUMNS
    html = rs.top_effects_html("m", header_only, 5)
    assert html.count("<tr>") == 1 and "the 0 variant alleles" in html
    (tmp_path / "empty.tsv").write_text("")
    with pytest.raises(InputError, match=r"empty.tsv: empty file"):
        variants.top_effects(tmp_path / "empty.tsv", 5)
    (tmp_path / "other.tsv").write_text("chrom\tpos\nchr1\t5\n")
    with pytest.raises(InputError, match=r"other.tsv: not a variant-scores table"):
        variants.top_effects(tmp_path / "other.tsv", 5)

def test_data_summary_tables(tmp_path):
    stats = pd.DataFrame(
        [("windows", s, item, v) for s, vals in {"train": (100, 40, 60), "test": (50, 10, 40)}.items()
         for item, v in zip(("all", "positive", "negative"), vals)]
        + [("positives", "train", "CTCF", 30), ("positives", "test", "CTCF", 5),
           ("drops", "positive", "blacklist", 7), ("input", "all", "negatives_wanted", 99)],
        columns=["section", "split", "item", "value"],
    )  # fmt: skip
    path = tmp_path / "stats.tsv"
    stats.to_csv(path, sep="\t", index=False)
    rs.write_data_summary(path, tmp_path / "d.html")
    html = (tmp_path / "d.html").read_text()
    assert "<td>train</td><td>100</td><td>40</td><td>60</td><td>40.0%</td>" in html
    assert "<td>CTCF</td><td>30 (30.0%)</td><td>5 (10.0%)</td>" in html
    assert "<td>blacklist</td><td>7</td>" in html


def test_run_info_checksums_versions_and_config(tmp_path):
    genome = tmp_path / "genome.fa"
    genome.write_bytes(b">chr1\nACGT\n" * 1000)
    model = _model_json(tmp_path / "m.json", 5.0)
    config = {"seed": 7, "models": {"m": {"architecture": "deepsea"}}}
    info = rs.write_run_info(config, {"genome": genome}, {"m": model}, tmp_path / "ri.json", tmp_path / "ri.html")
    assert info["inputs"]["genome"]["sha256"] == hashlib.sha256(genome.read_bytes()).hexdigest()
    assert info["inputs"]["genome"]["bytes"] == genome.stat().st_size
    assert info["versions"]["pandas"] == pd.__version__ and "snakemake" in info["versions"]
    assert info["models"]["m"]["versions"] == {"keras": "3.15.1"}
    assert json.loads((tmp_path / "ri.json").read_text())["config"] == config
    html = (tmp_path / "ri.html").read_text()
    assert info["inputs"]["genome"]["sha256"] in html and "architecture: deepsea" in html
