"""Training batches from an HDF5 dataset, with block shuffling and bounded memory.

Rows are read in contiguous blocks (HDF5 reads a contiguous block about 300x faster than
the same rows picked at random). Each epoch the block order is permuted, `buffer_blocks`
blocks are read into a buffer, their rows are shuffled together and cut into batches. A
dataset smaller than `in_memory_bytes` is read once and shuffled row by row instead.
The order depends only on (seed, epoch), so a resumed run sees the same batches.
A model may train on some of the file's tasks (`tasks`: label columns by name, in the model's
order) and on a seeded fraction of its rows (`fraction`, e.g. a few-positives transfer study).
Augmentation of training batches: reverse complement (probability 1/2) and a random shift of
up to `shift` bases either way, drawn from the same (seed, epoch) generator. A file encoded
with flanks (encode.flank k) is read wide and each window cropped at its shifted place, so a
shift within k moves real genome bases in; only the part of a shift beyond k moves in N.
Windows are read, cached, shuffled and augmented as base codes (one byte per base, whatever
the file's layout: `dataset.XReader`), so the in-memory cache and the buffer hold a quarter of
the one-hot bytes; `iterate` expands each batch to one-hot as it is yielded, `iterate_codes`
leaves that to the consumer (the trainer's tf.data pipeline).
No TensorFlow here: the trainer wraps these numpy batches.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .dataset import XReader, dataset_tasks, open_dataset
from .errors import InputError
from .genome import N_CODE, codes_to_one_hot, reverse_complement_codes


def shift_windows(x: np.ndarray, shifts: np.ndarray) -> np.ndarray:
    """Windows, one-hot (B, L, 4) or base codes (B, L), moved by `shifts` bases each (positive:
    towards the 3' end, the sequence read from `shift` bases upstream); the bases moved in are N
    (all-zero rows, code 4), as in Basenji's stochastic shift. A copy; x itself is untouched."""
    return crop_shifted(x, 0, shifts)


def crop_shifted(x: np.ndarray, flank: int, shifts: np.ndarray) -> np.ndarray:
    """Windows of length L cut from rows read `flank` bases wider on both sides (base codes
    (B, L + 2 flank) or one-hot (B, L + 2 flank, 4)), each moved by `shifts` bases in the
    sense of `shift_windows` (positive: the window's bases read from `shift` bases upstream).
    Within the flank the bases moved in are the genome's; beyond it, N. With flank 0 this is
    `shift_windows`."""
    shifts = np.asarray(shifts, dtype=np.int64)
    length = x.shape[1] - 2 * flank
    beyond = int(max(0, np.abs(shifts).max(initial=0) - flank))
    if beyond:  # shifts past the flank: pad with N so every crop lies inside
        pad = [(0, 0), (beyond, beyond)] + [(0, 0)] * (x.ndim - 2)
        x = np.pad(x, pad, constant_values=0 if x.ndim == 3 else N_CODE)
        flank += beyond
    # every crop of each row as a view (B, 2 flank + 1, L[, 4]); one gather picks each row's
    views = np.lib.stride_tricks.sliding_window_view(x, length, axis=1)
    if x.ndim == 3:
        views = np.moveaxis(views, -1, -2)
    return views[np.arange(x.shape[0]), flank - shifts]


@dataclass
class BatchConfig:
    """How `HDF5Batches` reads a split: batch size, block shuffling, the in-memory limit, augmentation."""

    batch_size: int = 64
    shuffle: bool = True
    block_rows: int = 256
    buffer_blocks: int = 32
    in_memory_bytes: int = 2 << 30
    reverse_complement: bool = False  # augmentation: each sample flipped with probability 1/2
    shift: int = 0  # augmentation: each sample moved by a uniform -shift..+shift bases (genome flanks, then N)
    seed: int = 0
    drop_remainder: bool = False


class HDF5Batches:
    """Iterate (x uint8 one-hot (B, L, 4), y float32 (B, T)) batches of one split file.

    `tasks`: the label columns to yield, by name and in that order (default: all, in the
    file's order). `fraction` < 1 keeps a random subset of the rows (seeded by
    `config.seed`, the same subset every epoch and on resume), in file order.
    """

    def __init__(self, path, config: BatchConfig, rows: slice | None = None, tasks: list[str] | None = None,
                 fraction: float = 1.0):  # fmt: skip
        self.path = str(path)
        self.config = config
        self._file = open_dataset(path)
        self.file_tasks = dataset_tasks(self._file)
        if tasks is None:
            self._columns = None
            self.tasks = list(self.file_tasks)
        else:
            missing = [t for t in tasks if t not in self.file_tasks]
            if missing:
                self._file.close()
                raise InputError(path, f"has no task(s) {missing} (its tasks: {self.file_tasks})")
            self.tasks = [str(t) for t in tasks]
            self._columns = [self.file_tasks.index(t) for t in self.tasks]
            if self._columns == list(range(len(self.file_tasks))):
                self._columns = None
        self.window_length = int(self._file.attrs["window_length"])
        self._x = XReader(self._file)
        # the flanks are kept (read, cached) only where a shift will crop into them
        self.flank = self._x.flank if config.shift else 0
        n = self._x.shape[0]
        self.lo, self.hi = (0, n) if rows is None else (rows.start or 0, min(rows.stop or n, n))
        if not 0 < fraction <= 1:
            self._file.close()
            raise ValueError(f"fraction must be in (0, 1]; got {fraction}")
        self._index = None  # file rows (absolute) of the kept subset, sorted
        if fraction < 1:
            total = self.hi - self.lo
            keep = max(1, int(round(total * fraction)))
            rng = np.random.default_rng([config.seed, 104729])
            self._index = self.lo + np.sort(rng.choice(total, size=keep, replace=False))
        self.n = self.hi - self.lo if self._index is None else len(self._index)
        row_bytes = self.window_length + 2 * self.flank + len(self.tasks) * 4  # base codes and float32 labels
        self._cache = None
        if self.n * row_bytes <= config.in_memory_bytes:
            parts = [self._read_file(lo, min(lo + 65536, self.n)) for lo in range(0, self.n, 65536)]
            if parts:
                self._cache = (np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts]))
            else:
                self._cache = (np.zeros((0, self.window_length + 2 * self.flank), np.uint8), np.zeros((0, len(self.tasks)), np.float32))

    def close(self):
        self._file.close()

    def __len__(self) -> int:
        """Batches per epoch."""
        b = self.config.batch_size
        return self.n // b if self.config.drop_remainder else -(-self.n // b)

    @property
    def in_memory(self) -> bool:
        return self._cache is not None

    def _read(self, lo: int, hi: int):
        if self._cache is not None:
            return self._cache[0][lo:hi], self._cache[1][lo:hi]
        return self._read_file(lo, hi)

    def _read_file(self, lo: int, hi: int):
        """Rows lo:hi of the kept rows (x base codes (n, L + 2 flank), y float32 of the selected tasks)."""
        full = bool(self.flank)

        def codes(sel):
            return self._x.codes(sel, full=full)

        if self._index is None:
            x = codes(slice(self.lo + lo, self.lo + hi))
            y = self._file["y"][self.lo + lo : self.lo + hi]
        else:
            rows = self._index[lo:hi]
            if len(rows) == 0:
                x, y = codes(slice(0, 0)), self._file["y"][0:0]
            elif rows[-1] - rows[0] + 1 <= 8 * len(rows):  # dense enough: one contiguous read, then pick
                a, b = int(rows[0]), int(rows[-1]) + 1
                x, y = codes(slice(a, b))[rows - a], self._file["y"][a:b][rows - a]
            else:  # sparse: h5py point selection (sorted, unique)
                x, y = codes(rows), self._file["y"][rows]
        y = y.astype(np.float32)
        if self._columns is not None:
            y = y[:, self._columns]
        return x, y

    def _row_groups(self, rng):
        """Lists of row ranges whose rows are shuffled together (one group per buffer)."""
        if not self.config.shuffle:
            step = self.config.block_rows * self.config.buffer_blocks
            return [[(lo, min(lo + step, self.n))] for lo in range(0, self.n, step)]
        block = self.config.block_rows
        starts = rng.permutation(np.arange(0, self.n, block))
        ranges = [(int(s), int(min(s + block, self.n))) for s in starts]
        k = self.config.buffer_blocks
        return [ranges[i : i + k] for i in range(0, len(ranges), k)]

    def iterate(self, epoch: int = 0):
        """The batches of one epoch, x one-hot (B, L, 4) uint8; their order depends only on (seed, epoch)."""
        for codes, y in self.iterate_codes(epoch):
            yield codes_to_one_hot(codes), y

    def iterate_codes(self, epoch: int = 0):
        """The same batches with x as base codes (B, L) uint8 (the trainer's tf.data pipeline
        expands them to one-hot with `tf.one_hot`, code 4 -> the all-zero row)."""
        cfg = self.config
        rng = np.random.default_rng([cfg.seed, epoch])
        if self._cache is not None and cfg.shuffle:  # exact row shuffle, gathered per batch
            order = rng.permutation(self.n)
            for lo in range(0, len(self) * cfg.batch_size, cfg.batch_size):
                idx = np.sort(order[lo : lo + cfg.batch_size])
                yield self._augment(self._cache[0][idx], rng), self._cache[1][idx]
            return
        carry_x = carry_y = None
        for group in self._row_groups(rng):
            parts = [self._read(lo, hi) for lo, hi in group]
            x = np.concatenate([p[0] for p in parts]) if len(parts) > 1 else parts[0][0]
            y = np.concatenate([p[1] for p in parts]) if len(parts) > 1 else parts[0][1]
            if cfg.shuffle:
                order = rng.permutation(len(x))
                x, y = x[order], y[order]
            if carry_x is not None:  # keep batches full across buffer boundaries
                x, y = np.concatenate([carry_x, x]), np.concatenate([carry_y, y])
            full = len(x) // cfg.batch_size * cfg.batch_size
            for lo in range(0, full, cfg.batch_size):
                yield self._augment(x[lo : lo + cfg.batch_size], rng), y[lo : lo + cfg.batch_size]
            carry_x, carry_y = x[full:], y[full:]
        if carry_x is not None and len(carry_x) and not cfg.drop_remainder:
            yield self._augment(carry_x, rng), carry_y

    def _augment(self, x, rng):
        """Base codes (B, L), shifted (cropped from the flanks) and reverse-complemented as
        configured (a copy when changed)."""
        if self.config.shift:
            x = crop_shifted(x, self.flank, rng.integers(-self.config.shift, self.config.shift + 1, len(x)))
        if self.config.reverse_complement:
            flip = rng.random(len(x)) < 0.5
            if flip.any():
                x = x.copy()
                x[flip] = reverse_complement_codes(x[flip])
        return x

    def label_counts(self, block: int = 65536) -> tuple[np.ndarray, np.ndarray]:
        """Positives and observed (non-NaN) labels per task, streamed."""
        pos = np.zeros(len(self.tasks))
        seen = np.zeros(len(self.tasks))
        for lo in range(0, self.n, block):
            y = self._read(lo, min(lo + block, self.n))[1]
            observed = ~np.isnan(y)
            pos += np.where(observed, y, 0).sum(axis=0)
            seen += observed.sum(axis=0)
        return pos, seen
