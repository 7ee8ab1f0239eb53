"""Pure analyses: arrays in, arrays out; no files (those are read and written by the steps).

correlation, matching, pairs (Li et al.'s per-layer comparison), mutual_information,
sparse_prediction, clustering, top_units, similarity (CKA, CCA family, Procrustes and shape
metrics, regression), neighbours (mutual k-NN, CKNNA), rsa, measures (the registry, domain rules,
calibration), statistics (bootstrap, nulls), validation (which measure to trust: group
separation, monotonicity, probe), predictivity (neural predictivity: ridge/PLS, noise ceilings,
planted pseudo-neural data)."""
