"""The study config: validation (schema and semantic checks), and the model and pair lists.

The workflow calls :func:`validate` before any job starts: it checks the config against
``config/schema.yaml`` (filling defaults), then says what a schema cannot (layer names, duplicate
seeds, data paths, architectures that do not import or build, checkpoint files that do not
exist); every failure is one line naming the key.  Everything downstream takes the model and
pair lists from here so that the Snakefile and the tests agree on names.

Where each concept lives: :mod:`~convergent.study.lists` (model names, models, pairs, blocks),
:mod:`~convergent.study.conditions` (training conditions), :mod:`~convergent.study.checks`
(validation), :mod:`~convergent.study.entries` and :mod:`~convergent.study.architectures` (the
checks of ``models`` and ``architectures``), :mod:`~convergent.study.schema` (the schema's
validator and messages).  The names callers use are these.
"""

from convergent.study.architectures import job_pythonpath
from convergent.study.checks import validate
from convergent.study.conditions import training_of, training_spec, with_later_options
from convergent.study.lists import (
    BASE_CONDITION,
    CHECKPOINT_MODEL,
    RECORDED_MODEL,
    SEED_MODEL,
    Model,
    Pair,
    SeedParts,
    architecture_names,
    blocks,
    condition_of,
    cross_pairs,
    defined_architectures,
    example_pair,
    models,
    pairs,
    seed_model_parts,
)
from convergent.study.schema import ConfigError, check_yaml

__all__ = [
    "BASE_CONDITION", "CHECKPOINT_MODEL", "RECORDED_MODEL", "SEED_MODEL", "ConfigError", "Model",
    "Pair", "SeedParts", "architecture_names", "blocks", "check_yaml", "condition_of",
    "cross_pairs", "defined_architectures", "example_pair", "job_pythonpath", "models", "pairs",
    "seed_model_parts", "training_of", "training_spec", "validate", "with_later_options",
]
