"""Random shift augmentation: exact shifted windows with N fill, uniform shifts within +-k,
deterministic in (seed, epoch), labels untouched, and the training key checked."""

import numpy as np
import pytest
from test_batches import make_dataset

from deepcis.batches import BatchConfig, HDF5Batches, shift_windows
from deepcis.errors import ConfigError
from deepcis.training import resolve_training


def test_shift_windows_exact():
    x = np.eye(4, dtype=np.uint8)[[0, 1, 2, 3, 0, 1]][None].repeat(3, axis=0)  # ACGTAC
    out = shift_windows(x, np.array([2, -1, 0]))
    decode = lambda w: "".join("ACGT"[r.argmax()] if r.any() else "N" for r in w)  # noqa: E731
    assert [decode(w) for w in out] == ["NNACGT", "CGTACN", "ACGTAC"]
    assert shift_windows(x, np.array([6, -9, 0]))[:2].sum() == 0  # shifted out entirely


def test_shift_augmentation_in_batches(tmp_path):
    x, y = make_dataset(tmp_path / "d.h5", n=600, length=40)
    cfg = BatchConfig(batch_size=600, shuffle=False, shift=3, seed=5)
    batches = HDF5Batches(tmp_path / "d.h5", cfg)
    got, got_y = next(iter(batches.iterate(0)))
    np.testing.assert_array_equal(got_y, y.astype(np.float32))
    # recover each row's shift: the one that maps the original onto the batch row
    shifts = []
    for original, row in zip(x, got):
        match = [s for s in range(-3, 4) if (shift_windows(original[None], np.array([s]))[0] == row).all()]
        assert match, "a row is not a shifted copy of its window"
        shifts.append(match[0])
    counts = np.bincount(np.array(shifts) + 3, minlength=7)
    assert counts.min() > 50  # all seven shifts, about 86 each
    again, _ = next(iter(HDF5Batches(tmp_path / "d.h5", cfg).iterate(0)))
    later, _ = next(iter(HDF5Batches(tmp_path / "d.h5", cfg).iterate(1)))
    np.testing.assert_array_equal(again, got)
    assert (later != got).any()


def test_shift_training_key_checked():
    assert resolve_training({"shift": 10})["shift"] == 10 and resolve_training(None)["shift"] == 0
    with pytest.raises(ConfigError, match="training key shift"):
        resolve_training({"shift": -1})
