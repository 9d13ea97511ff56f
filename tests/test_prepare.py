import numpy as np
import pandas as pd
import pytest
from _utils import random_sequence, toy_inputs, write_bed, write_fasta

from deepcis import labels, negatives, prepare_chunks, splits
from deepcis.config import validate_config
from deepcis.errors import ConfigError, InputError
from deepcis.genome import Genome
from deepcis.intervals import bedtools_tempdir, overlaps_any
from deepcis.peaks import read_intervals
from deepcis.prepare import prepare_windows, read_windows_bed, write_windows_bed
from deepcis.prepare_chunks import plan_chunks
from deepcis.window_filters import filter_windows

SIZES = {"chrA": 10_000, "chrB": 6_000, "chrC": 8_000}


@pytest.fixture(autouse=True)
def _tmp_bedtools(tmp_path):
    with bedtools_tempdir(tmp_path):
        yield


def _peaks(tmp_path, name, rows, sizes=SIZES):
    return read_intervals(write_bed(tmp_path / f"{name}.bed", rows), sizes)


def test_deepsea_bins_threshold_is_strictly_more_than_fraction(tmp_path):
    t1 = _peaks(tmp_path, "t1", [("chrA", 1000, 1150)])
    # 50 bp into bin 1000, 90 bp into bin 1200: ambiguous; 101 bp > 100: positive; exactly 100: not.
    t2 = _peaks(tmp_path, "t2", [("chrA", 1150, 1290), ("chrA", 3000, 3101), ("chrB", 5000, 5100)])
    pos = labels.deepsea_positives({"t1": t1, "t2": t2}, SIZES, window_length=1000, bin_size=200, min_fraction=0.5)
    got = list(zip(pos.windows["chrom"], pos.windows["start"], pos.windows["end"], map(tuple, pos.labels)))
    assert got == [("chrA", 600, 1600, (1, 0)), ("chrA", 2600, 3600, (0, 1))]
    # every bin touched by a peak is excluded from negatives, positive or not
    touched = set(zip(pos.peak_regions["chrom"], pos.peak_regions["start"]))
    assert {("chrA", 1000), ("chrA", 1200), ("chrA", 3000), ("chrB", 5000)} <= touched


def test_deepsea_merges_overlapping_peaks_of_one_task(tmp_path):
    # two overlapping peaks of one task cover 80 distinct bases: not positive (not 160)
    t1 = _peaks(tmp_path, "t1", [("chrA", 2000, 2080), ("chrA", 2000, 2080)])
    t2 = _peaks(tmp_path, "t2", [("chrA", 4000, 4200)])
    pos = labels.deepsea_positives({"t1": t1, "t2": t2}, SIZES, 1000, 200, 0.5)
    assert pos.labels.tolist() == [[0, 1]]


def test_basset_merges_across_tasks_and_centres(tmp_path):
    # summits at 2000 (t1) and 2300 (t2): resized windows overlap by 700 >= 500 -> one site
    t1 = _peaks(tmp_path, "t1", [("chrA", 1900, 2100, ".", 0, ".", 1, -1, -1, 100), ("chrB", 3000, 3200, ".", 0, ".", 1, -1, -1, -1)])
    t2 = _peaks(tmp_path, "t2", [("chrA", 2250, 2350, ".", 0, ".", 1, -1, -1, 50)])
    pos = labels.basset_positives({"t1": t1, "t2": t2}, SIZES, window_length=1000, merge_overlap=500)
    frame = pos.windows.assign(t1=pos.labels[:, 0], t2=pos.labels[:, 1])
    assert frame.values.tolist() == [["chrA", 1650, 2650, 1, 1], ["chrB", 2600, 3600, 1, 0]]


def test_basset_keeps_distant_summits_apart(tmp_path):
    t1 = _peaks(tmp_path, "t1", [("chrA", 1900, 2100)])
    t2 = _peaks(tmp_path, "t2", [("chrA", 2500, 2700)])  # centres 600 apart: overlap 400 < 500
    pos = labels.basset_positives({"t1": t1, "t2": t2}, SIZES, 1000, 500)
    assert pos.labels.tolist() == [[1, 0], [0, 1]]


@pytest.mark.parametrize("strategy", ["random", "flanking", "gc_matched"])
def test_negatives_avoid_peaks(tmp_path, strategy):
    peaks = _peaks(tmp_path, "t", [("chrA", s, s + 300) for s in range(500, 9000, 1500)])
    pos = labels.basset_positives({"t": peaks}, SIZES, 1000, 500)
    rng = np.random.default_rng(0)
    cand = negatives.candidate_negatives(strategy, 50, pos.windows, pos.peak_regions, SIZES, 1000, rng,
                                         flank_min=1000, flank_max=3000, oversample=5)  # fmt: skip
    assert len(cand) > 0
    assert not overlaps_any(cand, pos.peak_regions).any()
    assert (cand["end"] - cand["start"] == 1000).all()


def test_gc_matched_selection_follows_positive_histogram():
    rng = np.random.default_rng(0)
    cand_gc = rng.random(20_000)
    pos_gc = np.clip(rng.normal(0.6, 0.05, 2000), 0, 1)
    chosen = negatives.select_negatives("gc_matched", 2000, cand_gc, pos_gc, rng, gc_bins=20)
    assert abs(len(chosen) - 2000) < 60
    assert abs(cand_gc[chosen].mean() - pos_gc.mean()) < 0.02
    random_pick = negatives.select_negatives("random", 2000, cand_gc, pos_gc, rng)
    assert abs(cand_gc[random_pick].mean() - 0.5) < 0.03


@pytest.mark.parametrize("bin_size", [None, 200])
def test_random_draw_replays_the_one_shot_draw(bin_size):
    # block by block, replayed from the generator's state: the windows and the generator's next
    # state equal drawing every window at once (rng.choice of chromosomes, then the starts)
    rng, again = np.random.default_rng(4), np.random.default_rng(4)
    usable = np.array(list(SIZES.values())) - 1000
    which = rng.choice(3, size=1001, p=usable / usable.sum())
    starts = (rng.random(1001) * usable[which]).astype(np.int64)
    if bin_size:
        starts = ((starts + 400) // 200) * 200 - 400
    draw = negatives.random_draw(1001, SIZES, 1000, again, bin_size)
    for size in (1, 64, None):
        code, start = draw.pick(np.arange(1001), size)
        assert code.tolist() == which.tolist() and start.tolist() == starts.tolist()
    assert rng.random() == again.random()
    index, code, start = draw.take(np.array([False, True, False]), 100)
    assert index.tolist() == np.flatnonzero(which == 1).tolist() and start.tolist() == starts[which == 1].tolist()


def test_select_in_bins_is_select_negatives_from_counts():
    rng = np.random.default_rng(1)
    cand_gc, pos_gc = rng.random(5000), np.clip(rng.normal(0.5, 0.1, 300), 0, 1)
    chosen = negatives.select_negatives("gc_matched", 300, cand_gc, pos_gc, np.random.default_rng(2), gc_bins=10)
    # the reference: per bin, a permutation of that bin's candidates in draw order, cut at its target
    ref_rng, bins = np.random.default_rng(2), negatives.gc_bin(cand_gc, 10)
    target = np.floor(np.bincount(negatives.gc_bin(pos_gc, 10), minlength=10) / 300 * 300 + ref_rng.random(10))
    ref = np.concatenate([ref_rng.permutation(np.flatnonzero(bins == b))[: int(target[b])] for b in range(10)])
    assert chosen.tolist() == np.sort(ref).tolist()
    ranks = negatives.select_in_bins("gc_matched", 300, np.bincount(bins, minlength=10),
                                     np.bincount(negatives.gc_bin(pos_gc, 10), minlength=10), 300, np.random.default_rng(2))  # fmt: skip
    assert np.sort(np.concatenate([np.flatnonzero(bins == b)[r] for b, r in enumerate(ranks)])).tolist() == np.sort(ref).tolist()


def test_filters_count_each_reason(small_genome, tmp_path):
    path, records = small_genome
    genome = Genome(path)
    sizes = genome.chrom_sizes
    windows = pd.DataFrame(
        {
            "chrom": ["chrA", "chrA", "chrB", "chrC", "chrC", "chrA"],
            "start": [-10, 100, 2000, 6800, 1000, 9500],
            "end": [990, 1100, 3000, 7800, 2000, 10500],
        }
    )
    blacklist = pd.DataFrame({"chrom": ["chrB"], "start": [2500], "end": [2600]})
    result = filter_windows(windows, sizes, genome, blacklist, max_n_fraction=0.1)
    # -10 and 9500+1000 run off; chrB window hits the blacklist; chrC 6800-7800 holds 500 N (> 10 %)
    assert result.dropped == {"off_chromosome_end": 2, "blacklist": 1, "too_many_n": 1}
    assert result.keep.tolist() == [False, True, False, False, True, False]
    expected_gc = sum(c in "GCgc" for c in records["chrA"][100:1100]) / 1000
    assert result.gc_fraction[1] == pytest.approx(expected_gc)


def test_split_by_chromosomes():
    windows = pd.DataFrame({"chrom": ["chrA", "chrB", "chrC"], "start": [0, 0, 0], "end": [10, 10, 10]})
    terr = splits.split_territories({"mode": "chromosomes", "valid": ["chrB"], "test": ["chrC"]}, SIZES, 0)
    assert splits.assign_splits(windows, terr).tolist() == ["train", "valid", "test"]
    with pytest.raises(ConfigError, match=r"split.test: chromosome\(s\) \['chr9'\]"):
        splits.split_territories({"mode": "chromosomes", "valid": [], "test": ["chr9"]}, SIZES, 0)


def test_split_by_regions_drops_straddling_windows():
    windows = pd.DataFrame(
        {"chrom": ["chrA"] * 5, "start": [0, 1000, 1500, 3000, 5000], "end": [1000, 2000, 2500, 4000, 6000]}
    )
    cfg = {"mode": "regions", "regions": {"valid": ["chrA:1000-2000"], "test": ["chrA:3000-5000"]}}
    assigned = splits.assign_splits(windows, splits.split_territories(cfg, SIZES, 0))
    assert assigned.tolist() == ["train", "valid", "", "test", "train"]
    assert splits.cross_split_overlaps(windows, assigned) == 0
    with pytest.raises(ConfigError, match="a valid region overlaps a test region"):
        splits.split_territories({"mode": "regions", "regions": {"valid": ["chrA:0-100"], "test": ["chrA:50-200"]}}, SIZES, 0)


def test_split_by_fractions_is_seeded():
    cfg = {"mode": "fractions", "fractions": {"valid": 0.2, "test": 0.2}, "block_size": 1000}
    a = splits.split_territories(cfg, SIZES, 1)
    b = splits.split_territories(cfg, SIZES, 1)
    c = splits.split_territories(cfg, SIZES, 2)
    assert a["valid"].equals(b["valid"]) and not a["test"].equals(c["test"])
    assert len(a["valid"]) == len(a["test"]) == 5  # 24 blocks x 0.2


# -- the whole stage ------------------------------------------------------------------


def test_plan_chunks_groups_consecutive_chromosomes():
    assert plan_chunks({"chr1": 100, "chr2": 90, "chrM": 1}, 4) == [["chr1"], ["chr2"], ["chrM"], []]
    sizes = {"chr1": 100, "chr2": 90, "chr3": 80} | {f"un{i}": 1 for i in range(50)}
    plan = plan_chunks(sizes, 4)  # the small contigs share chunks; none holds more than chr1
    assert plan == [["chr1"], ["chr2"], ["chr3", *(f"un{i}" for i in range(20))], [f"un{i}" for i in range(20, 50)]]


@pytest.mark.parametrize("mode", ["deepsea", "basset"])
@pytest.mark.parametrize("strategy", ["random", "flanking", "gc_matched", "none"])
def test_prepare_windows_end_to_end(tmp_path, monkeypatch, mode, strategy):
    genome, tasks, blacklist = toy_inputs(tmp_path)
    cfg = validate_config({"genome": str(genome), "tasks": "x", "prepare": {"mode": mode, "negatives": {"strategy": strategy}},
                           "split": {"valid": ["chr2"], "test": ["chr3"]}})  # fmt: skip
    out = prepare_windows(genome, tasks, cfg["prepare"], cfg["split"], seed=3, blacklist_path=blacklist)
    w = out.windows
    assert set(w["split"]) == {"train", "valid", "test"}
    assert (w["end"] - w["start"] == 1000).all()
    assert not overlaps_any(w, pd.DataFrame({"chrom": ["chr2"], "start": [10_000], "end": [20_000]})).any()
    assert splits.cross_split_overlaps(w, w["split"].to_numpy()) == 0
    is_pos = w["name"] == "peak"
    assert (w.loc[is_pos, ["T1", "T2"]].sum(axis=1) > 0).all()
    assert (w.loc[~is_pos, ["T1", "T2"]].sum(axis=1) == 0).all()
    if strategy == "none":
        assert is_pos.all()
    else:
        assert abs((~is_pos).sum() - is_pos.sum()) <= 0.1 * is_pos.sum()
    s = out.stats
    drops = s[s["section"] == "drops"].set_index(["split", "item"])["value"]
    assert drops[("positive", "blacklist")] > 0
    assert drops[("positive", "too_many_n")] > 0  # peaks near the N block
    # same seed, same windows and stats, whether the positives are built in one chunk or one
    # chunk per chromosome (the workflow's prepare_chunk jobs), and whether the gather replays
    # and filters its negative candidates, and writes the windows, in one block or in many small
    # ones; the BED round-trips
    monkeypatch.setattr(negatives, "DRAW_BLOCK", 13)
    monkeypatch.setattr(prepare_chunks, "FILTER_ROWS", 97)
    monkeypatch.setattr(prepare_chunks, "WRITE_ROWS", 7)  # the gather writes a chunk's windows in many blocks
    again = prepare_windows(genome, tasks, cfg["prepare"], cfg["split"], seed=3, blacklist_path=blacklist, n_chunks=3)
    pd.testing.assert_frame_equal(w, again.windows)
    pd.testing.assert_frame_equal(out.stats, again.stats)
    assert out.warnings == again.warnings
    write_windows_bed(w, out.tasks, "valid", tmp_path / "valid.bed")
    back, names = read_windows_bed(tmp_path / "valid.bed")
    assert names == ["T1", "T2"] and len(back) == (w["split"] == "valid").sum()


def test_empty_split_is_an_error(tmp_path):
    genome, tasks, _ = toy_inputs(tmp_path, n_chrom=4)
    cfg = validate_config({"genome": "g", "tasks": "x", "split": {"valid": ["chr2"], "test": ["chr3"]},
                           "chromosomes": ["chr1", "chr2", "chr3", "chr4"]})  # fmt: skip
    # no peaks on chr3 -> with no negatives, the test split is empty
    lines = [line for line in open(tasks["T1"]) if not line.startswith("chr3")]
    open(tasks["T1"], "w").writelines(lines)
    lines = [line for line in open(tasks["T2"]) if not line.startswith("chr3")]
    open(tasks["T2"], "w").writelines(lines)
    cfg["prepare"]["negatives"]["strategy"] = "none"
    with pytest.raises(ConfigError, match="split 'test' is empty"):
        prepare_windows(genome, tasks, cfg["prepare"], cfg["split"], seed=1)


def test_window_longer_than_chromosomes(tmp_path):
    genome, tasks, _ = toy_inputs(tmp_path, size=60_000)
    cfg = validate_config({"genome": "g", "tasks": "x", "prepare": {"window_length": 100_000, "deepsea": {"bin_size": 200}}})
    with pytest.raises(ConfigError, match="longer than every chromosome"):
        prepare_windows(genome, tasks, cfg["prepare"], cfg["split"], seed=1)
    cfg["prepare"]["window_length"] = 1000
    with pytest.raises(ConfigError, match=r"config chromosomes: \['chr9'\] not in genome"):
        prepare_windows(genome, tasks, cfg["prepare"], cfg["split"], seed=1, chromosomes=["chr1", "chr9"])


def test_short_chromosome_listed_explicitly(tmp_path):
    records = {"chr1": random_sequence(20_000, 1), "chrM": random_sequence(500, 2)}
    genome = write_fasta(tmp_path / "g.fa", records)
    tasks = {"T": str(write_bed(tmp_path / "t.bed", [("chr1", 5000, 5300)]))}
    cfg = validate_config({"genome": "g", "tasks": "x"})
    with pytest.raises(ConfigError, match=r"\['chrM'\] are shorter than the window length 1000 bp"):
        prepare_windows(genome, tasks, cfg["prepare"], cfg["split"], seed=1, chromosomes=["chr1", "chrM"])


def test_peak_file_on_other_chromosome_naming(tmp_path):
    genome, tasks, _ = toy_inputs(tmp_path)
    tasks["T3"] = str(write_bed(tmp_path / "t3.bed", [("1", 100, 400), ("2", 100, 400)]))
    cfg = validate_config({"genome": "g", "tasks": "x", "split": {"valid": ["chr2"], "test": ["chr3"]}})
    with pytest.raises(InputError, match=r"t3.bed: no record lies on the genome's chromosomes: the file names \['1', '2'\]"):
        prepare_windows(genome, tasks, cfg["prepare"], cfg["split"], seed=1)


def test_peaks_on_missing_chromosomes_are_skipped_with_warning(tmp_path):
    genome, tasks, _ = toy_inputs(tmp_path)
    with open(tasks["T1"], "a") as handle:
        handle.write("chrUn_gl000220\t10\t300\n")
    cfg = validate_config({"genome": "g", "tasks": "x", "split": {"valid": ["chr2"], "test": ["chr3"]}})
    out = prepare_windows(genome, tasks, cfg["prepare"], cfg["split"], seed=1)
    assert any("skipped 1 peak(s) on chromosomes absent from the genome" in w for w in out.warnings)


def test_regions_restrict_every_window(tmp_path):
    genome, tasks, _ = toy_inputs(tmp_path)
    regions = ["chr1:5000-40000", "chr2:0-30000", "chr3:20000-60000"]
    cfg = validate_config({"genome": "g", "tasks": "x", "regions": regions, "prepare": {"negatives": {"ratio": 2.0}},
                           "split": {"mode": "regions", "regions": {"valid": ["chr2:0-30000"], "test": ["chr3:20000-60000"]}}})  # fmt: skip
    out = prepare_windows(genome, tasks, cfg["prepare"], cfg["split"], seed=1, regions=regions)
    w = out.windows
    inside = splits.inside_any(w, pd.DataFrame([("chr1", 5000, 40000), ("chr2", 0, 30000), ("chr3", 20000, 60000)],
                                               columns=["chrom", "start", "end"]))  # fmt: skip
    assert inside.all() and (w["name"] != "peak").sum() > 0
    drops = out.stats[out.stats["section"] == "drops"].set_index(["split", "item"])["value"]
    assert drops[("positive", "outside_regions")] > 0  # chr1's peaks before 5 kb and after 40 kb
    # a task without a peak in the chosen regions is refused, naming task and regions
    tasks["T3"] = str(write_bed(tmp_path / "t3.bed", [("chr1", 50_000, 50_300)]))
    with pytest.raises(ConfigError, match=r"task 'T3' has no peak in the chosen region\(s\) \['chr1:5000-40000'"):
        prepare_windows(genome, tasks, cfg["prepare"], cfg["split"], seed=1, regions=regions)
    with pytest.raises(InputError, match=r"config regions: region 'chr1:0-70000' is empty or runs off chr1"):
        prepare_windows(genome, tasks, cfg["prepare"], cfg["split"], seed=1, regions=["chr1:0-70000"])


def test_min_positives_drops_rare_tasks_with_a_count(tmp_path):
    genome, tasks, _ = toy_inputs(tmp_path)
    # T3: 3 peaks, only on chr1 (training): no positive in valid (chr2) or test (chr3)
    tasks["T3"] = str(write_bed(tmp_path / "t3.bed", [("chr1", s, s + 300) for s in (45_100, 47_700, 52_300)]))
    cfg = validate_config({"genome": "g", "tasks": "x", "prepare": {"min_positives": 1},
                           "split": {"valid": ["chr2"], "test": ["chr3"]}})  # fmt: skip
    out = prepare_windows(genome, tasks, cfg["prepare"], cfg["split"], seed=1)
    assert out.tasks == ["T1", "T2"] and "T3" not in out.windows.columns
    assert (out.windows.loc[out.windows["name"] == "peak", ["T1", "T2"]].sum(axis=1) > 0).all()
    s = out.stats
    dropped = s[s["section"] == "tasks_dropped"]
    assert dropped[["split", "item", "value"]].values.tolist() == [["valid", "T3", 0], ["test", "T3", 0]]
    assert any("task 'T3' dropped: 0 positive window(s) in split 'valid'" in w for w in out.warnings)
    # windows positive only for T3 are gone (they hold peaks, so they are no negatives either)
    orphans = s[(s["section"] == "drops") & (s["item"] == "task_dropped")]["value"].item()
    kept = prepare_windows(genome, tasks, cfg["prepare"] | {"min_positives": 0}, cfg["split"], seed=1)
    assert orphans == int(((kept.windows["T3"] == 1) & (kept.windows[["T1", "T2"]].sum(axis=1) == 0)).sum()) > 0
    with pytest.raises(ConfigError, match=r"min_positives 1000: every task has fewer positive windows"):
        prepare_windows(genome, tasks, cfg["prepare"] | {"min_positives": 1000}, cfg["split"], seed=1)


def test_clamped_summits_are_counted_per_file(tmp_path):
    genome, tasks, _ = toy_inputs(tmp_path)
    tasks["T3"] = str(write_bed(tmp_path / "t3.narrowPeak", [("chr1", 45_100, 45_400, ".", 0, ".", 1, -1, -1, 300),
                                                             ("chr2", 5_100, 5_400, ".", 0, ".", 1, -1, -1, 20)]))  # fmt: skip
    cfg = validate_config({"genome": "g", "tasks": "x", "split": {"valid": ["chr2"], "test": ["chr3"]}})
    out = prepare_windows(genome, tasks, cfg["prepare"], cfg["split"], seed=1)
    s = out.stats.set_index(["section", "item"])["value"]
    assert s[("summits_clamped", tasks["T3"])] == 1 and s[("input", "summits_clamped")] == 1
    assert any("1 summit offset(s) equal to the peak length" in w for w in out.warnings)


def test_labels_from_overlaps_sum_per_row_and_task():
    from deepcis.labels import labels_from_overlaps

    rng = np.random.default_rng(3)
    rows, tasks, bases = rng.integers(0, 50, 400), rng.integers(0, 7, 400), rng.integers(1, 80, 400)
    dense = np.zeros((50, 7), np.int64)
    np.add.at(dense, (rows, tasks), bases)
    np.testing.assert_array_equal(labels_from_overlaps(50, 7, rows, tasks, bases, 100.0), (dense > 100).astype(np.uint8))
    assert labels_from_overlaps(3, 2, [], [], [], 1.0).tolist() == [[0, 0], [0, 0], [0, 0]]
