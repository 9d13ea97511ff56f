"""deepcis: deep learning on regulatory DNA (library behind the Snakemake workflow)."""

__version__ = "0.1.0"
