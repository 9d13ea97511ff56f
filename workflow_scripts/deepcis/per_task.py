"""A per_task model entry (DeepBind's one model per task) evaluated as one: its members'
predictions side by side in one predictions file, and their training records together.

A config entry with `per_task: true` becomes one single-task model per task, named
<entry>__<task> (deepcis.config.expand_per_task_models), each trained, predicted, scored and
interpreted as its own job. For evaluation the entry appears once, as <entry>: its predictions
file has one column per member (the member's task) on the same windows, so the summary
table, the comparison figure and the run summary show one row per entry, as for a
multi-task model (docs/models.md).
"""

from __future__ import annotations

import json

import numpy as np

from .errors import InputError
from .io_utils import write_json


def merge_predictions(paths: list, out_path, entry: str) -> dict:
    """One predictions file from the members' (single- or multi-task) files of one split;
    the windows must be the same, in the same order."""
    from .predict import create_predictions, read_predictions, write_prediction_rows

    parts = [read_predictions(p) for p in paths]
    if not parts:
        raise InputError(out_path, f"per_task entry {entry!r} has no members")
    first = parts[0]
    for path, part in zip(paths[1:], parts[1:]):
        same = len(part) == len(first) and (part.coordinates.to_numpy() == first.coordinates.to_numpy()).all()
        if not same:
            raise InputError(path, f"its windows differ from those of {paths[0]}: members of {entry!r} must be "
                                   "predicted on the same split")  # fmt: skip
    tasks = [t for part in parts for t in part.tasks]
    if len(set(tasks)) != len(tasks):
        raise InputError(out_path, f"members of {entry!r} predict the same task twice: {tasks}")
    attrs = {k: v for k, v in first.attrs.items() if k in ("dataset", "split", "window_length", "genome_sha256",
                                                           "config_sha256", "reverse_complement")}  # fmt: skip
    attrs |= {"predictor": "per_task", "model": entry, "members": json.dumps([str(p) for p in paths])}
    with create_predictions(out_path, len(first), tasks, attrs) as out:
        write_prediction_rows(out, 0, first.coordinates["chrom"], first.coordinates["start"].to_numpy(),
                              first.coordinates["end"].to_numpy(), np.concatenate([p.y_true for p in parts], axis=1),
                              np.concatenate([p.y_pred for p in parts], axis=1))  # fmt: skip
    return {"windows": len(first), "tasks": tasks}


def merged_info(members: dict, out_path, entry: str) -> dict:
    """The training record of a per_task entry from its members' model.json files: total
    training seconds, epochs and best epochs per member, devices (the first member's)."""
    infos = {m: json.loads(open(p).read()) for m, p in members.items()}
    first = next(iter(infos.values()))
    info = {
        "name": entry, "architecture": first.get("architecture"), "per_task": True, "members": list(infos),
        "tasks": [t for i in infos.values() for t in i.get("tasks", [])],
        "train_seconds": float(sum(i.get("train_seconds", 0.0) for i in infos.values())),
        "epochs_run": "/".join(str(i.get("epochs_run", "?")) for i in infos.values()),
        "best_epoch": "/".join(str(i.get("best_epoch", "?")) for i in infos.values()),
        "devices": first.get("devices", {}), "versions": first.get("versions", {}),
    }  # fmt: skip
    write_json(info, out_path)
    return info
