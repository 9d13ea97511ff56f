"""Every rule names an env file, and the env files pin what scripts/setup.sh installs."""

import re

import yaml
from _utils import REPO


def _requirements():
    pins = {}
    for line in (REPO / "requirements.txt").read_text().splitlines():
        line = line.split("#")[0].strip()
        if line:
            name, version = line.split("==")
            pins[name.lower()] = version
    return pins


def test_env_pins_equal_requirements():
    pins = _requirements()
    env_files = sorted((REPO / "envs").glob("*.yaml"))
    assert env_files
    for path in env_files:
        env = yaml.safe_load(path.read_text())
        assert "conda-forge" in env["channels"], path
        pip_lists = [d["pip"] for d in env["dependencies"] if isinstance(d, dict) and "pip" in d]
        assert pip_lists, f"{path} has no pip section"
        for spec in pip_lists[0]:
            name, version = spec.split("==")
            name = name.lower()
            if name.startswith("tensorflow["):  # the GPU build of the pinned CPU TensorFlow
                name = "tensorflow-cpu"
            assert pins.get(name) == version, f"{path}: {spec} differs from requirements.txt"


def test_every_rule_has_log_benchmark_and_conda():
    for smk in (REPO / "rules").glob("*.smk"):
        text = smk.read_text()
        for rule in re.split(r"\n(?=rule )", text):
            if not rule.startswith("rule "):
                continue
            name = rule.split()[1].rstrip(":")
            for directive in ("log:", "benchmark:", "conda:"):
                assert directive in rule, f"{smk.name}: rule {name} lacks {directive}"
            env = re.search(r'conda:\s*\n\s*"\.\./(envs/[^"]+)"', rule).group(1)
            assert (REPO / env).is_file(), f"rule {name}: {env} missing"


def test_cluster_and_storage_plugins_pinned():
    """The SLURM executor (and its job-step plugin, run on the nodes) and the http storage
    plugin are installed by the set-up command and pinned in the controller's env file."""
    pins = _requirements()
    controller = yaml.safe_load((REPO / "envs" / "snakemake.yaml").read_text())
    listed = {spec.split("==")[0].lower() for d in controller["dependencies"] if isinstance(d, dict) for spec in d["pip"]}
    for plugin in ("snakemake-executor-plugin-slurm", "snakemake-executor-plugin-slurm-jobstep",
                   "snakemake-storage-plugin-http", "snakemake"):  # fmt: skip
        assert plugin in pins, f"{plugin} not pinned in requirements.txt"
        assert plugin in listed, f"{plugin} missing from envs/snakemake.yaml"
    profile = yaml.safe_load((REPO / "profiles" / "slurm" / "config.yaml").read_text())
    assert profile["executor"] == "slurm" and profile["set-resources"]["train_model"]["gpu"] == 1


def test_slurm_profile_names_existing_rules():
    rules = set()
    for smk in (REPO / "rules").glob("*.smk"):
        rules |= set(re.findall(r"^rule (\w+):", smk.read_text(), re.M))
    profile = yaml.safe_load((REPO / "profiles" / "slurm" / "config.yaml").read_text())
    unknown = set(profile["set-resources"]) - rules
    assert not unknown, f"profiles/slurm sets resources of rules that do not exist: {unknown}"
