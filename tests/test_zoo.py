"""DeepBind and the transformer through the shared paths: ISM (fast where it applies, naive
fallback otherwise, equal numbers), variant scoring and prediction with reverse-complement
averaging, attention maps, and per_task entries merged for evaluation."""

import numpy as np
import pandas as pd
import pytest
from _utils import make_split

keras = pytest.importorskip("keras")

from deepcis.dataset import read_x  # noqa: E402
from deepcis.errors import InputError  # noqa: E402
from deepcis.ism import FastISM, ism, naive_ism  # noqa: E402
from deepcis.keras_objects import load_model, with_metadata  # noqa: E402
from deepcis.models import build_model  # noqa: E402

TRANSFORMER = {"stem_filters": [8, 16], "stem_pool_size": [4, 5], "n_heads": 2, "key_dim": 4, "ff_units": 16,
               "dense_units": 8}  # fmt: skip


def _window(length, seed=0):
    return np.eye(4, dtype=np.float32)[np.random.default_rng(seed).integers(0, 4, length)]


def _model(name, length, hp, seed=3):
    keras.utils.set_random_seed(seed)
    model = build_model(name, length, 2, hp)
    for layer in model.layers:  # random non-trivial batch-norm statistics
        if isinstance(layer, keras.layers.BatchNormalization):
            rng = np.random.default_rng(seed)
            layer.moving_mean.assign(rng.normal(0, 0.1, layer.moving_mean.shape))
            layer.moving_variance.assign(rng.uniform(0.5, 1.5, layer.moving_variance.shape))
    return model


def test_deepbind_fast_ism_equals_naive_and_max_avg_falls_back():
    x = _window(80)
    plain = _model("deepbind", 80, {"conv_filters": 4, "kernel_size": 9, "global_pool": "max", "dense_units": 4})
    FastISM(plain)  # one chain: conv1 is local, then global max -> dense (the suffix)
    np.testing.assert_allclose(ism(plain, x, method="fast"), naive_ism(plain, x), atol=2e-6)
    both = _model("deepbind", 80, {"conv_filters": 4, "kernel_size": 9, "dense_units": 4})  # max + average: a branch
    with pytest.raises(ValueError, match="one chain"):
        FastISM(both)
    np.testing.assert_allclose(ism(both, x, method="auto"), naive_ism(both, x), atol=2e-6)


def test_transformer_ism_falls_back_to_naive_automatically(caplog):
    model = _model("transformer", 80, TRANSFORMER)
    x = _window(80, seed=1)
    with pytest.raises(ValueError, match="one chain"):
        FastISM(model)  # residual blocks; attention reaches every position anyway
    with caplog.at_level("INFO", logger="deepcis.ism"):
        auto = ism(model, x, method="auto", reverse_complement=True)
    assert "using naive ISM" in caplog.text
    naive = naive_ism(model, x)
    rc = naive_ism(model, np.ascontiguousarray(x[::-1, ::-1]))
    np.testing.assert_allclose(auto, (naive + rc[::-1, ::-1]) / 2, atol=2e-6)
    assert np.abs(auto).max() > 0


def test_transformer_attention_scores_and_map(tmp_path):
    from _utils import write_fasta

    from deepcis.attention import attention_layers, attention_maps, attention_scores, resolution

    model = with_metadata(_model("transformer", 80, TRANSFORMER), ["a", "b"], 80)
    path = tmp_path / "model.keras"
    model.save(path)
    loaded = load_model(path)
    assert attention_layers(loaded) == [("block1_ln1", "block1_attention"), ("block2_ln1", "block2_attention")]
    assert resolution(loaded) == 20  # 80 bp pooled 4 x 5 -> 4 positions of 20 bp
    x = np.stack([_window(80, s) for s in range(3)])
    scores = attention_scores(loaded, x)
    assert scores.shape == (3, 2, 2, 4, 4)
    np.testing.assert_allclose(scores.sum(axis=-1), 1, atol=1e-5)
    assert not np.allclose(scores[0], scores[1])  # depends on the window
    genome = write_fasta(tmp_path / "g.fa", {"chr1": "ACGT" * 50})
    windows = pd.DataFrame({"chrom": ["chr1", "chr1"], "start": [0, 40], "end": [80, 120], "task": ["a", "b"]})
    out = attention_maps(path, genome, windows, tmp_path / "attention.h5", tmp_path / "attention.png")
    assert out == {"windows": 2, "blocks": 2, "heads": 2, "positions": 4}
    assert (tmp_path / "attention.png").stat().st_size > 0
    with pytest.raises(InputError, match="not a transformer"):
        attention_layers(build_model("deepbind", 80, 1, {"kernel_size": 9}))


def test_new_models_predict_and_score_variants_with_rc_averaging(tmp_path):
    """predict_dataset and variant scoring take the new models as any other (their file has
    the task metadata); predictions are the mean of both strands."""
    from _utils import write_fasta

    from deepcis.predict import predict_dataset, read_predictions
    from deepcis.variants import score_variants

    data = make_split(tmp_path / "test.h5", 24, length=80, tasks=("ap1", "gata"), split="test")
    genome = write_fasta(tmp_path / "g.fa", {"chr1": "".join(np.random.default_rng(4).choice(list("ACGT"), 400))})
    vcf = tmp_path / "v.vcf"
    seq = open(genome).read().split("\n", 1)[1].replace("\n", "")
    vcf.write_text("##fileformat=VCFv4.2\n##contig=<ID=chr1,length=400>\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n"
                   + "".join(f"chr1\t{p}\tv{p}\t{seq[p - 1]}\t{'A' if seq[p - 1] != 'A' else 'C'}\t.\t.\t.\n"
                             for p in (100, 200, 300)))  # fmt: skip
    for name, hp in (("deepbind", {"conv_filters": 4, "kernel_size": 9, "dense_units": 4}), ("transformer", TRANSFORMER)):
        model = with_metadata(_model(name, 80, hp), ["ap1", "gata"], 80)
        path = tmp_path / f"{name}.keras"
        model.save(path)
        out = tmp_path / f"{name}.pred.h5"
        predict_dataset(path, data, out, batch_size=8, reverse_complement=True)
        pred = read_predictions(out)
        import h5py

        with h5py.File(data) as f:
            x = read_x(f).astype(np.float32)
        expected = (model.predict(x, verbose=0) + model.predict(x[:, ::-1, ::-1], verbose=0)) / 2
        np.testing.assert_allclose(pred.y_pred, expected, atol=1e-5)
        effects = score_variants(path, genome, vcf, tmp_path / f"{name}.tsv.gz", tmp_path / f"{name}.vcf.gz")
        table = pd.read_csv(tmp_path / f"{name}.tsv.gz", sep="\t")
        assert len(table) == 6 and set(table["task"]) == {"ap1", "gata"}, effects


def test_per_task_predictions_merge_side_by_side(tmp_path):
    from deepcis.per_task import merge_predictions, merged_info
    from deepcis.predict import create_predictions, read_predictions, write_prediction_rows

    def write(path, task, values, start=0):
        with create_predictions(path, 3, [task], {"split": "test"}) as f:
            write_prediction_rows(f, 0, ["chr1"] * 3, np.arange(3) + start, np.arange(3) + 10, np.ones((3, 1)),
                                  np.array(values, np.float32)[:, None])  # fmt: skip
        return path

    a = write(tmp_path / "a.h5", "A", [0.1, 0.2, 0.3])
    b = write(tmp_path / "b.h5", "B", [0.7, 0.8, 0.9])
    merge_predictions([a, b], tmp_path / "m.h5", "db")
    merged = read_predictions(tmp_path / "m.h5")
    assert merged.tasks == ["A", "B"] and merged.attrs["predictor"] == "per_task"
    np.testing.assert_allclose(merged.y_pred, [[0.1, 0.7], [0.2, 0.8], [0.3, 0.9]], atol=1e-7)
    other = write(tmp_path / "c.h5", "C", [0, 0, 0], start=5)
    with pytest.raises(InputError, match="windows differ"):
        merge_predictions([a, other], tmp_path / "x.h5", "db")
    with pytest.raises(InputError, match="same task twice"):
        merge_predictions([a, a], tmp_path / "y.h5", "db")
    infos = {}
    for m, seconds in (("db__A", 10.0), ("db__B", 5.5)):
        infos[m] = tmp_path / f"{m}.json"
        infos[m].write_text(f'{{"architecture": "deepbind", "tasks": ["{m[-1]}"], "train_seconds": {seconds}, '
                            '"epochs_run": 4, "best_epoch": 3, "devices": {"kind": "CPU"}}')  # fmt: skip
    info = merged_info(infos, tmp_path / "per_task.json", "db")
    assert info["train_seconds"] == 15.5 and info["epochs_run"] == "4/4" and info["tasks"] == ["A", "B"]
