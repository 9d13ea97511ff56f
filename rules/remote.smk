# Remote inputs: a genome, peak file, blacklist or VCF given as an http(s) URL is downloaded by
# Snakemake's http storage plugin and turned into the local copy the other rules read
# (deepcis/remote.py: a gzip genome is decompressed, a VCF made bgzip). common.smk swaps each
# URL in the config for its local copy; REMOTE maps the copies back to their URLs.


# A local rule: on a cluster it runs where snakemake runs (the login node), which has network
# when compute nodes often do not.
rule fetch_remote:
    input:
        # the URL as a storage input; nothing with remote.offline (plans without network)
        lambda wc: (
            []
            if config["remote"]["offline"]
            else storage.http(REMOTE[f"{REMOTE_DIR}/{wc.path}"]["url"])
        ),
    output:
        f"{REMOTE_DIR}/{{path}}",
    log:
        "logs/remote/{path}.log",
    benchmark:
        "benchmarks/remote/{path}.tsv"
    wildcard_constraints:
        path=REMOTE_PATTERN,
    localrule: True
    conda:
        "../envs/fetch.yaml"
    resources:
        mem_mb=1000,
    params:
        source=lambda wc: REMOTE[f"{REMOTE_DIR}/{wc.path}"],
        offline=config["remote"]["offline"],
    script:
        "../workflow_scripts/fetch_remote.py"
