"""The probe images (and positions) that activate each unit most (for Li et al. 2016, Fig. 2).

For a conv unit an image's score is its largest activation over positions (the position is
kept so the patch can be cropped to the receptive field, or marked on the whole image); for a
token unit its largest over tokens (the token is kept as the row); distinct images are ranked,
so the top patches of a unit come from different images.  fc units score whole images.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from convergent.moments.conventions import by_units, grid


@dataclass
class TopUnits:
    """Per unit (rows) its ``n`` best images, best first: image (row of the probe set), row and
    column of the maximising position (token units: the token and 0; fc units: 0 and 0) and
    the activation value; ``grid``: the layer's grid of positions, (H, W), (T,) or () for fc
    (empty in files written before it was recorded)."""

    image: np.ndarray
    row: np.ndarray
    col: np.ndarray
    value: np.ndarray
    grid: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))

    @classmethod
    def empty(cls, units: int, n: int) -> TopUnits:
        return cls(
            np.full((units, n), -1, dtype=np.int64),
            np.zeros((units, n), dtype=np.int64),
            np.zeros((units, n), dtype=np.int64),
            np.full((units, n), -np.inf),
        )

    def add(self, x: np.ndarray, first_image: int) -> None:
        """Merge one chunk of activations (images, ...) of any layer kind whose first image is
        ``first_image`` into the running top-n."""
        self.grid = np.asarray(grid(x.shape[1:]), dtype=np.int64)
        flat = by_units(x)
        n_img, units = flat.shape[:2]
        pos = flat.argmax(axis=2)
        score = np.take_along_axis(flat, pos[..., None], axis=2)[..., 0]
        row, col = np.divmod(pos, self.grid[1]) if len(self.grid) == 2 else (pos, 0 * pos)
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
        return {"image": self.image, "row": self.row, "col": self.col, "value": self.value,
                "grid": self.grid}
