"""Genome, peaks, blacklist and VCF given as http(s) URLs (Snakemake's http storage plugin,
rule fetch_remote), served from 127.0.0.1; the genome-wide hg38 config planned offline."""

import gzip
import http.server
import os
import re
import shutil
import subprocess
import sys
import threading
from functools import partial
from pathlib import Path

import h5py
import numpy as np
import pandas as pd
import pysam
import pytest
import yaml
from _utils import copy_workflow, write_fasta

from deepcis.errors import ConfigError, InputError
from deepcis.remote import is_url, local_copy_path, localise_inputs, make_local_copy
from deepcis.vcf import vcf_compression

BIN = Path(sys.executable).parent


def test_local_copy_paths():
    ucsc = "https://hgdownload.soe.ucsc.edu/goldenPath/hg38/bigZips/hg38.fa.gz"
    assert local_copy_path(ucsc, "genome") == "resources/remote/hgdownload.soe.ucsc.edu/goldenPath/hg38/bigZips/hg38.fa"
    encode = "https://www.encodeproject.org/files/ENCFF660GHM/@@download/ENCFF660GHM.bed.gz"
    assert local_copy_path(encode, "file", "dl").endswith("files/ENCFF660GHM/@@download/ENCFF660GHM.bed.gz")
    assert local_copy_path("http://127.0.0.1:8000/v.vcf", "vcf") == "resources/remote/127.0.0.1_8000/v.vcf.gz"
    assert is_url("HTTPS://x/y") and not is_url("resources/x.fa") and not is_url(None)
    for bad in ("https://host/", "https://host/a/../b.fa", "https://host/get?file=a.fa"):
        with pytest.raises(ConfigError, match="URL"):
            local_copy_path(bad, "file")


def test_localise_inputs_swaps_only_urls():
    config = {"genome": "http://h/g.fa.gz", "blacklist": "bl.bed", "variants": {"vcf": "https://h/v.vcf.gz"},
              "remote": {"dir": "dl"}}  # fmt: skip
    tasks = [{"name": "a", "peaks": "http://h/a.bed.gz"}, {"name": "b", "peaks": "b.bed"}]
    remote = localise_inputs(config, tasks)
    assert config["genome"] == "dl/h/g.fa" and config["blacklist"] == "bl.bed"
    assert config["variants"]["vcf"] == "dl/h/v.vcf.gz" and tasks[0]["peaks"] == "dl/h/a.bed.gz"
    assert tasks[1]["peaks"] == "b.bed"
    assert remote["dl/h/g.fa"] == {"url": "http://h/g.fa.gz", "kind": "genome"}
    assert len(remote) == 3
    clash = {"genome": "http://h/x.fa.gz", "variants": {}, "remote": {"dir": "dl"}}
    with pytest.raises(ConfigError, match="share the local copy"):
        localise_inputs(clash, [{"name": "a", "peaks": "http://h/x.fa"}])


def test_make_local_copy(tmp_path):
    fasta = write_fasta(tmp_path / "g.fa", {"chr1": "ACGT" * 50})
    gz = tmp_path / "g.fa.gz"
    gz.write_bytes(gzip.compress(fasta.read_bytes()))
    assert make_local_copy(gz, tmp_path / "out" / "g.fa", "genome") == "decompressed"
    assert (tmp_path / "out" / "g.fa").read_bytes() == fasta.read_bytes()
    assert make_local_copy(fasta, tmp_path / "out" / "plain.fa", "genome") == "copied"
    vcf_text = b"##fileformat=VCFv4.2\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\nchr1\t5\tv1\tA\tG\t.\t.\t.\n"
    plain_gz = tmp_path / "v.vcf.gz"
    plain_gz.write_bytes(gzip.compress(vcf_text))
    assert vcf_compression(plain_gz) == "gzip"
    out = tmp_path / "out" / "v.vcf.gz"
    assert make_local_copy(plain_gz, out, "vcf") == "recompressed"
    assert vcf_compression(out) == "bgzf"
    assert make_local_copy(out, tmp_path / "out" / "again.vcf.gz", "vcf") == "copied"  # bgzip stays
    with pysam.VariantFile(str(out)) as reader:
        assert [r.id for r in reader] == ["v1"]
    html = tmp_path / "error.html"
    html.write_text("<html>404</html>")
    with pytest.raises(InputError, match="not a FASTA file"):
        make_local_copy(html, tmp_path / "out" / "bad.fa", "genome")
    assert not (tmp_path / "out" / "bad.fa").exists()
    broken = tmp_path / "broken.fa.gz"
    broken.write_bytes(gz.read_bytes()[:-20])
    with pytest.raises(InputError, match="cannot decompress"):
        make_local_copy(broken, tmp_path / "out" / "broken.fa", "genome")
    assert not (tmp_path / "out" / "broken.fa").exists()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture
def http_root(tmp_path):
    """A folder served over http://127.0.0.1:<port>/ for the test."""
    root = tmp_path / "served"
    root.mkdir()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), partial(_QuietHandler, directory=str(root)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield root, f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def _snakemake(workdir, *args):
    env = os.environ | {"PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}", "TF_CPP_MIN_LOG_LEVEL": "1"}
    result = subprocess.run([str(BIN / "snakemake"), "--cores", "2", *args], cwd=workdir, env=env, capture_output=True,
                            text=True, timeout=900)  # fmt: skip
    assert result.returncode == 0, f"snakemake failed:\n{result.stdout[-3000:]}\n{result.stderr[-5000:]}"
    return result


@pytest.mark.slow
def test_example_from_urls_encodes_like_local_files(tmp_path, http_root, example_run):
    served, base = http_root
    local, _ = example_run  # the example from local files (and its data for the server)
    local_results = local / "results"
    workdir = copy_workflow(tmp_path / "wf")
    targets = [f"results/encode/{split}.h5" for split in ("train", "valid", "test")]
    example = local / "resources" / "example"
    shutil.copytree(example, workdir / "resources" / "example")  # inputs the sheet keeps local (signal tracks)
    # serve it the way UCSC and ENCODE do: gzip genome (not bgzip), plain-gzip VCF
    (served / "genome.fa.gz").write_bytes(gzip.compress((example / "genome.fa").read_bytes()))
    with pysam.BGZFile(str(example / "variants.vcf.gz"), "rb") as bgzf:
        (served / "variants.vcf.gz").write_bytes(gzip.compress(bgzf.read()))
    shutil.copytree(example / "peaks", served / "peaks")
    shutil.copy(example / "blacklist.bed", served / "blacklist.bed")
    sheet = pd.read_csv(workdir / "config" / "tasks.tsv", sep="\t", dtype=str, keep_default_na=False)
    from_url = sheet["peaks"].str.startswith(str(example.relative_to(local)))
    assert from_url.sum() >= 5
    sheet.loc[from_url, "peaks"] = [f"{base}/peaks/{Path(p).name}" for p in sheet.loc[from_url, "peaks"]]
    sheet.to_csv(workdir / "url_tasks.tsv", sep="\t", index=False)
    cfg = yaml.safe_load((workdir / "config" / "config.yaml").read_text())
    cfg |= {"genome": f"{base}/genome.fa.gz", "blacklist": f"{base}/blacklist.bed", "tasks": "url_tasks.tsv",
            "remote": {"dir": "downloads"}}  # fmt: skip
    cfg["variants"]["vcf"] = f"{base}/variants.vcf.gz"
    (workdir / "url.yaml").write_text(yaml.safe_dump(cfg))

    host = base.removeprefix("http://").replace(":", "_")
    copies = workdir / "downloads" / host
    _snakemake(workdir, *targets, f"downloads/{host}/variants.vcf.gz", "--configfile", "url.yaml")
    assert (copies / "genome.fa").read_bytes() == (example / "genome.fa").read_bytes()  # gunzipped
    assert vcf_compression(copies / "variants.vcf.gz") == "bgzf"  # made bgzip for pysam
    with pysam.VariantFile(str(copies / "variants.vcf.gz")) as a, pysam.VariantFile(str(example / "variants.vcf.gz")) as b:
        assert [str(r) for r in a] == [str(r) for r in b]
    for peaks in (example / "peaks").iterdir():
        assert (copies / "peaks" / peaks.name).read_bytes() == peaks.read_bytes()
    assert "decompressed" in (workdir / "logs" / "remote" / host / "genome.fa.log").read_text()
    for split in ("train", "valid", "test"):
        with h5py.File(workdir / "results" / "encode" / f"{split}.h5", "r") as a, h5py.File(
            local_results / "encode" / f"{split}.h5", "r"
        ) as b:
            assert a["x"].shape[0] > 0
            for name in ("x", "y", "start", "end"):
                np.testing.assert_array_equal(a[name][:], b[name][:], err_msg=f"{split}.h5/{name}")
    # nothing left to download or redo on a rerun
    again = _snakemake(workdir, *targets, f"downloads/{host}/variants.vcf.gz", "--configfile", "url.yaml", "-n")
    assert "Nothing to be done" in again.stdout + again.stderr


def test_hg38_encode_config_plans_offline(tmp_path):
    workdir = copy_workflow(tmp_path / "wf")
    config = "config/hg38_encode/config.yaml"
    cfg = yaml.safe_load((workdir / config).read_text())
    sheet = pd.read_csv(workdir / cfg["tasks"], sep="\t")
    assert cfg["genome"].startswith("https://hgdownload.soe.ucsc.edu/") and len(sheet) >= 5
    assert sheet["peaks"].str.match(r"https://www\.encodeproject\.org/files/ENCFF\w+/@@download/ENCFF\w+\.bed\.gz$").all()
    result = _snakemake(workdir, "-n", "--configfile", config, "config/hg38_encode/offline.yaml")
    out = result.stdout + result.stderr
    jobs = dict(re.findall(r"^(\w+)\s+(\d+)$", out.split("Job stats:")[1].split("Reasons:")[0], re.M))
    assert int(jobs["fetch_remote"]) == len(sheet) + 2  # genome, blacklist, one per peak file
    assert int(jobs["encode_chunk"]) == 3 * cfg["encode"]["chunks"]
    assert int(jobs["train_model"]) == len(cfg["models"])
    assert not (workdir / "resources" / "remote").exists()  # nothing downloaded
