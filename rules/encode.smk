CHUNKS = list(range(config["encode"]["chunks"]))
# What encoding reads from the config. Rule gather_split carries it (and the chunks' inputs)
# too: the chunks are temp() files, and Snakemake compares a job's params and inputs with its
# last run only while its outputs exist (rules/score.smk says the same of scoring).
ENCODE_SETTINGS = stable(
    {
        "window_length": config["prepare"]["window_length"],
        "label_mode": config["prepare"]["mode"],
        "block_rows": config["encode"]["block_rows"],
        "config_sha256": DATA_CONFIG_SHA256,
        "label_dtype": LABEL_DTYPE,
        "x_encoding": config["encode"]["x_encoding"],
        # only when set, so that runs without flanks keep their params (and are not rerun)
        **({"flank": config["encode"]["flank"]} if config["encode"]["flank"] else {}),
    }
)


rule encode_chunk:
    input:
        genome=config["genome"],
        bed="results/prepare/windows/{split}.bed",
        labels="results/prepare/windows/{split}.labels.h5",
        genome_info="results/prepare/genome.json",
    output:
        temp("results/encode/chunks/{split}.{chunk}.h5"),
    log:
        "logs/encode/encode_chunk.{split}.{chunk}.log",
    benchmark:
        "benchmarks/encode/encode_chunk.{split}.{chunk}.tsv"
    wildcard_constraints:
        split="|".join([*SPLITS, *SCAN_SETS]),
        chunk=r"\d+",
    conda:
        "../envs/encode.yaml"
    resources:
        mem_mb=1000,
    params:
        settings=ENCODE_SETTINGS,
        n_chunks=len(CHUNKS),
    script:
        "../workflow_scripts/encode_chunk.py"


rule gather_split:
    input:
        chunks=expand("results/encode/chunks/{{split}}.{chunk}.h5", chunk=CHUNKS),
        # the chunks' own inputs and params (see ENCODE_SETTINGS)
        genome=config["genome"],
        bed="results/prepare/windows/{split}.bed",
        labels="results/prepare/windows/{split}.labels.h5",
    output:
        "results/encode/{split}.h5",
    log:
        "logs/encode/gather_split.{split}.log",
    benchmark:
        "benchmarks/encode/gather_split.{split}.tsv"
    wildcard_constraints:
        split="|".join([*SPLITS, *SCAN_SETS]),
    conda:
        "../envs/encode.yaml"
    resources:
        mem_mb=1000,
    params:
        settings=ENCODE_SETTINGS,
    script:
        "../workflow_scripts/gather_split.py"
