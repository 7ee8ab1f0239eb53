rule compare:
    """Between-net correlations, semi-matching and one-to-one matching of one layer of one pair."""
    input:
        acts=pair_models,
        moments=pair_moments,
    output:
        f"{R}/pairs/{{arch}}/{{pair}}/{{layer}}.h5",
    params:
        spec=compare_spec,
    threads: res("analysis", "threads")
    resources:
        mem_mb=res("analysis", "mem_mb"),
        runtime=res("analysis", "runtime"),
    shell:
        "convergent compare --spec {params.spec:q} --a {input.acts[0]} --b {input.acts[1]}"
        " --moments-a {input.moments[0]} --moments-b {input.moments[1]}"
        " --layer {wildcards.layer} --out {output}"
