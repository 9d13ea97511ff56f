"""Rule fetch_remote: turn a file the http storage plugin downloaded into its local copy."""

from deepcis.errors import ConfigError
from deepcis.jobs import start_job
from deepcis.remote import make_local_copy

log = start_job(snakemake)
source = snakemake.params.source
if snakemake.params.offline or not snakemake.input:
    raise ConfigError(
        f"config key remote.offline is true: {source['url']} cannot be downloaded "
        "(offline is for planning with `snakemake -n`; set it to false to run)"
    )
done = make_local_copy(snakemake.input[0], snakemake.output[0], source["kind"])
log.info("%s (%s): %s -> %s", source["url"], source["kind"], done, snakemake.output[0])
