rule figure_correlation_matrices:
    input:
        pair=lambda w: pair_file(EXAMPLE, w.layer),
        moments_a=f"{R}/moments/{EXAMPLE.arch}/{EXAMPLE.a.name}.h5",
        moments_b=f"{R}/moments/{EXAMPLE.arch}/{EXAMPLE.b.name}.h5",
    output:
        **figure_outputs("correlation_matrices_{layer}", "correlation_matrices"),
    params:
        dead=config["analysis"]["dead_unit_std"],
    threads: job_threads("figure")
    resources:
        **job_resources("figure"),
    shell:
        "convergent figure correlation-matrices --pair {input.pair} --moments-a {input.moments_a}"
        " --moments-b {input.moments_b} --dead-std {params.dead} --out {output.pdf}"


rule figure_matched_sorted:
    input:
        [pair_file(p, layer) for p in PAIRS for layer in LAYERS],
    output:
        **figure_outputs("matched_correlation_sorted"),
    params:
        example=f"{EXAMPLE.a.id} {EXAMPLE.b.id}",
    threads: job_threads("figure")
    resources:
        **job_resources("figure"),
    shell:
        "convergent figure matched-sorted --pairs {input} --example {params.example}"
        " --out {output.pdf}"


rule figure_convergence:
    input:
        per_pair=f"{R}/tables/matching_per_pair.csv",
        summary=f"{R}/tables/matching_summary.csv",
    output:
        **figure_outputs("convergence_by_layer"),
    threads: job_threads("figure")
    resources:
        **job_resources("figure"),
    shell:
        "convergent figure convergence --per-pair {input.per_pair} --summary {input.summary}"
        " --out {output.pdf}"


rule figure_training:
    input:
        metrics=[f"{model_dir(m)}/metrics.csv" for m in MODELS],
        accuracy=f"{R}/tables/accuracy.csv",
    output:
        **figure_outputs("training_curves"),
    threads: job_threads("figure")
    resources:
        **job_resources("figure"),
    shell:
        "convergent figure training --metrics {input.metrics} --accuracy {input.accuracy}"
        " --out {output.pdf}"
