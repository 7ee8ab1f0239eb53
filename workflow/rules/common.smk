import json
import os
import sys

from snakemake.utils import min_version

from convergent import config as study

min_version("9.0")

# Schema first (unknown keys, types, defaults), then what a schema cannot say (layer names,
# duplicate seeds, data paths): both stop the run before any job starts, in one line naming the
# key (sys.exit in a Snakefile prints just that line).
try:
    study.validate(config, os.path.join(workflow.basedir, "config", "schema.yaml"))
except study.ConfigError as err:
    sys.exit(f"config error: {err}")

# Jobs find the `convergent` CLI without an activated environment: the interpreter running
# Snakemake goes first on PATH (.venv/bin/snakemake works as is).
os.environ["PATH"] = os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", "")

R = "results"
MODELS = study.models(config)
PAIRS = study.pairs(config)
LAYERS = config["layers"]
EXAMPLE = study.example_pair(config)

wildcard_constraints:
    arch="|".join(config["architectures"]),
    model=r"i\d+-d\d+(-r\d+)?",
    pair=r"i\d+-d\d+(-r\d+)?__i\d+-d\d+(-r\d+)?",
    layer="|".join(LAYERS),

# Each job kind's threads, mem_mb, runtime and gpu (config.resources.<kind> overrides them;
# docs/cluster.md); every rule names its kind once, in job_threads() and job_resources().
RESOURCE_DEFAULTS = {
    "train": {"threads": 2, "mem_mb": 4000, "runtime": 120, "gpu": 1},
    "dump": {"threads": 2, "mem_mb": 4000, "runtime": 30, "gpu": 1},
    "analysis": {"threads": 1, "mem_mb": 2000, "runtime": 30},
    # tables, figures and untrained checkpoints: CPU only, small
    "figure": {"threads": 1, "mem_mb": 2000, "runtime": 15},
    # probe.stream: a pair's two networks run on the probe images in one job (GPU)
    "stream": {"threads": 2, "mem_mb": 8000, "runtime": 120, "gpu": 1},
}
# training.accelerator: cpu runs the networks on the CPU: their jobs ask for no GPU by default
# (a CPU-only Slurm partition refuses a GPU request)
if config["training"]["accelerator"] == "cpu":
    for _kind in ("train", "dump", "stream"):
        RESOURCE_DEFAULTS[_kind]["gpu"] = 0


def job(kind):
    """Threads and resources of a job kind: config.resources.<kind> over the defaults above."""
    return {**RESOURCE_DEFAULTS[kind], **config["resources"].get(kind, {})}


def job_threads(kind):
    return job(kind)["threads"]


def job_resources(kind):
    """mem_mb, runtime and (for kinds that have one) gpu: `resources: **job_resources(kind)`."""
    return {k: v for k, v in job(kind).items() if k != "threads"}


def model_of(w):
    return next(m for m in MODELS if m.arch == w.arch and m.name == w.model)


def model_dir(m):
    return f"{R}/models/{m.arch}/{m.name}"


def spec(**parts):
    """A JSON spec for one CLI call; as a rule param it reruns the job when its content changes."""
    return json.dumps(parts, sort_keys=True)


def train_spec(w):
    m = model_of(w)
    return spec(arch=m.arch, name=m.name, init_seed=m.init_seed, data_seed=m.data_seed,
                replicate=m.replicate, dataset=config["dataset"], training=config["training"])


def dump_spec(w):
    m = model_of(w)
    return spec(arch=m.arch, model=m.id, replicate=m.replicate, dataset=config["dataset"],
                probe=config["probe"], layers=LAYERS)


def pair_ids(w):
    """The model ids (arch/name) of a pair job: what its input files must hold."""
    return [f"{w.arch}/{name}" for name in w.pair.split("__")]


# Options read only by the Li et al. analyses (li_analyses.smk, which passes them itself): left
# out of the core analysis options so that changing them does not rerun moments and compare.
LI_ANALYSIS_PREFIXES = ("mi_", "sparse_", "cluster")


def core_analysis():
    return {k: v for k, v in config["analysis"].items() if not k.startswith(LI_ANALYSIS_PREFIXES)}


def moments_spec(w):
    return spec(model=f"{w.arch}/{w.model}", layers=LAYERS, analysis=core_analysis())


def compare_spec(w):
    return spec(models=pair_ids(w), layers=LAYERS, analysis=core_analysis())


def pair_file(p, layer):
    return f"{R}/pairs/{p.arch}/{p.name}/{layer}.h5"


def pair_models(w):
    a, b = w.pair.split("__")
    return f"{R}/activations/{w.arch}/{a}.h5", f"{R}/activations/{w.arch}/{b}.h5"


def pair_moments(w):
    a, b = w.pair.split("__")
    return f"{R}/moments/{w.arch}/{a}.h5", f"{R}/moments/{w.arch}/{b}.h5"


FIGURES = ["matched_correlation_sorted", "convergence_by_layer", "training_curves"] + [
    f"correlation_matrices_{layer}" for layer in LAYERS
]
TABLES = ["matching_per_pair", "matching_summary", "accuracy"]


def all_outputs():
    return [f"{R}/tables/{t}.csv" for t in TABLES] + [
        f"{R}/figures/{f}.{ext}" for f in FIGURES for ext in ("pdf", "png")
    ]
