"""The wheels that the GPU machine lacks for a whole study: snakemake and exactly the packages of
its dependency tree (and the package's own runtime needs) that the machine's image does not hold.

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
from pathlib import Path

from packaging.requirements import Requirement

#: the versions of this repository's environment (requirements.txt and what it resolved to)
PINS = {
    "snakemake": "9.27.1",
    "annotated-types": "0.8.0",
    "argparse-dataclass": "2.0.0",
    "conda-inject": "1.3.2",
    "configargparse": "1.9.0",
    "connection-pool": "0.0.3",
    "docutils": "0.22.4",  # the report rule (reStructuredText tables)
    "dpath": "2.2.0",
    "fastjsonschema": "2.22.3",
    "gitdb": "4.0.12",
    "gitpython": "3.2.1",
    "greenlet": "3.5.6",
    "humanfriendly": "10.0",
    "immutables": "0.21",
    "jsonschema": "4.26.0",  # also convergent.study's config validation
    "jsonschema-specifications": "2025.9.1",
    "jupyter-core": "5.9.1",
    "nbformat": "5.11.1",
    "platformdirs": "4.14.9",
    "pydantic": "2.14.4",
    "pydantic-core": "2.50.5",
    "referencing": "0.37.0",
    "rpds-py": "2026.9.1",
    "smart-open": "7.7.1",
    "smmap": "5.0.3",
    "snakemake-interface-common": "1.23.0",
    "snakemake-interface-executor-plugins": "9.4.0",
    "snakemake-interface-logger-plugins": "2.1.0",
    "snakemake-interface-report-plugins": "1.3.0",
    "snakemake-interface-scheduler-plugins": "2.0.2",
    "snakemake-interface-storage-plugins": "4.4.1",
    "sqlalchemy": "2.0.58",
    "sqlmodel": "0.0.37",
    "tenacity": "9.2.1",
    "throttler": "1.2.3",
    "traitlets": "5.16.1",
    "typing-inspection": "0.4.5",
    "yte": "1.9.4",
}

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
    missing = {normal(n) for n in PINS} - set(names)
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
        print("\n".join(f"{n}=={v}" for n, v in PINS.items()
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
