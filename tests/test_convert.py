"""PyTorch state dicts of Selene's DeepSEA, the original DeepSEA (Kipoi) and Kipoi's Basset ->
deepcis Keras models: equal outputs to 1e-5 on random and real windows; bad files refused
naming the first offending key with both shapes."""

import numpy as np
import pytest
import torch
from _torch_models import NonStrandSpecific, SeleneDeepSEA, kipoi_basset, kipoi_deepsea, randomise
from _utils import SHARED_DATA

from deepcis.convert import convert_state_dict, deepsea_positions, main
from deepcis.errors import InputError
from deepcis.genome import Genome
from deepcis.predict import predict_windows

CHR22 = SHARED_DATA / "hg19_chr22_20-21Mb_encode_dream" / "genome" / "chr22_20000000_21000000.fa"
TOL = 1e-5


def windows(length: int, n_random: int = 4, n_real: int = 4, seed: int = 0) -> np.ndarray:
    """Random one-hot windows (one with an N stretch: all-zero rows) and real hg19 chr22 windows."""
    rng = np.random.default_rng(seed)
    x = np.eye(4, dtype=np.float32)[rng.integers(0, 4, (n_random, length))]
    x[0, 10:30] = 0
    if not CHR22.is_file():
        pytest.skip("../shared/data is not beside this checkout (real hg19 windows)")
    with Genome(CHR22) as genome:
        chrom = next(iter(genome.chrom_sizes))
        starts = np.sort(rng.integers(100_000, 900_000, 10 * n_real))
        real = genome.one_hot_windows(chrom, starts, length).astype(np.float32)
    real = real[real.sum(axis=(1, 2)) == length][:n_real]  # windows without N
    assert len(real) == n_real
    return np.concatenate([x, real])


def torch_predict(model, x_torch: np.ndarray) -> np.ndarray:
    with torch.no_grad():
        return model(torch.from_numpy(np.ascontiguousarray(x_torch))).numpy()


def test_selene_deepsea_checkpoint_of_a_non_strand_specific_model(tmp_path):
    """Selene's checkpoint (state_dict of NonStrandSpecific(DeepSEA): keys model.*): the converted
    model equals DeepSEA on one strand, and deepcis' reverse-complement averaging equals
    NonStrandSpecific's mean."""
    length, tasks = 240, [f"t{i}" for i in range(6)]
    net = randomise(SeleneDeepSEA(length, len(tasks)), seed=1)
    with torch.no_grad():
        net.classifier[2].weight.mul_(60)  # spread the outputs: a wrong mapping shows
    wrapped = NonStrandSpecific(net).eval()
    torch.save({"state_dict": wrapped.state_dict(), "epoch": 3, "arch": "DeepSEA"}, tmp_path / "best_model.pth.tar")
    model, info = convert_state_dict(tmp_path / "best_model.pth.tar", "selene_deepsea", tasks, length)
    assert info["architecture"] == "deepsea" and info["hyperparameters"]["dense_units"] == len(tasks)
    x = windows(length)
    ours = np.asarray(model.predict_on_batch(x))
    ref = torch_predict(net, x.transpose(0, 2, 1))
    assert ref.std() > 0.05
    np.testing.assert_allclose(ours, ref, atol=TOL, rtol=0)
    both = predict_windows(model, x, reverse_complement_average=True)
    np.testing.assert_allclose(both, torch_predict(wrapped, x.transpose(0, 2, 1)), atol=TOL, rtol=0)


def test_original_deepsea_full_size_from_kipoi(tmp_path):
    """The published DeepSEA shape (919 tasks, 1000 bp, 925 hidden units, AGCT, nn.Threshold(0,
    1e-6)) inside Kipoi's wrapper (keys 1.*), converted and compared at full size."""
    tasks = [f"f{i}" for i in range(919)]
    net = randomise(kipoi_deepsea(919, 1000), seed=2)
    with torch.no_grad():
        net[14][1].weight.mul_(30)
    torch.save(torch.nn.Sequential(torch.nn.Identity(), net).state_dict(), tmp_path / "deepsea.pth")
    model, info = convert_state_dict(tmp_path / "deepsea.pth", "kipoi_deepsea", tasks, 1000)
    assert deepsea_positions(1000) == 53 and info["alphabet"] == "AGCT"
    assert model.count_params() == sum(p.numel() for p in net.parameters())
    x = windows(1000, n_random=3, n_real=3)
    ours = np.asarray(model.predict_on_batch(x))
    ref = torch_predict(net, x[..., [0, 2, 1, 3]].transpose(0, 2, 1)[:, :, None, :])  # A G C T, (N, 4, 1, L)
    assert ref.shape == (6, 919) and ref.std() > 0.05
    np.testing.assert_allclose(ours, ref, atol=TOL, rtol=0)


def test_kipoi_basset_batch_norm_and_flatten_order(tmp_path):
    """Basset's conv and dense biases before batch norm, Torch's epsilon, and the channel-major
    flatten: equal to the Torch model with random batch-norm statistics."""
    tasks = [f"dhs{i}" for i in range(7)]
    net = randomise(kipoi_basset(len(tasks), 600), seed=3)
    with torch.no_grad():
        net[21][1].weight.mul_(3)
    torch.save(net.state_dict(), tmp_path / "basset.pth")
    model, _ = convert_state_dict(tmp_path / "basset.pth", "kipoi_basset", tasks, 600)
    x = windows(600)
    ref = torch_predict(net, x.transpose(0, 2, 1)[..., None])  # (N, 4, L, 1)
    assert ref.std() > 0.05
    np.testing.assert_allclose(np.asarray(model.predict_on_batch(x)), ref, atol=TOL, rtol=0)


def _fake_state(shapes: dict) -> dict:
    return {k: torch.zeros(s) for k, s in shapes.items()}


SELENE_200 = {  # Selene's DeepSEA at 200 bp (3 positions after the convolutions), 2 tasks
    "conv_net.0.weight": (320, 4, 8), "conv_net.0.bias": (320,), "conv_net.4.weight": (480, 320, 8),
    "conv_net.4.bias": (480,), "conv_net.8.weight": (960, 480, 8), "conv_net.8.bias": (960,),
    "classifier.0.weight": (2, 2880), "classifier.0.bias": (2,), "classifier.2.weight": (2, 2),
    "classifier.2.bias": (2,),
}  # fmt: skip


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda s: s.pop("conv_net.4.bias"), r"missing key 'conv_net.4.bias' \(expected shape \(480,\)\)"),
        (lambda s: s.update({"model.conv_net.0.weight": s.pop("conv_net.0.weight")}),
         r"missing key 'conv_net.0.weight' \(expected shape \(320, 4, 8\)\)"),
        (lambda s: s.update({"extra.weight": torch.zeros(3, 3)}), r"unexpected key 'extra.weight' \(shape \(3, 3\)\)"),
        (lambda s: s.update({"classifier.0.weight": torch.zeros(2, 3840)}),
         r"key 'classifier.0.weight' has shape \(2, 3840\), expected \(2, 2880\).*2 task\(s\) and window_length 200"),
        (lambda s: s.update({"conv_net.0.weight": torch.zeros(320, 4, 9)}),
         r"key 'conv_net.0.weight' has shape \(320, 4, 9\), expected \(320, 4, 8\)"),
    ],
    ids=["missing", "one-key-prefixed", "unexpected", "window-or-tasks", "kernel"],
)
def test_bad_state_dicts_name_the_first_offending_key(tmp_path, change, message):
    state = _fake_state(SELENE_200)
    change(state)
    torch.save(state, tmp_path / "bad.pth")
    with pytest.raises(InputError, match=message):
        convert_state_dict(tmp_path / "bad.pth", "selene_deepsea", ["a", "b"], 200)


def test_sidecar_task_count_not_fitting_the_file(tmp_path):
    torch.save(_fake_state(SELENE_200), tmp_path / "sd.pth")
    with pytest.raises(InputError, match=r"key 'classifier.0.weight' has shape \(2, 2880\), expected \(3, 2880\)"):
        convert_state_dict(tmp_path / "sd.pth", "selene_deepsea", ["a", "b", "c"], 200)


def test_files_that_are_not_state_dicts(tmp_path):
    torch.save(SeleneDeepSEA(200, 2), tmp_path / "whole_model.pth")  # a pickled module: code, refused
    with pytest.raises(InputError, match="weights_only=True"):
        convert_state_dict(tmp_path / "whole_model.pth", "selene_deepsea", ["a", "b"], 200)
    (tmp_path / "text.pth").write_text("not torch")
    with pytest.raises(InputError, match="cannot read it as a PyTorch state dict"):
        convert_state_dict(tmp_path / "text.pth", "selene_deepsea", ["a", "b"], 200)
    torch.save([torch.zeros(2)], tmp_path / "list.pth")
    with pytest.raises(InputError, match="holds a list, not a state dict"):
        convert_state_dict(tmp_path / "list.pth", "selene_deepsea", ["a", "b"], 200)
    with pytest.raises(InputError, match="state dict file not found"):
        convert_state_dict(tmp_path / "absent.pth", "selene_deepsea", ["a", "b"], 200)
    with pytest.raises(ValueError, match="too short for selene_deepsea"):
        convert_state_dict(tmp_path / "absent.pth", "selene_deepsea", ["a", "b"], 60)


def test_command_line_writes_a_model_folder(tmp_path, capsys):
    from deepcis.keras_objects import load_model, model_metadata

    net = randomise(SeleneDeepSEA(200, 2), seed=4)
    torch.save(net.state_dict(), tmp_path / "sd.pth")
    (tmp_path / "side.yaml").write_text("tasks: [GATA1, TAL1]\nwindow_length: 200\n")
    assert main(["selene_deepsea", str(tmp_path / "sd.pth"), "--sidecar", str(tmp_path / "side.yaml"),
                 "--out", str(tmp_path / "gata")]) == 0  # fmt: skip
    assert "wrote" in capsys.readouterr().out
    model = load_model(tmp_path / "gata" / "model.keras")
    assert model_metadata(model) == {"tasks": ["GATA1", "TAL1"], "window_length": 200,
                                     "encoding": "one-hot ACGT (N = all-zero)"}  # fmt: skip
    x = windows(200, 2, 2)
    np.testing.assert_allclose(model.predict_on_batch(x), torch_predict(net, x.transpose(0, 2, 1)), atol=TOL)
    (tmp_path / "side.yaml").write_text("tasks: [GATA1]\nwindow_length: 200\n")
    assert main(["selene_deepsea", str(tmp_path / "sd.pth"), "--sidecar", str(tmp_path / "side.yaml"),
                 "--out", str(tmp_path / "bad")]) == 1  # fmt: skip
    assert "expected (1, 2880)" in capsys.readouterr().out


def test_threshold_relu_deepsea_loads_safely_and_keeps_fast_ism_and_deeplift(tmp_path):
    """The original DeepSEA's activation: a registered function, so the model saves and loads in
    safe mode; fast ISM equals naive ISM; DeepLIFT treats it as element-wise (no IG fallback)."""
    from deepcis.deeplift import unsupported_layers
    from deepcis.ism import ism
    from deepcis.keras_objects import load_model
    from deepcis.models import build_model

    hp = {"conv_filters": [6, 6, 6], "kernel_size": 5, "pool_size": 2, "dense_units": 4, "activation": "threshold_relu"}
    model = build_model("deepsea", 60, 2, hp)
    model.save(tmp_path / "m.keras")
    loaded = load_model(tmp_path / "m.keras")
    x = windows(60, 2, 0)
    np.testing.assert_array_equal(loaded.predict_on_batch(x), model.predict_on_batch(x))
    assert unsupported_layers(loaded) == []
    np.testing.assert_allclose(ism(loaded, x[1], method="fast"), ism(loaded, x[1], method="naive"), atol=1e-6)
