"""Generative models at tiny sizes: the autoencoder (variational, denoising), its embeddings and
linear probe; the WGAN-GP, its samples and the sequence statistics that compare them with real
DNA and the baselines."""

import h5py
import numpy as np
import pandas as pd
import pytest
from _utils import REPO, make_split

keras = pytest.importorskip("keras")

from deepcis import autoencoder, embeddings, gan, sequence_metrics  # noqa: E402
from deepcis.errors import InputError  # noqa: E402
from deepcis.keras_objects import load_model  # noqa: E402
from deepcis.models import resolve_hyperparameters  # noqa: E402

PLANTED = REPO / "resources" / "motifs" / "planted_motifs.jaspar"
QUICK = {"epochs": 2, "batch_size": 16, "early_stopping_patience": 5}


def _one_hot(n, length, seed=0):
    return np.eye(4, dtype=np.uint8)[np.random.default_rng(seed).integers(0, 4, (n, length))]


@pytest.fixture(scope="module")
def splits(tmp_path_factory):
    root = tmp_path_factory.mktemp("gen")
    return {s: make_split(root / f"{s}.h5", n, length=64, seed=i, tasks=("ap1", "gata"), split=s)
            for i, (s, n) in enumerate((("train", 96), ("valid", 48), ("test", 48)))}  # fmt: skip


def test_autoencoder_shapes_save_load_and_variational_code(tmp_path):
    hp = resolve_hyperparameters("autoencoder", 60, 1, {"conv_filters": [8, 8], "pool_size": [2, 4],
                                                         "latent_channels": 4, "variational": True})  # fmt: skip
    assert autoencoder.code_shape(60, hp) == (8, 4)  # 60 bp padded to 64, pooled by 8
    keras.utils.set_random_seed(0)
    model = autoencoder.build_autoencoder(60, hp)
    x = _one_hot(5, 60)
    p = model.predict(x.astype(np.float32), verbose=0)
    assert p.shape == (5, 60, 4)
    np.testing.assert_allclose(p.sum(axis=-1), 1, atol=1e-5)
    model.compile("adam", "categorical_crossentropy")
    model.fit(x.astype(np.float32), x.astype(np.float32), epochs=1, verbose=0)
    assert len(model.losses) == 1  # the KL term
    # inference uses the posterior mean: deterministic embeddings
    np.testing.assert_array_equal(autoencoder.embed(model, x), autoencoder.embed(model, x))
    path = tmp_path / "ae.keras"
    model.save(path)
    loaded = load_model(path)
    np.testing.assert_allclose(loaded.predict(x.astype(np.float32), verbose=0),
                               model.predict(x.astype(np.float32), verbose=0), atol=1e-6)  # fmt: skip
    dense = resolve_hyperparameters("autoencoder", 60, 1, {"conv_filters": [8], "bottleneck": 12})
    assert autoencoder.embed(autoencoder.build_autoencoder(60, dense), x).shape == (5, 12)


def test_corruption_and_accuracy_definitions():
    x = _one_hot(20, 50)
    x[0, :5] = 0  # N positions are never corrupted
    rng = np.random.default_rng(1)
    sub, hit = autoencoder.corrupt(x, "substitute", 0.3, rng)
    assert not hit[0, :5].any() and 0.2 < hit.mean() < 0.4
    assert (sub[hit].argmax(-1) != x[hit].argmax(-1)).all() and (sub[~hit] == x[~hit]).all()
    masked, hit = autoencoder.corrupt(x, "mask", 0.3, np.random.default_rng(1))
    assert (masked[hit] == 0).all()
    with pytest.raises(ValueError, match="substitute' or 'mask"):
        autoencoder.corrupt(x, "none", 0.1, rng)

    class Copy:  # a perfect identity "model": reconstructs its input
        def predict_on_batch(self, batch):
            return np.asarray(batch, np.float32)

    assert autoencoder.reconstruction_accuracy(Copy(), x) == 1.0
    scores = autoencoder.denoise_accuracy(Copy(), x, "substitute", 0.2, seed=2)
    assert scores["restored"] == 0.0 and scores["kept"] == 1.0 and scores["corrupted"] > 0


def test_train_autoencoder_embed_and_probe(splits, tmp_path):
    hp = {"conv_filters": [16], "kernel_size": 5, "pool_size": 2, "latent_channels": 4, "denoise": "substitute",
          "noise_rate": 0.1}  # fmt: skip
    info = autoencoder.train_autoencoder(splits["train"], splits["valid"], tmp_path / "ae", "ae", hp,
                                         QUICK | {"learning_rate": 0.01}, seed=3)  # fmt: skip
    assert info["epochs_run"] == 2 and info["code_shape"] == [32, 4]
    assert {p.name for p in (tmp_path / "ae").iterdir()} >= {"model.keras", "model.json", "history.tsv"}
    model = load_model(tmp_path / "ae" / "model.keras")
    table = autoencoder.evaluate_reconstruction(model, {"valid": splits["valid"]}, info["hyperparameters"], seed=1)
    assert table.loc[0, "reconstruction_accuracy"] > 0.3  # chance is 0.25; two epochs on 96 windows
    assert {"restored", "kept", "corrupted_bases"} <= set(table.columns)

    paths = {}
    for split, data in splits.items():
        paths[split] = tmp_path / f"{split}.emb.h5"
        embeddings.write_embeddings(tmp_path / "ae" / "model.keras", data, paths[split])
    emb = embeddings.read_embeddings(paths["test"])
    with h5py.File(splits["test"]) as f:  # row-aligned with the split
        np.testing.assert_array_equal(emb["start"], f["start"][()])
        np.testing.assert_array_equal(emb["y"], f["y"][()].astype(np.float32))
    assert emb["embedding"].shape == (48, 128) and emb["code_shape"] == [32, 4]
    codebook = embeddings.fit_codebook(emb["embedding"], emb["code_shape"], k=16, seed=0)
    counts = embeddings.probe_features(emb["embedding"], emb["code_shape"], codebook)
    assert counts.shape == (48, 16) and (counts.sum(axis=1) == 32).all()  # each of 32 positions has one word
    grid = (emb["embedding"].reshape(48, 32, 4) - codebook["mean"]) / codebook["scale"]
    nearest = ((grid[:, :, None, :] - codebook["centres"][None, None]) ** 2).sum(-1).argmin(-1)
    np.testing.assert_array_equal(counts, np.stack([np.bincount(r, minlength=16) for r in nearest]))
    assert embeddings.fit_codebook(np.zeros((3, 5)), [5], seed=0) is None  # a dense code is used as it is
    embeddings.projection_figure(paths["test"], tmp_path / "projection.png")
    assert (tmp_path / "projection.png").stat().st_size > 0
    untrained = embeddings.untrained_embeddings(info["hyperparameters"], 64, 3, splits)
    assert untrained["train"].shape == (96, 128)
    with pytest.raises(InputError, match="window length 80 differs from the autoencoder.s 64 bp"):
        bad = make_split(tmp_path / "bad.h5", 4, length=80)
        embeddings.write_embeddings(tmp_path / "ae" / "model.keras", bad, tmp_path / "bad.emb.h5")


def test_probe_learns_separable_features_and_writes_predictions(tmp_path):
    rng = np.random.default_rng(0)
    labels = {s: (rng.random((n, 2)) < 0.4).astype(np.float32) for s, n in (("train", 200), ("valid", 80), ("test", 80))}
    feats = {s: np.c_[y[:, :1] * 2 + rng.normal(0, 0.5, (len(y), 1)), rng.normal(0, 1, (len(y), 3))]
             for s, y in labels.items()}  # task 0 readable from feature 0; task 1 not at all
    out = embeddings.fit_probe(feats, labels, ["t0", "t1"], seed=0)
    table = embeddings.probe_table(["t0", "t1"], labels["test"], out["test"], np.full((80, 2), 0.5, np.float32),
                                   pd.DataFrame({"task": ["t0", "t1"], "auroc": [0.6, 0.5]}))  # fmt: skip
    assert table.loc[0, "auroc_trained"] > 0.9 and table.loc[0, "trained_better"]
    assert 0.3 < table.loc[1, "auroc_trained"] < 0.7 and table["auroc_kmer_baseline"].tolist() == [0.6, 0.5]
    emb = {"tasks": ["t0", "t1"], "y": labels["test"], "chrom": np.array(["c"] * 80, dtype=object),
           "start": np.arange(80), "end": np.arange(80) + 5, "attrs": {"split": "test", "window_length": 5}}  # fmt: skip
    embeddings.write_probe_predictions(tmp_path / "p.h5", emb, out["test"][:, 1:], ["t1"], {"predictor": "probe"})
    from deepcis.predict import read_predictions

    pred = read_predictions(tmp_path / "p.h5")
    assert pred.tasks == ["t1"] and np.array_equal(pred.y_true[:, 0], labels["test"][:, 1])


def test_gan_trains_samples_and_saves(splits, tmp_path):
    hp = {"length": 32, "latent_dim": 8, "filters": 8, "n_blocks": 2, "critic_steps": 2}
    settings = QUICK | {"epochs": 1, "learning_rate": 1e-3}
    info = gan.train_gan(splits["train"], splits["valid"], tmp_path / "g", "g", hp, settings, seed=5)
    history = pd.read_csv(tmp_path / "g" / "history.tsv", sep="\t")
    assert len(history) == 1 and info["generator_steps"] == (96 // 16) // 2
    assert np.isfinite(history[["critic_loss", "generator_loss", "wasserstein", "valid_wasserstein"]]).all().all()
    generator = load_model(tmp_path / "g" / "generator.keras")
    load_model(tmp_path / "g" / "critic.keras")
    x = gan.sample(generator, 10, seed=1)
    assert x.shape == (10, 32, 4) and (x.sum(-1) == 1).all()
    np.testing.assert_array_equal(x, gan.sample(generator, 10, seed=1))  # seeded
    again = gan.train_gan(splits["train"], splits["valid"], tmp_path / "g2", "g", hp, settings, seed=5)
    assert again["generator_steps"] == info["generator_steps"]
    np.testing.assert_array_equal(gan.sample(load_model(tmp_path / "g2" / "generator.keras"), 10, seed=1), x)
    with pytest.raises(ValueError, match="fewer than one batch"):
        gan.train_gan(splits["valid"], splits["valid"], tmp_path / "g3", "g", hp, QUICK | {"batch_size": 64}, seed=5)
    # output gumbel: the critic sees one-hots drawn from the softmax; samples are drawn the same way
    info = gan.train_gan(splits["train"], splits["valid"], tmp_path / "g4", "g", hp | {"output": "gumbel"}, settings,
                         seed=5)  # fmt: skip
    history = pd.read_csv(tmp_path / "g4" / "history.tsv", sep="\t")
    assert info["hyperparameters"]["output"] == "gumbel" and np.isfinite(history["valid_wasserstein"]).all()
    assert 0.25 <= history["max_probability"].iloc[0] <= 1
    generator = load_model(tmp_path / "g4" / "generator.keras")
    drawn = gan.sample(generator, 10, seed=1, output="gumbel")
    assert drawn.shape == (10, 32, 4) and (drawn.sum(-1) == 1).all()
    np.testing.assert_array_equal(drawn, gan.sample(generator, 10, seed=1, output="gumbel"))


@pytest.mark.parametrize("network", ["upsample", "resnet"])
def test_conditional_gan_takes_labels(splits, tmp_path, network):
    """condition: labels: generator and critic take each window's task labels; samples need label
    rows (drawn from the training split, seeded) and follow them."""
    hp = {"length": 32, "latent_dim": 8, "filters": 8, "n_blocks": 2, "critic_steps": 2, "condition": "labels",
          "network": network}  # fmt: skip
    info = gan.train_gan(splits["train"], splits["valid"], tmp_path / "g", "g", hp, QUICK | {"epochs": 1}, seed=5)
    assert info["condition_tasks"] == ["ap1", "gata"]
    assert np.isfinite(pd.read_csv(tmp_path / "g" / "history.tsv", sep="\t")["valid_wasserstein"]).all()
    generator = load_model(tmp_path / "g" / "generator.keras")
    critic = load_model(tmp_path / "g" / "critic.keras")
    assert gan.is_conditional(generator) and [tuple(i.shape) for i in critic.inputs] == [(None, 32, 4), (None, 2)]
    labels = gan.label_rows(splits["train"], 32, 10, seed=3)
    assert labels.shape == (10, 2) and set(np.unique(labels)) <= {0.0, 1.0}
    np.testing.assert_array_equal(labels, gan.label_rows(splits["train"], 32, 10, seed=3))
    x = gan.sample(generator, 10, seed=1, labels=labels)
    assert x.shape == (10, 32, 4) and (x.sum(-1) == 1).all()
    np.testing.assert_array_equal(x, gan.sample(generator, 10, seed=1, labels=labels))
    assert not np.array_equal(x, gan.sample(generator, 10, seed=1, labels=1 - labels))  # the labels steer it
    with pytest.raises(ValueError, match=r"needs labels of shape \(10, 2\); got None"):
        gan.sample(generator, 10, seed=1)
    with pytest.raises(ValueError, match="takes none"):
        gan.sample(gan.build_gan(32, resolve_hyperparameters("gan", 32, 1, hp | {"condition": "none"}))[0], 10, seed=1,
                   labels=labels)


def _scorer(path, tasks):
    """An untrained supervised model with deepcis metadata (guidance reads its tasks and window)."""
    from deepcis.keras_objects import with_metadata
    from deepcis.models import build_model

    with_metadata(build_model("mlp", 64, len(tasks), {"dense_units": [8]}), list(tasks), 64).save(path)
    return path


def test_activity_guided_gan_trains_towards_the_scorer(splits, tmp_path):
    """guidance: the scorer's cross-entropy on the generated sequences joins the generator's
    loss (logged per epoch); a scorer sharing no task with the labels, or guidance without
    labels or a scorer, is refused."""
    hp = {"length": 32, "latent_dim": 8, "filters": 8, "n_blocks": 2, "critic_steps": 2, "condition": "labels",
          "guidance": 2.0}  # fmt: skip
    info = gan.train_gan(splits["train"], splits["valid"], tmp_path / "g", "g", hp, QUICK | {"epochs": 1}, seed=5,
                         scorer_path=_scorer(tmp_path / "gata.keras", ["gata"]))  # fmt: skip
    assert info["guidance"]["tasks"] == ["gata"]
    guided = pd.read_csv(tmp_path / "g" / "history.tsv", sep="\t")["guided_loss"]
    assert np.isfinite(guided).all() and (guided > 0).all()
    with pytest.raises(ValueError, match="guidance needs condition: labels and a scorer"):
        gan.train_gan(splits["train"], splits["valid"], tmp_path / "h", "g", hp, QUICK, seed=5)
    with pytest.raises(ValueError, match=r"predicts \['ctcf'\], none of the labels \['ap1', 'gata'\]"):
        gan.train_gan(splits["train"], splits["valid"], tmp_path / "h", "g", hp, QUICK, seed=5,
                      scorer_path=_scorer(tmp_path / "ctcf.keras", ["ctcf"]))  # fmt: skip


def test_gan_critic_reads_the_scorers_first_filters_frozen(splits, tmp_path):
    """scorer_filters: the critic reads sequences through the scorer's first convolution, each
    filter rescaled to a kernel of norm 1 and left untouched by training (the linear unit on
    them learns); saved and loaded with them. A scorer without a convolution, filters wider than
    the sequences, or no scorer at all is refused."""
    from deepcis.keras_objects import with_metadata
    from deepcis.models import build_model

    scorer = build_model("deepbind", 64, 1, {"conv_filters": 6, "kernel_size": 9, "dense_units": 4})
    with_metadata(scorer, ["gata"], 64).save(tmp_path / "deepbind.keras")
    first = [np.asarray(w) for w in scorer.get_layer("conv1").get_weights()]
    hp = {"length": 32, "latent_dim": 8, "filters": 8, "n_blocks": 2, "critic_steps": 2, "network": "resnet",
          "scorer_filters": True}  # fmt: skip
    info = gan.train_gan(splits["train"], splits["valid"], tmp_path / "g", "g", hp, QUICK | {"epochs": 1}, seed=5,
                         scorer_path=tmp_path / "deepbind.keras")  # fmt: skip
    assert info["scorer_filters"] == str(tmp_path / "deepbind.keras")
    critic = load_model(tmp_path / "g" / "critic.keras")
    copied = critic.get_layer("critic_scorer_conv").get_weights()
    for got, want in zip(copied, gan.scale_filters(first)):
        np.testing.assert_array_equal(got, want)  # untouched by training
    ratio = first[0] / copied[0]  # each filter rescaled as a whole: it answers to the same sequences
    np.testing.assert_allclose(ratio, np.broadcast_to(ratio[:1, :1], ratio.shape), rtol=1e-5)
    np.testing.assert_allclose(np.sqrt((copied[0] ** 2).sum(axis=(0, 1))), 1.0, rtol=1e-5)
    initial = gan.build_gan(64, resolve_hyperparameters("gan", 64, 1, hp), 0, first)[1]
    assert not np.allclose(critic.get_layer("critic_scorer_score").get_weights()[0],
                           initial.get_layer("critic_scorer_score").get_weights()[0])  # fmt: skip
    conditional = resolve_hyperparameters("gan", 64, 1, hp | {"condition": "labels"})
    critic = gan.build_gan(64, conditional, 2, first)[1]  # the labels are projected onto both maxima
    assert tuple(critic.get_layer("critic_label_embedding").kernel.shape) == (2, 8 + 6)
    with pytest.raises(ValueError, match="scorer_filters needs a scorer"):
        gan.train_gan(splits["train"], splits["valid"], tmp_path / "h", "g", hp, QUICK, seed=5)
    with pytest.raises(ValueError, match=r"filters \(9 bp\) are wider than the generated sequences \(8 bp\)"):
        gan.train_gan(splits["train"], splits["valid"], tmp_path / "h", "g", hp | {"length": 8}, QUICK, seed=5,
                      scorer_path=tmp_path / "deepbind.keras")  # fmt: skip
    with pytest.raises(ValueError, match="has no convolution whose filters the critic could read"):
        gan.train_gan(splits["train"], splits["valid"], tmp_path / "h", "g", hp, QUICK, seed=5,
                      scorer_path=_scorer(tmp_path / "mlp.keras", ["gata"]))  # fmt: skip


def test_gan_ema_saves_the_average_and_leaves_training_alone(splits, tmp_path):
    """ema: the generator saved (and snapshotted) is a moving average of the trained weights;
    the training itself (the critic's losses, seeded) is the same as without it."""
    hp = {"length": 32, "latent_dim": 8, "filters": 8, "n_blocks": 2, "critic_steps": 2}
    seen = {}
    for decay in (0.0, 0.9):
        gan.train_gan(splits["train"], splits["valid"], tmp_path / str(decay), "g", hp | {"ema": decay},
                      QUICK | {"epochs": 2}, seed=5, on_epoch_end=lambda e, g, d=decay: seen.setdefault(d, g))  # fmt: skip
    plain, averaged = (pd.read_csv(tmp_path / str(d) / "history.tsv", sep="\t") for d in (0.0, 0.9))
    np.testing.assert_array_equal(plain["critic_loss"], averaged["critic_loss"])
    weights = [load_model(tmp_path / str(d) / "generator.keras").get_weights() for d in (0.0, 0.9)]
    assert not np.allclose(weights[0][0], weights[1][0])
    for saved, last in zip(weights[1], seen[0.9].get_weights()):  # the snapshot's generator is the average
        np.testing.assert_array_equal(saved, last)
    with pytest.raises(ValueError, match="'ema'"):
        resolve_hyperparameters("gan", 64, 1, hp | {"ema": 1.0})


def test_conditional_gan_labels_are_the_binary_tasks(tmp_path):
    """A file of binary and signal tasks (float labels, NaN = missing) conditions on its binary
    tasks only, a missing label as 0; a file of signal tasks only is refused by name."""
    from deepcis import dataset
    from deepcis.errors import InputError

    x = np.eye(4, dtype=np.uint8)[np.random.default_rng(0).integers(0, 4, (6, 20))]
    x[5, 8] = 0  # an N in the central 10 bases: the window is left out
    y = np.array([[1, 0.3, 0], [0, 2.5, np.nan], [1, 0, 1], [0, np.nan, 0], [np.nan, 1, 1], [1, 1, 1]], np.float32)
    attrs = {"genome": "synthetic", "genome_sha256": "0", "label_mode": "deepsea", "split": "train", "config_sha256": "0"}
    for name, tasks, labels in (("mixed", ["a", "signal", "b"], y), ("signal", ["signal"], y[:, 1:2])):
        with dataset.create_dataset(tmp_path / f"{name}.h5", 6, 20, tasks, attrs, label_dtype=np.float32) as f:
            dataset.write_rows(f, 0, x, labels, ["chr1"] * 6, np.arange(6) * 20, np.arange(6) * 20 + 20)
    tasks, columns = gan.label_columns(tmp_path / "mixed.h5")
    windows, labels = gan.real_windows(tmp_path / "mixed.h5", 10, columns=columns)
    assert tasks == ["a", "b"] and len(windows) == 5
    np.testing.assert_array_equal(labels, [[1, 0], [0, 0], [1, 1], [0, 0], [0, 1]])
    with pytest.raises(InputError, match=r"signal.h5.*every task of this file is a signal task"):
        gan.train_gan(tmp_path / "signal.h5", tmp_path / "signal.h5", tmp_path / "g", "g",
                      {"length": 16, "n_blocks": 2, "condition": "labels"}, QUICK, seed=1)  # fmt: skip


def test_gan_resnet_networks_build_save_and_load(tmp_path):
    """The resnet networks (Killoran et al.'s residual generator and critic at full length): no halving,
    so 6 blocks on 32 bases are allowed, which the upsampling network refuses; both networks
    save and load with safe_mode (the training loop is the same as the upsampling network's)."""
    hp = {"length": 32, "latent_dim": 8, "filters": 8, "n_blocks": 6, "network": "resnet"}
    with pytest.raises(ValueError, match="'n_blocks'=6 halves the sequence 6 times"):
        resolve_hyperparameters("gan", 64, 1, hp | {"network": "upsample"})
    generator, critic = gan.build_gan(64, resolve_hyperparameters("gan", 64, 1, hp))
    assert generator.output_shape == (None, 32, 4) and critic.output_shape == (None, 1)
    assert generator.get_layer("gen_res6_add") is not None and critic.get_layer("critic_res6_add") is not None
    for model in (generator, critic):
        model.save(tmp_path / f"{model.name}.keras")
    z = np.random.default_rng(0).standard_normal((3, 8)).astype(np.float32)
    np.testing.assert_allclose(load_model(tmp_path / "generator.keras")(z), generator(z), rtol=1e-6)


@pytest.mark.parametrize("condition", ["none", "labels"])
def test_gan_critic_max_scores_a_site_wherever_it_lies(tmp_path, condition):
    """critic_max: a linear unit on the critic's features' maximum over positions joins its
    score; that unit alone gives a site the same score at two positions (away from the edges),
    the flattened unit does not; the critic saves and loads with it."""
    hp = {"length": 48, "latent_dim": 8, "filters": 8, "n_blocks": 2, "network": "resnet", "critic_max": True,
          "condition": condition}  # fmt: skip
    _, critic = gan.build_gan(48, resolve_hyperparameters("gan", 48, 1, hp), n_labels=2)
    x = np.zeros((2, 48, 4), np.float32)
    x[:, :, 0] = 1
    for row, at in enumerate((16, 24)):  # a GATA site, 16 bp from either edge
        x[row, at : at + 4] = np.eye(4, dtype=np.float32)[[2, 0, 3, 0]]
    inputs = x if condition == "none" else [x, np.array([[1, 0], [1, 0]], np.float32)]
    kernel = critic.get_layer("critic_score").kernel
    assert not np.isclose(*np.asarray(critic(inputs)).ravel())  # the flattened unit weighs positions apart
    kernel.assign(np.zeros(kernel.shape, np.float32))
    first, second = np.asarray(critic(inputs)).ravel()
    assert first == pytest.approx(second, abs=1e-6) and critic.get_layer("critic_max_score") is not None
    critic.save(tmp_path / "critic.keras")
    np.testing.assert_allclose(load_model(tmp_path / "critic.keras")(inputs), critic(inputs), rtol=1e-6)


def test_draw_bases_argmax_or_drawn_from_the_soft_one_hot():
    p = np.tile(np.array([0.1, 0.6, 0.1, 0.2], np.float32), (200, 50, 1))
    assert (gan.draw_bases(p, "soft", np.random.default_rng(0)).argmax(-1) == 1).all()
    drawn = gan.draw_bases(p, "gumbel", np.random.default_rng(0))
    assert (drawn.sum(-1) == 1).all() and drawn.dtype == np.uint8
    np.testing.assert_allclose(drawn.mean(axis=(0, 1)), [0.1, 0.6, 0.1, 0.2], atol=0.01)  # 10,000 draws
    certain = np.eye(4, dtype=np.float32)[np.random.default_rng(1).integers(0, 4, (5, 30))]
    np.testing.assert_array_equal(gan.draw_bases(certain, "gumbel", np.random.default_rng(2)), certain)


def test_sequence_metrics_baselines_and_motifs(tmp_path):
    from deepcis.motifs import read_jaspar

    motifs = read_jaspar(PLANTED)
    # "real" DNA: a first-order Markov chain, AT-rich, with CpG depleted (a C is rarely followed by G)
    step = np.array([[0.4, 0.15, 0.15, 0.3], [0.35, 0.3, 0.02, 0.33], [0.3, 0.2, 0.2, 0.3], [0.3, 0.15, 0.2, 0.35]])
    rng = np.random.default_rng(1)
    codes = np.zeros((60, 100), int)
    for i in range(1, 100):
        codes[:, i] = [rng.choice(4, p=step[c]) for c in codes[:, i - 1]]
    real = np.eye(4, dtype=np.uint8)[codes]
    ctcf = motifs[0].consensus()
    planted = real.copy()
    from deepcis.genome import one_hot_sequence

    planted[:30, 50 : 50 + len(ctcf)] = one_hot_sequence(ctcf)
    sets = sequence_metrics.comparison_sets(planted, real, real, seed=0)
    assert set(sets) == {"generated", "real_heldout", "real_train", "uniform", "dinucleotide_shuffled"}
    table = sequence_metrics.compare_sets(sets, motifs=motifs).set_index("set")
    assert table.loc["real_heldout", "kmer4_distance"] == 0
    assert table.loc["uniform", "kmer4_distance"] > table.loc["dinucleotide_shuffled", "kmer4_distance"]
    assert abs(table.loc["uniform", "gc_mean"] - 0.5) < 0.03 and table.loc["real_train", "gc_mean"] < 0.45
    assert table.loc["generated", "matches_per_kb:CTCF"] >= 30 / 6  # 30 consensus instances in 6 kb
    assert table.loc["real_heldout", "matches_per_kb:CTCF"] < 1
    counts = sequence_metrics.kmer_spectrum(sets["uniform"], 2)
    assert counts.shape == (10,) and abs(counts.sum() - 1) < 1e-9
    shuffled = sets["dinucleotide_shuffled"]
    from deepcis.baseline import kmer_counts

    np.testing.assert_array_equal(kmer_counts(shuffled, (2,)), kmer_counts(sets["real_train"], (2,)))
    sequence_metrics.write_fasta(planted[:3], tmp_path / "s.fa", "gan")
    np.testing.assert_array_equal(sequence_metrics.read_fasta(tmp_path / "s.fa"), planted[:3])
    (tmp_path / "bad.fa").write_text(">a\nACGT\n>b\nACG\n")
    with pytest.raises(InputError, match="record 'b' has 3 bases"):
        sequence_metrics.read_fasta(tmp_path / "bad.fa")
