CHUNKS = list(range(config["encode"]["chunks"]))


rule encode_chunk:
    input:
        genome=config["genome"],
        bed="results/prepare/windows/{split}.bed",
        genome_info="results/prepare/genome.json",
    output:
        temp("results/encode/chunks/{split}.{chunk}.h5"),
    log:
        "logs/encode/encode_chunk.{split}.{chunk}.log",
    benchmark:
        "benchmarks/encode/encode_chunk.{split}.{chunk}.tsv"
    wildcard_constraints:
        split="|".join(SPLITS),
        chunk=r"\d+",
    conda:
        "../envs/encode.yaml"
    resources:
        mem_mb=1000,
    params:
        n_chunks=len(CHUNKS),
        window_length=config["prepare"]["window_length"],
        label_mode=config["prepare"]["mode"],
        block_rows=config["encode"]["block_rows"],
        config_sha256=CONFIG_SHA256,
        label_dtype=LABEL_DTYPE,
    script:
        "../workflow_scripts/encode_chunk.py"


rule gather_split:
    input:
        expand("results/encode/chunks/{{split}}.{chunk}.h5", chunk=CHUNKS),
    output:
        "results/encode/{split}.h5",
    log:
        "logs/encode/gather_split.{split}.log",
    benchmark:
        "benchmarks/encode/gather_split.{split}.tsv"
    wildcard_constraints:
        split="|".join(SPLITS),
    conda:
        "../envs/encode.yaml"
    resources:
        mem_mb=1000,
    script:
        "../workflow_scripts/gather_split.py"
