# Li et al.'s unit comparison, one job per layer and block of pairs (a model B and its partners A:
# PAIR_BLOCKS): results/pairs/{arch}/{model}/{layer}.h5 holds one member per partner.

rule compare:
    """Between-net correlations, semi-matching and one-to-one matching of one layer, for every
    pair of model {model} with its partners."""
    input:
        a=partner_files("activations"),
        b=MODEL_FILE["activations"],
        moments_a=partner_files("moments"),
        moments_b=MODEL_FILE["moments"],
    output:
        f"{R}/pairs/{{arch}}/{{model}}/{{layer}}.h5",
    log:
        f"{R}/logs/compare/{{arch}}/{{model}}/{{layer}}.log",
    params:
        spec=spec("compare"),
    conda:
        ANALYSIS_ENV
    threads: job_threads("analysis")
    resources:
        **block_resources("analysis", partners),
    shell:
        "convergent compare --spec {params.spec:q} --a {input.a} --b {input.b}"
        " --moments-a {input.moments_a} --moments-b {input.moments_b}"
        " --layer {wildcards.layer} --out {output} > {log} 2>&1"
