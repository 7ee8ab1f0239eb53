"""Sparse prediction of one net's units from another's ("few-to-one", Li et al. 2016, Table 1).

Model: ŷ = Wᵀx + b at every spatial position (a 1×1 convolution shared across positions), fitted
per target unit j with an L1 penalty,

    minimise_{w_j, b_j}  (1 / 2n) ‖y_j − X w_j − b_j‖² + λ ‖w_j‖₁ ,

the objective of scikit-learn's ``Lasso(alpha=λ, fit_intercept=True)``.  The bias is unpenalised
(Caffe's L1 weight decay also shrank the bias; an unpenalised bias makes "predict the mean" the
λ → ∞ limit, so 0.5 is the baseline of standardised targets).

Both inputs and targets are standardised per unit with the mean and standard deviation of all
probe samples (from the moments files), so one λ means the same in every layer and the held-out
loss ½·MSE is 0.5 for the predict-the-mean model (Li et al. standardised targets only; their raw
Caffe inputs had scales we cannot reproduce).

Exactness: with the bias profiled out the objective depends on the data only through the
centred Gram matrices  Σ_xx = cov(X), Σ_xy = cov(X, Y), σ²_y  of the fitting samples:

    ½ (wᵀ Σ_xx w − 2 wᵀ Σ_xy + σ²_y) + λ ‖w‖₁ ,

so the streaming pass's per-block raw sums are enough.  The solver (:func:`lasso_path`) works on
these Gram matrices for all targets at once, along the λ path from large to small penalties
(warm-started), and finishes every target with an exact active-set solve checked against the
optimality conditions, so the weights are exact (to rounding), not an SGD approximation.

Held-out loss: the fitting blocks and the held-out blocks come from the per-probe-block moments;
the residual of held-out sample s is y_s − b − Wᵀx_s with b fitted on the fitting blocks, and
½·E[r²] over held-out samples is again a quadratic form of the held-out raw sums.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np


@dataclass
class Sums:
    """Raw sums of n samples: x (p,), y (q,), xx (p, p), xy (p, q), yy (q,) (diagonal only)."""

    n: float
    x: np.ndarray
    y: np.ndarray
    xx: np.ndarray
    xy: np.ndarray
    yy: np.ndarray

    def standardised(self, mx, sx, my, sy) -> Sums:
        """The sums of (x − mx)/sx and (y − my)/sy, computed from these raw sums."""
        n = self.n
        x = (self.x - n * mx) / sx
        y = (self.y - n * my) / sy
        xx = self.xx - np.outer(self.x, mx) - np.outer(mx, self.x) + n * np.outer(mx, mx)
        xy = self.xy - np.outer(self.x, my) - np.outer(mx, self.y) + n * np.outer(mx, my)
        yy = self.yy - 2 * my * self.y + n * my**2
        return Sums(n, x, y, xx / np.outer(sx, sx), xy / np.outer(sx, sy), yy / sy**2)


def covariance_form(s: Sums) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(Σ_xx, Σ_xy, σ²_y, mean_x, mean_y) of the samples summed in ``s`` (population, /n)."""
    mx, my = s.x / s.n, s.y / s.n
    return (
        s.xx / s.n - np.outer(mx, mx),
        s.xy / s.n - np.outer(mx, my),
        s.yy / s.n - my**2,
        mx,
        my,
    )


def lasso_path(
    gram: np.ndarray,
    cross: np.ndarray,
    penalties: np.ndarray,
    tol: float = 1e-9,
    max_iter: int = 1_000,
    check_every: int = 20,
    advance: Callable[[int], object] | None = None,
) -> np.ndarray:
    """Weights (len(penalties), p, q) minimising ½wᵀGw − wᵀc + λ‖w‖₁ for every column c;
    ``advance(1)``, if given, is called after each penalty (a progress bar's ``update``).

    λ = 0 is least squares on the Gram matrix (the minimum-norm solution if G is singular).
    λ > 0, from the smallest penalty to the largest: first an exact active-set search started
    from the previous solution (:func:`_refine`; it finishes almost every target), then, for the
    targets it leaves unfinished, ADMM on all of them at once (one eigendecomposition G = VΛVᵀ
    makes each iteration two matrix products).  Every ``check_every`` iterations each unfinished
    target is polished: on the active set A and signs s of its ADMM iterate the exact optimum
    solves G_AA w_A = c_A − λ s; a target is finished when that solution has the same signs and
    every inactive coordinate meets the optimality condition |c_k − G_kA w_A| ≤ λ (or when the
    ADMM residuals fall below ``tol``).  Targets still unverified after ``max_iter`` iterations
    keep the ADMM iterate (seen only at tiny λ on ill-conditioned Gram matrices).
    """
    p, q = cross.shape
    order = np.argsort(np.asarray(penalties, dtype=float), kind="stable")
    live = np.diag(gram) > 1e-12  # a constant input can never help: its weight stays 0
    evals, evecs = np.linalg.eigh(gram)
    evals = np.maximum(evals, 0.0)
    c = np.where(live[:, None], cross, 0.0)
    positive = evals[evals > 1e-12 * max(evals.max(), 1e-300)]
    rho = float(np.median(positive)) if len(positive) else 1.0
    inv = np.zeros_like(evals)
    inv[evals > 1e-12 * max(evals.max(), 1e-300)] = 1 / positive
    z = evecs @ ((evecs.T @ c) * inv[:, None])  # λ = 0: least squares
    z[~live] = 0.0
    u = np.zeros((p, q))
    out = np.zeros((len(penalties), p, q))
    done = advance or (lambda _: None)
    for i in order:
        lam = float(penalties[i])
        if lam == 0:
            out[i] = z
            done(1)
            continue
        # first an active-set search from the neighbouring solution (usually exact at once)
        exact, ok = _refine(gram, c, z, lam)
        z[:, ok] = exact[:, ok]
        u[:, ok] = 0.0
        todo = np.flatnonzero(~ok)
        for it in range(1, max_iter + 1):
            zt, ut, ct = z[:, todo], u[:, todo], c[:, todo]
            w = evecs @ ((evecs.T @ (ct + rho * (zt - ut))) / (evals + rho)[:, None])
            z_new = _soft(w + ut, lam / rho)
            z_new[~live] = 0.0
            ut += w - z_new
            converged = (np.abs(w - z_new).max(axis=0) <= tol) & (
                rho * np.abs(z_new - zt).max(axis=0) <= tol
            )
            z[:, todo], u[:, todo] = z_new, ut
            if it % check_every == 0 or it == max_iter:
                exact, ok = _polish(gram, c[:, todo], z_new, lam)
                z[:, todo[ok]] = exact[:, ok]
                converged |= ok
            todo = todo[~converged]
            if len(todo) == 0:
                break
        out[i] = z
        done(1)
    return out


def _soft(x: np.ndarray, t: float) -> np.ndarray:
    return np.sign(x) * np.maximum(np.abs(x) - t, 0.0)


def _refine(
    gram: np.ndarray, c: np.ndarray, w: np.ndarray, lam: float, rounds: int = 8
) -> tuple[np.ndarray, np.ndarray]:
    """(exact, ok) per column: an active-set search started from the signs of ``w``.

    Each round solves G_AA w_A = c_A − λ s on the active set, drops coordinates whose sign
    flipped or, if none did, adds the inactive coordinates that violate |c_k − G_kA w_A| ≤ λ (with
    the sign of the violation); a column is ok when the solution meets all optimality conditions.
    """
    p, q = w.shape
    exact = w.copy()
    ok = np.zeros(q, dtype=bool)
    for j in range(q):
        s = np.sign(w[:, j])
        for _ in range(rounds):
            active = np.flatnonzero(s)
            sol = np.zeros(p)
            if len(active):
                try:
                    sol[active] = np.linalg.solve(
                        gram[np.ix_(active, active)], c[active, j] - lam * s[active]
                    )
                except np.linalg.LinAlgError:
                    break
            flipped = active[np.sign(sol[active]) != s[active]]
            resid = c[:, j] - gram @ sol
            resid[active] = 0.0
            violators = np.flatnonzero(np.abs(resid) > lam * (1 + 1e-9) + 1e-12)
            if len(flipped) == 0 and len(violators) == 0:
                exact[:, j], ok[j] = sol, True
                break
            s[flipped] = 0.0
            if len(flipped) == 0:
                s[violators] = np.sign(resid[violators])
    return exact, ok


def _polish(
    gram: np.ndarray, c: np.ndarray, w: np.ndarray, lam: float
) -> tuple[np.ndarray, np.ndarray]:
    """(exact, ok): per column of ``w``, the exact lasso solution on its active set and whether
    it meets the optimality conditions (columns with the same active set are solved together)."""
    exact = w.copy()
    ok = np.zeros(w.shape[1], dtype=bool)
    supports: dict[bytes, list[int]] = {}
    for j in range(w.shape[1]):
        supports.setdefault((w[:, j] != 0).tobytes(), []).append(j)
    for cols in supports.values():
        active = np.flatnonzero(w[:, cols[0]])
        if len(active) == 0:
            ok[cols] = np.all(np.abs(c[:, cols]) <= lam * (1 + 1e-9) + 1e-12, axis=0)
            continue
        s = np.sign(w[np.ix_(active, cols)])
        try:
            sol = np.linalg.solve(gram[np.ix_(active, active)], c[np.ix_(active, cols)] - lam * s)
        except np.linalg.LinAlgError:
            continue
        slack = np.abs(c[:, cols] - gram[:, active] @ sol)
        slack[active] = 0.0
        good = np.all(np.sign(sol) == s, axis=0) & np.all(slack <= lam * (1 + 1e-9) + 1e-12, axis=0)
        for t in np.flatnonzero(good):
            exact[:, cols[t]] = 0.0
            exact[active, cols[t]] = sol[:, t]
        ok[cols] = good
    return exact, ok


def held_out_loss(w: np.ndarray, fit: Sums, test: Sums) -> np.ndarray:
    """½·mean squared held-out residual per target (q,), the bias fitted on ``fit``.

    ``w`` is (p, q); b = ȳ_fit − x̄_fitᵀ w, r = y − b − wᵀx over the samples summed in ``test``.
    """
    _, _, _, mx, my = covariance_form(fit)
    b = my - mx @ w
    n = test.n
    # E[(y − b − wᵀx)²] = E[y²] − 2E[y(b + wᵀx)] + E[(b + wᵀx)²], per target j
    e_yy = test.yy / n
    e_x, e_y = test.x / n, test.y / n
    e_xx, e_xy = test.xx / n, test.xy / n
    e_y_pred = b * e_y + np.einsum("pq,pq->q", w, e_xy)
    e_pred2 = b**2 + 2 * b * (e_x @ w) + np.einsum("pq,pr,rq->q", w, e_xx, w)
    return 0.5 * (e_yy - 2 * e_y_pred + e_pred2)


def fold_of_block(blocks: int, folds: int) -> np.ndarray:
    """Fold index of each probe block (block b -> fold b mod folds): interleaved, so that every
    fold spans the whole probe set."""
    if not 2 <= folds <= blocks:
        raise ValueError(f"folds = {folds}: need 2 ≤ folds ≤ blocks = {blocks}")
    return np.arange(blocks) % folds


@dataclass
class BlockSums:
    """Per-probe-block raw sums: count (B,), x (B, p), y (B, q), xx (B, p, p), xy (B, p, q),
    yy (B, q) (the diagonal of Σ yyᵀ)."""

    count: np.ndarray
    x: np.ndarray
    y: np.ndarray
    xx: np.ndarray
    xy: np.ndarray
    yy: np.ndarray

    @classmethod
    def from_moments(cls, within_x, within_y, cross) -> BlockSums:
        """The sums for predicting y from x, from three ``BlockMoments`` (within x, within y,
        cross: x against y) of the same blocks."""
        yy = np.diagonal(within_y.sum_xy, axis1=1, axis2=2)
        return cls(cross.count, cross.sum_x, cross.sum_y, within_x.sum_xy, cross.sum_xy, yy)

    def total(self, blocks: np.ndarray) -> Sums:
        return Sums(
            float(self.count[blocks].sum()),
            self.x[blocks].sum(0),
            self.y[blocks].sum(0),
            self.xx[blocks].sum(0),
            self.xy[blocks].sum(0),
            self.yy[blocks].sum(0),
        )

    def transposed(self, yy_full: np.ndarray, xx_diag: np.ndarray) -> BlockSums:
        """The sums for predicting x from y; needs y's full (B, q, q) sums."""
        return BlockSums(self.count, self.y, self.x, yy_full, self.xy.transpose(0, 2, 1), xx_diag)


@dataclass
class PredictionResult:
    """loss (penalties, q) held-out ½·MSE per target (mean over folds); weights (penalties, p, q)
    fitted on all blocks; nonzero (penalties, q) predictors per target in those weights."""

    penalties: np.ndarray
    loss: np.ndarray
    weights: np.ndarray
    nonzero: np.ndarray


def sparse_prediction(
    sums: BlockSums,
    penalties: np.ndarray,
    folds: int,
    dead_std: float = 1e-6,
    tol: float = 1e-9,
    advance: Callable[[int], object] | None = None,
) -> PredictionResult:
    """Held-out loss of the L1 path, k-fold over probe blocks, on standardised units
    (``advance``: called after each of the (folds + 1) × penalties fits, see :func:`lasso_path`).

    Inputs and targets are standardised with the mean and SD of all blocks.  A dead target
    (SD ≤ ``dead_std``) is predicted perfectly by its mean and gets loss NaN (excluded from
    means); dead inputs are constant after standardisation and keep weight 0.
    """
    penalties = np.asarray(penalties, dtype=float)
    everything = sums.total(np.arange(len(sums.count)))
    _, _, _, mx, my = covariance_form(everything)
    sx = np.sqrt(np.maximum(np.diag(everything.xx) / everything.n - mx**2, 0.0))
    sy = np.sqrt(np.maximum(everything.yy / everything.n - my**2, 0.0))
    sx_safe, sy_safe = np.where(sx > dead_std, sx, 1.0), np.where(sy > dead_std, sy, 1.0)

    def standardise(s: Sums) -> Sums:
        z = s.standardised(mx, sx_safe, my, sy_safe)
        dead = sx <= dead_std  # a dead input carries no signal: zero its sums
        z.x[dead], z.xx[dead, :], z.xx[:, dead], z.xy[dead, :] = 0, 0, 0, 0
        return z

    fold = fold_of_block(len(sums.count), folds)
    loss = np.zeros((len(penalties), sums.xy.shape[2]))
    for f in range(folds):
        fit = standardise(sums.total(np.flatnonzero(fold != f)))
        test = standardise(sums.total(np.flatnonzero(fold == f)))
        gram, cross, *_ = covariance_form(fit)
        path = lasso_path(gram, cross, penalties, tol, advance=advance)
        loss += np.stack([held_out_loss(w, fit, test) for w in path]) / folds
    gram, cross, *_ = covariance_form(standardise(everything))
    weights = lasso_path(gram, cross, penalties, tol, advance=advance)
    loss[:, sy <= dead_std] = np.nan
    return PredictionResult(penalties, loss, weights, (weights != 0).sum(axis=1))
