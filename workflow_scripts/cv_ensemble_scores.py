"""Rule cv_ensemble_scores: score the VCF with each fold model of a model (one job, one
TensorFlow start), then the ensemble's effects: the mean over folds with the spread across folds
(diff_sd, diff_min, diff_max)."""

import tempfile
from pathlib import Path

from deepcis.ensemble import ensemble_effects
from deepcis.jobs import start_job
from deepcis.training import configure_runtime
from deepcis.variants import score_variants

log = start_job(snakemake)
cfg = snakemake.params.scoring
configure_runtime(snakemake.threads, cfg["seed"], deterministic=True)
outs = [Path(p) for p in snakemake.output]  # variants.format: effects.h5 and/or effects.tsv.gz
matrix = any(p.suffix == ".h5" for p in outs)  # the members in the matrix form when it is wanted (faster)
out = outs[0]
out.parent.mkdir(parents=True, exist_ok=True)
with tempfile.TemporaryDirectory(dir=out.parent, prefix=".cv_scores.") as tmp:
    members = []
    for model in snakemake.input.models:
        path = Path(tmp) / f"{len(members)}.{'h5' if matrix else 'tsv.gz'}"
        summary = score_variants(
            model,
            snakemake.input.genome,
            snakemake.input.vcf,
            None if matrix else path,
            None,
            batch_size=cfg["batch_size"],
            reverse_complement=cfg["reverse_complement"],
            ref_mismatch=cfg["ref_mismatch"],
            background=None,  # the folds' empirical p-values are not combined: no background to score
            seed=cfg["seed"],
            index=False,
            expected_tasks=snakemake.params.tasks,
            out_h5=path if matrix else None,
            matrix_dtype="float32",  # members are temporary: full precision for the mean and spread
        )
        log.info("%s: %s", model, summary)
        members.append(path)
    log.info("%s", ensemble_effects(members, outs, matrix_dtype=snakemake.params.matrix_dtype))
