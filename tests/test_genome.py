import subprocess

import numpy as np
import pyfaidx
import pytest

from deepcis.errors import InputError
from deepcis.genome import (
    Genome,
    count_bases,
    decode_one_hot,
    one_hot_encode,
    one_hot_sequence,
    reverse_complement,
)


def test_one_hot_conventions():
    x = one_hot_sequence("ACGTNacgtnRY")
    expected = np.array(
        [[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1], [0, 0, 0, 0]] * 2 + [[0, 0, 0, 0]] * 2, dtype=np.uint8
    )
    assert x.dtype == np.uint8 and x.shape == (12, 4)
    np.testing.assert_array_equal(x, expected)


def test_decode_and_reverse_complement():
    seq = "AACGTTNGCa"
    x = one_hot_sequence(seq)
    assert decode_one_hot(x) == seq.upper()
    assert decode_one_hot(reverse_complement(x)) == "TGCNAACGTT"
    batch = one_hot_encode(np.frombuffer(b"ACGTACGTAC" * 3, np.uint8).reshape(3, 10))
    assert batch.shape == (3, 10, 4)
    np.testing.assert_array_equal(reverse_complement(reverse_complement(batch)), batch)


def _naive(records, chrom, start, length):
    return records[chrom][start : start + length]


@pytest.mark.parametrize("length", [1, 59, 60, 61, 1000])
def test_fetch_windows_matches_sequence(small_genome, length):
    path, records = small_genome
    genome = Genome(path)
    rng = np.random.default_rng(length)
    for chrom in records:
        size = len(records[chrom])
        starts = np.concatenate([rng.integers(0, size - length, 200), [0, size - length]])
        starts = np.concatenate([starts, np.arange(100, 100 + 5 * 7, 7)])  # dense cluster
        codes = genome.fetch_windows(chrom, starts, length)
        for row, start in zip(codes, starts):
            assert row.tobytes().decode() == _naive(records, chrom, int(start), length)


def test_bgzip_fasta_matches_plain(small_genome, tmp_path):
    path, records = small_genome
    gz = tmp_path / "genome.fa.gz"
    with open(gz, "wb") as out:
        subprocess.run(["bgzip", "-c", str(path)], stdout=out, check=True)
    plain, packed = Genome(path), Genome(gz)
    assert packed.bgzipped and not plain.bgzipped
    assert packed.chrom_sizes == plain.chrom_sizes == {k: len(v) for k, v in records.items()}
    starts = np.array([0, 17, 3999, 4100, 8999])
    np.testing.assert_array_equal(plain.fetch_windows("chrA", starts, 1000), packed.fetch_windows("chrA", starts, 1000))


def test_fetch_outside_chromosome_is_refused(small_genome):
    genome = Genome(small_genome[0])
    with pytest.raises(ValueError, match="runs off chrB"):
        genome.fetch_windows("chrB", np.array([5500]), 1000)
    with pytest.raises(InputError, match="'chrZ' is not in the genome"):
        genome.fetch("chrZ", 0, 10)


def test_count_bases():
    codes = np.frombuffer(b"ACGTNNgcRa", np.uint8).reshape(1, 10)
    counts = count_bases(codes)
    assert counts["n"][0] == 2 and counts["gc"][0] == 4 and counts["acgt"][0] == 7


def test_missing_fasta(tmp_path):
    with pytest.raises(InputError, match="genome FASTA not found"):
        Genome(tmp_path / "nope.fa")


def test_empty_fasta(tmp_path):
    (tmp_path / "empty.fa").write_text("")
    with pytest.raises(InputError, match="empty"):
        Genome(tmp_path / "empty.fa")


def test_directory_instead_of_fasta(tmp_path):
    with pytest.raises(InputError, match="not a regular file"):
        Genome(tmp_path)


def test_plain_gzip_fasta_is_refused(tmp_path):
    import gzip

    path = tmp_path / "g.fa.gz"
    with gzip.open(path, "wt") as handle:
        handle.write(">c\nACGT\n")
    with pytest.raises(InputError, match="bgzip"):
        Genome(path)


def test_ragged_fasta_is_refused(tmp_path):
    path = tmp_path / "bad.fa"
    path.write_text(">c\nACGTACGT\nACG\nACGTACGT\n")
    with pytest.raises(InputError, match="cannot index FASTA"):
        Genome(path)


def test_not_fasta(tmp_path):
    path = tmp_path / "bad.fa"
    path.write_text("this is not a fasta file\n")
    with pytest.raises(InputError):
        Genome(path)


def test_pyfaidx_index_written(small_genome):
    path, _ = small_genome
    Genome(path)
    assert path.with_name(path.name + ".fai").is_file()
    assert len(pyfaidx.Fasta(str(path)).keys()) == 3


@pytest.mark.parametrize("length", [1, 60, 1000])
def test_one_hot_windows_equals_encoded_codes(small_genome, length):
    path, records = small_genome
    genome = Genome(path)
    rng = np.random.default_rng(length)
    starts = np.concatenate([rng.integers(0, 10_000 - length, 50), np.arange(0, 3000, 200), [10_000 - length]])
    starts = rng.permutation(starts)  # unsorted: exercises the scattered write
    np.testing.assert_array_equal(
        genome.one_hot_windows("chrA", starts, length), one_hot_encode(genome.fetch_windows("chrA", starts, length))
    )
    out = np.empty((starts.size, length, 4), np.uint8)
    sorted_starts = np.sort(starts)
    genome.one_hot_windows("chrA", sorted_starts, length, out=out)
    np.testing.assert_array_equal(out, one_hot_encode(genome.fetch_windows("chrA", sorted_starts, length)))


def _rss_file_mb() -> float:
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("RssFile:")) / 1024


def test_reads_hold_one_chromosome_in_the_rss(tmp_path):
    """Walking a genome chromosome by chromosome leaves one chromosome's FASTA pages resident
    (the memory map's pages count in the RSS once touched; at hg38 size that would be 3 GB)."""
    line = ("ACGT" * 15 + "\n").encode()
    mb = 8
    with open(tmp_path / "g.fa", "wb") as handle:
        for name in ("c1", "c2", "c3", "c4"):
            handle.write(f">{name}\n".encode() + line * (mb * (1 << 20) // len(line)))
    size = mb * (1 << 20) // len(line) * 60
    with Genome(tmp_path / "g.fa") as genome:
        before = _rss_file_mb()
        for name in ("c1", "c2", "c3", "c4"):
            codes = genome.fetch(name, 0, size)
            assert codes[:4].tobytes() == b"ACGT" and codes.sum() > 0  # every page read
            del codes
        grown = _rss_file_mb() - before
    assert grown < 1.5 * mb, f"{grown:.1f} MB of FASTA pages resident after reading 4 x {mb} MB"
