"""Sequence design: in-silico evolution towards one task, and motif implantation experiments.

    result = evolve(model, seeds, task=2, contrast=[0, 1], rounds=10, beam_width=1)
    table = spacing_scan(model, backgrounds, motif_a, motif_b, spacings=[10, 20], orientations=["++", "+-"])

**Evolution** (greedy, or beam search over single-base substitutions; the approach of
gReLU's and CREsted's design tools and tangermeme's `greedy_substitution`): every round, every
single-base substitution of every sequence in the beam is predicted (forward and reverse
complement averaged), and the `beam_width` best distinct candidates by the objective go on
(greedy = width 1). The objective is

    objective(x) = f_task(x) - contrast_weight * mean_c f_c(x)   over the contrast tasks c

so a contrast keeps other tasks low. A sequence stops when no substitution raises the
objective (its later rounds repeat the value). Seeds: real windows (rows of an HDF5 split) or
random sequence with a chosen GC content. Outputs: the designed sequences, the objective per
round (trajectory), and every edit (round, position, old and new base).

**Implantation** (tangermeme's marginalisation and spacing analysis): a motif (its consensus,
or the reverse complement for orientation "-") is written into background sequences
(dinucleotide shuffles of real windows, so they keep the genome's composition without its
motifs), at the centre; a pair is written with its centres `spacing` bp apart around the
centre, in each orientation pair ("++", "+-", "-+", "--"). The effect of a construct is the
mean over backgrounds of f(with the motifs) - f(background), per task. Spacings at which the
two motifs would overlap are left out.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .errors import ConfigError

log = logging.getLogger("deepcis.design")

ORIENTATIONS = ("++", "+-", "-+", "--")


def check_design_tasks(design_cfg: dict, model_tasks: dict[str, list[str]]) -> None:
    """Refuse a design section whose model or tasks are unknown, naming the config key.
    `model_tasks`: {model: its tasks}, with `kmer_baseline` when it may check the designs."""
    if not design_cfg.get("enabled"):
        return
    model = design_cfg.get("model")
    if model not in model_tasks or model == "kmer_baseline":
        raise ConfigError(f"design.model: {model!r} is not a model of this config ({', '.join(model_tasks)})")
    tasks = model_tasks[model]
    task = design_cfg.get("task")
    if task not in tasks:
        raise ConfigError(f"design.task: {task!r} is not a task of model {model!r} (its tasks: {', '.join(tasks)})")
    for key in ("contrast_tasks",):
        unknown = [t for t in design_cfg.get(key) or [] if t not in tasks]
        if unknown:
            raise ConfigError(f"design.{key}: {unknown} not tasks of model {model!r} (its tasks: {', '.join(tasks)})")
    if task in (design_cfg.get("contrast_tasks") or []):
        raise ConfigError(f"design.contrast_tasks: the design task {task!r} cannot also be kept low")
    for check in design_cfg.get("check_models") or []:
        if check not in model_tasks:
            raise ConfigError(f"design.check_models: {check!r} is not a model of this config ({', '.join(model_tasks)})")
        if task not in model_tasks[check]:
            raise ConfigError(f"design.check_models: model {check!r} does not predict the design task {task!r} "
                              f"(its tasks: {', '.join(model_tasks[check])})")  # fmt: skip
    implant = design_cfg.get("implant") or {}
    for t in implant.get("tasks") or []:
        if t not in tasks:
            raise ConfigError(f"design.implant.tasks: {t!r} is not a task of model {model!r} (its tasks: {', '.join(tasks)})")


def objective(pred: np.ndarray, task: int, contrast=(), weight: float = 1.0) -> np.ndarray:
    """f_task - weight * mean of the contrast tasks, over the last axis of predictions."""
    pred = np.asarray(pred, np.float64)
    value = pred[..., task]
    if len(contrast):
        value = value - weight * pred[..., list(contrast)].mean(axis=-1)
    return value


def random_seeds(n: int, length: int, gc: float, seed: int) -> np.ndarray:
    """N random one-hot sequences (n, L, 4) uint8 with GC content `gc` per base."""
    if not 0 < gc < 1:
        raise ConfigError(f"design.gc: {gc} must be between 0 and 1")
    rng = np.random.default_rng([int(seed), 1])
    p = np.array([(1 - gc) / 2, gc / 2, gc / 2, (1 - gc) / 2])
    return np.eye(4, dtype=np.uint8)[rng.choice(4, size=(n, length), p=p)]


def window_seeds(dataset_path, n: int, task_column: int, seed: int) -> tuple[np.ndarray, pd.DataFrame]:
    """N windows of a dataset split labelled 0 for the task (random, seeded) and their coordinates."""
    from .dataset import XReader, decode_strings, open_dataset

    with open_dataset(dataset_path) as f:
        y = np.asarray(f["y"][:, task_column], np.float32)
        negative = np.flatnonzero(y == 0)
        pool = negative if len(negative) >= n else np.arange(len(y))
        rows = np.sort(np.random.default_rng([int(seed), 2]).choice(pool, size=min(n, len(pool)), replace=False))
        x = XReader(f)[rows]
        chrom = decode_strings(f["chrom"][rows])
        where = pd.DataFrame({"chrom": chrom, "start": f["start"][rows], "end": f["end"][rows]})
    return x, where


def _mutants(x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every single-base substitution of a one-hot window (at N: every base): (mutants, pos, base)."""
    from .ism import mutations

    pos, base = mutations(x)
    out = np.repeat(x[None], len(pos), axis=0)
    out[np.arange(len(pos)), pos, :] = 0
    out[np.arange(len(pos)), pos, base] = 1
    return out, pos, base


@dataclass
class Design:
    """The result of `evolve`."""

    initial: np.ndarray  # (N, L, 4) uint8
    designed: np.ndarray  # (N, L, 4) uint8
    trajectory: pd.DataFrame  # sequence, round, objective, task_prediction, contrast_prediction
    edits: pd.DataFrame  # sequence, round, position, from, to


def evolve(model, seeds: np.ndarray, task: int, contrast=(), weight: float = 1.0, rounds: int = 10,
           beam_width: int = 1, batch_size: int = 256, reverse_complement: bool = True) -> Design:  # fmt: skip
    """Greedy (beam_width 1) or beam search over single-base substitutions; see the module doc."""
    from .predict import predict_windows

    seeds = np.asarray(seeds, np.uint8)
    if rounds < 0 or beam_width < 1:
        raise ValueError(f"rounds ({rounds}) must be >= 0 and beam_width ({beam_width}) >= 1")

    def score(x):
        pred = predict_windows(model, x, batch_size, reverse_complement)
        return objective(pred, task, contrast, weight), pred

    group = max(1, 8192 // max(1, 3 * seeds.shape[1]))  # members whose mutants are scored together
    trajectory, edits = [], []
    start_obj, start_pred = score(seeds)
    # per sequence, its beam: members (sequence, objective, prediction row, edits so far)
    beams = [[(x, float(start_obj[n]), start_pred[n], [])] for n, x in enumerate(seeds)]
    trajectory += [_trajectory_row(n, 0, beam[0], task, contrast) for n, beam in enumerate(beams)]
    active = list(range(len(seeds)))
    for r in range(1, rounds + 1):
        # every single substitution of every member of every active beam, predicted in one pass
        members = [(n, m) for n in active for m in beams[n]]
        if not members:
            break
        parts, scores = [], []
        for lo in range(0, len(members), group):  # bounded memory: `group` members' mutants at a time
            chunk = [_mutants(m[0]) for _, m in members[lo:lo + group]]
            scores.append(score(np.concatenate([c[0] for c in chunk])))
            parts += [(None, c[1], c[2]) for c in chunk]
        obj = np.concatenate([s[0] for s in scores])
        pred = np.concatenate([s[1] for s in scores])
        candidates: dict[int, list] = {n: [] for n in active}
        at = 0
        for (n, (x, _, _, history)), (_, pos, base) in zip(members, parts):
            o = obj[at:at + len(pos)]
            for k in np.argsort(-o, kind="stable")[:beam_width]:
                old = int(np.argmax(x[pos[k]])) if x[pos[k]].any() else 4
                mutant = x.copy()
                mutant[pos[k]] = 0
                mutant[pos[k], base[k]] = 1
                candidates[n].append((mutant, float(o[k]), pred[at + k], history + [(r, int(pos[k]), old, int(base[k]))]))
            at += len(pos)
        for n in list(active):
            kept, seen = [], set()
            for c in sorted(candidates[n], key=lambda c: -c[1]):
                if c[0].tobytes() not in seen:
                    seen.add(c[0].tobytes())
                    kept.append(c)
                if len(kept) == beam_width:
                    break
            if kept[0][1] <= beams[n][0][1]:  # no substitution raises the objective: converged
                trajectory += [_trajectory_row(n, rr, beams[n][0], task, contrast) for rr in range(r, rounds + 1)]
                active.remove(n)
                continue
            beams[n] = kept
            trajectory.append(_trajectory_row(n, r, kept[0], task, contrast))
    for n, beam in enumerate(beams):
        edits += [(n, *e) for e in beam[0][3]]
    traj = pd.DataFrame(trajectory, columns=["sequence", "round", "objective", "task_prediction", "contrast_prediction"])
    traj = traj.sort_values(["sequence", "round"]).reset_index(drop=True)
    ed = pd.DataFrame(edits, columns=["sequence", "round", "position", "from", "to"])
    ed["from"] = ed["from"].map(lambda b: "ACGTN"[b])
    ed["to"] = ed["to"].map(lambda b: "ACGTN"[b])
    return Design(seeds, np.stack([beam[0][0] for beam in beams]), traj, ed)


def _trajectory_row(n, r, member, task, contrast):
    pred = member[2]
    return [n, r, member[1], float(pred[task]), float(np.mean(pred[list(contrast)])) if len(contrast) else np.nan]


# --------------------------------------------------------------------------------------
# Motif implantation
# --------------------------------------------------------------------------------------


def motif_codes(motif, strand: str = "+") -> np.ndarray:
    """Base codes of a motif's consensus (a deepcis.motifs.Motif) on a strand."""
    counts = np.asarray(motif.counts)
    codes = np.argmax(counts, axis=1)
    return codes if strand == "+" else (3 - codes)[::-1]


def implant(x: np.ndarray, codes: np.ndarray, centre: int) -> np.ndarray:
    """Copies of windows (N, L, 4) with the motif's bases written centred at `centre`."""
    out = np.array(x, copy=True)
    lo = centre - len(codes) // 2
    if lo < 0 or lo + len(codes) > out.shape[1]:
        raise ValueError(f"a {len(codes)} bp motif centred at {centre} does not fit a {out.shape[1]} bp window")
    out[:, lo:lo + len(codes), :] = 0
    out[:, np.arange(lo, lo + len(codes)), codes] = 1
    return out


def shuffled_backgrounds(x: np.ndarray, seed: int) -> np.ndarray:
    """One dinucleotide shuffle of each window (N, L, 4)."""
    from .attributions import dinucleotide_shuffle

    return np.stack([dinucleotide_shuffle(w, np.random.default_rng([int(seed), 3, i])) for i, w in enumerate(x)])


def spacing_scan(model, backgrounds: np.ndarray, motif_a, motif_b=None, spacings=(), orientations=ORIENTATIONS,
                 batch_size: int = 256, reverse_complement: bool = True, tasks: list[str] | None = None
                 ) -> pd.DataFrame:  # fmt: skip
    """Predicted effect of motif A alone, B alone and the pair A+B at each spacing and
    orientation, in background windows (N, L, 4). One row per construct and task."""
    from .predict import predict_windows

    backgrounds = np.asarray(backgrounds, np.uint8)
    length = backgrounds.shape[1]
    centre = length // 2
    base = predict_windows(model, backgrounds, batch_size, reverse_complement)
    tasks = tasks or [f"task{t}" for t in range(base.shape[1])]
    rows = []

    def record(construct, spacing, orientation, x):
        pred = predict_windows(model, x, batch_size, reverse_complement)
        effect = pred - base
        for t, name in enumerate(tasks):
            rows.append([construct, spacing, orientation, name, float(effect[:, t].mean()),
                         float(effect[:, t].std(ddof=1)) if len(effect) > 1 else 0.0, len(effect),
                         float(pred[:, t].mean()), float(base[:, t].mean())])  # fmt: skip

    singles = [("A", motif_a)] + ([("B", motif_b)] if motif_b is not None else [])
    for label, motif in singles:
        for strand in "+-":
            record(label, np.nan, strand, implant(backgrounds, motif_codes(motif, strand), centre))
    if motif_b is not None:
        la, lb = len(motif_codes(motif_a)), len(motif_codes(motif_b))
        for spacing in spacings:
            ca = centre - spacing // 2
            cb = ca + spacing
            a_lo, b_lo = ca - la // 2, cb - lb // 2
            if b_lo < a_lo + la or a_lo < 0 or b_lo + lb > length:
                log.info("spacing %d: motifs overlap or leave the window; skipped", spacing)
                continue
            for o in orientations:
                x = implant(backgrounds, motif_codes(motif_a, o[0]), ca)
                x = implant(x, motif_codes(motif_b, o[1]), cb)
                record("A+B", int(spacing), o, x)
    return pd.DataFrame(rows, columns=["construct", "spacing", "orientation", "task", "effect_mean", "effect_sd",
                                       "backgrounds", "prediction_mean", "background_mean"])  # fmt: skip


def motif_check(x: np.ndarray, motif, match_fraction: float = 0.75) -> pd.DataFrame:
    """Per sequence: the best log-odds score of the motif on either strand as a fraction of its
    best possible score, and whether it reaches `match_fraction` (the bundled example's match)."""
    from .motifs import best_match

    best = motif.max_score()
    rows = []
    for w in np.asarray(x):
        m = best_match(motif, w)
        rows.append([m.score / best, m.start, m.strand])
    table = pd.DataFrame(rows, columns=["motif_score_fraction", "motif_start", "motif_strand"])
    table["motif_match"] = table["motif_score_fraction"] >= match_fraction
    return table


# --------------------------------------------------------------------------------------
# The stage: files and figures
# --------------------------------------------------------------------------------------


def write_fasta(x: np.ndarray, names: list[str], path) -> None:
    """One-hot windows as FASTA (N for all-zero rows), 60 bases a line, written atomically."""
    from .genome import decode_one_hot
    from .io_utils import atomic_path

    with atomic_path(path) as tmp:
        with open(tmp, "w") as handle:
            for name, w in zip(names, x):
                seq = decode_one_hot(w)
                handle.write(f">{name}\n" + "".join(seq[i:i + 60] + "\n" for i in range(0, len(seq), 60)))


def check_predictor(path, task: str, batch_size: int = 256):
    """X (N, L, 4) -> the prediction of `task` by an independent model: a Keras model (both
    strands averaged) or the k-mer baseline (`model.npz`; canonical k-mers, strand-symmetric)."""
    from pathlib import Path

    from .predict import predict_windows, resolve_model_file

    if Path(path).suffix == ".npz":
        from .baseline import load_baseline

        baseline = load_baseline(path)
        column = baseline.tasks.index(task)
        return lambda x: baseline.predict_x(x)[:, column]
    from .keras_objects import load_model, model_metadata

    model = load_model(resolve_model_file(path))
    column = list(model_metadata(model)["tasks"]).index(task)
    return lambda x: predict_windows(model, x, batch_size, True)[:, column]


def design_sequences(model_path, cfg: dict, out: dict, dataset_path=None, check_models: dict | None = None,
                     motifs_file=None, seed: int = 0, batch_size: int = 256) -> pd.DataFrame:  # fmt: skip
    """The design rule: seeds, evolution, the check of the designs (independent models, the
    task's motif) and the files `out` names (fasta, trajectory, edits, check, figure)."""
    from .design_plots import trajectory_figure
    from .io_utils import atomic_path
    from .keras_objects import load_model, model_metadata
    from .predict import predict_windows, resolve_model_file

    model = load_model(resolve_model_file(model_path))
    meta = model_metadata(model)
    tasks, length = list(meta["tasks"]), int(meta["window_length"])
    task = tasks.index(cfg["task"])
    contrast = [tasks.index(t) for t in cfg.get("contrast_tasks") or []]
    if cfg["seeds"] == "windows":
        from .dataset import dataset_tasks, open_dataset

        with open_dataset(dataset_path) as f:
            column = dataset_tasks(f).index(cfg["task"])
        seeds, where = window_seeds(dataset_path, cfg["n_sequences"], column, seed)
        names = [f"design{i}_from_{r.chrom}:{r.start}-{r.end}" for i, r in enumerate(where.itertuples())]
    else:
        seeds = random_seeds(cfg["n_sequences"], length, cfg["gc"], seed)
        names = [f"design{i}_from_random" for i in range(len(seeds))]
    result = evolve(model, seeds, task, contrast, cfg["contrast_weight"], cfg["rounds"],
                    1 if cfg["method"] == "greedy" else cfg["beam_width"], batch_size)  # fmt: skip
    write_fasta(result.designed, names, out["fasta"])
    for frame, key in ((result.trajectory, "trajectory"), (result.edits, "edits")):
        with atomic_path(out[key]) as tmp:
            frame.to_csv(tmp, sep="\t", index=False, float_format="%.6g")
    checkers = {name: check_predictor(path, cfg["task"], batch_size) for name, path in (check_models or {}).items()}
    check = pd.DataFrame({"sequence": np.arange(len(seeds)), "name": names})
    for label, x in (("seed", result.initial), ("designed", result.designed)):
        pred = predict_windows(model, x, batch_size, True)
        check[f"{label}_{cfg['task']}"] = pred[:, task]
        for name, predictor in checkers.items():
            check[f"{label}_{cfg['task']}_{name}"] = predictor(x)
    if motifs_file and cfg.get("motif"):
        from .motifs import motifs_by_id, read_jaspar

        motifs = motifs_by_id(read_jaspar(motifs_file))
        if cfg["motif"] not in motifs:
            raise ConfigError(f"design.motif: {cfg['motif']!r} is not in {motifs_file} ({', '.join(motifs)})")
        for label, x in (("seed", result.initial), ("designed", result.designed)):
            found = motif_check(x, motifs[cfg["motif"]], cfg["match_fraction"])
            check[f"{label}_motif_score_fraction"] = found["motif_score_fraction"]
            check[f"{label}_motif_match"] = found["motif_match"]
    with atomic_path(out["check"]) as tmp:
        check.to_csv(tmp, sep="\t", index=False, float_format="%.6g")
    trajectory_figure(result.trajectory, result.edits, cfg["task"], out["figure"], check)
    return check


def implantation_experiment(model_path, cfg: dict, motifs_file, dataset_path, out_tsv, out_png, seed: int = 0,
                            batch_size: int = 256) -> pd.DataFrame:  # fmt: skip
    """The implantation rule: backgrounds from shuffled test windows, the spacing scan, a figure."""
    from .design_plots import spacing_figure
    from .io_utils import atomic_path
    from .keras_objects import load_model, model_metadata
    from .motifs import motifs_by_id, read_jaspar
    from .predict import resolve_model_file

    motifs = motifs_by_id(read_jaspar(motifs_file))
    for key in ("a", "b"):
        if cfg.get(key) is not None and cfg[key] not in motifs:
            raise ConfigError(f"design.implant.{key}: {cfg[key]!r} is not in {motifs_file} ({', '.join(motifs)})")
    model = load_model(resolve_model_file(model_path))
    tasks = list(model_metadata(model)["tasks"])
    from .dataset import XReader, open_dataset

    with open_dataset(dataset_path) as f:
        n = min(cfg["backgrounds"], XReader(f).shape[0])
        rows = np.sort(np.random.default_rng([int(seed), 4]).choice(XReader(f).shape[0], size=n, replace=False))
        real = XReader(f)[rows]
    backgrounds = shuffled_backgrounds(real, seed)
    table = spacing_scan(model, backgrounds, motifs[cfg["a"]], motifs[cfg["b"]] if cfg.get("b") else None,
                         cfg["spacings"], cfg["orientations"], batch_size, True, tasks)  # fmt: skip
    names = {"A": f"{motifs[cfg['a']].name} ({cfg['a']})"}
    if cfg.get("b"):
        names["B"] = f"{motifs[cfg['b']].name} ({cfg['b']})"
    table.insert(1, "motifs", table["construct"].map(lambda c: " + ".join(names[k] for k in c.split("+"))))
    with atomic_path(out_tsv) as tmp:
        table.to_csv(tmp, sep="\t", index=False, float_format="%.6g")
    spacing_figure(table, cfg.get("tasks") or tasks, names, out_png)
    return table
