"""Pure analyses: arrays in, arrays out; no files (those are read and written by the steps).

correlation, matching, pairs (Li et al.'s per-layer comparison), mutual_information,
sparse_prediction, clustering, top_units, scatter (a pair's scatter matrices, whitening),
similarity (linear CKA, CCA family, regression: the scatter route's measures), shapes
(Procrustes and shape metrics), kernels (the Gram route: RBF and debiased CKA), neighbours
(mutual k-NN, CKNNA), rsa, measures (the registry, domain rules, calibration), statistics
(bootstrap, nulls), validation (which measure to trust: group separation, monotonicity, probe),
predictivity (neural predictivity: ridge/PLS, noise ceilings, planted pseudo-neural data)."""
