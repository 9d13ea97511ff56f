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


def test_evaluation_tables(tmp_path, capsys):
    spec = importlib.util.spec_from_file_location("evaluation_tables", REPO / "scripts" / "evaluation_tables.py")
    tables = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tables)
    header = "task\tkind\tn\tpositives\tnegatives\tauroc\tauprc\tpearson\tspearman\tnote\n"
    for model, scores in {"kmer_baseline": (0.6, 0.7), "danq": (0.9, 0.95)}.items():
        folder = tmp_path / "evaluate" / model
        folder.mkdir(parents=True)
        (folder / "test.metrics.tsv").write_text(header + f"A.CTCF\tbinary\t10\t4\t6\t{scores[0]}\t0.5\tNA\tNA\t\n"
                                                 f"B.MAX\tbinary\t10\t3\t7\t{scores[1]}\t0.4\tNA\tNA\t\n")  # fmt: skip
        if model == "danq":
            (folder / "test_scan.metrics.tsv").write_text(header + "A.CTCF\tbinary\t99\t4\t95\t0.97\t0.2\tNA\tNA\t\n"
                                                          "B.MAX\tbinary\t99\t3\t96\tNA\tNA\tNA\tNA\tno positives\n")  # fmt: skip
    tables.main([str(tmp_path)])
    out = capsys.readouterr().out
    assert "| danq | 2 | 0.925 | 0.450 | 0.970 | 0.200 |" in out  # scanning median over the defined tasks
    assert "| kmer_baseline | 2 | 0.650 | 0.450 | - | - |" in out  # the baseline last, no scan
    assert "| A.CTCF | 4 / 4 | 0.900 | 0.600 | 0.970 | - |" in out


def test_one_row_per_job(tmp_path):
    _bench(tmp_path / "train" / "train_model.danq_small.tsv", 100.0, 700.0, 90.0)
    _bench(tmp_path / "train" / "train_model.deepsea_small.tsv", 50.0, 600.0, 40.0)
    table = resource_table.job_table(resource_table.read_benchmarks(tmp_path))
    assert table["job"].tolist() == ["train_model.danq_small", "train_model.deepsea_small"]
    assert resource_table.to_markdown(table).splitlines()[2] == "| train_model.danq_small | 100 | 90.0 | 700 |"
