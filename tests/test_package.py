"""The package as installed by pip: every third-party import declared in pyproject.toml with a
lower bound (exact pins live in requirements.txt only), a license and readme in the metadata,
help on every CLI argument, and the wheel check wired into CI."""

from __future__ import annotations

import argparse
import re
import tomllib

from conftest import ROOT
from test_envs import imported_distributions, normalise, requirements

PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]


#: optional extras the package imports where a feature asks for them (with a one-line error
#: naming the extra if absent): declared like dependencies, in their extra
IMPORTED_EXTRAS = ("timm",)


def declared(requirements: list[str] | None = None) -> dict[str, str]:
    """{distribution: version specifier} of pyproject's dependencies (or ``requirements``)."""
    out = {}
    for requirement in PROJECT["dependencies"] if requirements is None else requirements:
        match = re.fullmatch(r"([A-Za-z0-9_.-]+)\s*(.*)", requirement)
        out[normalise(match[1])] = match[2]
    return out


def test_every_imported_package_is_declared_with_a_lower_bound():
    deps = declared()
    for extra in IMPORTED_EXTRAS:
        deps.update(declared(PROJECT["optional-dependencies"][extra]))
    missing = imported_distributions() - set(deps)
    assert not missing, f"imported by src/convergent but not in pyproject.toml: {missing}"
    for name, specifier in deps.items():
        assert re.fullmatch(r">=[0-9][0-9.]*", specifier), f"{name}{specifier}: a lower bound only"
        pinned = requirements()[name]  # the study's pin satisfies the bound
        bound = specifier[2:]
        as_tuple = lambda v: tuple(int(p) for p in re.findall(r"\d+", v)[:3])  # noqa: E731
        assert as_tuple(pinned) >= as_tuple(bound), (name, pinned, bound)


def test_metadata_has_license_readme_and_urls():
    assert PROJECT["license"] == "MIT" and PROJECT["license-files"] == ["LICENSE"]
    assert (ROOT / "LICENSE").read_text().startswith("MIT License")
    assert PROJECT["readme"] == "README.md" and PROJECT["urls"]
    assert "convergent" in PROJECT["scripts"]


def test_every_cli_argument_has_help():
    from convergent.cli import parser

    def walk(p: argparse.ArgumentParser, name: str):
        for action in p._actions:
            if isinstance(action, argparse._SubParsersAction):
                for sub_name, sub in action.choices.items():
                    yield from walk(sub, f"{name} {sub_name}")
            elif action.dest != "help":
                yield name, action

    actions = list(walk(parser(), "convergent"))
    assert len(actions) > 50
    bare = [f"{name} {'/'.join(a.option_strings) or a.dest}" for name, a in actions
            if not (a.help and a.help.strip())]
    assert not bare, f"arguments without help: {bare}"


def test_ci_builds_and_checks_the_wheel():
    ci = (ROOT / ".ci" / "run").read_text()
    assert ci.index("make test") < ci.index("make wheel-check")
    assert "scripts/wheel_check.sh" in (ROOT / "Makefile").read_text()
    script = (ROOT / "scripts" / "wheel_check.sh").read_text()
    assert "tests/api_examples.py" in script and "-m venv" in script
