"""Many-to-many clustering of the joint correlation matrix on planted block structure."""

import numpy as np
from sklearn.metrics import adjusted_rand_score

from convergent.analysis import clustering as cl


def planted_joint(seed=0):
    """Two nets of 9 units; three latent factors, each driving 3 units of A and 3 of B (in
    shuffled order), so the joint matrix is block-diagonal up to a permutation."""
    rng = np.random.default_rng(seed)
    z = rng.normal(size=(5000, 3))
    group_a, group_b = rng.permutation(np.repeat(np.arange(3), 3)), rng.permutation(
        np.repeat(np.arange(3), 3)
    )
    xa = z[:, group_a] + 0.5 * rng.normal(size=(5000, 9))
    xb = z[:, group_b] * np.where(rng.random(9) < 0.3, -1, 1) + 0.5 * rng.normal(size=(5000, 9))
    c = np.corrcoef(np.hstack([xa, xb]).T)
    return c, np.concatenate([group_a, group_b])


def test_joint_matrix_layout():
    aa, bb = np.eye(2), 2 * np.eye(3)
    ab = np.arange(6.0).reshape(2, 3)
    s = cl.joint_matrix(aa, ab, bb)
    assert s.shape == (5, 5)
    np.testing.assert_array_equal(s[:2, 2:], ab)
    np.testing.assert_array_equal(s[2:, :2], ab.T)


def test_affinities_are_symmetric_and_non_negative():
    c, _ = planted_joint()
    for kind in cl.AFFINITIES:
        a = cl.affinity(c, kind)
        assert np.all(a >= 0) and np.allclose(a, a.T) and np.all(np.diag(a) == 1)


def test_spectral_and_hierarchical_recover_planted_groups():
    c, truth = planted_joint()
    a = cl.affinity(c, "abs")  # sign-flipped units still belong to their factor
    spectral = cl.spectral_labels(a, 3)
    assert adjusted_rand_score(truth, spectral) == 1.0
    _, order, hac = cl.hierarchical(a, 3)
    assert adjusted_rand_score(truth, hac) == 1.0
    assert sorted(order) == list(range(18))
    comp = cl.composition(spectral, 9)
    assert (comp.shared, comp.only_a, comp.only_b) == (3, 0, 0)
    np.testing.assert_array_equal(np.sort(comp.units_a), [3, 3, 3])
    # ordering by cluster makes the permuted matrix block-diagonal: contiguous labels
    ordered = spectral[cl.cluster_order(spectral, a)]
    assert np.count_nonzero(np.diff(ordered)) == 2


def test_composition_counts_single_net_and_one_to_one_clusters():
    labels = np.array([0, 0, 1, 2, 2, 3, 3])  # 3 units of A, 4 of B
    comp = cl.composition(labels, 3)
    # cluster 0: A,A; 1: A; 2: B,B; 3: B,B -> no shared clusters
    assert (comp.shared, comp.only_a, comp.only_b, comp.one_to_one) == (0, 2, 2, 0)
    comp = cl.composition(np.array([0, 1, 0, 1]), 2)
    assert (comp.shared, comp.one_to_one) == (2, 2)


def test_default_clusters_is_half_a_net():
    assert cl.default_clusters(16) == 8
    assert cl.default_clusters(3) == 2


def test_dead_units_are_in_no_cluster_and_leave_the_labels_stable_under_rounding_noise():
    """A dead unit (a zero row: no variance) would be an isolated node of the affinity graph,
    its own connected component: the spectral embedding's top eigenvalue repeats and the labels
    change with 1e-15 noise.  Left out, they change nothing."""
    rng = np.random.default_rng(1)
    z = rng.normal(size=(300, 6))
    x = z @ rng.normal(size=(6, 32)) + 2 * rng.normal(size=(300, 32))  # weak structure
    dead = rng.choice(40, 8, replace=False)
    live = np.setdiff1d(np.arange(40), dead)
    s = np.zeros((40, 40))
    s[np.ix_(live, live)] = np.corrcoef(x.T)
    alive = cl.live_units(s)
    np.testing.assert_array_equal(np.flatnonzero(~alive), np.sort(dead))
    base = cl.spectral_labels(cl.affinity(s), 16, alive)
    _, order, hac = cl.hierarchical(cl.affinity(s), 16, alive)
    assert (base[dead] == cl.DEAD).all() and (hac[dead] == cl.DEAD).all()
    assert (base[live] >= 0).all() and len(np.unique(base[live])) == 16
    assert sorted(order[-8:]) == sorted(dead) and sorted(order) == list(range(40))
    # the same clusters as of the matrix without its dead units
    np.testing.assert_array_equal(base[live], cl.spectral_labels(cl.affinity(s[np.ix_(live, live)]),
                                                                 16))
    for _ in range(4):
        noise = 1e-15 * rng.normal(size=(32, 32))
        noisy = s.copy()
        noisy[np.ix_(live, live)] += noise + noise.T
        labels = cl.spectral_labels(cl.affinity(noisy), 16, cl.live_units(noisy))
        assert adjusted_rand_score(base, labels) == 1.0
    comp = cl.composition(base, 20)  # dead units are counted in no cluster
    assert comp.units_a.sum() + comp.units_b.sum() == 32
    assert cl.cluster_order(base, cl.affinity(s))[-8:].tolist() == sorted(dead)


def test_spectral_labels_are_scikit_learns_label_for_label():
    """The dense eigensolver and cluster_qr give scikit-learn's SpectralClustering (precomputed
    affinity, cluster_qr) labels, on planted groups and on weakly structured correlations of
    the size of an fc layer; and they depend on the embedding's span alone."""
    from sklearn.cluster import SpectralClustering

    rng = np.random.default_rng(3)
    cases = [(cl.affinity(planted_joint(seed)[0], kind), 3) for seed in range(3)
             for kind in cl.AFFINITIES]
    for units, factors, k in ((40, 6, 10), (160, 20, 40)):
        z = rng.normal(size=(500, factors))
        x = z @ rng.normal(size=(factors, units)) + 2 * rng.normal(size=(500, units))
        cases.append((cl.affinity(np.corrcoef(x.T)), k))
    for a, k in cases:
        ours = cl.spectral_labels(a, k)
        theirs = SpectralClustering(n_clusters=k, affinity="precomputed",
                                    assign_labels="cluster_qr", random_state=0).fit_predict(a)
        np.testing.assert_array_equal(ours, theirs)
    vectors = cl.spectral_embedding(a, k)
    rotation = np.linalg.qr(rng.normal(size=(k, k)))[0]
    np.testing.assert_array_equal(cl.cluster_qr(vectors @ rotation), cl.cluster_qr(vectors))
