"""Genome tracks (bigWig values read back at known positions, header from the genome, the
attribution track), predictions of FASTA sequences (exact, padded, cropped), and bad input:
contigs not in the genome, regions shorter than a window, stride 0, non-ACGTN characters."""

import numpy as np
import pandas as pd
import pytest
from _utils import REPO, write_bed

keras = pytest.importorskip("keras")
pyBigWig = pytest.importorskip("pyBigWig")

from deepcis.deeplift import deep_lift_shap  # noqa: E402
from deepcis.errors import ConfigError, InputError  # noqa: E402
from deepcis.genome import Genome, reverse_complement  # noqa: E402
from deepcis.keras_objects import with_metadata  # noqa: E402
from deepcis.models import build_model  # noqa: E402
from deepcis.sequences import check_fasta, fit_to_window, predict_fasta  # noqa: E402
from deepcis.tracks import check_stride, predict_tracks, read_track_regions, whole_chromosomes  # noqa: E402

LENGTH = 100


@pytest.fixture(scope="module")
def model_file(tmp_path_factory):
    keras.utils.set_random_seed(7)
    hp = {"conv_filters": [4, 4], "kernel_size": 5, "pool_size": 2, "dropout": 0.1, "dense_units": 4}
    model = with_metadata(build_model("deepsea", LENGTH, 2, hp), ["T1", "T2"], LENGTH)
    path = tmp_path_factory.mktemp("tracks_model") / "model.keras"
    model.save(path)
    return path, model


def _both_strands(model, x):
    x = np.asarray(x, np.float32)
    return (model.predict(x, verbose=0) + model.predict(reverse_complement(x), verbose=0)) / 2


def test_bigwig_reads_back_with_the_predictions_at_known_positions(small_genome, model_file, tmp_path):
    genome_path, records = small_genome
    path, model = model_file
    sizes = {c: len(s) for c, s in records.items()}
    bed = write_bed(tmp_path / "regions.bed", [("chrA", 1000, 1990), ("chrA", 1500, 2600), ("chrB", 0, 6000)])
    regions = read_track_regions(bed, sizes, LENGTH)
    assert regions.values.tolist() == [["chrA", 1000, 2600], ["chrB", 0, 6000]]  # overlapping regions merged
    stride = 30
    info = predict_tracks(path, genome_path, regions, tmp_path / "bw", stride, block=7, attribution_task="T2",
                          attribution_shuffles=2, seed=3)  # blocks that split the regions  # fmt: skip
    assert info["files"] == ["T1.bw", "T2.bw", "T2.attribution.bw"] and info["windows"] == 51 + 197
    with Genome(genome_path) as genome:
        starts = np.array([1000, 1030, 2470, 2500])  # windows of chrA (the last one ends at 2600)
        x = genome.one_hot_windows("chrA", starts, LENGTH)
        attribution = deep_lift_shap(model, x[3:].astype(np.float32), 1, 2, 3, offset=50)  # window 50 of the run
    want = _both_strands(model, x)
    bw = pyBigWig.open(str(tmp_path / "bw" / "T1.bw"))
    try:
        assert bw.isBigWig() and bw.chroms() == sizes  # every chromosome of the genome, with its size
        for i, s in enumerate(starts):
            lo = s + (LENGTH - stride) // 2  # the window's central `stride` bp
            got = bw.values("chrA", int(lo), int(lo + stride))
            np.testing.assert_allclose(got, np.full(stride, want[i, 0]), rtol=1e-5)
        assert np.isnan(bw.values("chrA", 1034, 1035)[0])  # before the first window's centre: no data
        assert bw.values("chrB", 5920, 5921)[0] == pytest.approx(_both_strands(model, Genome(genome_path).one_hot_windows(
            "chrB", np.array([5880]), LENGTH))[0, 0], rel=1e-5)  # fmt: skip
    finally:
        bw.close()
    att = pyBigWig.open(str(tmp_path / "bw" / "T2.attribution.bw"))
    try:
        lo = 2500 + (LENGTH - stride) // 2
        per_base = attribution.contributions[0].sum(axis=1)[(LENGTH - stride) // 2:(LENGTH + stride) // 2]
        np.testing.assert_allclose(att.values("chrA", lo, lo + stride), per_base, rtol=1e-4, atol=1e-7)
    finally:
        att.close()


def test_fold_ensemble_tracks_are_the_members_mean_and_spread(small_genome, model_file, tmp_path):
    """ensemble_tracks (rule cv_ensemble_tracks): <task>.bw is the mean of the members'
    predictions at each covered base, <task>.sd.bw their sd; members that tiled other intervals
    are refused naming the file."""
    from deepcis.ensemble import mean_bigwigs
    from deepcis.tracks import ensemble_tracks

    genome_path, records = small_genome
    path, model = model_file
    keras.utils.set_random_seed(8)
    hp = {"conv_filters": [4, 4], "kernel_size": 5, "pool_size": 2, "dropout": 0.1, "dense_units": 4}
    other = with_metadata(build_model("deepsea", LENGTH, 2, hp), ["T1", "T2"], LENGTH)
    other.save(tmp_path / "other.keras")
    bed = write_bed(tmp_path / "regions.bed", [("chrA", 1000, 1600), ("chrB", 0, 800)])
    cfg = {"regions": str(bed), "stride": 40, "batch_size": 64, "reverse_complement": True, "block": 5,
           "attribution_task": None, "attribution_shuffles": 2, "plot_bp": 1000}  # fmt: skip
    table = ensemble_tracks([path, tmp_path / "other.keras"], genome_path, cfg, tmp_path / "bw", tmp_path / "t.tsv",
                            tmp_path / "t.png")  # fmt: skip
    assert sorted(p.name for p in (tmp_path / "bw").iterdir()) == ["T1.bw", "T1.sd.bw", "T2.bw", "T2.sd.bw"]
    assert list(table["file"]) == ["T1.bw", "T2.bw"] and (table["mean_sd"] > 0).all()
    with Genome(genome_path) as genome:
        x = genome.one_hot_windows("chrB", np.array([0, 40, 680]), LENGTH)
    members = np.stack([_both_strands(model, x), _both_strands(other, x)])
    for name, want in (("T2.bw", members.mean(axis=0)), ("T2.sd.bw", members.std(axis=0, ddof=1))):
        bw = pyBigWig.open(str(tmp_path / "bw" / name))
        try:
            got = [bw.values("chrB", int(s) + 30, int(s) + 70) for s in (0, 40, 680)]  # each window's central 40 bp
        finally:
            bw.close()
        np.testing.assert_allclose(got, np.repeat(want[:, 1:2], 40, axis=1), rtol=1e-4, atol=1e-6)
    regions = read_track_regions(bed, {c: len(s) for c, s in records.items()}, LENGTH)
    for stride, folder in ((40, "a"), (50, "b")):
        predict_tracks(path, genome_path, regions, tmp_path / folder, stride)
    with pytest.raises(InputError, match=r"b/T1.bw: intervals in chrA:1000-1600 differ from .*a/T1.bw's"):
        mean_bigwigs([tmp_path / "a", tmp_path / "b"], ["T1.bw"], regions, tmp_path / "x")
    assert not (tmp_path / "x" / "T1.bw").exists()


def test_whole_chromosomes_and_bad_regions_are_refused_with_file_and_line(tmp_path):
    sizes = {"chr1": 5000, "chr2": 80}
    assert whole_chromosomes(sizes, LENGTH).values.tolist() == [["chr1", 0, 5000]]  # chr2 is shorter than a window
    with pytest.raises(ConfigError, match=r"tracks.chromosomes: \['chr2'\] shorter than one model window"):
        whole_chromosomes(sizes, LENGTH, ["chr2"])
    cases = [
        ([("chr1", 0, 500), ("chrUn", 0, 500)], r"regions.bed, line 2: chromosome 'chrUn' is not in the genome \(its chromosomes: chr1, chr2\)"),
        ([("chr1", 100, 150)], r"regions.bed, line 1: region chr1:100-150 is 50 bp, shorter than one model window"),
        ([("chr1", 4000, 5200)], r"line 1: region chr1:4000-5200 is outside the genome \(chr1 has 5000 bp\) or empty"),
        ([("chr1", "a", 500)], r"line 1: start and end must be integers"),
        ([("chr1", 10)], r"line 1: needs at least 3 tab-separated columns"),
    ]
    for rows, message in cases:
        bed = write_bed(tmp_path / "regions.bed", rows)
        with pytest.raises(InputError, match=message):
            read_track_regions(bed, sizes, LENGTH)
    for stride in (0, -5, 2.5, True):
        with pytest.raises(ConfigError, match="tracks.stride"):
            check_stride(stride)


def test_stride_zero_in_the_config_is_refused_naming_the_key():
    import yaml

    from deepcis.config import validate_config

    cfg = yaml.safe_load((REPO / "config" / "config.yaml").read_text())
    cfg["tracks"]["stride"] = 0
    with pytest.raises(ConfigError, match=r"config key tracks.stride: 0 is less than the minimum of 1"):
        validate_config(cfg)


def test_fasta_predictions_pad_and_crop_by_the_documented_policy(model_file, tmp_path):
    path, model = model_file
    rng = np.random.default_rng(2)
    seqs = {"exact": "".join(rng.choice(list("ACGT"), LENGTH)), "short": "acgtNACGTT" * 4,
            "long": "".join(rng.choice(list("ACGT"), 151))}  # fmt: skip
    fasta = tmp_path / "seqs.fa"
    fasta.write_text("".join(f">{k} description\n{v[:70]}\n{v[70:]}\n" for k, v in seqs.items()))
    out = tmp_path / "pred.tsv"
    predict_fasta(path, fasta, out, block=2)  # blocks that split the records
    table = pd.read_csv(out, sep="\t")
    assert table["name"].tolist() == ["exact", "short", "long"]
    assert table["fit"].tolist() == ["exact", "padded", "cropped"]
    assert table[["used_start", "used_end"]].values.tolist() == [[0, 100], [0, 40], [25, 125]]
    x_short, *_ = fit_to_window(seqs["short"], LENGTH)
    assert x_short[:30].sum() == 0 and x_short[70:].sum() == 0  # 30 Ns on each side
    assert x_short[34].sum() == 0 and x_short[30, 0] == 1  # the N stays an N; lower case encodes
    x_long, *_ = fit_to_window(seqs["long"], LENGTH)
    assert "".join("ACGT"[i] for i in np.argmax(x_long, axis=1)) == seqs["long"][25:125]
    want = _both_strands(model, np.stack([fit_to_window(s, LENGTH)[0] for s in seqs.values()]))
    np.testing.assert_allclose(table[["T1", "T2"]].to_numpy(), want, rtol=1e-4)


@pytest.mark.parametrize("text, message", [
    (">a\nACGT\n>b\nACGR\n", r"seqs.fa, line 4: sequence 'b' has characters other than A, C, G, T, N: 'R'"),
    (">a\nAC-GT\n", r"line 2: sequence 'a' has characters other than A, C, G, T, N: '-'"),
    ("ACGT\n>a\nACGT\n", r"line 1: sequence before the first '>' header"),
    (">a\n>b\nACGT\n", r"line 1: sequence 'a' is empty"),
    (">\nACGT\n", r"line 1: header without a sequence name"),
    ("", r"seqs.fa: holds no FASTA record"),
])  # fmt: skip
def test_bad_fasta_is_refused_with_file_and_line_before_the_model_loads(tmp_path, text, message):
    fasta = tmp_path / "seqs.fa"
    fasta.write_text(text)
    with pytest.raises(InputError, match=message):
        check_fasta(fasta)
    with pytest.raises(InputError, match=message):
        predict_fasta(tmp_path / "no_model_here", fasta, tmp_path / "out.tsv")  # checked before the model is read
