"""The bundled example as ground truth for the stages of issue 18, on the session's example run
(tests/conftest.py; danq_small trained at the example's own settings): MoDISco patterns from
the attributions recover the planted matrices, the genome tracks light up at the planted sites,
and designed sequences carry the task's planted motif and raise a separately trained model's
prediction too."""

import numpy as np
import pandas as pd
import pytest
from _utils import FULLY_TRAINED, REPO

TASKS = ["CTCF", "GATA1", "GATA1_TAL1", "FOXA1", "AP1"]


@pytest.fixture(scope="module")
def run(example_run):
    workdir, _ = example_run
    assert FULLY_TRAINED == "danq_small"
    return workdir


@pytest.mark.slow
def test_modisco_patterns_recover_the_planted_matrices(run):
    """At least 4 of the 5 planted JASPAR matrices are matched (Tomtom q < 0.05) by a MoDISco
    pattern of danq_small, against JASPAR CORE vertebrates holding the planted versions."""
    from deepcis.filter_motifs import jaspar_database, read_motif_file, tomtom
    from deepcis.modisco import read_meme

    out = run / "results" / "interpret" / "danq_small"
    summary = pd.read_csv(out / "contributions.tsv", sep="\t")
    # danq_small's BiLSTM is not a layer DeepLIFT handles exactly: the fallback is named
    assert summary["task"].tolist() == ["CTCF", "GATA1_TAL1", "FOXA1", "AP1"]  # interpret.deeplift.tasks
    assert set(summary["method"]) == {"integrated_gradients"}
    assert set(summary["unsupported_layers"]) == {"Bidirectional"} and (summary["windows"] == 30).all()
    planted = read_motif_file(REPO / "resources" / "motifs" / "planted_motifs.jaspar")
    ids = {m.id.split(".")[0] for m in planted}
    database = [m for m in jaspar_database() if m.id.split(".")[0] not in ids] + planted
    found = read_meme(out / "modisco_motifs.meme")
    assert len(found) >= 5
    _, q, _, _ = tomtom([m.probabilities(0.01) for m in found], [m.probabilities(0.5) for m in database])
    best_q = {m.name: float(q[:, len(database) - len(planted) + k].min()) for k, m in enumerate(planted)}
    print("best q of each planted matrix over the MoDISco patterns:", best_q)
    assert sum(v < 0.05 for v in best_q.values()) >= 4, best_q
    # the workflow's own table names known motifs for the tasks they drive
    patterns = pd.read_csv(out / "modisco_patterns.tsv", sep="\t")
    best = patterns[patterns["sign"] == "positive"].groupby("task")["best_match_name"].apply(set)
    assert "CTCF" in best["CTCF"], best.to_dict()
    seqlets = pd.read_csv(out / "modisco_seqlets.tsv", sep="\t")
    assert set(seqlets["chrom"]) <= {"chr3"} and (seqlets["end"] > seqlets["start"]).all()  # the test chromosome
    assert (out / "modisco_patterns.png").stat().st_size > 0 and (out / "contributions.png").stat().st_size > 0


@pytest.mark.slow
def test_tracks_light_up_at_the_planted_sites(run):
    """Predicted signal at the centres of the bound planted instances of each task, over the mean
    signal of the tiled region, in the example's region of the test chromosome."""
    from deepcis.tracks import signal_at

    sites = pd.read_csv(run / "resources" / "example" / "motif_sites.bed", sep="\t", header=None,
                        names=["chrom", "start", "end", "id", "score", "strand", "kind", "tasks", "group"])  # fmt: skip
    chrom, lo, hi = "chr3", 10_000 + 300, 110_000 - 300  # the covered part of config/example_track_regions.bed
    bound = sites[(sites["chrom"] == chrom) & (sites["kind"] == "bound") & (sites["start"] > lo) & (sites["end"] < hi)]
    ratios = {}
    for task in TASKS:
        path = run / "results" / "tracks" / "danq_small" / "bigwig" / f"{task}.bw"
        at = bound[bound["tasks"].str.split(",").map(lambda t, task=task: task in t)]
        centres = ((at["start"] + at["end"]) // 2).to_numpy()
        assert len(centres) >= 10, task
        background = np.nanmean(signal_at(path, chrom, np.arange(lo, hi)))
        ratios[task] = float(np.nanmean(signal_at(path, chrom, centres)) / background)
    print("track signal at planted sites / region mean:", {t: round(r, 1) for t, r in ratios.items()})
    assert min(ratios.values()) > 3, ratios
    table = pd.read_csv(run / "results" / "tracks" / "danq_small" / "tracks.tsv", sep="\t")
    assert (table["peak_ratio"] > 2).all(), table  # the peaks of the tasks sheet light up as well


@pytest.mark.slow
def test_designed_sequences_carry_the_motif_and_a_separately_trained_model_agrees(run):
    out = run / "results" / "design" / "danq_small"
    check = pd.read_csv(out / "check.tsv", sep="\t")
    print(check.to_string())
    # every design ends near 1 and above its seed; a seed that starts low gains more than 0.5 (a
    # random seed can already score high: 0.68, without a FOS::JUN match, in one CI run)
    assert (check["designed_AP1"] > 0.9).all() and (check["designed_AP1"] > check["seed_AP1"]).all()
    low = check["seed_AP1"] < 0.5
    assert low.sum() >= 2 and (check["designed_AP1"][low] > check["seed_AP1"][low] + 0.5).all()
    # the planted FOS::JUN matrix (MA0099.3) at the example's match threshold: none before, most after
    assert check["seed_motif_match"].sum() == 0 and check["designed_motif_match"].sum() >= 3
    # the k-mer baseline, fitted separately on the same windows, agrees; deepsea_small (trained for
    # two epochs in this session's quick run) is reported in the table
    assert check["designed_AP1_kmer_baseline"].mean() > check["seed_AP1_kmer_baseline"].mean() + 0.2
    assert "designed_AP1_deepsea_small" in check
    fasta = (out / "designed.fa").read_text().split(">")[1:]
    assert len(fasta) == len(check) and all(len("".join(r.splitlines()[1:])) == 600 for r in fasta)
    edits = pd.read_csv(out / "edits.tsv", sep="\t")
    assert len(edits) >= len(check) and set(edits["to"]) <= set("ACGT")
    implant = pd.read_csv(out / "implant.tsv", sep="\t")
    pair = implant[(implant["construct"] == "A+B") & (implant["task"] == "GATA1_TAL1")]
    assert sorted(set(pair["spacing"])) == [12, 20, 30, 40, 60, 120]
    for name in ("trajectory.png", "implant.png"):
        assert (out / name).stat().st_size > 0
