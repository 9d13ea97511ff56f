"""The packed `x` of the HDF5 splits: base codes, their reader, the layout converter, the loader."""

import h5py
import numpy as np
import pytest

from deepcis import dataset
from deepcis.batches import BatchConfig, HDF5Batches
from deepcis.errors import InputError
from deepcis.genome import (
    ascii_to_codes,
    codes_to_one_hot,
    one_hot_encode,
    one_hot_to_codes,
    reverse_complement,
    reverse_complement_codes,
)

ATTRS = {"genome": "g.fa", "genome_sha256": "0", "label_mode": "deepsea", "split": "train", "config_sha256": "0"}


def _windows(n=37, length=50, seed=0):
    """One-hot windows with N runs (all-zero rows) and labels."""
    rng = np.random.default_rng(seed)
    ascii_codes = np.frombuffer(b"ACGTacgtNnRY", np.uint8)[rng.integers(0, 12, (n, length))]
    return one_hot_encode(ascii_codes), ascii_codes, (rng.random((n, 3)) < 0.4).astype(np.uint8)


def _write(path, x, y, encoding):
    n, length = x.shape[:2]
    with dataset.create_dataset(path, n, length, ["a", "b", "c"], ATTRS, x_encoding=encoding) as f:
        dataset.write_rows(f, 0, x, y, ["chr1"] * n, np.arange(n) * length, np.arange(n) * length + length)
    return path


def test_codes_carry_exactly_the_one_hot():
    x, ascii_codes, _ = _windows()
    codes = ascii_to_codes(ascii_codes)
    assert set(np.unique(codes)) <= {0, 1, 2, 3, 4}
    # N, IUPAC codes -> 4 -> the all-zero row the models see; lowercase as uppercase
    np.testing.assert_array_equal(codes_to_one_hot(codes), x)
    np.testing.assert_array_equal(one_hot_to_codes(x), codes)
    np.testing.assert_array_equal(codes_to_one_hot(reverse_complement_codes(codes)), reverse_complement(x))
    with pytest.raises(ValueError, match="not one-hot"):
        one_hot_to_codes(np.ones((2, 3, 4), np.uint8))


def test_reader_and_converter_round_trip(tmp_path):
    x, _, y = _windows()
    packed = _write(tmp_path / "codes.h5", x, y, "base_codes")
    with dataset.open_dataset(packed) as f:
        assert f["x"].shape == x.shape[:2] and f.attrs["x_encoding"] == "base_codes"
        assert f["x"].id.get_storage_size() == x.shape[0] * x.shape[1]  # 1 byte per window base
        reader = dataset.XReader(f)
        assert reader.shape == x.shape
        np.testing.assert_array_equal(reader[:], x)
        np.testing.assert_array_equal(reader[np.array([2, 5, 30])], x[[2, 5, 30]])
        np.testing.assert_array_equal(reader[4], x[4])
    wide = tmp_path / "one_hot.h5"
    dataset.main(["convert", str(packed), str(wide), "--x-encoding", "one_hot"])
    back = tmp_path / "back.h5"
    dataset.main(["convert", str(wide), str(back), "--x-encoding", "base_codes"])
    with h5py.File(packed) as a, h5py.File(wide) as b, h5py.File(back) as c:
        assert b["x"].shape == x.shape and b.attrs["x_encoding"] == "one_hot"
        np.testing.assert_array_equal(b["x"][()], x)
        np.testing.assert_array_equal(dataset.read_x(b), dataset.read_x(a))
        for key in ("x", "y", "chrom", "start", "end", "tasks"):
            np.testing.assert_array_equal(a[key][()], c[key][()])
        assert {k: a.attrs[k] for k in a.attrs} == {k: c.attrs[k] for k in c.attrs}


def test_damaged_x_is_refused_naming_file_and_rows(tmp_path):
    x, _, y = _windows()
    path = _write(tmp_path / "d.h5", x, y, "base_codes")
    with h5py.File(path, "r+") as f:
        f["x"][7, 3] = 9  # not a base code
    with dataset.open_dataset(path) as f:
        reader = dataset.XReader(f)
        np.testing.assert_array_equal(reader[0:7], x[0:7])
        with pytest.raises(InputError, match=r"d\.h5.*x rows 0:10 hold byte 9: base codes are 0-4"):
            reader[0:10]
    with h5py.File(path, "r+") as f:  # a short x (a file cut or written by another tool)
        del f["x"]
        f["x"] = np.zeros((len(y) - 1, x.shape[1]), np.uint8)
    with pytest.raises(InputError, match=r"x is uint8 \(36, 50\), but base_codes x of 37 windows of 50 bp is uint8 \(37, 50\)"):
        dataset.open_dataset(path)
    with h5py.File(path, "r+") as f:
        f.attrs["x_encoding"] = "two_bit"
    with pytest.raises(InputError, match="x_encoding 'two_bit' is not one of"):
        dataset.open_dataset(path)


@pytest.mark.parametrize("in_memory", [True, False])
def test_loader_batches_are_identical_for_both_layouts(tmp_path, in_memory):
    x, _, y = _windows(n=70)
    paths = [_write(tmp_path / f"{e}.h5", x, y, e) for e in dataset.X_ENCODINGS]
    cfg = BatchConfig(batch_size=16, block_rows=8, buffer_blocks=2, reverse_complement=True, shift=3, seed=5,
                      in_memory_bytes=1 << 30 if in_memory else 0)  # fmt: skip
    loaders = [HDF5Batches(p, cfg) for p in paths]
    try:
        for epoch in (0, 1):
            batches = [list(loader.iterate(epoch)) for loader in loaders]
            assert len(batches[0]) == len(batches[1]) == 5
            for (xa, ya), (xb, yb) in zip(*batches):
                assert xa.dtype == np.uint8 and xa.shape[1:] == (50, 4)
                np.testing.assert_array_equal(xa, xb)
                np.testing.assert_array_equal(ya, yb)
        # every window appears once per epoch (augmented): the row multiset of labels is kept
        got = np.concatenate([b[1] for b in batches[0]])
        assert sorted(map(tuple, got)) == sorted(map(tuple, y.astype(np.float32)))
    finally:
        for loader in loaders:
            loader.close()


def test_loader_matches_the_one_hot_augmentation(tmp_path):
    """Shift and reverse complement on codes, expanded per batch, give what the one-hot path gave."""
    from deepcis.batches import shift_windows

    x, _, y = _windows(n=40)
    path = _write(tmp_path / "c.h5", x, y, "base_codes")
    cfg = BatchConfig(batch_size=16, reverse_complement=True, shift=3, seed=2)
    loader = HDF5Batches(path, cfg)
    try:
        got = list(loader.iterate(1))
    finally:
        loader.close()
    rng = np.random.default_rng([2, 1])  # the in-memory path: an exact row shuffle, per batch
    order = rng.permutation(len(x))
    for k, (xb, yb) in enumerate(got):
        idx = np.sort(order[16 * k : 16 * (k + 1)])
        want = shift_windows(x[idx], rng.integers(-3, 4, len(idx)))
        flip = rng.random(len(idx)) < 0.5
        want[flip] = reverse_complement(want[flip])
        np.testing.assert_array_equal(xb, want)
        np.testing.assert_array_equal(yb, y[idx])


def test_tf_pipeline_expands_codes_to_the_same_batches(tmp_path):
    from deepcis.training import tf_dataset

    x, _, y = _windows(n=40)
    path = _write(tmp_path / "c.h5", x, y, "base_codes")
    loader = HDF5Batches(path, BatchConfig(batch_size=16, reverse_complement=True, shift=2, seed=4))
    try:
        want = list(loader.iterate(3))
        got = [(a.numpy(), b.numpy()) for a, b in tf_dataset(loader, lambda: 3)]
    finally:
        loader.close()
    assert len(got) == len(want) == 3
    for (xa, ya), (xb, yb) in zip(got, want):
        assert xa.dtype == np.uint8
        np.testing.assert_array_equal(xa, xb)
        np.testing.assert_array_equal(ya, yb)
