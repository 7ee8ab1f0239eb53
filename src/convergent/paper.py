"""Published numbers we print beside our own (see ../shared/reference in the design notes)."""

LAYERS = ("conv1", "conv2", "conv3", "conv4", "conv5")

#: Li et al. 2016, Net1 vs Net2 (ImageNet AlexNets): mean matched correlation per layer.
LI2016_SEMI_MATCHING = dict(zip(LAYERS, (0.703, 0.556, 0.478, 0.369, 0.416), strict=True))
LI2016_ONE_TO_ONE = dict(zip(LAYERS, (0.663, 0.507, 0.446, 0.342, 0.385), strict=True))
#: Li et al. 2016: top-1 validation accuracy (%) of Net1..Net4.
LI2016_ACCURACY = (58.65, 58.73, 58.79, 58.84)
