# The rest of Li et al. (2016): mutual-information matching, sparse ("few-to-one") prediction,
# many-to-many clustering (per layer and block of pairs: files {kind}/{arch}/{model}/{layer}.h5
# with a member per partner of {model}), unit visualisations and mean activations.
# docs/li2016_map.md maps every paper figure/table to the output and rule below.
# Nothing here streams what an earlier rule already summarised: sparse prediction and clustering
# read the moments and pair files; only mutual information (it needs the raw values) and the
# per-model top-unit search read the activation dumps (with probe.stream: true, the rules
# stream_mutual_information and stream_top_units of stream.smk run the networks instead).

BLOCK_LAYER = "{arch}/{model}/{layer}.h5"
BLOCK_LAYER_LOG = "{arch}/{model}/{layer}.log"


rule mutual_information:
    """MI of every unit pair (zero bin + equal-frequency bins, Miller-Madow), MI matchings, for
    each pair of the block."""
    input:
        a=partner_files("activations"),
        b=MODEL_FILE["activations"],
        pair=f"{R}/pairs/{BLOCK_LAYER}",
    output:
        f"{R}/mi/{BLOCK_LAYER}",
    log:
        f"{R}/logs/mutual_information/{BLOCK_LAYER_LOG}",
    params:
        spec=spec("mutual_information"),
    conda:
        ANALYSIS_ENV
    threads: job_threads("analysis")
    resources:
        **block_resources("analysis", partners),
    shell:
        "convergent mutual-information --spec {params.spec:q} --a {input.a}"
        " --b {input.b} --pair {input.pair} --layer {wildcards.layer} --out {output}"
        " > {log} 2>&1"


rule sparse_prediction:
    """L1 path of predicting B's units from A's (and back), held-out loss k-fold over blocks,
    for each pair of the block."""
    input:
        pair=f"{R}/pairs/{BLOCK_LAYER}",
        moments_a=partner_files("moments"),
        moments_b=MODEL_FILE["moments"],
    output:
        f"{R}/sparse/{BLOCK_LAYER}",
    log:
        f"{R}/logs/sparse_prediction/{BLOCK_LAYER_LOG}",
    params:
        spec=spec("sparse_prediction"),
    conda:
        ANALYSIS_ENV
    threads: job_threads("analysis")
    resources:
        **block_resources("analysis", partners),
    shell:
        "convergent sparse-prediction --spec {params.spec:q} --pair {input.pair}"
        " --moments-a {input.moments_a} --moments-b {input.moments_b}"
        " --layer {wildcards.layer} --out {output} > {log} 2>&1"


rule clustering:
    """Spectral and hierarchical clusters of the joint correlation matrix of one layer, for each
    pair of the block."""
    input:
        pair=f"{R}/pairs/{BLOCK_LAYER}",
        moments_a=partner_files("moments"),
        moments_b=MODEL_FILE["moments"],
    output:
        f"{R}/clusters/{BLOCK_LAYER}",
    log:
        f"{R}/logs/clustering/{BLOCK_LAYER_LOG}",
    params:
        spec=spec("clustering"),
    conda:
        ANALYSIS_ENV
    threads: job_threads("analysis")
    resources:
        **block_resources("analysis", partners),
    shell:
        "convergent clustering --spec {params.spec:q} --pair {input.pair}"
        " --moments-a {input.moments_a} --moments-b {input.moments_b}"
        " --layer {wildcards.layer} --out {output} > {log} 2>&1"


rule top_units:
    """Each unit's top-activating probe images and positions (once per model)."""
    input:
        f"{R}/activations/{{arch}}/{{model}}.h5",
    output:
        f"{R}/units/{{arch}}/{{model}}.h5",
    log:
        f"{R}/logs/top_units/{{arch}}/{{model}}.log",
    params:
        spec=spec("top_units"),
    conda:
        ANALYSIS_ENV
    threads: job_threads("analysis")
    resources:
        **job_resources("analysis"),
    shell:
        "convergent top-units --spec {params.spec:q} --activations {input} --out {output}"
        " > {log} 2>&1"


rule mi_tables:
    """Li et al. MI matching: per pair and layer, and per layer with the paper's top-8 agreement
    where it applies."""
    input:
        block_files("mi"),
    output:
        per_pair=f"{R}/tables/mutual_information_per_pair.csv",
        summary=f"{R}/tables/mutual_information_summary.csv",
    log:
        f"{R}/logs/mi_tables.log",
    params:
        layers=LAYERS,
        dataset=config["dataset"]["name"],
    conda:
        ANALYSIS_ENV
    threads: job_threads("figure")
    resources:
        **job_resources("figure"),
    shell:
        "convergent mi-tables --inputs {input} --layers {params.layers}"
        " --dataset {params.dataset} --per-pair {output.per_pair} --summary {output.summary} > {log} 2>&1"


rule sparse_tables:
    """Li et al. Table 1: held-out loss and predictors per penalty, beside the paper's values
    where they apply."""
    input:
        block_files("sparse", SPARSE_LAYERS),
    output:
        per_pair=f"{R}/tables/sparse_prediction_per_pair.csv",
        loss=f"{R}/tables/sparse_prediction.csv",
        predictors=f"{R}/tables/sparse_prediction_predictors.csv",
    log:
        f"{R}/logs/sparse_tables.log",
    params:
        layers=SPARSE_LAYERS,
        dataset=config["dataset"]["name"],
    conda:
        ANALYSIS_ENV
    threads: job_threads("figure")
    resources:
        **job_resources("figure"),
    shell:
        "convergent sparse-tables --inputs {input} --layers {params.layers}"
        " --dataset {params.dataset} --per-pair {output.per_pair} --loss {output.loss} --predictors {output.predictors}"
        " > {log} 2>&1"


rule clustering_table:
    """Li et al. many-to-many: composition of the clusters of every pair and layer."""
    input:
        block_files("clusters"),
    output:
        f"{R}/tables/clustering_composition.csv",
    log:
        f"{R}/logs/clustering_table.log",
    params:
        layers=LAYERS,
    conda:
        ANALYSIS_ENV
    threads: job_threads("figure")
    resources:
        **job_resources("figure"),
    shell:
        "convergent clustering-table --inputs {input} --layers {params.layers} --out {output}"
        " > {log} 2>&1"


rule figure_unit_pairs:
    """Li et al. Fig. 2: top patches of the best and worst matched unit pairs (example pair)."""
    input:
        pair=lambda w: pair_file(EXAMPLE, w.layer),
        units=example_models("units"),
        ckpt=example_models("ckpt"),
    output:
        **figure_outputs("unit_pairs_{layer}"),
    log:
        f"{R}/logs/figure_unit_pairs/{{layer}}.log",
    params:
        spec=spec("figure_unit_pairs"),
        partner=EXAMPLE.a.name,
    conda:
        TRAIN_ENV
    threads: job_threads("figure")
    resources:
        **job_resources("figure"),
    shell:
        "convergent figure unit-pairs --spec {params.spec:q} --pair {input.pair}"
        " --partner {params.partner} --units {input.units} --checkpoints {input.ckpt}"
        " --out {output.pdf} > {log} 2>&1"


rule figure_mean_activations:
    """Li et al.: sorted per-unit mean activation per layer, every net overlaid."""
    input:
        [f"{R}/moments/{m.arch}/{m.name}.h5" for m in MODELS],
    output:
        **figure_outputs("mean_activations"),
    log:
        f"{R}/logs/figure_mean_activations.log",
    params:
        layers=LAYERS,
        models=MODEL_IDS,
    conda:
        ANALYSIS_ENV
    threads: job_threads("figure")
    resources:
        **job_resources("figure"),
    shell:
        "convergent figure mean-activations --moments {input} --layers {params.layers}"
        " --models {params.models} --out {output.pdf} > {log} 2>&1"


rule figure_sparse_prediction:
    """Li et al. Table 1 as a figure: held-out loss and predictors vs L1 penalty, per layer."""
    input:
        f"{R}/tables/sparse_prediction_per_pair.csv",
    output:
        **figure_outputs("sparse_prediction_loss"),
    log:
        f"{R}/logs/figure_sparse_prediction.log",
    conda:
        ANALYSIS_ENV
    threads: job_threads("figure")
    resources:
        **job_resources("figure"),
    shell:
        "convergent figure sparse-prediction --per-pair {input} --out {output.pdf} > {log} 2>&1"


rule figure_clustering:
    """Li et al.: the joint correlation matrix permuted by spectral and hierarchical clusters."""
    input:
        lambda w: pair_file(EXAMPLE, w.layer, "clusters"),
    output:
        **figure_outputs("clustering_{layer}"),
    log:
        f"{R}/logs/figure_clustering/{{layer}}.log",
    params:
        partner=EXAMPLE.a.name,
    conda:
        ANALYSIS_ENV
    threads: job_threads("figure")
    resources:
        **job_resources("figure"),
    shell:
        "convergent figure clustering --clusters {input} --partner {params.partner}"
        " --out {output.pdf} > {log} 2>&1"


rule figure_mutual_information:
    """MI vs correlation of every unit pair, and sorted MI-matched values (example pair)."""
    input:
        mi=[pair_file(EXAMPLE, layer, "mi") for layer in LAYERS],
        pairs=[pair_file(EXAMPLE, layer) for layer in LAYERS],
    output:
        **figure_outputs("mutual_information"),
    log:
        f"{R}/logs/figure_mutual_information.log",
    params:
        partner=EXAMPLE.a.name,
    conda:
        ANALYSIS_ENV
    threads: job_threads("figure")
    resources:
        **job_resources("figure"),
    shell:
        "convergent figure mutual-information --mi {input.mi} --pairs {input.pairs}"
        " --partner {params.partner} --out {output.pdf} > {log} 2>&1"
