rule matching_tables:
    """Mean matched correlation per pair and layer, and per layer over pairs beside Li et al.'s
    values."""
    input:
        [pair_file(p, layer) for p in PAIRS for layer in LAYERS],
    output:
        per_pair=report(f"{R}/tables/matching_per_pair.csv", category="Tables",
                        caption="../report/matching_per_pair.rst"),
        summary=report(f"{R}/tables/matching_summary.csv", category="Tables",
                       caption="../report/matching_summary.rst"),
    log:
        f"{R}/logs/matching_tables.log",
    params:
        layers=LAYERS,
    conda:
        ANALYSIS_ENV
    threads: job_threads("figure")
    resources:
        **job_resources("figure"),
    shell:
        "convergent matching-tables --pairs {input} --layers {params.layers}"
        " --per-pair {output.per_pair} --summary {output.summary} > {log} 2>&1"


rule accuracy_table:
    """Test accuracy of every model and the spread across seeds per architecture."""
    input:
        [f"{model_dir(m)}/summary.json" for m in MODELS],
    output:
        report(f"{R}/tables/accuracy.csv", category="Tables", caption="../report/accuracy.rst"),
    log:
        f"{R}/logs/accuracy_table.log",
    conda:
        ANALYSIS_ENV
    threads: job_threads("figure")
    resources:
        **job_resources("figure"),
    shell:
        "convergent accuracy-table --models {input} --out {output} > {log} 2>&1"
