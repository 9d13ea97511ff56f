"""Remote inputs: genome, peak files, blacklist and VCF given as http(s) URLs.

Snakemake's http storage plugin downloads each URL (rules/remote.smk); the downloaded file is
then turned into the local copy every other rule reads, under one folder (config
`remote.dir`):

- genome: decompressed when gzip or bgzip (UCSC's hg38.fa.gz is plain gzip, which pyfaidx
  cannot index), so `resources/remote/<host>/<path>/hg38.fa`;
- VCF: bgzip as pysam needs (plain gzip or plain text recompressed, bgzip kept);
- peak files and the blacklist: copied as they are (the readers take plain or gzip).

The local path mirrors the URL (host + path), so two URLs never share a copy.
"""

from __future__ import annotations

import gzip
import shutil
from pathlib import Path
from urllib.parse import urlparse

from .errors import ConfigError, InputError
from .io_utils import atomic_path

KINDS = ("genome", "vcf", "file")
GZIP_MAGIC = b"\x1f\x8b"


def is_url(path) -> bool:
    """Whether `path` is an http(s) URL (a remote input)."""
    return isinstance(path, str) and path.lower().startswith(("http://", "https://"))


def local_copy_path(url: str, kind: str, root="resources/remote") -> str:
    """Where the local copy of `url` lives (relative to the working directory)."""
    if kind not in KINDS:
        raise ValueError(f"unknown remote input kind {kind!r} (one of {KINDS})")
    parsed = urlparse(url)
    parts = [p for p in parsed.path.split("/") if p]
    if not parsed.netloc or not parts or any(p in (".", "..") for p in parts):
        raise ConfigError(f"URL {url}: expected http(s)://host/path/to/file")
    if parsed.query:
        raise ConfigError(f"URL {url}: query strings are not supported; name the file itself")
    name = parts[-1]
    if kind == "genome" and name.endswith(".gz"):
        name = name[: -len(".gz")]
    elif kind == "vcf" and not name.endswith((".gz", ".bcf")):
        name += ".gz"
    return str(Path(root, parsed.netloc.replace(":", "_"), *parts[:-1], name))


def localise_inputs(config: dict, tasks: list[dict]) -> dict[str, dict]:
    """Replace every URL among the inputs by its local copy's path, in place.

    Returns {local path: {"url": ..., "kind": ...}} for rule fetch_remote; empty when every
    input is a local file.
    """
    root = config.get("remote", {}).get("dir", "resources/remote")
    remote: dict[str, dict] = {}

    def swap(value, kind):
        if not is_url(value):
            return value
        local = local_copy_path(value, kind, root)
        known = remote.setdefault(local, {"url": value, "kind": kind})
        if known["url"] != value or known["kind"] != kind:
            raise ConfigError(f"URLs {known['url']} and {value} would share the local copy {local}")
        return local

    config["genome"] = swap(config["genome"], "genome")
    if config.get("blacklist"):
        config["blacklist"] = swap(config["blacklist"], "file")
    variants = config.get("variants") or {}
    if variants.get("vcf"):
        variants["vcf"] = swap(variants["vcf"], "vcf")
    for task in tasks:
        task["peaks"] = swap(task["peaks"], "file")
    return remote


def make_local_copy(src, dst, kind: str) -> str:
    """Turn the downloaded file `src` into the local copy `dst` (see the module doc).

    Returns what was done: 'decompressed', 'recompressed' or 'copied'. Writes through a temp
    path, so a failure leaves no partial `dst`.
    """
    src = Path(src)
    if not src.is_file():
        raise InputError(src, "downloaded file not found")
    if src.stat().st_size == 0:
        raise InputError(src, "the server sent an empty file")
    with open(src, "rb") as handle:
        head = handle.read(2)
    if kind == "genome":
        if head == GZIP_MAGIC:
            try:
                with gzip.open(src, "rb") as inp, atomic_path(dst) as tmp, open(tmp, "wb") as out:
                    shutil.copyfileobj(inp, out, 1 << 22)
            except (OSError, EOFError) as error:
                raise InputError(src, f"cannot decompress the genome: {error}") from None
            return "decompressed"
        if head[:1] != b">":
            raise InputError(src, "not a FASTA file (first byte is not '>') nor gzip", line=1)
    elif kind == "vcf":
        from .vcf import bgzip_vcf, vcf_compression

        if vcf_compression(src) != "bgzf":
            bgzip_vcf(src, dst)
            return "recompressed"
    elif kind not in KINDS:
        raise ValueError(f"unknown remote input kind {kind!r}")
    with atomic_path(dst) as tmp:
        shutil.copyfile(src, tmp)
    return "copied"
