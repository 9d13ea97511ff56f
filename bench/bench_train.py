"""Benchmark of the training loop against a plain Keras model (not a timed test).

For each architecture (published default sizes), prints from one run, with the models timed in
turn within each round (so drift on a shared machine hits all alike):
- the real training loop (`model.fit` fed by deepcis.batches streaming block-shuffled,
  reverse-complement augmented batches from an HDF5 file, as `train_model` does);
- deepcis' bare compiled train step (`train_on_batch`) on the same batches held in memory;
- a plain reference: the same layers in plain Keras (no regularisers or constraints, Keras'
  own binary cross-entropy, no metadata layer; deepcis.parity), the same optimizer and batches;
and the ratios real / bare (target >= 0.9: the loader keeps up) and bare / plain (target
>= 0.95: deepcis' step costs no more than the published recipe must). `--ablate` adds deepcis'
model with one extra switched off at a time (regularisers, max-norm, masked loss, metadata
layer) and `--add-one` the plain model with one extra switched on at a time, to show where the
time goes; every variant is timed in the same alternating rounds (ABC.., ..CBA), best of each.
Two clocks: samples/s (wall) and samples per CPU-second of this process (all its threads),
which moves far less than the wall clock when other jobs load the machine.

    .venv/bin/python bench/bench_train.py --models deepsea basset danq --batches 10
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def measure(architecture, args, tmp):
    """{name: {"wall": samples/s, "cpu": samples per CPU-second}}: "real loop", "deepcis" (bare
    step), "plain" and the variants; and the parameter counts of deepcis' and the plain model."""
    from deepcis import parity
    from deepcis.batches import BatchConfig, HDF5Batches
    from deepcis.training import tf_dataset

    path = Path(tmp) / f"{architecture}.h5"
    n = args.batches * args.batch_size
    parity.write_random_dataset(path, n, args.length, args.tasks)
    models = parity.variants(architecture, args.length, args.tasks, args.optimizer, ablate=args.ablate,
                             add_one=args.add_one, keras_penalties=args.keras_penalties, xla=args.xla)  # fmt: skip
    # The bare steps read the same rows as the loop, held in memory (float32, as the loop feeds them).
    in_memory = [(x.astype("float32"), y) for x, y in HDF5Batches(path, BatchConfig(batch_size=args.batch_size, shuffle=False)).iterate(0)]
    streamed = HDF5Batches(path, BatchConfig(batch_size=args.batch_size, in_memory_bytes=0, reverse_complement=True, seed=1))
    real_model = models["deepcis"]
    real_model.fit(tf_dataset(streamed, lambda: 0), epochs=1, verbose=0, shuffle=False)  # warm-up epoch
    for model in models.values():  # tracing, not timed
        model.train_on_batch(*in_memory[0])

    def real_loop(round_):
        wall, cpu = time.perf_counter(), time.process_time()
        real_model.fit(tf_dataset(streamed, lambda: 1 + round_), epochs=1, verbose=0, shuffle=False)
        return {"wall": n / (time.perf_counter() - wall), "cpu": n / (time.process_time() - cpu)}

    best = {name: {"wall": 0.0, "cpu": 0.0} for name in ["real loop", *models]}

    def keep(name, rates):
        best[name] = {clock: max(best[name][clock], rate) for clock, rate in rates.items()}

    for round_ in range(args.rounds):  # ABC.. then ..CBA: drift hits every variant alike
        forward = round_ % 2 == 0
        order = list(models) if forward else list(models)[::-1]
        if forward:
            keep("real loop", real_loop(round_))
        for name, rates in parity.time_steps_clocks({k: models[k] for k in order}, in_memory, rounds=1, warm_up=False).items():
            keep(name, rates)
        if not forward:
            keep("real loop", real_loop(round_))
    streamed.close()
    return best, real_model.count_params(), models["plain"].count_params()


def report(architecture, rates, params, plain_params):
    """Print one architecture's rates (wall and CPU clocks) and ratios."""
    bare, plain = rates["deepcis"], rates["plain"]

    def row(label, name, against=None, against_label=""):
        wall, cpu = rates[name]["wall"], rates[name]["cpu"]
        ratio = "" if against is None else (f"  {wall / against['wall']:5.2f}x {against_label} (wall)"
                                            f" {cpu / against['cpu']:5.2f}x (cpu)")  # fmt: skip
        print(f"  {label:45s} {wall:8.1f} {cpu:8.1f}{ratio}")

    print(f"\n{architecture} ({params / 1e6:.1f} M parameters; plain reference {plain_params / 1e6:.1f} M)")
    print(f"  {'':45s} {'samples/s':>8s} {'per cpu-s':>8s}")
    row("real loop, streamed from HDF5", "real loop")
    row("deepcis bare train step, batches in memory", "deepcis", plain, "plain")
    row("plain Keras reference, same batches", "plain")
    for name in rates:
        if name.endswith("[Keras' penalties]") and not name.startswith("+ "):
            row("deepcis bare step, Keras' L2 and MaxNorm", name, plain, "plain")
    if "deepcis [XLA]" in rates:
        row("deepcis bare step, XLA (train.xla)", "deepcis [XLA]", plain, "plain")
        row("plain Keras reference, XLA", "plain [XLA]", plain, "plain")
        row("deepcis bare step, XLA, against plain XLA", "deepcis [XLA]", rates["plain [XLA]"], "plain XLA")
    for name in rates:
        if name.startswith("no "):
            row(f"deepcis, {name}", name, bare, "deepcis")
    for name in rates:
        if name.startswith("+ "):
            row(f"plain {name}", name, plain, "plain")
    for clock in ("wall", "cpu"):
        real = rates["real loop"][clock]
        print(f"  {clock:4s}: real / bare {real / bare[clock]:.2f} (target >= 0.9); bare / plain "
              f"{bare[clock] / plain[clock]:.2f} (target >= 0.95); real / plain {real / plain[clock]:.2f}")  # fmt: skip
    print(f"  load average after: {os.getloadavg()[0]:.2f}", flush=True)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", nargs="+", default=["deepsea", "basset", "danq"])
    parser.add_argument("--batches", type=int, default=10, help="batches per measurement")
    parser.add_argument("--rounds", type=int, default=2, help="alternating rounds; the best of each is kept")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--length", type=int, default=1000)
    parser.add_argument("--tasks", type=int, default=919)
    parser.add_argument("--optimizer", default="adam", help="deepcis' default; the plain model uses the same")
    parser.add_argument("--ablate", action="store_true", help="also time deepcis with one extra off at a time")
    parser.add_argument("--add-one", action="store_true", help="also time the plain model with one extra on at a time")
    parser.add_argument("--keras-penalties", action="store_true",
                        help="also time deepcis (and each '+ l2' / '+ max_norm') with Keras' own L2 and MaxNorm: the "
                             "step before issue 16's fused penalties")  # fmt: skip
    parser.add_argument("--xla", action="store_true",
                        help="also time deepcis and the plain model compiled with XLA (train.xla)")
    parser.add_argument("--threads", type=int, default=len(os.sched_getaffinity(0)))
    args = parser.parse_args(argv)
    from deepcis.training import configure_runtime

    configure_runtime(args.threads, seed=0, deterministic=False)
    print(f"cpus: {len(os.sched_getaffinity(0))}; batch {args.batch_size} x {args.length} bp, {args.tasks} tasks, "
          f"{args.optimizer}, {args.batches} batches per measurement (best of {args.rounds} alternating rounds); "
          f"load average {os.getloadavg()[0]:.2f}")  # fmt: skip
    with tempfile.TemporaryDirectory() as tmp:
        for architecture in args.models:
            report(architecture, *measure(architecture, args, tmp))


if __name__ == "__main__":
    main()
