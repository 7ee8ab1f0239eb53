rule dump:
    """Probe one network, trained or untrained, and store every configured layer in one HDF5
    file."""
    input:
        ckpt=f"{R}/models/{{arch}}/{{model}}/model.ckpt",
    output:
        f"{R}/activations/{{arch}}/{{model}}.h5",
    log:
        f"{R}/logs/dump/{{arch}}/{{model}}.log",
    wildcard_constraints:
        model=f"{TRAINED_MODEL}|{UNTRAINED_MODEL}",
    params:
        spec=spec("dump"),
    conda:
        TRAIN_ENV
    threads: job_threads("dump")
    resources:
        **job_resources("dump"),
    shell:
        "convergent dump --spec {params.spec:q} --checkpoint {input.ckpt} --out {output}"
        " > {log} 2>&1"


rule import_activations:
    """Activations recorded elsewhere (an activations entry of models): the user's file, read
    (never written), checked against the probe set and stored as the model's activation dump."""
    input:
        lambda w: model_of(w).activations,
    output:
        f"{R}/activations/{{arch}}/{{model}}.h5",
    log:
        f"{R}/logs/import_activations/{{arch}}/{{model}}.log",
    wildcard_constraints:
        model=RECORDED_MODEL,
    params:
        spec=spec("import_activations"),
    conda:
        TRAIN_ENV
    threads: job_threads("analysis")
    resources:
        **job_resources("analysis"),
    shell:
        "convergent import-activations --spec {params.spec:q} --activations {input}"
        " --out {output} > {log} 2>&1"


rule moments:
    """Per-block float64 moments of one model's layers: computed once per model, never per pair
    (the untrained network's too: the similarity jobs' within sums)."""
    input:
        f"{R}/activations/{{arch}}/{{model}}.h5",
    output:
        f"{R}/moments/{{arch}}/{{model}}.h5",
    log:
        f"{R}/logs/moments/{{arch}}/{{model}}.log",
    wildcard_constraints:
        model=f"{STUDY_MODEL}|{UNTRAINED_MODEL}",
    params:
        spec=spec("moments"),
    conda:
        ANALYSIS_ENV
    threads: job_threads("analysis")
    resources:
        **job_resources("analysis"),
    shell:
        "convergent moments --spec {params.spec:q} --activations {input} --out {output}"
        " > {log} 2>&1"
