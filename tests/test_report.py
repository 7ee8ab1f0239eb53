"""`snakemake --report` on a finished tiny study: one self-contained HTML file with every figure,
table, caption and the config."""

from __future__ import annotations

import base64
import re
import subprocess
from pathlib import Path

import pytest
from workflow_runs import CORE_TARGETS, ROOT, env, run_local, snakemake_args

pytestmark = pytest.mark.workflow


@pytest.fixture(scope="module")
def report(tmp_path_factory) -> str:
    workdir = run_local(tmp_path_factory.mktemp("report"))
    # outside results/: the local run is shared with the Slurm test, which compares its results
    html = tmp_path_factory.mktemp("html") / "report.html"
    args = snakemake_args(workdir.parent / "config.yaml", workdir, "--report", str(html),
                          *CORE_TARGETS)
    proc = subprocess.run(args, cwd=ROOT, env=env(), capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return html.read_text()


def _caption_start(name: str) -> str:
    """The first words of a caption file (rst), as they appear in the rendered HTML."""
    text = (ROOT / "workflow" / "report" / f"{name}.rst").read_text()
    return " ".join(text.split()[:4])


def test_report_holds_every_figure_and_table_with_its_caption(report):
    for target in CORE_TARGETS:
        assert Path(target).name in report, target
    for caption in ("accuracy", "matching_summary", "training_curves", "convergence_by_layer"):
        assert _caption_start(caption) in report, caption


def test_report_is_self_contained_and_embeds_the_images(report):
    assert not re.search(r"<script[^>]+src=", report), "scripts must be inlined"
    assert not re.search(r"<link[^>]+href=\"http", report), "styles must be inlined"
    # Every PNG is embedded as a data URI that decodes to a PNG.
    images = re.findall(r"data:image/png;[^,\"]*base64,([A-Za-z0-9+/=]{16})", report)
    assert len(images) >= sum(t.endswith(".png") for t in CORE_TARGETS)
    assert all(base64.b64decode(img[:16])[:8] == b"\x89PNG\r\n\x1a\n" for img in images)


def test_report_shows_the_study_and_its_config(report):
    assert "Convergent learning study" in report
    # The validated config (defaults filled in) is rendered into the description.
    assert "train_subset" in report and "chunk_images" in report and "dead_unit_std" in report
