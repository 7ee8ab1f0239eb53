"""scripts/reproduce.py: a run's findings against the committed copy, exactly, naming the rows
that moved."""

from __future__ import annotations

import importlib.util
import json

import pandas as pd
from workflow_runs import ROOT

spec = importlib.util.spec_from_file_location("reproduce", ROOT / "scripts" / "reproduce.py")
reproduce = importlib.util.module_from_spec(spec)
spec.loader.exec_module(reproduce)


def table() -> pd.DataFrame:
    return pd.DataFrame({"section": ["accuracy", "convergence"], "architecture": ["a", "a"],
                         "layer": [float("nan"), "conv1"], "measure": ["top1", "linear_cka"],
                         "value": [91.25, 0.7012345678901234], "text": ["x", "y"]})


def run_dir(tmp_path, df: pd.DataFrame, study: str = "abc"):
    (tmp_path / "tables").mkdir(parents=True)
    df.to_csv(tmp_path / "tables" / "findings.csv", index=False)
    (tmp_path / "findings.md").write_text(f"Study {study}: planted.\n")
    return tmp_path


def test_equal_tables_reproduce_and_a_moved_number_is_named(tmp_path, monkeypatch, capsys):
    copy = tmp_path / "copy" / "findings.csv"
    copy.parent.mkdir()
    table().to_csv(copy, index=False)
    (copy.parent / "provenance.json").write_text(json.dumps(
        {"study": "abc", "commit": "0123456789abcdef", "date": "2026-12-04"}))
    monkeypatch.setitem(reproduce.COPIES, "findings", copy)
    monkeypatch.setattr(reproduce, "ROOT", tmp_path)
    assert reproduce.main([str(run_dir(tmp_path / "same", table()))]) == 0
    assert "every number to the bit" in capsys.readouterr().out
    moved = table()
    moved.loc[1, "value"] += 1e-15  # one ulp-sized change is a change
    assert reproduce.main([str(run_dir(tmp_path / "moved", moved, "xyz"))]) == 1
    out = capsys.readouterr().out
    assert "another config" in out and "moved: convergence / a / conv1 / linear_cka" in out
    assert "commit 0123456789ab" in out


def test_a_run_trained_on_another_kind_of_processor_is_said(tmp_path, monkeypatch, capsys):
    copy = tmp_path / "copy" / "findings.csv"
    copy.parent.mkdir()
    table().to_csv(copy, index=False)
    (copy.parent / "provenance.json").write_text(json.dumps(
        {"study": "abc", "commit": "0123456789abcdef", "date": "2026-12-04",
         "trained_on": ["CPU: Intel Xeon (x86_64, AVX512)"]}))
    monkeypatch.setitem(reproduce.COPIES, "findings", copy)
    monkeypatch.setattr(reproduce, "ROOT", tmp_path)
    moved = table()
    moved.loc[0, "value"] = 90.5
    for name, device in (("other", "CPU: AMD EPYC (x86_64, AVX2)"),
                         ("same", "CPU: Intel Xeon (x86_64, AVX512)")):
        run = run_dir(tmp_path / name, moved)
        pd.DataFrame({"model": ["a/i0"], "device": [device]}).to_csv(
            run / "tables" / "accuracy.csv", index=False)
        assert reproduce.main([str(run)]) == 1
        out = capsys.readouterr().out
        assert "moved: accuracy / a / top1" in out
        # said only where the kinds differ, naming both
        assert ("trained on CPU: Intel Xeon (x86_64, AVX512), this run's on CPU: AMD EPYC "
                "(x86_64, AVX2)" in out) == (name == "other")
