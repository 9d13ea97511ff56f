"""deepcis embedded in another workflow as a Snakemake module (tests/module_workflow/Snakefile):
`module deepcis: snakefile: ...; config: ...` and `use rule * from deepcis as deepcis_*`, run
in a working directory that holds none of deepcis' files."""

import h5py
from _utils import REPO, run_snakemake

OUTER = REPO / "tests" / "module_workflow" / "Snakefile"


def test_module_runs_prepare_and_encode_of_the_example(tmp_path):
    result = run_snakemake(tmp_path, "-s", str(OUTER), "encoded_example")
    log = result.stdout + result.stderr
    # the module's rules under their new names; scripts, envs and motifs found beside the module
    for rule in ("deepcis_simulate_example", "deepcis_prepare_windows", "deepcis_encode_chunk", "deepcis_gather_split"):
        assert f"rule {rule}:" in log, rule
    assert not (tmp_path / "config").exists() and not (tmp_path / "workflow_scripts").exists()
    assert (tmp_path / "resources" / "example" / "genome.fa").is_file()
    for split in ("train", "valid", "test"):
        with h5py.File(tmp_path / "results" / "encode" / f"{split}.h5") as f:
            assert f.attrs["n_windows"] > 0 and f["x"].shape[1:] == (600,)  # the example's window_length
            assert [t.decode() if isinstance(t, bytes) else t for t in f["tasks"][()]][:5] == [
                "CTCF", "GATA1", "GATA1_TAL1", "FOXA1", "AP1"]  # fmt: skip
