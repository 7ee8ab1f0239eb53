rule train:
    """Train one model; a rerun after a kill resumes from its last epoch checkpoint."""
    output:
        ckpt=f"{R}/models/{{arch}}/{{model}}/model.ckpt",
        metrics=f"{R}/models/{{arch}}/{{model}}/metrics.csv",
        summary=f"{R}/models/{{arch}}/{{model}}/summary.json",
    log:
        f"{R}/logs/train/{{arch}}/{{model}}.log",
    wildcard_constraints:
        model=SEED_MODEL,
    params:
        spec=spec("train"),
        outdir=lambda w: f"{R}/models/{w.arch}/{w.model}",
    conda:
        TRAIN_ENV
    threads: job_threads("train")
    resources:
        **job_resources("train"),
    shell:
        "convergent train --spec {params.spec:q} --outdir {params.outdir}"
        " > {log} 2>&1"


rule import_checkpoint:
    """A network trained elsewhere (a checkpoint entry of models): its weights, read from the
    user's file (never written), as a checkpoint of the study; the train rule is skipped for it."""
    input:
        lambda w: model_of(w).checkpoint,
    output:
        f"{R}/models/{{arch}}/{{model}}/model.ckpt",
    log:
        f"{R}/logs/import_checkpoint/{{arch}}/{{model}}.log",
    wildcard_constraints:
        model=CHECKPOINT_MODEL,
    params:
        spec=spec("import_checkpoint"),
    conda:
        TRAIN_ENV
    threads: job_threads("figure")
    resources:
        **job_resources("figure"),
    shell:
        "convergent import-checkpoint --spec {params.spec:q} --out {output} > {log} 2>&1"


rule evaluate:
    """Test accuracy of an imported network, measured as training measures it (its row of the
    accuracy table)."""
    input:
        f"{R}/models/{{arch}}/{{model}}/model.ckpt",
    output:
        f"{R}/models/{{arch}}/{{model}}/summary.json",
    log:
        f"{R}/logs/evaluate/{{arch}}/{{model}}.log",
    wildcard_constraints:
        model=CHECKPOINT_MODEL,
    params:
        spec=spec("evaluate"),
    conda:
        TRAIN_ENV
    threads: job_threads("dump")
    resources:
        **job_resources("dump"),
    shell:
        "convergent evaluate --spec {params.spec:q} --checkpoint {input} --out {output}"
        " > {log} 2>&1"
