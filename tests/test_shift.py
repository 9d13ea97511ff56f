"""Random shift augmentation: exact shifted windows with N fill, uniform shifts within +-k,
deterministic in (seed, epoch), labels untouched, and the training key checked."""

import numpy as np
import pytest
from test_batches import make_dataset

from deepcis.batches import BatchConfig, HDF5Batches, shift_windows
from deepcis.errors import ConfigError, InputError
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


# --- read-wide shift: windows encoded with flanks (encode.flank) and cropped at their shift ---

FLANK_ATTRS = {"genome": "g.fa", "genome_sha256": "0" * 64, "label_mode": "basset", "split": "train", "config_sha256": "1" * 64}


@pytest.fixture
def flanked(tmp_path):
    """A 2 kb chromosome, 40 windows of 30 bp (two touching its ends, the others 48 bp apart so
    that no shifted window equals another's), encoded with flank 0 and 6."""
    import pandas as pd
    from _utils import random_sequence, write_fasta

    from deepcis.encode import encode_bed
    from deepcis.prepare import write_windows_bed

    seq = random_sequence(2000, seed=3)
    genome = write_fasta(tmp_path / "g.fa", {"chr1": seq})
    starts = np.r_[0, 50 + 48 * np.arange(38), 1970]
    windows = pd.DataFrame({"chrom": "chr1", "start": starts, "end": starts + 30, "name": [f"w{i}" for i in range(40)],
                            "split": "train", "t": np.arange(40) % 2})  # fmt: skip
    write_windows_bed(windows, ["t"], "train", tmp_path / "w.bed")
    for flank in (0, 6):
        encode_bed(genome, tmp_path / "w.bed", tmp_path / f"f{flank}.h5", 30, FLANK_ATTRS, block_rows=16, flank=flank)
    return tmp_path, seq, starts


def _genome_codes(seq, start, length):
    """Base codes of seq[start:start+length], N (4) beyond its ends."""
    return np.array([("ACGT".index(seq[i]) if 0 <= i < len(seq) else 4) for i in range(start, start + length)], np.uint8)


def _shifted(seq, start, s, flank, length=30):
    """The window at shift s (read from start - s), N for the part of the shift past the flank."""
    out = _genome_codes(seq, int(start) - s, length)
    beyond = abs(s) - flank
    if beyond > 0:
        if s > 0:
            out[:beyond] = 4
        else:
            out[length - beyond :] = 4
    return out


def test_flank_stored_and_cropped(flanked):
    import h5py

    from deepcis import dataset

    folder, seq, starts = flanked
    with dataset.open_dataset(folder / "f0.h5") as f0, dataset.open_dataset(folder / "f6.h5") as f6:
        assert "flank" not in f0.attrs and f0["x"].shape == (40, 30)  # flank 0: the file as without the option
        assert f6.attrs["flank"] == 6 and f6["x"].shape == (40, 42)
        wide, plain = dataset.XReader(f6), dataset.XReader(f0)
        assert wide.shape == plain.shape == (40, 30, 4)
        np.testing.assert_array_equal(wide.codes(), plain.codes())  # every reader sees the centre
        np.testing.assert_array_equal(wide[5], plain[5])
        np.testing.assert_array_equal(wide[[1, 7]], plain[[1, 7]])
        for row, start in zip(wide.codes(full=True), starts):
            np.testing.assert_array_equal(row, _genome_codes(seq, int(start) - 6, 42))  # N past the ends
    # the flank survives the gather of chunks; a flank attribute that does not fit x is refused
    dataset.concatenate([folder / "f6.h5", folder / "f6.h5"], folder / "both.h5")
    with dataset.open_dataset(folder / "both.h5") as f:
        assert f.attrs["flank"] == 6 and f["x"].shape == (80, 42)
    with h5py.File(folder / "f6.h5", "a") as f:
        f.attrs["flank"] = 5
    with pytest.raises(InputError, match="with 5 flank bases"):
        dataset.open_dataset(folder / "f6.h5")


@pytest.mark.parametrize("shift", [6, 9])
def test_shift_crops_from_flanks(flanked, shift):
    """Each training window is the genome at its shifted place (N only for the part of a shift
    past the flank, or past the chromosome), every offset drawn, reproducibly in (seed, epoch);
    the validation loader gives the centre windows."""
    from deepcis.training import resolve_training, split_batches

    folder, seq, starts = flanked
    cfg = resolve_training({"shift": shift, "batch_size": 16, "reverse_complement": False})
    train, valid = split_batches(folder / "f6.h5", folder / "f6.h5", cfg, seed=7)
    candidates = {(int(a), s): _shifted(seq, a, s, 6).tobytes() for a in starts for s in range(-shift, shift + 1)}
    lookup = {v: k for k, v in candidates.items()}
    drawn = []
    for epoch in range(4):
        x = np.concatenate([b for b, _ in train.iterate_codes(epoch)])
        assert x.shape == (40, 30)
        found = [lookup.get(row.tobytes()) for row in x]
        assert None not in found, "a training window is not its genome window at a shift"
        assert sorted(a for a, _ in found) == sorted(starts.tolist())  # each window once per epoch
        drawn += [s for _, s in found]
    assert set(drawn) == set(range(-shift, shift + 1))  # 160 draws of 2 shift + 1 offsets
    again, _ = split_batches(folder / "f6.h5", folder / "f6.h5", cfg, seed=7)
    np.testing.assert_array_equal(np.concatenate([b for b, _ in again.iterate_codes(3)]), x)
    assert valid.config.shift == 0 and not valid.config.reverse_complement
    centres = np.concatenate([b for b, _ in valid.iterate_codes(0)])
    np.testing.assert_array_equal(centres, np.stack([_genome_codes(seq, int(a), 30) for a in starts]))

