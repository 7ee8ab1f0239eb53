"""The wheels that the GPU machine lacks for a whole study: snakemake and exactly the packages of
its dependency tree (and the package's own runtime needs) that the machine's image does not hold,
at the versions of the environment this runs in (``make setup``'s, from requirements.txt).

    python scripts/device/wheels.py --pins           # the NAME==VERSION list pip downloads
    python scripts/device/wheels.py --build-pins     # ... and the list pip builds (no wheel)
    python scripts/device/wheels.py --check DIR      # the downloaded set is complete and single

The GPU machine (the device tool's ``nvidia-h200``: Python 3.12, torch 2.11) holds DEVICE_HAS
(its image's package list, as the device notes give it); everything else the study imports must
travel as a cp312 manylinux wheel.  pulp is left out: it only serves Snakemake's ILP scheduler
(``--scheduler greedy`` needs none) and bundles a 40 MB solver.  ``--check`` reads every wheel's
METADATA and fails unless each requirement (markers evaluated for CPython 3.12 on Linux x86-64)
is a wheel of the set or on the machine, and no package comes twice.
"""

from __future__ import annotations

import argparse
import re
import sys
import zipfile
from email.parser import Parser
from importlib import metadata
from pathlib import Path

from packaging.requirements import Requirement

#: what the study needs beyond the GPU machine's image: Snakemake and its dependency tree,
#: jsonschema (also convergent.study's config validation) and docutils (the report rule)
ROOTS = ("snakemake", "jsonschema", "docutils")

#: pure-Python packages published as a source archive only: built into a wheel here
BUILT_HERE = {"connection-pool"}

#: packages on the GPU machine's image that the study's dependency tree needs (the rest of the
#: image is not listed: nothing here requires it)
DEVICE_HAS = {
    "attrs", "certifi", "charset-normalizer", "h5py", "idna", "jinja2", "markupsafe",
    "matplotlib", "numpy", "packaging", "pandas", "pillow", "psutil", "pytorch-lightning",
    "pyyaml", "requests", "scikit-learn", "scipy", "tabulate", "tensorboard", "torch",
    "torchvision", "tqdm", "typing-extensions", "urllib3", "wrapt",
}
#: needed only by Snakemake's ILP scheduler; the benchmark runs it with --scheduler greedy
LEFT_OUT = {"pulp"}
#: the markers of the GPU machine's Python
ENVIRONMENT = {
    "python_version": "3.12", "python_full_version": "3.12.3", "implementation_name": "cpython",
    "platform_python_implementation": "CPython", "sys_platform": "linux",
    "platform_system": "Linux", "os_name": "posix", "platform_machine": "x86_64", "extra": "",
}


def normal(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def needed(requirement: str) -> str | None:
    """The package a Requires-Dist line needs on the GPU machine (None: not there)."""
    req = Requirement(requirement)
    if req.marker is not None and not req.marker.evaluate(ENVIRONMENT):
        return None
    return normal(req.name)


def pins() -> dict[str, str]:
    """{name: version} of every package of ROOTS' dependency trees (markers for the GPU
    machine's Python) that the machine lacks, at this environment's versions: requirements.txt
    pins them (the one place they are written)."""
    found: dict[str, str] = {}

    def walk(name: str) -> None:
        name = normal(name)
        if name in found or name in DEVICE_HAS or name in LEFT_OUT:
            return
        found[name] = metadata.version(name)
        for line in metadata.distribution(name).requires or []:
            if dep := needed(line):
                walk(dep)

    try:
        for root in ROOTS:
            walk(root)
    except metadata.PackageNotFoundError as err:
        sys.exit(f"wheels: {err.name} is not installed here; run this with the project's "
                 "environment (make setup, then .venv/bin/python)")
    return found


def check(folder: Path) -> list[str]:
    """What is wrong with the wheels in ``folder`` (nothing: an empty list)."""
    problems, names, requires = [], {}, {}
    for wheel in sorted(folder.glob("*.whl")):
        with zipfile.ZipFile(wheel) as z:
            meta = next(n for n in z.namelist() if n.endswith(".dist-info/METADATA"))
            headers = Parser().parsestr(z.read(meta).decode())
        name = normal(headers["Name"])
        if name in names:
            problems.append(f"{name}: two wheels ({names[name]}, {wheel.name}); keep one")
        names[name] = wheel.name
        requires[name] = headers.get_all("Requires-Dist") or []
        tags = wheel.name.removesuffix(".whl").split("-")[-3:]
        if not (tags[0] in ("py3", "py2.py3", "cp312") and
                (tags[2] == "any" or "x86_64" in tags[2])):
            problems.append(f"{wheel.name}: not a wheel for CPython 3.12 on Linux x86-64")
    missing = set(pins()) - set(names)
    problems += [f"{n}: no wheel (run scripts/device/prepare.sh)" for n in sorted(missing)]
    for name, lines in requires.items():
        for line in lines:
            dep = needed(line)
            if dep and dep not in names and dep not in DEVICE_HAS and dep not in LEFT_OUT:
                problems.append(f"{name} needs {dep}: neither a wheel nor on the GPU machine")
    return problems


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--pins", action="store_true",
                   help="print NAME==VERSION of the wheels to download, one a line")
    p.add_argument("--build-pins", action="store_true",
                   help="print NAME==VERSION of the source archives to build into wheels")
    p.add_argument("--check", type=Path, metavar="DIR", help="check the wheels in DIR")
    args = p.parse_args()
    if args.pins or args.build_pins:
        print("\n".join(f"{n}=={v}" for n, v in pins().items()
                        if (n in BUILT_HERE) == args.build_pins))
    if args.check:
        problems = check(args.check)
        for line in problems:
            print(f"wheels: {line}", file=sys.stderr)
        if problems:
            sys.exit(1)
        print(f"wheels: {len(list(args.check.glob('*.whl')))} wheels in {args.check}, complete")


if __name__ == "__main__":
    main()
