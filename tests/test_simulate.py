"""deepcis.simulate: the bundled example is deterministic and its ground truth holds.

The example is generated once per session (about 4 s) and every test reads those files the
way a user of the example would: FASTA via pysam, BED / narrowPeak / TSV as text, the VCF via
pysam.VariantFile. Motif scores are recomputed with deepcis.motifs.
"""

import csv
import hashlib
import json
import warnings
from pathlib import Path

import numpy as np
import pysam
import pytest

from deepcis import motifs as mt
from deepcis import simulate as sim
from deepcis.simulate import params

REPO = Path(__file__).resolve().parents[1]
MOTIF_FILE = REPO / "resources" / "motifs" / "planted_motifs.jaspar"
TASKS = ["CTCF", "GATA1", "GATA1_TAL1", "FOXA1", "AP1"]
CHROM_SIZES = {"chr1": 2_400_000, "chr2": 1_000_000, "chr3": 1_000_000}
FLANK = 25  # bp scanned either side of a site


# ----------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    base = tmp_path_factory.mktemp("example")
    summary = sim.simulate_example(base / "a", MOTIF_FILE, seed=7)
    summary_again = sim.simulate_example(base / "b", MOTIF_FILE, seed=7)
    return {"a": base / "a", "b": base / "b", "summary": summary, "summary_b": summary_again, "base": base}


@pytest.fixture(scope="module")
def out(runs):
    return runs["a"]


@pytest.fixture(scope="module")
def genome(out):
    with pysam.FastaFile(str(out / "genome.fa")) as fa:
        return {name: fa.fetch(name) for name in fa.references}


@pytest.fixture(scope="module")
def motifs():
    return {m.id: m for m in mt.read_jaspar(MOTIF_FILE)}


@pytest.fixture(scope="module")
def thresholds(motifs):
    return {mid: params.MATCH_FRACTION * m.max_score() for mid, m in motifs.items()}


def _rows(path):
    with open(path) as handle:
        return [line.rstrip("\n").split("\t") for line in handle if line.strip()]


@pytest.fixture(scope="module")
def sites(out):
    rows = _rows(out / "motif_sites.bed")
    return [
        dict(chrom=r[0], start=int(r[1]), end=int(r[2]), motif=r[3], score=float(r[4]), strand=r[5],
             kind=r[6], tasks=[] if r[7] == "." else r[7].split(","), group=r[8])
        for r in rows
    ]  # fmt: skip


@pytest.fixture(scope="module")
def peaks(out):
    return {t: _rows(out / "peaks" / f"{t}.narrowPeak") for t in TASKS}


@pytest.fixture(scope="module")
def truth(out):
    with open(out / "variants_truth.tsv") as handle:
        return list(csv.DictReader(handle, delimiter="\t"))


def _hashes(folder):
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def _inside(peak_rows, chrom, start, end):
    return any(r[0] == chrom and int(r[1]) <= start and end <= int(r[2]) for r in peak_rows)


def _overlaps(peak_rows, chrom, start, end):
    return any(r[0] == chrom and int(r[1]) < end and start < int(r[2]) for r in peak_rows)


def _best(motif, seq):
    fwd, rev = mt.scan(motif, seq)
    return max(fwd.max(), rev.max()) if fwd.size else -np.inf


# ----------------------------------------------------------------------------- determinism


def test_same_seed_gives_identical_files(runs):
    a, b = _hashes(runs["a"]), _hashes(runs["b"])
    assert sorted(a) == sorted(params.OUTPUT_FILES + params.READS_FILES)
    assert not set(params.READS_FILES) & set(runs["summary"]["files_sha256"])  # summary.json as without the BAM
    assert a == b
    assert runs["summary"] == runs["summary_b"]
    assert json.loads((runs["a"] / "summary.json").read_text()) == runs["summary"]
    assert runs["summary"]["files_sha256"]["genome.fa"] == a["genome.fa"]
    assert not [p for p in runs["a"].rglob(".*")], "temporary files left behind"


def test_other_seed_gives_another_genome(runs):
    other = runs["base"] / "seed8"
    summary = sim.simulate_example(other, MOTIF_FILE, seed=8)
    assert summary["files_sha256"]["genome.fa"] != runs["summary"]["files_sha256"]["genome.fa"]
    assert summary["files_sha256"]["variants.vcf.gz"] != runs["summary"]["files_sha256"]["variants.vcf.gz"]
    assert summary["peaks"].keys() == runs["summary"]["peaks"].keys()


def test_bad_motif_file_fails_before_writing(tmp_path):
    bad = tmp_path / "m.jaspar"
    bad.write_text(">MA0139.1 CTCF\nA [ 1 ]\nC [ 1 ]\nG [ 1 ]\nT [ 1 ]\n")
    with pytest.raises(mt.JasparFormatError, match="MA0035.4"):
        sim.simulate_example(tmp_path / "out", bad)
    assert not (tmp_path / "out").exists()
    with pytest.raises(ValueError):
        sim.simulate_example(tmp_path / "out", MOTIF_FILE, seed=-1)


# ----------------------------------------------------------------------------- genome


def test_genome_layout(out, genome):
    assert {k: len(v) for k, v in genome.items()} == CHROM_SIZES
    assert list(genome) == ["chr1", "chr2", "chr3"]
    lines = (out / "genome.fa").read_text().splitlines()
    seq_lines = [line for line in lines if not line.startswith(">")]
    assert max(len(line) for line in seq_lines) == 60
    parsed, name = {}, None
    for line in lines:  # the shipped .fai must index the FASTA correctly (pysam used it above)
        if line.startswith(">"):
            name = line[1:]
            parsed[name] = []
        else:
            parsed[name].append(line)
    assert {k: "".join(v) for k, v in parsed.items()} == genome
    for seq in genome.values():
        assert set(seq[:10_000]) == {"N"}, "10 kb of N at every chromosome start"
        assert set(seq) <= set("ACGTNacgt")
    assert set(genome["chr1"][1_200_000:1_250_000]) == {"N"}
    assert set(genome["chr2"][600_000:620_000]) == {"N"}
    total_n = sum(seq.count("N") for seq in genome.values())
    assert total_n == 100_000
    lower = sum(sum(c.islower() for c in seq) for seq in genome.values())
    assert 0.04 < lower / sum(CHROM_SIZES.values()) < 0.2, "soft-masked repeats"


def test_background_gc_varies_and_cpg_is_depleted(genome):
    gc_bins = []
    cg_obs = c = g = n = 0
    for seq in genome.values():
        upper = seq.upper()
        for i in range(0, len(upper), 20_000):
            b = upper[i : i + 20_000].replace("N", "")
            if len(b) > 15_000:
                gc_bins.append((b.count("G") + b.count("C")) / len(b))
        cg_obs += upper.count("CG")
        c += upper.count("C")
        g += upper.count("G")
        n += len(upper) - upper.count("N")
    assert np.std(gc_bins) > 0.02
    assert min(gc_bins) > 0.3 and max(gc_bins) < 0.65
    assert cg_obs * n / (c * g) < 0.5, "CpG observed/expected"


def test_repeats_include_a_sine_family_and_tandem_repeats(genome):
    seq = genome["chr1"]
    runs_lower = []
    i = 0
    while i < len(seq):
        if seq[i].islower():
            j = i
            while j < len(seq) and seq[j].islower():
                j += 1
            runs_lower.append(seq[i:j])
            i = j
        else:
            i += 1
    assert len(runs_lower) > 200
    assert any("cacacacacaca" in r or "tgtgtgtgtgtg" in r for r in runs_lower)
    assert sum(250 <= len(r) <= 320 for r in runs_lower) > 50  # SINE-like copies


# ----------------------------------------------------------------------------- sites and peaks


def test_planted_instances_are_where_recorded(genome, sites, motifs, thresholds, peaks):
    kinds = {s["kind"] for s in sites}
    assert kinds == {"bound", "unbound", "decoy", "broken"}
    for s in sites:
        motif = motifs[s["motif"]]
        window = genome[s["chrom"]][s["start"] : s["end"]]
        assert not any(c.islower() or c == "N" for c in window), "motifs are planted outside repeats"
        if s["kind"] == "broken":
            assert _best(motif, window) < thresholds[s["motif"]]
            continue
        assert s["end"] - s["start"] == motif.length
        score = mt.score_window(motif, window, s["strand"])
        assert score >= thresholds[s["motif"]]
        assert score == pytest.approx(s["score"], abs=1e-3)
        for task in s["tasks"]:
            assert _inside(peaks[task], s["chrom"], s["start"], s["end"]), (task, s)
        if s["kind"] in ("unbound", "decoy"):
            assert s["tasks"] == []
            assert not any(_overlaps(peaks[t], s["chrom"], s["start"], s["end"]) for t in TASKS)


def test_site_counts(runs, sites):
    groups = {}  # task -> site groups (a composite site is two instances, one group)
    for s in sites:
        if s["kind"] == "bound":
            for t in s["tasks"]:
                groups.setdefault(t, set()).add(s["group"])
    bound = {t: len(g) for t, g in groups.items()}
    assert set(bound) == set(TASKS)
    expected = dict(params.BOUND_SITES)
    expected["GATA1"] += params.COMPOSITE_SITES
    expected["GATA1_TAL1"] = params.COMPOSITE_SITES
    # GATA1 also gains the bound partners of a few composite variant sites
    assert all(expected[t] <= bound[t] <= 1.05 * expected[t] for t in TASKS), (bound, expected)
    assert all(n >= 600 for n in bound.values()), bound  # enough to learn from in the example
    decoys = [s for s in sites if s["kind"] == "decoy"]
    assert decoys and {s["motif"] for s in decoys} == {"MA0091.1"}
    for t, n in runs["summary"]["peaks_by_origin"].items():
        assert n["site"] == bound[t]
        assert 0.01 < n["noise"] / (n["site"] + n["noise"]) < 0.06


def test_composite_task_needs_both_motifs(sites, peaks):
    by_group = {}
    for s in sites:
        by_group.setdefault(s["group"], []).append(s)
    composite = 0
    for members in by_group.values():
        intact = [s for s in members if s["kind"] == "bound"]
        motif_ids = sorted(s["motif"] for s in intact)
        if "GATA1_TAL1" in {t for s in intact for t in s["tasks"]}:
            composite += 1
            assert motif_ids == ["MA0035.4", "MA0091.1"]
            g, t = sorted(intact, key=lambda s: s["motif"])
            distance = abs((g["start"] + g["end"]) / 2 - (t["start"] + t["end"]) / 2)
            assert 18 <= distance <= 62
            assert "GATA1" in g["tasks"], "the GATA1 of a composite site is a GATA1 peak too"
    assert composite >= 280
    for row in peaks["GATA1_TAL1"]:
        chrom, start, end = row[0], int(row[1]), int(row[2])
        assert _overlaps(peaks["GATA1"], chrom, start, end), row
        if "_site_" in row[3]:
            inside = {
                s["motif"]
                for s in sites
                if s["kind"] == "bound" and s["chrom"] == chrom and start <= s["start"] and s["end"] <= end
            }
            assert inside == {"MA0035.4", "MA0091.1"}, row


def test_peaks_hold_only_their_own_site(sites, peaks):
    """A site peak overlaps only the instances of its own group; a noise peak overlaps none."""
    by_chrom = {}
    for s in sites:
        by_chrom.setdefault(s["chrom"], []).append((s["start"], s["end"], s["group"]))
    arrays = {
        c: (np.array([a for a, _, _ in v]), np.array([b for _, b, _ in v]), [g for _, _, g in v])
        for c, v in by_chrom.items()
    }
    for task, rows in peaks.items():
        for r in rows:
            starts, ends, groups = arrays[r[0]]
            hit = np.flatnonzero((starts < int(r[2])) & (ends > int(r[1])))
            found = {groups[i] for i in hit}
            if "_site_" in r[3]:
                assert found == {"site_" + r[3].rsplit("_", 1)[1]}, (task, r)
            elif "_noise_" in r[3]:
                assert not found, (task, r)


def test_no_stray_motif_matches_in_the_genome(genome, sites, motifs, thresholds):
    """Every strong match overlaps an intact planted instance of its motif (background cleaned)."""
    for mid, motif in motifs.items():
        for chrom, seq in genome.items():
            own = sorted(
                (s["start"], s["end"])
                for s in sites
                if s["chrom"] == chrom and s["motif"] == mid and s["kind"] != "broken"
            )
            starts = np.array([a for a, _ in own])
            fwd, rev = mt.scan(motif, seq)
            hits = np.flatnonzero(np.maximum(fwd, rev) >= thresholds[mid])
            assert hits.size >= len(own)
            for p in hits:
                j = np.searchsorted(starts, p + motif.length) - 1
                assert j >= 0 and own[j][1] > p, (mid, chrom, int(p))


def test_narrowpeak_format(genome, peaks):
    for task, rows in peaks.items():
        assert rows, task
        keys = []
        for r in rows:
            assert len(r) == 10
            chrom, start, end, summit = r[0], int(r[1]), int(r[2]), int(r[9])
            assert chrom in CHROM_SIZES and 0 <= start < end <= CHROM_SIZES[chrom]
            assert 0 <= summit < end - start
            assert 0 <= int(r[4]) <= 1000 and r[5] == "."
            assert all(float(v) >= 0 for v in r[6:9])
            assert "N" not in genome[chrom][start:end]
            if "_artefact_" not in r[3]:
                assert params.PEAK_WIDTH[0] <= end - start <= params.PEAK_WIDTH[1]
            keys.append((chrom, start, end))
        assert keys == sorted(keys)
        assert len({r[3] for r in rows}) == len(rows)


def test_blacklist_is_exactly_the_artefacts(out, peaks, sites):
    regions = [(r[0], int(r[1]), int(r[2])) for r in _rows(out / "blacklist.bed")]
    assert all(len(r) == 3 for r in _rows(out / "blacklist.bed"))
    assert 3 <= len(regions) <= 4 and regions == sorted(regions)
    for chrom, start, end in regions:
        assert 2_000 <= end - start <= 5_000
        for task in TASKS:
            assert _inside(peaks[task], chrom, start, end), (task, chrom, start)
        assert not any(s["chrom"] == chrom and s["start"] < end and start < s["end"] for s in sites)
    artefact_peaks = [r for t in TASKS for r in peaks[t] if "_artefact_" in r[3]]
    assert len(artefact_peaks) == len(regions) * len(TASKS)
    for r in artefact_peaks:
        assert any(c == r[0] and int(r[1]) <= s and e <= int(r[2]) for c, s, e in regions)


# ----------------------------------------------------------------------------- variants


def test_vcf_reads_cleanly_and_ref_matches_genome(out, genome, capfd):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pysam.VariantFile(str(out / "variants.vcf.gz")) as vcf:
            header = vcf.header
            assert {c: header.contigs[c].length for c in header.contigs} == CHROM_SIZES
            assert {"EFFECT", "KIND", "MOTIF", "TASKS", "SIGN", "SITE"} <= set(header.info)
            records = list(vcf)
            assert len(list(vcf.fetch("chr2"))) == sum(r.chrom == "chr2" for r in records)
    assert capfd.readouterr().err == ""
    order = list(CHROM_SIZES)
    keys = [(order.index(r.chrom), r.pos) for r in records]
    assert keys == sorted(keys)
    assert [r.id for r in records] == [f"sim_{i:06d}" for i in range(1, len(records) + 1)]
    for r in records:
        assert genome[r.chrom][r.pos - 1 : r.pos - 1 + len(r.ref)].upper() == r.ref
        for alt in r.alts:
            if len(alt) != len(r.ref):
                assert alt[0] == r.ref[0], "indels carry the padding base"
    for a, b in zip(records, records[1:]):
        if a.chrom == b.chrom:
            assert a.pos + len(a.ref) <= b.pos, "variants do not overlap"
    assert sum(len(r.alts) == 2 for r in records) == 1


def test_truth_tsv_matches_vcf(out, truth):
    assert list(truth[0].keys()) == list(params.TRUTH_COLUMNS)
    by_id = {}
    for row in truth:
        by_id.setdefault(row["id"], []).append(row)
    with pysam.VariantFile(str(out / "variants.vcf.gz")) as vcf:
        records = list(vcf)
    assert list(by_id) == [r.id for r in records]
    for r in records:
        rows = by_id[r.id]
        assert [(x["chrom"], int(x["pos"]), x["ref"]) for x in rows] == [(r.chrom, r.pos, r.ref)] * len(rows)
        assert tuple(x["alt"] for x in rows) == r.alts
        info = r.info

        def value(key, k, info=info):  # '.' (missing) for neutral alleles
            v = info[key][k]
            return "" if v in (None, ".") else v

        for k, x in enumerate(rows):
            assert value("EFFECT", k) == x["effect"] and value("KIND", k) == x["kind"]
            assert info["SIGN"][k] == int(x["expected_sign"])
            assert value("MOTIF", k) == x["motif_id"]
            assert value("TASKS", k).replace("|", ",") == x["tasks"]
            site = f"{x['site_start']}-{x['site_end']}" if x["site_start"] else ""
            assert value("SITE", k) == site


def test_variant_classes(truth):
    assert sum(x["effect"] == "neutral" for x in truth) == 200
    for x in truth:
        sign = {"destroy": "-1", "create": "1", "neutral": "0"}[x["effect"]]
        assert x["expected_sign"] == sign
        assert (x["tasks"] == "") == (x["effect"] == "neutral") == (x["site_start"] == "")
        ref, alt = x["ref"], x["alt"]
        kind = {(True, True): "snv", (True, False): "mnv"}.get((len(ref) == len(alt), len(ref) == 1))
        kind = kind or ("insertion" if len(alt) > len(ref) else "deletion")
        assert x["kind"] == kind
        if kind == "deletion" and x["effect"] == "destroy":
            assert 1 <= len(ref) - 1 <= 10
    for task in TASKS:
        for effect, low in (("destroy", 40), ("create", 30)):
            rows = [x for x in truth if x["effect"] == effect and task in x["tasks"].split(",")]
            assert low <= len(rows) <= 70, (task, effect, len(rows))
            assert {x["kind"] for x in rows} == {"snv", "mnv", "insertion", "deletion"}, (task, effect)


def _window(seq, start, end):
    return seq[max(start, 0) : end]


def _alt_sequence(seq, x):
    p0 = int(x["pos"]) - 1
    assert seq[p0 : p0 + len(x["ref"])].upper() == x["ref"]
    return seq[:p0] + x["alt"] + seq[p0 + len(x["ref"]) :]


def test_destroy_variants_break_their_motif(genome, truth, motifs, thresholds):
    rows = [x for x in truth if x["effect"] == "destroy"]
    assert rows
    for x in rows:
        mid, s, e = x["motif_id"], int(x["site_start"]), int(x["site_end"])
        ref = genome[x["chrom"]]
        delta = len(x["alt"]) - len(x["ref"])
        assert s < int(x["pos"]) + len(x["ref"]) - (1 if delta else 0) and int(x["pos"]) - 1 < e
        assert _best(motifs[mid], _window(ref, s - FLANK, e + FLANK)) >= thresholds[mid]
        alt = _alt_sequence(ref, x)
        after = _best(motifs[mid], _window(alt, s - FLANK, e + FLANK + delta))
        assert after < thresholds[mid], x
        w = motifs[mid].length  # windows overlapping the (edited) instance score like random DNA
        overlapping = _best(motifs[mid], _window(alt, s - w + 1, e + delta + w - 1))
        assert overlapping <= params.WEAK_FRACTION * motifs[mid].max_score() + 1e-9, x


def test_create_variants_make_their_motif(genome, truth, motifs, thresholds):
    rows = [x for x in truth if x["effect"] == "create"]
    assert {x["kind"] for x in rows} == {"snv", "mnv", "insertion", "deletion"}
    for x in rows:
        mid, s, e = x["motif_id"], int(x["site_start"]), int(x["site_end"])
        ref = genome[x["chrom"]]
        delta = len(x["alt"]) - len(x["ref"])
        alt = _alt_sequence(ref, x)
        if x["kind"] == "insertion":  # the site is given in ALT coordinates
            assert x["alt"][1:] and len(x["alt"]) - 1 == motifs[mid].length
            before = _best(motifs[mid], _window(ref, s - FLANK, e + FLANK - delta))
            after = _best(motifs[mid], _window(alt, s - FLANK, e + FLANK))
        else:
            before = _best(motifs[mid], _window(ref, s - FLANK, e + FLANK))
            after = _best(motifs[mid], _window(alt, s - FLANK, e + FLANK + delta))
        assert before < thresholds[mid], x
        assert after >= thresholds[mid], x


def test_neutral_variants_are_far_from_everything(genome, truth, sites, peaks, out, motifs, thresholds):
    spans = {c: [] for c in CHROM_SIZES}
    for s in sites:
        spans[s["chrom"]].append((s["start"], s["end"]))
    for rows in peaks.values():
        for r in rows:
            spans[r[0]].append((int(r[1]), int(r[2])))
    for r in _rows(out / "blacklist.bed"):
        spans[r[0]].append((int(r[1]), int(r[2])))
    arrays = {c: np.array(v) for c, v in spans.items()}
    for x in truth:
        if x["effect"] != "neutral":
            continue
        assert x["kind"] == "snv" and x["motif_id"] == ""
        p0 = int(x["pos"]) - 1
        a = arrays[x["chrom"]]
        gap = np.maximum(a[:, 0] - (p0 + 1), p0 - a[:, 1] + 1)
        assert gap.min() >= 2_000, x
        alt = _alt_sequence(genome[x["chrom"]], x)
        for mid, motif in motifs.items():
            assert _best(motif, _window(alt, p0 - FLANK, p0 + FLANK)) < thresholds[mid]


def test_indels_are_left_aligned(genome, truth):
    for x in truth:
        ref, alt, p0 = x["ref"], x["alt"], int(x["pos"]) - 1
        if len(ref) == len(alt):
            continue
        seq = genome[x["chrom"]].upper()
        if len(ref) > len(alt):  # deleted bases seq[p0+1 : p0+len(ref)]
            assert seq[p0] != seq[p0 + len(ref) - 1], x
        else:  # inserted bases alt[1:] after seq[p0]
            assert seq[p0] != alt[-1], x


def test_signal_track_follows_the_bound_ctcf_sites(out, sites):
    """The CTCF signal bigWig: a bump at every bound CTCF instance, growing with its motif
    score; zero away from them."""
    from deepcis.signals import window_signal

    ctcf = [s for s in sites if s["kind"] == "bound" and "CTCF" in s["tasks"]]
    others = [s for s in sites if s["kind"] == "bound" and "CTCF" not in s["tasks"]]
    path = out / "signal" / "CTCF.bw"

    def centre_signal(rows):
        centres = np.array([(s["start"] + s["end"]) // 2 for s in rows])
        return window_signal(path, [s["chrom"] for s in rows], centres - 300, centres + 300, 20, "mean", "none")

    at_ctcf, at_others = centre_signal(ctcf), centre_signal(others)
    assert (at_ctcf > 2).all()
    assert np.median(at_others) == 0 and (at_others < 1).mean() > 0.9  # far from CTCF sites (a few are near one)
    scores = np.array([s["score"] for s in ctcf])
    assert np.corrcoef(scores, at_ctcf)[0, 1] > 0.3


def test_reads_bam_is_sorted_indexed_and_reads_the_genome(out, genome, sites):
    """reads/CTCF.bam: a coordinate-sorted, indexed BAM of READS_COUNT reads less those over an
    N, every read's bases the genome's at its place; half the fragments come from the bound
    CTCF instances (where the coverage peaks: tests/test_coverage.py, docs/reads.md)."""
    from deepcis.coverage import check_reads

    bam = out / "reads" / "CTCF.bam"
    assert check_reads(bam) == "bam"
    with pysam.AlignmentFile(str(bam)) as f:  # (samtools index refuses an unsorted BAM)
        assert dict(zip(f.references, f.lengths)) == CHROM_SIZES
        assert 0.95 * params.READS_COUNT < sum(s.mapped for s in f.get_index_statistics()) <= params.READS_COUNT
        reads = list(f.fetch("chr2"))  # one chromosome is enough below
    for r in reads[::97]:
        assert r.query_sequence == genome[r.reference_name][r.reference_start : r.reference_end].upper()
    assert not any("N" in r.query_sequence for r in reads)
    bound = [s for s in sites if s["motif"] == "MA0139.1" and s["kind"] == "bound"]
    centres = {c: np.sort([(s["start"] + s["end"]) // 2 for s in bound if s["chrom"] == c]) for c in CHROM_SIZES}
    assert len(reads) > 10_000 and len(centres["chr2"]) > 100

    def distance(read):  # of its fragment's centre (fragments ~200 bp) to the nearest bound site
        mid = read.reference_end - 100 if read.is_reverse else read.reference_start + 100
        c = centres[read.reference_name]
        j = np.searchsorted(c, mid)
        return min(abs(mid - c[k]) for k in (j - 1, j) if 0 <= k < len(c))

    assert 0.45 < np.mean([distance(r) <= 150 for r in reads]) < 0.6
