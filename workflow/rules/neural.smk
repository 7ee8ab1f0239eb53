# Neural predictivity across seeds (docs/neural.md): every model's layers mapped linearly to the
# responses of recorded sites (neural.path), or of planted pseudo-neural data (neural.path:
# demo); per area the best layer of each seed, how often the seeds agree, and how consistent
# their per-site predictions are.  Outputs:
#   results/neural/demo.h5                    planted data (demo only)
#   results/neural/{arch}/{model}.h5          one model's predictivity, per layer and site
#   results/tables/neural_*.csv, results/figures/neural_predictivity.{pdf,png}
# The demo's held-out network is trained and dumped by the train and dump rules.


rule neural_demo_data:
    """Pseudo-neural data with a known answer: each area a noisy linear read-out of one layer
    of the held-out network (neural.demo), on every probe image."""
    input:
        lambda w: f"{R}/activations/{NEURAL_HELD_OUT.arch}/{NEURAL_HELD_OUT.name}.h5",
    output:
        f"{R}/neural/demo.h5",
    log:
        f"{R}/logs/neural_demo_data.log",
    params:
        spec=spec("neural_demo_data"),
    conda:
        ANALYSIS_ENV
    threads: job_threads("analysis")
    resources:
        **job_resources("analysis"),
    shell:
        "convergent neural-demo-data --spec {params.spec:q} --activations {input}"
        " --out {output} > {log} 2>&1"


rule predictivity:
    """One model's predictivity of the neural data: per layer, cross-validated ridge (or PLS)
    from its features to every site, explained variance and the noise ceiling."""
    input:
        activations=f"{R}/activations/{{arch}}/{{model}}.h5",
        neural=NEURAL_FILE or [],
    output:
        f"{R}/neural/{{arch}}/{{model}}.h5",
    log:
        f"{R}/logs/predictivity/{{arch}}/{{model}}.log",
    params:
        spec=spec("predictivity"),
    conda:
        ANALYSIS_ENV
    threads: job_threads("analysis")
    resources:
        **job_resources("analysis"),
    shell:
        "convergent predictivity --spec {params.spec:q} --activations {input.activations}"
        " --neural {input.neural} --out {output} > {log} 2>&1"


rule neural_tables:
    """Per model, area and layer the ceiling-normalised predictivity; per area the seeds' best
    layers and their agreement; per area and layer the spread and consistency across seeds."""
    input:
        [f"{R}/neural/{m.arch}/{m.name}.h5" for m in NEURAL_SUBJECTS],
    output:
        by_layer=f"{R}/tables/neural_by_layer.csv",
        best=f"{R}/tables/neural_best_layer.csv",
        consistency=f"{R}/tables/neural_consistency.csv",
    log:
        f"{R}/logs/neural_tables.log",
    params:
        layers=LAYERS,
        held_out=f"--held-out {NEURAL_HELD_OUT.id}" if NEURAL_HELD_OUT else "",
    conda:
        ANALYSIS_ENV
    threads: job_threads("figure")
    resources:
        **job_resources("figure"),
    shell:
        "convergent neural-tables --inputs {input} --layers {params.layers} {params.held_out}"
        " --by-layer {output.by_layer} --best-layer {output.best}"
        " --consistency {output.consistency} > {log} 2>&1"


rule figure_neural:
    """Per area: predictivity by layer, one line per seed with the range over seeds and each
    seed's best layer; below, the between-seed consistency of per-site predictions."""
    input:
        by_layer=f"{R}/tables/neural_by_layer.csv",
        consistency=f"{R}/tables/neural_consistency.csv",
    output:
        **figure_outputs("neural_predictivity"),
    log:
        f"{R}/logs/figure_neural.log",
    params:
        models=MODEL_IDS,
    conda:
        ANALYSIS_ENV
    threads: job_threads("figure")
    resources:
        **job_resources("figure"),
    shell:
        "convergent figure neural-predictivity --by-layer {input.by_layer}"
        " --consistency {input.consistency} --models {params.models}"
        " --out {output.pdf} > {log} 2>&1"
