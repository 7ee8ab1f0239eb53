"""One finding: a row of ``findings.csv`` (a number, its interval and test, its floors, the
published value where one applies, and the sentence that says what it shows), with the helpers
every section's sentences share.  The sections live in :mod:`convergent.tables.findings` (and
:mod:`convergent.tables.findings_li`, :mod:`convergent.tables.neural`)."""

from __future__ import annotations

import numpy as np

from convergent.analysis.inference import Estimate
from convergent.analysis.verdicts import Decision
from convergent.study import condition_of

COLUMNS = ("section", "architecture", "layer", "measure", "value", "ci_low", "ci_high",
           "interval", "untrained", "shuffled", "chance", "published", "published_source",
           "p_value", "p_holm", "verdict", "note", "headline", "text")

#: how the findings' intervals are made (the ``interval`` column): the network-level t interval
#: of :mod:`convergent.analysis.inference`, or a t interval over seeds on the logit scale
NETWORKS, SEEDS = "networks", "seeds (logit t)"


def finding(section: str, text: str, headline: bool = True, **values) -> dict:
    """One finding; ``headline`` ones are findings.md's sentences (the others are in its
    tables, or in a headline's sentence)."""
    return {**dict.fromkeys(COLUMNS, np.nan), "section": section, "text": text,
            "headline": headline, "note": "", **values}


def ci_text(lo: float, hi: float, digits: int = 2) -> str:
    """"[lo, hi]", or "[no interval]" where there is none (too few networks)."""
    if not (np.isfinite(lo) and np.isfinite(hi)):
        return "[no interval]"
    return f"[{lo:.{digits}f}, {hi:.{digits}f}]"


def estimate_values(est: Estimate, level: float,
                    bounds: tuple[float, float] = (-np.inf, np.inf)) -> dict:
    """The value, interval (cut to ``bounds``, the statistic's range) and interval kind of a
    network-level estimate, as row values."""
    lo, hi = est.interval(level, bounds)
    return {"value": est.value, "ci_low": lo, "ci_high": hi, "interval": NETWORKS}


def decision_values(decision: Decision) -> dict:
    """The p-value and raw verdict of a decision, as row values (``p_holm`` and the adjusted
    verdict are set once the whole family is known)."""
    return {"p_value": decision.p, "verdict": decision.verdict}


def label_of(arch: str, model: str) -> str:
    """How the findings group a model: its architecture, with its training condition if any."""
    condition = condition_of(str(model))
    return arch if condition is None else f"{arch} ({condition})"


def network_id(arch: str, model: str) -> str:
    """A network's id, arch/name (``model`` may be a name or an id already)."""
    return f"{arch}/{str(model).split('/')[-1]}"
