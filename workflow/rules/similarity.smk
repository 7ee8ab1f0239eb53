# Representational similarity (docs/similarity.md): every measure per pair and layer with
# bootstrap CIs, the layer x layer matrices, null baselines (untrained networks, shuffled image
# pairing), cross-architecture comparisons, and their tables and figures.
#
# One job per compared pair of models, whatever the pair is: two seeds of one architecture,
# a model and an untrained network, or models of two architectures.  Outputs:
#   results/similarity/{arch_a}/{model_a}/{arch_b}/{model_b}.csv   (long format, one row a number)
# The untrained networks' activations come from the dump rule (activations.smk).


rule untrained:
    """An untrained network: the initial weights that init seed {seed} gives (a null model)."""
    output:
        f"{R}/models/{{arch}}/untrained-i{{seed}}/model.ckpt",
    log:
        f"{R}/logs/untrained/{{arch}}/untrained-i{{seed}}.log",
    wildcard_constraints:
        seed=r"\d+",
    params:
        spec=spec("untrained"),
    conda:
        TRAIN_ENV
    threads: job_threads("figure")
    resources:
        **job_resources("figure"),
    shell:
        "convergent untrained --spec {params.spec:q} --out {output} > {log} 2>&1"


rule similarity:
    """All similarity measures of one pair of models, per layer (CIs, shuffled null) and
    layer x layer."""
    input:
        a=f"{R}/activations/{{arch_a}}/{{model_a}}.h5",
        b=f"{R}/activations/{{arch_b}}/{{model_b}}.h5",
    output:
        f"{R}/similarity/{{arch_a}}/{{model_a}}/{{arch_b}}/{{model_b}}.csv",
    log:
        f"{R}/logs/similarity/{{arch_a}}/{{model_a}}/{{arch_b}}/{{model_b}}.log",
    wildcard_constraints:
        arch_a="|".join(ARCHS),
        arch_b="|".join(ARCHS),
        model_a=TRAINED_MODEL,
        model_b=f"{TRAINED_MODEL}|{UNTRAINED_MODEL}",
    params:
        spec=spec("similarity"),
    conda:
        ANALYSIS_ENV
    threads: job_threads("analysis")
    resources:
        **job_resources("analysis"),
    shell:
        "convergent similarity --spec {params.spec:q} --a {input.a} --b {input.b} --out {output}"
        " > {log} 2>&1"


rule similarity_tables:
    """Per-pair rows, per-layer summaries with nulls, and the layer-identification table."""
    input:
        similarity_files(),
    output:
        per_pair=f"{R}/tables/similarity_per_pair.csv",
        summary=f"{R}/tables/similarity_summary.csv",
        ident=f"{R}/tables/layer_identification.csv",
    log:
        f"{R}/logs/similarity_tables.log",
    conda:
        ANALYSIS_ENV
    threads: job_threads("figure")
    resources:
        **job_resources("figure"),
    shell:
        "convergent similarity-tables --inputs {input} --per-pair {output.per_pair}"
        " --summary {output.summary} --layer-identification {output.ident} > {log} 2>&1"


for _name in SIM_FIGURES:

    rule:
        """One figure of the similarity family (by layer, heatmaps, layer identification,
        sources of divergence, architectures), from the similarity tables."""
        name:
            f"figure_similarity_{_name}"
        input:
            per_pair=f"{R}/tables/similarity_per_pair.csv",
            ident=f"{R}/tables/layer_identification.csv",
        output:
            **figure_outputs(f"similarity_{_name}"),
        log:
            f"{R}/logs/figure_similarity_{_name}.log",
        params:
            figure=f"similarity-{_name.replace('_', '-')}",
        conda:
            ANALYSIS_ENV
        threads: job_threads("figure")
        resources:
            **job_resources("figure"),
        shell:
            "convergent figure {params.figure} --per-pair {input.per_pair}"
            " --layer-identification {input.ident} --out {output.pdf} > {log} 2>&1"
