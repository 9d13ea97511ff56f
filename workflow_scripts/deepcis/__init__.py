"""deepcis: deep learning on regulatory DNA (library behind the Snakemake workflow)."""

from importlib import metadata

try:
    __version__ = metadata.version("deepcis")
except metadata.PackageNotFoundError:
    # Imported from a source tree that was never installed (e.g. a rule's conda env, where
    # Snakemake puts the script folder on sys.path): the version is unknown, and says so.
    __version__ = "0+unknown"
