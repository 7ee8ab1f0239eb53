rule figure_correlation_matrices:
    """Li et al. Fig. 1: the example pair's correlation matrices of one layer (within A, within B,
    between before and after one-to-one matching)."""
    input:
        pair=lambda w: pair_file(EXAMPLE, w.layer),
        moments_a=f"{R}/moments/{EXAMPLE.arch}/{EXAMPLE.a.name}.h5",
        moments_b=f"{R}/moments/{EXAMPLE.arch}/{EXAMPLE.b.name}.h5",
    output:
        **figure_outputs("correlation_matrices_{layer}"),
    log:
        f"{R}/logs/figure_correlation_matrices/{{layer}}.log",
    params:
        dead=config["analysis"]["dead_unit_std"],
        partner=EXAMPLE.a.name,
    conda:
        ANALYSIS_ENV
    threads: job_threads("figure")
    resources:
        **job_resources("figure"),
    shell:
        "convergent figure correlation-matrices --pair {input.pair} --moments-a {input.moments_a}"
        " --moments-b {input.moments_b} --dead-std {params.dead} --partner {params.partner}"
        " --out {output.pdf} > {log} 2>&1"


rule figure_matched_sorted:
    """Li et al. Fig. 3: each unit's matched correlation, sorted, per layer: semi-matching vs
    one-to-one."""
    input:
        block_files("pairs"),
    output:
        **figure_outputs("matched_correlation_sorted"),
    log:
        f"{R}/logs/figure_matched_sorted.log",
    params:
        example=f"{EXAMPLE.a.id} {EXAMPLE.b.id}",
    conda:
        ANALYSIS_ENV
    threads: job_threads("figure")
    resources:
        **job_resources("figure"),
    shell:
        "convergent figure matched-sorted --pairs {input} --example {params.example}"
        " --out {output.pdf} > {log} 2>&1"


rule figure_convergence:
    """Mean matched correlation per layer over the pairs (and each pair), beside its floors
    (from the similarity analyses: against an untrained network, shuffled images) and Li et
    al.'s values."""
    input:
        per_pair=f"{R}/tables/matching_per_pair.csv",
        summary=f"{R}/tables/matching_summary.csv",
        similarity=[f"{R}/tables/similarity_summary.csv"] if SIM["enabled"] else [],
    output:
        **figure_outputs("convergence_by_layer"),
    log:
        f"{R}/logs/figure_convergence.log",
    params:
        similarity=lambda w, input: (
            f"--similarity-summary {input.similarity}" if input.similarity else ""
        ),
    conda:
        ANALYSIS_ENV
    threads: job_threads("figure")
    resources:
        **job_resources("figure"),
    shell:
        "convergent figure convergence --per-pair {input.per_pair} --summary {input.summary}"
        " {params.similarity} --out {output.pdf} > {log} 2>&1"


rule figure_training:
    """Training loss and test accuracy per epoch of every model, final accuracies and spread."""
    input:
        metrics=[f"{model_dir(m)}/metrics.csv" for m in SEED_MODELS],
        accuracy=f"{R}/tables/accuracy.csv",
    output:
        **figure_outputs("training_curves"),
    log:
        f"{R}/logs/figure_training.log",
    params:
        models=MODEL_IDS,
    conda:
        ANALYSIS_ENV
    threads: job_threads("figure")
    resources:
        **job_resources("figure"),
    shell:
        "convergent figure training --metrics {input.metrics} --accuracy {input.accuracy}"
        " --models {params.models} --out {output.pdf} > {log} 2>&1"


# the layer of the overview's matrices: conv1 (Li et al. Fig. 1) when compared, else the first
OVERVIEW_LAYER = "conv1" if "conv1" in LAYERS else LAYERS[0]


rule figure_study_overview:
    """One page for talks: accuracies (each model in its colour), matched correlation by depth,
    the example pair's conv1 between-net matrix before and after one-to-one matching, and one
    headline similarity measure per family by depth with its CIs."""
    input:
        accuracy=f"{R}/tables/accuracy.csv",
        matching=f"{R}/tables/matching_summary.csv",
        pair=pair_file(EXAMPLE, OVERVIEW_LAYER),
        similarity=[f"{R}/tables/similarity_summary.csv"] if SIM["enabled"] else [],
    output:
        **figure_outputs("study_overview"),
    log:
        f"{R}/logs/figure_study_overview.log",
    params:
        similarity=lambda w, input: (
            f"--similarity-summary {input.similarity}" if input.similarity else ""
        ),
        ci=SIM["ci"],
        partner=EXAMPLE.a.name,
        models=MODEL_IDS,
    conda:
        ANALYSIS_ENV
    threads: job_threads("figure")
    resources:
        **job_resources("figure"),
    shell:
        "convergent figure study-overview --accuracy {input.accuracy}"
        " --matching-summary {input.matching} --pair {input.pair} --partner {params.partner}"
        " --models {params.models}"
        " {params.similarity}"
        " --ci {params.ci} --out {output.pdf} > {log} 2>&1"
