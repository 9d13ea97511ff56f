"""Variant scoring: VCF reading, windows, scores, annotated VCF, chunks, strand symmetry, errors."""

import gzip
import re
import subprocess

import numpy as np
import pandas as pd
import pysam
import pytest
from _utils import SHARED_DATA, random_sequence, write_fasta

from deepcis import effects, variant_plots, variants
from deepcis import vcf as vcf_io
from deepcis.errors import ConfigError, InputError
from deepcis.genome import Genome

L = 21  # odd: the variant is the exact centre (strand symmetry holds for SNVs)
TASKS = ["CTCF", "GATA1", "AP-1 (jun)"]
COMP = str.maketrans("ACGTacgtN", "TGCAtgcaN")
MOTIF = "GAATTC"  # palindrome: the hand-set model sees it on both strands


def revcomp(seq):
    return seq.translate(COMP)[::-1]


def write_vcf(path, rows, contigs=None, bgzip=True, info_header=True):
    """rows: (chrom, pos, id, ref, alt[, info]); bgzip + tabix with pysam when `bgzip`."""
    lines = ["##fileformat=VCFv4.2"]
    lines += [f"##contig=<ID={c},length={n}>" for c, n in (contigs or {}).items()]
    if info_header:
        lines.append('##INFO=<ID=NOTE,Number=1,Type=String,Description="test note">')
    lines.append("#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO")
    for row in rows:
        chrom, pos, vid, ref, alt = row[:5]
        info = row[5] if len(row) > 5 else "."
        lines.append(f"{chrom}\t{pos}\t{vid}\t{ref}\t{alt}\t.\tPASS\t{info}")
    text = "\n".join(lines) + "\n"
    if not bgzip:
        path.write_text(text)
        return path
    plain = path.with_name(path.name + ".plain")
    plain.write_text(text)
    gz = path if str(path).endswith(".gz") else path.with_name(path.name + ".gz")
    pysam.tabix_compress(str(plain), str(gz), force=True)
    pysam.tabix_index(str(gz), preset="vcf", force=True)
    plain.unlink()
    return gz


@pytest.fixture(scope="module")
def genome_seqs():
    a = random_sequence(300, 11)
    a = a[:200] + a[200:230].lower() + a[230:]
    return {"chr1": a, "chr2": random_sequence(200, 12)}


@pytest.fixture(scope="module")
def genome(tmp_path_factory, genome_seqs):
    return write_fasta(tmp_path_factory.mktemp("genome") / "genome.fa", genome_seqs)


@pytest.fixture(scope="module")
def model_path(tmp_path_factory):
    """Random-init MLP (3 tasks, L=21): untrained, but every window gets its own outputs."""
    import keras

    from deepcis.keras_objects import with_metadata
    from deepcis.models import build_model

    keras.utils.set_random_seed(3)
    model = with_metadata(build_model("mlp", L, len(TASKS), {"dense_units": [16], "dropout": 0.0}), TASKS, L)
    path = tmp_path_factory.mktemp("model") / "model.keras"
    model.save(path)
    return path


def read_tsv(path):
    return pd.read_csv(path, sep="\t", dtype={"chrom": str, "id": str}, keep_default_na=False,
                       na_values=["NA"])


def score(tmp_path, model_path, genome, vcf, name="out", **kwargs):
    tsv, vcf_out = tmp_path / f"{name}.tsv.gz", tmp_path / f"{name}.vcf.gz"
    summary = variants.score_variants(model_path, genome, vcf, tsv, vcf_out, **kwargs)
    return summary, read_tsv(tsv), vcf_out


def window_of(seq, p):
    return seq[p - L // 2 : p - L // 2 + L]


# ------------------------------------------------------------------------------ windows


@pytest.mark.parametrize("length", [10, 11])
def test_windows_decode_to_the_rule(tmp_path, length):
    seq = "ACGTACGGTCAATGCCGATTACAGGCATTCAGGAT"  # 35 bp
    g = Genome(write_fasta(tmp_path / "g.fa", {"c": seq}))
    half = length // 2
    p = 16  # 0-based REF start; POS 17; genome base 'G'
    s = p - half
    alleles = [("c", p + 1, "G", "T"),        # SNV
               ("c", p + 1, "GA", "CC"),      # MNV
               ("c", p + 1, "G", "GTTTT"),    # insertion (VCF padding base G)
               ("c", p + 1, "GATTA", "G")]    # deletion of ATTA
    ref, alt = variants.variant_windows(g, alleles, length)
    refs, alts = variants.decode_windows(ref), variants.decode_windows(alt)
    assert refs == [seq[s : s + length]] * 4
    assert seq[p] == "G" and refs[0][half] == "G"  # REF's first base at offset L//2
    assert alts[0] == seq[s:p] + "T" + seq[p + 1 : s + length]
    assert alts[1] == seq[s:p] + "CC" + seq[p + 2 : s + length]
    assert alts[2] == (seq[s:p] + "GTTTT" + seq[p + 1 :])[:length]  # trimmed on the right
    assert alts[3] == seq[s:p] + "G" + seq[p + 5 : p + 5 + length - half - 1]  # filled from the genome
    # the worked example of docs/variants.md (L = 10: 5 bases left of the variant, 4 right)
    if length == 10:
        assert refs[0] == "ATGCCGATTA"
        assert alts == ["ATGCCTATTA", "ATGCCCCTTA", "ATGCCGTTTT", "ATGCCGCAGG"]
    with pytest.raises(ValueError, match="run off"):
        variants.variant_windows(g, [("c", 2, "C", "A")], length)


def test_windows_keep_soft_masking_and_match_case_insensitively(tmp_path, genome, model_path, genome_seqs):
    seq = genome_seqs["chr1"]
    p = 210  # inside the lowercase run
    ref, alt = variants.variant_windows(Genome(genome), [("chr1", p + 1, seq[p].upper(), "A")], L)
    assert variants.decode_windows(ref)[0] == window_of(seq, p)
    vcf = write_vcf(tmp_path / "v.vcf", [("chr1", p + 1, "v1", seq[p].upper(), "A" if seq[p].upper() != "A" else "C")])
    summary, tsv, _ = score(tmp_path, model_path, genome, vcf)
    assert summary["skipped"]["ref_mismatch"] == 0 and tsv["ref_match"].all()


# ------------------------------------------------------------------------------ scores


def test_tsv_columns_values_and_order(tmp_path, genome, model_path, genome_seqs):
    from deepcis.genome import one_hot_sequence
    from deepcis.keras_objects import load_model

    seq = genome_seqs["chr1"]
    rows = [("chr1", 51, "a", seq[50], "ACGT".replace(seq[50].upper(), "")[0]),
            ("chr1", 41, "b", seq[40:43], seq[40]),  # deletion
            ("chr1", 31, ".", seq[30], seq[30] + "GG")]  # insertion, no ID
    vcf = write_vcf(tmp_path / "v.vcf", rows, bgzip=False)  # unsorted: plain text, no index
    summary, tsv, _ = score(tmp_path, model_path, genome, vcf, index=False)
    assert list(tsv.columns) == variants.TSV_COLUMNS
    assert len(tsv) == 3 * len(TASKS) and summary["scored_alleles"] == 3
    assert list(tsv["id"][:: len(TASKS)]) == ["a", "b", "."]  # input order, not position order
    assert list(tsv["pos"][:: len(TASKS)]) == [51, 41, 31]
    assert list(tsv["task"][: len(TASKS)]) == TASKS
    np.testing.assert_allclose(tsv["diff"], tsv["alt_prob"] - tsv["ref_prob"], atol=2e-7)
    np.testing.assert_allclose(tsv["abs_diff"], np.abs(tsv["diff"]), atol=1e-7)
    clip = lambda p: np.clip(p, 1e-6, 1 - 1e-6)  # noqa: E731
    logit = lambda p: np.log(clip(p) / (1 - clip(p)))  # noqa: E731
    np.testing.assert_allclose(tsv["logit_diff"], logit(tsv["alt_prob"]) - logit(tsv["ref_prob"]), atol=1e-4)
    # ref_prob = mean of the model on the ref window and on its reverse complement
    model = load_model(model_path)
    ref = one_hot_sequence(window_of(seq, 50))[None].astype(np.float32)
    expected = (model.predict(ref, verbose=0) + model.predict(ref[:, ::-1, ::-1].copy(), verbose=0)) / 2
    np.testing.assert_allclose(tsv["ref_prob"][: len(TASKS)], expected[0], rtol=1e-5, atol=1e-6)
    # forward only
    _, fwd, _ = score(tmp_path, model_path, genome, vcf, name="fwd", reverse_complement=False, index=False)
    np.testing.assert_allclose(fwd["ref_prob"][: len(TASKS)], model.predict(ref, verbose=0)[0], rtol=1e-5, atol=1e-6)


def test_logit_clipping():
    scores = variants.effect_scores(np.array([[0.0]]), np.array([[1.0]]))
    expected = 2 * np.log((1 - 1e-6) / 1e-6)
    assert scores["logit_diff"][0, 0] == pytest.approx(expected)
    assert scores["diff"][0, 0] == 1.0 and scores["abs_diff"][0, 0] == 1.0


def test_multiallelic_split_and_shared_ref(tmp_path, genome, model_path, genome_seqs):
    seq = genome_seqs["chr2"]
    base = seq[100]
    others = [b for b in "ACGT" if b != base]
    multi = write_vcf(tmp_path / "multi.vcf", [("chr2", 101, "m", base, ",".join(others))])
    summary, tsv, _ = score(tmp_path, model_path, genome, multi, name="multi")
    assert list(tsv["alt"][:: len(TASKS)]) == others
    assert summary["scored_alleles"] == 3
    assert summary["windows_predicted"] == (1 + 3) * 2  # one ref window for the three ALTs, two strands
    by_task = tsv.groupby("task")["ref_prob"].nunique()
    assert (by_task == 1).all()
    single = write_vcf(tmp_path / "single.vcf", [("chr2", 101, "s", base, others[1])])
    _, one, _ = score(tmp_path, model_path, genome, single, name="single")
    np.testing.assert_allclose(one["ref_prob"], tsv["ref_prob"][: len(TASKS)], atol=1e-7)
    np.testing.assert_allclose(one["alt_prob"], tsv["alt_prob"][len(TASKS) : 2 * len(TASKS)], atol=1e-7)


def test_symbolic_alleles_skipped_and_counted(tmp_path, genome, model_path, genome_seqs, capfd):
    seq = genome_seqs["chr1"]
    snv = "ACGT".replace(seq[60].upper(), "")[0]
    rows = [("chr1", 61, "mix", seq[60], f"{snv},<DEL>,*"),
            ("chr1", 71, "bnd", seq[70], f"{seq[70]}[chr2:50["),
            ("chr1", 81, "none", seq[80], "."),
            ("chr1", 91, "sv", seq[90], "<INS>")]
    vcf = write_vcf(tmp_path / "v.vcf", rows)
    summary, tsv, out_vcf = score(tmp_path, model_path, genome, vcf)
    assert summary["skipped"]["symbolic"] == 5
    assert summary["alleles"] == 6 and summary["scored_alleles"] == 1
    assert set(tsv["id"]) == {"mix"}
    capfd.readouterr()
    records = list(pysam.VariantFile(str(out_vcf)))
    assert [r.id for r in records] == ["mix", "bnd", "none", "sv"]  # all records kept
    mix = records[0]
    assert mix.info["DEEPCIS_TOP_DIFF"][1:] == (None, None)  # '.' for the skipped ALTs
    assert mix.info["DEEPCIS_TOP_TASK"][1:] == (".", ".")
    assert mix.info["DEEPCIS_TOP_TASK"][0] in [variants._info_safe(t) for t in TASKS]
    assert all("DEEPCIS_TOP_DIFF" not in r.info for r in records[1:])
    assert "[W::" not in capfd.readouterr().err


def test_ref_mismatch_drop_or_genome(tmp_path, genome, model_path, genome_seqs):
    seq = genome_seqs["chr1"]
    good, bad_ref = seq[120], "ACGT".replace(seq[150].upper(), "")[0]
    alt = "ACGT".replace(seq[150].upper(), "").replace(bad_ref, "")[0]
    rows = [("chr1", 121, "ok", good, "ACGT".replace(good.upper(), "")[0]),
            ("chr1", 151, "wrong", bad_ref, alt)]
    vcf = write_vcf(tmp_path / "v.vcf", rows)
    summary, tsv, out = score(tmp_path, model_path, genome, vcf, name="drop")
    assert summary["skipped"]["ref_mismatch"] == 1 and set(tsv["id"]) == {"ok"}
    assert "DEEPCIS_TOP_DIFF" not in list(pysam.VariantFile(str(out)))[1].info
    summary, tsv, out = score(tmp_path, model_path, genome, vcf, name="genome", ref_mismatch="genome")
    assert summary["ref_mismatch_scored"] == 1 and summary["skipped"]["ref_mismatch"] == 0
    assert list(tsv.drop_duplicates("id")["ref_match"]) == [True, False]
    wrong = list(pysam.VariantFile(str(out)))[1]
    assert wrong.info["DEEPCIS_REF_MISMATCH"] is True
    # scored with the genome's REF: the same as the VCF that states the genome's base
    fixed = write_vcf(tmp_path / "f.vcf", [("chr1", 151, "wrong", seq[150], alt)])
    _, ref_tsv, _ = score(tmp_path, model_path, genome, fixed, name="fixed")
    np.testing.assert_allclose(tsv[tsv["id"] == "wrong"]["alt_prob"], ref_tsv["alt_prob"], atol=1e-7)
    with pytest.raises(ConfigError):
        score(tmp_path, model_path, genome, vcf, name="x", ref_mismatch="ignore")


def test_chromosome_names_resolved_or_refused(tmp_path, genome, model_path, genome_seqs):
    seq = genome_seqs["chr2"]
    rows = [("{c}", 101, "v", seq[100], "ACGT".replace(seq[100].upper(), "")[0])]
    chr_vcf = write_vcf(tmp_path / "chr.vcf", [("chr2",) + r[1:] for r in rows])
    bare_vcf = write_vcf(tmp_path / "bare.vcf", [("2",) + r[1:] for r in rows] + [("7", 5, "w", "A", "C")])
    _, a, _ = score(tmp_path, model_path, genome, chr_vcf, name="chr")
    summary, b, _ = score(tmp_path, model_path, genome, bare_vcf, name="bare")
    assert summary["contig_map"] == {"2": "chr2", "7": None}
    assert summary["skipped"]["contig_not_in_genome"] == 1
    assert list(b["chrom"].unique()) == ["2"]  # VCF names are kept in the outputs
    np.testing.assert_allclose(a["alt_prob"], b["alt_prob"], atol=1e-7)
    alien = write_vcf(tmp_path / "alien.vcf", [("scaffold_9", 5, "w", "A", "C")])
    with pytest.raises(InputError, match="none of the VCF's contigs") as error:
        score(tmp_path, model_path, genome, alien, name="alien")
    assert "scaffold_9" in str(error.value) and "chr1, chr2" in str(error.value)
    assert vcf_io.resolve_contigs({"chrM": 1, "chr1": 2}, ["MT", "1"]) == {"chrM": "MT", "chr1": "1"}
    assert vcf_io.resolve_contigs({"MT": 1}, ["chrM", "chr1"]) == {"MT": "chrM"}


def test_windows_off_chromosome_end_skipped(tmp_path, genome, model_path, genome_seqs):
    seq = genome_seqs["chr2"]  # 200 bp
    half = L // 2
    rows = [("chr2", half, "left", seq[half - 1], "A" if seq[half - 1] != "A" else "C"),      # needs 1 more base left
            ("chr2", half + 1, "left_ok", seq[half], "A" if seq[half] != "A" else "C"),
            ("chr2", 190 - half, "del_fill", seq[189 - half : 203 - half], seq[189 - half]),  # fill runs off
            ("chr2", 200 - half, "right_ok", seq[199 - half], "A" if seq[199 - half] != "A" else "C"),
            ("chr2", 201 - half, "right", seq[200 - half], "A" if seq[200 - half] != "A" else "C"),
            ("chr2", 250, "beyond", "A", "C")]
    vcf = write_vcf(tmp_path / "v.vcf", rows)
    summary, tsv, _ = score(tmp_path, model_path, genome, vcf)
    assert summary["skipped"]["off_chromosome_end"] == 3
    assert summary["skipped"]["outside_chromosome"] == 1
    assert list(tsv["id"].unique()) == ["left_ok", "right_ok"]


def test_strand_symmetry_on_reverse_complemented_genome(tmp_path, model_path, genome_seqs):
    """SNVs on the genome == mirrored SNVs on the reverse-complemented genome (odd L)."""
    fwd_genome = write_fasta(tmp_path / "fwd.fa", genome_seqs)
    rc_genome = write_fasta(tmp_path / "rc.fa", {c: revcomp(s) for c, s in genome_seqs.items()})
    rng = np.random.default_rng(0)
    rows, mirrored = [], []
    for chrom, s in genome_seqs.items():
        for k, p in enumerate(rng.choice(np.arange(L, len(s) - L), 6, replace=False)):
            ref = s[p].upper()
            alts = [b for b in "ACGT" if b != ref][: 1 + k % 2]
            vid = f"{chrom}_{p}"
            rows.append((chrom, p + 1, vid, ref, ",".join(alts)))
            mirrored.append((chrom, len(s) - p, vid, ref.translate(COMP), ",".join(a.translate(COMP) for a in alts)))
    order = {"chr1": 0, "chr2": 1}
    rows.sort(key=lambda r: (order[r[0]], r[1]))
    mirrored.sort(key=lambda r: (order[r[0]], r[1]))
    _, a, _ = score(tmp_path, model_path, fwd_genome, write_vcf(tmp_path / "f.vcf", rows), name="f")
    _, b, _ = score(tmp_path, model_path, rc_genome, write_vcf(tmp_path / "r.vcf", mirrored), name="r")
    key = ["id", "task", "alt"]
    b["alt"] = b["alt"].str.translate(COMP)
    a, b = a.sort_values(key).reset_index(drop=True), b.sort_values(key).reset_index(drop=True)
    assert len(a) == len(b) > 0
    for col in ("ref_prob", "alt_prob", "diff", "logit_diff"):
        np.testing.assert_allclose(a[col], b[col], atol=2e-6)
    # forward-only scores are not symmetric: the test can see a strand bias
    _, fa, _ = score(tmp_path, model_path, fwd_genome, tmp_path / "f.vcf.gz", name="ff", reverse_complement=False)
    _, fb, _ = score(tmp_path, model_path, rc_genome, tmp_path / "r.vcf.gz", name="fr", reverse_complement=False)
    fb["alt"] = fb["alt"].str.translate(COMP)
    fa, fb = fa.sort_values(key).reset_index(drop=True), fb.sort_values(key).reset_index(drop=True)
    assert np.abs(fa["ref_prob"] - fb["ref_prob"]).max() > 1e-4


def test_planted_motif_raises_the_output(tmp_path):
    """Hand-set DeepSEA-shaped model that counts GAATTC: creating it raises the output, breaking
    it lowers it; the same sign in every task (scaled 1x, 2x)."""
    import keras

    from deepcis.keras_objects import with_metadata
    from deepcis.models import build_model

    length = 31
    hp = {"conv_filters": [1], "kernel_size": 6, "dropout": 0.0, "dense_units": 1, "l2": 0.0,
          "l1_activity": 0.0, "max_norm": 0.0}
    model = with_metadata(build_model("deepsea", length, 2, hp), ["up", "up2"], length)
    kernel = -np.ones((6, 4, 1), np.float32)
    for i, b in enumerate(MOTIF):
        kernel[i, "ACGT".index(b), 0] = 1.0
    model.get_layer("conv1").set_weights([kernel, np.array([-5.0], np.float32)])
    dense = model.get_layer("dense1")
    dense.set_weights([np.ones(dense.get_weights()[0].shape, np.float32), np.zeros(1, np.float32)])
    model.get_layer("output").set_weights([np.array([[4.0, 8.0]], np.float32), np.array([-2.0, -4.0], np.float32)])
    model.save(tmp_path / "motif.keras")
    keras.backend.clear_session()

    seed = 0
    while MOTIF in (seq := random_sequence(400, seed)) or "GATTTC" in seq:
        seed += 1
    seq = seq[:100] + MOTIF + seq[106:200] + "GATTTC" + seq[206:]
    g = write_fasta(tmp_path / "g.fa", {"chr1": seq})
    rows = [("chr1", 103, "destroy", "A", "C"),   # GAATTC -> GACTTC
            ("chr1", 203, "create", "T", "A"),    # GATTTC -> GAATTC
            ("chr1", 300, "neutral", seq[299], "ACGT".replace(seq[299], "")[0])]
    vcf = write_vcf(tmp_path / "v.vcf", rows)
    _, tsv, _ = score(tmp_path, tmp_path / "motif.keras", g, vcf)
    diff = tsv.pivot(index="id", columns="task", values="diff")
    assert (diff.loc["create"] > 0.5).all() and (diff.loc["destroy"] < -0.5).all()
    assert (diff.loc["neutral"].abs() < 1e-6).all()


# ------------------------------------------------------------------------------ outputs


def test_annotated_vcf_reads_back_cleanly(tmp_path, genome, model_path, genome_seqs, capfd):
    seq = genome_seqs["chr1"]
    rows = [("chr1", 101, "a", seq[100], ",".join("ACGT".replace(seq[100].upper(), "")[:2]), "NOTE=x"),
            ("chr1", 131, "b", seq[130:132], seq[130], "UNDECLARED=1"),
            ("chr2", 51, "c", "<weird>", "A")]
    vcf = write_vcf(tmp_path / "v.vcf", rows)
    summary, tsv, out = score(tmp_path, model_path, genome, vcf)
    assert (tmp_path / "out.vcf.gz.tbi").is_file()
    capfd.readouterr()
    handle = pysam.VariantFile(str(out))
    for key in ("DEEPCIS_TOP_TASK", "DEEPCIS_TOP_DIFF", "DEEPCIS_TOP_LOGIT_DIFF", "DEEPCIS_MAX_ABS_DIFF"):
        assert handle.header.info[key].number == "A"
    records = list(handle)
    assert [r.id for r in records] == ["a", "b", "c"]
    a = records[0]
    assert a.info["NOTE"] == "x"
    assert len(a.info["DEEPCIS_TOP_DIFF"]) == len(a.alts) == 2
    sub = tsv[tsv["id"] == "a"]
    for j, alt in enumerate(a.alts):
        rows_alt = sub[sub["alt"] == alt]
        top = rows_alt.loc[rows_alt["abs_diff"].idxmax()]
        assert a.info["DEEPCIS_TOP_TASK"][j] == variants._info_safe(top["task"])
        assert a.info["DEEPCIS_TOP_DIFF"][j] == pytest.approx(top["diff"], rel=1e-4, abs=1e-7)
        assert a.info["DEEPCIS_MAX_ABS_DIFF"][j] == pytest.approx(abs(top["diff"]), rel=1e-4, abs=1e-7)
        assert a.info["DEEPCIS_TOP_LOGIT_DIFF"][j] == pytest.approx(top["logit_diff"], rel=1e-4, abs=1e-6)
    assert "DEEPCIS_TOP_TASK" not in records[2].info and summary["skipped"]["invalid_allele"] == 1
    assert len(list(pysam.VariantFile(str(out)).fetch("chr1", 120, 140))) == 1  # the index works
    assert "[W::" not in capfd.readouterr().err
    # bcftools (htslib's own reader) parses every record and INFO field without a warning
    bcftools = subprocess.run(
        ["bcftools", "query", "-f", "%ID\t%INFO/DEEPCIS_TOP_TASK\t%INFO/DEEPCIS_TOP_DIFF\n", str(out)],
        capture_output=True, text=True, check=True,
    )
    assert bcftools.stderr == ""
    queried = [line.split("\t") for line in bcftools.stdout.splitlines()]
    assert [q[0] for q in queried] == ["a", "b", "c"]
    assert queried[0][1] == ",".join(a.info["DEEPCIS_TOP_TASK"]) and queried[2][1:] == [".", "."]
    assert [float(v) for v in queried[0][2].split(",")] == pytest.approx(a.info["DEEPCIS_TOP_DIFF"], rel=1e-5)
    checked = subprocess.run(["bcftools", "view", "-H", "-r", "chr1:120-140", str(out)], capture_output=True, text=True)
    assert checked.returncode == 0 and checked.stderr == "" and len(checked.stdout.splitlines()) == 1
    # re-annotating an annotated VCF replaces the fields instead of duplicating them
    again = tmp_path / "again.vcf.gz"
    variants.score_variants(model_path, genome, out, tmp_path / "again.tsv.gz", again)
    capfd.readouterr()
    first = next(iter(pysam.VariantFile(str(again))))
    assert str(first).count("DEEPCIS_TOP_DIFF=") == 1
    assert "[W::" not in capfd.readouterr().err


# How far float32 model outputs may move when only the batching changes: each output of these
# small test models is a float32 sum of at most a few hundred terms of magnitude <= 1 (then a
# sigmoid, which only shrinks differences), so reordering the sum moves it by at most about
# n * 2**-24 (2**-24 = float32 unit roundoff) ~ 1e-5; logit_diff = logit(alt) - logit(ref)
# scales that by 1 / (p (1 - p)), under 10 for these models' outputs (all in 0.1-0.9).
FLOAT32_ATOL = 1e-4


_NUMBER = re.compile(r"(?<==)-?[0-9.]+(?:e-?[0-9]+)?(?=[;,\t]|$)|(?<=,)-?[0-9.]+(?:e-?[0-9]+)?(?=[;,\t]|$)")


def _vcf_fields(text: str) -> tuple[list, list]:
    """The lines with every INFO number replaced by '#', and those numbers in order: records
    compare exactly but for float32 rounding."""
    records = text.splitlines()  # header lines too
    return [_NUMBER.sub("#", line) for line in records], [float(v) for line in records for v in _NUMBER.findall(line)]


def test_chunked_scoring_gathers_to_the_whole(tmp_path, genome, model_path, genome_seqs):
    rng = np.random.default_rng(5)
    rows = []
    for chrom, s in genome_seqs.items():
        for p in sorted(rng.choice(np.arange(L, len(s) - 2 * L), 9, replace=False)):
            rows.append((chrom, p + 1, f"{chrom}_{p}", s[p].upper(), "ACGT".replace(s[p].upper(), "")[p % 3]))
    rows.append(("chr2", 195, "edge", genome_seqs["chr2"][194], "N"))  # skipped: off the end
    vcf = write_vcf(tmp_path / "v.vcf", rows)
    whole, whole_tsv, whole_vcf = score(tmp_path, model_path, genome, vcf, name="whole", block_size=4,
                                        out_h5=tmp_path / "whole.h5", matrix_dtype="float32")  # fmt: skip
    parts = []
    for i in range(3):
        tsv, out, h5 = tmp_path / f"p{i}.tsv.gz", tmp_path / f"p{i}.vcf.gz", tmp_path / f"p{i}.h5"
        s = variants.score_variants(model_path, genome, vcf, tsv, out, chunk=(i, 3), index=False, block_size=5,
                                    out_h5=h5)  # fmt: skip
        assert s["records"] in (6, 7)
        parts.append((tsv, out, h5))
    variants.gather_scores([p[0] for p in parts], [p[1] for p in parts], tmp_path / "g.tsv.gz", tmp_path / "g.vcf.gz",
                           h5_parts=[p[2] for p in parts], out_h5=tmp_path / "g.h5")  # fmt: skip
    # the matrix form holds the long table's alleles and scores (the float16 chunks: to its
    # precision); one reader reads both, in blocks of any size
    long_blocks = list(effects.iter_effects(tmp_path / "whole.tsv.gz", rows=5))
    assert sum(len(b.variants) for b in long_blocks) == 18 and long_blocks[0].tasks == TASKS
    for path, tol in ((tmp_path / "whole.h5", 1e-6), (tmp_path / "g.h5", 1e-3)):
        matrix_blocks = list(effects.iter_effects(path, rows=7))
        assert [b.tasks for b in matrix_blocks] == [TASKS] * 3
        pd.testing.assert_frame_equal(pd.concat([b.variants for b in matrix_blocks], ignore_index=True),
                                      pd.concat([b.variants for b in long_blocks], ignore_index=True))
        for name in matrix_blocks[0].scores:
            np.testing.assert_allclose(np.concatenate([b.scores[name] for b in matrix_blocks]),
                                       np.concatenate([b.scores[name] for b in long_blocks]), rtol=tol, atol=tol)
        top_long, top_matrix = variants.top_effects(tmp_path / "whole.tsv.gz", 5), variants.top_effects(path, 5)
        assert list(top_matrix.columns) == list(top_long.columns) and top_matrix["id"].tolist() == top_long["id"].tolist()
    assert effects.effects_tasks(tmp_path / "g.h5") == TASKS
    # Chunks batch the windows differently, and float32 results depend on the batch shape
    # (summation order): compare the numbers at FLOAT32_ATOL, everything else exactly.
    gathered = read_tsv(tmp_path / "g.tsv.gz")
    numbers = ["ref_prob", "alt_prob", "diff", "abs_diff", "logit_diff"]
    pd.testing.assert_frame_equal(gathered.drop(columns=numbers), whole_tsv.drop(columns=numbers))
    np.testing.assert_allclose(gathered[numbers].to_numpy(), whole_tsv[numbers].to_numpy(), rtol=0, atol=FLOAT32_ATOL)
    gathered_records, gathered_numbers = _vcf_fields(gzip.open(tmp_path / "g.vcf.gz", "rt").read())
    whole_records, whole_numbers = _vcf_fields(gzip.open(whole_vcf, "rt").read())
    assert gathered_records == whole_records and len(whole_numbers) > 20  # every field but the numbers
    np.testing.assert_allclose(gathered_numbers, whole_numbers, rtol=0, atol=FLOAT32_ATOL)
    assert (tmp_path / "g.vcf.gz.tbi").is_file()
    with pytest.raises(ConfigError):
        variants.chunk_range(10, (3, 3))


# ------------------------------------------------------------------------------ bad input


def test_malformed_vcf_gives_input_error(tmp_path, genome, model_path):
    good = "##fileformat=VCFv4.2\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\nchr1\t50\t.\tA\tC\t.\t.\t.\n"
    cases = {
        "bad_pos.vcf": (good + "chr1\tabc\t.\tA\tC\t.\t.\t.\n", "line 4.*POS 'abc'"),
        "columns.vcf": (good + "chr1\t60\t.\tA\n", "line 4.*8 tab-separated columns"),
        "junk.vcf": ("hello\nworld\n", "line 1: the first line must be '##fileformat=VCFv4.x', found 'hello'"),
        "empty.vcf": ("", "empty"),
    }
    for name, (text, pattern) in cases.items():
        path = tmp_path / name
        path.write_text(text)
        with pytest.raises(InputError, match=pattern) as error:
            variants.score_variants(model_path, genome, path, tmp_path / "o.tsv.gz", tmp_path / "o.vcf.gz")
        assert name in str(error.value)
    pysam.tabix_compress(str(tmp_path / "bad_pos.vcf"), str(tmp_path / "bad_pos.vcf.gz"))
    with pytest.raises(InputError, match=r"bad_pos\.vcf\.gz, line 4: malformed record 2"):
        vcf_io.scan_vcf(tmp_path / "bad_pos.vcf.gz")
    with gzip.open(tmp_path / "plain_gzip.vcf.gz", "wt") as handle:
        handle.write(good)
    with pytest.raises(InputError, match="plain gzip"):
        vcf_io.scan_vcf(tmp_path / "plain_gzip.vcf.gz")
    with pytest.raises(InputError, match="not found"):
        vcf_io.scan_vcf(tmp_path / "missing.vcf")
    assert not (tmp_path / "o.tsv.gz").exists() and not (tmp_path / "o.vcf.gz").exists()
    # unsorted records cannot be indexed: refused before scoring, fine without an index
    unsorted = write_vcf(tmp_path / "u.vcf", [("chr1", 90, ".", "A", "C"), ("chr1", 50, ".", "A", "C")], bgzip=False)
    with pytest.raises(InputError, match="not sorted"):
        variants.score_variants(model_path, genome, unsorted, tmp_path / "u.tsv.gz", tmp_path / "u.vcf.gz")
    variants.score_variants(model_path, genome, unsorted, tmp_path / "u.tsv.gz", tmp_path / "u.vcf.gz",
                            index=False, ref_mismatch="genome")


def test_bgzip_vcf_makes_plain_gzip_and_text_readable(tmp_path):
    text = ("##fileformat=VCFv4.2\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n"
            + "".join(f"chr1\t{p}\trs{p}\tA\tC\t.\t.\t.\n" for p in range(10, 5000, 7)))
    with gzip.open(tmp_path / "plain.vcf.gz", "wt") as handle:
        handle.write(text)
    (tmp_path / "plain.vcf").write_text(text)
    assert vcf_io.vcf_compression(tmp_path / "plain.vcf.gz") == "gzip"
    assert vcf_io.vcf_compression(tmp_path / "plain.vcf") == "plain"
    for name in ("plain.vcf.gz", "plain.vcf"):
        out = tmp_path / f"bgzf_{name}.gz"
        vcf_io.bgzip_vcf(tmp_path / name, out, block_size=1000)  # several blocks
        assert vcf_io.vcf_compression(out) == "bgzf"
        assert gzip.open(out, "rt").read() == text
        assert vcf_io.scan_vcf(out).n_records == text.count("\nchr1")
    truncated = tmp_path / "truncated.vcf.gz"
    truncated.write_bytes((tmp_path / "plain.vcf.gz").read_bytes()[:200])
    with pytest.raises(InputError, match="truncated.vcf.gz.*cannot decompress"):
        vcf_io.bgzip_vcf(truncated, tmp_path / "never.vcf.gz")
    assert not (tmp_path / "never.vcf.gz").exists()


@pytest.mark.skipif(not SHARED_DATA.is_dir(), reason="../shared/data is not beside this checkout")
def test_bgzip_vcf_on_the_shared_dbsnp_file(tmp_path):
    dbsnp = SHARED_DATA / "hg19_chr22_20-21Mb_encode_dream" / "variants" / "dbsnp_snvs.chr22_20000000_21000000.vcf.gz"
    assert vcf_io.vcf_compression(dbsnp) == "gzip"
    vcf_io.bgzip_vcf(dbsnp, tmp_path / "dbsnp.vcf.gz")
    assert vcf_io.scan_vcf(tmp_path / "dbsnp.vcf.gz").n_records == 3174


# ------------------------------------------------------------------------------ significance, plot


def test_background_snvs_and_pvalues(tmp_path, genome, model_path, genome_seqs):
    g = Genome(genome)
    snvs = variants.background_snvs(g, 40, seed=1, window_length=L)
    assert snvs == variants.background_snvs(g, 40, seed=1, window_length=L)
    for chrom, pos, ref, alt in snvs:
        assert genome_seqs[chrom][pos - 1].upper() == ref and ref in "ACGT" and alt in "ACGT" and alt != ref
        assert L // 2 <= pos - 1 <= len(genome_seqs[chrom]) - (L - L // 2)
    bg = np.array([[0.1, 0.0], [0.2, 0.0], [0.3, 0.5]])
    p = variants.empirical_pvalues(np.array([[0.2, 0.0], [0.35, 0.6]]), bg)
    np.testing.assert_allclose(p, [[3 / 4, 4 / 4], [1 / 4, 1 / 4]])
    seq = genome_seqs["chr1"]
    vcf = write_vcf(tmp_path / "v.vcf", [("chr1", 101, "a", seq[100], "ACGT".replace(seq[100].upper(), "")[0])])
    _, tsv, _ = score(tmp_path, model_path, genome, vcf, background=30, seed=2)
    assert list(tsv.columns) == variants.TSV_COLUMNS + ["pvalue"]
    assert ((tsv["pvalue"] > 0) & (tsv["pvalue"] <= 1)).all()
    k = tsv["pvalue"] * 31  # (1 + count) / (1 + n): a whole number of 31sts
    np.testing.assert_allclose(k, np.round(k), atol=1e-4)
    # a saved background gives the same p-values
    variants.score_background(model_path, genome, tmp_path / "bg.npz", n=30, seed=2)
    _, saved, _ = score(tmp_path, model_path, genome, vcf, name="saved", background=tmp_path / "bg.npz")
    np.testing.assert_allclose(saved["pvalue"], tsv["pvalue"])


def test_plot_top_effects(tmp_path, genome, model_path, genome_seqs):
    seq = genome_seqs["chr1"]
    rows = [("chr1", p + 1, f"v{p}", seq[p].upper(), "ACGT".replace(seq[p].upper(), "")[0]) for p in range(40, 60)]
    vcf = write_vcf(tmp_path / "v.vcf", rows)
    score(tmp_path, model_path, genome, vcf)
    variant_plots.plot_top_effects(tmp_path / "out.tsv.gz", tmp_path / "top.png", n=8)
    assert (tmp_path / "top.png").read_bytes()[:4] == b"\x89PNG"
    top = variants.top_effects(tmp_path / "out.tsv.gz", n=8)
    assert len(top) == 8 and top["abs_diff"].is_monotonic_decreasing
    with gzip.open(tmp_path / "empty.tsv.gz", "wt") as handle:  # nothing scored: still a figure
        handle.write("\t".join(variants.TSV_COLUMNS) + "\n")
    variant_plots.plot_top_effects(tmp_path / "empty.tsv.gz", tmp_path / "empty.png")
    assert (tmp_path / "empty.png").is_file()
