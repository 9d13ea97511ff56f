# External models (docs/external-models.md): a Keras file or a published PyTorch state dict,
# described by a sidecar, becomes results/models/<model>/model.keras like a trained model's, so
# every downstream rule reads it unchanged; such a model has no training job.


rule import_model:
    input:
        lambda wc: external_files(config["models"][wc.model]),
    output:
        model="results/models/{model}/model.keras",
        info="results/models/{model}/model.json",
    log:
        "logs/import/import_model.{model}.log",
    benchmark:
        "benchmarks/import/import_model.{model}.tsv"
    wildcard_constraints:
        model=EXTERNAL_PATTERN,
    conda:
        "../envs/import.yaml"
    params:
        # only what the import reads: a change elsewhere in the config does not re-import
        external=lambda wc: stable(config["models"][wc.model]["external"]),
    script:
        "../workflow_scripts/import_model.py"
