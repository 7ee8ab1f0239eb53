rule train:
    """Train one model; a rerun after a kill resumes from its last epoch checkpoint."""
    output:
        ckpt=f"{R}/models/{{arch}}/{{model}}/model.ckpt",
        metrics=f"{R}/models/{{arch}}/{{model}}/metrics.csv",
        summary=f"{R}/models/{{arch}}/{{model}}/summary.json",
    params:
        spec=train_spec,
        outdir=lambda w: f"{R}/models/{w.arch}/{w.model}",
    threads: res("train", "threads")
    resources:
        mem_mb=res("train", "mem_mb"),
        runtime=res("train", "runtime"),
        gpu=res("train", "gpu"),
    shell:
        "convergent train --spec {params.spec:q} --outdir {params.outdir} --threads {threads}"
