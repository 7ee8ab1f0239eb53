"""Training: one call trains one model of the study (:func:`fit`), or makes the checkpoint of
an untrained or imported network and measures it.

Seeds: ``init_seed`` alone draws the initial weights; ``data_seed`` draws everything stochastic
during training (minibatch order, flips, dropout masks), one stream per epoch, so that a run
killed and resumed from its last epoch checkpoint ends with the weights of an uninterrupted run
(on CPU, where the kernels are deterministic).

* :mod:`.classifier`: the LightningModule and the network's fingerprint;
* :mod:`.outputs`: what a job leaves on disk (the spec-keyed resume checkpoint, the model's
  checkpoint, metrics.csv, the TensorBoard events);
* :mod:`.runtime`: how a job runs Lightning (device, precision, notices, SIGTERM);
* :mod:`.run`: the jobs themselves.
"""

from convergent.training.classifier import Classifier, flip_one_bit, weights_sha256
from convergent.training.outputs import (
    RESUME_DIR,
    TENSORBOARD_DIR,
    TENSORBOARD_EVENTS,
    CheckpointFile,
    EpochCheckpoint,
)
from convergent.training.run import evaluate, fit, import_checkpoint, save_untrained
from convergent.training.runtime import failing_on_sigterm, precision, quiet_lightning

__all__ = [
    "RESUME_DIR", "TENSORBOARD_DIR", "TENSORBOARD_EVENTS", "CheckpointFile", "Classifier",
    "EpochCheckpoint", "evaluate", "failing_on_sigterm", "fit", "flip_one_bit",
    "import_checkpoint", "precision", "quiet_lightning", "save_untrained", "weights_sha256",
]
