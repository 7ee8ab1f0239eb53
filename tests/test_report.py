"""`snakemake --report` on a finished tiny study: one self-contained HTML file that opens on the
findings, with every figure and table (as a table) under its question, captions and the config."""

from __future__ import annotations

import base64
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from workflow_runs import CORE_TARGETS, ROOT, SNAKEMAKE, env, run_local

pytestmark = pytest.mark.workflow


#: what the report is built from: the core pipeline, the findings and the HTML pages of the
#: tables and figures (each with its caption)
REPORT_TARGETS = [*CORE_TARGETS, "findings", *(
    t.rsplit(".", 1)[0] + ".html" for t in CORE_TARGETS)]


@pytest.fixture(scope="module")
def report(tmp_path_factory) -> str:
    """The report of a folder study (its config in config/config.yaml), written with the same
    arguments as its run plus ``--report results/report.html`` (a path in the folder)."""
    local = run_local(tmp_path_factory)
    # a copy: the local run is shared with the Slurm test, which compares its results folder
    workdir = tmp_path_factory.mktemp("findings") / "local"
    shutil.copytree(local, workdir, symlinks=True)
    (workdir / "config").mkdir()
    shutil.copyfile(local.parent / "config.yaml", workdir / "config" / "config.yaml")
    run = [SNAKEMAKE, "-s", str(ROOT / "Snakefile"), "--profile", "workflow/profiles/local",
           "--directory", str(workdir), "--cores", "2", *REPORT_TARGETS]
    for extra in ([], ["--report", "results/report.html"]):
        proc = subprocess.run([*run, *extra], cwd=ROOT, env=env(), capture_output=True,
                              text=True, timeout=300)
        assert proc.returncode == 0, proc.stderr[-3000:]
    return (workdir / "results" / "report.html").read_text()


def embedded_pages(report: str) -> list[str]:
    """The HTML pages (tables) embedded in the report as data URIs."""
    return [base64.b64decode(page).decode()
            for page in re.findall(r"data:text/html;[^,\"]*base64,([A-Za-z0-9+/=]+)", report)]


def _caption_start(name: str) -> str:
    """The first words of a caption file (rst), as they appear in the rendered HTML."""
    text = (ROOT / "workflow" / "report" / f"{name}.rst").read_text()
    return " ".join(text.split()[:4])


def test_report_holds_every_figure_and_table_with_its_caption_under_it(report):
    pages = embedded_pages(report)
    for target in REPORT_TARGETS:
        if target.endswith(".html"):
            assert Path(target).name in report, target
    for name in ("accuracy", "matching_summary", "training_curves", "convergence_by_layer"):
        (page,) = [p for p in pages if f"<title>{name}</title>" in p]
        body = page.index("<body>")
        content = page.index("<img" if "<img" in page else '<table class="csv">', body)
        assert content < page.index(_caption_start(name), content), name


def test_report_is_self_contained_and_embeds_the_images(report):
    assert not re.search(r"<script[^>]+src=", report), "scripts must be inlined"
    assert not re.search(r"<link[^>]+href=\"http", report), "styles must be inlined"
    # Every figure page embeds its PNG as a data URI that decodes to a PNG.
    images = re.findall(r"data:image/png;base64,([A-Za-z0-9+/=]{16})",
                        "".join(embedded_pages(report)))
    assert len(images) >= sum(t.endswith(".png") for t in CORE_TARGETS)
    assert all(base64.b64decode(img[:16])[:8] == b"\x89PNG\r\n\x1a\n" for img in images)


def test_report_opens_on_the_findings_and_folds_the_config(report):
    assert "Convergent learning study" in report
    landing = report.index("Convergent learning study")
    # the landing page is a JSON string inside the report's script: quotes are escaped
    findings = report.index('<table class=\\"findings\\">', landing)
    assert "one-to-one matched r (live units)" in report[findings:]
    assert "test top-1" in report[findings:]
    # the validated config (defaults filled in) is there, folded away after the findings
    details = report.index("<details>", landing)
    assert findings < details < report.index("chunk_images", details)
    assert "train_subset" in report[details:] and "dead_unit_std" in report[details:]


def test_report_shows_tables_as_tables_under_their_question(report):
    pages = embedded_pages(report)
    accuracy = [p for p in pages if "<title>accuracy</title>" in p]
    assert accuracy and '<table class="csv">' in accuracy[0] and "test_acc_pct" in accuracy[0]
    for question in ("Do the seeds perform alike?", "Do single units match?"):
        assert question in report, question


def test_report_filters_name_layers_and_pairs_and_tables_scroll(report):
    """The filter labels carry the layers and pairs a result shows (never "all / all pairs"
    on every row; a study of one pair names it); wide tables scroll inside their page, in one
    model column scheme; the landing page keeps Snakemake's rule graph below the findings."""
    assert '"labels": {"figure": "convergence by layer", "layer": "conv1, fc7", ' \
           '"pair": "i0-d0 vs i1-d1"}' in report
    assert '"labels": {"figure": "correlation matrices", "layer": "conv1", ' \
           '"pair": "i0-d0 vs i1-d1"}' in report
    assert '"labels": {"table": "accuracy", "layer": "output", ' \
           '"pair": "none: each of 2 models"}' in report
    assert '"layer": "all"' not in report and '"pair": "all pairs"' not in report
    (accuracy,) = [p for p in embedded_pages(report) if "<title>accuracy</title>" in p]
    assert '<div class="wide"><table class="csv"><tr><th>architecture</th><th>model</th>' \
           in accuracy and "alexnet_small/i0-d0" not in accuracy
    assert "flex-direction: column" in report
