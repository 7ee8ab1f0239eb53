# The rest of Li et al. (2016): mutual-information matching, sparse ("few-to-one") prediction,
# many-to-many clustering (per pair and layer), unit visualisations and mean activations.
# docs/li2016_map.md maps every paper figure/table to the output and rule below.
# Nothing here streams what an earlier rule already summarised: sparse prediction and clustering
# read the moments and pair files; only mutual information (it needs the raw values) and the
# per-model top-unit search read the activation dumps.

PAIR_LAYER = "{arch}/{pair}/{layer}.h5"


def li_spec(prefix):
    """A rule's spec: the streaming layout and dead-unit threshold plus its own options (those
    whose name starts with ``prefix``), so that changing one analysis reruns only its jobs."""
    core = ("blocks", "chunk_images", "dead_unit_std")
    options = {k: v for k, v in config["analysis"].items()
               if (k in core or k.startswith(prefix)) and k != "sparse_layers"}
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
        spec=li_spec("mi_"),
    threads: res("analysis", "threads")
    resources:
        mem_mb=res("analysis", "mem_mb"),
        runtime=res("analysis", "runtime"),
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
    threads: res("analysis", "threads")
    resources:
        mem_mb=res("analysis", "mem_mb"),
        runtime=res("analysis", "runtime"),
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
    threads: res("analysis", "threads")
    resources:
        mem_mb=res("analysis", "mem_mb"),
        runtime=res("analysis", "runtime"),
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
        spec=lambda w: spec(layers=LAYERS, analysis={k: config["analysis"][k] for k in
                            ("blocks", "chunk_images")},
                            patches=config["figures"]["unit_patches"]),
    threads: res("analysis", "threads")
    resources:
        mem_mb=res("analysis", "mem_mb"),
        runtime=res("analysis", "runtime"),
    shell:
        "convergent top-units --spec {params.spec:q} --activations {input} --out {output}"


LI_TABLES = {
    "mi_per_pair": "mutual_information_per_pair",
    "mi_summary": "mutual_information_summary",
    "sparse_per_pair": "sparse_prediction_per_pair",
    "sparse_loss": "sparse_prediction",
    "sparse_predictors": "sparse_prediction_predictors",
    "clustering": "clustering_composition",
}


rule li_tables:
    """Li et al. summary tables: MI matching, Table 1 (sparse prediction), cluster composition."""
    input:
        mi=per_pair("mi"),
        sparse=per_pair("sparse", SPARSE_LAYERS),
        clusters=per_pair("clusters"),
    output:
        **{key: report(f"{R}/tables/{name}.csv", category="Tables",
                       caption=f"../report/{name}.rst") for key, name in LI_TABLES.items()},
    params:
        layers=LAYERS,
    threads: res("figure", "threads")
    resources:
        mem_mb=res("figure", "mem_mb"),
        runtime=res("figure", "runtime"),
    shell:
        "convergent li-tables --mi {input.mi} --sparse {input.sparse} --clusters {input.clusters}"
        " --layers {params.layers} --mi-per-pair {output.mi_per_pair}"
        " --mi-summary {output.mi_summary} --sparse-per-pair {output.sparse_per_pair}"
        " --sparse-loss {output.sparse_loss} --sparse-predictors {output.sparse_predictors}"
        " --clustering {output.clustering}"


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
    threads: res("figure", "threads")
    resources:
        mem_mb=res("figure", "mem_mb"),
        runtime=res("figure", "runtime"),
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
    threads: res("figure", "threads")
    resources:
        mem_mb=res("figure", "mem_mb"),
        runtime=res("figure", "runtime"),
    shell:
        "convergent figure mean-activations --moments {input} --layers {params.layers}"
        " --out {output.pdf}"


rule figure_sparse_prediction:
    """Li et al. Table 1 as a figure: held-out loss and predictors vs L1 penalty, per layer."""
    input:
        f"{R}/tables/sparse_prediction_per_pair.csv",
    output:
        **figure_outputs("sparse_prediction_loss"),
    threads: res("figure", "threads")
    resources:
        mem_mb=res("figure", "mem_mb"),
        runtime=res("figure", "runtime"),
    shell:
        "convergent figure sparse-prediction --per-pair {input} --out {output.pdf}"


rule figure_clustering:
    """Li et al.: the joint correlation matrix permuted by spectral and hierarchical clusters."""
    input:
        lambda w: f"{R}/clusters/{EXAMPLE.arch}/{EXAMPLE.name}/{w.layer}.h5",
    output:
        **figure_outputs("clustering_{layer}", "clustering"),
    threads: res("figure", "threads")
    resources:
        mem_mb=res("figure", "mem_mb"),
        runtime=res("figure", "runtime"),
    shell:
        "convergent figure clustering --clusters {input} --out {output.pdf}"


rule figure_mutual_information:
    """MI vs correlation of every unit pair, and sorted MI-matched values (example pair)."""
    input:
        mi=[f"{R}/mi/{EXAMPLE.arch}/{EXAMPLE.name}/{layer}.h5" for layer in LAYERS],
        pairs=[pair_file(EXAMPLE, layer) for layer in LAYERS],
    output:
        **figure_outputs("mutual_information"),
    threads: res("figure", "threads")
    resources:
        mem_mb=res("figure", "mem_mb"),
        runtime=res("figure", "runtime"),
    shell:
        "convergent figure mutual-information --mi {input.mi} --pairs {input.pairs}"
        " --out {output.pdf}"


TABLES += list(LI_TABLES.values())
FIGURES += ["mean_activations", "sparse_prediction_loss", "mutual_information"] + [
    f"{family}_{layer}" for family in ("unit_pairs", "clustering") for layer in LAYERS
]
