# Prepare is scattered over groups of chromosomes (deepcis.prepare_chunks): each
# prepare_chunk job labels and filters its chromosomes' positives; prepare_windows gathers
# them (negatives, splits, stats, the windows files), equal to one job over the genome.
# prepare.chunks 1 (the default): no chunk job, prepare_windows builds its one chunk itself.
_n_prepare_chunks = (
    min(config["prepare"]["chunks"], len(config["chromosomes"]))
    if config["chromosomes"]
    else config["prepare"]["chunks"]
)
PREPARE_CHUNKS = list(range(_n_prepare_chunks)) if _n_prepare_chunks > 1 else []


rule prepare_chunk:
    input:
        genome=config["genome"],
        peaks=list(TASK_PEAKS.values()),
        blacklist=blacklist_input(),
        check=check_gate("data"),
    output:
        temp("results/prepare/chunks/{chunk}.h5"),
    log:
        "logs/prepare/prepare_chunk.{chunk}.log",
    benchmark:
        "benchmarks/prepare/prepare_chunk.{chunk}.tsv"
    wildcard_constraints:
        chunk=r"\d+",
    conda:
        "../envs/prepare.yaml"
    resources:
        mem_mb=4000,
    params:
        tasks=TASK_PEAKS,
        prepare=PREPARE_SETTINGS,
        split=stable(config["split"]),
        seed=config["seed"],
        chromosomes=config["chromosomes"],
        regions=config["regions"],
        n_chunks=len(PREPARE_CHUNKS),
    script:
        "../workflow_scripts/prepare_chunk.py"


rule prepare_windows:
    input:
        chunks=expand("results/prepare/chunks/{chunk}.h5", chunk=PREPARE_CHUNKS),
        genome=config["genome"],
        peaks=list(TASK_PEAKS.values()),
        task_files=TASK_FILES,
        blacklist=blacklist_input(),
        check=check_gate("data"),
    output:
        beds=expand("results/prepare/windows/{split}.bed", split=SPLITS),
        # each BED's labels (deepcis.windows_file; docs/architecture.md)
        labels=expand("results/prepare/windows/{split}.labels.h5", split=SPLITS),
        stats="results/prepare/stats.tsv",
        plot=report(
            "results/prepare/class_balance.png",
            category="1. Data",
            caption="../report/class_balance.rst",
        ),
        genome_info="results/prepare/genome.json",
    log:
        "logs/prepare/prepare_windows.log",
    benchmark:
        "benchmarks/prepare/prepare_windows.tsv"
    conda:
        "../envs/prepare.yaml"
    resources:
        mem_mb=4000,
    params:
        tasks=TASK_PEAKS,
        # the columns prepare reads (not the descriptive ones, nor the training's loss/weight)
        task_rows=stable(
            [
                {
                    k: v
                    for k, v in t.items()
                    if k not in ("cell_type", "assay", "loss", "weight")
                }
                for t in TASKS
            ]
        ),
        prepare=PREPARE_SETTINGS,
        split=stable(config["split"]),
        seed=config["seed"],
        chromosomes=config["chromosomes"],
        regions=config["regions"],
    script:
        "../workflow_scripts/prepare_windows.py"


rule prepare_scan:
    input:
        genome=config["genome"],
        peaks=list(TASK_PEAKS.values()),
        blacklist=blacklist_input(),
        # the split's prepared windows: their labels name the tasks prepare kept
        windows="results/prepare/windows/{split}.bed",
        labels="results/prepare/windows/{split}.labels.h5",
    output:
        bed="results/prepare/windows/{split}_scan.bed",
        labels="results/prepare/windows/{split}_scan.labels.h5",
        stats="results/prepare/scan/{split}.stats.tsv",
    log:
        "logs/prepare/prepare_scan.{split}.log",
    benchmark:
        "benchmarks/prepare/prepare_scan.{split}.tsv"
    wildcard_constraints:
        split="valid|test",
    conda:
        "../envs/prepare.yaml"
    resources:
        mem_mb=2000,
    params:
        tasks=TASK_PEAKS,
        prepare=config["prepare"],
        split=config["split"],
        seed=config["seed"],
        chromosomes=config["chromosomes"],
        regions=config["regions"],
        block_bins=config["evaluate"]["scan"]["block_bins"],
    script:
        "../workflow_scripts/prepare_scan.py"
