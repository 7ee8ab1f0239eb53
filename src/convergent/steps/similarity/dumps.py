"""A pair's similarity rows from its activation dumps: each model's per-job work (subsample
features, within-net sums from its moments file or streamed once) shared by the pairs of its
job, and the pair's cross sums streamed from the two files."""

from __future__ import annotations

from typing import Any

import numpy as np

from convergent.analysis.statistics import shuffled_pairing
from convergent.analysis.subsample import SubsampleLayer, subsample_index
from convergent.io import InputError
from convergent.io.activations import ActivationFile
from convergent.moments import (
    BlockMoments,
    block_bounds,
    layer_moments,
    paired_cross_moments,
)
from convergent.moments.conventions import grid_convention, positions
from convergent.progress import progress
from convergent.steps.similarity.options import SimilarityOptions
from convergent.steps.similarity.rows import (
    LayerData,
    labelled_rows,
    layer_by_layer_rows,
    layer_measures,
)


class SubsampleLayers:
    """Each layer's subsample features of one file, read and prepared once per job (the
    per-layer measures and the layer x layer matrix share them)."""

    def __init__(self, f: ActivationFile, opts: SimilarityOptions) -> None:
        self.f, self.opts = f, opts
        self.sub = subsample_index(f.n_images, opts.subsample, opts.seed)
        self.layers: dict[str, SubsampleLayer] = {}

    def __getitem__(self, layer: str) -> SubsampleLayer:
        if layer not in self.layers:
            x = self.f.features(layer, self.sub, self.opts.image_features)
            self.layers[layer] = SubsampleLayer(x, self.opts.rdm_metric)
        return self.layers[layer]


class JobModel:
    """One model's activation file in a similarity job, with the per-model work every pair of
    the job that holds it shares: its subsample features (Gram, RDM, PCA) and its per-block
    within-net sums per layer and convention — read from its moments file (``positions``,
    what the moments rule computes once per model) or else streamed once per job."""

    def __init__(
        self,
        f: ActivationFile,
        opts: SimilarityOptions,
        blocks: int,
        chunk_images: int,
        moments: str | None = None,
    ) -> None:
        self.f, self.blocks, self.chunk_images, self.moments = f, blocks, chunk_images, moments
        self.sums_device = opts.sums_device
        self.feats = SubsampleLayers(f, opts)
        self._within: dict[tuple[str, str], BlockMoments] = {}

    def within(self, layer: str, convention: str) -> BlockMoments:
        """Per-block sums XᵀX of ``layer`` under ``convention`` (``mean`` or ``positions``)."""
        key = layer, convention
        if key not in self._within:
            if convention == "positions" and self.moments is not None:
                self._within[key] = self._stored(layer)
            else:
                with progress(self.f.n_images, "img", f"{layer} within sums") as bar:
                    self._within[key] = layer_moments(self.f, layer, self.blocks,
                                                      self.chunk_images, bar.update, convention,
                                                      sums_device=self.sums_device)
        return self._within[key]

    def close(self) -> None:
        self.f.file.close()

    def _stored(self, layer: str) -> BlockMoments:
        """The moments file's layer, checked against the activation file and the job's blocks."""
        per_image = positions(self.f.layer(layer).shape[1:])
        return stored_within(self.moments, self.f.attrs["model"], layer,
                             self.f.attrs.get("probe_hash"), self.f.n_images, per_image,
                             self.blocks, self.f.path)


def stored_within(
    path: str,
    model: str,
    layer: str,
    probe_hash: str | None,
    n_images: int,
    per_image: int,
    blocks: int,
    probe_of: str,
) -> BlockMoments:
    """A moments file's layer (the ``positions`` within sums), refused unless it is over the
    same probe set (``probe_hash``, named by ``probe_of``) in the job's blocks."""
    from convergent.io.layouts import MomentsFile

    f = MomentsFile(path, model=model)
    m = f.layer(layer)
    expected = [(hi - lo) * per_image for lo, hi in block_bounds(n_images, blocks)]
    if f.attrs.get("probe_hash") != probe_hash or not np.array_equal(m.count, expected):
        raise InputError(
            f"{path}: its sums are not over the probe blocks of {probe_of} "
            f"(analysis.blocks = {blocks}); rerun snakemake to rebuild it"
        )
    return m


def as_job_model(
    x: ActivationFile | JobModel, opts: SimilarityOptions, blocks: int, chunk_images: int
) -> JobModel:
    """``x``, or a model of one pair alone (no moments file, nothing shared)."""
    return x if isinstance(x, JobModel) else JobModel(x, opts, blocks, chunk_images)


def dump_layer_data(a: JobModel, b: JobModel, layer: str, opts: SimilarityOptions) -> LayerData:
    """A pair-layer's data from the activation dumps: a pair streams its cross sums (and the
    shuffled null's) only, the within sums are each model's own."""
    fa, fb, blocks, chunk_images = a.f, b.f, a.blocks, a.chunk_images
    sums_device = opts.sums_device
    conv = grid_convention(opts.conv_convention, fa.layer(layer).shape[1:],
                           fb.layer(layer).shape[1:])
    moments = null_cross = None
    if conv != "flatten":
        within = a.within(layer, conv), b.within(layer, conv)
        with progress(fa.n_images, "img", f"{layer} cross sums") as bar:
            cross = paired_cross_moments(fa, layer, fb, layer, conv, blocks, chunk_images,
                                         advance=bar.update, sums_device=sums_device)
        moments = (*within, cross)
        if opts.shuffled_null:
            perm = shuffled_pairing(fa.n_images, opts.seed + 1)
            with progress(fa.n_images, "img", f"{layer} shuffled-pairing cross sums") as bar:
                null_cross = paired_cross_moments(fa, layer, fb, layer, conv, blocks,
                                                  chunk_images, perm, bar.update, sums_device)
    return LayerData(conv, moments, null_cross, a.feats[layer], b.feats[layer], blocks)


def per_layer_rows(
    a: JobModel, b: JobModel, layer: str, opts: SimilarityOptions
) -> list[dict[str, Any]]:
    """Every measure of one same-named layer of A and B, with CIs, plus the shuffled null."""
    return layer_measures(dump_layer_data(a, b, layer, opts), layer, opts)



def pair_rows(
    a: ActivationFile | JobModel,
    b: ActivationFile | JobModel,
    layers: list[str],
    opts: SimilarityOptions,
    blocks: int,
    chunk_images: int,
) -> list[dict[str, Any]]:
    """Per-layer and layer × layer rows of one pair, from its activation dumps (an
    ActivationFile is a model of this pair alone: no moments file, nothing shared)."""
    a, b = (as_job_model(x, opts, blocks, chunk_images) for x in (a, b))
    per_layer = {layer: per_layer_rows(a, b, layer, opts) for layer in layers}
    lbl = layer_by_layer_rows(a.feats, b.feats, layers, opts) if opts.layer_by_layer else []
    return labelled_rows(model_id(a.f), model_id(b.f), per_layer, lbl)


def model_id(f: ActivationFile) -> str:
    """``arch/name`` of a file's model (its attrs: the dump's architecture and model)."""
    return f"{f.attrs['architecture']}/{str(f.attrs['model']).split('/')[-1]}"

