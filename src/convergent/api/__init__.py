"""The public Python API (``import convergent`` exports it; docs/api.md shows each name):

* :mod:`~convergent.api.arrays`: every measure as a function of two (samples × units) matrices,
  numpy arrays or torch tensors on any device (:mod:`~convergent.api.inputs` checks them,
  :mod:`~convergent.api.products` multiplies them where they are);
* :mod:`~convergent.api.layers`: layers prepared once on the cheaper side (p × p scatter or
  n × n Gram) and :func:`layer_matrix`, every layer of A against every layer of B;
* :mod:`~convergent.api.compare`: :func:`compare`, two models over a loader in one pass,
  exact streamed sums on the models' device, returning a :class:`Comparison`;
* :mod:`~convergent.api.adapters`: the peers' formats (torch-cka's results, rsatoolbox's RDMs).
"""
