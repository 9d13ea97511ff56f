"""Hyperparameter sweeps: a model entry's `sweep` expanded into points (a grid, or a seeded
random sample), each trained as its own job; the point with the best validation metric becomes
the model (docs/sweeps.md).

Points are named after their values, Snakemake Paramspace style (`learning_rate~0.001_conv_filters~32`),
so a point keeps its name, folder and trained model when other values are added to the sweep.
Selection reads validation metrics only (`select_point` takes no test metrics); the sweep table
shows the winner's test metrics and no other point's. A point whose training diverges (NaN loss,
or a loss that stays far above its start) is recorded as failed (`record_divergence`) and skipped by the
selection instead of stopping the sweep.
"""

from __future__ import annotations

import copy
import itertools
import json
import math
import re

import numpy as np
import pandas as pd

from .errors import ConfigError, InputError

# Where a swept key lives in a model entry.
SECTIONS = ("train", "hyperparameters")
# Training keys a sweep may not vary: the head decides the kind of every metric.
FIXED_TRAIN_KEYS = ("head",)
# Metrics to select on: higher is better, except the validation loss.
METRICS = ("auroc", "auprc", "pearson", "spearman", "loss")
POINT_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.~+-]*")
MAX_NAME_LENGTH = 200
SIGNIFICANT_DIGITS = 3  # random draws from a range are rounded to this many significant digits
DIVERGED = "diverged"  # model.json's `status` of a point whose training diverged


def _where(name: str, key: str) -> str:
    return f"config key models.{name}.sweep.parameters.{key}"


def resolve_key(name: str, key: str, spec: dict, train_keys) -> tuple[str, str]:
    """(section, key) of a swept parameter: `train.<k>`, `hyperparameters.<k>`, or a bare `<k>`
    that is a training key or a hyperparameter of the architecture (not both)."""
    from .models import _spec

    hyper_keys = list(_spec(spec["architecture"]).params)
    known = {"train": list(train_keys), "hyperparameters": hyper_keys}
    section, dot, bare = key.partition(".")
    if dot and section in SECTIONS:
        if bare not in known[section]:
            raise ConfigError(f"{_where(name, key)}: {bare!r} is not a {section} key of {spec['architecture']!r} "
                              f"(its {section} keys: {', '.join(known[section])})")  # fmt: skip
        found = [section]
    else:
        found = [s for s in SECTIONS if key in known[s]]
        if not found:
            raise ConfigError(f"{_where(name, key)}: unknown key {key!r}: neither a training key ({', '.join(train_keys)}) "
                              f"nor a hyperparameter of {spec['architecture']!r} ({', '.join(hyper_keys)})")  # fmt: skip
        if len(found) > 1:
            raise ConfigError(f"{_where(name, key)}: {key!r} is both a training key and a hyperparameter; "
                              f"write train.{key} or hyperparameters.{key}")  # fmt: skip
        bare = key
    if found[0] == "train" and bare in FIXED_TRAIN_KEYS:
        raise ConfigError(f"{_where(name, key)}: train.{bare} cannot be swept (it decides which metrics the "
                          "points are compared on)")  # fmt: skip
    return found[0], bare


def _is_range(axis) -> bool:
    return isinstance(axis, dict)


def _check_axis(name: str, key: str, axis, random: int | None):
    """A list of distinct values, or (random sampling only) a range {min, max, log}."""
    where = _where(name, key)
    if isinstance(axis, list):
        if not axis:
            raise ConfigError(f"{where}: an empty list of values (give at least one)")
        seen = [json.dumps(v, sort_keys=True) for v in axis]
        if len(set(seen)) != len(seen):
            raise ConfigError(f"{where}: a value appears twice in {axis}")
        return
    if not _is_range(axis):
        raise ConfigError(f"{where}: a list of values or a range {{min: a, max: b, log: true|false}} is expected, "
                          f"not {axis!r}")  # fmt: skip
    unknown = sorted(set(axis) - {"min", "max", "log"})
    if unknown:
        raise ConfigError(f"{where}: unknown key(s) {unknown} of a range (its keys: min, max, log)")
    lo, hi = axis.get("min"), axis.get("max")
    if not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in (lo, hi)):
        raise ConfigError(f"{where}: a range needs numbers min and max (got min {lo!r}, max {hi!r})")
    if not lo < hi:
        raise ConfigError(f"{where}: an empty range: min {lo} is not below max {hi}")
    if axis.get("log") and lo <= 0:
        raise ConfigError(f"{where}: a log range needs min > 0 (got {lo})")
    if random is None:
        raise ConfigError(f"{where}: a range {{min, max}} is sampled, not a grid: set sweep.random: N (points drawn "
                          "at random), or list the values")  # fmt: skip


def grid_size(parameters: dict) -> int:
    """The number of points of the full grid (lists only)."""
    return math.prod(len(v) for v in parameters.values())


def _draw(axis, rng: np.random.Generator):
    """One value of a range: uniform (or log-uniform), integers when min and max are, else
    rounded to SIGNIFICANT_DIGITS significant digits (readable names, no spurious precision)."""
    lo, hi = axis["min"], axis["max"]
    value = math.exp(rng.uniform(math.log(lo), math.log(hi))) if axis.get("log") else rng.uniform(lo, hi)
    if isinstance(lo, int) and isinstance(hi, int):
        return int(min(hi, max(lo, round(value))))
    return float(f"{value:.{SIGNIFICANT_DIGITS}g}")


def sweep_points(parameters: dict, random: int | None, seed: int) -> list[dict]:
    """The points of a sweep, each {key: value} in the order of `parameters`: the whole grid
    (itertools.product order), or `random` points drawn with `seed` (lists: distinct grid
    points, in grid order; ranges: independent draws, distinct)."""
    keys = list(parameters)
    if random is None:
        return [dict(zip(keys, combo)) for combo in itertools.product(*parameters.values())]
    rng = np.random.default_rng(seed)
    if not any(_is_range(v) for v in parameters.values()):
        grid = list(itertools.product(*parameters.values()))
        picked = sorted(rng.choice(len(grid), size=random, replace=False).tolist())
        return [dict(zip(keys, grid[i])) for i in picked]
    points, names = [], set()
    for _ in range(100 * random):
        values = {k: (_draw(v, rng) if _is_range(v) else v[int(rng.integers(len(v)))]) for k, v in parameters.items()}
        name = point_name(values)
        if name not in names:
            names.add(name)
            points.append(values)
        if len(points) == random:
            return points
    raise ConfigError(f"sweep: only {len(points)} distinct points in {100 * random} draws; the ranges hold fewer "
                      f"than random: {random} points")  # fmt: skip


def _token(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, (list, tuple)):
        return "-".join(_token(v) for v in value)
    return str(value)


def point_name(values: dict) -> str:
    """`key~value` pairs joined by `_` (Snakemake Paramspace's pattern): the key without its
    section, floats in their shortest exact form, lists joined by `-`."""
    return "_".join(f"{key.rpartition('.')[2]}~{_token(value)}" for key, value in values.items())


def check_sweep(name: str, spec: dict, config: dict, given_hyperparameters: dict) -> dict:
    """Validate a model entry's `sweep` and expand it: {point name: {"values", "train",
    "hyperparameters"}} with each point's training settings and resolved hyperparameters.
    Refuses (ConfigError naming the key) unknown keys, empty lists and ranges, a grid or
    sample larger than max_points (with the count), and values a model cannot take."""
    from jsonschema import Draft202012Validator

    from .config import _load_schema
    from .errors import ModelConfigError
    from .models import resolve_hyperparameters

    sweep = spec["sweep"]
    if spec.get("external") or spec.get("transfer"):
        kind = "an external" if spec.get("external") else "a fine-tuned (transfer)"
        raise ConfigError(f"config key models.{name}.sweep: {kind} model cannot be swept (sweeps train a model "
                          "from scratch at each point)")  # fmt: skip
    parameters, random = sweep["parameters"], sweep["random"]
    train_schema = _load_schema("config.schema.yaml")["properties"]["train"]
    resolved = {}
    for key, axis in parameters.items():
        resolved[key] = resolve_key(name, key, spec, train_schema["properties"])
        _check_axis(name, key, axis, random)
    places = [f"{s}.{k}" for s, k in resolved.values()]
    twice = sorted({p for p in places if places.count(p) > 1})
    if twice:
        raise ConfigError(f"config key models.{name}.sweep.parameters: {twice} named twice")
    bare = [k for _, k in resolved.values()]
    if len(set(bare)) != len(bare):
        raise ConfigError(f"config key models.{name}.sweep.parameters: {sorted(set(k for k in bare if bare.count(k) > 1))} "
                          "is both a training key and a hyperparameter here; sweep one of them")  # fmt: skip
    has_range = any(_is_range(v) for v in parameters.values())
    count = random if random is not None else grid_size(parameters)
    if count > sweep["max_points"]:
        what = f"random: {random} points" if random is not None else f"the grid has {count} points (" + " x ".join(
            f"{len(v)} {k}" for k, v in parameters.items()) + ")"  # fmt: skip
        raise ConfigError(f"config key models.{name}.sweep: {what}, more than max_points {sweep['max_points']}; "
                          "raise max_points, or sample with random: N")  # fmt: skip
    if random is not None and not has_range and random > grid_size(parameters):
        raise ConfigError(f"config key models.{name}.sweep.random: {random} points drawn from a grid of only "
                          f"{grid_size(parameters)}")  # fmt: skip
    seed = config["seed"] if sweep["seed"] is None else sweep["seed"]
    window_length = config["prepare"]["window_length"]
    train_validator = Draft202012Validator({"type": "object", "properties": train_schema["properties"]})
    points = {}
    for values in sweep_points(parameters, random, seed):
        point = point_name(values)
        if not POINT_NAME.fullmatch(point) or len(point) > MAX_NAME_LENGTH:
            raise ConfigError(f"config key models.{name}.sweep.parameters: the point {values} makes the name {point!r}, "
                              f"which is not a folder name of letters, digits and _ . ~ + - up to {MAX_NAME_LENGTH} "
                              "characters")  # fmt: skip
        train, hyper = dict(spec["train"]), dict(given_hyperparameters)
        for (section, key), value in zip(resolved.values(), values.values()):
            (train if section == "train" else hyper)[key] = value
        for error in train_validator.iter_errors(train):
            raise ConfigError(f"config key models.{name}.sweep.parameters: point {point}: train."
                              f"{'.'.join(map(str, error.absolute_path))}: {error.message}")  # fmt: skip
        try:
            hyper = resolve_hyperparameters(spec["architecture"], window_length, 1, hyper)
        except ModelConfigError as error:
            raise ConfigError(f"config key models.{name}.sweep.parameters: point {point}: {error}") from None
        points[point] = {"values": values, "train": train, "hyperparameters": hyper}
    return points


def plan_sweeps(config: dict) -> dict[str, dict[str, dict]]:
    """{swept model: {point: the model spec of that point}} after `expand_per_task_models`
    (each member of a per_task entry is swept on its own task). A point's spec is the
    entry's with the point's training settings and hyperparameters, and no `sweep`."""
    plans = {}
    for name, spec in config["models"].items():
        sweep = spec.get("sweep")
        if not sweep:
            continue
        base = {k: v for k, v in spec.items() if k != "sweep"}
        plans[name] = {
            point: copy.deepcopy(base) | {"train": p["train"], "hyperparameters": p["hyperparameters"]}
            for point, p in sweep["points"].items()
        }
    return plans


# --------------------------------------------------------------------------------------
# Selection and the sweep table (no TensorFlow)
# --------------------------------------------------------------------------------------


def diverged(info: dict) -> bool:
    """Whether a point's model.json records a training that diverged."""
    return info.get("status") == DIVERGED


def record_divergence(smk, error: Exception) -> dict:
    """What a sweep point whose training diverged leaves: model.json with `status: diverged`
    and the error; the point's other outputs empty (0 bytes: Snakemake needs every output of a
    finished job; nothing reads them, as the selection skips the point); no resume state, so a
    forced rerun starts over. Returns model.json's record."""
    import shutil
    from pathlib import Path

    from .io_utils import write_json

    shutil.rmtree(smk.params.resume_dir, ignore_errors=True)
    info = {"name": smk.wildcards.model, "status": DIVERGED, "error": str(error),
            "learning_rate": smk.params.spec["train"].get("learning_rate")}  # fmt: skip
    for key in ("model", "history", "curves", "valid_predictions", "test_predictions", "valid_metrics", "test_metrics"):
        Path(getattr(smk.output, key)).write_bytes(b"")
    write_json(info, smk.output.info)
    return info


def train_point(smk, log) -> dict:
    """Rule sweep_train's work: train one point and (TensorFlow already loaded) predict the
    validation and test splits and write their metrics. A training that diverges is recorded
    (`record_divergence`), not raised. Returns model.json's record."""
    from .errors import TrainingDivergedError
    from .metrics import head_metrics, write_tsv
    from .predict import predict_dataset
    from .training import train_job

    try:
        info = train_job(smk)
    except TrainingDivergedError as error:
        log.warning("%s: recorded as diverged, skipped by the selection: %s", smk.output.info, error)
        return record_divergence(smk, error)
    log.info("best epoch %d of %d, val_loss %.5f", info["best_epoch"], info["epochs_run"], info["best_val_loss"])
    for split in ("valid", "test"):
        predictions = getattr(smk.output, f"{split}_predictions")
        predict_dataset(smk.output.model, getattr(smk.input, split), predictions, batch_size=smk.params.batch_size,
                        reverse_complement=smk.params.reverse_complement, threads=smk.threads)  # fmt: skip
        metrics = head_metrics(predictions, smk.params.head, smk.params.kinds)
        write_tsv(metrics, getattr(smk.output, f"{split}_metrics"))
        log.info("%s:\n%s", split, metrics.to_string())
    return info


def point_score(metrics: pd.DataFrame | None, info: dict, metric: str) -> float:
    """A point's validation score: the mean of `metric` over the tasks where it is defined, or
    (metric `loss`) the best validation loss of its training; NaN for a diverged point."""
    if diverged(info):
        return float("nan")
    if metric == "loss":
        return float(info["best_val_loss"])
    values = metrics[metric].astype(np.float64).dropna()
    return float(values.mean()) if len(values) else float("nan")


def select_point(valid_metrics: dict[str, pd.DataFrame], infos: dict[str, dict], metric: str) -> tuple[str, dict]:
    """The point with the best validation score (highest; lowest for `loss`); ties go to the
    first point in sweep order. Takes validation metrics only: the test split cannot sway it.
    Returns (winner, {point: score})."""
    if metric not in METRICS:
        raise ValueError(f"unknown sweep metric {metric!r} (one of {', '.join(METRICS)})")
    scores = {p: point_score(m, infos[p], metric) for p, m in valid_metrics.items()}
    defined = {p: s for p, s in scores.items() if np.isfinite(s)}
    if not defined and all(diverged(infos[p]) for p in scores):
        raise InputError(next(iter(valid_metrics), "sweep"), f"every point of the sweep diverged ({len(scores)}): "
                         "nothing to select; lower the swept learning rates (each point's model.json holds "
                         "its error)")  # fmt: skip
    if not defined:
        raise InputError(next(iter(valid_metrics), "sweep"), f"no point has a defined validation {metric}: nothing "
                         "to select on (are there positives and negatives in the validation split?)")  # fmt: skip
    sign = -1.0 if metric == "loss" else 1.0
    best = max(defined.values(), key=lambda s: sign * s)
    winner = next(p for p, s in defined.items() if s == best)
    return winner, scores


def _overall(metrics: pd.DataFrame | None) -> dict:
    if metrics is None:  # a diverged point
        return dict.fromkeys(("auroc", "auprc", "pearson", "spearman"), float("nan"))
    return {m: float(metrics[m].astype(np.float64).dropna().mean()) if metrics[m].notna().any() else float("nan")
            for m in ("auroc", "auprc", "pearson", "spearman")}  # fmt: skip


def sweep_table(values: dict[str, dict], valid_metrics: dict[str, pd.DataFrame], infos: dict[str, dict],
                selection: dict, winner_test: pd.DataFrame) -> pd.DataFrame:  # fmt: skip
    """One row per point: its values, the validation metrics (mean over tasks), the validation
    score selected on, best epoch and validation loss, training seconds, parameter count (of
    each point's model.json, `infos`), `status` (trained or diverged), `selected`; the test metrics (`test_<metric>`) in the
    winner's row only."""
    winner, scores = selection["winner"], selection["scores"]
    test = _overall(winner_test)
    rows = []
    for point, point_values in values.items():
        info = infos[point]
        row = {"point": point, **{k: _token(v) if isinstance(v, (list, tuple)) else v for k, v in point_values.items()}}
        row |= {f"valid_{m}": v for m, v in _overall(valid_metrics[point]).items()}
        row |= {"score": scores[point], "best_epoch": info.get("best_epoch"), "best_val_loss": info.get("best_val_loss"),
                "epochs_run": info.get("epochs_run"), "train_seconds": info.get("train_seconds"),
                "parameters": info.get("parameters"), "status": DIVERGED if diverged(info) else "trained",
                "selected": point == winner}  # fmt: skip
        row |= {f"test_{m}": (v if point == winner else float("nan")) for m, v in test.items()}
        rows.append(row)
    table = pd.DataFrame(rows)
    # metrics no task has (regression columns of a binary model) are left out
    empty = [c for c in table.columns if c.startswith(("valid_", "test_")) and table[c].isna().all()]
    return table.drop(columns=empty)


def sweep_figure(table: pd.DataFrame, keys: list[str], metric: str, path) -> None:
    """One panel per swept key: each point's validation score against the key's value (the
    winner circled), and the training time of each point."""
    from .figures import plt, save_png

    fig, axes = plt.subplots(1, len(keys) + 1, figsize=(3.2 * (len(keys) + 1), 3.0), squeeze=False)
    winner = table[table["selected"]]
    for ax, key in zip(axes[0], keys):
        column = table[key]
        numeric = pd.api.types.is_numeric_dtype(column) and not pd.api.types.is_bool_dtype(column)
        labels = list(dict.fromkeys(column.astype(str)))
        x = column.astype(np.float64) if numeric else column.astype(str).map(labels.index)
        ax.scatter(x, table["score"], s=22, color="C0", zorder=3)
        ax.scatter(x[winner.index], winner["score"], s=120, facecolors="none", edgecolors="C3", linewidths=2,
                   zorder=4, label="selected")  # fmt: skip
        if numeric and (column > 0).all() and column.max() / column.min() >= 10:
            ax.set_xscale("log")
        if not numeric:
            ax.set_xticks(range(len(labels)), labels, rotation=30, ha="right")
        ax.set_xlabel(key)
        ax.set_ylabel(f"validation {metric}")
    axes[0, 0].legend(fontsize=7)
    ax = axes[0, -1]
    order = np.arange(len(table))
    ax.bar(order, table["train_seconds"].astype(np.float64), color=["C3" if s else "C0" for s in table["selected"]])
    ax.set_xticks(order, [str(i + 1) for i in order])
    ax.set_xlabel("point (table order)")
    ax.set_ylabel("training seconds")
    fig.suptitle(f"Sweep: validation {metric} per point (selected in red); test metrics are not used")
    save_png(fig, path)


def sweep_html(model: str, table: pd.DataFrame, keys: list[str], selection: dict) -> str:
    """The report page of a sweep: the points table (winner highlighted) and what was chosen."""
    from .report_tables import _fmt, html_table

    metric_cols = [c for c in table.columns if c.startswith("valid_")]
    test_cols = [c for c in table.columns if c.startswith("test_")]
    header = ["point", *keys, *[c.replace("valid_", "valid ").upper() for c in metric_cols], "score", "best epoch",
              "train s", "parameters", "status", *[c.replace("test_", "test ").upper() for c in test_cols]]  # fmt: skip
    rows, best = [], set()
    for i, (_, r) in enumerate(table.iterrows()):
        rows.append([_fmt(r["point"]), *[_fmt(r[k]) for k in keys], *[_fmt(r[c]) for c in metric_cols], _fmt(r["score"], 4),
                     _fmt(r["best_epoch"]), _fmt(float(r["train_seconds"]), 1),
                     f"{int(r['parameters']):,}" if pd.notna(r["parameters"]) else "", r["status"],
                     *[_fmt(r[c]) if r["selected"] else "" for c in test_cols]])  # fmt: skip
        if r["selected"]:
            best |= {(i, j) for j in range(len(header))}
    caption = (f"{model}: {len(table)} points, selected by validation {selection['metric']} (mean over tasks): "
               f"{selection['winner']}. Test metrics are shown for the selected point only.")  # fmt: skip
    return html_table(header, rows, caption=caption, best=best)


def check_sweep_metric(name: str, spec: dict, task_kinds: dict) -> None:
    """Refuse a selection metric none of the model's tasks has (AUROC of a regression head...)."""
    metric = spec["sweep"]["metric"]
    if metric == "loss":
        return
    kinds = {"regression"} if spec["train"]["head"] != "sigmoid" else {task_kinds.get(t, "binary") for t in spec["tasks"]}
    wanted = "binary" if metric in ("auroc", "auprc") else "regression"
    if wanted not in kinds:
        raise ConfigError(f"config key models.{name}.sweep.metric: {metric!r} is a metric of {wanted} tasks, but "
                          f"{name!r} predicts only {', '.join(sorted(kinds))} tasks; choose "
                          f"{'pearson or spearman' if wanted == 'binary' else 'auroc or auprc'} (or loss)")  # fmt: skip


def selection_record(model: str, winner: str, scores: dict, values: dict, metric: str) -> dict:
    """What selection.json holds: the metric, the winner, its values and every point's score
    (NaN as null)."""
    return {"model": model, "metric": metric, "winner": winner, "values": values[winner],
            "scores": {p: (s if np.isfinite(s) else None) for p, s in scores.items()},
            "points": len(scores), "selected_on": "validation split only"}  # fmt: skip


def install_winner(model: str, winner: str, files: dict[str, str], outputs: dict[str, str], record: dict) -> None:
    """The chosen point's model, history and curves copied to results/models/<model>/ (each
    written atomically), its model.json with the sweep's record added."""
    import shutil

    from .io_utils import atomic_path, write_json

    for key in ("model", "history", "curves"):
        with atomic_path(outputs[key]) as tmp:
            shutil.copyfile(files[key], tmp)
    with open(files["info"]) as handle:
        info = json.load(handle)
    info["sweep"] = record | {"point_folder": str(files["model"]).rsplit("/", 1)[0]}
    write_json(info, outputs["info"])


def read_point_files(points: list[str], paths: list[str], what: str, skip=()) -> dict:
    """{point: the file's content} for point files given in the rule's point order: metrics
    tables (`what` "metrics") or JSON records; None for the points in `skip` (diverged: their
    files are empty)."""
    from .metrics import read_metrics

    if len(points) != len(paths):
        raise ValueError(f"{len(points)} points but {len(paths)} {what} files")
    if what == "metrics":
        return {p: None if p in skip else read_metrics(path) for p, path in zip(points, paths)}
    out = {}
    for p, path in zip(points, paths):
        with open(path) as handle:
            out[p] = json.load(handle)
    return out
