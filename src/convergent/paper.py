"""Published numbers we print beside our own (see ../shared/reference in the design notes)."""

LAYERS = ("conv1", "conv2", "conv3", "conv4", "conv5")

#: Li et al. 2016: top-1 validation accuracy (%) of their four ImageNet AlexNets, lowest and highest
LI2016_TOP1 = (58.65, 58.84)

#: Li et al. 2016, Net1 vs Net2 (ImageNet AlexNets): mean matched correlation per layer.
LI2016_SEMI_MATCHING = dict(zip(LAYERS, (0.703, 0.556, 0.478, 0.369, 0.416), strict=True))
LI2016_ONE_TO_ONE = dict(zip(LAYERS, (0.663, 0.507, 0.446, 0.342, 0.385), strict=True))

#: Li et al. 2016, Table 1 (Net1 -> Net2): held-out ½·MSE of sparse prediction of standardised
#: units, per L1 penalty (recomputed from the original repository's loss.pkl, iteration 4500).
LI2016_SPARSE_PENALTIES = (0.0, 1e-5, 1e-4, 1e-3, 10**-2.8, 10**-2.6, 1e-2, 1e-1)
LI2016_SPARSE_LOSS = {
    "conv1": (0.170, 0.169, 0.162, 0.172, 0.196, 0.235, 0.485, 0.519),
    "conv2": (0.373, 0.368, 0.337, 0.392, 0.455, 0.505, 0.518, 0.513),
}
#: Mean predictors per target unit (|w| > 0.05 of the SGD weights, from stitching.pkl).
LI2016_SPARSE_PREDICTORS = {
    "conv1": (41.9, 41.0, 35.0, 6.4, 4.1, 2.9, 0.01, 0.0),
    "conv2": (72.6, 69.8, 49.4, 2.2, 0.85, 0.12, 0.0, 0.0),
}
#: Li et al. 2016: of the 8 best conv1 semi-matched pairs by correlation, 7 keep their partner
#: when semi-matched by mutual information.
LI2016_MI_TOP8_AGREE = {"conv1": 7}

#: Kornblith et al. 2019, Table 2: layer-identification accuracy (%), ten Tiny-10 CNNs on CIFAR-10
#: (our measure names; RBF CKA at bandwidth 0.4 × median distance).
KORNBLITH2019_LAYER_ID = {
    "cca_rho": 1.4,
    "cca_r2": 10.6,
    "svcca_rho": 9.9,
    "svcca_r2": 15.1,
    "pwcca": 11.1,
    "regression_r2": 45.4,
    "linear_hsic": 22.2,
    "linear_cka": 99.3,
    "rbf_cka": 99.1,
}


# ------------------------------------------------------------------ where a published value applies
LI2016 = "Li et al. 2016"
KORNBLITH2019 = "Kornblith et al. 2019"

#: (architecture, dataset) a publication studied itself -> what it was
OWN = {
    LI2016: {("caffenet", "imagefolder"): "CaffeNet on ImageNet"},
    KORNBLITH2019: {},  # Tiny-10 on CIFAR-10: not shipped
}
#: documented analogues: (architecture, dataset) -> why its value may stand beside the paper's
ANALOGUES = {
    LI2016: {
        ("alexnet_small", "fashion_mnist"): "analogue: CaffeNet's layer sequence scaled down, "
                                            "on Fashion-MNIST",
        ("alexnet_small", "cifar10"): "analogue: CaffeNet's layer sequence scaled down, "
                                      "on CIFAR-10",
    },
    KORNBLITH2019: {},
}


def where_applies(publication: str, archs, dataset: str):
    """A boolean mask over ``archs`` (a pandas Series): rows whose study ``publication``'s
    values may stand beside."""
    return archs.map(lambda a: applies(publication, a, dataset) is not None).astype(bool)


def applies(publication: str, architecture: str, dataset: str) -> str | None:
    """The label under which ``publication``'s value stands beside a study of ``architecture``
    on ``dataset``: the publication's own setting, a documented analogue, or None (no
    published counterpart)."""
    key = (architecture, dataset)
    own = OWN[publication].get(key)
    if own is not None:
        return f"{publication} ({own})"
    analogue = ANALOGUES[publication].get(key)
    return None if analogue is None else f"{publication} ({analogue})"
