"""External Keras models: sidecar checks, parse-time refusals, the wrapper (alphabet, layout,
logits) equal to the raw model, safe and unsafe loading, and a workflow run that trains nothing
and evaluates, scores, interprets (ISM, attributions, DeepLIFT) and tracks an imported model."""

import json
import os
import re

import numpy as np
import pytest
import yaml
from _utils import SHARED_DATA, copy_workflow, run_snakemake, toy_inputs, write_bed

from deepcis.config import validate_config
from deepcis.dataset import read_x
from deepcis.errors import ConfigError, InputError
from deepcis.external import Sidecar, check_external_stages, peek_keras_file, read_sidecar, to_model_input

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def tiny_keras_model(window: int, n_out: int, layout: str = "Lx4", final: str = "sigmoid", seed: int = 0, lam=False):
    """Conv -> global max -> Dense: a stand-in for a colleague's model."""
    import keras
    from keras import layers

    keras.utils.set_random_seed(seed)
    inputs = keras.Input((window, 4) if layout == "Lx4" else (4, window))
    x = inputs if layout == "Lx4" else layers.Permute((2, 1))(inputs)
    x = layers.Conv1D(8, 7, activation="relu")(x)
    if lam:
        x = layers.Lambda(lambda t: t * 2.0, name="lambda")(x)  # fixed name: auto-names count up per process
    x = layers.GlobalMaxPooling1D()(x)
    out = layers.Dense(n_out, activation=final)(x)
    return keras.Model(inputs, out)


def write_sidecar(path, **fields):
    path.write_text(yaml.safe_dump(fields))
    return path


# --------------------------------------------------------------------------------------
# Sidecars (no TensorFlow)
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "fields, message",
    [
        ({"tasks": ["a"], "window_length": 100, "alphabet": "ACGN"}, r"alphabet 'ACGN' is not an order of the four bases"),
        ({"tasks": ["a"], "window_length": 100, "alphabet": "ACG"}, "not an order of the four bases"),
        ({"tasks": ["a", "a"], "window_length": 100}, r"task name 'a' appears twice \(outputs 1 and 2\)"),
        ({"tasks": ["a b"], "window_length": 100}, "holds whitespace"),
        ({"tasks": [], "window_length": 100}, "names no task"),
        ({"window_length": 100}, "either as tasks"),
        ({"tasks": ["a"]}, "window_length must be a positive integer"),
        ({"tasks": ["a"], "window_length": 100, "layout": "L4"}, "layout 'L4' is not one of Lx4, 4xL"),
        ({"tasks": ["a"], "window_length": 100, "output": "softmax"}, "output 'softmax' is not one of probabilities, logits"),
        ({"tasks": ["a"], "window_length": 100, "strand": "+"}, r"unknown key\(s\) \['strand'\]"),
    ],
)
def test_bad_sidecars(tmp_path, fields, message):
    path = write_sidecar(tmp_path / "m.yaml", **fields)
    with pytest.raises(InputError, match=message):
        read_sidecar(path)


def test_sidecar_json_tasks_file_and_converter_defaults(tmp_path):
    (tmp_path / "names.txt").write_text("# output order\nGM12878.CTCF\nK562.GATA1\n")
    (tmp_path / "m.json").write_text(json.dumps({"tasks_file": "names.txt", "window_length": 600, "layout": "4 x L"}))
    side = read_sidecar(tmp_path / "m.json")
    assert side.tasks == ["GM12878.CTCF", "K562.GATA1"] and side.layout == "4xL" and side.alphabet == "ACGT"
    assert side.files == [str(tmp_path / "m.json"), str(tmp_path / "names.txt")]
    write_sidecar(tmp_path / "t.yaml", tasks=["a"], window_length=1000)
    assert read_sidecar(tmp_path / "t.yaml", "kipoi_deepsea").alphabet == "AGCT"
    write_sidecar(tmp_path / "t.yaml", tasks=["a"], window_length=1000, output="logits")
    with pytest.raises(InputError, match="output is fixed by the converter 'kipoi_deepsea'"):
        read_sidecar(tmp_path / "t.yaml", "kipoi_deepsea")


def test_model_input_in_the_model_alphabet_and_layout():
    side = Sidecar("s", ["a"], 3, "TGCA", "4xL")
    x = np.eye(4, dtype=np.float32)[[[0, 1, 3]]]  # A C T
    # channels T G C A: A -> channel 3, C -> 2, T -> 0; then (4, L)
    assert to_model_input(x, side)[0].T.tolist() == [[0, 0, 0, 1], [0, 0, 1, 0], [1, 0, 0, 0]]


# --------------------------------------------------------------------------------------
# Parse-time checks (validate_config; no TensorFlow)
# --------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def keras_files(tmp_path_factory):
    """A .keras and an .h5 model (200 bp, 2 outputs), a model with a Lambda layer, sidecars."""
    d = tmp_path_factory.mktemp("external")
    tiny_keras_model(200, 2).save(d / "m.keras")
    tiny_keras_model(200, 2, layout="4xL", final="linear").save(d / "m.h5")
    tiny_keras_model(200, 2, lam=True).save(d / "lam.keras")
    write_sidecar(d / "m.yaml", tasks=["T1", "T2"], window_length=200)
    write_sidecar(d / "h5.yaml", tasks=["T1", "T2"], window_length=200, alphabet="AGCT", layout="4xL", output="logits")
    return d


def _config(d, external: dict, **extra) -> dict:
    return {"genome": "g.fa", "tasks": None, "models": {"ext": {"external": external}}} | extra


def test_peek_without_tensorflow(keras_files):
    keras_peek = peek_keras_file(keras_files / "m.keras")
    assert keras_peek.input_shape == (None, 200, 4) and keras_peek.output_units == 2 and keras_peek.lambdas == []
    h5_peek = peek_keras_file(keras_files / "m.h5")
    assert h5_peek.input_shape == (None, 4, 200) and h5_peek.output_units == 2
    assert peek_keras_file(keras_files / "lam.keras").lambdas == ["lambda"]


def test_config_fills_tasks_and_architecture(keras_files):
    cfg = validate_config(_config(keras_files, {"file": str(keras_files / "m.keras"), "sidecar": str(keras_files / "m.yaml")}))
    spec = cfg["models"]["ext"]
    assert spec["tasks"] == ["T1", "T2"] and spec["architecture"] == "external"
    assert validate_config(cfg)["models"]["ext"]["tasks"] == ["T1", "T2"]  # idempotent


@pytest.mark.parametrize(
    "sidecar, model, extra, message",
    [
        ({"tasks": ["T1", "T2"], "window_length": 300}, "m.keras", {},
         r"input shape \(None, 200, 4\) does not fit the sidecar .* \(window_length 300, layout Lx4.*reads windows of 200 bp"),
        ({"tasks": ["T1", "T2", "T3"], "window_length": 200}, "m.keras", {},
         r"the model has 2 outputs per window but the sidecar .* names 3 task\(s\)"),
        ({"tasks": ["T1", "T2"], "window_length": 200}, "m.h5", {}, r"\(None, 4, 200\) .* the shape fits layout 4xL"),
        ({"tasks": ["T1", "T2"], "window_length": 200}, "lam.keras", {},
         r"Lambda layer\(s\) \['lambda'\].*set models.ext.external.allow_unsafe: true"),
        ({"tasks": ["T1", "T2"], "window_length": 200, "alphabet": "ACGU"}, "m.keras", {}, "alphabet 'ACGU'"),
        ({"tasks": ["T1", "T2"], "window_length": 200}, "m.keras", {"architecture": "deepsea"},
         "models.ext.architecture: an external model takes its architecture"),
        ({"tasks": ["T1", "T2"], "window_length": 200}, "m.keras", {"train": {"epochs": 3}},
         "models.ext.train: an external model is not trained here"),
    ],
)
def test_config_refuses_sidecars_that_do_not_fit(keras_files, tmp_path, sidecar, model, extra, message):
    write_sidecar(tmp_path / "s.yaml", **sidecar)
    cfg = _config(keras_files, {"file": str(keras_files / model), "sidecar": str(tmp_path / "s.yaml")})
    cfg["models"]["ext"] |= extra
    with pytest.raises(ConfigError, match=message):
        validate_config(cfg)


def test_config_refuses_missing_files_and_trained_models_without_a_sheet(keras_files, tmp_path):
    ext = {"file": str(tmp_path / "weights.pth"), "sidecar": str(keras_files / "m.yaml"), "converter": "selene_deepsea",
           "origin": "Download it from https://example.org/weights.pth"}  # fmt: skip
    with pytest.raises(ConfigError, match=r"external.file: .*weights.pth not found. Download it from https://example.org"):
        validate_config(_config(keras_files, ext))
    (tmp_path / "weights.pth").write_bytes(b"")
    with pytest.raises(ConfigError, match="window_length 40 is too short for selene_deepsea"):
        validate_config(_config(keras_files, ext | {"sidecar": str(write_sidecar(tmp_path / "s.yaml", tasks=["a"], window_length=40))}))
    with pytest.raises(ConfigError, match="is not a Keras model file"):
        validate_config(_config(keras_files, {"file": str(tmp_path / "weights.pth"), "sidecar": str(keras_files / "m.yaml")}))
    cfg = _config(keras_files, {"file": str(keras_files / "m.keras"), "sidecar": str(keras_files / "m.yaml")})
    cfg["models"]["cnn"] = {"architecture": "deepsea"}
    with pytest.raises(ConfigError, match=r"config key tasks: a tasks sheet is required to train model\(s\) \['cnn'\]"):
        validate_config(cfg)
    cfg["tasks"] = "tasks.tsv"
    cfg["models"]["cnn"] = {"transfer": {"source": "ext"}}
    with pytest.raises(ConfigError, match="'ext' is an external Keras model, wrapped as it is"):
        validate_config(cfg)


def test_stages_that_read_datasets_refuse_a_model_that_cannot(keras_files):
    base = _config(keras_files, {"file": str(keras_files / "m.keras"), "sidecar": str(keras_files / "m.yaml")})
    cfg = validate_config(base | {"prepare": {"window_length": 200}})
    check_external_stages(cfg, ["T1", "T2", "T3"])  # its tasks are the sheet's: fine
    cfg = validate_config(base | {"interpret": {"models": ["ext"]}})
    with pytest.raises(ConfigError, match=r"interpret.models .*\['ext'\] cannot read the HDF5 datasets: there is no tasks sheet"):
        check_external_stages(cfg, [])
    cfg = validate_config(base | {"interpret": {"enabled": False, "deeplift": {"enabled": True, "models": ["ext"]}}})
    with pytest.raises(ConfigError, match=r"interpret.deeplift.models: model\(s\) \['ext'\] .*window is not prepare"):
        check_external_stages(cfg, ["T1", "T2"])


# --------------------------------------------------------------------------------------
# The import (TensorFlow)
# --------------------------------------------------------------------------------------


def test_wrapped_h5_model_equals_the_raw_model(keras_files, tmp_path):
    """AGCT, 4 x L and logits handled inside the wrapper; the file loads in safe mode and carries
    the sidecar's tasks and window."""
    import keras

    from deepcis.external import import_model
    from deepcis.keras_objects import load_model, model_metadata

    info = import_model({"file": str(keras_files / "m.h5"), "sidecar": str(keras_files / "h5.yaml")}, tmp_path / "ext")
    assert info["self_check"]["random_windows"] == 4 and info["architecture"] == "external"
    wrapped = load_model(tmp_path / "ext" / "model.keras")
    assert model_metadata(wrapped)["tasks"] == ["T1", "T2"] and wrapped.name == "ext"
    raw = keras.saving.load_model(keras_files / "m.h5", compile=False)
    rng = np.random.default_rng(5)
    x = np.eye(4, dtype=np.float32)[rng.integers(0, 4, (6, 200))]
    logits = np.asarray(raw.predict_on_batch(np.ascontiguousarray(x[..., [0, 2, 1, 3]].transpose(0, 2, 1))))
    np.testing.assert_allclose(wrapped.predict_on_batch(x), 1 / (1 + np.exp(-logits)), rtol=1e-5, atol=1e-6)
    saved = json.loads((tmp_path / "ext" / "model.json").read_text())
    assert saved["alphabet"] == "AGCT" and saved["layout"] == "4xL" and saved["allow_unsafe"] is False


def test_lambda_model_needs_allow_unsafe_and_warns(keras_files, tmp_path, capfd):
    from deepcis.external import import_model
    from deepcis.keras_objects import load_model

    ext = {"file": str(keras_files / "lam.keras"), "sidecar": str(keras_files / "m.yaml")}
    with pytest.raises(InputError, match=r"Lambda layer\(s\) \['lambda'\].*allow_unsafe"):
        import_model(ext, tmp_path / "lam")
    assert not (tmp_path / "lam" / "model.keras").exists()
    import_model(ext | {"allow_unsafe": True}, tmp_path / "lam")
    assert "WARNING: loading" in capfd.readouterr().err
    model = load_model(tmp_path / "lam" / "model.keras")  # unsafe: its model.json says so
    assert model.outputs[0].shape[-1] == 2


def test_import_checks_what_the_saved_config_cannot_tell(tmp_path):
    """A model ending in an Activation layer (no Dense units to read at parse time): its width is
    checked on the loaded model; logits declared as probabilities are caught."""
    import keras
    from keras import layers

    from deepcis.external import import_model

    inputs = keras.Input((100, 4))
    x = layers.Dense(3)(layers.GlobalAveragePooling1D()(layers.Conv1D(4, 5)(inputs)))
    keras.Model(inputs, layers.Activation("linear")(x)).save(tmp_path / "m.keras")
    write_sidecar(tmp_path / "s.yaml", tasks=["a", "b"], window_length=100)
    with pytest.raises(InputError, match="the model has 3 outputs per window but the sidecar"):
        import_model({"file": str(tmp_path / "m.keras"), "sidecar": str(tmp_path / "s.yaml")}, tmp_path / "out")
    inputs = keras.Input((100, 4))
    x = layers.Dense(2, kernel_initializer=keras.initializers.Constant(5.0))(layers.Flatten()(inputs))
    keras.Model(inputs, x).save(tmp_path / "logits.keras")
    with pytest.raises(InputError, match="says output: probabilities, but on random windows the model outputs values"):
        import_model({"file": str(tmp_path / "logits.keras"), "sidecar": str(tmp_path / "s.yaml")}, tmp_path / "out")


# --------------------------------------------------------------------------------------
# The workflow: nothing trained, every downstream stage on the imported model
# --------------------------------------------------------------------------------------


@pytest.mark.slow
def test_workflow_evaluates_scores_interprets_and_tracks_an_external_model(tmp_path):
    import keras

    work = copy_workflow(tmp_path / "wf")
    genome, peaks, _ = toy_inputs(tmp_path)
    sheet = tmp_path / "tasks.tsv"
    sheet.write_text("name\tpeaks\n" + "".join(f"{t}\t{p}\n" for t, p in peaks.items()))
    raw = tiny_keras_model(200, 2, layout="4xL", final="linear", seed=3)
    raw.save(tmp_path / "colleague.h5")
    write_sidecar(tmp_path / "colleague.yaml", tasks=["T1", "T2"], window_length=200, alphabet="TGCA", layout="4xL",
                  output="logits")  # fmt: skip
    vcf = tmp_path / "snvs.vcf"
    seq = {r.split("\n", 1)[0]: r.split("\n", 1)[1].replace("\n", "") for r in genome.read_text().split(">")[1:]}
    rows = [f"chr3\t{p}\tv{p}\t{seq['chr3'][p - 1]}\t{'A' if seq['chr3'][p - 1] != 'A' else 'C'}\t.\tPASS\t."
            for p in (5_000, 12_000, 20_000, 31_000)]  # fmt: skip
    vcf.write_text("##fileformat=VCFv4.2\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n" + "\n".join(rows) + "\n")
    regions = write_bed(tmp_path / "regions.bed", [("chr3", 10_000, 13_000)])
    cfg = {
        "genome": str(genome), "tasks": str(sheet), "seed": 1,
        "prepare": {"window_length": 200, "deepsea": {"bin_size": 100}},
        "split": {"mode": "chromosomes", "valid": ["chr2"], "test": ["chr3"]},
        "encode": {"chunks": 1}, "baseline": {"enabled": False}, "evaluate": {"splits": ["valid"]},
        "models": {"colleague": {"external": {"file": str(tmp_path / "colleague.h5"),
                                              "sidecar": str(tmp_path / "colleague.yaml")}}},
        "variants": {"vcf": str(vcf), "chunks": 1, "format": "both"},  # both effect files; the readers take the matrix
        "interpret": {"windows": "variants", "n_per_task": 1, "plot_windows": 2, "ig_steps": 4, "reverse_complement": False,
                      "deeplift": {"enabled": True, "max_windows": 3, "n_shuffles": 2}, "modisco": {"enabled": False}},
        "tracks": {"enabled": True, "regions": str(regions), "stride": 100},
        "threads": {"train": 1, "predict": 1, "score": 1, "interpret": 1},
    }  # fmt: skip
    (work / "ext.yaml").write_text(yaml.safe_dump(cfg))
    result = run_snakemake(work, "--configfile", "ext.yaml")
    assert "import_model" in result.stdout + result.stderr
    assert not (work / "logs" / "train").exists()  # no overfit_one_batch, no train_model
    assert not (work / "results" / "interpret" / "colleague" / "filter_matches.tsv").exists()  # no conv of its own
    for path in ("evaluate/colleague/valid.metrics.tsv", "score/colleague/effects.tsv.gz", "score/colleague/effects.h5",
                 "interpret/colleague/ism.h5",
                 "interpret/colleague/attributions.h5", "interpret/colleague/contributions.h5",
                 "tracks/colleague/tracks.tsv", "report/run_info.html"):  # fmt: skip
        assert (work / "results" / path).is_file(), path
    # the workflow's predictions are the colleague's model on its own alphabet and layout
    from deepcis.genome import reverse_complement
    from deepcis.predict import read_predictions

    preds = read_predictions(work / "results" / "evaluate" / "colleague" / "valid.predictions.h5")
    import h5py

    with h5py.File(work / "results" / "encode" / "valid.h5", "r") as f:
        x = read_x(f, slice(0, 64)).astype(np.float32)
    side = read_sidecar(tmp_path / "colleague.yaml")
    raw = keras.saving.load_model(tmp_path / "colleague.h5", compile=False)

    def prob(windows):
        return 1 / (1 + np.exp(-np.asarray(raw.predict_on_batch(to_model_input(windows, side)), np.float64)))

    want = (prob(x) + prob(reverse_complement(x))) / 2
    np.testing.assert_allclose(preds.y_pred[:64], want, rtol=1e-4, atol=1e-5)
    assert preds.tasks == ["T1", "T2"]
    # DeepLIFT walks into the nested model: exact (no integrated-gradients fallback), summation checked
    import pandas as pd

    contributions = pd.read_csv(work / "results" / "interpret" / "colleague" / "contributions.tsv", sep="\t")
    assert set(contributions["method"]) == {"deeplift_shap"}
    assert (contributions["max_summation_error"] <= contributions["tolerance"]).all()
    # the import job logs through start_job, and its params are the external section only: a
    # variants change rescores without re-importing (issue 13)
    assert "colleague: external model, 2 tasks, 200 bp" in (work / "logs" / "import" / "import_model.colleague.log").read_text()
    (work / "edited.yaml").write_text(yaml.safe_dump(cfg | {"variants": cfg["variants"] | {"background": 20}}))
    plan = run_snakemake(work, "-n", "--configfile", "edited.yaml").stdout
    jobs = set(re.findall(r"^(?:local)?rule (\w+):", plan, re.M))
    assert "score_chunk" in jobs and not jobs & {"import_model", "encode_chunk", "prepare_windows"}, sorted(jobs)


@pytest.mark.skipif(not SHARED_DATA.is_dir(), reason="../shared/data is not beside this checkout")
def test_published_deepsea_config_dry_runs(tmp_path):
    """Without the weights the dry run says what is missing and where it comes from; with a file in
    place it plans the import and the scoring, and no prepare, encode or training job."""
    work = copy_workflow(tmp_path / "wf")
    cfg = yaml.safe_load((work / "config" / "published_deepsea" / "config.yaml").read_text())
    shared = "../shared/data/"
    cfg["genome"] = str(SHARED_DATA / cfg["genome"][len(shared):])
    cfg["variants"]["vcf"] = str(SHARED_DATA / cfg["variants"]["vcf"][len(shared):])
    (work / "pub.yaml").write_text(yaml.safe_dump(cfg))
    result = run_snakemake(work, "-n", "--configfile", "pub.yaml", check=False)
    text = result.stdout + result.stderr
    assert result.returncode != 0
    assert "models.deepsea.external.file: resources/published/deepsea_variant_effects.pth not found" in text
    assert "https://zenodo.org/record/1466993/files/deepsea_variant_effects.pth" in text
    weights = work / "resources" / "published" / "deepsea_variant_effects.pth"
    weights.parent.mkdir(parents=True)
    weights.write_bytes(b"placeholder: a dry run does not read it")
    text = run_snakemake(work, "-n", "--configfile", "pub.yaml").stdout
    jobs = dict(line.split() for line in text.split("Job stats:")[1].split("total")[0].splitlines()[3:] if line.strip())
    # the input check: groups data (the genome) and vcf, and its report table
    assert jobs == {"bgzip_vcf": "1", "import_model": "1", "score_chunk": "2", "gather_scores": "1",
                    "plot_top_effects": "1", "top_effects_table": "1", "run_info": "1", "all": "1",
                    "check_inputs": "2", "input_check_table": "1"}  # fmt: skip
