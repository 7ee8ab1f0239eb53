"""Data: datasets and what a job needs to know about them, the probe set, and the Lightning
data modules of training.

The names below load their module when first used: the config check imports
:mod:`convergent.data.checks` and :mod:`convergent.data.layout` at every Snakemake start, and
importing the data stack with them (torch, Lightning: seconds) would slow every run and dry run.
"""

from importlib import import_module

_HOMES = {
    "DataSpec": "datasets",
    "ImageTensors": "datasets",
    "image_folder": "datasets",
    "normalise": "datasets",
    "epoch_seed": "modules",
    "make_datamodule": "modules",
    "Probe": "probe",
    "probe_batches": "probe",
    "probe_index": "probe",
    "probe_indices": "probe",
}

__all__ = list(_HOMES)


def __getattr__(name: str):
    if name not in _HOMES:
        raise AttributeError(f"module 'convergent.data' has no attribute {name!r}")
    return getattr(import_module(f"convergent.data.{_HOMES[name]}"), name)
