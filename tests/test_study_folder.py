"""A study is a folder: `convergent init FOLDER` writes a config that validates, `snakemake
--directory FOLDER` reads it alone, and a config given with --configfile stands alone (the
working directory's config/config.yaml is not merged under it).  The report of a folder study
(same arguments as the run, plus --report) is tested in test_report.py."""

from __future__ import annotations

import copy
import subprocess

import workflow_runs
import yaml
from test_cli import cli
from test_errors import one_line_error

from convergent import new_study, study

SCHEMA = workflow_runs.ROOT / "config" / "schema.yaml"


def dry_run(workdir, *args: str) -> subprocess.CompletedProcess:
    cmd = [workflow_runs.SNAKEMAKE, "-s", str(workflow_runs.ROOT / "Snakefile"),
           "--directory", str(workdir), "-n", "--quiet", "rules", *args]
    return subprocess.run(cmd, cwd=workflow_runs.ROOT, env=workflow_runs.env(),
                          capture_output=True, text=True, timeout=120)


def test_init_writes_a_commented_config_that_validates_and_never_overwrites(tmp_path):
    proc = cli("init", tmp_path / "my_study")
    assert proc.returncode == 0, proc.stderr
    path = tmp_path / "my_study" / "config" / "config.yaml"
    text = path.read_text()
    assert f"--directory {tmp_path / 'my_study'}" in text and "--report" in text
    config = yaml.safe_load(text)
    written = copy.deepcopy(config)
    study.validate(config, SCHEMA)  # fills the schema's defaults: nothing else is needed
    assert [m.name for m in study.models(config)] == ["i0-d0", "i1-d1", "i2-d2"]
    # every key the template sets is explained by a comment on its line or the one above
    lines = text.splitlines()
    for section in written:
        k = next(i for i, line in enumerate(lines) if line.startswith(f"{section}:"))
        assert "#" in lines[k] or lines[k - 1].startswith("#") or all(
            "#" in line for line in lines[k + 1:k + 1 + len(written[section])]), section
    again = cli("init", tmp_path / "my_study")
    assert again.returncode == 2 and "exists already" in again.stderr
    assert path.read_text() == text


def test_a_folder_study_resolves_its_dag_from_its_own_config_alone(tmp_path):
    """The folder's config/config.yaml is all the config: layers without conv3-conv5 are no
    error about analysis.sparse_layers (a key it does not write), as they were when the
    repository's config was merged under a user's file."""
    folder = tmp_path / "my_study"
    new_study.init(folder)
    path = folder / new_study.CONFIG
    config = yaml.safe_load(path.read_text())
    config["layers"] = ["conv1", "fc7"]
    path.write_text(yaml.safe_dump(config))
    proc = dry_run(folder)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "train" in proc.stdout and "study_findings" in proc.stdout
    assert not (folder / "results").exists()


def test_a_configfile_stands_alone(tmp_path):
    """--configfile FILE: the working directory's config/config.yaml is not merged under it
    (here it would add analysis.sparse_layers: [conv3], not in the file's layers)."""
    workdir = tmp_path / "work"
    (workdir / "config").mkdir(parents=True)
    (workdir / "config" / "config.yaml").write_text(
        yaml.safe_dump({**workflow_runs.TINY_STUDY, "analysis": {"sparse_layers": ["conv3"]}}))
    assert "conv3 not in layers" in dry_run(workdir).stderr  # the folder's own config is read
    configfile = workflow_runs.write_config(tmp_path, workflow_runs.TINY_STUDY)
    proc = dry_run(workdir, "--configfile", str(configfile))
    assert proc.returncode == 0, proc.stderr[-3000:]


def test_a_folder_without_a_config_stops_in_one_line(tmp_path):
    message = one_line_error(dry_run(tmp_path), 1)
    assert message == (f"config error: {tmp_path}/config/config.yaml does not exist; write a "
                       f"study there with `convergent init {tmp_path}`, or name a config file "
                       "with --configfile")

