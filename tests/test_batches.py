import numpy as np
import pytest

from deepcis import dataset
from deepcis.batches import BatchConfig, HDF5Batches

ATTRS = {"genome": "g", "genome_sha256": "0", "label_mode": "deepsea", "split": "train", "config_sha256": "0"}


def make_dataset(path, n=1000, length=20, tasks=("a", "b"), seed=0):
    rng = np.random.default_rng(seed)
    x = np.zeros((n, length, 4), np.uint8)
    x[np.arange(n)[:, None], np.arange(length)[None, :], rng.integers(0, 4, (n, length))] = 1
    x[:, [0, -1], :] = 0
    x[:, 0, 0] = 1  # first base A and last base C: a reverse complement starts with G
    x[:, -1, 1] = 1
    y = rng.integers(0, 2, (n, len(tasks))).astype(np.uint8)
    with dataset.create_dataset(path, n, length, list(tasks), ATTRS) as f:
        dataset.write_rows(f, 0, x, y, ["chr1"] * n, np.arange(n) * 100, np.arange(n) * 100 + length)
    return x, y


def _rows(batches, epoch=0):
    """Identify rows by their (unique) start coordinate through x content."""
    xs, ys = zip(*batches.iterate(epoch))
    return np.concatenate(xs), np.concatenate(ys)


@pytest.mark.parametrize("in_memory", [True, False])
def test_every_row_once_per_epoch(tmp_path, in_memory):
    x, y = make_dataset(tmp_path / "d.h5")
    cfg = BatchConfig(batch_size=64, block_rows=50, buffer_blocks=3, in_memory_bytes=(1 << 30) if in_memory else 0, seed=1)
    batches = HDF5Batches(tmp_path / "d.h5", cfg)
    assert batches.in_memory == in_memory
    sizes = [len(b[0]) for b in batches.iterate(0)]
    assert sizes == [64] * 15 + [40] and len(batches) == 16
    got_x, got_y = _rows(batches)
    key = lambda a: a.reshape(len(a), -1).tobytes()  # noqa: E731
    order = np.lexsort(got_x.reshape(len(got_x), -1).T[::-1])
    ref = np.lexsort(x.reshape(len(x), -1).T[::-1])
    assert key(got_x[order]) == key(x[ref])
    np.testing.assert_array_equal(got_y[order], y[ref].astype(np.float32))
    assert got_y.dtype == np.float32


def test_order_depends_on_seed_and_epoch_only(tmp_path):
    make_dataset(tmp_path / "d.h5")
    cfg = BatchConfig(batch_size=32, block_rows=50, buffer_blocks=2, in_memory_bytes=0, seed=3)
    a, b = HDF5Batches(tmp_path / "d.h5", cfg), HDF5Batches(tmp_path / "d.h5", cfg)
    np.testing.assert_array_equal(_rows(a, 2)[0], _rows(b, 2)[0])  # same epoch, fresh reader
    assert not np.array_equal(_rows(a, 0)[0], _rows(a, 1)[0])
    shuffled = _rows(a, 0)[0]
    plain = _rows(HDF5Batches(tmp_path / "d.h5", BatchConfig(batch_size=32, shuffle=False)), 0)[0]
    assert not np.array_equal(shuffled, plain)


def test_no_shuffle_keeps_file_order(tmp_path):
    x, y = make_dataset(tmp_path / "d.h5", n=130)
    batches = HDF5Batches(tmp_path / "d.h5", BatchConfig(batch_size=50, shuffle=False, block_rows=7, buffer_blocks=2))
    got_x, got_y = _rows(batches)
    np.testing.assert_array_equal(got_x, x)
    np.testing.assert_array_equal(got_y, y)


def test_reverse_complement_augmentation(tmp_path):
    x, _ = make_dataset(tmp_path / "d.h5", n=400)
    cfg = BatchConfig(batch_size=400, shuffle=False, reverse_complement=True, seed=0)
    got, _ = next(iter(HDF5Batches(tmp_path / "d.h5", cfg).iterate(0)))
    flipped = got[:, 0, 2] == 1
    assert 150 < flipped.sum() < 250
    np.testing.assert_array_equal(got[flipped], x[flipped][:, ::-1, ::-1])
    np.testing.assert_array_equal(got[~flipped], x[~flipped])


def test_label_counts_ignore_missing(tmp_path):
    path = tmp_path / "d.h5"
    y = np.array([[1, np.nan], [0, 1], [1, 1]], np.float32)
    with dataset.create_dataset(path, 3, 5, ["a", "b"], ATTRS, label_dtype=np.float32) as f:
        dataset.write_rows(f, 0, np.zeros((3, 5, 4), np.uint8), y, ["c"] * 3, [0, 5, 10], [5, 10, 15])
    pos, seen = HDF5Batches(path, BatchConfig(in_memory_bytes=0)).label_counts(block=2)
    assert pos.tolist() == [2, 2] and seen.tolist() == [3, 2]
