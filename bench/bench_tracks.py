"""Benchmark of genome tracks (not a timed test): predict_tracks end to end vs raw predict.

For each genome size (random sequence, two chromosomes; a DeepSEA-shaped model), one child
process runs `deepcis.tracks.predict_tracks` on the whole chromosomes (tiling at the stride,
reading and one-hot encoding the genome block by block, both strands, one bigWig per task)
and reports windows/s and its peak RSS. Another child, in the same run and alternating with
it, times the reference: one `model.predict` call on ready one-hot windows, 2 per tiled
window (forward and reverse complement; capped at --max-ref-windows, it is a rate). The
ratio (2 x tiled windows/s) / (reference windows/s) should be >= 0.85; the peak RSS of the
tracks child should not grow with the genome.

    .venv/bin/python bench/bench_tracks.py --sizes 2000000,6000000
"""

from __future__ import annotations

import argparse
import os
import tempfile
from pathlib import Path

from bench_variants import COMMON, PREDICT_CHILD, child, write_genome

TRACKS_CHILD = COMMON + r"""
t = time.perf_counter()
import keras  # the library imports it lazily; a job pays this once, as model.predict's does
from deepcis.genome import Genome
from deepcis.tracks import predict_tracks, whole_chromosomes
import_seconds = time.perf_counter() - t
t = time.perf_counter()
with Genome({genome!r}) as g:
    regions = whole_chromosomes(g.chrom_sizes, {length})
s = predict_tracks({model!r}, {genome!r}, regions, {out!r}, {stride}, batch_size={batch})
print(json.dumps({{"seconds": time.perf_counter() - t, "import_seconds": import_seconds, "windows": s["windows"],
                  "max_rss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}}))
"""


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="2000000,6000000", help="genome sizes (bp, two chromosomes), comma-separated")
    parser.add_argument("--stride", type=int, default=200)
    parser.add_argument("--length", type=int, default=1000, help="model window length")
    parser.add_argument("--tasks", type=int, default=10)
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--max-ref-windows", type=int, default=60_000)
    parser.add_argument("--rounds", type=int, default=2, help="(reference, deepcis) rounds; best of each")
    parser.add_argument("--tmp", default=None)
    args = parser.parse_args()
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import keras

    from deepcis.keras_objects import with_metadata
    from deepcis.models import build_model

    with tempfile.TemporaryDirectory(dir=args.tmp) as tmp:
        tmp = Path(tmp)
        keras.utils.set_random_seed(0)
        hp = {"conv_filters": [32, 32], "kernel_size": 8, "pool_size": 4, "dropout": 0.1, "dense_units": 32}
        model = with_metadata(build_model("deepsea", args.length, args.tasks, hp), [f"t{i}" for i in range(args.tasks)], args.length)
        model.save(tmp / "model.keras")
        print(f"model: deepsea {hp}, window {args.length} bp, {args.tasks} tasks, stride {args.stride}; "
              f"batch {args.batch_size}; cpus {len(os.sched_getaffinity(0))}")
        for size in (int(s) for s in args.sizes.split(",")):
            genome = tmp / f"g{size}.fa"
            write_genome(genome, 2, size // 2, seed=size)
            tracks = TRACKS_CHILD.format(model=str(tmp / "model.keras"), genome=str(genome), out=str(tmp / f"bw{size}"),
                                         length=args.length, stride=args.stride, batch=args.batch_size)  # fmt: skip
            refs, runs = [], []
            for _ in range(args.rounds):
                runs.append(child(tracks))
                n_ref = min(2 * runs[-1]["windows"], args.max_ref_windows)
                refs.append(child(PREDICT_CHILD.format(model=str(tmp / "model.keras"), n=n_ref, length=args.length,
                                                       batch=args.batch_size)))  # fmt: skip
            ref_rate = max(r["windows"] / r["seconds"] for r in refs)
            res = min(runs, key=lambda r: r["seconds"])
            rate = res["windows"] / res["seconds"]
            print(f"\n{size:,} bp genome: {res['windows']:,} windows")
            print(f"  reference: model.predict on ready windows: {ref_rate:,.0f} windows/s "
                  f"(= {ref_rate / 2:,.0f} tiled windows/s at 2 strands per window)")
            print(f"  predict_tracks end to end (model load, tiling, genome reads, both strands, bigWigs): "
                  f"{res['seconds']:.1f} s, {rate:,.0f} windows/s, peak RSS {max(r['max_rss_kb'] for r in runs) / 1024:,.0f} MB "
                  f"(+ {res['import_seconds']:.1f} s to import TensorFlow/Keras, not counted)")
            print(f"  ratio {2 * rate / ref_rate:.2f} (target >= 0.85)")


if __name__ == "__main__":
    main()
