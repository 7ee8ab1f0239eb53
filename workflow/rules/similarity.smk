# Representational similarity (docs/similarity.md): every measure per pair and layer with
# bootstrap CIs, the layer x layer matrices, null baselines (untrained networks, shuffled image
# pairing), cross-architecture comparisons, and their tables and figures.
#
# One job per model, holding every pair whose later member that model is (SIM_BLOCKS in
# common.smk): its within-architecture pairs with earlier models, its pair with the untrained
# network, its cross-architecture pairs as their second model.  A model in no such pair gets no
# job; an added seed adds its own job only.  Output:
#   results/similarity/{arch}/{model}.csv   (long format, one row a number, every pair's rows)
# A job reads each model's file once; under the positions convention the within-net sums come
# from the per-model moments files (rule moments, the untrained network's too), so a pair
# streams its cross sums only.  The untrained networks' activations come from the dump rule
# (activations.smk).


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
    """All similarity measures of the pairs whose later model is {arch}/{model}, per layer (CIs,
    shuffled null) and layer x layer."""
    input:
        a=sim_inputs("activations", 0),
        b=sim_inputs("activations", 1),
        moments_a=sim_inputs("moments", 0),
        moments_b=sim_inputs("moments", 1),
    output:
        f"{R}/similarity/{{arch}}/{{model}}.csv",
    log:
        f"{R}/logs/similarity/{{arch}}/{{model}}.log",
    params:
        spec=spec("similarity"),
        moments=lambda w, input: (
            f" --moments-a {' '.join(input.moments_a)} --moments-b {' '.join(input.moments_b)}"
            if input.moments_a else ""
        ),
    conda:
        ANALYSIS_ENV
    threads: job_threads("analysis")
    resources:
        **block_resources("analysis", sim_block),
    shell:
        "convergent similarity --spec {params.spec:q} --a {input.a} --b {input.b}{params.moments}"
        " --out {output} > {log} 2>&1"


rule similarity_tables:
    """Per-pair rows (with each undefined measure's reason and the units' dead fractions),
    per-layer summaries with nulls, and the layer-identification table with its chance
    level."""
    input:
        similarity_files(),
    output:
        per_pair=f"{R}/tables/similarity_per_pair.csv",
        summary=f"{R}/tables/similarity_summary.csv",
        ident=f"{R}/tables/layer_identification.csv",
    log:
        f"{R}/logs/similarity_tables.log",
    params:
        dataset=config["dataset"]["name"],
    conda:
        ANALYSIS_ENV
    threads: job_threads("figure")
    resources:
        **job_resources("figure"),
    shell:
        "convergent similarity-tables --inputs {input} --per-pair {output.per_pair}"
        " --summary {output.summary} --layer-identification {output.ident}"
        " --dataset {params.dataset} > {log} 2>&1"


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
