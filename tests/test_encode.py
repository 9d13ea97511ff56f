import h5py
import numpy as np
import pytest
from _utils import toy_inputs

from deepcis import dataset
from deepcis.config import validate_config
from deepcis.encode import chunk_bounds, count_rows, encode_bed
from deepcis.errors import InputError
from deepcis.genome import decode_one_hot
from deepcis.intervals import bedtools_tempdir
from deepcis.prepare import prepare_windows, write_windows_bed

ATTRS = {"genome": "toy.fa", "genome_sha256": "0" * 64, "label_mode": "deepsea", "split": "train", "config_sha256": "1" * 64}


@pytest.fixture(params=["deepsea", "basset"])
def prepared(request, tmp_path):
    genome, tasks, blacklist = toy_inputs(tmp_path)
    cfg = validate_config({"genome": "g", "tasks": "x", "prepare": {"mode": request.param},
                           "split": {"valid": ["chr2"], "test": ["chr3"]}})  # fmt: skip
    with bedtools_tempdir(tmp_path):
        out = prepare_windows(genome, tasks, cfg["prepare"], cfg["split"], seed=1, blacklist_path=blacklist)
    bed = tmp_path / "train.bed"
    write_windows_bed(out.windows, out.tasks, "train", bed)
    return genome, bed, out


def _sequence(genome_path, chrom, start, end):
    import pyfaidx

    return str(pyfaidx.Fasta(str(genome_path))[chrom][start:end]).upper()


@pytest.mark.parametrize("workers", [1, 2])
def test_round_trip_decodes_to_genome(prepared, tmp_path, workers):
    genome, bed, out = prepared
    h5 = tmp_path / "train.h5"
    n = encode_bed(genome, bed, h5, 1000, ATTRS, block_rows=7, workers=workers)  # many block boundaries
    train = out.windows[out.windows["split"] == "train"].reset_index(drop=True)
    assert n == len(train) == count_rows(bed)
    with dataset.open_dataset(h5) as f:
        assert f["x"].dtype == np.uint8 and f["x"].shape == (n, 1000) and f.attrs["x_encoding"] == "base_codes"
        assert f["y"].dtype == np.uint8 and f["y"].shape == (n, 2)
        assert dataset.dataset_tasks(f) == ["T1", "T2"]
        assert f.attrs["window_length"] == 1000 and f.attrs["split"] == "train"
        np.testing.assert_array_equal(f["y"][:], train[["T1", "T2"]].to_numpy())
        chroms = [c.decode() for c in f["chrom"][:]]
        assert chroms == train["chrom"].tolist()
        for i in range(n):
            seq = _sequence(genome, chroms[i], int(f["start"][i]), int(f["end"][i]))
            assert decode_one_hot(dataset.read_x(f, i)) == seq
        assert dataset.read_x(f).sum(axis=2).max() == 1


def test_chunks_gather_to_the_same_file(prepared, tmp_path):
    genome, bed, _ = prepared
    whole = tmp_path / "whole.h5"
    encode_bed(genome, bed, whole, 1000, ATTRS)
    n = count_rows(bed)
    parts = []
    for i in range(3):
        part = tmp_path / f"part{i}.h5"
        encode_bed(genome, bed, part, 1000, ATTRS | {"chunk": str(i)}, chunk=(i, 3), block_rows=5, workers=1 + i % 2)
        parts.append(part)
    gathered = tmp_path / "gathered.h5"
    assert dataset.concatenate(parts, gathered, block_rows=4) == n
    with h5py.File(whole) as a, h5py.File(gathered) as b:
        for key in ("x", "y", "chrom", "start", "end", "tasks"):
            np.testing.assert_array_equal(a[key][:], b[key][:])
        assert "chunk" not in b.attrs


def test_chunk_bounds_cover_every_row_once():
    for n in (0, 1, 5, 100, 101):
        for k in (1, 3, 7):
            rows = [r for i in range(k) for r in range(*chunk_bounds(n, i, k))]
            assert rows == list(range(n))


@pytest.mark.parametrize("workers", [1, 2])
def test_failed_encode_leaves_no_file(prepared, tmp_path, workers):
    genome, bed, _ = prepared
    lines = open(bed).read().splitlines()
    fields = lines[3].split("\t")
    fields[2] = str(int(fields[2]) + 5)  # a window of the wrong length, mid-file
    lines[3] = "\t".join(fields)
    open(bed, "w").write("\n".join(lines) + "\n")
    out = tmp_path / "bad.h5"
    with pytest.raises(ValueError, match="is not 1000 bp long"):
        encode_bed(genome, bed, out, 1000, ATTRS, block_rows=2, workers=workers)
    assert not out.exists()
    assert not list(tmp_path.glob(".bad.h5*"))


def test_not_a_windows_bed(tmp_path, prepared):
    genome, _, _ = prepared
    bed = tmp_path / "plain.bed"
    bed.write_text("chr1\t0\t1000\n")
    with pytest.raises(InputError, match="not a deepcis windows BED"):
        encode_bed(genome, bed, tmp_path / "x.h5", 1000, ATTRS)


def test_open_dataset_checks_contract(tmp_path):
    path = tmp_path / "other.h5"
    with h5py.File(path, "w") as f:
        f["x"] = np.zeros((1, 10, 4), np.uint8)
    with pytest.raises(InputError, match="not a deepcis HDF5 dataset: missing y"):
        dataset.open_dataset(path)
    path.write_text("not hdf5")
    with pytest.raises(InputError, match="not a readable HDF5 file"):
        dataset.open_dataset(path)


def test_encode_rows_with_interleaved_chromosomes(prepared):
    import pandas as pd

    from deepcis.encode import encode_rows
    from deepcis.genome import Genome

    genome_path, _, _ = prepared
    frame = pd.DataFrame({"chrom": ["chr1", "chr2", "chr1"], "start": [5, 100, 40_000], "end": [1005, 1100, 41_000]})
    x = encode_rows(Genome(genome_path), frame, 1000)
    for i, row in frame.iterrows():
        assert decode_one_hot(x[i]) == _sequence(genome_path, row["chrom"], row["start"], row["end"])


def test_bad_label_in_worker_names_the_rows(prepared, tmp_path):
    from deepcis.windows_file import labels_path

    genome, bed, _ = prepared
    with h5py.File(labels_path(bed), "r+") as f:
        f["y"][9, 0] = 2  # data row 10
    with pytest.raises(InputError, match=r"train\.labels\.h5: labels must be 0 or 1 \(data rows 9-12 of .*train\.bed\)"):
        encode_bed(genome, bed, tmp_path / "y.h5", 1000, ATTRS, block_rows=4, workers=2)
    with h5py.File(labels_path(bed), "r+") as f:  # labels of another run: fewer rows than the BED
        f["y"].resize(f["y"].shape[0] - 1, axis=0)
    with pytest.raises(InputError, match="label rows for the .* windows"):
        encode_bed(genome, bed, tmp_path / "z.h5", 1000, ATTRS)
    labels_path(bed).unlink()
    with pytest.raises(InputError, match="labels file of .*train.bed not found"):
        encode_bed(genome, bed, tmp_path / "z.h5", 1000, ATTRS)


def test_block_byte_ranges_slice_rows_exactly(tmp_path):
    from deepcis.encode import block_byte_ranges

    bed = tmp_path / "w.bed"
    rows = [f"chr1\t{i}\t{i + 10}\tpeak\t1" for i in range(23)]
    bed.write_text("#chrom\tstart\tend\tname\tT\n" + "\n".join(rows) + "\n")
    data = bed.read_bytes()
    for lo, hi, block in ((0, 23, 5), (3, 17, 4), (22, 23, 1), (5, 5, 3)):
        got = b"".join(data[b0:b1] for _, _, b0, b1 in block_byte_ranges(bed, lo, hi, block))
        assert got.decode() == "".join(r + "\n" for r in rows[lo:hi])
