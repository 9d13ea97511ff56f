"""Fold ensembles (config `cv.ensemble`, docs/cross-validation.md): the mean of a model's K fold
models, for predictions on the outer test set, variant effects and genome tracks, each with the
spread across folds (ensemble ISM: deepcis.interpret.ensemble_ism).

Everything here reads the fold models' output files (predictions, effects tables, bigWigs): no
TensorFlow.
"""

from __future__ import annotations

import contextlib
from pathlib import Path

import numpy as np
import pandas as pd

from .effects import effects_tasks
from .errors import InputError
from .io_utils import atomic_path, open_gzip_text
from .metrics import task_metrics

#: effect columns averaged over folds (logit_diff is NA where a model has no sigmoid output)
MEAN_COLUMNS = ("ref_prob", "alt_prob", "logit_diff")
KEY_COLUMNS = ["chrom", "pos", "id", "ref", "alt", "ref_match", "task"]


def mean_predictions(paths: list, out_path) -> dict:
    """The ensemble's predictions file: the mean of the fold models' `y_pred` on the same windows
    (same tasks, coordinates and labels, checked), plus `y_pred_sd` (sd across folds, ddof 1).
    Returns a short summary."""
    from .predict import create_predictions, read_predictions, write_prediction_rows

    if len(paths) < 2:
        raise ValueError("an ensemble needs at least two members")
    members = [read_predictions(p) for p in paths]
    first = members[0]
    for path, member in zip(paths[1:], members[1:]):
        if member.tasks != first.tasks:
            raise InputError(path, f"tasks {member.tasks} differ from {paths[0]}'s {first.tasks}")
        if not member.coordinates.equals(first.coordinates):
            raise InputError(path, f"windows differ from {paths[0]}'s: the members did not predict the same dataset")
        if not np.array_equal(member.y_true, first.y_true, equal_nan=True):
            raise InputError(path, f"labels differ from {paths[0]}'s")
    stack = np.stack([m.y_pred for m in members])
    mean = stack.mean(axis=0)
    attrs = {k: v for k, v in first.attrs.items() if k not in ("n_windows", "deepcis_version")}
    attrs |= {"ensemble_members": len(members), "ensemble_of": ",".join(map(str, paths))}
    with create_predictions(out_path, len(first), first.tasks, attrs) as f:
        c = first.coordinates
        write_prediction_rows(f, 0, c["chrom"].to_numpy(), c["start"].to_numpy(), c["end"].to_numpy(), first.y_true, mean)
        f.create_dataset("y_pred_sd", data=stack.std(axis=0, ddof=1).astype(np.float32))
    return {"members": len(members), "windows": len(first), "tasks": len(first.tasks)}


def ensemble_comparison(member_paths: dict, ensemble_path, kinds=None) -> pd.DataFrame:
    """Test metrics of each member {name: predictions file}, of their mean (`mean_single`, the
    expected score of one fold model) and of the ensemble, per task and `overall` (the mean over
    tasks); `gain` rows: ensemble minus mean_single."""
    from .predict import read_predictions

    frames = {}
    for name, path in list(member_paths.items()) + [("ensemble", ensemble_path)]:
        p = read_predictions(path)
        frames[name] = task_metrics(p.y_true, p.y_pred, p.tasks, kinds).set_index("task")
    scores = ["auroc", "auprc", "pearson", "spearman"]
    rows = []
    for name, df in frames.items():
        for task, row in df.iterrows():
            rows.append({"member": name, "task": task} | {s: row[s] for s in scores})
    table = pd.DataFrame(rows)
    singles = table[table["member"].isin(list(member_paths))]
    mean_single = singles.groupby("task", sort=False)[scores].mean().reset_index().assign(member="mean_single")
    table = pd.concat([table, mean_single], ignore_index=True)
    ens = table[table["member"] == "ensemble"].set_index("task")[scores]
    gain = (ens - mean_single.set_index("task")[scores]).reset_index().assign(member="gain")
    table = pd.concat([table, gain], ignore_index=True)
    overall = table.groupby("member", sort=False)[scores].mean().reset_index().assign(task="overall")
    table = pd.concat([table, overall], ignore_index=True)
    return table[["member", "task", *scores]]


def ensemble_effects(paths: list, out_path, matrix_dtype: str = "float16") -> dict:
    """The ensemble's variant effects from the fold models' effects files (same alleles and
    tasks in the same order, checked): mean ref_prob, alt_prob and logit_diff; diff = alt - ref
    of the means, abs_diff its size; `diff_sd` the sd of the folds' diff (ddof 1), `diff_min`
    and `diff_max` their range. The folds' empirical p-values are not combined (no `pvalue`).

    The members are read in blocks of alleles (`deepcis.effects.iter_effects`: the long table
    or the matrix form), so memory does not grow with the VCF. `out_path` is one path or a list:
    each ``.h5`` is written in the matrix form (scores in `matrix_dtype`), any other as a long
    table."""
    from .effects import MatrixWriter, is_matrix, iter_effects, long_rows

    if len(paths) < 2:
        raise ValueError("an ensemble needs at least two members")
    outs = [out_path] if isinstance(out_path, (str, Path)) else list(out_path)
    readers = [iter_effects(p) for p in paths]
    scores = ["ref_prob", "alt_prob", "diff", "logit_diff", "diff_sd", "diff_min", "diff_max"]
    long_columns = ["ref_prob", "alt_prob", "diff", "abs_diff", "logit_diff", "diff_sd", "diff_min", "diff_max"]
    rows = max_sd = 0
    header = True
    with contextlib.ExitStack() as stack:
        writers = []
        for path in outs:
            if is_matrix(path):
                writers.append(None)
            else:
                tmp = stack.enter_context(atomic_path(path))
                writers.append(stack.enter_context(open_gzip_text(tmp)))  # no mtime in the header: same bytes on a rerun
        matrices, tasks = {}, None
        while True:
            blocks = [next(r, None) for r in readers]
            if all(b is None for b in blocks):
                break
            first = blocks[0]
            for path, block in zip(paths[1:], blocks[1:]):
                if (first is None) != (block is None) or (
                    block is not None
                    and (block.tasks != first.tasks or not block.variants.equals(first.variants))
                ):
                    raise InputError(path, f"alleles or tasks differ from {paths[0]}'s: the members did not "
                                     "score the same VCF")  # fmt: skip
            missing = [c for c in (*MEAN_COLUMNS, "diff") if c not in first.scores]
            if missing:
                raise InputError(paths[0], f"not an effects table: missing column(s) {missing}")
            tasks = first.tasks
            out = {c: np.mean([b.scores[c] for b in blocks], axis=0) for c in MEAN_COLUMNS}
            out["diff"] = out["alt_prob"] - out["ref_prob"]
            out["abs_diff"] = np.abs(out["diff"])
            diffs = np.stack([b.scores["diff"] for b in blocks])
            out["diff_sd"] = diffs.std(axis=0, ddof=1)
            out["diff_min"] = diffs.min(axis=0)
            out["diff_max"] = diffs.max(axis=0)
            rows += out["diff"].size
            if out["diff_sd"].size:
                max_sd = max(max_sd, float(np.nanmax(out["diff_sd"])))
            for path, handle in zip(outs, writers):
                if handle is None:
                    if path not in matrices:
                        matrices[path] = stack.enter_context(MatrixWriter(path, tasks, scores, matrix_dtype))
                    matrices[path].append({c: first.variants[c].to_numpy() for c in first.variants}, out)
                else:
                    frame = long_rows(type(first)(first.variants, tasks, out, first.start), long_columns)
                    frame.to_csv(handle, sep="\t", index=False, header=header, na_rep="NA", float_format="%.6g")
            header = False
        if header:  # no alleles: the long tables get their header, the matrices their tasks
            tasks = effects_tasks(paths[0])
            for path, handle in zip(outs, writers):
                if handle is None:
                    stack.enter_context(MatrixWriter(path, tasks, scores, matrix_dtype))
                else:
                    handle.write("\t".join([*KEY_COLUMNS, *long_columns]) + "\n")
    return {"members": len(paths), "rows": rows, "max_diff_sd": max_sd}


def sd_name(name: str) -> str:
    """The file of a track's spread across members: T1.bw -> T1.sd.bw."""
    return name.removesuffix(".bw") + ".sd.bw"


def _member_intervals(bw, chrom: str, lo: int, hi: int) -> np.ndarray:
    """(start, end, value) rows of the intervals of an open bigWig that start in [lo, hi)."""
    rows = bw.intervals(chrom, lo, hi) or ()
    table = np.array(rows, dtype=np.float64).reshape(-1, 3)
    return table[(table[:, 0] >= lo) & (table[:, 0] < hi)]


def mean_bigwigs(member_dirs: list, names: list[str], regions: pd.DataFrame, out_dir, chunk_bp: int = 1_000_000) -> list[str]:
    """Per bigWig name, the members' tracks (one folder each, the same intervals over `regions`,
    checked) averaged into out_dir/<name> and their sd across members (ddof 1) into
    out_dir/<sd_name(name)>. Regions are read `chunk_bp` at a time, so memory is bounded whatever
    their size; each output appears only when complete. Returns the files written."""
    import pyBigWig

    if len(member_dirs) < 2:
        raise ValueError("an ensemble needs at least two members")
    out_dir = Path(out_dir)
    written = []
    for name in names:
        paths = [Path(d) / name for d in member_dirs]
        sources = [pyBigWig.open(str(p)) for p in paths]
        try:
            header = list(sources[0].chroms().items())
            for path, bw in zip(paths[1:], sources[1:]):
                if list(bw.chroms().items()) != header:
                    raise InputError(path, f"chromosomes differ from {paths[0]}'s")
            with atomic_path(out_dir / name) as mean_tmp, atomic_path(out_dir / sd_name(name)) as sd_tmp:
                mean_bw, sd_bw = pyBigWig.open(str(mean_tmp), "w"), pyBigWig.open(str(sd_tmp), "w")
                try:
                    for out in (mean_bw, sd_bw):
                        out.addHeader(header, maxZooms=10)
                    for region in regions.itertuples():
                        for lo in range(int(region.start), int(region.end), chunk_bp):
                            hi = min(lo + chunk_bp, int(region.end))
                            tables = [_member_intervals(bw, region.chrom, lo, hi) for bw in sources]
                            for path, table in zip(paths[1:], tables[1:]):
                                if table.shape != tables[0].shape or not np.array_equal(table[:, :2], tables[0][:, :2]):
                                    raise InputError(path, f"intervals in {region.chrom}:{lo}-{hi} differ from "
                                                           f"{paths[0]}'s: the members did not tile the same regions")  # fmt: skip
                            if not len(tables[0]):
                                continue
                            values = np.stack([t[:, 2] for t in tables])
                            chroms = [region.chrom] * len(tables[0])
                            starts, ends = tables[0][:, 0].astype(np.int64).tolist(), tables[0][:, 1].astype(np.int64).tolist()
                            mean_bw.addEntries(chroms, starts, ends=ends, values=values.mean(axis=0).tolist())
                            sd_bw.addEntries(chroms, starts, ends=ends, values=values.std(axis=0, ddof=1).tolist())
                finally:
                    mean_bw.close()
                    sd_bw.close()
        finally:
            for bw in sources:
                bw.close()
        written += [name, sd_name(name)]
    return written
