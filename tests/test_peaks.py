import gzip

import pytest
from _utils import write_bed

from deepcis.errors import InputError
from deepcis.peaks import parse_region, read_intervals

SIZES = {"chr1": 10_000, "chr2": 5_000}


def test_bed_and_narrowpeak(tmp_path):
    path = write_bed(
        tmp_path / "p.narrowPeak",
        [
            ("chr2", 100, 300, ".", 0, ".", 1.0, -1, -1, 50),
            ("chr1", 500, 900, ".", 0, ".", 1.0, -1, -1, -1),
            ("chr1", 10, 90, ".", 0, ".", 1.0, -1, -1, 0),
        ],
    )
    peaks = read_intervals(path, SIZES)
    assert list(peaks.chrom) == ["chr1", "chr1", "chr2"]  # genome order, then start
    assert list(peaks.start) == [10, 500, 100]
    assert list(peaks.summit) == [10, -1, 150]
    assert list(peaks.centre) == [10, 700, 150]


def test_summit_at_the_peak_length_is_clamped_to_the_last_base(tmp_path):
    """Real ENCODE files have summit offset == peak length (one past the end): accepted, clamped
    to the peak's last base and counted; larger and negative offsets stay refused (above)."""
    path = write_bed(
        tmp_path / "p.narrowPeak",
        [("chr1", 100, 200, ".", 0, ".", 1.0, -1, -1, 100), ("chr1", 300, 365, ".", 0, ".", 1.0, -1, -1, 65),
         ("chr1", 500, 600, ".", 0, ".", 1.0, -1, -1, 99)],
    )  # fmt: skip
    peaks = read_intervals(path, SIZES)
    assert list(peaks.summit) == [199, 364, 599]
    assert peaks.clamped_summits == 2


def test_comments_track_lines_and_gzip(tmp_path):
    path = tmp_path / "p.bed.gz"
    with gzip.open(path, "wt") as handle:
        handle.write("track name=x\n# comment\nbrowser position chr1\nchr1\t1\t5\n\nchr2\t7\t9\n")
    peaks = read_intervals(path, SIZES)
    assert len(peaks) == 2


@pytest.mark.parametrize(
    "line, message, line_no",
    [
        ("chr1\t500\t400", "start 500 is not less than end 400", 2),
        ("chr1\t-5\t400", "negative start -5", 2),
        ("chr1\t1.5\t400", "start '1.5' is not an integer", 2),
        ("chr1\tten\t400", "start 'ten' is not an integer", 2),
        ("chr1\t100", "expected at least 3 tab-separated columns", 2),
        ("chr1 100 200", "expected at least 3 tab-separated columns", 2),
        ("chr2\t100\t5001", "end 5001 lies beyond the end of chr2", 2),
        ("chr1\t100\t200\t.\t0\t.\t1\t-1\t-1\t150", "summit offset 150 lies outside the peak", 2),
        ("chr1\t100\t200\t.\t0\t.\t1\t-1\t-1\t101", r"summit offset 101 lies outside the peak \(length 100\)", 2),
        ("chr1\t100\t200\t.\t0\t.\t1\t-1\t-1\t-5", "summit offset -5 lies outside the peak", 2),
    ],
)
def test_bad_records_name_file_and_line(tmp_path, line, message, line_no):
    path = tmp_path / "bad.bed"
    path.write_text(f"chr1\t1\t50\n{line}\n")
    with pytest.raises(InputError, match=message) as info:
        read_intervals(path, SIZES)
    assert f"{path}, line {line_no}:" in str(info.value)


def test_empty_file(tmp_path):
    path = tmp_path / "empty.bed"
    path.write_text("# only a comment\n")
    with pytest.raises(InputError, match="holds no intervals"):
        read_intervals(path, SIZES)
    assert len(read_intervals(path, SIZES, allow_empty=True)) == 0


def test_missing_file(tmp_path):
    with pytest.raises(InputError, match="not found"):
        read_intervals(tmp_path / "missing.bed", SIZES)


def test_absent_chromosomes_are_skipped_and_counted(tmp_path):
    path = write_bed(tmp_path / "p.bed", [("chr1", 1, 10), ("chrM", 1, 10), ("chrM", 5, 20), ("chrUn", 0, 5)])
    peaks = read_intervals(path, SIZES)
    assert len(peaks) == 1
    assert peaks.skipped_chroms == {"chrM": 2, "chrUn": 1}


def test_all_on_absent_chromosomes_names_both_namings(tmp_path):
    path = write_bed(tmp_path / "p.bed", [("1", 1, 10), ("2", 1, 10)])
    with pytest.raises(InputError, match=r"the file names \['1', '2'\], the genome has \['chr1', 'chr2'\]"):
        read_intervals(path, SIZES)


def test_binary_file(tmp_path):
    path = tmp_path / "p.bed"
    path.write_bytes(b"\x00\x01\x02\xff\xfe")
    with pytest.raises(InputError):
        read_intervals(path, SIZES)


def test_parse_region():
    assert parse_region("chr1:1,000-2,000", SIZES, "cfg") == ("chr1", 1000, 2000)
    with pytest.raises(InputError, match="not of the form"):
        parse_region("chr1-1000", SIZES, "cfg")
    with pytest.raises(InputError, match="runs off chr2"):
        parse_region("chr2:0-6000", SIZES, "cfg")
    with pytest.raises(InputError, match="'chr9' is not in the genome"):
        parse_region("chr9:0-10", SIZES, "cfg")


@pytest.mark.parametrize("value", ["1e3", "5.0", "true", "0x10", "1_000", "nan", "+", ""])
def test_vectorised_reader_leaves_what_is_not_an_integer_to_the_line_reader(tmp_path, value):
    """A field pandas would read as an integer (1e3, 5.0, true) goes line by line and is refused."""
    path = tmp_path / "p.narrowPeak"
    for line in (f"chr1\t{value}\t400", f"chr1\t100\t200\t.\t0\t.\t1\t-1\t-1\t{value}"):
        path.write_text(f"chr1\t1\t50\n{line}\n")
        with pytest.raises(InputError, match="is not an integer") as info:
            read_intervals(path, SIZES)
        assert f"{path}, line 2:" in str(info.value)


@pytest.mark.parametrize(
    "text, fast",
    [
        ("chr2\t100\t300\nchr1\t5\t9\nchrM\t1\t4\nchr1\t1\t2\nchrUn\t0\t3\nchrM\t2\t5\n", True),
        ("chr1\t100\t200\t.\t0\t.\t1\t-1\t-1\t100\nchr2\t7\t9\tx\t0\t+\t1\t-1\t-1\t-1\nchr1\t0\t10\t.\t0\t.\t1\t-1\t-1\t3", True),
        ("chr1\t+5\t007\tname\nchr2\t1\t4\tname\n", True),
        ("chr1\t1\t5\n# comment\nchr2\t7\t9\n", False),  # comment, track, blank, ragged or CR lines: line by line
        ("chr1\t1\t5\r\nchr2\t7\t9\r\n", False),
        ("chr1\t1\t5\nchr2\t7\t9\t.\n", False),
        ("chr1\t1\t5\n\nchr2\t7\t9\n", False),
        ("chr1\t 5\t9\n", False),  # the line reader strips spaces
    ],
)
def test_vectorised_reader_equals_the_line_reader(tmp_path, text, fast):
    """Plain files are read in one vectorised pass; whatever it does not take goes line by
    line. Both give the same intervals, skipped contigs (counts, first lines, order) and clamps."""
    from deepcis.peaks import _read_intervals_fast, _read_intervals_lines

    for name, data in (("p.bed", text.encode()), ("p.bed.gz", gzip.compress(text.encode()))):
        path = tmp_path / name
        path.write_bytes(data)
        quick = _read_intervals_fast(path, SIZES)
        assert (quick is not None) == fast
        slow = _read_intervals_lines(path, SIZES, "peak file", False)
        read = read_intervals(path, SIZES)
        for key in ("chrom", "start", "end", "summit"):
            assert getattr(read, key).tolist() == getattr(slow, key).tolist()
        assert list(read.skipped_chroms.items()) == list(slow.skipped_chroms.items())
        assert list(read.skipped_first_line.items()) == list(slow.skipped_first_line.items())
        assert read.clamped_summits == slow.clamped_summits
