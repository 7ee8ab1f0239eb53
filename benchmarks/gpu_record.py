"""What every section of the GPU run (benchmarks/gpu.py) shares: its options, how it prints a
figure into the record, and the default study's config and train specs."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]

#: the environment variable naming the JSON-lines file a section appends its figures to
RESULTS_ENV = "CONVERGENT_GPU_RESULTS"


@dataclass(frozen=True)
class Options:
    """What every section reads: where it runs, how big, the data, and its own time cap."""

    device: str  # cuda | cpu
    quick: bool
    data: str | None  # Fashion-MNIST's folder (None: the default lookup)
    cap: float  # seconds this section may take (it should end well inside them)

    @property
    def gpu(self) -> bool:
        return self.device == "cuda"


def emit(section: str, name: str, value: Any, unit: str = "", target: str | None = None,
         ok: bool | None = None, note: str = "") -> None:
    """Print one figure and append it to the results file (flushed: a killed section keeps
    what it printed)."""
    shown = f"{value:,.4g}" if isinstance(value, float) else str(value)
    mark = "" if ok is None else ("  [ok]" if ok else "  [MISSED]")
    extra = "".join(f"  ({s})" for s in (f"target {target}" if target else "", note) if s)
    print(f"  {section}: {name} = {shown} {unit}{extra}{mark}", flush=True)
    path = os.environ.get(RESULTS_ENV)
    if path:
        row = {"section": section, "name": name, "value": value, "unit": unit,
               "target": target, "ok": ok, "note": note}
        with open(path, "a") as f:
            f.write(json.dumps(row, default=str) + "\n")


def default_config() -> dict[str, Any]:
    return yaml.safe_load((ROOT / "config" / "config.yaml").read_text())


def study_config(device: str, quick: bool, data: str | None = None) -> dict[str, Any]:
    """The default study on ``device``; with ``quick``, a tiny one of the same shape."""
    config = default_config()
    config["training"]["accelerator"] = "gpu" if device == "cuda" else "cpu"
    if data:
        config["dataset"]["path"] = str(data)
    if quick:
        config["dataset"].update(train_subset=2000, test_subset=2000)
        config["models"] = config["models"][:2]
        config["training"].update(epochs=1, batch_size=128)
        config["probe"]["size"] = 200
        config["layers"] = ["conv1", "fc7"]
        config["analysis"]["sparse_layers"] = ["conv1"]
        config["similarity"]["enabled"] = False
    return config


def train_spec(config: dict[str, Any], init_seed: int = 0) -> dict[str, Any]:
    """The train rule's spec of model ``init_seed`` of a study config (as common.smk builds
    it), the config validated first."""
    from convergent import study

    study.validate(config, ROOT / "config" / "schema.yaml")
    model = next(m for m in study.models(config) if m.init_seed == init_seed)
    return {"arch": model.arch, "name": model.name, "init_seed": model.init_seed,
            "data_seed": model.data_seed, "replicate": model.replicate,
            "dataset": config["dataset"], "training": study.training_spec(config, model)}
