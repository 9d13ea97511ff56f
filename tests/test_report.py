"""The Snakemake HTML report of the bundled example, opened in a real headless Chromium.

Uses the session's example run (tests/conftest.py `example_run`). Screenshots of the landing page
and of result pages are saved under test-artifacts/report/ (printed; look at them).
"""

import hashlib
import json
import re
import time
import zipfile

import pandas as pd
import pytest
from _utils import REPO, run_snakemake
from browser import Browser, find_chromium

ARTIFACTS = REPO / "test-artifacts" / "report"
# The category convention of every report() declaration (docs/report.md).
CATEGORIES = ["0. Summary", "1. Data", "2. Training", "3. Evaluation", "4. Variants", "5. Interpretation",
              "6. Transfer learning", "7. Genome tracks", "8. Sequence design",
              "9. Generative models"]  # fmt: skip
# Made for the bundled example whatever else the workflow adds.
EXAMPLE_CATEGORIES = CATEGORIES[:5]
MODELS = ["deepsea_small", "danq_small"]
# The one console message of Snakemake's own report template (its bundled Tailwind build says so).
KNOWN_TEMPLATE_WARNINGS = ("cdn.tailwindcss.com should not be used in production",)

CLICK_MENU = """(text => { const a = [...document.querySelectorAll('nav a')].find(e => e.innerText.trim() === text);
  if (!a) return false; a.click(); return true; })(%s)"""
CLICK_RESULT = """((path, icon) => { const row = [...document.querySelectorAll('nav tr')].find(r => r.innerText.includes(path));
  const a = row && row.querySelector(`a[iconname="${icon}"]`); if (!a) return false; a.click(); return true; })(%s, %s)"""
NAV_TEXT = "document.querySelector('nav').innerText"


def js(value):
    return json.dumps(value)


def test_categories_follow_the_convention():
    declared = set()
    for smk in (REPO / "rules").glob("*.smk"):
        text = smk.read_text()
        declared |= set(re.findall(r'(?<!sub)category="([^"]+)"', text))
        assert "report(" not in text or "category=" in text, f"{smk.name}: report() without a category"
    assert declared and declared <= set(CATEGORIES), sorted(declared - set(CATEGORIES))
    assert set(EXAMPLE_CATEGORIES) <= declared


def test_browser_sees_console_errors_and_has_no_network(tmp_path):
    """The checks below can fail: script errors and any network request are reported."""
    page = tmp_path / "page.html"
    page.write_text('<!doctype html><html><body><p id="p">hello</p><script>console.error("boom from page");'
                    'missingFunction();</script><img src="http://example.com/x.png"></body></html>')  # fmt: skip
    chromium = find_chromium()
    assert chromium, "Chromium is needed for this test: run scripts/setup.sh (apt-get install chromium)"
    with Browser(chromium) as browser:
        browser.open(page.as_uri())
        assert browser.evaluate("document.getElementById('p').innerText") == "hello"
        assert browser.wait_for("fetch('https://example.com/').then(() => 'online', () => 'offline')") == "offline"
        time.sleep(0.3)
        console = list(browser.console)
    kinds = {kind for kind, _ in console}
    text = " ".join(t for _, t in console)
    assert "console.error" in kinds and "boom from page" in text
    assert "exception" in kinds and "missingFunction" in text
    assert "log.error" in kinds and "example.com" in text  # the image request failed: no network


@pytest.fixture(scope="module")
def report_html(example_run):
    workdir, quick = example_run
    started = time.monotonic()
    run_snakemake(workdir, "--configfile", str(quick), "--report", "report.html")
    print(f"snakemake --report report.html: {time.monotonic() - started:.1f} s")
    return workdir / "report.html"


def _menu(browser):
    return [line.strip() for line in browser.evaluate(NAV_TEXT).splitlines() if line.strip()]


def _home(browser):
    browser.evaluate("document.querySelector('nav nav ol a').click()")  # the breadcrumb's home button


@pytest.mark.slow
def test_report_renders_in_chromium(report_html, example_run):
    workdir, _ = example_run
    chromium = find_chromium()
    assert chromium, "Chromium is needed for this test: run scripts/setup.sh (apt-get install chromium)"
    expected_categories = set(EXAMPLE_CATEGORIES)
    embedded = json.loads(re.search(r"var categories = (\{.*?\});\n", report_html.read_text()).group(1))
    expected_categories |= set(embedded)  # whatever else the workflow reported (interpretation, ...)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with Browser(chromium) as browser:
        browser.open(report_html.resolve().as_uri())
        browser.wait_for("document.querySelector('nav') && document.querySelector('nav').innerText.includes('Summary')",
                         what="the report's menu")  # fmt: skip
        # landing page: the run summary table first, best models highlighted
        body = browser.evaluate("document.body.innerText")
        assert "deepcis run report" in body and "Models on the test split" in body
        for model in (*MODELS, "kmer_baseline"):
            assert model in body
        assert browser.evaluate("document.querySelectorAll('.deepcis-summary td.best').length") >= 2
        assert "Best model per task" in body and "GATA1_TAL1" in body
        menu = _menu(browser)
        missing = expected_categories - set(menu)
        assert not missing, f"categories not in the rendered menu: {sorted(missing)}; menu: {menu}"
        assert all(name in CATEGORIES for name in menu[menu.index("RESULTS") + 1 :]), menu
        browser.wait_stable()
        # the styles (built in the page by Snakemake's bundled Tailwind) are applied
        assert browser.evaluate("getComputedStyle(document.querySelector('nav')).overflowY") == "auto"
        landing = browser.screenshot(ARTIFACTS / "landing.png")

        # every category opens and lists its subcategories or results
        for category in sorted(expected_categories):
            _home(browser)
            assert browser.wait_for(f"{CLICK_MENU % js(category)}", what=f"menu item {category}")
            items = browser.wait_for(f"{NAV_TEXT}.includes({js(category)}) && {NAV_TEXT}", what=category)
            subcategories = {name for name in embedded[category] if name != "Other"}
            for name in subcategories:
                assert name in items, f"{category}: subcategory {name} not shown"

        # one result page: the ROC figure with its caption
        _home(browser)
        browser.evaluate(CLICK_MENU % js("3. Evaluation"))
        browser.wait_for(CLICK_MENU % js("All models"), what="subcategory All models")
        browser.wait_for(CLICK_RESULT % (js("results/evaluate/roc_test.png"), js("eye")), what="roc_test.png")
        width = browser.wait_for(
            "[...document.querySelectorAll('img')].filter(i => i.src.startsWith('data:image/png')).map(i => i.naturalWidth)[0]",
            what="the ROC image")  # fmt: skip
        assert width > 500
        browser.evaluate(CLICK_RESULT % (js("results/evaluate/roc_test.png"), js("information-circle")))
        caption = browser.wait_for(f"{NAV_TEXT}.includes('ROC curves') && {NAV_TEXT}", what="the ROC caption")
        assert "chromosomes split" in caption  # the caption renders config values
        browser.wait_stable()
        result = browser.screenshot(ARTIFACTS / "result_roc.png")

        # the full run summary (an HTML table shown in the report's frame)
        _home(browser)
        browser.evaluate(CLICK_MENU % js("0. Summary"))
        browser.wait_for(CLICK_RESULT % (js("results/report/run_summary.html"), js("eye")), what="run_summary.html")
        frame = browser.wait_for("document.querySelector('iframe') && document.querySelector('iframe').src",
                                 what="the run summary frame")  # fmt: skip
        assert frame.startswith("data:text/html")
        browser.wait_stable()
        summary = browser.screenshot(ARTIFACTS / "result_run_summary.png")
        console = list(browser.console)
    print(f"report screenshots: {landing} {result} {summary}")
    errors = [(kind, text) for kind, text in console if not text.startswith(KNOWN_TEMPLATE_WARNINGS)]
    assert not errors, f"console errors/warnings in the report: {errors}"
    for path in (landing, result, summary):
        assert path.stat().st_size > 20_000  # a rendered page, not a blank one


@pytest.mark.slow
def test_report_zip(example_run):
    workdir, quick = example_run
    run_snakemake(workdir, "--configfile", str(quick), "--report", "report.zip")
    with zipfile.ZipFile(workdir / "report.zip") as archive:
        names = archive.namelist()
    assert "report/report.html" in names
    for name in ("run_summary.html", "run_info.html", "data_summary.html", "roc_test.png", "class_balance.png",
                 "training_curves.png", "top_effects.png", "danq_small.metrics.html"):  # fmt: skip
        assert any(n.startswith("report/data/raw/") and n.endswith(name) for n in names), name


@pytest.mark.slow
def test_run_summary_and_run_info_of_the_example(example_run):
    workdir, _ = example_run
    out = workdir / "results" / "report"
    summary = pd.read_csv(out / "run_summary.tsv", sep="\t").set_index("model")
    reference = pd.read_csv(workdir / "results" / "evaluate" / "summary.tsv", sep="\t").set_index("model")
    assert list(summary.index) == list(reference.index) and {*MODELS, "kmer_baseline"} <= set(summary.index)
    for col in ("median_auroc", "mean_auroc", "median_auprc", "mean_auprc"):
        pd.testing.assert_series_equal(summary[col], reference[col], check_names=False, atol=1e-5)
    for model in MODELS:
        info = json.loads((workdir / "results" / "models" / model / "model.json").read_text())
        assert summary.loc[model, "train_seconds"] == pytest.approx(info["train_seconds"], rel=1e-5)
        assert summary.loc[model, "device"] == info["devices"]["kind"]
    assert summary.loc["kmer_baseline", "train_seconds"] > 0
    page = (out / "run_summary.html").read_text()
    assert page.count('class="best"') >= 5 + 5 + 4  # one per task and score, one per summary score column

    run_info = json.loads((out / "run_info.json").read_text())
    genome = workdir / "resources" / "example" / "genome.fa"
    assert run_info["inputs"]["genome"]["sha256"] == hashlib.sha256(genome.read_bytes()).hexdigest()
    assert {"genome", "tasks_sheet", "vcf", "peaks:CTCF", "peaks:AP1"} <= set(run_info["inputs"])
    assert run_info["versions"]["snakemake"].startswith("9.")
    assert run_info["config"]["train"]["epochs"] == 2 and run_info["config"]["seed"] == 42
    assert set(run_info["models"]) == set(run_info["config"]["models"])  # every trained model's provenance
    for rule in ("run_info", "run_summary", "data_summary", "metrics_table", "top_effects_table"):
        assert list((workdir / "logs" / "report").glob(f"{rule}*.log")), rule
        assert list((workdir / "benchmarks" / "report").glob(f"{rule}*.tsv")), rule
    tables = (out / "data_summary.html").read_text()
    assert "Positive windows per task" in tables and "blacklist" in tables
    top = (out / "score" / "danq_small.top_effects.html").read_text()
    assert top.count("<tr>") == 1 + 20  # header + variants.top_n rows
