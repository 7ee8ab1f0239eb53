"""Top-activating images per unit, merged across chunks."""

import numpy as np

from convergent.analysis.top_units import TopUnits


def test_top_images_and_positions_across_chunks():
    rng = np.random.default_rng(0)
    x = rng.random((30, 2, 4, 5))
    x[17, 0, 2, 3] = 5.0  # planted best of unit 0
    x[3, 0, 1, 1] = 4.0  # second best of unit 0
    top = TopUnits.empty(2, 3)
    for start in range(0, 30, 7):
        top.add(x[start : start + 7], start)
    assert list(top.image[0, :2]) == [17, 3]
    assert (top.row[0, 0], top.col[0, 0]) == (2, 3)
    assert top.value[0, 0] == 5.0
    per_image = x[:, 1].reshape(30, -1).max(1)
    np.testing.assert_array_equal(top.image[1], np.argsort(-per_image)[:3])
    assert len(set(top.image[0])) == 3  # distinct images


def test_fc_units_rank_images():
    x = np.array([[0.1, 2.0], [3.0, 1.0], [0.5, 0.0]])
    top = TopUnits.empty(2, 2)
    top.add(x, 0)
    np.testing.assert_array_equal(top.image, [[1, 2], [0, 1]])
    assert np.all(top.row == 0)
