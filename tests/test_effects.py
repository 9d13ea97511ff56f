"""deepcis.effects: the variant-effect files refuse what is not one of theirs, naming the file,
and a writer that fails leaves no file."""

import gzip

import h5py
import numpy as np
import pytest

from deepcis.effects import MatrixWriter, gather_matrices, iter_effects, top_rows
from deepcis.errors import InputError

KEYS = "chrom\tpos\tid\tref\talt\tref_match\ttask\tref_prob\talt_prob\tdiff\tabs_diff\tlogit_diff\n"


def _variants(n):
    return {"chrom": ["chr1"] * n, "pos": list(range(10, 10 + n)), "id": ["."] * n, "ref": ["A"] * n,
            "alt": ["G"] * n, "ref_match": [True] * n}  # fmt: skip


def _matrix(path, tasks, n=2):
    scores = {"ref_prob": np.full((n, len(tasks)), 0.2), "alt_prob": np.full((n, len(tasks)), 0.5)}
    scores["diff"] = scores["alt_prob"] - scores["ref_prob"]
    with MatrixWriter(path, tasks, list(scores), "float32") as writer:
        writer.append(_variants(n), scores)
    return path


def _table(path, rows):
    with gzip.open(path, "wt") as handle:
        handle.write(KEYS + "".join(f"chr1\t{pos}\t.\tA\tG\tTrue\t{task}\t0.2\t0.5\t0.3\t0.3\t1.2\n" for pos, task in rows))
    return path


def test_a_matrix_round_trips(tmp_path):
    (block,) = iter_effects(_matrix(tmp_path / "e.h5", ["T1", "T2"], n=3))
    assert block.tasks == ["T1", "T2"] and block.variants["pos"].tolist() == [10, 11, 12]
    assert block.scores["abs_diff"] == pytest.approx(np.full((3, 2), 0.3))


@pytest.mark.parametrize("read", [lambda p: list(iter_effects(p)), lambda p: top_rows(p, 5)])
def test_files_that_are_not_effect_matrices_are_refused(tmp_path, read):
    text = tmp_path / "text.h5"
    text.write_text("chrom\tpos\n")
    with pytest.raises(InputError, match=r"text\.h5: not an HDF5 file"):
        read(text)
    other = tmp_path / "other.h5"
    with h5py.File(other, "w") as h5:
        h5["x"] = np.zeros(3)
    with pytest.raises(InputError, match=r"other\.h5: not a deepcis variant-effects matrix"):
        read(other)


def test_gathered_parts_must_share_tasks_and_leave_no_file(tmp_path):
    parts = [_matrix(tmp_path / "0.h5", ["T1", "T2"]), _matrix(tmp_path / "1.h5", ["T1", "T3"])]
    with pytest.raises(InputError, match=r"1\.h5: tasks or scores differ from .*0\.h5's"):
        gather_matrices(parts, tmp_path / "all.h5")
    assert not (tmp_path / "all.h5").exists() and list(tmp_path.glob("*all.h5*")) == []


def test_a_failed_writer_leaves_no_file(tmp_path):
    with pytest.raises(ValueError, match=r"diff: shape \(2, 1\), expected \(2, 2\)"):
        with MatrixWriter(tmp_path / "e.h5", ["T1", "T2"], ["diff"]) as writer:
            writer.append(_variants(2), {"diff": np.zeros((2, 1))})
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    "rows, message",
    [
        ([(10, "T1"), (10, "T2"), (11, "T1"), (11, "T2"), (12, "T2"), (12, "T1")],
         "rows are not one per allele and task in the same task order"),
        ([(10, "T1"), (10, "T2"), (11, "T1")], "the last allele does not have a row for every task"),
    ],
)
def test_long_tables_that_are_not_allele_major_are_refused(tmp_path, rows, message):
    path = _table(tmp_path / "e.tsv.gz", rows)
    with pytest.raises(InputError, match=message) as error:
        list(iter_effects(path))
    assert str(path) in str(error.value)


def test_empty_and_foreign_tables_are_refused(tmp_path):
    empty = tmp_path / "empty.tsv.gz"
    with gzip.open(empty, "wt"):
        pass
    with pytest.raises(InputError, match="empty file: not a variant-scores table"):
        list(iter_effects(empty))
    foreign = tmp_path / "foreign.tsv"
    foreign.write_text("chrom\tpos\tscore\nchr1\t5\t0.1\n")
    with pytest.raises(InputError, match="not a variant-scores table \\(no id, ref, alt, ref_match, task, diff, abs_diff column\\)"):
        list(iter_effects(foreign))
