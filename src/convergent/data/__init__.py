"""Data: datasets and what a job needs to know about them, the probe set, and the Lightning
data modules of training."""

from convergent.data.datasets import DataSpec, ImageTensors, image_folder, normalise
from convergent.data.modules import epoch_seed, make_datamodule
from convergent.data.probe import Probe, probe_batches, probe_index, probe_indices

__all__ = [
    "DataSpec",
    "ImageTensors",
    "image_folder",
    "normalise",
    "epoch_seed",
    "make_datamodule",
    "Probe",
    "probe_batches",
    "probe_index",
    "probe_indices",
]
