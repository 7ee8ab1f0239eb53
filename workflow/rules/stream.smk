# probe.stream: true (ImageNet scale, config/paper.yaml): the moments and pair files are computed
# from the networks' forward pass instead of from activation dumps, by the two rules below; every
# rule downstream (tables, figures) reads the same files as in the dump-based path.
#   stream_moments: one model, one pass over the probe -> results/moments/{arch}/{model}.h5
#   stream_compare: a block's pairs, each pair's two networks on the same batches ->
#                   results/pairs/{arch}/{model}/{layer}.h5 for every layer at once (cross terms
#                   need both nets' activations of a batch)

if STREAM:

    ruleorder: stream_moments > moments
    ruleorder: stream_compare > compare

    rule stream_moments:
        """Per-block float64 moments of one model's layers, streamed from its forward pass."""
        input:
            ckpt=f"{R}/models/{{arch}}/{{model}}/model.ckpt",
        output:
            f"{R}/moments/{{arch}}/{{model}}.h5",
        log:
            f"{R}/logs/stream_moments/{{arch}}/{{model}}.log",
        params:
            spec=spec("stream_moments"),
        conda:
            TRAIN_ENV
        threads: job_threads("stream")
        resources:
            **job_resources("stream"),
        shell:
            "convergent stream-moments --spec {params.spec:q} --checkpoint {input.ckpt}"
            " --out {output} --threads {threads} > {log} 2>&1"

    rule stream_compare:
        """All layers' pair files of the block of model {model}: for each partner, both networks
        run on each probe batch."""
        input:
            a=partner_files("ckpt"),
            b=MODEL_FILE["ckpt"],
            moments_a=partner_files("moments"),
            moments_b=MODEL_FILE["moments"],
        output:
            [f"{R}/pairs/{{arch}}/{{model}}/{layer}.h5" for layer in LAYERS],
        log:
            f"{R}/logs/stream_compare/{{arch}}/{{model}}.log",
        params:
            spec=spec("stream_compare"),
            outdir=lambda w: f"{R}/pairs/{w.arch}/{w.model}",
        conda:
            TRAIN_ENV
        threads: job_threads("stream")
        resources:
            **job_resources("stream"),
        shell:
            "convergent stream-compare --spec {params.spec:q} --checkpoint-a {input.a}"
            " --checkpoint-b {input.b} --moments-a {input.moments_a}"
            " --moments-b {input.moments_b} --out-dir {params.outdir} --threads {threads}"
            " > {log} 2>&1"
