"""The scanning evaluation set: every DeepSEA bin of a held-out territory, labelled like prepare."""

import numpy as np
import pandas as pd
import pytest
from _utils import random_sequence, write_bed, write_fasta

from deepcis import scan, splits
from deepcis.config import validate_config
from deepcis.intervals import bedtools_tempdir
from deepcis.prepare import prepare_windows, read_windows_bed

SIZES = {"chr1": 60_000, "chr2": 40_000}


@pytest.fixture(autouse=True)
def _tmp_bedtools(tmp_path):
    with bedtools_tempdir(tmp_path):
        yield


def _data(tmp_path):
    records = {c: random_sequence(n, i) for i, (c, n) in enumerate(SIZES.items())}
    records["chr2"] = records["chr2"][:20_000] + "N" * 2000 + records["chr2"][22_000:]
    genome = write_fasta(tmp_path / "g.fa", records)
    rng = np.random.default_rng(3)
    tasks = {}
    for t in ("T1", "T2", "T3"):
        rows = [(c, int(s), int(s) + int(rng.integers(120, 500))) for c, n in SIZES.items()
                for s in rng.choice(np.arange(500, n - 1000, 350), 25, replace=False)]  # fmt: skip
        tasks[t] = str(write_bed(tmp_path / f"{t}.bed", sorted(rows)))
    blacklist = write_bed(tmp_path / "bl.bed", [("chr2", 30_000, 31_000)])
    return genome, tasks, blacklist


def test_scan_bins_tile_the_territory_on_the_bin_grid():
    territory = pd.DataFrame({"chrom": ["chr1", "chr2"], "start": [10_050, 0], "end": [20_000, 40_000]})
    blocks = list(scan.scan_bins(territory, SIZES, bin_size=200, window_length=1000, block_bins=7))
    assert all(len(b) <= 7 for b in blocks)
    bins = pd.concat(blocks, ignore_index=True)
    assert (bins["start"] % 200 == 0).all() and (bins["end"] - bins["start"] == 200).all()
    window_start = bins["start"] - 400
    on1, on2 = bins["chrom"] == "chr1", bins["chrom"] == "chr2"
    # chr1: first window starting at >= 10,050 (bin 10,600: window 10,200) .. last ending at <= 20,000
    assert window_start[on1].min() == 10_200 and (window_start[on1] + 1000).max() == 20_000
    assert window_start[on2].min() == 0 and (window_start[on2] + 1000).max() == 40_000
    assert on1.sum() == (20_000 - 1000 - 10_200) // 200 + 1 and on2.sum() == (40_000 - 1000) // 200 + 1
    again = pd.concat(scan.scan_bins(territory, SIZES, 200, 1000, block_bins=50_000), ignore_index=True)
    pd.testing.assert_frame_equal(bins, again)


def test_scanning_set_labels_bins_like_prepare(tmp_path):
    genome, tasks, blacklist = _data(tmp_path)
    cfg = validate_config({"genome": "g", "tasks": "x", "prepare": {"negatives": {"strategy": "none"}},
                           "split": {"mode": "regions", "regions": {"valid": ["chr1:0-20000"], "test": ["chr2:0-40000"]}}})  # fmt: skip
    prepared = prepare_windows(genome, tasks, cfg["prepare"], cfg["split"], seed=1, blacklist_path=blacklist)
    territory = splits.split_territories(cfg["split"], SIZES, 1)["test"]
    stats = scan.write_scan_windows(genome, tasks, territory, cfg["prepare"], tmp_path / "scan.bed", "test",
                                    blacklist_path=blacklist, block_bins=13)  # fmt: skip
    scanned, names = read_windows_bed(tmp_path / "scan.bed")
    assert names == ["T1", "T2", "T3"]
    counts = stats[stats["section"] == "scan"].set_index("item")["value"]
    assert counts["bins"] == (40_000 - 1000) // 200 + 1
    assert counts["bins"] == counts["windows"] + counts["ambiguous"] + counts["blacklist"] + counts["too_many_n"]
    assert counts["too_many_n"] > 0 and counts["blacklist"] > 0 and counts["ambiguous"] > 0
    # every positive window prepare kept in the test split is in the scanning set with the same labels
    test = prepared.windows[prepared.windows["split"] == "test"]
    merged = test.merge(scanned, on=["chrom", "start", "end"], suffixes=("", "_scan"))
    assert len(merged) == len(test) == (scanned["name"] == "peak").sum() == counts["positive"]
    for t in names:
        assert (merged[t] == merged[f"{t}_scan"]).all()
    assert (scanned.loc[scanned["name"] == scan.SCAN_NAME, names].sum(axis=1) == 0).all()
    positives = stats[stats["section"] == "scan_positives"].set_index("item")["value"]
    assert positives.to_dict() == {t: int(scanned[t].sum()) for t in names}
    # one window per bin, on the grid, none overlapping the N block or the blacklist
    assert scanned["start"].is_monotonic_increasing and ((scanned["start"] + 400) % 200 == 0).all()
    for lo, hi in ((20_000, 22_000), (30_000, 31_000)):
        assert not ((scanned["start"] < hi) & (scanned["end"] > lo)).any()

    # a task left out (prepare.min_positives) is not written; bins positive only for it are ambiguous
    scan.write_scan_windows(genome, tasks, territory, cfg["prepare"], tmp_path / "kept.bed", "test",
                            blacklist_path=blacklist, keep_tasks=["T1", "T2"])  # fmt: skip
    kept, kept_names = read_windows_bed(tmp_path / "kept.bed")
    only_t3 = (scanned["T3"] == 1) & (scanned[["T1", "T2"]].sum(axis=1) == 0)
    assert kept_names == ["T1", "T2"] and len(kept) == len(scanned) - only_t3.sum() and only_t3.sum() > 0


def test_scanning_set_inside_the_run_regions(tmp_path):
    genome, tasks, _ = _data(tmp_path)
    cfg = validate_config({"genome": "g", "tasks": "x"})
    territory = pd.DataFrame({"chrom": ["chr1"], "start": [0], "end": [60_000]})
    regions = pd.DataFrame({"chrom": ["chr1"], "start": [10_000], "end": [30_000]})
    stats = scan.write_scan_windows(genome, tasks, territory, cfg["prepare"], tmp_path / "s.bed", "test", regions=regions)
    scanned, _ = read_windows_bed(tmp_path / "s.bed")
    assert scanned["start"].min() >= 10_000 and scanned["end"].max() <= 30_000
    assert stats.set_index("item")["value"]["outside_regions"] > 0
