"""The software the rules run with, checked without conda (the test machines have none), and the
rules' hygiene: every package pinned in an env spec (envs/*.yaml) has the version of
requirements.txt, every third-party package the code imports is pinned there, the train env holds
the code's whole runtime stack and the analysis env the same without torch; every rule has a
docstring, a log file under results/logs/, a conda env from envs/ (network rules the train env)
and resources from a job kind; and `snakemake --lint` finds nothing (default and streamed
configs)."""

from __future__ import annotations

import ast
import json
import re
import subprocess
import sys
from importlib.metadata import packages_distributions
from pathlib import Path

import pytest
import yaml
from workflow_runs import ROOT, SNAKEMAKE, env, write_config

ENVS = ROOT / "envs"
#: rules whose step runs a network (torch): the train env; every other rule: the analysis env
NETWORK_RULES = {
    "train", "untrained", "dump", "stream_moments", "stream_compare", "stream_top_units",
    "stream_mutual_information", "stream_similarity", "figure_unit_pairs", "import_checkpoint",
    "evaluate", "import_activations",
}
#: the training stack, only in the train env (tensorboard: training.logger; timm: the timm:
#: builder, the optional extra convergent[timm])
TORCH = {"torch", "torchvision", "pytorch-lightning", "tensorboard", "timm"}
#: imported only by the Snakemake process (config validation in workflow/rules/common.smk)
WORKFLOW_ONLY = {"jsonschema"}
#: a study with every rule family, small enough to load quickly
STUDY = {
    "dataset": {"name": "fashion_mnist"},
    "architectures": ["alexnet_small"],
    "models": [{"init_seed": 0}, {"init_seed": 1}],
    "layers": ["conv1", "fc7"],
}


def normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def pins(lines: list[str]) -> dict[str, str]:
    """{package: version} of ``name==version`` lines; fails on any other requirement."""
    out = {}
    for line in lines:
        match = re.fullmatch(r"([A-Za-z0-9_.-]+)==([^\s=]+)", line.strip())
        assert match, f"{line!r}: pin an exact version (name==version)"
        out[normalise(match[1])] = match[2]
    return out


def requirements() -> dict[str, str]:
    lines = (ROOT / "requirements.txt").read_text().splitlines()
    return pins([line for line in lines if line.strip() and not line.startswith("#")])


def env_pins(name: str) -> dict[str, str]:
    """The pip pins of envs/<name>.yaml; its conda dependencies may only be python and pip."""
    spec = yaml.safe_load((ENVS / f"{name}.yaml").read_text())
    conda = [d for d in spec["dependencies"] if isinstance(d, str)]
    assert {re.split(r"[=<>]", d)[0] for d in conda} <= {"python", "pip"}, conda
    pip = [d["pip"] for d in spec["dependencies"] if isinstance(d, dict)]
    assert len(pip) == 1, f"envs/{name}.yaml: one pip: section"
    return pins(pip[0])


def imported_distributions() -> set[str]:
    """The distributions of every third-party module src/convergent imports (also inside
    functions), as installed in the test environment."""
    modules = set()
    for path in (ROOT / "src" / "convergent").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                modules |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                modules.add(node.module.split(".")[0])
    modules -= set(sys.stdlib_module_names) | {"convergent", "__future__"}
    installed = packages_distributions()
    missing = sorted(m for m in modules if m not in installed)
    assert not missing, f"imported but not installed: {missing}"
    return {normalise(d) for m in modules for d in installed[m]}


@pytest.mark.parametrize("name", ["train", "analysis"])
def test_env_pins_are_those_of_requirements(name):
    pinned = requirements()
    for package, version in env_pins(name).items():
        assert pinned.get(package) == version, (
            f"envs/{name}.yaml pins {package}=={version}, requirements.txt "
            f"{pinned.get(package, 'nothing')}"
        )


def test_every_imported_package_is_pinned_in_requirements():
    missing = imported_distributions() - set(requirements())
    assert not missing, f"imported by src/convergent but not in requirements.txt: {missing}"


def test_envs_hold_the_runtime_stack_the_analysis_env_without_torch():
    runtime = imported_distributions() - WORKFLOW_ONLY
    assert set(env_pins("train")) == runtime
    assert set(env_pins("analysis")) == runtime - TORCH


@pytest.mark.parametrize("name", ["train", "analysis"])
def test_envs_install_the_package_after_creation(name):
    """Snakemake runs envs/<name>.post-deploy.sh in a new env: it installs the checkout
    (CONVERGENT_SOURCE, which the workflow sets) without dependencies (the env pins them)."""
    script = (ENVS / f"{name}.post-deploy.sh").read_text()
    assert re.search(r'pip install --no-deps -e "\$\{CONVERGENT_SOURCE', script)
    assert "CONVERGENT_SOURCE=workflow.basedir" in (ROOT / "workflow/rules/common.smk").read_text()


# ------------------------------------------------------------------ the rules
RULES_SCRIPT = """
import json, sys
from pathlib import Path
from snakemake.api import SnakemakeApi
from snakemake.settings.types import ConfigSettings, OutputSettings, ResourceSettings

snakefile, configfile, workdir = sys.argv[1:]
with SnakemakeApi(OutputSettings()) as api:
    workflow = api.workflow(
        resource_settings=ResourceSettings(cores=1),
        config_settings=ConfigSettings(configfiles=[Path(configfile)]),
        snakefile=Path(snakefile),
        workdir=Path(workdir),
    )._workflow
    rules = [
        {
            "name": r.name,
            "norun": r.norun,
            "docstring": r.docstring,
            "log": [str(f) for f in r.log],
            "conda": r.conda_env,
            "snakefile": r.snakefile,
            "resources": sorted(r.resources.keys()),
        }
        for r in workflow.rules
    ]
print("RULES " + json.dumps(rules))
"""


@pytest.fixture(scope="module", params=["dumps", "streamed"])
def study(request, tmp_path_factory) -> Path:
    """A config file with every rule family: probe.stream false or true."""
    config = json.loads(json.dumps(STUDY))
    config["probe"] = {"stream": request.param == "streamed"}
    return write_config(tmp_path_factory.mktemp(request.param), config)


def test_every_rule_has_a_docstring_a_log_an_env_and_resources(study):
    proc = subprocess.run(
        [sys.executable, "-c", RULES_SCRIPT, str(ROOT / "Snakefile"), str(study),
         str(study.parent)],
        cwd=ROOT, env=env(), capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    rules = json.loads(proc.stdout.split("RULES ", 1)[1])
    names = {r["name"] for r in rules}
    streamed = "stream" in study.parent.name
    assert {"dump", "train", "untrained", "similarity", "figure_unit_pairs"} <= names
    assert ("stream_compare" in names) == streamed and "dump_untrained" not in names
    for r in rules:
        assert r["docstring"], f"rule {r['name']}: no docstring"
        if r["norun"]:  # rule all: no job
            continue
        assert r["log"] and all(
            log.startswith(f"results/logs/{r['name']}") for log in r["log"]
        ), (r["name"], r["log"])
        env_file = (Path(r["snakefile"]).parent / r["conda"]).resolve()
        expected = "train" if r["name"] in NETWORK_RULES else "analysis"
        assert env_file == ENVS / f"{expected}.yaml", (r["name"], r["conda"])
        assert {"mem_mb", "runtime"} <= set(r["resources"]), (r["name"], r["resources"])


def lint(*args: str) -> None:
    proc = subprocess.run(
        [SNAKEMAKE, "--lint", *args], cwd=ROOT, env=env(), capture_output=True, text=True,
        timeout=120,
    )
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0 and "Lints for" not in out, out[-5000:]
    assert "Congratulations, your workflow is in a good condition!" in out


def test_snakemake_lint_finds_nothing():
    """`snakemake --lint` as a user runs it: from the repository, on config/config.yaml."""
    lint()


def test_snakemake_lint_finds_nothing_in_either_probe_mode(study):
    lint("--configfile", str(study), "--directory", str(study.parent))
