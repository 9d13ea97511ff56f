"""2bit genomes: the converter, reads equal to the FASTA's (soft-mask, N, IUPAC), identical
HDF5 from a FASTA and its 2bit, and corrupt files refused with the file and record named."""

import struct

import h5py
import numpy as np
import pytest
from _utils import random_sequence, toy_inputs, write_fasta

from deepcis.config import validate_config
from deepcis.encode import encode_bed
from deepcis.errors import InputError
from deepcis.genome import Genome
from deepcis.intervals import bedtools_tempdir
from deepcis.prepare import prepare_windows, write_windows_bed
from deepcis.twobit import check_twobit, fasta_to_twobit, is_twobit


@pytest.fixture
def masked_fasta(tmp_path):
    a = random_sequence(5_003, 1)  # not a multiple of 4: the last packed byte is partial
    a = "nnNN" + a[4:1000] + a[1000:1300].lower() + "NNNNN" + a[1305:4000] + "RYKM" + a[4004:-3] + "acg"
    b = "N" * 700 + random_sequence(2_000, 2)
    return write_fasta(tmp_path / "g.fa", {"chrA": a, "chrB": b}), {"chrA": a, "chrB": b}


def test_converter_round_trip_keeps_soft_mask_and_n(masked_fasta, tmp_path):
    fasta, records = masked_fasta
    out = tmp_path / "g.2bit"
    assert fasta_to_twobit(fasta, out) == {name: len(seq) for name, seq in records.items()}
    assert is_twobit(out) and not is_twobit(fasta)
    assert check_twobit(out) == {"chrA": 5003, "chrB": 2700}
    with Genome(out) as tb, Genome(fasta) as fa:
        assert tb.chrom_sizes == fa.chrom_sizes
        for name, seq in records.items():
            # IUPAC codes other than ACGT become N (as UCSC faToTwoBit does), and py2bit reads
            # a soft-masked n as N; case is kept for ACGT (all encode alike: N is all-zero)
            expect = "".join(c if c in "ACGTacgt" else "N" for c in seq)
            assert tb.fetch(name, 0, len(seq)).tobytes().decode() == expect
        starts = np.arange(0, 5003 - 300, 97)
        np.testing.assert_array_equal(tb.one_hot_windows("chrA", starts, 300), fa.one_hot_windows("chrA", starts, 300))
        assert tb.fetch("chrB", 10, 10).size == 0
        with pytest.raises(InputError, match="chrZ"):
            tb.fetch("chrZ", 0, 1)


def test_fasta_and_its_2bit_encode_to_identical_hdf5(tmp_path):
    genome, tasks, blacklist = toy_inputs(tmp_path)
    two_bit = tmp_path / "genome.2bit"
    fasta_to_twobit(genome, two_bit)
    cfg = validate_config({"genome": "g", "tasks": "x", "split": {"valid": ["chr2"], "test": ["chr3"]}})
    files = {}
    for label, path in (("fa", genome), ("2bit", two_bit)):
        with bedtools_tempdir(tmp_path):
            out = prepare_windows(path, tasks, cfg["prepare"], cfg["split"], seed=1, blacklist_path=blacklist)
        bed = tmp_path / f"{label}.bed"
        write_windows_bed(out.windows, out.tasks, "train", bed)
        attrs = {"genome": "g", "genome_sha256": "0" * 64, "label_mode": "deepsea", "split": "train", "config_sha256": "1" * 64}
        files[label] = tmp_path / f"{label}.h5"
        encode_bed(path, bed, files[label], 1000, attrs, block_rows=11)
    assert (tmp_path / "fa.bed").read_bytes() == (tmp_path / "2bit.bed").read_bytes()
    with h5py.File(files["fa"]) as a, h5py.File(files["2bit"]) as b:
        assert sorted(a) == sorted(b) and a["x"].shape[0] > 0
        for name in a:
            np.testing.assert_array_equal(a[name][:], b[name][:], err_msg=name)
        assert dict(a.attrs) == dict(b.attrs)


def _corrupt(path, data):
    path.write_bytes(data)
    return path


def test_corrupt_2bit_refused_naming_file_and_record(masked_fasta, tmp_path):
    fasta, _ = masked_fasta
    good = tmp_path / "g.2bit"
    fasta_to_twobit(fasta, good)
    data = good.read_bytes()
    cases = {
        "truncated": (data[: len(data) - 50], "record 'chrB'.*past the end of the file"),
        "index_cut": (data[:30], "index entry 2 of 2 is cut off"),
        "bad_version": (data[:4] + struct.pack("<I", 7) + data[8:], "unknown version 7"),
        "bad_offset": (data[:16] + data[16:21] + struct.pack("<I", 10**6) + data[25:], "record 'chrA' starts at byte 1000000"),
        "no_sequences": (data[:8] + struct.pack("<I", 0) + data[12:16], "holds no sequences"),
    }
    for name, (raw, message) in cases.items():
        path = _corrupt(tmp_path / f"{name}.2bit", raw)
        with pytest.raises(InputError, match=message) as error:
            Genome(path)
        assert str(path) in str(error.value), name


def test_converter_refuses_long_names_and_leaves_no_output(tmp_path):
    fasta = write_fasta(tmp_path / "long.fa", {"c" * 300: "ACGT" * 10})
    out = tmp_path / "long.2bit"
    with pytest.raises(InputError, match="longer than 2bit's 255 bytes"):
        fasta_to_twobit(fasta, out)
    assert not out.exists()


def test_command_line_converter(masked_fasta, tmp_path, capsys):
    from deepcis.twobit import main

    fasta, _ = masked_fasta
    assert main([str(fasta), str(tmp_path / "cli.2bit")]) == 0
    assert "2 sequences, 7703 bp" in capsys.readouterr().out
    with pytest.raises(SystemExit) as exit_info:
        main([str(tmp_path / "missing.fa"), str(tmp_path / "x.2bit")])
    assert exit_info.value.code == 2 and "not found" in capsys.readouterr().err
