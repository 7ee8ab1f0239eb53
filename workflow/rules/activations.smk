rule dump:
    """Probe one trained model and store every configured layer in one HDF5 file."""
    input:
        ckpt=f"{R}/models/{{arch}}/{{model}}/model.ckpt",
    output:
        f"{R}/activations/{{arch}}/{{model}}.h5",
    params:
        spec=dump_spec,
    threads: res("dump", "threads")
    resources:
        mem_mb=res("dump", "mem_mb"),
        runtime=res("dump", "runtime"),
        gpu=res("dump", "gpu"),
    shell:
        "convergent dump --spec {params.spec:q} --checkpoint {input.ckpt} --out {output}"
        " --threads {threads}"


rule moments:
    """Per-block float64 moments of one model's layers: computed once per model, never per pair."""
    input:
        f"{R}/activations/{{arch}}/{{model}}.h5",
    output:
        f"{R}/moments/{{arch}}/{{model}}.h5",
    params:
        spec=moments_spec,
    threads: res("analysis", "threads")
    resources:
        mem_mb=res("analysis", "mem_mb"),
        runtime=res("analysis", "runtime"),
    shell:
        "convergent moments --spec {params.spec:q} --activations {input} --out {output}"
