rule tables:
    """Mean matched correlation per layer over all pairs (with Li et al.'s values) and accuracies."""
    input:
        pairs=[pair_file(p, layer) for p in PAIRS for layer in LAYERS],
        models=[f"{model_dir(m)}/summary.json" for m in MODELS],
    output:
        per_pair=report(f"{R}/tables/matching_per_pair.csv", category="Tables",
                        caption="../report/matching_per_pair.rst"),
        summary=report(f"{R}/tables/matching_summary.csv", category="Tables",
                       caption="../report/matching_summary.rst"),
        accuracy=report(f"{R}/tables/accuracy.csv", category="Tables",
                        caption="../report/accuracy.rst"),
    params:
        layers=LAYERS,
    threads: res("figure", "threads")
    resources:
        mem_mb=res("figure", "mem_mb"),
        runtime=res("figure", "runtime"),
    shell:
        "convergent tables --pairs {input.pairs} --models {input.models} --layers {params.layers}"
        " --per-pair {output.per_pair} --summary {output.summary} --accuracy {output.accuracy}"
