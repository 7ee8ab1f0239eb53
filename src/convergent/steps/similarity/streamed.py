"""A pair's similarity rows from its networks' forward pass (``probe.stream``: no dumps), each
network's per-job work done once, as in :mod:`.dumps`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from convergent.analysis.statistics import shuffled_pairing
from convergent.analysis.subsample import SubsampleLayer, subsample_index
from convergent.io import InputError
from convergent.moments import BlockMoments
from convergent.moments.conventions import positions
from convergent.progress import progress
from convergent.steps.similarity.dumps import stored_within
from convergent.steps.similarity.options import SimilarityOptions
from convergent.steps.similarity.rows import (
    LayerData,
    labelled_rows,
    layer_by_layer_rows,
    layer_measures,
)


class StreamModel:
    """One network of a streamed similarity job (``probe.stream``: no dumps) with the per-model
    work every pair of the job that holds it shares, as :class:`JobModel`: its subsample
    features (collected in its first pair's pass) and its within-net sums per layer and
    convention (``positions``: its moments file, which rule stream_moments writes; else
    accumulated in its first pair's pass)."""

    def __init__(self, model: str, checkpoint: str, moments: str | None, job: StreamJob) -> None:
        from convergent import models as nets

        self.id, self.arch, self.checkpoint, self.moments = (
            model, model.split("/")[0], checkpoint, moments)
        self.job = job
        self.readouts = {layer: nets.READOUTS[self.arch][layer] for layer in job.layers}
        self.probe, _ = self.batches()
        self.feats: dict[str, SubsampleLayer] = {}
        self.sums: dict[tuple[str, str], BlockMoments] = {}
        self._net = None

    @property
    def net(self):
        if self._net is None:
            from convergent.models.checkpoints import load_network
            from convergent.moments.forward import device

            self._net = load_network(self.checkpoint, self.arch)[0].to(device())
        return self._net

    def batches(self, order: np.ndarray | None = None):
        """(probe set, its batches under this network's preprocessing; ``order``: shuffled)."""
        from convergent.data import probe_batches

        return probe_batches(self.job.data, self.job.probe, self.arch, order)

    def needs_within(self, layer: str, convention: str) -> bool:
        """Whether the pass must accumulate this model's within sums of ``layer``."""
        stored = convention == "positions" and self.moments is not None
        return not stored and (layer, convention) not in self.sums

    def within(self, layer: str, convention: str, shape: tuple) -> BlockMoments:
        """Per-block sums XᵀX of ``layer`` (read-out ``shape`` per image) under ``convention``."""
        if (layer, convention) not in self.sums:
            self.sums[layer, convention] = self._stored(layer, positions(shape))
        return self.sums[layer, convention]

    def _stored(self, layer: str, per_image: int) -> BlockMoments:
        return stored_within(self.moments, self.id, layer, self.probe.hash,
                             len(self.probe.index), per_image, self.job.blocks,
                             "this probe set")


@dataclass
class StreamJob:
    """What every network of a streamed job shares: data, probe, layers, options, blocks."""

    data: Any
    probe: dict[str, Any]
    layers: list[str]
    opts: SimilarityOptions
    blocks: int


def stream_pair_rows(a: StreamModel, b: StreamModel) -> list[dict[str, Any]]:
    """Per-layer and layer × layer rows of one pair, from its networks' forward pass: pass 1
    accumulates every layer's cross sums (and the within sums and subsample features that
    neither model holds yet), pass 2 (the shuffled null) B on the probe in the shuffled order
    against A in order, for the null's cross sums."""
    from convergent.moments.conventions import grid_convention
    from convergent.moments.forward import PairPass, forward_pair

    job, opts = a.job, a.job.opts
    if a.probe.hash != b.probe.hash:
        raise InputError(f"{a.id} and {b.id}: their probe sets differ; check probe and dataset")
    n, layers, models = len(a.probe.index), job.layers, (a, b)
    sub = subsample_index(n, opts.subsample, opts.seed)

    def loader(m: StreamModel, order: np.ndarray | None = None):
        return m.batches(order)[1]

    # one loader for both nets where they share preprocessing and read-outs (same arch)
    same = a.arch == b.arch
    first = PairPass(
        layers, n, job.blocks,
        lambda _layer, sa, sb: grid_convention(opts.conv_convention, sa, sb),
        within=lambda side, layer, conv: models[side].needs_within(layer, conv),
        collect=lambda side, layer: layer not in models[side].feats,
        subsample=sub, image_convention=opts.image_features)
    with progress(n, "img", f"pass 1 of {a.id} vs {b.id}: cross sums, features") as bar:
        first.run(forward_pair(a.net, a.readouts, loader(a), b.net, b.readouts,
                               None if same else loader(b)), bar.update)
    conv = first.conventions
    for side, m in enumerate(models):
        for layer in layers:
            x = first.features(side, layer)
            if x is not None:
                m.feats[layer] = SubsampleLayer(x, opts.rdm_metric)
            sums = first.within(side, layer)
            if sums is not None:
                m.sums[layer, conv[layer]] = sums
    summed = [layer for layer in layers if conv[layer] != "flatten"]
    null = None
    if opts.shuffled_null and summed:
        perm = shuffled_pairing(n, opts.seed + 1)
        null = PairPass(summed, n, job.blocks, lambda layer, *_: conv[layer])
        with progress(n, "img", f"pass 2 of {a.id} vs {b.id}: shuffled pairing") as bar:
            null.run(forward_pair(a.net, a.readouts, loader(a), b.net, b.readouts,
                                  loader(b, perm)), bar.update)
    per_layer = {}
    for layer in layers:
        moments = None
        if layer in summed:
            shape_a, shape_b = first.shapes[layer]
            moments = (a.within(layer, conv[layer], shape_a),
                       b.within(layer, conv[layer], shape_b), first.cross(layer))
        data = LayerData(conv[layer], moments, null.cross(layer) if null and layer in summed
                         else None, a.feats[layer], b.feats[layer], job.blocks)
        per_layer[layer] = layer_measures(data, layer, opts)
    lbl = layer_by_layer_rows(a.feats, b.feats, layers, opts) if opts.layer_by_layer else []
    return labelled_rows(a.id, b.id, per_layer, lbl)


