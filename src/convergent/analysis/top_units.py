"""The probe images (and positions) that activate each unit most (for Li et al. 2016, Fig. 2).

For a conv unit an image's score is its largest activation over positions (the position is
kept so the patch can be cropped to the receptive field); distinct images are ranked, so the
top patches of a unit come from different images.  fc units score whole images.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class TopUnits:
    """Per unit (rows) its ``n`` best images, best first: image (row of the probe set), row and
    column of the maximising position (0 for fc units) and the activation value."""

    image: np.ndarray
    row: np.ndarray
    col: np.ndarray
    value: np.ndarray

    @classmethod
    def empty(cls, units: int, n: int) -> TopUnits:
        return cls(
            np.full((units, n), -1, dtype=np.int64),
            np.zeros((units, n), dtype=np.int64),
            np.zeros((units, n), dtype=np.int64),
            np.full((units, n), -np.inf),
        )

    def add(self, x: np.ndarray, first_image: int) -> None:
        """Merge one chunk of activations (images, C[, H, W]) whose first image is
        ``first_image`` into the running top-n."""
        n_img, units = x.shape[:2]
        if x.ndim == 4:
            flat = x.reshape(n_img, units, -1)
            pos = flat.argmax(axis=2)
            score = np.take_along_axis(flat, pos[..., None], axis=2)[..., 0]
            row, col = np.divmod(pos, x.shape[3])
        else:
            score = x
            row = col = np.zeros_like(x, dtype=np.int64)
        images = first_image + np.arange(n_img)
        n = self.image.shape[1]
        value = np.concatenate([self.value, score.T.astype(np.float64)], axis=1)
        best = np.argsort(-value, axis=1, kind="stable")[:, :n]
        pick = lambda old, new: np.take_along_axis(  # noqa: E731
            np.concatenate([old, new], axis=1), best, axis=1
        )
        self.image = pick(self.image, np.broadcast_to(images, (units, n_img)))
        self.row = pick(self.row, row.T)
        self.col = pick(self.col, col.T)
        self.value = np.take_along_axis(value, best, axis=1)

    def as_dict(self) -> dict[str, np.ndarray]:
        return {"image": self.image, "row": self.row, "col": self.col, "value": self.value}
