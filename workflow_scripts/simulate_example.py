"""Rule simulate_example: write the bundled synthetic example (docs/example-data.md)."""

from pathlib import Path

from deepcis.jobs import start_job
from deepcis.simulate import simulate_example

smk = snakemake  # noqa: F821 - injected by Snakemake's script directive
log = start_job(smk)
out_dir = Path(smk.output.genome).parent
summary = simulate_example(out_dir, smk.input.motifs, seed=int(smk.params.seed))
missing = [str(p) for p in smk.output if not Path(p).is_file()]
if missing:
    raise RuntimeError(f"simulate_example did not write: {', '.join(missing)}")
log.info("example written to %s: %s", out_dir, summary["peaks"])
