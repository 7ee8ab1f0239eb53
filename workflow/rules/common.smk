import json
import os
import sys

from snakemake.utils import min_version

from convergent import models, study

min_version("9.0")

# Schema first (unknown keys, types, defaults), then what a schema cannot say (layer names,
# duplicate seeds, data paths): both stop the run before any job starts, in one line naming the
# key (sys.exit in a Snakefile prints just that line).
try:
    study.validate(config, os.path.join(workflow.basedir, "config", "schema.yaml"))
except study.ConfigError as err:
    sys.exit(f"config error: {err}")

os.environ.update(
    # Jobs find the `convergent` CLI without an activated environment: the interpreter running
    # Snakemake goes first on PATH (.venv/bin/snakemake works as is).  With --sdm conda the
    # job's environment is activated in front of it.
    PATH=os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", ""),
    # The checkout the conda environments install the package from (envs/*.post-deploy.sh):
    # Snakemake creates them from copies of the env files under .snakemake/conda/, so a path
    # relative to envs/ would not find it.
    CONVERGENT_SOURCE=workflow.basedir,
    # a builder module in the working directory (the study's folder) imports in every job, as
    # in the up-front check (convergent.study.job_pythonpath)
    PYTHONPATH=study.job_pythonpath(),
)

R = "results"
MODELS = study.models(config)
PAIRS = study.pairs(config)
# Per-pair work runs one job per block (and layer): a model B and its partners A, the models it
# is paired with that come before it ({B: [A, ...]}; convergent.study.blocks).
PAIR_BLOCKS = study.blocks((p.a, p.b) for p in PAIRS)
LAYERS = config["layers"]
EXAMPLE = study.example_pair(config)
# the models trained here (the others are checkpoints a user gives: no training history)
SEED_MODELS = [m for m in MODELS if m.trained_here]
# the models that are networks (the others are activations recorded elsewhere: no accuracy,
# untrained-network null, receptive fields or streamed analyses)
NETWORKS = [m for m in MODELS if m.network]
# the study's models in config order: each keeps its colour in every figure (figures.model_colors)
MODEL_IDS = [m.id for m in MODELS]
ARCHS = study.architecture_names(config)
# the architectures the config defines ({name: definition}): every job that builds or reads one
# gets its definition in its spec (SPECS "architectures"), so an edit of it reruns those jobs
DEFINED_ARCHS = study.defined_architectures(config)
SIM = config["similarity"]
STREAM = config["probe"]["stream"]
SPARSE_LAYERS = [layer for layer in LAYERS if layer in config["analysis"]["sparse_layers"]]
# the null model of the similarity analyses: an untrained network, dumped like a trained one
UNTRAINED = f"untrained-i{SIM['nulls']['untrained_init_seed']}"

# Model names (convergent.study): seeds trained here, or checkpoints a user trained elsewhere;
# TRAINED_MODEL is either (the study's networks), the untrained null model is neither; a
# RECORDED_MODEL is activations recorded elsewhere (no network); STUDY_MODEL any of the study's.
SEED_MODEL = study.SEED_MODEL
CHECKPOINT_MODEL = study.CHECKPOINT_MODEL
TRAINED_MODEL = rf"(?:{SEED_MODEL}|{CHECKPOINT_MODEL})"
RECORDED_MODEL = study.RECORDED_MODEL
STUDY_MODEL = rf"(?:{TRAINED_MODEL}|{RECORDED_MODEL})"
UNTRAINED_MODEL = r"untrained-i\d+"

wildcard_constraints:
    arch="|".join(ARCHS),
    model=STUDY_MODEL,
    layer="|".join(LAYERS),

# ------------------------------------------------------------------ software
# Rules that run a network (torch) use the train environment, the others the analysis one (no
# torch).  Paths are relative to the rule files (workflow/rules/).
TRAIN_ENV = "../../envs/train.yaml"
ANALYSIS_ENV = "../../envs/analysis.yaml"

# ------------------------------------------------------------------ resources
# Each job kind's threads, mem_mb, runtime and gpu (config.resources.<kind> overrides them;
# docs/cluster.md); every rule names its kind once, in job_threads() and job_resources().
# Threads only reserve cores: a job computes on one thread, training on training.threads (the
# numbers never depend on them; convergent.cli.pin_threads), which the train kind reserves.
RESOURCE_DEFAULTS = {
    "train": {"threads": 1, "mem_mb": 4000, "runtime": 120, "gpu": 1},
    # probing a network: trained and untrained ones
    "dump": {"threads": 1, "mem_mb": 4000, "runtime": 30, "gpu": 1},
    "analysis": {"threads": 1, "mem_mb": 2000, "runtime": 30},
    # tables, figures and untrained checkpoints: CPU only, small
    "figure": {"threads": 1, "mem_mb": 2000, "runtime": 15},
    # probe.stream: a pair's two networks run on the probe images in one job (GPU)
    "stream": {"threads": 1, "mem_mb": 8000, "runtime": 120, "gpu": 1},
}
RESOURCE_DEFAULTS["train"]["threads"] = config["training"]["threads"]
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


def block_resources(kind, pairs):
    """job_resources of a job over a block of pairs (``pairs(w)``: the job's pairs): the kind's
    runtime is per pair, so the last model of a 100-seed study asks for 99 pairs' time; memory
    stays one pair's (a block job holds two models at a time)."""
    per_pair = job(kind)["runtime"]
    return {**job_resources(kind), "runtime": lambda wildcards: per_pair * len(pairs(wildcards))}


# ------------------------------------------------------------------ step specs
# What the step of each rule reads from its --spec JSON (src/convergent/steps/*.py,
# figures/unit_pairs.py), and nothing more.  The spec is a rule parameter, so a config edit
# reruns exactly the jobs whose step reads the edited option.  Per rule, spec key -> source:
#   WHOLE             the config section of that name, whole (e.g. dataset: DataSpec reads it all)
#   ("k1", "a.k2")    only these keys of the section of that name ("a.k2": key k2 of sub-dict a)
#   "section.key"     one config value
#   a function        of the job's wildcards (which model or pair the job is about); OMIT
#                     leaves the key out of the spec
WHOLE = "whole section"
OMIT = object()
PROBE_SET = ("split", "size", "seed", "batch_size")  # data.probe_batches
# the analysis options of MI (steps.li_analyses.pair_information; chunk_images: the images of
# one chunk's histogram count); the dump-based step also reads blocks (its chunks of the dumps)
MI_OPTIONS = ("chunk_images", "mi_bins", "mi_zero", "mi_quantile_samples", "mi_correction",
              "mi_top_k")


def model_of(w):
    return next(m for m in MODELS + NEURAL_MODELS if m.arch == w.arch and m.name == w.model)


def model_id(w):
    return f"{w.arch}/{w.model}"


def partners(w):
    """The partners A of a block job's model B (the wildcards name B)."""
    return PAIR_BLOCKS[model_of(w)]


def block_ids(w):
    """The model ids (arch/name) of a block job: what its input files must hold."""
    return {"a": [a.id for a in partners(w)], "b": model_id(w)}


def dumped_replicate(w):
    return 0 if w.model.startswith("untrained-") else model_of(w).replicate


def _of_model(field):
    return lambda w: getattr(model_of(w), field)


def arch_definitions(names, readouts=True):
    """Spec source: the definitions of the config-defined architectures among ``names(w)``; OMIT
    when there are none, so a study of built-in architectures keeps the specs it always had.
    readouts=False leaves out their layers (read-out points): for the jobs that build a network
    without reading it out (training), so that a read-out edit does not rerun them."""
    def source(w):
        found = {a: DEFINED_ARCHS[a] for a in names(w) if a in DEFINED_ARCHS}
        if not readouts:
            found = {a: {k: v for k, v in d.items() if k != "layers"} for a, d in found.items()}
        return found or OMIT
    return source


_JOB_ARCH = arch_definitions(lambda w: [w.arch])
_JOB_BUILD = arch_definitions(lambda w: [w.arch], readouts=False)


def _sums_device(w):
    """Spec source of analysis.sums_device (convergent.moments.sums): OMIT at its default, auto,
    so that adding the option left the specs of existing studies' jobs as they were."""
    device = config["analysis"]["sums_device"]
    return OMIT if device == "auto" else device


SPECS = {
    "train": {
        "arch": lambda w: w.arch,
        "name": _of_model("name"),
        "init_seed": _of_model("init_seed"),
        "data_seed": _of_model("data_seed"),
        "replicate": _of_model("replicate"),
        # the one-bit perturbation control (left out when none: specs of earlier studies stay)
        "perturb": lambda w: model_of(w).perturb or OMIT,
        "dataset": WHOLE,
        # training, with the model's condition (if any) over it
        "training": lambda w: study.training_spec(config, model_of(w)),
        "architectures": _JOB_BUILD,
    },
    "untrained": {
        "arch": lambda w: w.arch,
        "init_seed": lambda w: int(w.seed),
        "dataset": WHOLE,
        "architectures": _JOB_BUILD,
    },
    "import_checkpoint": {
        "arch": lambda w: w.arch,
        "checkpoint": _of_model("checkpoint"),
        "dataset": WHOLE,
        "architectures": _JOB_BUILD,
    },
    "evaluate": {
        "arch": lambda w: w.arch,
        "model": model_id,
        "dataset": WHOLE,
        "training": ("batch_size", "num_workers", "accelerator"),
        "architectures": _JOB_BUILD,
    },
    "dump": {
        "arch": lambda w: w.arch,
        "model": model_id,
        "replicate": dumped_replicate,
        "dataset": WHOLE,
        "probe": PROBE_SET + ("dtype", "compression"),
        "layers": WHOLE,
        "architectures": _JOB_ARCH,
    },
    "import_activations": {
        "arch": lambda w: w.arch,
        "model": model_id,
        "dataset": WHOLE,
        "probe": PROBE_SET + ("dtype", "compression"),
        "layers": WHOLE,
        "architectures": _JOB_ARCH,
    },
    "moments": {"model": model_id, "layers": WHOLE, "analysis": ("blocks", "chunk_images"),
                "sums_device": _sums_device},
    "compare": {"models": block_ids, "analysis": ("blocks", "chunk_images", "dead_unit_std"),
                "sums_device": _sums_device},
    "stream_moments": {
        "arch": lambda w: w.arch,
        "model": model_id,
        "dataset": WHOLE,
        "probe": PROBE_SET,
        "layers": WHOLE,
        "analysis": ("blocks",),
        "architectures": _JOB_ARCH,
    },
    "stream_compare": {
        "arch": lambda w: w.arch,
        "models": block_ids,
        "dataset": WHOLE,
        "probe": PROBE_SET,
        "layers": WHOLE,
        "analysis": ("blocks", "dead_unit_std"),
        "architectures": _JOB_ARCH,
    },
    "stream_top_units": {
        "arch": lambda w: w.arch,
        "model": model_id,
        "dataset": WHOLE,
        "probe": PROBE_SET,
        "layers": WHOLE,
        "patches": "figures.unit_patches",
        "architectures": _JOB_ARCH,
    },
    "stream_mutual_information": {
        "arch": lambda w: w.arch,
        "models": block_ids,
        "dataset": WHOLE,
        "probe": PROBE_SET,
        "layers": WHOLE,
        "analysis": MI_OPTIONS,
        "architectures": _JOB_ARCH,
    },
    "similarity": {
        "models": lambda w: sim_block(w),
        "layers": WHOLE,
        "analysis": ("blocks", "chunk_images", "dead_unit_std"),
        "sums_device": _sums_device,
        # not read: enabled, cross_architecture and the untrained null (they choose the jobs)
        "similarity": (
            "conv_convention", "image_features", "subsample", "rbf_fraction", "svcca_keep",
            "shape_alpha", "knn_k", "rdm_metric", "kendall", "bootstrap", "ci", "seed",
            "layer_by_layer", "nulls.shuffled",
        ),
        # relative depths of the layers (layer identification across architectures)
        "architectures": arch_definitions(
            lambda w: list(dict.fromkeys(i.split("/")[0] for p in sim_block(w) for i in p))),
    },
    # every network of the study at one layer (the claims' distance matrices)
    "network_distances": {
        "models": lambda w: [m.id for m in MODELS],
        "subsample": "similarity.subsample",
        "seed": "similarity.seed",
        "image_features": "similarity.image_features",
    },
    "mutual_information": {"models": block_ids, "analysis": ("blocks",) + MI_OPTIONS},
    "sparse_prediction": {"analysis": ("dead_unit_std", "sparse_penalties", "sparse_folds")},
    "clustering": {"analysis": ("dead_unit_std", "clusters", "cluster_affinity")},
    "top_units": {
        "model": model_id,
        "layers": WHOLE,
        "chunk_images": "analysis.chunk_images",
        "patches": "figures.unit_patches",
    },
    "figure_unit_pairs": {
        "arch": lambda w: EXAMPLE.arch,
        "dataset": WHOLE,
        "probe": ("split",),
        "k": "figures.unit_k",
        "architectures": arch_definitions(lambda w: [EXAMPLE.arch]),
    },
}


# probe.stream: the similarity job from the networks' forward pass (stream.smk) reads what the
# dump-based one reads, and the probe images and their preprocessing instead of the dumps
SPECS["stream_similarity"] = {
    **SPECS["similarity"],
    "dataset": WHOLE,
    "probe": PROBE_SET,
    "analysis": ("blocks", "dead_unit_std"),
    "sums_device": lambda w: OMIT,  # the pass's sums live on the networks' device
}


def _keys(section, keys):
    """These keys of a config section; "a.b" keeps key b of its sub-dict a."""
    out = {}
    for key in keys:
        head, _, rest = key.partition(".")
        if rest:
            out.setdefault(head, {}).update(_keys(section[head], [rest]))
        else:
            out[key] = section[key]
    return out


def _spec_value(key, source, w):
    if callable(source):
        return source(w)
    if source == WHOLE:
        return config[key]
    if isinstance(source, tuple):
        return _keys(config[key], source)
    section, name = source.split(".")
    return config[section][name]


def spec(rule):
    """The --spec JSON of the step of ``rule`` (SPECS above), a parameter of that rule."""
    def text(w):
        values = {key: _spec_value(key, source, w) for key, source in SPECS[rule].items()}
        return json.dumps({k: v for k, v in values.items() if v is not OMIT}, sort_keys=True)
    return text


# ------------------------------------------------------------------ files
def model_dir(m):
    return f"{R}/models/{m.arch}/{m.name}"


#: each model's files, by kind (wildcards arch and model)
MODEL_FILE = {
    "activations": f"{R}/activations/{{arch}}/{{model}}.h5",
    "moments": f"{R}/moments/{{arch}}/{{model}}.h5",
    "ckpt": f"{R}/models/{{arch}}/{{model}}/model.ckpt",
}


def partner_files(kind):
    """Input function: the block's partners' files of ``kind`` (MODEL_FILE), in pair order."""
    return lambda w: [MODEL_FILE[kind].format(arch=w.arch, model=a.name) for a in partners(w)]


def pair_file(p, layer, kind="pairs"):
    """The block file holding pair ``p``'s result of ``kind`` at ``layer`` (its member: A)."""
    return f"{R}/{kind}/{p.arch}/{p.b.name}/{layer}.h5"


def block_files(kind, layers=LAYERS):
    """Every block's result file of ``kind`` (pairs, mi, sparse, clusters), block by block."""
    return [f"{R}/{kind}/{b.arch}/{b.name}/{layer}.h5" for b in PAIR_BLOCKS for layer in layers]


def example_models(kind):
    """Files of the example pair's two models: units or checkpoints (none where a model is
    activations recorded elsewhere: no network)."""
    if kind == "ckpt" and not (EXAMPLE.a.network and EXAMPLE.b.network):
        return []
    path = {
        "units": f"{R}/units/{{arch}}/{{model}}.h5",
        "ckpt": f"{R}/models/{{arch}}/{{model}}/model.ckpt",
    }[kind]
    return [path.format(arch=EXAMPLE.arch, model=m.name) for m in (EXAMPLE.a, EXAMPLE.b)]


def _similarity_pairs():
    """Every similarity pair as ([id of A, id of B], the id of the model whose job holds it):
    within-architecture pairs (a, b) and cross-architecture pairs (convergent.study.cross_pairs)
    go to their later member b, a model's pair with the untrained network to the model."""
    out = [([p.a.id, p.b.id], p.b.id) for p in PAIRS]
    if SIM["nulls"]["untrained"]:  # a recorded model has no architecture to leave untrained
        out += [([m.id, f"{m.arch}/{UNTRAINED}"], m.id) for m in NETWORKS]
    if SIM["cross_architecture"]:
        out += [([a.id, b.id], b.id) for a, b in study.cross_pairs(config)]
    return out


# One similarity job per model that is the later member of some pair: {model id: [[A, B], ...]}
# in pair order (study.blocks), so an added seed adds its own job and leaves the others' as
# they were.
SIM_BLOCKS = study.blocks(_similarity_pairs())
# the positions convention's within-net sums are the per-model moments files' (rule moments);
# under probe.stream those come from the forward pass, not the dumps the cross sums read
SIM_MOMENTS = SIM["conv_convention"] == "positions" and not STREAM


def sim_block(w):
    """The pairs [[id of A, id of B], ...] of the similarity job of model {arch}/{model}."""
    key = model_id(w)
    if key not in SIM_BLOCKS:
        raise ValueError(f"{key}: no similarity pair has it as its later model; its pairs are "
                         "in the files of the models compared with it")
    return SIM_BLOCKS[key]


def sim_inputs(kind, side):
    """Input function: the activation (or moments) file of side 0 (A) or 1 (B) of each pair of
    a similarity job; no moments files where the job computes the within sums itself."""
    def files(w):
        if kind == "moments" and not SIM_MOMENTS:
            return []
        return [f"{R}/{kind}/{pair[side]}.h5" for pair in sim_block(w)]
    return files


def sim_stream_inputs(kind, side):
    """Input function of the stream_similarity rule: the checkpoint ("ckpt"; the untrained one's
    from rule untrained) or moments file of side 0 (A) or 1 (B) of each pair of the job; moments
    files only under the positions convention (under mean the job sums in its pass)."""
    def files(w):
        if kind == "moments" and SIM["conv_convention"] != "positions":
            return []
        if kind == "moments":
            return [f"{R}/moments/{pair[side]}.h5" for pair in sim_block(w)]
        return [f"{R}/models/{pair[side]}/model.ckpt" for pair in sim_block(w)]
    return files


def similarity_files():
    """One CSV per model that is the later member of a similarity pair (SIM_BLOCKS)."""
    return [f"{R}/similarity/{key}.csv" for key in SIM_BLOCKS]


# ------------------------------------------------------------------ report
# The report's categories are the study's questions; every figure and table family answers one
# (its caption: workflow/report/<family>.rst).  Labels name the layer and pair a figure shows,
# so that a reader can filter the families drawn once per layer.
QUESTIONS = {
    "1. Findings": ["findings", "study_overview"],
    "2. Do the seeds perform alike?": ["accuracy", "training_curves"],
    "3. Do single units match? (Li et al.)": [
        "convergence_by_layer", "correlation_matrices", "matched_correlation_sorted",
        "unit_pairs", "mean_activations", "matching_summary", "matching_per_pair",
        "mean_activation_agreement", "mutual_information", "mutual_information_summary",
        "mutual_information_per_pair"],
    "4. Do groups of units span the same space? (Li et al.)": [
        "sparse_prediction_loss", "sparse_prediction", "sparse_prediction_predictors",
        "sparse_prediction_per_pair", "clustering", "clustering_composition"],
    "5. Do whole layers represent alike?": [
        "similarity_by_layer", "similarity_summary", "similarity_heatmaps", "similarity_sources",
        "similarity_architectures"],
    "6. Which layer corresponds to which? (Kornblith et al.)": [
        "similarity_layer_identification", "layer_identification"],
    "7. Do the commentary's claims hold?": ["claims", "network_grouping", "network_embedding"],
    "8. Do the seeds tell the same story about the brain?": [
        "neural_predictivity", "neural_by_layer", "neural_best_layer", "neural_consistency"],
    "9. Which measure can you trust here?": ["validation"],
}
QUESTION_OF = {family: q for q, families in QUESTIONS.items() for family in families}
EXAMPLE_LABEL = f"{EXAMPLE.a.name} vs {EXAMPLE.b.name}"
#: families drawn for the example pair only (the others summarise every pair)
EXAMPLE_FAMILIES = ("correlation_matrices", "unit_pairs", "clustering")
#: families of the models one by one (no pairs), and of their outputs only (no layer)
MODEL_FAMILIES = ("accuracy", "training_curves", "mean_activations", "neural_predictivity",
                  "neural_by_layer", "neural_best_layer")
OUTPUT_FAMILIES = ("accuracy", "training_curves")
SPARSE_FAMILIES = ("sparse_prediction_loss", "sparse_prediction", "sparse_prediction_predictors",
                   "sparse_prediction_per_pair")


def family_of(name):
    """(family, layer) of a figure or table name: "correlation_matrices_conv1" -> the family
    "correlation_matrices" at conv1; a name drawn once for all layers is its own family."""
    for family in EXAMPLE_FAMILIES:
        layer = name.removeprefix(f"{family}_")
        if layer != name and layer in LAYERS:
            return family, layer
    return name, "all"


def layers_label(layers):
    """The layers a figure or table shows, for the report's filters: their names, or of more
    than three the first and last with their count (a label is one short line)."""
    if len(layers) <= 3:
        return ", ".join(layers)
    return f"{layers[0]} … {layers[-1]} ({len(layers)} layers)"


def report_labels(name, kind):
    """The report's filter labels of figure or table ``name`` (``kind``: "Figures" or
    "Tables"): its family, and the layers and pairs (or models) it shows, by their names."""
    family, layer = family_of(name)
    if family in OUTPUT_FAMILIES:
        layer = "output"
    elif layer == "all":
        layer = layers_label(SPARSE_LAYERS if family in SPARSE_FAMILIES else LAYERS)
    # short: the report's menu widens to its longest label, narrowing the figure beside it
    if family in EXAMPLE_FAMILIES or (len(PAIRS) == 1 and family not in MODEL_FAMILIES):
        pair = EXAMPLE_LABEL
    elif family in MODEL_FAMILIES:
        pair = f"none: each of {len(MODELS)} models"
    else:
        pair = f"all {len(PAIRS)} pairs"
    return {kind[:-1].lower(): family.replace("_", " "), "layer": layer, "pair": pair}


def report_page(path, kind):
    """An HTML page (``path`` with the wildcard {name}: a figure or a table with its caption)
    marked for the report under the question its family answers, labelled for filtering."""
    return report(path, category=lambda w: QUESTION_OF[family_of(w.name)[0]],
                  subcategory=kind, labels=lambda w: report_labels(w.name, kind))


def figure_outputs(name):
    """PDF + PNG of one figure (its HTML page with the caption goes into the report)."""
    return {"pdf": f"{R}/figures/{name}.pdf", "png": f"{R}/figures/{name}.png"}


# ------------------------------------------------------------------ targets
# Named targets (rules in the Snakefile): li2016 = every Li et al. figure and table equivalent
# (docs/li2016_map.md), kornblith2019 = the layer-identification test, findings = the study's
# answers; all = everything.
LI2016 = {
    "tables": ["matching_per_pair", "matching_summary", "mean_activation_agreement",
               "mutual_information_per_pair",
               "mutual_information_summary", "clustering_composition"],
    "figures": ["matched_correlation_sorted", "convergence_by_layer", "mean_activations",
                "mutual_information"] + [
        f"{family}_{layer}" for family in ("correlation_matrices", "unit_pairs", "clustering")
        for layer in LAYERS
    ],
}
if SPARSE_LAYERS:  # none of the configured layers may be one of analysis.sparse_layers
    LI2016["tables"] += ["sparse_prediction_per_pair", "sparse_prediction",
                         "sparse_prediction_predictors"]
    LI2016["figures"] += ["sparse_prediction_loss"]
KORNBLITH2019 = {"tables": ["layer_identification"],
                 "figures": ["similarity_layer_identification"]}
SIM_FIGURES = ["by_layer", "heatmaps", "layer_identification", "sources", "architectures"]
SIMILARITY = {"tables": ["similarity_summary", "layer_identification"],
              "figures": [f"similarity_{name}" for name in SIM_FIGURES
                          if name != "architectures" or (len(ARCHS) > 1
                                                         and SIM["cross_architecture"])]}
STUDY = {"tables": ["accuracy"], "figures": ["training_curves", "study_overview"]}


FINDINGS = {"files": ["findings.md", "findings.html", "tables/findings.csv"]}
# the claims; the findings too when they are part of them (claims.enabled)
CLAIMS_TARGET = {"tables": ["claims", "network_grouping"],
                 "figures": ["claims", "network_embedding"],
                 **(FINDINGS if config["claims"]["enabled"] else {})}
# the measure validation (validation.smk); the findings too when it is part of them
VALIDATION = config["validation"]
VALIDATE_TARGET = {"tables": ["validation"], "figures": ["validation"],
                   **(FINDINGS if VALIDATION["enabled"] else {})}


def outputs(*groups):
    """The files of named groups: tables (the CSV and its HTML page for the report), figures
    (PDF, PNG and the HTML page for the report) and other files."""
    def of(kind):
        return list(dict.fromkeys(x for g in groups for x in g.get(kind, [])))

    return (
        [f"{R}/tables/{t}.{ext}" for t in of("tables") for ext in ("csv", "html")]
        + [f"{R}/figures/{f}.{ext}" for f in of("figures") for ext in ("pdf", "png", "html")]
        + [f"{R}/{f}" for f in of("files")]
    )


def all_outputs():
    return outputs(STUDY, FINDINGS, LI2016, *([SIMILARITY] if SIM["enabled"] else []),
                   *([CLAIMS_TARGET] if config["claims"]["enabled"] else []),
                   *([VALIDATE_TARGET] if VALIDATION["enabled"] else []),
                   *([NEURAL_OUTPUTS] if NEURAL["enabled"] else []))


# A study of checkpoints only (models trained elsewhere) has no training history to draw; one
# of activations recorded elsewhere only no accuracy either (the overview's first panel).
if not SEED_MODELS:
    STUDY["figures"].remove("training_curves")
if not NETWORKS:
    STUDY["figures"].remove("study_overview")


# ------------------------------------------------------------------ neural predictivity
# (docs/neural.md; rules in neural.smk.)  The neural data: the user's file, checked here before
# any job starts, or the demo's planted data (rule neural_demo_data), read out of the layers of
# a held-out network trained like a seed and compared with nothing (NEURAL_MODELS: model_of
# finds it, so its train and dump jobs get their specs like the study's models).
NEURAL = config["neural"]
NEURAL_DEMO = NEURAL["path"] == "demo"
NEURAL_MODELS = []
NEURAL_HELD_OUT = None
NEURAL_FILE = f"{R}/neural/demo.h5" if NEURAL_DEMO else NEURAL["path"]
if NEURAL["enabled"]:
    from convergent.io import InputError
    from convergent.io import neural as neural_io

    def _neural_error(message):
        sys.exit(f"config error: {message}")

    if NEURAL["path"] is None:
        _neural_error("neural.path: null; give your recordings' HDF5 file (docs/neural.md), "
                      "or 'demo' for planted pseudo-neural data")
    if NEURAL_DEMO:
        _demo = NEURAL["demo"]
        for _area, _layer in _demo["areas"].items():
            if _layer not in LAYERS:
                _neural_error(f"neural.demo.areas.{_area}: {_layer!r} is not one of layers "
                              f"({', '.join(LAYERS)}); name a compared layer")
        for _area in NEURAL["areas"] or []:
            if _area not in _demo["areas"]:
                _neural_error(f"neural.areas: {_area!r} is not one of neural.demo.areas; "
                              "list only planted areas")
        _seed = _demo["init_seed"]
        # the held-out network: of the first architecture with a network to train
        _trainable = [a for a in ARCHS if not models.is_recorded(a)]
        if not _trainable:
            _neural_error("neural.path: 'demo' plants areas in a network trained like the "
                          "seeds; the study's architectures are recorded elsewhere only")
        NEURAL_HELD_OUT = study.Model(_trainable[0], _seed, _seed)
        if any(m.name == NEURAL_HELD_OUT.name for m in MODELS):
            _neural_error(f"neural.demo.init_seed: {_seed} is a seed of the study's models; "
                          "the held-out network needs seeds of its own")
        NEURAL_MODELS.append(NEURAL_HELD_OUT)
    else:
        try:
            _data = neural_io.read(NEURAL["path"], NEURAL["areas"])
        except InputError as err:
            _neural_error(f"neural.path: {err}")
        for _key, _want in (("dataset", config["dataset"]["name"]),
                            ("split", config["probe"]["split"])):
            if _data.attrs[_key] != _want:
                _neural_error(f"neural.path: {NEURAL['path']} was recorded on {_key} "
                              f"{_data.attrs[_key]!r}, the study probes {_want!r}; use neural "
                              "data of the study's probe images")
        try:
            from convergent.data import DataSpec, probe_index

            _data.probe_positions(probe_index(DataSpec.from_config(config["dataset"]),
                                              config["probe"]), "the probe set")
        except InputError as err:
            _neural_error(f"neural.path: {err}")
        try:
            _few = neural_io.few_stimuli(_data, NEURAL["folds"])
        except InputError as err:
            _neural_error(str(err))
        for _note in filter(None, (_few, _data.exclusion_note)):
            print(f"warning: neural.path: {_note}", file=sys.stderr)

#: the models whose predictivity is measured: the study's, and the held-out network (a check)
NEURAL_SUBJECTS = MODELS + NEURAL_MODELS
NEURAL_TABLES = ["neural_by_layer", "neural_best_layer", "neural_consistency"]
NEURAL_OUTPUTS = {"tables": NEURAL_TABLES, "figures": ["neural_predictivity"]}
_NEURAL_MAPPING = ("mapping", "folds", "penalties", "pls_components", "conv_features", "width",
                   "splits", "seed", "min_reliability", "areas")
SPECS.update({
    "predictivity": {"model": model_id, "layers": WHOLE, "neural": _NEURAL_MAPPING},
    "neural_demo_data": {
        "model": lambda w: NEURAL_HELD_OUT.id,
        "probe": ("split",),
        "neural": ("demo", "conv_features", "width"),
    },
})
