rule train:
    """Train one model; a rerun after a kill resumes from its last epoch checkpoint."""
    output:
        ckpt=f"{R}/models/{{arch}}/{{model}}/model.ckpt",
        metrics=f"{R}/models/{{arch}}/{{model}}/metrics.csv",
        summary=f"{R}/models/{{arch}}/{{model}}/summary.json",
    log:
        f"{R}/logs/train/{{arch}}/{{model}}.log",
    params:
        spec=spec("train"),
        outdir=lambda w: f"{R}/models/{w.arch}/{w.model}",
    conda:
        TRAIN_ENV
    threads: job_threads("train")
    resources:
        **job_resources("train"),
    shell:
        "convergent train --spec {params.spec:q} --outdir {params.outdir} --threads {threads}"
        " > {log} 2>&1"
