"""Bad inputs and faults (issue 13).

The corpus: one table of bad inputs across every input (config, tasks sheet, genome FASTA or
2bit, peaks, blacklist, VCF, bigWig, BAM and fragments files, sequence tables, measured regions,
interpret BED, trained models, disk). Each case
asserts where it is refused (at parse time: config and tasks sheet; by the input check,
which the workflow runs at parse time and as its first job; or by the stage that meets it),
that the message names the file (or config key), the line or record, and the problem, and
that no partial output is left. Most cases call the validation functions in-process on tiny
inputs; a few go through `snakemake -n` to show the dry run stops on the same error.

The faults: a tiny workflow run clean once, and once through a chain of faults (disk full,
kill -9 during encode, during training and during scoring, a read-only output folder), each
followed by a rerun; the final outputs are byte-identical to the clean run's.
"""

import ast
import contextlib
import gzip
import hashlib
import json
import os
import re
import resource
import shutil
import signal
import subprocess
import sys
import textwrap
import time
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from _utils import (
    SNAKEMAKE,
    TINY_MODEL,
    copy_workflow,
    make_split,
    run_snakemake,
    snakemake_env,
    tiny_config,
    write_tiny_inputs,
)

from deepcis.config import check_model_tasks, load_config_file, read_tasks, validate_config
from deepcis.coverage import plan_reads_tasks
from deepcis.errors import DeepcisError
from deepcis.io_utils import temp_path
from deepcis.seqtable import plan_sequence_table

# ------------------------------------------------------------------------------ helpers


@pytest.fixture(scope="module")
def tiny_source(tmp_path_factory):
    return write_tiny_inputs(tmp_path_factory.mktemp("tiny_inputs"))


class Case:
    """One case's folder: a fresh copy of the tiny inputs and their config (absolute paths)."""

    def __init__(self, folder: Path, source: dict):
        self.dir = folder
        inputs = folder / "inputs"
        shutil.copytree(Path(source["genome"]).parent, inputs)
        self.files = {"genome": inputs / "genome.fa", "T1": inputs / "T1.narrowPeak", "T2": inputs / "T2.narrowPeak",
                      "blacklist": inputs / "blacklist.bed", "vcf": inputs / "variants.vcf"}  # fmt: skip
        cfg_dir = folder / "config"
        cfg_dir.mkdir()
        path = tiny_config(cfg_dir, {"genome": self.files["genome"], "blacklist": self.files["blacklist"],
                                     "vcf": self.files["vcf"], "peaks": {"T1": self.files["T1"], "T2": self.files["T2"]}})  # fmt: skip
        self.config = yaml.safe_load(path.read_text())
        self.files["sheet"] = cfg_dir / "tiny_tasks.tsv"
        self.config["tasks"] = str(self.files["sheet"])
        self.runner = None  # a stage case sets its own

    def path(self, key) -> str:
        return str(self.files.get(key, key))

    def lines(self, key) -> list[str]:
        return Path(self.path(key)).read_text().splitlines()

    def write_lines(self, key, lines: list[str]):
        Path(self.path(key)).write_text("\n".join(lines) + "\n")

    def set_line(self, key, number: int, text: str):
        lines = self.lines(key)
        lines[number - 1] = text
        self.write_lines(key, lines)

    def set_field(self, key, number: int, column: int, value: str):
        lines = self.lines(key)
        fields = lines[number - 1].split("\t")
        fields[column] = value
        lines[number - 1] = "\t".join(fields)
        self.write_lines(key, lines)

    def add_file(self, name: str, text) -> Path:
        path = self.dir / "inputs" / name
        path.write_bytes(text) if isinstance(text, bytes) else path.write_text(text)
        self.files[name] = path
        return path

    def leftovers(self) -> list[str]:
        """Outputs or temp files a refused case must not leave."""
        found = [p for p in (self.dir / "results").rglob("*") if p.is_file()] if (self.dir / "results").exists() else []
        found += [p for p in self.dir.rglob(".*.tmp*")]
        return sorted(str(p) for p in found)


def refuse(case: Case):
    """What the workflow does before any job: validate the config and tasks sheet (parse),
    then check every input file (input check), as rules/common.smk does. Returns (where, error)."""
    try:
        config = validate_config(case.config)
        if config["sequence_table"]["train"]:
            tasks = plan_sequence_table(config)
            config["genome"] = []
        else:
            tasks = read_tasks(config["tasks"])
        plan_reads_tasks(tasks)
        check_model_tasks(config, [t["name"] for t in tasks])
    except DeepcisError as error:
        return "parse", error
    from deepcis.input_check import check_inputs

    try:
        check_inputs(config, tasks, cache_dir=None, fix_index=True)
    except DeepcisError as error:
        return "input check", error
    return None, None


CASES = []


def case(name, where, file, problem, line=None):
    """Register a bad-input case: `file` is a key of Case.files (or the text the message must
    name, like a config key), `line` the line it must name, `problem` a regex of the problem."""

    def register(make):
        CASES.append(pytest.param(make, where, file, problem, line, id=name))
        return make

    return register


@contextlib.contextmanager
def read_only(folder: Path):
    """`folder` read-only for this process, root included: a read-only bind mount (as root), or
    permissions (as another user); skips the test where neither is possible."""
    folder = Path(folder)
    if os.geteuid() != 0:
        mode = folder.stat().st_mode
        folder.chmod(0o555)
        try:
            yield
        finally:
            folder.chmod(mode)
        return
    bind = subprocess.run(["mount", "--bind", str(folder), str(folder)], capture_output=True, text=True)
    if bind.returncode != 0:
        pytest.skip(f"running as root without mount permission: no read-only folder here ({bind.stderr.strip()})")
    try:
        subprocess.run(["mount", "-o", "remount,bind,ro", str(folder)], check=True, capture_output=True)
        yield
    finally:
        if subprocess.run(["umount", str(folder)], capture_output=True).returncode != 0:
            subprocess.run(["umount", "-l", str(folder)], check=True)  # busy: detach it now, free it when idle


# ------------------------------------------------------------------------------ parse: config


def _yaml(case_, text):
    path = case_.add_file("c.yaml", text)
    case_.runner = lambda c: ("parse", _raises(lambda: load_config_file(path)))


def _raises(call):
    try:
        call()
    except DeepcisError as error:
        return error
    return None


@case("yaml_syntax", "parse", "c.yaml", r"YAML syntax error: expected ',' or '\]'", line=3)
def _(c):
    _yaml(c, "genome: a\ntasks: [b\n  c: d\n")


@case("yaml_tab_indent", "parse", "c.yaml", r"never tabs", line=2)
def _(c):
    _yaml(c, "genome: a\n\ttasks: b\n")


@case("yaml_not_a_mapping", "parse", "c.yaml", r"a config file is a mapping of keys")
def _(c):
    _yaml(c, "- genome\n- tasks\n")


@case("models_as_list", "parse", "config key models", r"a mapping from model name to its settings is expected, not a list")
def _(c):
    c.config["models"] = [{"name": "tiny", **TINY_MODEL}]


@case("model_as_string", "parse", "config key models.tiny", r"a mapping .* is expected, not str")
def _(c):
    c.config["models"] = {"tiny": "deepsea"}


@case("train_as_list", "parse", "config key train", r"a mapping .* is expected, not list")
def _(c):
    c.config["train"] = [1, 2]


@case("unknown_top_level_key", "parse", "config key (top level)", r"Additional properties are not allowed \('gnome'")
def _(c):
    c.config["gnome"] = "genome.fa"


@case("window_length_zero", "parse", "config key prepare.window_length", r"less than the minimum of 1")
def _(c):
    c.config["prepare"]["window_length"] = 0


@case("split_mode_unknown", "parse", "config key split.mode", r"'by_magic' is not one of")
def _(c):
    c.config["split"]["mode"] = "by_magic"


@case("split_valid_and_test_overlap", "parse", "config key split", r"\['chr2'\] are in both split.valid and split.test")
def _(c):
    c.config["split"]["test"] = ["chr2"]


@case("bin_larger_than_window", "parse", "config key prepare.deepsea.bin_size", r"300 is larger than prepare.window_length 200")
def _(c):
    c.config["prepare"]["deepsea"]["bin_size"] = 300


@case("flank_min_above_max", "parse", "config key prepare.negatives.flank_min", r"larger than flank_max")
def _(c):
    c.config["prepare"]["negatives"] |= {"flank_min": 5000, "flank_max": 2000}


@case("threads_in_train", "parse", "config key train.threads", r"moved to the top-level `threads` section")
def _(c):
    c.config["train"]["threads"] = 4


@case("architecture_unknown", "parse", "config key models.tiny", r"resnet9000")
def _(c):
    c.config["models"]["tiny"]["architecture"] = "resnet9000"


@case("hyperparameter_unknown", "parse", "config key models.tiny", r"conv_fitlers")
def _(c):
    c.config["models"]["tiny"]["hyperparameters"]["conv_fitlers"] = [8]


@case("learning_rate_negative", "parse", "config key train.learning_rate", r"-1 is less than or equal to the minimum of 0")
def _(c):
    c.config["train"]["learning_rate"] = -1


@case("divergence_factor_below_one", "parse", "config key train.divergence_factor", r"0.5 is less than or equal to the minimum of 1")
def _(c):
    c.config["train"]["divergence_factor"] = 0.5


@case("variants_models_unknown", "parse", "config key variants.models", r"\['nope'\] are not in models")
def _(c):
    c.config["variants"]["models"] = ["nope"]


@case("interpret_bed_not_set", "parse", "config key interpret.windows", r"'bed' but interpret.bed is not set")
def _(c):
    c.config["interpret"] = {"enabled": True, "windows": "bed"}


@case("model_tasks_unknown", "parse", "config key models.tiny.tasks", r"\['T9'\] are not tasks of the tasks sheet")
def _(c):
    c.config["models"]["tiny"]["tasks"] = ["T1", "T9"]


@case("max_missing_fraction_above_one", "parse", "config key input_check.max_missing_fraction", r"2 is greater than the maximum of 1")
def _(c):
    c.config["input_check"] = {"max_missing_fraction": 2}


# ------------------------------------------------------------------------------ parse: tasks sheet


@case("sheet_missing", "parse", "nowhere.tsv", r"tasks sheet .* not found")
def _(c):
    c.config["tasks"] = str(c.dir / "nowhere.tsv")


@case("sheet_empty", "parse", "sheet", r"is empty \(expected a header line")
def _(c):
    Path(c.path("sheet")).write_text("")


@case("sheet_header_lacks_peaks", "parse", "sheet", r"header lacks the column 'peaks'", line=1)
def _(c):
    c.set_line("sheet", 1, "name\tfile")


@case("sheet_row_columns", "parse", "sheet", r"3 columns, the header has 2", line=3)
def _(c):
    c.set_line("sheet", 3, c.lines("sheet")[2] + "\textra")


@case("sheet_duplicate_task", "parse", "sheet", r"duplicate task name 'T1' \(first on line 2\)", line=3)
def _(c):
    c.set_line("sheet", 3, c.lines("sheet")[1])


@case("sheet_bad_task_name", "parse", "sheet", r"column name: 'T 1' does not match", line=2)
def _(c):
    c.set_field("sheet", 2, 0, "T 1")


@case("sheet_peak_file_missing", "parse", "sheet", r"peak file .*gone.bed of task 'T2' not found", line=3)
def _(c):
    c.set_field("sheet", 3, 1, str(c.dir / "gone.bed"))


@case("sheet_signal_task_without_track", "parse", "sheet", r"a signal task needs a bigWig in column 'signal'", line=4)
def _(c):
    c.write_lines("sheet", ["name\tpeaks\ttype"] + [line + "\tbinary" for line in c.lines("sheet")[1:]] + ["S\t\tsignal"])


@case("sheet_binary_task_with_mse", "parse", "sheet", r"a binary task takes loss bce", line=2)
def _(c):
    c.write_lines("sheet", ["name\tpeaks\tloss", c.lines("sheet")[1] + "\tmse", c.lines("sheet")[2] + "\tbce"])


# ------------------------------------------------------------------------------ input check: genome
# The tiny genome: chr1, chr2, chr3 of 40,000 bases, 60 per line: chr2's header is line 669.


@case("genome_protein", "input check", "genome", r"'L' \(column 3\) is not a nucleotide code: not a DNA FASTA \(a protein FASTA\?\)", line=2)
def _(c):
    Path(c.path("genome")).write_text(">sp|P69905|HBA_HUMAN\nMVLSPADKTNVKAAWGKVGAHAGEYGAEALERMFLSFPTTKTYFPHF\n")


@case("genome_damaged_line", "input check", "genome", r"'Q' \(column 4\) is not a nucleotide code", line=700)
def _(c):
    lines = c.lines("genome")
    lines[699] = lines[699][:3] + "Q" + lines[699][4:]
    c.write_lines("genome", lines)


@case("genome_sequence_before_header", "input check", "genome", r"sequence before the first '>' header line", line=1)
def _(c):
    c.write_lines("genome", ["ACGTACGT"] + c.lines("genome"))


@case("genome_duplicate_name", "input check", "genome", r"sequence name 'chr1' appears twice \(first on line 1\)", line=669)
def _(c):
    c.set_line("genome", 669, ">chr1 again")


@case("genome_header_without_name", "input check", "genome", r"a '>' header line without a sequence name", line=669)
def _(c):
    c.set_line("genome", 669, ">")


@case("genome_ends_in_header", "input check", "genome", r"the file ends inside a '>' header line", line=2005)
def _(c):
    Path(c.path("genome")).write_text(Path(c.path("genome")).read_text() + ">chr4")


@case("genome_empty", "input check", "genome", r"genome FASTA is empty")
def _(c):
    Path(c.path("genome")).write_text("")


@case("genome_missing", "input check", "missing.fa", r"genome FASTA not found")
def _(c):
    c.config["genome"] = str(c.dir / "inputs" / "missing.fa")


@case("genome_bgzip_truncated", "input check", "genome.fa.gz", r"cannot read the FASTA \(truncated or corrupt compression\?\)")
def _(c):
    subprocess.run(["bgzip", "-f", c.path("genome")], check=True)
    data = (c.dir / "inputs" / "genome.fa.gz").read_bytes()
    (c.dir / "inputs" / "genome.fa.gz").write_bytes(data[: len(data) // 2])
    c.config["genome"] = str(c.dir / "inputs" / "genome.fa.gz")


@case("genome_read_only_without_index", "input check", "genome", r"no .fai index and its folder .* is read-only")
def _(c):
    c.runner = lambda c_: _in_read_only(c_, c_.dir / "inputs")


@case("genome_stale_index_read_only", "input check", "genome.fa.fai", r"index is stale \(its byte offsets differ .*\) and cannot be rebuilt: .* is read-only")
def _(c):
    fai = Path(c.path("genome") + ".fai")
    fai.write_text("chr1\t40000\t7\t60\t61\nchr2\t40000\t40681\t60\t61\nchr3\t40000\t81355\t60\t61\n")  # offsets 1 too far
    c.runner = lambda c_: _in_read_only(c_, c_.dir / "inputs")


def _in_read_only(c, folder):
    with read_only(folder):
        return refuse(c)


# ------------------------------------------------------------------------------ input check: peaks
# The tiny peak files: narrowPeak, 30 records per chromosome (chr1: lines 1-30, chr2: 31-60, chr3: 61-90).


def _rename_contigs(c, key, mapping):
    rows = [row.split("\t") for row in c.lines(key)]
    c.write_lines(key, ["\t".join([mapping.get(f[0], f[0])] + f[1:]) for f in rows])


@case("peaks_without_chr_prefix", "input check", "T1", r"contig '1' \(30 records\) is not in the genome, but 'chr1' is \(no 'chr' prefix", line=1)
def _(c):
    _rename_contigs(c, "T1", {"chr1": "1", "chr2": "2", "chr3": "3"})


@case("peaks_trailing_space", "input check", "T2", r"contig 'chr3 ' \(30 records\) is not in the genome, but 'chr3' is \(surrounding whitespace\)", line=61)
def _(c):
    _rename_contigs(c, "T2", {"chr3": "chr3 "})


@case("peaks_letter_case", "input check", "T1", r"contig 'CHR2' .* but 'chr2' is \(letter case", line=31)
def _(c):
    _rename_contigs(c, "T1", {"chr2": "CHR2"})


@case("peaks_mostly_unknown_contigs", "input check", "T2", r"60 of 90 records \(67%\) lie on contigs the genome lacks: 'scaffold_1', 'scaffold_2'", line=1)
def _(c):
    _rename_contigs(c, "T2", {"chr1": "scaffold_1", "chr2": "scaffold_2"})


@case("peaks_start_not_below_end", "input check", "T1", r"start 5000 is not less than end 5000", line=5)
def _(c):
    c.set_field("T1", 5, 1, "5000")
    c.set_field("T1", 5, 2, "5000")


@case("peaks_negative_start", "input check", "T1", r"negative start -3", line=7)
def _(c):
    c.set_field("T1", 7, 1, "-3")


@case("peaks_start_not_integer", "input check", "T2", r"start '12a' is not an integer", line=3)
def _(c):
    c.set_field("T2", 3, 1, "12a")


@case("peaks_beyond_chromosome_end", "input check", "T1", r"end 50000 lies beyond the end of chr1 \(length 40000\)", line=30)
def _(c):
    c.set_field("T1", 30, 2, "50000")


@case("peaks_summit_outside_peak", "input check", "T2", r"summit offset 999 lies outside the peak \(length 300\)", line=2)
def _(c):
    c.set_field("T2", 2, 9, "999")


@case("peaks_two_columns", "input check", "T1", r"expected at least 3 tab-separated columns .* found 2", line=4)
def _(c):
    c.set_line("T1", 4, "chr1\t500")


@case("peaks_empty_file", "input check", "T2", r"peak file holds no intervals")
def _(c):
    Path(c.path("T2")).write_text("")


@case("peaks_binary_file", "input check", "T1", r"expected at least 3 tab-separated columns", line=1)
def _(c):
    Path(c.path("T1")).write_bytes(bytes(range(1, 200)))


@case("peaks_truncated_gzip", "input check", "T1.narrowPeak.gz", r"truncated or corrupt gzip file")
def _(c):
    data = gzip.compress(Path(c.path("T1")).read_bytes())
    path = c.add_file("T1.narrowPeak.gz", data[: len(data) // 2])
    c.set_field("sheet", 2, 1, str(path))


@case("two_tasks_same_peak_file", "input check", "sheet", r"tasks 'T1' and 'T2' point at the same peak file")
def _(c):
    c.set_field("sheet", 3, 1, c.path("T1"))


@case("two_tasks_identical_peaks", "input check", "sheet", r"tasks 'T1' and 'T2' point at peak files with identical content")
def _(c):
    shutil.copy(c.path("T1"), c.path("T2"))


# ------------------------------------------------------------------------------ input check: blacklist


@case("blacklist_without_chr_prefix", "input check", "blacklist", r"contig '1' \(1 records\) is not in the genome, but 'chr1' is", line=1)
def _(c):
    _rename_contigs(c, "blacklist", {"chr1": "1"})


@case("blacklist_mitochondrion_name", "input check", "blacklist", r"contig 'MT' .* but 'chrM' is \(another name of the mitochondrion\)", line=2)
def _(c):
    Path(c.path("genome")).write_text(Path(c.path("genome")).read_text() + ">chrM\n" + "ACGT" * 20 + "\n")
    c.write_lines("blacklist", c.lines("blacklist") + ["MT\t10\t20"])


@case("blacklist_unknown_contigs", "input check", "blacklist", r"1 of 1 records \(100%\) lie on contigs the genome lacks: 'chrZ'", line=1)
def _(c):
    _rename_contigs(c, "blacklist", {"chr1": "chrZ"})


@case("blacklist_start_after_end", "input check", "blacklist", r"start 21000 is not less than end 20000", line=1)
def _(c):
    c.set_line("blacklist", 1, "chr1\t21000\t20000")


# ------------------------------------------------------------------------------ input check: VCF
# The tiny VCF: 5 header lines, then 12 sorted SNVs per chromosome (record k on line 5 + k).


@case("vcf_no_fileformat_line", "input check", "vcf", r"the first line must be '##fileformat=VCFv4.x'", line=1)
def _(c):
    c.write_lines("vcf", c.lines("vcf")[1:])


@case("vcf_no_chrom_line", "input check", "vcf", r"the header has no '#CHROM POS ID REF ALT QUAL FILTER INFO' line", line=5)
def _(c):
    c.write_lines("vcf", [line for line in c.lines("vcf") if not line.startswith("#CHROM")])


@case("vcf_chrom_line_columns", "input check", "vcf", r"the '#CHROM' line must name the tab-separated columns", line=5)
def _(c):
    c.set_line("vcf", 5, "#CHROM POS ID REF ALT QUAL FILTER INFO")


@case("vcf_six_columns", "input check", "vcf", r"malformed record 3 \(expected at least 8 tab-separated columns .* found 6\)", line=8)
def _(c):
    c.set_line("vcf", 8, "\t".join(c.lines("vcf")[7].split("\t")[:6]))


@case("vcf_pos_not_integer", "input check", "vcf", r"malformed record 4 \(POS 'x' is not a positive integer\)", line=9)
def _(c):
    c.set_field("vcf", 9, 1, "x")


@case("vcf_space_separated", "input check", "vcf", r"malformed record 1 \(expected at least 8 tab-separated columns", line=6)
def _(c):
    c.set_line("vcf", 6, c.lines("vcf")[5].replace("\t", " "))


@case("vcf_unsorted_positions", "input check", "vcf", r"records are not sorted: record 3 comes after a later position .*bcftools sort", line=8)
def _(c):
    lines = c.lines("vcf")
    lines[6], lines[7] = lines[7], lines[6]
    c.write_lines("vcf", lines)


@case("vcf_unsorted_contigs", "input check", "vcf", r"records are not sorted: record 24 comes after a later position or contig", line=29)
def _(c):
    lines = c.lines("vcf")  # chr1's last record moved behind chr2's
    c.write_lines("vcf", lines[:16] + lines[17:29] + [lines[16]] + lines[29:])


@case("vcf_duplicate_record", "input check", "vcf", r"duplicate record chr1:\d+ [ACGT]>[ACGT] \(first on line 9\): it would be scored twice", line=10)
def _(c):
    lines = c.lines("vcf")
    c.write_lines("vcf", lines[:9] + [lines[8]] + lines[9:])


@case("vcf_unknown_contigs", "input check", "vcf", r"36 of 36 records \(100%\) lie on contigs the genome lacks", line=6)
def _(c):
    c.write_lines("vcf", [re.sub(r"^chr", "scaffold_", line) for line in c.lines("vcf")])


@case("vcf_contig_letter_case", "input check", "vcf", r"contig 'CHR3' \(12 records\) is not in the genome, but 'chr3' is", line=30)
def _(c):
    c.write_lines("vcf", [re.sub(r"^chr3\t", "CHR3\t", line) for line in c.lines("vcf")])


@case("vcf_empty", "input check", "vcf", r"VCF is empty")
def _(c):
    Path(c.path("vcf")).write_text("")


@case("vcf_truncated_gzip", "input check", "v.vcf.gz", r"truncated or corrupt gzip file")
def _(c):
    data = gzip.compress(Path(c.path("vcf")).read_bytes() * 20)
    c.config["variants"]["vcf"] = str(c.add_file("v.vcf.gz", data[: len(data) // 2]))


@case("vcf_not_text", "input check", "vcf", r"not a readable VCF/BCF file")
def _(c):
    Path(c.path("vcf")).write_bytes(bytes(range(256)) * 4)


# ------------------------------------------------------------------------------ input check: bigWig, measured regions, keys


def _signal_task(c, track: Path):
    c.write_lines("sheet", ["name\tpeaks\ttype\tsignal"] + [line + "\tbinary\t" for line in c.lines("sheet")[1:]]
                  + [f"S\t\tsignal\t{track}"])  # fmt: skip


def _bigwig(c, sizes: dict) -> Path:
    from deepcis.signals import write_bigwig

    path = c.dir / "inputs" / "signal.bw"
    write_bigwig(path, sizes, {name: np.ones(n, np.float32) for name, n in sizes.items()})
    c.files["signal"] = path
    return path


@case("bigwig_not_a_bigwig", "input check", "signal.bw", r"not a bigWig file")
def _(c):
    _signal_task(c, c.add_file("signal.bw", "chr1\t0\t10\t1.0\n"))


@case("bigwig_without_chr_prefix", "input check", "signal", r"contig '1' \(1 contigs\) is not in the genome, but 'chr1' is")
def _(c):
    _signal_task(c, _bigwig(c, {"1": 40_000, "2": 40_000, "3": 40_000}))


@case("bigwig_other_assembly", "input check", "signal", r"contig lengths differ from the genome's for 'chr1' .* chr1: 50000 here, 40000 in the genome")
def _(c):
    _signal_task(c, _bigwig(c, {"chr1": 50_000, "chr2": 40_000, "chr3": 40_000}))


@case("measured_regions_bad_row", "input check", "measured.bed", r"start 900 is not less than end 100", line=2)
def _(c):
    path = c.add_file("measured.bed", "chr1\t0\t40000\nchr2\t900\t100\n")
    c.write_lines("sheet", ["name\tpeaks\tmeasured"] + [line + f"\t{path}" for line in c.lines("sheet")[1:]])


@case("split_chromosome_not_in_genome", "input check", "config key split.valid", r"\['chrX'\] are not in the genome")
def _(c):
    c.config["split"]["valid"] = ["chrX"]


@case("chromosomes_without_chr_prefix", "input check", "config key chromosomes", r"did you mean '1' -> 'chr1'")
def _(c):
    c.config["chromosomes"] = ["1", "2", "3"]


@case("interpret_bed_without_chr_prefix", "input check", "regions.bed", r"contig '2' \(1 records\) is not in the genome, but 'chr2' is", line=2)
def _(c):
    path = c.add_file("regions.bed", "chr1\t1000\t1200\n2\t1000\t1200\n")
    c.config["interpret"] = {"enabled": True, "windows": "bed", "bed": str(path)}


@case("tracks_regions_without_chr_prefix", "input check", "regions.bed", r"contig '3' \(1 records\) is not in the genome, but 'chr3' is", line=2)
def _(c):
    path = c.add_file("regions.bed", "chr1\t0\t5000\n3\t0\t5000\n")
    c.config["tracks"] = {"enabled": True, "regions": str(path)}


@case("predict_fasta_protein", "input check", "sequences.fa", r"'E' \(column 2\) is not a nucleotide code", line=4)
def _(c):
    path = c.add_file("sequences.fa", ">s1\nACGTACGT\n>s2\nAEIOU\n")
    c.config["predict_fasta"] = {"fasta": str(path)}


# ------------------------------------------------------------------------------ input check: 2bit genome, reads, sequence tables


def _twobit_genome(c) -> Path:
    """The case's genome as a 2bit file (the config points at it)."""
    from deepcis.twobit import fasta_to_twobit

    path = c.dir / "inputs" / "genome.2bit"
    fasta_to_twobit(c.path("genome"), path)
    c.files["genome.2bit"] = path
    c.config["genome"] = str(path)
    return path


@case("genome_2bit_truncated", "input check", "genome.2bit", r"corrupt 2bit file: record 'chr3' \(40000 bp\) ends at byte \d+, past the end of the file")
def _(c):
    path = _twobit_genome(c)
    path.write_bytes(path.read_bytes()[:-100])


@case("genome_2bit_peaks_without_chr_prefix", "input check", "T2", r"contig '2' \(30 records\) is not in the genome, but 'chr2' is", line=31)
def _(c):
    _twobit_genome(c)
    _rename_contigs(c, "T2", {"chr2": "2"})


def _reads_bam(c, sizes: dict) -> Path:
    from deepcis.simulate.reads import write_reads_bam

    path = write_reads_bam(c.dir / "inputs" / "reads.bam", sizes, [(name, 5_000) for name in sizes], n_reads=300, seed=2)
    c.files["reads.bam"] = path
    return path


@case("reads_bam_without_chr_prefix", "input check", "reads.bam", r"contig '1' \(\d+ records\) is not in the genome, but 'chr1' is .*samtools reheader")
def _(c):
    _signal_task(c, _reads_bam(c, {"1": 40_000, "2": 40_000, "3": 40_000}))


@case("reads_bam_other_assembly", "input check", "reads.bam", r"contig chr2 is 45000 bp here but 40000 bp in the genome")
def _(c):
    _signal_task(c, _reads_bam(c, {"chr1": 40_000, "chr2": 45_000, "chr3": 40_000}))


@case("reads_bam_unindexed", "parse", "reads.bam", r"task 'S': .*BAM has no index")
def _(c):
    bam = _reads_bam(c, {"chr1": 40_000, "chr2": 40_000, "chr3": 40_000})
    Path(f"{bam}.bai").unlink()
    _signal_task(c, bam)


@case("reads_fragments_unknown_contigs", "input check", "frag.tsv.gz", r"2 of 3 contigs \(67%\) lie on contigs the genome lacks: 'scaffold_1', 'scaffold_2'")
def _(c):
    import pysam

    rows = [("chr1", 100, 300), ("scaffold_1", 100, 300), ("scaffold_2", 100, 300)]
    text = c.add_file("frag.tsv", "".join(f"{chrom}\t{a}\t{b}\tAAAC-1\t1\n" for chrom, a, b in rows))
    path = Path(pysam.tabix_index(str(text), preset="bed", force=True))
    c.files["frag.tsv.gz"] = path
    _signal_task(c, path)


@case("sequence_table_duplicate_id", "parse", "table.tsv", r"duplicate sequence ID 's1' \(first at .*table.tsv, line 2\)", line=3)
def _(c):
    path = c.add_file("table.tsv", "id\tsequence\tT\ns1\tACGTAC\t1\ns1\tACGAAC\t0\n")
    for key in ("genome", "tasks", "blacklist"):
        c.config.pop(key)
    c.config |= {"sequence_table": {"train": [str(path)]}, "variants": {"vcf": None}}


# ------------------------------------------------------------------------------ stages


def _tiny_model(path: Path, tasks=("T1", "T2"), length=200) -> Path:
    import keras

    from deepcis.keras_objects import save_model, with_metadata
    from deepcis.models import build_model

    keras.utils.set_random_seed(1)
    model = with_metadata(build_model("mlp", length, len(tasks), {"dense_units": [8], "dropout": 0.0}), list(tasks), length)
    path.parent.mkdir(parents=True, exist_ok=True)
    save_model(model, path)
    return path


def _score(c, model: Path, expected=("T1", "T2")):
    from deepcis.variants import score_variants

    out = c.dir / "results" / "score"
    return "stage", _raises(lambda: score_variants(model, c.path("genome"), c.path("vcf"), out / "effects.tsv.gz",
                                                   out / "annotated.vcf.gz", expected_tasks=list(expected)))  # fmt: skip


@case("model_truncated", "stage", "model.keras", r"model file is corrupt or truncated \(\d[\d,]* bytes, not a Keras zip archive\)")
def _(c):
    model = _tiny_model(c.dir / "models" / "model.keras")
    model.write_bytes(model.read_bytes()[:500])
    c.runner = lambda c_: _score(c_, model)


@case("model_not_keras", "stage", "model.keras", r"not a Keras model file \(the archive holds \['notes.txt'\]")
def _(c):
    model = c.dir / "models" / "model.keras"
    model.parent.mkdir()
    with zipfile.ZipFile(model, "w") as archive:
        archive.writestr("notes.txt", "not a model")
    c.runner = lambda c_: _score(c_, model)


@case("model_other_tasks", "stage", "model.keras", r"the model predicts tasks \['T1', 'T2'\], the config expects \['T1', 'T9'\] \(missing \['T9'\]; not expected \['T2'\]\)")
def _(c):
    model = _tiny_model(c.dir / "models" / "model.keras")
    c.runner = lambda c_: _score(c_, model, expected=("T1", "T9"))


def _train_tiny(c, learning_rate: float):
    from deepcis.training import train_model

    train = make_split(c.dir / "train.h5", 256, seed=1)
    valid = make_split(c.dir / "valid.h5", 64, seed=2, split="valid")
    hp = {"conv_filters": [8, 8, 8], "kernel_size": 5, "pool_size": 2, "dense_units": 8}
    out = c.dir / "results" / "models" / "tiny"
    c.files["results/models/tiny"] = out
    c.runner = lambda c_: ("stage", _raises(lambda: train_model(train, valid, out, "tiny", "deepsea", hp, {
        "epochs": 4, "batch_size": 32, "learning_rate": learning_rate, "reverse_complement": False}, seed=3, threads=1,
        resume_dir=c_.dir / "resume")))  # fmt: skip


@case("training_diverges", "stage", "results/models/tiny", r"training diverged, so no model was saved: the training loss .* stayed above 3.0 x its start")
def _(c):
    _train_tiny(c, 1e6)


@case("training_loss_nan", "stage", "results/models/tiny", r"training diverged, so no model was saved: the training loss became nan at epoch 1, batch \d+")
def _(c):
    _train_tiny(c, 1e38)  # weights overflow float32 after one step


@case("dataset_disk_full", "stage", "train.h5", r"not enough disk space: needs [\d,]+ bytes \([\d.]+ [KMGT]iB\), [\d,]+ bytes .* free there")
def _(c):
    from deepcis.dataset import create_dataset

    out = c.dir / "results" / "encode" / "train.h5"
    c.files["train.h5"] = out
    free = shutil.disk_usage(c.dir).free

    def write():
        with create_dataset(out, free // 1000 + 1000, 1000, ["T1"], {}):  # base codes: 1 byte per base
            pass

    c.runner = lambda c_: ("stage", _raises(write))


@case("output_folder_read_only", "stage", "results/score", r"annotated.vcf.gz: cannot be written: (Read-only file system|Permission denied)")
def _(c):
    model = _tiny_model(c.dir / "models" / "model.keras")
    out = c.dir / "results" / "score"
    out.mkdir(parents=True)
    c.files["results/score"] = out

    def run(c_):
        with read_only(out):
            return _score(c_, model)

    c.runner = run


@case("model_lambda_layer", "stage", "model.keras", r"the model holds a Lambda layer, which runs arbitrary code; safe mode refuses it")
def _(c):
    import keras
    from keras import layers

    inputs = keras.Input((200, 4))
    x = layers.Lambda(lambda t: t * 2.0, name="lambda")(layers.Flatten()(inputs))
    model = c.dir / "models" / "model.keras"
    model.parent.mkdir()
    keras.Model(inputs, layers.Dense(2, activation="sigmoid")(x)).save(model)  # no model.json: not an allowed import
    c.runner = lambda c_: _score(c_, model)


@pytest.mark.parametrize("make, where, file, problem, line", CASES)
def test_bad_input_is_refused_early_and_clearly(make, where, file, problem, line, tmp_path, tiny_source):
    c = Case(tmp_path, tiny_source)
    make(c)
    got_where, error = (c.runner or refuse)(c)
    assert error is not None, "accepted"
    message = str(error)
    assert got_where == where, message
    assert c.path(file) in message, message
    if line is not None:
        assert re.search(rf", line {line}[:,]", message), message
    assert re.search(problem, message), message
    assert "Traceback" not in message
    assert not c.leftovers(), c.leftovers()


def test_corpus_covers_every_input():
    assert len(CASES) >= 60
    covered = {p.id.split("_")[0] for p in CASES}
    assert {"yaml", "models", "sheet", "genome", "peaks", "blacklist", "vcf", "bigwig", "reads", "sequence", "measured",
            "model", "training", "dataset", "output"} <= covered  # fmt: skip


# ------------------------------------------------------------------------------ job logs

_JOB = """
import ctypes, os, sys
from deepcis.errors import InputError
from deepcis.jobs import job_log

log = job_log(sys.argv[1], rule="demo")
log.info("started")
os.write(2, b"written below Python, as TensorFlow and htslib do\\n")
log.warning("an odd count")
kind = sys.argv[2]
if kind == "input":
    raise InputError("inputs/x.bed", "contig 'chr9' is not in the genome", line=3)
if kind == "unexpected":
    {}["missing key"]
ctypes.string_at(0)  # a crash in C code
"""


@pytest.mark.parametrize(
    "kind, console_line, in_log",
    [
        ("input", "[demo] error in rule demo: inputs/x.bed, line 3: contig 'chr9' is not in the genome (traceback: ",
         "Traceback"),
        ("unexpected", "[demo] error in rule demo: unexpected KeyError: 'missing key' (a bug, or a case deepcis does "
         "not check yet)", "Traceback"),
        ("crash", None, "Fatal Python error: Segmentation fault"),
    ],
)  # fmt: skip
def test_job_log_holds_the_message_and_the_console_one_line(kind, console_line, in_log, tmp_path):
    """start_job's redirection: Python logging and what C code writes to fd 2 land in the log; an
    error prints one line on the job's console and that line then the traceback in the log; a
    crash leaves a Python stack in the log (faulthandler)."""
    log = tmp_path / "logs" / "demo.log"
    job = subprocess.run([sys.executable, "-c", textwrap.dedent(_JOB), str(log), kind], capture_output=True, text=True,
                         timeout=120)  # fmt: skip
    assert job.returncode != 0
    text = log.read_text()
    assert "started" in text and "written below Python, as TensorFlow and htslib do" in text, text
    assert "[demo] WARNING: an odd count" in job.stderr, job.stderr  # deepcis warnings reach the console too
    assert in_log in text, text
    assert "Traceback" not in job.stderr and job.stdout == "", job.stderr
    if console_line is not None:
        assert console_line in job.stderr, job.stderr
        line = console_line.split(" (traceback: ")[0].removeprefix("[demo] ")
        assert text.index(line) < text.index("Traceback"), text


def test_every_rule_script_starts_with_start_job():
    """Every script a rule runs sends its output to the rule's log before anything else runs."""
    repo = Path(__file__).resolve().parents[1]
    scripts = set()
    for smk in [*(repo / "rules").glob("*.smk"), repo / "Snakefile"]:
        scripts |= set(re.findall(r"script:\s*\n\s*\"\.\./workflow_scripts/(\w+\.py)\"", smk.read_text()))
    assert len(scripts) > 30, scripts
    for name in sorted(scripts):
        body = ast.parse((repo / "workflow_scripts" / name).read_text()).body
        first = next(node for node in body if not isinstance(node, (ast.Expr, ast.Import, ast.ImportFrom))
                     and ast.unparse(node) != "smk = snakemake")  # fmt: skip
        assert re.fullmatch(r"log = start_job\((snakemake|smk)\)", ast.unparse(first)), (name, ast.unparse(first))


# ------------------------------------------------------------------------------ accepted with a message


def test_stale_index_is_rebuilt_with_a_message(tmp_path, tiny_source, caplog):
    from deepcis.genome import Genome
    from deepcis.input_check import check_genome

    c = Case(tmp_path, tiny_source)
    Genome(c.path("genome")).close()
    fai = Path(c.path("genome") + ".fai")
    c.write_lines("genome", c.lines("genome") + [">chr4", "ACGT" * 15])  # the FASTA changes after indexing
    os.utime(fai)  # and its index even looks newer than it
    check = check_genome(c.path("genome"), fix_index=True)
    assert any(n.startswith(f"rebuilt the stale index {fai} (its sequence names or lengths differ") for n in check.notes), check.notes
    assert "rebuilt the stale index" in caplog.text  # a warning: on the console in a job (deepcis.jobs)
    assert Genome(c.path("genome")).chrom_sizes == {"chr1": 40_000, "chr2": 40_000, "chr3": 40_000, "chr4": 60}


def _file_results(checks: dict) -> dict:
    """{group: [(role, records, contigs, missing)]} of a check, without the genome's own row."""
    return {group: [(c.role, c.records, c.contigs, c.missing) for c in files if c.role != "genome"]
            for group, files in checks.items()}  # fmt: skip


def test_fasta_and_its_2bit_pass_the_same_check(tmp_path, tiny_source):
    """The tiny inputs against the genome FASTA and against its 2bit: both accepted, with the
    same contigs and the same per-file counts (peaks, blacklist, VCF with REF against the
    genome); the 2bit is checked structurally (cached like a FASTA scan), and gets no .fai."""
    from deepcis.input_check import check_inputs

    c = Case(tmp_path, tiny_source)
    c.write_lines("T1", c.lines("T1") + ["chrUn_y\t100\t300\tp\t0\t.\t5\t5\t5\t100"])  # one record counted
    tasks = read_tasks(c.config["tasks"])
    fasta = check_inputs(validate_config(c.config), tasks, cache_dir=None)
    twobit = _twobit_genome(c)
    for cache in (tmp_path / "cache", tmp_path / "cache"):  # computed, then read from the cache
        checks = check_inputs(validate_config(c.config), tasks, cache_dir=cache)
        genome = checks["data"][0]
        assert (genome.kind, genome.path) == ("2bit", str(twobit))
        assert list(genome.sizes.items()) == list(fasta["data"][0].sizes.items())
        assert _file_results(checks) == _file_results(fasta)
    assert not Path(f"{twobit}.fai").exists()


def test_reads_task_checked_from_its_header_not_as_a_bigwig(tmp_path, tiny_source):
    """A signal task naming a BAM: the data group checks the BAM (contigs and mapped reads from
    its header and index), not the coverage bigWig the workflow makes of it; reads on a contig
    the genome lacks are counted, not refused."""
    from deepcis.input_check import check_inputs, group_spec

    c = Case(tmp_path, tiny_source)
    bam = _reads_bam(c, {"chr1": 40_000, "chr2": 40_000, "chr3": 40_000, "chrUn_z": 10_000})
    _signal_task(c, bam)
    tasks = read_tasks(c.config["tasks"])
    plan_reads_tasks(tasks)
    config = validate_config(c.config)
    files = group_spec(config, tasks, "data")["files"]
    assert files["reads:S"] == str(bam) and "signal:S" not in files
    check = next(f for f in check_inputs(config, tasks, groups=("data",))["data"] if f.role == "reads:S")
    assert check.kind == "bam" and check.contigs == 4 and 0 < check.missing["chrUn_z"] < check.records / 4


def test_sequence_table_check_has_no_genome(tmp_path):
    """A sequence-table config: the data group checks the tables (sequences counted per file)
    and neither a genome nor chromosome keys; its spec holds only the keys reading the tables
    uses, so a change of the split does not re-check them."""
    from deepcis.input_check import check_inputs, group_spec

    train, test = tmp_path / "train.tsv", tmp_path / "test.fa"
    train.write_text("id\tsequence\tT\n" + "".join(f"s{i}\t{'ACGT' * (i + 2)}\t{i % 2}\n" for i in range(6)))
    test.write_text(">t1\nACGTTT\n>t2\nGGGCCA\n")
    config = validate_config({"sequence_table": {"train": [str(train)], "test": [{"path": str(test), "labels": {"T": 1}}]},
                              "interpret": {"enabled": False}, "models": {"tiny": TINY_MODEL}})  # fmt: skip
    tasks = plan_sequence_table(config, cache_dir=tmp_path / "cache")
    config["genome"] = []
    spec = group_spec(config, tasks, "data")
    assert spec["files"] == {"sequence_table:train:0": str(train), "sequence_table:test:0": str(test)}
    assert spec["chromosomes"] == [] and spec["split_chromosomes"] == {}
    edited = config | {"sequence_table": config["sequence_table"] | {"split": {**config["sequence_table"]["split"], "valid_fraction": 0.3}}}
    assert group_spec(edited, tasks, "data") == spec
    checks = check_inputs(config, tasks, groups=("data",), cache_dir=tmp_path / "cache")["data"]
    assert [(f.role, f.kind, f.records) for f in checks] == [("sequence_table:train:0", "sequence_table", 6),
                                                             ("sequence_table:test:0", "sequence_table", 2)]  # fmt: skip


def test_near_match_names():
    from deepcis.input_check import near_match

    genome = ["chr1", "chr2", "chrX", "chrM"]
    assert near_match("1", genome) == ("chr1", "no 'chr' prefix where the genome has one")
    assert near_match("chrX ", genome)[0] == "chrX" and near_match("MT", genome)[0] == "chrM"
    assert near_match("chrx", genome)[0] == "chrX" and near_match("chr1", ["1", "2"])[0] == "1"
    assert near_match("chrUn_gl000220", genome) is None and near_match("chr1", genome) is None


def test_vcf_contig_names_resolved_and_counted(tmp_path, tiny_source):
    """A VCF naming '1' for the genome's 'chr1' is scored (as before, with a note), and one with a
    few records on a contig the genome lacks is counted, not refused."""
    c = Case(tmp_path, tiny_source)
    lines = c.lines("vcf")
    lines = [re.sub(r"^chr1\t", "1\t", line) for line in lines]
    lines.insert(17, lines[17].replace("chr2\t", "chrUn_x\t", 1))  # one record on an unplaced contig, before chr2's
    c.write_lines("vcf", lines)
    where, error = refuse(c)
    assert error is None, error
    from deepcis.input_check import check_vcf

    check = check_vcf(c.path("vcf"), c.path("genome"), {"chr1": 40_000, "chr2": 40_000, "chr3": 40_000}, 0.5)
    assert check.records == 37 and check.missing == {"chrUn_x": 1}
    assert any("1->chr1" in note for note in check.notes), check.notes


def test_missing_contig_counts_on_the_console_and_in_the_report(tmp_path, tiny_source):
    """A few records on contigs the genome lacks: counted per file, in the console lines the
    parse step prints and in the report's input-check table."""
    from deepcis.input_check import check_inputs, summary_lines, to_json
    from deepcis.report_tables import write_input_check

    c = Case(tmp_path, tiny_source)
    c.write_lines("T1", c.lines("T1") + ["chrUn_y\t100\t300\tp\t0\t.\t5\t5\t5\t100"] * 2)
    checks = check_inputs(validate_config(c.config), read_tasks(c.config["tasks"]), cache_dir=None)
    lines = summary_lines(checks)
    assert re.match(r"deepcis input check: \d+ file\(s\) checked; 1 with contigs not in the genome", lines[0]), lines
    assert f"  peaks:T1 {c.path('T1')}: 2 of 92 record(s) on 1 contig(s) not in the genome ('chrUn_y'), skipped" in lines, lines
    (tmp_path / "check.json").write_text(json.dumps(to_json(checks)))
    write_input_check([tmp_path / "check.json"], tmp_path / "input_check.html")
    page = (tmp_path / "input_check.html").read_text()
    assert c.path("T1") in page and "chrUn_y (2)" in page


# ------------------------------------------------------------------------------ through Snakemake


@pytest.fixture
def tiny_workdir(tmp_path, tiny_source):
    workdir = copy_workflow(tmp_path / "wf")
    shutil.copytree(Path(tiny_source["genome"]).parent, workdir / "inputs")
    inputs = {"genome": workdir / "inputs" / "genome.fa", "blacklist": workdir / "inputs" / "blacklist.bed",
              "vcf": workdir / "inputs" / "variants.vcf",
              "peaks": {t: workdir / "inputs" / f"{t}.narrowPeak" for t in ("T1", "T2")}}  # fmt: skip
    return workdir, tiny_config(workdir, inputs)


@pytest.mark.parametrize(
    "edit, file, problem",
    [
        (lambda w: _swap_lines(w / "inputs" / "variants.vcf", 7, 8), "inputs/variants.vcf, line 8",
         "records are not sorted"),
        (lambda w: (w / "inputs" / "blacklist.bed").write_text("1\t20000\t21000\n"), "inputs/blacklist.bed, line 1",
         "contig '1' (1 records) is not in the genome, but 'chr1' is"),
        (lambda w: (w / "inputs" / "genome.fa").write_text(">p\nMVLSPADKTNVK\n"), "inputs/genome.fa, line 2",
         "is not a nucleotide code"),
        (lambda w: _truncated_twobit(w / "inputs" / "genome.fa"), "inputs/genome.fa",
         "corrupt 2bit file: record 'chr3' (40000 bp) ends at byte"),
    ],
    ids=["unsorted_vcf", "blacklist_chr_prefix", "protein_genome", "truncated_2bit_genome"],
)  # fmt: skip
def test_dry_run_stops_on_the_same_errors(tiny_workdir, edit, file, problem):
    workdir, config = tiny_workdir
    edit(workdir)
    result = run_snakemake(workdir, "-n", "--configfile", str(config), check=False)
    output = result.stdout + result.stderr
    assert result.returncode != 0 and file in output and problem in output, output[-3000:]
    assert "Traceback" not in output
    assert not (workdir / "results").exists()


def _truncated_twobit(fasta: Path):
    """The FASTA replaced by its 2bit, cut short (a 2bit is recognised by its signature, whatever its name)."""
    from deepcis.twobit import fasta_to_twobit

    twobit = fasta.with_suffix(".2bit")
    fasta_to_twobit(fasta, twobit)
    fasta.write_bytes(twobit.read_bytes()[:-100])


def _swap_lines(path: Path, a: int, b: int):
    lines = path.read_text().splitlines()
    lines[a - 1], lines[b - 1] = lines[b - 1], lines[a - 1]
    path.write_text("\n".join(lines) + "\n")


@pytest.mark.slow
def test_config_change_reruns_only_what_reads_it(example_run):
    """In the finished example run: another VCF reruns only the input check, scoring and report
    jobs; another variants.background only scoring and report jobs (nothing is encoded or trained)."""
    workdir, quick = example_run
    cfg = yaml.safe_load(quick.read_text())
    other_vcf = workdir / "resources" / "example" / "variants_copy.vcf.gz"
    shutil.copy(workdir / cfg["variants"]["vcf"], other_vcf)
    allowed = {"check_inputs", "bgzip_vcf", "score_chunk", "gather_scores", "plot_top_effects", "top_effects_table",
               "run_info", "input_check_table", "all"}  # fmt: skip
    for patch, must in (({"vcf": str(other_vcf)}, {"check_inputs", "score_chunk"}), ({"background": 500}, {"score_chunk"})):
        edited = workdir / "edited.yaml"
        edited.write_text(yaml.safe_dump(cfg | {"variants": cfg["variants"] | patch}))
        plan = run_snakemake(workdir, "-n", "--configfile", str(edited)).stdout
        jobs = set(re.findall(r"^rule (\w+):", plan, re.M)) | set(re.findall(r"^localrule (\w+):", plan, re.M))
        assert must <= jobs <= allowed, (patch, sorted(jobs))
    other_vcf.unlink()
    edited.unlink()


# ------------------------------------------------------------------------------ faults


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# Outputs that hold wall-clock times or machine state, compared without them: history.tsv
# (per-epoch seconds and samples/s), model.json (train_seconds, the timing columns of its history).
TIMINGS = {"seconds", "samples_per_second", "train_seconds"}


def final_outputs(workdir: Path) -> dict:
    """sha256 of every final output of the tiny run (timings left out where they are)."""
    out = {}
    for path in sorted((workdir / "results").rglob("*")):
        if not path.is_file():
            continue
        key = str(path.relative_to(workdir))
        if path.name == "history.tsv":
            out[key] = pd.read_csv(path, sep="\t").drop(columns=["seconds", "samples_per_second"]).to_csv()
        elif path.name == "model.json":
            info = json.loads(path.read_text())
            out[key] = {k: v for k, v in info.items() if k not in TIMINGS}
        else:
            out[key] = _digest(path)
    return out


def _start(workdir, config, **kwargs):
    return subprocess.Popen([*SNAKEMAKE, "--cores", "2", "--configfile", str(config)], cwd=workdir, env=snakemake_env(),
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True, **kwargs)  # fmt: skip


def _kill_when(proc, ready, timeout=900) -> bool:
    """Send SIGKILL to the whole run (snakemake and its jobs) as soon as ready() holds; False if it
    ended first."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and proc.poll() is None:
        if ready():
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            return True
        time.sleep(0.01)
    proc.communicate()
    return False


def _rerun(workdir, config, check=True):
    """What the README says to do after a kill: unlock, then the same command."""
    run_snakemake(workdir, "--unlock", "--configfile", str(config))
    return run_snakemake(workdir, "--configfile", str(config), check=check)


@contextlib.contextmanager
def _full_disk(folder: Path):
    """A full disk under `folder`: a 16 KiB tmpfs mounted there (as root), else a file size limit
    (ulimit -f) on the run. Yields the preexec_fn for the run (None with tmpfs) and which it is."""
    folder.mkdir(parents=True, exist_ok=True)
    mounted = os.geteuid() == 0 and subprocess.run(["mount", "-t", "tmpfs", "-o", "size=16k", "tmpfs", str(folder)],
                                                   capture_output=True).returncode == 0  # fmt: skip
    try:
        if mounted:
            yield None, "tmpfs"
        else:
            # 512 KiB: more than any file written before encoding, less than an encode chunk needs
            yield (lambda: resource.setrlimit(resource.RLIMIT_FSIZE, (512 << 10, 512 << 10))), "RLIMIT_FSIZE"
    finally:
        if mounted:
            subprocess.run(["umount", str(folder)], check=True)


@contextlib.contextmanager
def _not_writable(folder: Path):
    """`folder` not writable by the run: by permissions, or as root (who ignores them) by the
    immutable attribute (chattr +i). Not a read-only mount: Snakemake removes every output path
    before a job, and on a read-only file system that fails even for a missing file, in
    Snakemake itself. Yields the error the run should name, or None where neither works here."""
    if os.geteuid() != 0:
        folder.chmod(0o555)
        try:
            yield "Permission denied"
        finally:
            folder.chmod(0o755)
        return
    if subprocess.run(["chattr", "+i", str(folder)], capture_output=True).returncode != 0:
        yield None
        return
    try:
        yield "Operation not permitted"
    finally:
        subprocess.run(["chattr", "-i", str(folder)], check=True)


@pytest.mark.slow
def test_faults_then_rerun_give_the_clean_outputs(tmp_path, tiny_source):
    """A clean run, then the same inputs through disk full, kill -9 during encode, training and
    scoring, and a read-only output folder, each followed by a rerun: byte-identical outputs
    (model weights included; timings aside)."""
    runs = {}
    for name in ("clean", "faults"):
        workdir = copy_workflow(tmp_path / name)
        shutil.copytree(Path(tiny_source["genome"]).parent, workdir / "inputs")
        inputs = {"genome": workdir / "inputs" / "genome.fa", "blacklist": workdir / "inputs" / "blacklist.bed",
                  "vcf": workdir / "inputs" / "variants.vcf",
                  "peaks": {t: workdir / "inputs" / f"{t}.narrowPeak" for t in ("T1", "T2")}}  # fmt: skip
        runs[name] = (workdir, tiny_config(workdir, inputs))
    workdir, config = runs["clean"]
    run_snakemake(workdir, "--configfile", str(config))
    clean = final_outputs(workdir)
    assert "results/models/tiny/model.keras" in clean and "results/score/tiny/effects.tsv.gz" in clean
    workdir, config = runs["faults"]
    chunks = workdir / "results" / "encode" / "chunks"

    # 1. disk full while encoding: the job names the file and the bytes it needs; nothing partial
    with _full_disk(chunks) as (limit, how):
        failed = subprocess.run([*SNAKEMAKE, "--cores", "2", "--configfile", str(config)], cwd=workdir, env=snakemake_env(),
                                capture_output=True, text=True, preexec_fn=limit)  # fmt: skip
        output = failed.stdout + failed.stderr
        assert failed.returncode != 0, output[-3000:]
        assert re.search(r"results/encode/chunks/\w+\.\d\.h5: not enough disk space: needs [\d,]+ bytes", output), (how, output[-4000:])
        assert not list(chunks.glob("*.h5")) and not list(chunks.glob(".*.tmp*"))
    logs = "".join(p.read_text() for p in (workdir / "logs" / "encode").glob("encode_chunk.*.log"))
    assert "not enough disk space" in logs and "Traceback" in logs  # the line, then the traceback, in the log

    # 2. kill -9 during encode (a chunk's temp file being written), then rerun
    proc = _start(workdir, config)
    _kill_when(proc, lambda: any(chunks.glob(".*.tmp")) or (workdir / "results" / "encode" / "test.h5").exists())
    dead = subprocess.Popen(["true"])
    dead.wait()
    stale = chunks / temp_path(chunks / "train.9.h5").name.replace(f".{os.getpid()}@", f".{dead.pid}@")
    stale.write_bytes(b"\0" * 1000)  # what a killed writer leaves: swept when the run starts
    # 3. kill -9 in the middle of training (after its first epoch's resume state), then rerun
    resume_state = workdir / "results" / "models" / "tiny.resume" / "state.json"
    run_snakemake(workdir, "--unlock", "--configfile", str(config))
    proc = _start(workdir, config)
    assert _kill_when(proc, resume_state.is_file), "the run ended before training could be interrupted"
    assert not stale.exists()
    assert json.loads(resume_state.read_text())["epoch"] < 4 and not (workdir / "results/models/tiny/model.keras").exists()
    # 4. kill -9 while scoring, then rerun
    score_log = workdir / "logs" / "score"
    run_snakemake(workdir, "--unlock", "--configfile", str(config))
    proc = _start(workdir, config)
    assert _kill_when(proc, lambda: any(score_log.glob("score_chunk.*.log"))), "the run ended before scoring"
    assert not (workdir / "results" / "score" / "tiny" / "effects.tsv.gz").exists()
    # 5. an output folder the run may not write to: the job names the file; writable again, rerun
    report_folder = workdir / "results" / "report" / "score"
    report_folder.mkdir(parents=True, exist_ok=True)
    with _not_writable(report_folder) as denied:
        if denied is None:
            pytest.skip("root without chattr here: no unwritable folder for the last fault case")
        result = _rerun(workdir, config, check=False)
        output = result.stdout + result.stderr
        assert result.returncode != 0, output[-3000:]
        assert f"results/report/score/tiny.top_effects.html: cannot be written: {denied}" in output, output[-4000:]
    _rerun(workdir, config)
    assert final_outputs(workdir) == clean
    assert not list((workdir / "results").rglob(".*.tmp*"))
