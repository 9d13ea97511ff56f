"""scripts/resource_table.py: per-rule resource use from Snakemake benchmark files."""

import importlib.util

import pytest
from _utils import REPO

spec = importlib.util.spec_from_file_location("resource_table", REPO / "scripts" / "resource_table.py")
resource_table = importlib.util.module_from_spec(spec)
spec.loader.exec_module(resource_table)

HEADER = "s\th:m:s\tmax_rss\tmax_vms\tmax_uss\tmax_pss\tio_in\tio_out\tmean_load\tcpu_time\n"


def _bench(path, s, rss, cpu):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(HEADER + f"{s}\t0:00:01\t{rss}\t1\t1\t1\t0.00\t2.50\t50.0\t{cpu}\n")


def test_pools_jobs_of_a_rule(tmp_path):
    _bench(tmp_path / "encode" / "encode_chunk.train.0.tsv", 2.0, 90.0, 1.0)
    _bench(tmp_path / "encode" / "encode_chunk.train.1.tsv", 4.0, 95.5, 1.5)
    _bench(tmp_path / "train" / "train_model.deepsea.tsv", 100.0, 700.0, 90.0)
    table = resource_table.resource_table(resource_table.read_benchmarks(tmp_path))
    assert table["rule"].tolist() == ["train_model", "encode_chunk"]  # slowest first
    encode = table.set_index("rule").loc["encode_chunk"]
    assert encode["jobs"] == 2 and encode["wall_mean_s"] == 3.0 and encode["wall_max_s"] == 4.0
    assert encode["max_rss_mb"] == 95.5 and encode["cpu_max_s"] == 1.5
    markdown = resource_table.to_markdown(table).splitlines()
    assert markdown[0].startswith("| rule | jobs |") and markdown[2].startswith("| train_model | 1 | 100 |")


def test_refuses_other_files(tmp_path):
    (tmp_path / "x.tsv").write_text("a\tb\n1\t2\n")
    with pytest.raises(ValueError, match="not a Snakemake benchmark file"):
        resource_table.read_benchmarks(tmp_path)
    with pytest.raises(ValueError, match="no benchmark files"):
        resource_table.read_benchmarks(tmp_path / "empty")
