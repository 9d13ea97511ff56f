"""UCSC 2bit genomes: the structural check that refuses a corrupt file, and a FASTA -> 2bit writer.

    check_twobit("hg38.2bit")                   # {name: length}; InputError naming file and record
    fasta_to_twobit("genome.fa", "genome.2bit") # N and other IUPAC codes -> N blocks, lowercase -> mask blocks

Reading is py2bit's (`deepcis.genome.Genome` opens a 2bit like a FASTA). The check runs first
because py2bit trusts the offsets in the file: a truncated or garbled file would be read past
its end. Format (https://genome.ucsc.edu/FAQ/FAQformat.html#format7): a 16-byte header
(signature 0x1A412743, version, count, reserved), an index of (name, offset), then per record
dnaSize, N blocks, mask blocks, a reserved word and the bases packed 4 per byte (T C A G = 0-3,
first base in the high bits). Version 0 offsets are 32-bit, version 1 ("-long") 64-bit.
"""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np

from .errors import InputError
from .io_utils import atomic_path

SIGNATURE = 0x1A412743
MAGICS = (struct.pack("<I", SIGNATURE), struct.pack(">I", SIGNATURE))

# ASCII code -> 2-bit code (T C A G = 0 1 2 3); every other code packs as T under an N block.
_PACK = np.zeros(256, dtype=np.uint8)
for _code, _base in enumerate("TCAG"):
    _PACK[ord(_base)] = _PACK[ord(_base.lower())] = _code
_IS_BASE = np.zeros(256, dtype=bool)
_IS_BASE[[ord(c) for c in "ACGTacgt"]] = True


def is_twobit(path) -> bool:
    """Whether the file starts with the 2bit signature (either byte order)."""
    with open(path, "rb") as handle:
        return handle.read(4) in MAGICS


def check_twobit(path) -> dict[str, int]:
    """Sequence names and lengths of a 2bit file after checking that every index entry and
    record lies inside the file; InputError naming the file and the record otherwise."""
    path = Path(path)
    size = path.stat().st_size
    with open(path, "rb") as handle:
        header = handle.read(16)
        if len(header) < 16 or header[:4] not in MAGICS:
            raise InputError(path, "not a 2bit file (no 0x1A412743 signature in its 16-byte header)")
        order = "<" if header[:4] == MAGICS[0] else ">"
        version, count, _ = struct.unpack(order + "III", header[4:])
        if version not in (0, 1):
            raise InputError(path, f"corrupt 2bit file: unknown version {version} in the header")
        offset_format = order + ("Q" if version == 1 else "I")
        offset_size = struct.calcsize(offset_format)
        if count == 0:
            raise InputError(path, "2bit file holds no sequences")
        if 16 + count * (2 + offset_size) > size:
            raise InputError(
                path,
                f"corrupt 2bit file: the header announces {count} sequences, more than the file can index ({size} bytes; truncated?)",
            )
        index = []
        for number in range(1, count + 1):
            name_size = handle.read(1)
            name = handle.read(name_size[0]) if name_size else b""
            raw_offset = handle.read(offset_size)
            if not name_size or len(name) < name_size[0] or len(raw_offset) < offset_size:
                raise InputError(path, f"corrupt 2bit file: index entry {number} of {count} is cut off (truncated?)")
            index.append((name.decode("ascii", "replace"), struct.unpack(offset_format, raw_offset)[0]))
        lengths = {}
        for name, offset in index:
            handle.seek(offset)
            dna_size_n = handle.read(8)
            if offset < 16 or len(dna_size_n) < 8:
                raise InputError(
                    path, f"corrupt 2bit file: record {name!r} starts at byte {offset}, outside the file ({size} bytes)"
                )
            dna_size, n_blocks = struct.unpack(order + "II", dna_size_n)
            handle.seek(offset + 8 + 8 * n_blocks)
            raw_mask = handle.read(4)
            if len(raw_mask) < 4:
                raise InputError(
                    path,
                    f"corrupt 2bit file: record {name!r} announces {n_blocks} N blocks past the end of the file (truncated?)",
                )
            (mask_blocks,) = struct.unpack(order + "I", raw_mask)
            end = offset + 8 + 8 * n_blocks + 4 + 8 * mask_blocks + 4 + (dna_size + 3) // 4
            if end > size:
                raise InputError(
                    path,
                    f"corrupt 2bit file: record {name!r} ({dna_size} bp) ends at byte {end}, past the end of the file ({size} bytes; truncated?)",
                )
            if name in lengths:
                raise InputError(path, f"corrupt 2bit file: sequence name {name!r} appears twice in the index")
            lengths[name] = dna_size
    return lengths


def _blocks(flags: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Starts and sizes of the runs of True in a boolean array."""
    edges = np.diff(np.concatenate([[0], flags.view(np.int8), [0]]))
    starts = np.flatnonzero(edges == 1)
    return starts.astype(np.uint32), (np.flatnonzero(edges == -1) - starts).astype(np.uint32)


def encode_record(codes: np.ndarray) -> bytes:
    """One 2bit record (after its index entry) of a sequence given as ASCII codes."""
    codes = np.asarray(codes, dtype=np.uint8)
    n_starts, n_sizes = _blocks(~_IS_BASE[codes])
    mask_starts, mask_sizes = _blocks(codes >= ord("a"))
    packed = _PACK[codes]
    packed = np.concatenate([packed, np.zeros(-packed.size % 4, dtype=np.uint8)]).reshape(-1, 4)
    dna = (packed[:, 0] << 6) | (packed[:, 1] << 4) | (packed[:, 2] << 2) | packed[:, 3]
    parts = [struct.pack("<II", codes.size, n_starts.size), n_starts.astype("<u4").tobytes(), n_sizes.astype("<u4").tobytes(),
             struct.pack("<I", mask_starts.size), mask_starts.astype("<u4").tobytes(), mask_sizes.astype("<u4").tobytes(),
             struct.pack("<I", 0), dna.astype(np.uint8).tobytes()]  # fmt: skip
    return b"".join(parts)


def fasta_to_twobit(fasta_path, out_path) -> dict[str, int]:
    """Convert an indexed FASTA (plain or bgzip) to 2bit, one chromosome in memory at a time;
    returns {name: length}. Like UCSC's faToTwoBit, IUPAC codes other than ACGT become N."""
    from .genome import Genome

    with Genome(fasta_path) as genome:
        sizes = genome.chrom_sizes
        names = [name.encode("ascii") for name in sizes]
        too_long = [name for name in names if len(name) > 255]
        if too_long:
            raise InputError(fasta_path, f"sequence name {too_long[0][:40]!r}... is longer than 2bit's 255 bytes")
        # Record sizes are known before encoding, so the index is written first.
        offset = 16 + sum(1 + len(name) + 4 for name in names)
        offsets = []
        for name, length in sizes.items():
            offsets.append(offset)
            codes = genome.fetch(name, 0, length)
            lowercase_runs = _blocks(codes >= ord("a"))[0].size
            n_runs = _blocks(~_IS_BASE[codes])[0].size
            offset += 16 + 8 * (n_runs + lowercase_runs) + (length + 3) // 4
        if offset >= 1 << 32:
            raise InputError(fasta_path, "genome too large for a version-0 2bit file (over 4 GiB); use UCSC faToTwoBit -long")
        with atomic_path(out_path) as tmp, open(tmp, "wb") as out:
            out.write(struct.pack("<IIII", SIGNATURE, 0, len(names), 0))
            for name, record_offset in zip(names, offsets):
                out.write(struct.pack("<B", len(name)) + name + struct.pack("<I", record_offset))
            for name, length in sizes.items():
                out.write(encode_record(genome.fetch(name, 0, length)))
    return sizes


def main(argv=None) -> int:
    """`python -m deepcis.twobit genome.fa genome.2bit`: convert a FASTA to 2bit."""
    import argparse

    parser = argparse.ArgumentParser(
        prog="python -m deepcis.twobit", description="Convert an indexed FASTA (plain or bgzip) to UCSC 2bit."
    )
    parser.add_argument("fasta")
    parser.add_argument("twobit")
    args = parser.parse_args(argv)
    try:
        sizes = fasta_to_twobit(args.fasta, args.twobit)
    except InputError as error:
        parser.exit(2, f"error: {error}\n")
    print(f"{args.twobit}: {len(sizes)} sequences, {sum(sizes.values())} bp")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
