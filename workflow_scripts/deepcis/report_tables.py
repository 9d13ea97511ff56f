"""Run summary and provenance for the Snakemake report: per-model scores, training time and device,
the best model per task, the data summary, and the run's config, versions and input checksums.

Everything here reads files that earlier stages wrote (metrics TSVs, model.json, benchmark TSVs,
stats.tsv) and writes self-contained HTML (inline styles, no scripts, no network), so the tables
render the same inside the report, in a browser, or in a notebook.
"""

from __future__ import annotations

import html
import json
import platform
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from .errors import InputError
from .io_utils import atomic_path, package_versions, sha256_file
from .splits import SPLITS
from .variants import top_effects

# Score columns of a metrics TSV, with the label shown and whether higher is better.
SCORES = {"auroc": "AUROC", "auprc": "AUPRC", "pearson": "Pearson r", "spearman": "Spearman ρ"}
STYLE = """
.deepcis-table{border-collapse:collapse;font:12px/1.35 system-ui,-apple-system,"Segoe UI",sans-serif;margin:0 0 1.2em 0}
.deepcis-table caption{caption-side:top;text-align:left;font-weight:600;padding:0 0 .4em 0}
.deepcis-table th,.deepcis-table td{border-bottom:1px solid #d8dde3;padding:3px 8px;text-align:right;white-space:nowrap}
.deepcis-table th:first-child,.deepcis-table td:first-child{text-align:left}
.deepcis-table thead th{border-bottom:2px solid #8a96a3;background:#f3f5f7}
.deepcis-table td.best{background:#d6f5df;font-weight:700}
.deepcis-note{font:12px/1.4 system-ui,sans-serif;color:#4a5560;margin:.2em 0 1em 0;max-width:60em}
"""
PACKAGES = ("snakemake", "tensorflow-cpu", "tensorflow", "keras", "numpy", "pandas", "h5py", "scikit-learn",
            "pyfaidx", "pybedtools", "pysam", "matplotlib", "logomaker", "pyjaspar")  # fmt: skip


# --------------------------------------------------------------------------------------
# Inputs
# --------------------------------------------------------------------------------------


def read_metrics_table(path) -> pd.DataFrame:
    """Read a per-task metrics TSV; InputError if a score column is missing."""
    df = pd.read_csv(path, sep="\t", na_values=["NA"], keep_default_na=False, dtype={"task": str, "note": str})
    missing = {"task", "kind", *SCORES} - set(df.columns)
    if missing:
        raise InputError(path, f"not a metrics table: columns {sorted(missing)} missing")
    return df


def read_benchmark_seconds(path) -> float:
    """Wall-clock seconds of a job from its Snakemake benchmark TSV (the mean over repeats)."""
    df = pd.read_csv(path, sep="\t")
    if "s" not in df.columns or df.empty:
        raise InputError(path, "not a Snakemake benchmark file (no 's' column)")
    return float(df["s"].mean())


def describe_devices(info: dict) -> str:
    """'CPU', 'GPU (/device:GPU:0)', 'GPU x2 (/device:GPU:0, /device:GPU:1)' from model.json's devices."""
    devices = info.get("devices") or {}
    kind = devices.get("kind", "unknown")
    names = devices.get("devices") or []
    if len(names) > 1:
        return f"{kind} x{len(names)} ({', '.join(names)})"
    return f"{kind} ({names[0]})" if names and kind != "CPU" else kind


# --------------------------------------------------------------------------------------
# Tables
# --------------------------------------------------------------------------------------


def model_summary(metrics: dict, model_info: dict, baseline_seconds: dict | None = None) -> pd.DataFrame:
    """One row per model: median and mean of every score over tasks, tasks evaluated, training
    time (s), epochs and device. `metrics` maps model -> metrics DataFrame (one split);
    `model_info` maps trained models -> their model.json dict; `baseline_seconds` maps models
    without a model.json (the k-mer baseline) -> fit seconds from its benchmark."""
    baseline_seconds = baseline_seconds or {}
    rows = []
    for model, df in metrics.items():
        row = {"model": model, "tasks": len(df), "evaluated": int(df[list(SCORES)].notna().any(axis=1).sum())}
        for col in SCORES:
            values = df[col].astype(float).dropna()
            row[f"median_{col}"] = float(values.median()) if len(values) else np.nan
            row[f"mean_{col}"] = float(values.mean()) if len(values) else np.nan
        info = model_info.get(model)
        if info is not None:
            row["train_seconds"] = float(info.get("train_seconds", np.nan))
            row["epochs"] = f"{info.get('epochs_run', '?')} (best {info.get('best_epoch', '?')})"
            row["device"] = describe_devices(info)
        else:
            row["train_seconds"] = float(baseline_seconds.get(model, np.nan))
            row["epochs"] = "-"
            row["device"] = "CPU (scikit-learn)"
        rows.append(row)
    return pd.DataFrame(rows)


def per_task_scores(metrics: dict, score: str) -> pd.DataFrame:
    """Tasks x models table of one score: every task of any model (in order of first appearance;
    models trained on a subset of tasks have NaN for the others)."""
    tasks = list(dict.fromkeys(t for df in metrics.values() for t in df["task"]))
    table = pd.DataFrame(index=pd.Index(tasks, name="task"))
    for model, df in metrics.items():
        table[model] = df.set_index("task")[score].astype(float).reindex(tasks)
    return table


def best_models(table: pd.DataFrame) -> pd.Series:
    """Per row (task), the column (model) with the highest score; NaN-only rows give ''."""
    values = table.to_numpy(dtype=float)
    winners = []
    for row in values:
        ok = ~np.isnan(row)
        winners.append(str(table.columns[int(np.nanargmax(np.where(ok, row, -np.inf)))]) if ok.any() else "")
    return pd.Series(winners, index=table.index, dtype=object)


def scores_present(metrics: dict) -> list[str]:
    """The scores with at least one value in any model's table (AUROC/AUPRC for binary tasks,
    Pearson/Spearman for regression)."""
    return [s for s in SCORES if any(df[s].notna().any() for df in metrics.values())]


# --------------------------------------------------------------------------------------
# HTML
# --------------------------------------------------------------------------------------


def _fmt(value, digits=3) -> str:
    if isinstance(value, (float, np.floating)):
        return "NA" if np.isnan(value) else f"{value:.{digits}f}"
    return html.escape(str(value))


def _duration(seconds) -> str:
    if seconds is None or np.isnan(seconds):
        return "NA"
    seconds = float(seconds)
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.1f} h"


def html_table(header: list[str], rows: list[list], caption: str = "", best: set | None = None) -> str:
    """A table; `rows` hold already-formatted strings; cells at (row, col) in `best` are highlighted."""
    best = best or set()
    parts = ['<table class="deepcis-table">']
    if caption:
        parts.append(f"<caption>{html.escape(caption)}</caption>")
    parts.append("<thead><tr>" + "".join(f"<th>{html.escape(h)}</th>" for h in header) + "</tr></thead><tbody>")
    for i, row in enumerate(rows):
        cells = "".join(f'<td class="best">{c}</td>' if (i, j) in best else f"<td>{c}</td>" for j, c in enumerate(row))
        parts.append(f"<tr>{cells}</tr>")
    parts.append("</tbody></table>")
    return "\n".join(parts)


def document(title: str, body: str) -> str:
    """A complete HTML page (for the report's viewer) around `body`."""
    return (f'<!doctype html>\n<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>'
            f'<style>body{{margin:16px;font:13px system-ui,sans-serif}}h1{{font-size:18px}}h2{{font-size:15px}}{STYLE}</style>'
            f"</head><body>\n<h1>{html.escape(title)}</h1>\n{body}\n</body></html>\n")  # fmt: skip


def fragment(body: str) -> str:
    """`body` with the table style, for embedding into another page (the report's landing page)."""
    return f'<div class="deepcis-summary"><style>{STYLE}</style>\n{body}\n</div>\n'


SCAN_SCORES = ("auroc", "auprc")


def add_scan_columns(summary: pd.DataFrame, scan_metrics: dict) -> pd.DataFrame:
    """The summary with `scan_median_<score>` and `scan_mean_<score>` (AUROC, AUPRC) of the
    scanning evaluation (every bin of the split) per model; NaN for a model without one."""
    summary = summary.copy()
    for score in SCAN_SCORES:
        for stat in ("median", "mean"):
            summary[f"scan_{stat}_{score}"] = [
                float(getattr(scan_metrics[m][score].astype(float).dropna(), stat)()) if m in scan_metrics else np.nan
                for m in summary["model"]
            ]
    return summary


def _per_task_table(table: pd.DataFrame, caption: str) -> str:
    """HTML of a task x model score table, each task's best model highlighted."""
    winners = best_models(table)
    models = list(table.columns)
    rows, best = [], set()
    for i, task in enumerate(table.index):
        rows.append([html.escape(task), *(_fmt(table.loc[task, m]) for m in models)])
        if winners.loc[task]:
            best.add((i, 1 + models.index(winners.loc[task])))
    return html_table(["task", *models], rows, caption, best)


def summary_tables(summary: pd.DataFrame, metrics: dict, split: str, scan_metrics: dict | None = None) -> tuple[str, str]:
    """(compact, full) HTML: the compact one (per-model medians, best model per task) for the
    landing page; the full one adds means and the per-task scores of every model. With
    `scan_metrics` (model -> metrics of the scanning evaluation; `summary` then has the
    `add_scan_columns` columns) both show the scanning scores next to the windows-only ones."""
    scores = scores_present(metrics) or ["auroc", "auprc"]
    # per model; the compact table leaves Spearman to the full one (the landing page is narrow)
    compact_scores = [s for s in scores if s != "spearman"] or scores
    columns = [(f"median_{s}", f"median {SCORES[s]}") for s in compact_scores]
    if scan_metrics:
        columns += [(f"scan_median_{s}", f"median {SCORES[s]} (scanning)") for s in SCAN_SCORES]
    header = ["model", *(label for _, label in columns), "training", "device"]
    rows, best = [], set()
    for _, r in summary.reset_index(drop=True).iterrows():
        rows.append([html.escape(r["model"]), *(_fmt(r[c]) for c, _ in columns),
                     _duration(r["train_seconds"]), html.escape(r["device"])])  # fmt: skip
    for j, (c, _) in enumerate(columns, start=1):
        col = summary[c].astype(float).reset_index(drop=True)
        if col.notna().any():
            best.add((int(col.idxmax()), j))
    compact_models = html_table(header, rows, f"Models on the {split} split (median over tasks; best highlighted)", best)
    # best model per task
    tables = {s: per_task_scores(metrics, s) for s in scores}
    header = ["task", *(f"best by {SCORES[s]}" for s in compact_scores)]
    rows = []
    for task in tables[scores[0]].index:
        row = [html.escape(task)]
        for s in compact_scores:
            winner = best_models(tables[s]).loc[task]
            row.append(f"{html.escape(winner)} ({_fmt(tables[s].loc[task, winner])})" if winner else "NA")
        rows.append(row)
    compact_tasks = html_table(header, rows, "Best model per task")
    compact = compact_models + "\n" + compact_tasks

    # full: every summary column, then per-task scores with the best model of each task highlighted
    header = ["model", "tasks", "evaluated"]
    for s in scores:
        header += [f"median {SCORES[s]}", f"mean {SCORES[s]}"]
    header += ["training", "epochs (best)", "device"]
    rows, best = [], set()
    for _, r in summary.reset_index(drop=True).iterrows():
        row = [html.escape(r["model"]), str(r["tasks"]), str(r["evaluated"])]
        for s in scores:
            row += [_fmt(r[f"median_{s}"]), _fmt(r[f"mean_{s}"])]
        row += [_duration(r["train_seconds"]), html.escape(r["epochs"]), html.escape(r["device"])]
        rows.append(row)
    for j, col in enumerate(header):
        if col.startswith(("median ", "mean ")):
            name = f"{col.split()[0]}_{next(k for k, v in SCORES.items() if v == col.split(' ', 1)[1])}"
            values = summary[name].astype(float).reset_index(drop=True)
            if values.notna().any():
                best.add((int(values.idxmax()), j))
    full = [html_table(header, rows, f"Models on the {split} split (best highlighted)", best)]
    for s in scores:
        full.append(_per_task_table(tables[s], f"{SCORES[s]} per task ({split} split; best model highlighted)"))
    if scan_metrics:
        header = ["model", *(f"{stat} {SCORES[s]} (scanning)" for s in SCAN_SCORES for stat in ("median", "mean"))]
        rows = [[html.escape(r["model"]), *(_fmt(r[f"scan_{stat}_{s}"]) for s in SCAN_SCORES for stat in ("median", "mean"))]
                for _, r in summary.iterrows()]  # fmt: skip
        full.append(html_table(header, rows, f"Scanning evaluation: every bin of the {split} split"))
        for s in SCAN_SCORES:
            full.append(_per_task_table(per_task_scores(scan_metrics, s), f"{SCORES[s]} per task, scanning the {split} split"))
    return compact, "\n".join(full)


def write_run_summary(metrics_paths: dict, model_json_paths: dict, baseline_benchmarks: dict, split: str,
                      tsv_out, html_out, fragment_out, scan_metrics_paths: dict | None = None) -> pd.DataFrame:  # fmt: skip
    """Read every model's metrics table and model.json, write the summary TSV, the full HTML
    page and the compact HTML fragment. Returns the summary table. `scan_metrics_paths`: the
    scanning evaluation's metrics per model (adds its columns and tables)."""
    metrics = {m: read_metrics_table(p) for m, p in metrics_paths.items()}
    info = {m: json.loads(Path(p).read_text()) for m, p in model_json_paths.items()}
    seconds = {m: read_benchmark_seconds(p) for m, p in baseline_benchmarks.items()}
    summary = model_summary(metrics, info, seconds)
    scan_metrics = {m: read_metrics_table(p) for m, p in (scan_metrics_paths or {}).items()}
    if scan_metrics:
        summary = add_scan_columns(summary, scan_metrics)
    compact, full = summary_tables(summary, metrics, split, scan_metrics)
    with atomic_path(tsv_out) as tmp:
        summary.to_csv(tmp, sep="\t", index=False, na_rep="NA", float_format="%.6g")
    with atomic_path(html_out) as tmp:
        Path(tmp).write_text(document("deepcis run summary", full))
    with atomic_path(fragment_out) as tmp:
        Path(tmp).write_text(fragment(compact))
    return summary


# --------------------------------------------------------------------------------------
# Data summary (stats.tsv of the prepare stage)
# --------------------------------------------------------------------------------------


def read_stats(path) -> pd.DataFrame:
    """Read the prepare stage's stats table; InputError if it is not one."""
    df = pd.read_csv(path, sep="\t", dtype={"section": str, "split": str, "item": str})
    if list(df.columns[:4]) != ["section", "split", "item", "value"]:
        raise InputError(path, "not a prepare stats table (columns section, split, item, value expected)")
    return df


def data_summary_html(stats: pd.DataFrame) -> str:
    """Windows per split, positives per task and split, and the windows dropped by each filter."""
    parts = []
    windows = stats[stats["section"] == "windows"].pivot(index="split", columns="item", values="value")
    splits = [s for s in SPLITS if s in windows.index] + [
        s for s in windows.index if s not in SPLITS
    ]
    windows = windows.reindex(splits)
    cols = [c for c in ("all", "positive", "negative") if c in windows.columns]
    rows = [[html.escape(s), *(f"{int(windows.loc[s, c]):,}" for c in cols),
             f"{windows.loc[s, 'positive'] / windows.loc[s, 'all']:.1%}" if windows.loc[s, "all"] else "NA"]
            for s in splits]  # fmt: skip
    parts.append(html_table(["split", *(f"{c} windows" for c in cols), "positive fraction"], rows, "Windows per split"))
    pos = stats[stats["section"] == "positives"]
    if len(pos):
        tasks = list(dict.fromkeys(pos["item"]))
        table = pos.pivot(index="item", columns="split", values="value").reindex(tasks)
        rows = []
        for task in tasks:
            row = [html.escape(task)]
            for s in splits:
                n, total = table.loc[task, s], windows.loc[s, "all"]
                row.append(f"{int(n):,} ({n / total:.1%})" if total else "NA")
            rows.append(row)
        parts.append(html_table(["task", *splits], rows, "Positive windows per task (fraction of the split)"))
    clamped = stats[stats["section"] == "summits_clamped"]
    if len(clamped):
        rows = [[html.escape(r.item), f"{int(r.value):,}"] for r in clamped.itertuples()]
        parts.append(html_table(["peak file", "summits clamped"], rows,
                                "narrowPeak summits at offset = peak length, clamped to the peak's last base"))  # fmt: skip
    dropped = stats[stats["section"] == "tasks_dropped"]
    if len(dropped):
        rows = [[html.escape(r.item), html.escape(r.split), f"{int(r.value):,}"] for r in dropped.itertuples()]
        parts.append(html_table(["task", "split", "positive windows"], rows,
                                "Tasks dropped: fewer positive windows than prepare.min_positives"))  # fmt: skip
    scan = stats[stats["section"] == "scan"]
    if len(scan):
        table = scan.pivot(index="split", columns="item", values="value")
        items = list(dict.fromkeys(scan["item"]))
        rows = [[html.escape(s), *(f"{int(table.loc[s, i]):,}" for i in items)] for s in table.index]
        parts.append(html_table(["split", *items], rows, "Scanning evaluation sets: bins, filters, ambiguous bins, "
                                                         "windows scored"))  # fmt: skip
    drops = stats[stats["section"].isin(["drops", "input"])]
    if len(drops):
        rows = [[html.escape(r.section), html.escape(r.split), html.escape(r.item), f"{int(r.value):,}"]
                for r in drops.itertuples()]  # fmt: skip
        parts.append(html_table(["section", "windows", "filter / count", "value"], rows,
                                "Windows dropped by each filter, and input counts"))  # fmt: skip
    return "\n".join(parts)


def write_data_summary(stats_path, html_out, scan_stats_paths=()):
    """The data summary (windows, positives, drops per split; scanning sets from
    `scan_stats_paths`) as a self-contained HTML page."""
    stats = pd.concat([read_stats(p) for p in [stats_path, *scan_stats_paths]], ignore_index=True)
    with atomic_path(html_out) as tmp:
        Path(tmp).write_text(document("Data summary", data_summary_html(stats)))


# --------------------------------------------------------------------------------------
# Per-model metrics and top variant effects
# --------------------------------------------------------------------------------------


def metrics_html(model: str, split_paths: dict) -> str:
    """Per-task metrics of one model on each evaluated split."""
    parts = []
    for split, path in split_paths.items():
        df = read_metrics_table(path)
        scores = [s for s in SCORES if df[s].notna().any()] or ["auroc", "auprc"]
        cols = ["task", "kind", "n", "positives", *scores, "note"]
        cols = [c for c in cols if c in df.columns]
        rows = [[_fmt(v) if c in SCORES else ("" if pd.isna(v) else html.escape(str(v))) for c, v in zip(cols, r)]
                for r in df[cols].itertuples(index=False)]  # fmt: skip
        parts.append(html_table([SCORES.get(c, c) for c in cols], rows, f"{model}: {split} split"))
    return "\n".join(parts)


def write_metrics_html(model: str, split_paths: dict, html_out):
    """A model's per-task metrics of each split as a self-contained HTML page."""
    with atomic_path(html_out) as tmp:
        Path(tmp).write_text(document(f"Per-task metrics: {model}", metrics_html(model, split_paths)))


def top_effects_html(model: str, path, n: int) -> str:
    """HTML table of the `n` strongest variant effects of a model's effects table."""
    top = top_effects(path, n)
    cols = [c for c in ("chrom", "pos", "id", "ref", "alt", "task", "ref_prob", "alt_prob", "diff", "logit_diff",
                        "pvalue") if c in top.columns]  # fmt: skip
    rows = [[_fmt(v) if isinstance(v, float) else html.escape(str(v)) for v in r]
            for r in top[cols].itertuples(index=False)]  # fmt: skip
    return html_table(cols, rows, f"{model}: the {len(top)} variant alleles x tasks with the largest |diff|")


def write_top_effects_html(model: str, path, n: int, html_out):
    """The `n` strongest variant effects of a model as a self-contained HTML page."""
    with atomic_path(html_out) as tmp:
        Path(tmp).write_text(document(f"Top variant effects: {model}", top_effects_html(model, path, n)))


# --------------------------------------------------------------------------------------
# Provenance: config, versions, input checksums
# --------------------------------------------------------------------------------------


def run_info(config: dict, inputs: dict, model_json_paths: dict | None = None) -> dict:
    """The resolved config, this environment's package versions (and each trained model's, from
    its model.json), and the size and sha256 of every input file. `inputs` maps a role
    ('genome', 'peaks:CTCF', 'vcf', ...) to a path."""
    from . import __version__

    versions = {"python": platform.python_version(), "deepcis": __version__}
    # packages not installed here (tensorflow beside tensorflow-cpu, ...) are left out
    versions |= {name: v for name, v in package_versions(PACKAGES).items() if v is not None}
    files = {}
    for role, path in inputs.items():
        p = Path(path)
        if not p.is_file():
            raise InputError(path, f"input file ({role}) not found")
        files[role] = {"path": str(path), "bytes": p.stat().st_size, "sha256": sha256_file(p)}
    models = {}
    for model, path in (model_json_paths or {}).items():
        info = json.loads(Path(path).read_text())
        models[model] = {"versions": info.get("versions", {}), "devices": info.get("devices", {})}
    return {"config": config, "versions": versions, "inputs": files, "models": models,
            "platform": {"system": platform.platform(), "python_executable": sys.executable}}  # fmt: skip


def run_info_html(info: dict) -> str:
    """HTML of the run info: config, package versions and input checksums."""
    import yaml

    rows = [[html.escape(role), html.escape(f["path"]), f"{f['bytes']:,}", f"<code>{f['sha256']}</code>"]
            for role, f in info["inputs"].items()]  # fmt: skip
    parts = [html_table(["input", "path", "bytes", "sha256"], rows, "Input files")]
    rows = [[html.escape(k), html.escape(str(v))] for k, v in info["versions"].items()]
    parts.append(html_table(["package", "version"], rows, "Software versions (workflow environment)"))
    if info["models"]:
        names = sorted({k for m in info["models"].values() for k in m["versions"]})
        rows = [[html.escape(m), *(html.escape(str(v["versions"].get(k, ""))) for k in names),
                 html.escape(describe_devices(v))] for m, v in info["models"].items()]  # fmt: skip
        parts.append(html_table(["model", *names, "device"], rows, "Versions and device used by each training job"))
    parts.append(f'<p class="deepcis-note">Platform: {html.escape(info["platform"]["system"])}</p>')
    config = yaml.safe_dump(info["config"], sort_keys=False, default_flow_style=False)
    parts.append(f"<h2>Resolved config (schema defaults filled in)</h2>\n<pre>{html.escape(config)}</pre>")
    return "\n".join(parts)


def write_run_info(config: dict, inputs: dict, model_json_paths: dict, json_out, html_out) -> dict:
    """Run info (config, versions, input sha256, models) as JSON and as HTML; returns it."""
    info = run_info(config, inputs, model_json_paths)
    with atomic_path(json_out) as tmp:
        Path(tmp).write_text(json.dumps(info, indent=2, sort_keys=False, default=str) + "\n")
    with atomic_path(html_out) as tmp:
        Path(tmp).write_text(document("Run info: config, versions, input checksums", run_info_html(info)))
    return info


# --------------------------------------------------------------------------------------
# Input check
# --------------------------------------------------------------------------------------


def input_check_html(groups: dict) -> str:
    """Per input file (the input check's JSON, deepcis.input_check.to_json): records, contigs,
    contigs not in the genome and the records on them, notes."""
    rows, seen = [], set()
    for checks in groups.values():
        for c in checks:
            if (c["role"], c["path"]) in seen:
                continue
            seen.add((c["role"], c["path"]))
            missing = c.get("missing") or {}
            names = ", ".join(f"{html.escape(k)} ({v:,})" for k, v in list(missing.items())[:8])
            names += " ..." if len(missing) > 8 else ""
            rows.append([html.escape(c["role"]), html.escape(c["path"]), html.escape(c["kind"]), f"{c['records']:,}",
                         f"{c['contigs']:,}", f"{len(missing):,}", f"{sum(missing.values()):,}", names or "",
                         html.escape("; ".join(c.get("notes") or []))])  # fmt: skip
    header = ["role", "file", "kind", "records", "contigs", "contigs not in genome", "records on them", "which",
              "notes"]  # fmt: skip
    note = ('<p class="deepcis-note">Records on contigs the genome lacks are skipped (counted here); a near-match '
            "name or a mostly-missing file stops the run before any work. Records: sequences of a FASTA, 2bit or "
            "sequence table, intervals of a BED, contigs of a bigWig or fragments file, mapped reads of a BAM, "
            "records of a VCF.</p>")  # fmt: skip
    return html_table(header, rows, "Input files and their contigs against the genome") + note


def write_input_check(json_paths: list, html_out):
    """The input check's per-file counts (every check group) as a self-contained HTML page."""
    groups = {}
    for path in json_paths:
        groups |= json.loads(Path(path).read_text())
    with atomic_path(html_out) as tmp:
        Path(tmp).write_text(document("Input check", input_check_html(groups)))
