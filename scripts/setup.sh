#!/usr/bin/env bash
# Set up everything deepcis needs on Debian 12 + Python 3.11: Debian packages (bedtools,
# bgzip/tabix, bcftools to check the annotated VCFs, chromium to test the HTML report) and a
# virtual environment .venv with the pinned Python packages and the deepcis library itself
# (installed editable from workflow_scripts/, so `import deepcis` works from any folder).
# Safe to rerun: it installs only what is missing or changed.
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(bedtools tabix bcftools chromium)
missing=()
command -v bedtools >/dev/null || missing+=(bedtools)
command -v bgzip >/dev/null && command -v tabix >/dev/null || missing+=(tabix)
command -v bcftools >/dev/null || missing+=(bcftools)
command -v chromium >/dev/null || missing+=(chromium)  # tests/test_report.py opens the report headless
if ((${#missing[@]})); then
    echo "setup: installing Debian packages: ${missing[*]}"
    SUDO=""
    [ "$(id -u)" -eq 0 ] || SUDO="sudo"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${APT_PACKAGES[@]}" >/dev/null
fi

PYTHON=${PYTHON:-python3.11}
command -v "$PYTHON" >/dev/null || PYTHON=python3
if [ ! -x .venv/bin/python ]; then
    echo "setup: creating .venv with $($PYTHON --version)"
    "$PYTHON" -m venv .venv
fi
stamp=.venv/.requirements.sha256
want=$(cat requirements.txt pyproject.toml | sha256sum | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ] || ! .venv/bin/python -c "import deepcis" 2>/dev/null; then
    echo "setup: installing pinned Python packages (requirements.txt) and deepcis (editable)"
    .venv/bin/python -m pip install -q --disable-pip-version-check --upgrade pip
    .venv/bin/python -m pip install -q --disable-pip-version-check -r requirements.txt
    # the pins above are the dependencies; the build backend (setuptools) comes from PyPI
    .venv/bin/python -m pip install -q --disable-pip-version-check --no-deps -e .
    # memelite's Tomtom is numba code, compiled on first use and cached beside the package
    # (~80 s on 2 cores): compiled once here, not in the first motif job of each run or test
    echo "setup: compiling Tomtom (numba, cached)"
    .venv/bin/python -W ignore -c "import numpy as np; from deepcis.filter_motifs import tomtom; \
m = np.random.default_rng(0).dirichlet(np.ones(4), (30, 8)); tomtom(list(m[:2]), list(m))"
    echo "$want" >"$stamp"
fi
echo "setup: ready ($(.venv/bin/python --version), $(bedtools --version))"
