"""Coverage bigWigs from BAM and fragment files: exact counts per mode (extension, cut sites,
the Tn5 shift), MAPQ and duplicate filters, CPM, bad inputs refused naming the file, and the
workflow path on the example generator's BAM: reads -> bigWig (peaking at the planted sites) ->
HDF5 signal targets."""

import gzip
import json
import shutil

import h5py
import numpy as np
import pandas as pd
import pyBigWig
import pysam
import pytest
import yaml
from _utils import copy_workflow, run_snakemake

from deepcis.config import read_tasks
from deepcis.coverage import check_contigs, check_reads, enrichment_at_sites, plan_reads_tasks, reads_coverage
from deepcis.errors import ConfigError, InputError

SIZES = {"chr1": 2000, "chr2": 1000}


def _bam(path, reads, sizes=SIZES, sort_order="coordinate", index=True):
    """reads: (chrom, start, length, flag, mapq[, tlen]) rows, written in the given order."""
    header = {"HD": {"VN": "1.6", "SO": sort_order}, "SQ": [{"SN": c, "LN": n} for c, n in sizes.items()]}
    with pysam.AlignmentFile(str(path), "wb", header=header) as bam:
        for i, (chrom, start, length, flag, mapq, *tlen) in enumerate(reads):
            read = pysam.AlignedSegment(bam.header)
            read.query_name, read.reference_id, read.reference_start = f"r{i}", list(sizes).index(chrom), start
            read.cigarstring, read.query_sequence = f"{length}M", "A" * length
            read.flag, read.mapping_quality = flag, mapq
            if tlen:
                read.template_length, read.next_reference_id, read.next_reference_start = tlen[0], read.reference_id, start
            bam.write(read)
    if index:
        pysam.index(str(path))
    return path


READS = [
    ("chr1", 100, 50, 0, 60),  # forward: 5' end 100
    ("chr1", 300, 50, 0x10, 60),  # reverse: 5' end 349
    ("chr1", 500, 50, 0, 5),  # low MAPQ
    ("chr1", 600, 50, 0x400, 60),  # duplicate
    ("chr1", 700, 50, 0x100, 60),  # secondary: never counted
    ("chr1", 1000, 50, 0x1 | 0x2 | 0x20, 60, 300),  # leftmost mate of a proper pair: template 1000-1300
    ("chr1", 1250, 50, 0x1 | 0x2 | 0x10, 60, -300),  # its mate
]


def _values(path, chrom="chr1"):
    with pyBigWig.open(str(path)) as bw:
        return np.nan_to_num(np.array(bw.values(chrom, 0, bw.chroms(chrom))))


def test_modes_count_exactly(tmp_path):
    bam = _bam(tmp_path / "r.bam", READS)
    out = tmp_path / "c.bw"
    summary = reads_coverage(bam, out, SIZES, mode="cut_sites")
    v = _values(out)
    # 5' ends of the two single reads and of both mates (1000, 1299); MAPQ 5, duplicate, secondary left out
    assert np.flatnonzero(v).tolist() == [100, 349, 1000, 1299] and v.sum() == 4 and summary["counted"] == 4
    reads_coverage(bam, out, SIZES, mode="tn5_cut_sites")
    assert np.flatnonzero(_values(out)).tolist() == [104, 344, 1004, 1294]  # +4 forward, -5 reverse
    reads_coverage(bam, out, SIZES, mode="extend", fragment_length=200)
    v = _values(out)
    expect = np.zeros(2000)
    expect[100:300] += 1  # forward read extended downstream
    expect[150:350] += 1  # reverse read extended upstream from its 3' end
    expect[1000:1300] += 1  # the pair's template, once
    np.testing.assert_array_equal(v, expect)
    reads_coverage(bam, out, SIZES, mode="cut_sites", min_mapq=0, duplicates="keep")
    assert np.flatnonzero(_values(out)).tolist() == [100, 349, 500, 600, 1000, 1299]
    summary = reads_coverage(bam, out, SIZES, mode="cut_sites", normalise="cpm")
    assert summary["scale"] == pytest.approx(1e6 / 4) and _values(out).sum() == pytest.approx(1e6)


def test_spans_do_not_double_count(tmp_path):
    reads = [("chr1", s, 50, 0x10 * (i % 2), 60) for i, s in enumerate(range(0, 1900, 37))]
    bam = _bam(tmp_path / "r.bam", reads)
    whole, pieces = tmp_path / "whole.bw", tmp_path / "pieces.bw"
    for mode in ("extend", "tn5_cut_sites"):
        a = reads_coverage(bam, whole, SIZES, mode=mode, fragment_length=150)
        b = reads_coverage(bam, pieces, SIZES, mode=mode, fragment_length=150, span=97)
        np.testing.assert_array_equal(_values(whole), _values(pieces))
        assert a["counted"] == b["counted"] == len(reads)


def _fragments(tmp_path, rows, index=True, name="frag.tsv"):
    path = tmp_path / name
    path.write_text("".join("\t".join(map(str, r)) + "\n" for r in rows))
    if not index:
        with open(path, "rb") as src, gzip.open(f"{path}.gz", "wb") as dst:
            dst.write(src.read())
        return tmp_path / f"{name}.gz"
    return pysam.tabix_index(str(path), preset="bed", force=True)


def test_fragments_cut_sites_extension_and_counts(tmp_path):
    frag = _fragments(tmp_path, [("chr1", 100, 250, "AAAC-1", 3), ("chr1", 400, 500, "AAAG-1", 1), ("chr2", 10, 20, "AAAC-1", 1)])
    out = tmp_path / "f.bw"
    reads_coverage(frag, out, SIZES, mode="cut_sites")
    assert np.flatnonzero(_values(out)).tolist() == [100, 249, 400, 499] and _values(out).sum() == 4
    reads_coverage(frag, out, SIZES, mode="cut_sites", duplicates="keep")  # a fragment counts its reads
    assert _values(out)[100] == 3 and _values(out)[400] == 1
    summary = reads_coverage(frag, out, SIZES, mode="extend")
    assert _values(out).sum() == 150 + 100 and _values(out, "chr2").sum() == 10 and summary["counted"] == 3


def test_bad_reads_refused_naming_the_file(tmp_path):
    unindexed = _bam(tmp_path / "noindex.bam", READS, index=False)
    with pytest.raises(InputError, match="has no index.*samtools index") as error:
        check_reads(unindexed)
    assert str(unindexed) in str(error.value)
    with pytest.raises(InputError, match="not coordinate-sorted.*SO:unsorted"):
        check_reads(_bam(tmp_path / "unsorted.bam", READS[:2], sort_order="unsorted", index=False))
    with pytest.raises(InputError, match="not a readable BAM"):
        (tmp_path / "junk.bam").write_text("not a bam\n")
        check_reads(tmp_path / "junk.bam")
    with pytest.raises(InputError, match="no tabix index"):
        check_reads(_fragments(tmp_path, [("chr1", 1, 50, "A", 1)], index=False))
    plain = tmp_path / "plain.tsv.gz"
    plain.write_text("chr1\t1\t5\tA\t1\n")
    with pytest.raises(InputError, match="not bgzip-compressed"):
        check_reads(plain)
    frag = _fragments(tmp_path, [("chr1", 1, 50, "A", 1)], name="ok.tsv")
    with pytest.raises(InputError, match="already Tn5-shifted"):
        check_reads(frag, "tn5_cut_sites")
    bam = _bam(tmp_path / "ok.bam", READS)
    with pytest.raises(InputError, match="contig chr1 is 2000 bp here but 2500 bp in the genome"):
        check_contigs(bam, {"chr1": 2500, "chr2": 1000})
    with pytest.raises(InputError, match="no contig in common"):
        check_contigs(frag, {"1": 2000})
    out = tmp_path / "never.bw"
    with pytest.raises(InputError, match=str(bam)):
        reads_coverage(bam, out, {"1": 2000, "2": 1000})
    assert not out.exists() and not list(tmp_path.glob(".never.bw*"))


def test_tasks_sheet_reads_planned_and_refused(tmp_path):
    bam = _bam(tmp_path / "ok.bam", READS)
    sheet = tmp_path / "tasks.tsv"
    sheet.write_text(f"name\tpeaks\ttype\tsignal\tassay\tcoverage\nchip\t\tsignal\t{bam}\tChIP-seq\t\natac\t\tsignal\t{bam}\tATAC-seq\t\n"
                     f"dnase\t\tsignal\t{bam}\tDNase-seq\tcut_sites\n")  # fmt: skip
    tasks = read_tasks(sheet)
    planned = plan_reads_tasks(tasks)
    assert {t: p["mode"] for t, p in planned.items()} == {"chip": "extend", "atac": "tn5_cut_sites", "dnase": "cut_sites"}
    assert tasks[0]["signal"] == "results/coverage/chip.bw" and tasks[0]["reads"] == str(bam)
    (tmp_path / "ok.bam.bai").unlink()
    with pytest.raises(ConfigError, match="task 'chip'.*ok.bam: BAM has no index"):
        plan_reads_tasks(read_tasks(sheet))


def test_workflow_reads_task_to_hdf5(tmp_path, example_run):
    """The example generator's BAM (reads/CTCF.bam) as a signal task beside the CTCF peaks:
    reads_coverage makes the bigWig, which peaks at the planted bound CTCF sites, prepare_windows
    reads it, the encoded HDF5 holds its targets (high in the CTCF-bound windows)."""
    example = example_run[0] / "resources/example"
    workdir = copy_workflow(tmp_path / "wf")
    for name in ("CTCF.bam", "CTCF.bam.bai"):  # copied: the index is deleted below
        shutil.copy(example / "reads" / name, workdir / name)
    (workdir / "tasks.tsv").write_text(f"name\tpeaks\ttype\tsignal\tassay\nTF\t{example}/peaks/CTCF.narrowPeak\tbinary\t\tChIP-seq\n"
                                       "TF_reads\t\tsignal\tCTCF.bam\tChIP-seq\n")  # fmt: skip
    cfg = {"genome": str(example / "genome.fa"), "tasks": "tasks.tsv", "split": {"valid": ["chr2"], "test": ["chr3"]},
           "prepare": {"window_length": 600, "chunks": 1}, "encode": {"chunks": 1}, "models": {},
           "baseline": {"enabled": False}, "coverage": {"min_mapq": 20}}  # fmt: skip
    (workdir / "reads.yaml").write_text(yaml.safe_dump(cfg))
    run_snakemake(workdir, "results/encode/test.h5", "--configfile", "reads.yaml")
    # the coverage peaks at the bound CTCF instances the reads were simulated from, not at the
    # unbound ones (the motif without binding)
    sites = pd.read_csv(example / "motif_sites.bed", sep="\t", names=["chrom", "start", "end", "motif", "score", "strand",
                                                                      "kind", "tasks", "group"])  # fmt: skip
    ctcf = sites[sites["motif"] == "MA0139.1"].assign(centre=lambda d: (d["start"] + d["end"]) // 2)
    bigwig = workdir / "results/coverage/TF_reads.bw"
    at = {kind: enrichment_at_sites(bigwig, list(zip(rows["chrom"], rows["centre"]))) for kind, rows in ctcf.groupby("kind")}
    assert at["bound"]["ratio"] > 10 and at["bound"]["offset_p95"] <= 60, at["bound"]
    assert at["unbound"]["ratio"] < 2, at["unbound"]
    # the input check looked at the BAM (header and index), not at the bigWig made of it
    checked = {c["role"]: c for c in json.loads((workdir / "results/check/data.json").read_text())["data"]}
    assert checked["reads:TF_reads"]["kind"] == "bam" and checked["reads:TF_reads"]["records"] > 0
    assert "signal:TF_reads" not in checked
    with h5py.File(workdir / "results/encode/test.h5") as f:
        tasks = [t.decode() for t in f["tasks"][:]]
        y = f["y"][:]
    assert tasks == ["TF", "TF_reads"]
    bound, signal = y[:, 0] == 1, y[:, 1]
    assert bound.any() and (~bound).any()
    assert signal[bound].mean() > 3 * signal[~bound].mean()
    # a BAM without its index stops the run at parse time, naming task and file
    (workdir / "CTCF.bam.bai").unlink()
    result = run_snakemake(workdir, "-n", "--configfile", "reads.yaml", check=False)
    output = result.stdout + result.stderr
    assert result.returncode != 0 and "task 'TF_reads'" in output and "has no index" in output and "Traceback" not in output
