rule compare:
    """Between-net correlations, semi-matching and one-to-one matching of one layer of one pair."""
    input:
        acts=pair_models,
        moments=pair_moments,
    output:
        f"{R}/pairs/{{arch}}/{{pair}}/{{layer}}.h5",
    log:
        f"{R}/logs/compare/{{arch}}/{{pair}}/{{layer}}.log",
    params:
        spec=spec("compare"),
    conda:
        ANALYSIS_ENV
    threads: job_threads("analysis")
    resources:
        **job_resources("analysis"),
    shell:
        "convergent compare --spec {params.spec:q} --a {input.acts[0]} --b {input.acts[1]}"
        " --moments-a {input.moments[0]} --moments-b {input.moments[1]}"
        " --layer {wildcards.layer} --out {output} > {log} 2>&1"
