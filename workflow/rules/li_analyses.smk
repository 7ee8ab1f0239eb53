# The rest of Li et al. (2016): mutual-information matching, sparse ("few-to-one") prediction,
# many-to-many clustering (per pair and layer), unit visualisations and mean activations.
# docs/li2016_map.md maps every paper figure/table to the output and rule below.
# Nothing here streams what an earlier rule already summarised: sparse prediction and clustering
# read the moments and pair files; only mutual information (it needs the raw values) and the
# per-model top-unit search read the activation dumps.

PAIR_LAYER = "{arch}/{pair}/{layer}.h5"


def li_spec(prefix, reads_activations=False):
    """A rule's spec: the streaming layout and dead-unit threshold plus its own options (those
    whose name starts with ``prefix``), so that changing one analysis reruns only its jobs; the
    model ids its activation files must hold if it reads them."""
    core = ("blocks", "chunk_images", "dead_unit_std")
    options = {k: v for k, v in config["analysis"].items()
               if (k in core or k.startswith(prefix)) and k != "sparse_layers"}
    if reads_activations:
        return lambda w: spec(models=pair_ids(w), layers=LAYERS, analysis=options)
    return lambda w: spec(layers=LAYERS, analysis=options)


def example_models(kind):
    """Files of the example pair's two models: activations, moments, units or checkpoints."""
    path = {
        "units": f"{R}/units/{{arch}}/{{model}}.h5",
        "ckpt": f"{R}/models/{{arch}}/{{model}}/model.ckpt",
    }[kind]
    return [path.format(arch=EXAMPLE.arch, model=m.name) for m in (EXAMPLE.a, EXAMPLE.b)]


SPARSE_LAYERS = [layer for layer in LAYERS if layer in config["analysis"]["sparse_layers"]]


def per_pair(kind, layers=LAYERS):
    return [f"{R}/{kind}/{p.arch}/{p.name}/{layer}.h5" for p in PAIRS for layer in layers]


rule mutual_information:
    """MI of every unit pair (zero bin + equal-frequency bins, Miller-Madow), MI matchings."""
    input:
        acts=pair_models,
        pair=f"{R}/pairs/{PAIR_LAYER}",
    output:
        f"{R}/mi/{PAIR_LAYER}",
    params:
        spec=li_spec("mi_", reads_activations=True),
    threads: job_threads("analysis")
    resources:
        **job_resources("analysis"),
    shell:
        "convergent mutual-information --spec {params.spec:q} --a {input.acts[0]}"
        " --b {input.acts[1]} --pair {input.pair} --layer {wildcards.layer} --out {output}"


rule sparse_prediction:
    """L1 path of predicting B's units from A's (and back), held-out loss k-fold over blocks."""
    input:
        pair=f"{R}/pairs/{PAIR_LAYER}",
        moments=pair_moments,
    output:
        f"{R}/sparse/{PAIR_LAYER}",
    params:
        spec=li_spec("sparse_"),
    threads: job_threads("analysis")
    resources:
        **job_resources("analysis"),
    shell:
        "convergent sparse-prediction --spec {params.spec:q} --pair {input.pair}"
        " --moments-a {input.moments[0]} --moments-b {input.moments[1]}"
        " --layer {wildcards.layer} --out {output}"


rule clustering:
    """Spectral and hierarchical clusters of the joint correlation matrix of one layer."""
    input:
        pair=f"{R}/pairs/{PAIR_LAYER}",
        moments=pair_moments,
    output:
        f"{R}/clusters/{PAIR_LAYER}",
    params:
        spec=li_spec("cluster"),
    threads: job_threads("analysis")
    resources:
        **job_resources("analysis"),
    shell:
        "convergent clustering --spec {params.spec:q} --pair {input.pair}"
        " --moments-a {input.moments[0]} --moments-b {input.moments[1]}"
        " --layer {wildcards.layer} --out {output}"


rule top_units:
    """Each unit's top-activating probe images and positions (once per model)."""
    input:
        f"{R}/activations/{{arch}}/{{model}}.h5",
    output:
        f"{R}/units/{{arch}}/{{model}}.h5",
    params:
        spec=lambda w: spec(model=f"{w.arch}/{w.model}", layers=LAYERS,
                            chunk_images=config["analysis"]["chunk_images"],
                            patches=config["figures"]["unit_patches"]),
    threads: job_threads("analysis")
    resources:
        **job_resources("analysis"),
    shell:
        "convergent top-units --spec {params.spec:q} --activations {input} --out {output}"


rule mi_tables:
    """Li et al. MI matching: per pair and layer, and per layer with the paper's top-8 agreement."""
    input:
        per_pair("mi"),
    output:
        per_pair=report(f"{R}/tables/mutual_information_per_pair.csv", category="Tables",
                        caption="../report/mutual_information_per_pair.rst"),
        summary=report(f"{R}/tables/mutual_information_summary.csv", category="Tables",
                       caption="../report/mutual_information_summary.rst"),
    params:
        layers=LAYERS,
    threads: job_threads("figure")
    resources:
        **job_resources("figure"),
    shell:
        "convergent mi-tables --inputs {input} --layers {params.layers}"
        " --per-pair {output.per_pair} --summary {output.summary}"


rule sparse_tables:
    """Li et al. Table 1: held-out loss and predictors per penalty, beside the paper's values."""
    input:
        per_pair("sparse", SPARSE_LAYERS),
    output:
        per_pair=report(f"{R}/tables/sparse_prediction_per_pair.csv", category="Tables",
                        caption="../report/sparse_prediction_per_pair.rst"),
        loss=report(f"{R}/tables/sparse_prediction.csv", category="Tables",
                    caption="../report/sparse_prediction.rst"),
        predictors=report(f"{R}/tables/sparse_prediction_predictors.csv", category="Tables",
                          caption="../report/sparse_prediction_predictors.rst"),
    params:
        layers=SPARSE_LAYERS,
    threads: job_threads("figure")
    resources:
        **job_resources("figure"),
    shell:
        "convergent sparse-tables --inputs {input} --layers {params.layers}"
        " --per-pair {output.per_pair} --loss {output.loss} --predictors {output.predictors}"


rule clustering_table:
    """Li et al. many-to-many: composition of the clusters of every pair and layer."""
    input:
        per_pair("clusters"),
    output:
        report(f"{R}/tables/clustering_composition.csv", category="Tables",
               caption="../report/clustering_composition.rst"),
    params:
        layers=LAYERS,
    threads: job_threads("figure")
    resources:
        **job_resources("figure"),
    shell:
        "convergent clustering-table --inputs {input} --layers {params.layers} --out {output}"


rule figure_unit_pairs:
    """Li et al. Fig. 2: top patches of the best and worst matched unit pairs (example pair)."""
    input:
        pair=lambda w: pair_file(EXAMPLE, w.layer),
        units=example_models("units"),
        ckpt=example_models("ckpt"),
    output:
        **figure_outputs("unit_pairs_{layer}", "unit_pairs"),
    params:
        spec=lambda w: spec(arch=EXAMPLE.arch, dataset=config["dataset"], probe=config["probe"],
                            k=config["figures"]["unit_k"]),
    threads: job_threads("figure")
    resources:
        **job_resources("figure"),
    shell:
        "convergent figure unit-pairs --spec {params.spec:q} --pair {input.pair}"
        " --units {input.units} --checkpoints {input.ckpt} --out {output.pdf}"


rule figure_mean_activations:
    """Li et al.: sorted per-unit mean activation per layer, every net overlaid."""
    input:
        [f"{R}/moments/{m.arch}/{m.name}.h5" for m in MODELS],
    output:
        **figure_outputs("mean_activations"),
    params:
        layers=LAYERS,
    threads: job_threads("figure")
    resources:
        **job_resources("figure"),
    shell:
        "convergent figure mean-activations --moments {input} --layers {params.layers}"
        " --out {output.pdf}"


rule figure_sparse_prediction:
    """Li et al. Table 1 as a figure: held-out loss and predictors vs L1 penalty, per layer."""
    input:
        f"{R}/tables/sparse_prediction_per_pair.csv",
    output:
        **figure_outputs("sparse_prediction_loss"),
    threads: job_threads("figure")
    resources:
        **job_resources("figure"),
    shell:
        "convergent figure sparse-prediction --per-pair {input} --out {output.pdf}"


rule figure_clustering:
    """Li et al.: the joint correlation matrix permuted by spectral and hierarchical clusters."""
    input:
        lambda w: f"{R}/clusters/{EXAMPLE.arch}/{EXAMPLE.name}/{w.layer}.h5",
    output:
        **figure_outputs("clustering_{layer}", "clustering"),
    threads: job_threads("figure")
    resources:
        **job_resources("figure"),
    shell:
        "convergent figure clustering --clusters {input} --out {output.pdf}"


rule figure_mutual_information:
    """MI vs correlation of every unit pair, and sorted MI-matched values (example pair)."""
    input:
        mi=[f"{R}/mi/{EXAMPLE.arch}/{EXAMPLE.name}/{layer}.h5" for layer in LAYERS],
        pairs=[pair_file(EXAMPLE, layer) for layer in LAYERS],
    output:
        **figure_outputs("mutual_information"),
    threads: job_threads("figure")
    resources:
        **job_resources("figure"),
    shell:
        "convergent figure mutual-information --mi {input.mi} --pairs {input.pairs}"
        " --out {output.pdf}"


TABLES += ["mutual_information_per_pair", "mutual_information_summary", "clustering_composition"]
FIGURES += ["mean_activations", "mutual_information"] + [
    f"{family}_{layer}" for family in ("unit_pairs", "clustering") for layer in LAYERS
]
if SPARSE_LAYERS:  # none of the configured layers may be one of analysis.sparse_layers
    TABLES += ["sparse_prediction_per_pair", "sparse_prediction", "sparse_prediction_predictors"]
    FIGURES += ["sparse_prediction_loss"]
