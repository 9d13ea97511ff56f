"""Rule check_inputs: every input file of one check group, before the long work (deepcis.input_check)."""

from deepcis.input_check import check_group, summary_lines, to_json
from deepcis.io_utils import write_json
from deepcis.jobs import start_job

log = start_job(snakemake)
spec = snakemake.params.spec
checks = check_group(spec, cache_dir=".snakemake/deepcis", fix_index=True)
for line in summary_lines({spec["group"]: checks}):
    log.info("%s", line)
write_json(to_json({spec["group"]: checks}), snakemake.output[0])
