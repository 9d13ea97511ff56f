# Sequence tables instead of a genome and peaks (docs/sequence-tables.md): the sources are
# checked when the workflow is parsed and by the input check (group data, which this rule
# waits for); this rule writes the HDF5 splits (the same contract as prepare_windows +
# encode) and the stats table, so every later stage reads them unchanged.

if SEQUENCE_TABLE:
    # What the rule reads from the config (its params, and the HDF5's config_sha256), so a
    # change elsewhere (a model, evaluation) does not re-prepare.
    SEQUENCE_TABLE_SETTINGS = stable(
        {
            "sequence_table": config["sequence_table"],
            "window_length": config["prepare"]["window_length"],
            "seed": config["seed"],
        }
    )

    ruleorder: prepare_sequence_table > prepare_windows
    ruleorder: prepare_sequence_table > gather_split

    rule prepare_sequence_table:
        input:
            sources=[
                s if isinstance(s, str) else s["path"]
                for part in ("train", "test")
                for s in config["sequence_table"][part] or []
            ]
            + [
                s["label_file"]
                for part in ("train", "test")
                for s in config["sequence_table"][part] or []
                if not isinstance(s, str) and s.get("label_file")
            ],
            check=check_gate("data"),
        output:
            train="results/encode/train.h5",
            valid="results/encode/valid.h5",
            test="results/encode/test.h5",
            stats="results/prepare/stats.tsv",
            plot=report(
                "results/prepare/class_balance.png",
                category="1. Data",
                caption="../report/class_balance.rst",
            ),
            counts="results/prepare/sequence_table.json",
        log:
            "logs/prepare/prepare_sequence_table.log",
        benchmark:
            "benchmarks/prepare/prepare_sequence_table.tsv"
        conda:
            "../envs/seqtable.yaml"
        resources:
            mem_mb=4000,
        params:
            settings=SEQUENCE_TABLE_SETTINGS,
            config_sha256=config_sha256(SEQUENCE_TABLE_SETTINGS),
        script:
            "../workflow_scripts/prepare_sequence_table.py"
