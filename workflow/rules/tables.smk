rule matching_tables:
    """Mean matched correlation per pair and layer (all units and live units), and per layer
    over pairs beside Li et al.'s values where they apply."""
    input:
        block_files("pairs"),
    output:
        per_pair=f"{R}/tables/matching_per_pair.csv",
        summary=f"{R}/tables/matching_summary.csv",
    log:
        f"{R}/logs/matching_tables.log",
    params:
        layers=LAYERS,
        dataset=config["dataset"]["name"],
    conda:
        ANALYSIS_ENV
    threads: job_threads("figure")
    resources:
        **job_resources("figure"),
    shell:
        "convergent matching-tables --pairs {input} --layers {params.layers}"
        " --dataset {params.dataset}"
        " --per-pair {output.per_pair} --summary {output.summary} > {log} 2>&1"


rule mean_activation_table:
    """Li et al. Fig. 4's question as a table: do one-to-one matched units agree on their mean
    activation (rank correlation; overlap of the most and least active tenth)?"""
    input:
        pairs=block_files("pairs"),
        moments=[f"{R}/moments/{m.arch}/{m.name}.h5" for m in MODELS],
    output:
        f"{R}/tables/mean_activation_agreement.csv",
    log:
        f"{R}/logs/mean_activation_table.log",
    params:
        layers=LAYERS,
    conda:
        ANALYSIS_ENV
    threads: job_threads("figure")
    resources:
        **job_resources("figure"),
    shell:
        "convergent mean-activation-table --pairs {input.pairs} --moments {input.moments}"
        " --layers {params.layers} --out {output} > {log} 2>&1"


rule accuracy_table:
    """Test accuracy of every network and the spread across seeds per architecture (models
    recorded elsewhere have none: their import logs say so)."""
    input:
        [f"{model_dir(m)}/summary.json" for m in NETWORKS],
    output:
        f"{R}/tables/accuracy.csv",
    log:
        f"{R}/logs/accuracy_table.log",
    params:
        recorded=[m.id for m in MODELS if not m.network],
    conda:
        ANALYSIS_ENV
    threads: job_threads("figure")
    resources:
        **job_resources("figure"),
    shell:
        "convergent accuracy-table --models {input} --recorded {params.recorded}"
        " --out {output} > {log} 2>&1"
