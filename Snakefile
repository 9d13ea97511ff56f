# deepcis: reference genome + peak files -> labelled windows -> one-hot HDF5 -> trained models.
# Layout and contracts: docs/architecture.md. Configuration reference: config/README.md.
from pathlib import Path

from snakemake.exceptions import WorkflowError
from snakemake.utils import min_version

from deepcis.config import load_config_file
from deepcis.errors import DeepcisError

min_version("9.0")


# The landing page of `snakemake --report report.html`: the run summary, then the categories.
report: "report/workflow.rst"


# The bundled example's config, unless the user names their own with --configfile (then
# only theirs is read: no keys leak in from the example).
if not workflow.overwrite_configfiles:
    # read once first: a YAML syntax error then names the file, line and column (Snakemake's own
    # reader does not; for a --configfile, `python -m deepcis.config my.yaml` does)
    try:
        if Path("config/config.yaml").is_file():
            load_config_file("config/config.yaml")
    except DeepcisError as error:
        raise WorkflowError(str(error))

    configfile: "config/config.yaml"


include: "rules/common.smk"
include: "rules/checks.smk"
include: "rules/remote.smk"
include: "rules/example.smk"
include: "rules/coverage.smk"
include: "rules/prepare.smk"
include: "rules/seqtable.smk"
include: "rules/encode.smk"
include: "rules/train.smk"
include: "rules/external.smk"
include: "rules/evaluate.smk"
include: "rules/score.smk"
include: "rules/cv.smk"
include: "rules/sweep.smk"
include: "rules/interpret.smk"
include: "rules/transfer.smk"
include: "rules/motifs.smk"
include: "rules/tracks.smk"
include: "rules/design.smk"
include: "rules/per_task.smk"
include: "rules/attention.smk"
include: "rules/generative.smk"
include: "rules/report.smk"


rule all:
    default_target: True
    input:
        final_outputs(),
