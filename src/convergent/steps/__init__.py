"""The steps the Snakemake rules call (``convergent <step>``), one module per .smk file of
workflow/rules/: each reads its inputs through :mod:`convergent.io`, calls the pure functions
of :mod:`convergent.analysis` (and friends) and writes its outputs through :mod:`convergent.io`.

Every module has ``register(step)``: ``step(name, func, help)`` adds a subcommand and returns its
parser, to which the module adds the arguments its functions read (:mod:`.spec`); GPU jobs
claim a device of their own (:mod:`.gpus`).
"""

from __future__ import annotations


def modules() -> list:
    """The step modules (imported lazily by the parser: each imports its heavy packages inside
    its functions, so that ``convergent <step>`` starts fast)."""
    from convergent.steps import (
        activations,
        claims,
        compare,
        figures,
        li_analyses,
        neural,
        report,
        similarity,
        stream,
        tables,
        train,
        validation,
    )

    return [train, activations, compare, stream, tables, li_analyses, similarity, claims,
            validation, neural, figures, report]
