"""Interval arithmetic through bedtools (pybedtools), on pandas frames with chrom/start/end.

Frames go to bedtools as temporary BED files in a per-job temp folder (see `bedtools_tempdir`)
so a killed job leaves nothing behind in the shared $TMPDIR.
"""

from __future__ import annotations

import contextlib
import shutil
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd


@contextlib.contextmanager
def bedtools_tempdir(parent=None):
    """Point pybedtools at a private temp folder and remove it afterwards."""
    import pybedtools

    folder = Path(tempfile.mkdtemp(prefix="deepcis-bedtools-", dir=parent))
    previous = pybedtools.helpers.get_tempdir()
    pybedtools.helpers.set_tempdir(str(folder))
    try:
        yield folder
    finally:
        pybedtools.helpers.cleanup(remove_all=False)
        pybedtools.helpers.set_tempdir(previous)
        shutil.rmtree(folder, ignore_errors=True)


def _to_bedtool(frame: pd.DataFrame, columns: list[str]):
    import pybedtools

    handle = tempfile.NamedTemporaryFile(
        "w", suffix=".bed", delete=False, dir=pybedtools.helpers.get_tempdir()
    )
    # Empty concatenations and NaN-free float columns must still reach bedtools as integers.
    frame = frame[columns].astype({"start": np.int64, "end": np.int64})
    with handle:
        frame.to_csv(handle, sep="\t", header=False, index=False)
    # registered like pybedtools' own temp files, so its cleanup (at exit too) removes it
    pybedtools.BedTool.TEMPFILES.append(handle.name)
    return pybedtools.BedTool(handle.name)


def _read(bedtool, names: list[str]) -> pd.DataFrame:
    if Path(bedtool.fn).stat().st_size == 0:
        return pd.DataFrame({name: pd.Series(dtype="int64") for name in names})
    return pd.read_csv(bedtool.fn, sep="\t", header=None, names=names, dtype={names[0]: object})


def _sorted(frame: pd.DataFrame, genome_order: dict[str, int]) -> pd.DataFrame:
    key = frame["chrom"].map(genome_order)
    return frame.assign(_key=key).sort_values(["_key", "start", "end"], kind="stable").drop(columns="_key")


def merge(frame: pd.DataFrame, genome_order: dict[str, int], distance: int = 0, collapse: str | None = None):
    """Bedtools merge -d distance; with `collapse`, the distinct values of that column (comma list)."""
    if frame.empty:
        return pd.DataFrame({"chrom": [], "start": [], "end": []} | ({collapse: []} if collapse else {}))
    columns = ["chrom", "start", "end"] + ([collapse] if collapse else [])
    bt = _to_bedtool(_sorted(frame, genome_order), columns)
    kwargs = {"d": distance}
    if collapse:
        kwargs.update(c=4, o="distinct")
    return _read(bt.merge(**kwargs), columns)


def overlap_bases(a: pd.DataFrame, b: pd.DataFrame, b_label: str) -> pd.DataFrame:
    """For each overlap of a row of `a` with a row of `b`: a's row index, b's label, bases.

    `a` rows are identified by their position (0..len(a)-1); both frames are passed as-is.
    """
    names = ["a_chrom", "a_start", "a_end", "a_row", "b_chrom", "b_start", "b_end", "label", "bases"]
    if a.empty or b.empty:
        return pd.DataFrame({"a_row": [], "label": [], "bases": []})
    a_bt = _to_bedtool(a.assign(_row=np.arange(len(a))), ["chrom", "start", "end", "_row"])
    b_bt = _to_bedtool(b, ["chrom", "start", "end", b_label])
    hits = _read(a_bt.intersect(b_bt, wo=True), names)
    return hits[["a_row", "label", "bases"]]


def overlaps_any(a: pd.DataFrame, b: pd.DataFrame) -> np.ndarray:
    """Boolean mask over rows of `a`: does the row overlap any interval of `b` (bedtools -u)."""
    mask = np.zeros(len(a), dtype=bool)
    if a.empty or b.empty:
        return mask
    a_bt = _to_bedtool(a.assign(_row=np.arange(len(a))), ["chrom", "start", "end", "_row"])
    b_bt = _to_bedtool(b, ["chrom", "start", "end"])
    hits = _read(a_bt.intersect(b_bt, u=True), ["chrom", "start", "end", "row"])
    mask[hits["row"].to_numpy(dtype=np.int64)] = True
    return mask
