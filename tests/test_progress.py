"""Progress bars: a log (not a terminal) gets a bounded number of whole lines with unit, total and
rate; the steps' bars reach exactly their totals; a step's log shows its bar."""

from __future__ import annotations

import contextlib
import io
import json
import time

import numpy as np
from conftest import write_planted

from convergent import cli
from convergent import progress as progress_module
from convergent.analysis.blocks import BlockMoments
from convergent.analysis.sparse_prediction import BlockSums, sparse_prediction
from convergent.analysis.statistics import bootstrap
from convergent.io.activations import ActivationFile
from convergent.moments import cross_moments, layer_moments
from convergent.progress import LOG_LINES, progress


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_log_gets_bounded_whole_lines_with_unit_total_and_rate():
    log = io.StringIO()
    with progress(100_000, "img", "dump m", file=log, interval=0, delay=0) as bar:
        for _ in range(100_000):
            bar.update(1)
    text = log.getvalue()
    lines = text.splitlines()
    assert "\r" not in text
    assert 3 <= len(lines) <= LOG_LINES + 2  # the first, at most LOG_LINES, the last
    assert all(line.startswith("dump m:") and "/100000 [" in line for line in lines)
    assert lines[0].split("|")[2].strip().startswith("0/100000")
    assert "100000/100000" in lines[-1] and "img/s]" in lines[-1]
    assert sum("100000/100000" in line for line in lines) == 1  # the end is reported once


def test_log_lines_are_rate_limited():
    """With the default interval (seconds), a loop of a moment writes its first and last line."""
    log = io.StringIO()
    for _ in progress(5_000, "pair", "pairs", range(5_000), file=log, delay=0):
        pass
    lines = log.getvalue().splitlines()
    assert len(lines) == 2
    assert "0/5000" in lines[0] and "5000/5000" in lines[1] and "pair/s" in lines[1]


def test_nothing_is_written_before_the_job_has_run_its_delay(monkeypatch):
    """A job that takes a moment (or fails at once) leaves no progress lines; once its bars
    have run the delay, every new bar writes from its start."""
    monkeypatch.setattr(progress_module, "_job_start", None)
    log = io.StringIO()
    for _ in progress(100, "img", "quick", range(100), file=log, delay=60):
        pass
    assert log.getvalue() == ""
    monkeypatch.setattr(progress_module, "_job_start", time.time() - 61)
    for _ in progress(100, "img", "later", range(100), file=log, delay=60):
        pass
    lines = log.getvalue().splitlines()
    assert len(lines) == 2 and "0/100" in lines[0] and "100/100" in lines[1]


def test_terminal_gets_tqdm_carriage_returns():
    tty = Terminal()
    with progress(10, "img", "t", file=tty) as bar:
        for _ in range(10):
            bar.update(1)
    assert "\r" in tty.getvalue() and "10/10" in tty.getvalue()


def counter() -> tuple[list[int], object]:
    seen: list[int] = []
    return seen, seen.append


def test_advance_reaches_each_total_and_changes_nothing(tmp_path):
    rng = np.random.default_rng(0)
    acts = {"conv1": rng.random((23, 3, 2, 2)).astype(np.float32)}
    fa = ActivationFile(write_planted(tmp_path / "a.h5", acts))
    fb = ActivationFile(write_planted(tmp_path / "b.h5", acts))
    seen, advance = counter()
    m = layer_moments(fa, "conv1", 3, 4, advance)
    assert sum(seen) == 23 and max(seen) == 4
    assert np.array_equal(m.sum_xy, layer_moments(fa, "conv1", 3, 4).sum_xy)
    seen, advance = counter()
    cross_moments(fa, fb, "conv1", 3, 4, advance)
    assert sum(seen) == 23

    seen, advance = counter()
    stat = lambda idx: {"mean": float(np.mean(idx))}  # noqa: E731
    assert bootstrap(stat, 9, 7, 0, advance=advance) == bootstrap(stat, 9, 7, 0)
    assert sum(seen) == 7 + 1

    x = rng.normal(size=(40, 3))
    y = x @ rng.normal(size=(3, 2)) + 0.1 * rng.normal(size=(40, 2))
    blocks = [slice(i, i + 10) for i in range(0, 40, 10)]
    s = BlockMoments.zeros(4, 3, 2)
    for b, sl in enumerate(blocks):
        s.add(b, x[sl], y[sl])
    sums = BlockSums(
        s.count, s.sum_x, s.sum_y, np.stack([x[sl].T @ x[sl] for sl in blocks]), s.sum_xy,
        np.stack([(y[sl] ** 2).sum(0) for sl in blocks]),
    )
    penalties = np.array([0.0, 1e-3, 1e-1])
    seen, advance = counter()
    r = sparse_prediction(sums, penalties, 2, advance=advance)
    assert sum(seen) == (2 + 1) * len(penalties)
    np.testing.assert_array_equal(r.loss, sparse_prediction(sums, penalties, 2).loss)


def test_step_log_shows_its_bar(tmp_path, monkeypatch):
    """As a rule runs it: stderr into the job's log (a file, not a terminal); no delay, as if
    the job had been running a while."""
    monkeypatch.setattr(progress_module, "LOG_DELAY", 0.0)
    rng = np.random.default_rng(1)
    acts = {"conv1": rng.random((30, 4, 3, 3)).astype(np.float32),
            "fc6": rng.random((30, 5)).astype(np.float32)}
    f = write_planted(tmp_path / "a.h5", acts)
    spec = {"model": "alexnet_small/i0-d0", "layers": ["conv1", "fc6"],
            "analysis": {"blocks": 3, "chunk_images": 4}}
    log = tmp_path / "moments.log"
    with open(log, "w") as stream, contextlib.redirect_stderr(stream):
        cli.main(["moments", "--spec", json.dumps(spec), "--activations", str(f),
                  "--out", str(tmp_path / "m.h5")])
    text = log.read_text()
    assert "\r" not in text
    for layer in ("conv1", "fc6"):
        lines = [line for line in text.splitlines() if line.startswith(f"moments {layer}:")]
        assert lines and "30/30" in lines[-1] and "img/s]" in lines[-1]
