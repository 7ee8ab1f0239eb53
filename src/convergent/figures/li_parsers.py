"""Parsers of the Li et al. (2016) figure families (added to ``convergent figure``)."""

from __future__ import annotations

import argparse
import json


def add_li_parsers(sub: argparse._SubParsersAction) -> None:
    s = sub.add_parser("unit-pairs", help="top patches of best/worst matched units (Li Fig. 2)")
    s.add_argument("--spec", type=json.loads, required=True, help="JSON: arch, dataset, probe, k")
    s.add_argument("--pair", required=True, help="the example pair's pair file of one layer")
    s.add_argument("--units", nargs=2, required=True, help="top-units files of nets A and B")
    s.add_argument("--checkpoints", nargs=2, required=True, help="checkpoints of nets A and B")

    s = sub.add_parser("mean-activations", help="sorted per-unit mean activations, all nets")
    s.add_argument("--moments", nargs="+", required=True)
    s.add_argument("--layers", nargs="+", required=True)

    s = sub.add_parser("sparse-prediction", help="held-out loss vs L1 penalty (Li Table 1)")
    s.add_argument("--per-pair", required=True, help="sparse_prediction_per_pair.csv")

    s = sub.add_parser("clustering", help="joint matrix permuted by clusters (many-to-many)")
    s.add_argument("--clusters", required=True, help="the clustering file of one layer")

    s = sub.add_parser("mutual-information", help="MI vs correlation, MI matchings")
    s.add_argument("--mi", nargs="+", required=True)
    s.add_argument("--pairs", nargs="+", required=True, help="pair files, same order as --mi")
