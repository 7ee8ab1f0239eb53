"""Result files: every kind round-trips through its typed writer and reader, refuses the wrong
models, and no module but io/layouts.py reads or writes HDF5 groups by name."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
from conftest import ROOT

from convergent.analysis.blocks import BlockMoments
from convergent.analysis.matching import matchings
from convergent.analysis.top_units import TopUnits
from convergent.io import InputError
from convergent.io import layouts as L

rng = np.random.default_rng(3)
PAIR = {"layer": "conv1", "model_a": "arch/i0-d0", "model_b": "arch/i1-d1", "architecture": "arch"}


def moments(p: int, q: int, blocks: int = 3) -> BlockMoments:
    m = BlockMoments.zeros(blocks, p, q)
    for b in range(blocks):
        m.add(b, rng.normal(size=(7, p)), rng.normal(size=(7, q)))
    return m


def same(a, b) -> None:
    """Dataclasses (possibly nested) or arrays, equal field by field."""
    if hasattr(a, "__dataclass_fields__"):
        for name in a.__dataclass_fields__:
            same(getattr(a, name), getattr(b, name))
    else:
        np.testing.assert_array_equal(a, b)


def save_pair(kind, path, *groups_args, attrs=PAIR) -> None:
    """A block file of one member, the pair's partner A (as the per-pair steps write them)."""
    with kind.block(path) as add:
        add(attrs["model_a"].split("/")[-1], kind.groups(*groups_args), attrs)


def test_every_kind_round_trips(tmp_path):
    within, cross = moments(4, 4), moments(4, 5)
    L.MomentsFile.save(tmp_path / "m.h5", {"conv1": within}, {"model": "arch/i0-d0"})
    same(L.MomentsFile(tmp_path / "m.h5", model="arch/i0-d0").layer("conv1"), within)

    c = rng.uniform(-1, 1, size=(4, 5))
    save_pair(L.PairFile, tmp_path / "p.h5", c, matchings(c), cross)
    pair = L.PairFile(tmp_path / "p.h5", "i0-d0", models=("arch/i0-d0", "arch/i1-d1"))
    same(pair.between(), c)
    same(pair.matchings(), matchings(c))
    same(pair.cross(), cross)
    assert pair.attrs["layer"] == "conv1"

    info = L.UnitInformation(*rng.uniform(size=(2, 4, 5)), rng.uniform(size=4), rng.uniform(size=5))
    edges = rng.uniform(size=(4, 3)), rng.uniform(size=(5, 3))
    save_pair(L.MutualInformationFile, tmp_path / "mi.h5", info, edges, matchings(info.value))
    mi = L.MutualInformationFile(tmp_path / "mi.h5", "i0-d0")
    same(mi.information(), info)
    same(mi.matchings(), matchings(info.value))

    fits = {d: L.SparseFit(rng.uniform(size=(2, 5)), rng.integers(0, 4, (2, 5)),
                           rng.normal(size=(2, 4, 5))) for d in L.DIRECTIONS}
    save_pair(L.SparsePredictionFile, tmp_path / "s.h5", np.array([0.0, 0.1]), fits)
    sparse = L.SparsePredictionFile(tmp_path / "s.h5", "i0-d0")
    same(sparse.penalties(), np.array([0.0, 0.1]))
    for d in L.DIRECTIONS:
        same(sparse.fit(d), fits[d])
        assert sparse.fit(d).weights.dtype == np.float64

    clusterings = L.Clusterings(L.Clusters(np.arange(9) % 3, np.arange(9)),
                                L.Clusters(np.arange(9) % 2, np.arange(9)[::-1],
                                           rng.uniform(size=(8, 4))))
    save_pair(L.ClusteringFile, tmp_path / "c.h5", np.eye(9), clusterings)
    same(L.ClusteringFile(tmp_path / "c.h5", "i0-d0").clusterings(), clusterings)

    top = TopUnits.empty(4, 2)
    top.add(rng.uniform(size=(6, 4, 3, 3)), 0)
    L.TopUnitsFile.save(tmp_path / "t.h5", {"conv1": top}, np.arange(6), {"model": "arch/i0-d0"})
    units = L.TopUnitsFile(tmp_path / "t.h5")
    same(units.layer("conv1"), top)
    same(units.probe_index(), np.arange(6))


def test_readers_refuse_files_of_other_models_and_kinds(tmp_path):
    c = rng.uniform(size=(3, 3))
    save_pair(L.PairFile, tmp_path / "p.h5", c, matchings(c), moments(3, 3))
    with pytest.raises(InputError, match=r"p\.h5: holds model 'arch/i0-d0', expected 'arch/i2"):
        L.PairFile(tmp_path / "p.h5", "i0-d0", models=("arch/i2-d2", "arch/i1-d1"))
    with pytest.raises(InputError, match=r"p\.h5: holds no 'i2-d2' \(it holds i0-d0\); the "
                       "study's pairs changed"):
        L.PairFile(tmp_path / "p.h5", "i2-d2")
    with pytest.raises(InputError, match=r"p\.h5: expected a moments file"):
        L.MomentsFile(tmp_path / "p.h5")


def test_a_block_file_holds_its_pairs_in_order_and_appears_only_when_complete(tmp_path):
    """Members come back in the order written; a block whose job fails leaves no file (and
    an earlier good file of that path as it was)."""
    c = [rng.uniform(size=(3, 3)) for _ in range(3)]
    path = tmp_path / "p.h5"
    with L.PairFile.block(path) as add:
        for k, name in zip(range(3), ("i2-d2", "i0-d0", "i1-d1"), strict=True):
            add(name, L.PairFile.groups(c[k], matchings(c[k]), moments(3, 3)),
                {**PAIR, "model_a": f"arch/{name}", "model_b": "arch/i3-d3"})
    pairs = L.PairFile.each(path, path)
    assert [p.member for p in pairs] == ["i2-d2", "i0-d0", "i1-d1"] * 2
    same(pairs[1].between(), c[1])
    before = path.read_bytes()
    with pytest.raises(RuntimeError), L.PairFile.block(path) as add:
        add("i0-d0", L.PairFile.groups(c[0], matchings(c[0]), moments(3, 3)), PAIR)
        raise RuntimeError("the job fails half-way")
    assert path.read_bytes() == before and list(tmp_path.iterdir()) == [path]


def test_only_the_layouts_module_spells_hdf5_groups():
    """Group names live in io/layouts.py: no other module calls the generic group readers and
    writers, or indexes an open HDF5 file by a group path."""
    src = ROOT / "src" / "convergent"
    allowed = {src / "io" / "layouts.py", src / "io" / "hdf5.py", src / "io" / "activations.py",
               src / "io" / "neural.py", src / "io" / "recorded.py"}
    # (formats a user may write: modules of their own)
    generic = re.compile(r"\b(read_group|write_arrays)\(|\.file\[\"|h5py\.File\(")
    offenders = [
        str(path.relative_to(ROOT))
        for path in sorted(Path(src).rglob("*.py"))
        if path not in allowed and generic.search(path.read_text())
    ]
    assert offenders == []
