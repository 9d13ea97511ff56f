"""Benchmark of the WGAN-GP on the bundled example (not a test): how real its samples look.

Trains one GAN setting with the library calls of rules train_gan, sample_generative and
evaluate_generative (deepcis.gan.train_gan, deepcis.gan.sample,
deepcis.sequence_metrics.evaluate_generated) on an example run's encoded splits, then prints
the comparison table (generated, real held-out, real training, uniform, dinucleotide-shuffled)
and the issue's two targets, met or MISSED with the numbers:

- the 4-mer spectrum of the samples closer to the real held-out windows' than both baselines';
- the planted-motif match rate (per kb) within 30% of the real training windows'.

    .venv/bin/python bench/gan_science.py --encoded /tmp/run/results/encode --out /tmp/gan-a
        --hp '{"length": 200, "output": "gumbel"}' --train '{"epochs": 60, "learning_rate": 1e-4}'

--encoded: a folder with train.h5, valid.h5 and test.h5 of the example (results/encode of a run
of config/config.yaml). The exit status is 0 whether the targets are met or not (this measures,
it does not gate). --reuse evaluates the generator already in --out without training.
--snapshot-every N samples and evaluates the generator every N epochs into --out/epoch_NNN and
prints the targets (a long run stopped early still leaves numbers).
"""

from __future__ import annotations

import argparse
import json
import logging
import time
from pathlib import Path

import pandas as pd

REPO = Path(__file__).resolve().parents[1]
PLANTED = REPO / "resources" / "motifs" / "planted_motifs.jaspar"


def verdicts(table: pd.DataFrame) -> list[str]:
    """The issue's two targets for a GAN, met or MISSED, with their numbers."""
    metrics = table.set_index("set")
    lines = []
    for k in (4, 6):
        d = metrics[f"kmer{k}_distance"]
        closer = d["generated"] < min(d["uniform"], d["dinucleotide_shuffled"])
        tag = ("met" if closer else "MISSED") if k == 4 else ("closer" if closer else "not closer")
        lines.append(f"{k}-mer spectrum closer to real held-out than both baselines: {tag} (generated "
                     f"{d['generated']:.3f}, uniform {d['uniform']:.3f}, dinucleotide-shuffled "
                     f"{d['dinucleotide_shuffled']:.3f}, real training {d['real_train']:.3f})")  # fmt: skip
    rate = metrics["motif_matches_per_kb"]
    off = rate["generated"] / rate["real_train"] - 1
    lines.append(f"planted-motif rate within 30% of the real training windows': "
                 f"{'met' if abs(off) <= 0.3 else 'MISSED'} ({rate['generated']:.2f} vs "
                 f"{rate['real_train']:.2f} per kb, {off:+.0%})")  # fmt: skip
    return lines


def evaluate(generator, output: str, folder: Path, args) -> pd.DataFrame:
    """Sample the generator, write samples.fa and metrics.tsv in `folder`; the metrics table."""
    from deepcis.gan import is_conditional, label_rows, sample
    from deepcis.sequence_metrics import evaluate_generated, write_fasta

    folder.mkdir(parents=True, exist_ok=True)
    labels = None
    if is_conditional(generator):  # the training split's mix of labels, as rule sample_generative
        labels = label_rows(args.encoded / "train.h5", int(generator.outputs[0].shape[1]), args.samples, args.seed)
    x = sample(generator, args.samples, args.seed, output=output, labels=labels)
    write_fasta(x, folder / "samples.fa", "gan")
    table, _ = evaluate_generated(folder / "samples.fa", args.encoded / "train.h5", args.encoded / "test.h5",
                                  args.seed, motifs_path=PLANTED)  # fmt: skip
    table.to_csv(folder / "metrics.tsv", sep="\t", index=False, float_format="%.6g")
    return table


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--encoded", type=Path, required=True, help="results/encode of an example run")
    parser.add_argument("--out", type=Path, required=True, help="folder for the generator, samples and metrics")
    parser.add_argument("--hp", default="{}", help="GAN hyperparameters (JSON), e.g. '{\"length\": 200}'")
    parser.add_argument("--train", default="{}", help="training settings (JSON), e.g. '{\"epochs\": 60}'")
    parser.add_argument("--samples", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--scorer", type=Path, help="a trained supervised model.keras for activity guidance "
                        "(hyperparameter guidance > 0, condition labels)")
    parser.add_argument("--reuse", action="store_true", help="evaluate the generator in --out, no training")
    parser.add_argument("--snapshot-every", type=int, default=0,
                        help="every N epochs sample and evaluate the generator into --out/epoch_NNN (0: never)")  # fmt: skip
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")  # the epochs' progress

    from deepcis.gan import train_gan
    from deepcis.keras_objects import load_model

    out = args.out.resolve()
    output = json.loads(args.hp).get("output", "soft")

    def snapshot(epoch, generator):
        # a long run stopped at a deadline still leaves the numbers of its last snapshot
        if args.snapshot_every and epoch % args.snapshot_every == 0:
            table = evaluate(generator, output, out / f"epoch_{epoch:03d}", args)
            print(f"epoch {epoch}: " + "; ".join(verdicts(table)), flush=True)

    if not args.reuse:
        start = time.process_time()
        info = train_gan(args.encoded / "train.h5", args.encoded / "valid.h5", out, "gan", json.loads(args.hp),
                         json.loads(args.train), seed=args.seed, threads=args.threads,
                         on_epoch_end=snapshot, scorer_path=args.scorer)  # fmt: skip
        print(f"trained: {info['epochs_run']} epochs, {info['generator_steps']} generator steps, "
              f"{info['train_seconds']:.0f} s wall, {time.process_time() - start:.0f} s CPU")  # fmt: skip
    info = json.loads((out / "model.json").read_text())
    output = info["hyperparameters"].get("output", "soft")
    table = evaluate(load_model(out / "generator.keras"), output, out, args)
    print(f"hyperparameters {json.dumps(info['hyperparameters'])}\ntraining {json.dumps(info['training'])}")
    columns = ["set", "kmer4_distance", "kmer6_distance", "gc_mean", "gc_sd", "motif_matches_per_kb",
               "fraction_with_match"]  # fmt: skip
    print(table[columns].round(3).to_string(index=False))
    print("\n".join(verdicts(table)))


if __name__ == "__main__":
    main()
