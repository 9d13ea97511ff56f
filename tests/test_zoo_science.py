"""The model zoo's second round on the bundled example (ground truth: the planted motifs).

deepbind_small, transformer_small and ae_small are trained in the session's example run at the
example's own settings (tests/_utils.py SCIENCE_TRAINED), so these checks read what the
workflow made. The GAN and a per_task entry run on top of that run's data at a small size
(one extra Snakemake call that reuses its encoded splits and danq_small)."""

import json

import pandas as pd
import pytest
import yaml
from _utils import SCIENCE_TRAINED, run_snakemake

TASKS = ["CTCF", "GATA1", "GATA1_TAL1", "FOXA1", "AP1"]
SINGLE_MOTIF = ["CTCF", "GATA1", "FOXA1", "AP1"]


def _auroc(workdir, model):
    path = workdir / "results" / "evaluate" / model / "test.metrics.tsv"
    return pd.read_csv(path, sep="\t").set_index("task")["auroc"]


@pytest.fixture(scope="module")
def trained(example_run):
    workdir, _ = example_run
    assert set(SCIENCE_TRAINED) == {"deepbind_small", "transformer_small", "ae_small"}
    return workdir


@pytest.mark.slow
def test_deepbind_and_transformer_learn_the_planted_motifs(trained):
    deepbind, transformer = _auroc(trained, "deepbind_small"), _auroc(trained, "transformer_small")
    danq, kmer = _auroc(trained, "danq_small"), _auroc(trained, "kmer_baseline")
    print("deepbind", deepbind.round(3).to_dict(), "transformer", transformer.round(3).to_dict(),
          "danq", danq.round(3).to_dict(), "kmer", kmer.round(3).to_dict())  # fmt: skip
    assert deepbind[SINGLE_MOTIF].max() >= 0.9, deepbind.to_dict()
    # every planted task at 0.9 but GATA1, which stays just under it (measured 0.89;
    # docs/models.md): its unbound and one-base-broken GATA1 instances lie in negative windows
    assert (transformer[[t for t in TASKS if t != "GATA1"]] >= 0.9).all(), transformer.to_dict()
    assert transformer["GATA1"] >= 0.85, transformer.to_dict()
    # the combination task (GATA1 + TAL1 at a set spacing) is beyond k-mer counts
    assert transformer["GATA1_TAL1"] > kmer["GATA1_TAL1"] + 0.05
    for model in ("deepbind_small", "transformer_small"):
        info = json.loads((trained / "results" / "models" / model / "model.json").read_text())
        assert info["epochs_run"] > 2 and info["tasks"] == TASKS
    attention = trained / "results" / "interpret" / "transformer_small" / "attention.png"
    assert attention.stat().st_size > 10_000


@pytest.mark.slow
def test_autoencoder_reconstructs_and_its_embeddings_beat_the_untrained_encoder(trained):
    embed = trained / "results" / "embed" / "ae_small"
    reconstruction = pd.read_csv(embed / "reconstruction.tsv", sep="\t").set_index("split")
    assert (reconstruction["reconstruction_accuracy"] >= 0.95).all(), reconstruction.to_dict()
    probe = pd.read_csv(embed / "probe.tsv", sep="\t").set_index("task")
    print(probe.round(3).to_string())
    assert probe["trained_better"].sum() >= 3, probe.to_dict()
    summary = pd.read_csv(trained / "results" / "evaluate" / "summary.tsv", sep="\t")
    assert "ae_small" in set(summary["model"])  # reported beside the supervised models
    for split in ("train", "valid", "test"):
        assert (embed / f"{split}.h5").stat().st_size > 0
    assert (embed / "projection.png").stat().st_size > 10_000


@pytest.mark.slow
def test_gan_and_per_task_entry_run_on_the_example(example_run):
    """A small WGAN-GP and a per_task DeepBind entry through the workflow, on the example run's
    encoded splits (--rerun-triggers mtime keeps that run's outputs; only these targets run)."""
    workdir, quick = example_run
    cfg = yaml.safe_load(quick.read_text())
    cfg["models"]["gan_tiny"] = {
        "architecture": "gan",
        "hyperparameters": {"length": 64, "latent_dim": 16, "filters": 16, "n_blocks": 2, "critic_steps": 5},
        "train": {"epochs": 2, "batch_size": 64, "learning_rate": 0.0005},
        "generative": {"samples": 200, "scorer": "danq_small", "motifs": "resources/motifs/planted_motifs.jaspar"},
    }  # fmt: skip
    cfg["models"]["deepbind_pt"] = {"architecture": "deepbind", "per_task": True, "tasks": ["CTCF", "AP1"],
                                    "hyperparameters": {"conv_filters": 8}, "train": {"epochs": 1}}  # fmt: skip
    extended = workdir / "extended.yaml"
    extended.write_text(yaml.safe_dump(cfg))
    targets = ["results/generate/gan_tiny/metrics.tsv", "results/generate/gan_tiny/comparison.png",
               "results/models/gan_tiny/training_curves.png", "results/evaluate/deepbind_pt/test.metrics.tsv"]  # fmt: skip
    run_snakemake(workdir, "--configfile", str(extended), "--rerun-triggers", "mtime", *targets)
    metrics = pd.read_csv(workdir / "results" / "generate" / "gan_tiny" / "metrics.tsv", sep="\t").set_index("set")
    assert list(metrics.index) == ["generated", "real_heldout", "real_train", "uniform", "dinucleotide_shuffled"]
    assert (metrics["sequences"] == 200).all() and (metrics["length"] == 64).all()
    assert metrics.loc["real_heldout", "kmer4_distance"] == 0
    # the baselines behave as they should against real DNA
    assert metrics.loc["dinucleotide_shuffled", "kmer4_distance"] < metrics.loc["uniform", "kmer4_distance"]
    assert metrics.loc["real_train", "motif_matches_per_kb"] > 2 * metrics.loc["uniform", "motif_matches_per_kb"]
    assert {f"activity:{t}" for t in TASKS} <= set(metrics.columns)
    samples = (workdir / "results" / "generate" / "gan_tiny" / "samples.fa").read_text().split("\n")
    assert samples[0] == ">gan_tiny_1" and sum(line.startswith(">") for line in samples) == 200
    per_task = pd.read_csv(workdir / "results" / "evaluate" / "deepbind_pt" / "test.metrics.tsv", sep="\t")
    assert per_task["task"].tolist() == ["CTCF", "AP1"]
    for member in ("deepbind_pt__CTCF", "deepbind_pt__AP1"):
        info = json.loads((workdir / "results" / "models" / member / "model.json").read_text())
        assert info["tasks"] == [member.split("__")[1]]
    assert (workdir / "logs" / "generative" / "train_gan.gan_tiny.log").is_file()
