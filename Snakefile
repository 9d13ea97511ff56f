# deepcis: reference genome + peak files -> labelled windows -> one-hot HDF5 -> trained models.
# Layout and contracts: docs/architecture.md. Configuration reference: config/README.md.
from snakemake.utils import min_version

min_version("9.0")


configfile: "config/config.yaml"


include: "rules/common.smk"
include: "rules/example.smk"
include: "rules/prepare.smk"
include: "rules/encode.smk"
include: "rules/train.smk"


rule all:
    default_target: True
    input:
        final_outputs(),
