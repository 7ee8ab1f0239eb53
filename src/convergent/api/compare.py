"""Two models compared layer × layer over one loader, in one pass, exactly: :func:`compare`.

Both models run on each batch (:func:`convergent.moments.forward.forward_pair`); every layer's
read-out is summed on the models' device as it goes — per layer its sum and scatter XᵀX, per
pair of layers their cross sums XᵀY, all float64 and shifted by the first batch's means (so a
large mean cancels no digits).  Memory is bounded by the layers' widths, not by the number of
images: no activation is kept.  The cheaper side is taken per layer: a layer with more features
than the loader has samples (flattened conv features of a small probe set) keeps its rows
instead, and its pairs take the n × n Gram route (:mod:`convergent.api.layers`), so memory is
at most min(n, p)·p per layer.  The measures are the workflow's, from the same sums
(:data:`convergent.api.layers.PAIR_MEASURES`); the numbers are those of the full data, not a
minibatch estimate.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from functools import cached_property
from typing import Any

import numpy as np

from convergent.api import layers as ly
from convergent.api.result import Comparison
from convergent.moments.conventions import CONVENTIONS, grid_convention


class Summed:
    """One layer of one model under one convention, summed over the pass: shifted column sums
    and scatter (the scatter side), or its rows too (``keep_rows``: the Gram side)."""

    def __init__(self, keep_rows: bool) -> None:
        self.keep_rows, self.n = keep_rows, 0
        self.shift = self.sum = self.sxx = None
        self.rows: list[Any] = []

    def add(self, x: Any) -> Any:
        """Add a batch's (samples × features) rows; return them shifted (for cross sums)."""
        import torch

        if self.shift is None:
            self.shift = x.mean(0, dtype=torch.float64)
            self.sum = torch.zeros_like(self.shift)
            if not self.keep_rows:
                self.sxx = torch.zeros(len(self.shift), len(self.shift), dtype=torch.float64,
                                       device=x.device)
        xs = x - self.shift.to(x.dtype)
        self.n += len(x)
        self.sum += xs.sum(0, dtype=torch.float64)
        if self.keep_rows:
            self.rows.append(x)
        else:
            self.sxx += (xs.T @ xs).double()
        return xs

    @cached_property
    def layer(self) -> Any:
        """What :class:`convergent.api.layers.Pair` takes: a :class:`~convergent.api.layers.Layer`
        of the kept rows, or the sums' centred scatter."""
        import torch

        if self.keep_rows:
            return ly.Layer(torch.cat(self.rows))
        return SummedLayer(self.n, _np(self.sxx) - np.outer(*[_np(self.sum)] * 2) / self.n)


class SummedLayer:
    """A layer known by its centred scatter only (the attributes ``Pair`` reads)."""

    wide = False
    units = None

    def __init__(self, n: int, scatter: np.ndarray) -> None:
        self.n, self.scatter, self.width = n, scatter, len(scatter)

    @cached_property
    def eig(self) -> tuple[np.ndarray, np.ndarray]:
        return np.linalg.eigh(self.scatter)

    @cached_property
    def square_sum(self) -> float:
        return float(np.trace(self.scatter))

    @cached_property
    def column_variance(self) -> np.ndarray:
        return np.maximum(np.diag(self.scatter) / self.n, 0.0)


def _np(t: Any) -> np.ndarray:
    return t.double().cpu().numpy()


class DeadUnits:
    """Per channel of one layer: how many samples, their shifted sum and sum of squares."""

    def __init__(self) -> None:
        self.n, self.shift, self.sum, self.sq = 0, None, None, None

    def add(self, out: Any) -> None:
        import torch

        x = out.double().transpose(0, 1).reshape(out.shape[1], -1)  # channels × samples
        if self.shift is None:
            self.shift = x.mean(1)
            self.sum, self.sq = torch.zeros_like(self.shift), torch.zeros_like(self.shift)
        xs = x - self.shift[:, None]
        self.n += x.shape[1]
        self.sum += xs.sum(1)
        self.sq += (xs * xs).sum(1)

    def fraction(self, dead_std: float) -> float:
        """The share of channels whose std is ≤ ``dead_std`` (a ReLU that never fires)."""
        mean = _np(self.sum) / self.n
        std = np.sqrt(np.maximum(_np(self.sq) / self.n - mean**2, 0.0))
        return float(np.mean(std <= dead_std))


def _readouts(model: Any, layers: Sequence[str] | Mapping[str, str], name: str) -> dict[str, str]:
    readouts = dict(layers) if isinstance(layers, Mapping) else {str(p): str(p) for p in layers}
    if not readouts:
        raise ValueError(f"{name}: no layers given; name module paths of the model")
    modules = dict(model.named_modules())
    for label, path in readouts.items():
        if path not in modules:
            have = ", ".join(k for k in list(modules)[1:8] if k)
            raise ValueError(f"{name}[{label!r}]: the model has no module {path!r}; name one of "
                             f"its module paths ({have}, ...: see model.named_modules())")
    return readouts


def _images(loader: Iterable) -> Iterable:
    for batch in loader:
        yield batch[0] if isinstance(batch, (tuple, list)) else batch


def _images_of(loader: Iterable) -> int | None:
    from convergent.io.activations import _images_of

    try:
        return _images_of(loader)
    except (ValueError, TypeError):
        return None


def _dataset(loader: Iterable) -> str:
    """A loader's dataset as torch-cka names it: the first line of its repr."""
    dataset = getattr(loader, "dataset", None)
    return repr(dataset).split("\n")[0] if dataset is not None else type(loader).__name__


def _features(out: Any, convention: str, layer: str) -> Any:
    if out.ndim == 2:
        return out
    if out.ndim != 4:
        shape = ", ".join(map(str, out.shape[1:]))
        raise ValueError(f"layer {layer!r} outputs shape (batch, {shape}); compare takes "
                         "(batch, C) or (batch, C, H, W) read-outs")
    if convention == "positions":
        return out.permute(0, 2, 3, 1).reshape(-1, out.shape[1])
    if convention == "mean":
        return out.mean(dim=(2, 3))
    return out.reshape(len(out), -1)


def compare(
    model_a: Any,
    model_b: Any,
    loader: Iterable,
    layers_a: Sequence[str] | Mapping[str, str],
    layers_b: Sequence[str] | Mapping[str, str] | None = None,
    measures: str | Sequence[str] = ("linear_cka",),
    *,
    device: Any = None,
    convention: str = "flatten",
    loader_b: Iterable | None = None,
    precision: str = "float64",
    n_images: int | None = None,
    names: tuple[str, str] | None = None,
    dead_std: float = 1e-6,
    progress: bool = False,
) -> Comparison:
    """Every layer of A against every layer of B by each of ``measures``, in one pass of both
    models over ``loader``, exact (full-data sums, not a minibatch estimate).

    ``layers_a``/``layers_b``: module paths (as ``model.named_modules()`` names them) or
    ``{label: module path}``; ``layers_b`` None: the same paths in B.  Each read-out must be
    (batch, C) or (batch, C, H, W).  ``measures``: names of
    :data:`convergent.api.layers.PAIR_MEASURES`.  ``device``: where both models run and the sums
    accumulate (None: where model A's parameters are; else both models are moved there).
    ``convention`` for conv read-outs: ``flatten`` (C·H·W features per image, Kornblith et
    al.'s and torch-cka's), ``mean`` (spatially averaged) or ``positions`` (every image position
    a sample; pairs on different grids fall back to ``mean``, recorded per cell).
    ``loader_b``: B's own batches of the same images (another preprocessing), else both models
    see ``loader``'s.  ``precision``: ``float64`` (products of float64 activations, the
    workflow's numbers) or ``float32`` (float32 products per batch summed in float64: faster on
    GPUs, ~1e-6 relative).  ``n_images``: how many images the loader yields, when it has no
    sized dataset (it decides only the cheaper side).  ``names``: the models' names in the
    result (default: their class names); ``dead_std``: a channel whose std is at most this is
    dead; ``progress``: a tqdm bar over the images.  Returns a :class:`Comparison`.
    """
    import torch

    from convergent.moments.forward import forward_pair

    measures = ly.check_measures(measures)
    if convention not in CONVENTIONS:
        raise ValueError(f"convention {convention!r}: choose one of {', '.join(CONVENTIONS)}")
    if precision not in ("float64", "float32"):
        raise ValueError(f"precision {precision!r}: choose float64 or float32")
    ra = _readouts(model_a, layers_a, "layers_a")
    rb = _readouts(model_b, layers_b if layers_b is not None else layers_a,
                   "layers_b" if layers_b is not None else "layers_a (in model_b)")
    if device is not None:
        model_a.to(device)
        model_b.to(device)
    dev_a, dev_b = (next(m.parameters()).device for m in (model_a, model_b))
    if dev_a != dev_b:
        raise ValueError(f"model_a is on {dev_a} and model_b on {dev_b}: pass device= to run "
                         "both on one device")
    n_known = n_images if n_images is not None else _images_of(loader)
    dtype = torch.float64 if precision == "float64" else torch.float32
    modes = [m.training for m in (model_a, model_b)]
    model_a.eval()
    model_b.eval()
    try:
        run = _Pass(list(ra), list(rb), convention, n_known, dtype)
        bar = None
        if progress:
            from tqdm.auto import tqdm

            bar = tqdm(total=n_known, unit="img", desc="compare")
        for _, n, out_a, out_b in forward_pair(model_a, ra, _images(loader), model_b, rb,
                                               None if loader_b is None else _images(loader_b)):
            run.add(out_a, out_b)
            if bar is not None:
                bar.update(n)
        if bar is not None:
            bar.close()
    finally:
        model_a.train(modes[0])
        model_b.train(modes[1])
    if names is None:
        names = tuple(type(m).__name__ for m in (model_a, model_b))
        if names[0] == names[1]:
            names = (f"{names[0]} A", f"{names[1]} B")
    datasets = (_dataset(loader), _dataset(loader if loader_b is None else loader_b))
    return run.result(measures, names, dead_std, datasets)


class _Pass:
    """The sums of one pass: per (side, layer, convention) a :class:`Summed`, per cell the
    cross sums where a side is summed, per (side, layer) its channels' dead-unit sums."""

    def __init__(self, layers_a: list[str], layers_b: list[str], convention: str,
                 n_images: int | None, dtype: Any) -> None:
        self.layers = layers_a, layers_b
        self.convention, self.n_images, self.dtype = convention, n_images, dtype
        self.cells: dict[tuple[str, str], str] = {}  # (layer A, layer B) -> its convention
        self.sides: dict[tuple[int, str, str], Summed] = {}
        self.cross: dict[tuple[str, str], Any] = {}
        self.dead = [{layer: DeadUnits() for layer in side} for side in self.layers]
        self.images = 0

    def _start(self, outs: tuple[dict, dict]) -> None:
        shapes = [{k: tuple(v.shape[1:]) for k, v in out.items()} for out in outs]
        for la in self.layers[0]:
            for lb in self.layers[1]:
                self.cells[la, lb] = grid_convention(self.convention, shapes[0][la],
                                                     shapes[1][lb])
        for (la, lb), conv in self.cells.items():
            for side, layer in ((0, la), (1, lb)):
                if (side, layer, conv) not in self.sides:
                    self.sides[side, layer, conv] = Summed(self._keep_rows(shapes[side][layer],
                                                                           conv))

    def _keep_rows(self, shape: tuple, conv: str) -> bool:
        """The Gram side: more features than the pass will have samples."""
        if self.n_images is None or len(shape) == 1:
            return False
        per_image = int(np.prod(shape[1:])) if conv == "positions" else 1
        width = int(np.prod(shape)) if conv == "flatten" else shape[0]
        return width > self.n_images * per_image

    def add(self, out_a: dict, out_b: dict) -> None:
        outs = out_a, out_b
        if not self.cells:
            self._start(outs)
        self.images += len(next(iter(out_a.values())))
        for side in (0, 1):
            for layer, out in outs[side].items():
                self.dead[side][layer].add(out)
        shifted = {key: s.add(_features(outs[key[0]][key[1]].to(self.dtype), key[2], key[1]))
                   for key, s in self.sides.items()}
        for (la, lb), conv in self.cells.items():
            a, b = self.sides[0, la, conv], self.sides[1, lb, conv]
            if a.keep_rows and b.keep_rows:
                continue  # the Gram side: from the kept rows at the end
            product = (shifted[0, la, conv].T @ shifted[1, lb, conv]).double()
            if (la, lb) in self.cross:
                self.cross[la, lb] += product
            else:
                self.cross[la, lb] = product

    def result(self, measures: list[str], names: tuple[str, str], dead_std: float,
               datasets: tuple[str, str]) -> Comparison:
        if not self.cells:
            raise ValueError("loader: yielded no batches")
        la_all, lb_all = self.layers
        shape = len(la_all), len(lb_all)
        values = {m: np.full(shape, np.nan) for m in measures}
        conventions = np.empty(shape, dtype=object)
        samples = np.zeros(shape)
        for i, la in enumerate(la_all):
            for j, lb in enumerate(lb_all):
                conv = conventions[i, j] = self.cells[la, lb]
                a, b = self.sides[0, la, conv], self.sides[1, lb, conv]
                unit_cross = None
                if (la, lb) in self.cross:
                    unit_cross = (_np(self.cross[la, lb])
                                  - np.outer(_np(a.sum), _np(b.sum)) / a.n)
                pair = ly.Pair(a.layer, b.layer, unit_cross, dead_std)
                samples[i, j] = a.n
                for m in measures:
                    values[m][i, j] = ly.PAIR_MEASURES[m](pair)
        dead = [np.array([self.dead[s][layer].fraction(dead_std) for layer in self.layers[s]])
                for s in (0, 1)]
        return Comparison(names[0], names[1], list(la_all), list(lb_all), values, conventions,
                          samples, dead[0], dead[1], self.images, datasets)
