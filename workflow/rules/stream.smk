# probe.stream: true (ImageNet scale, config/paper.yaml): the moments and pair files are computed
# from the networks' forward pass instead of from activation dumps, by the two rules below; every
# rule downstream (tables, figures) reads the same files as in the dump-based path.
#   stream_moments: one model, one pass over the probe -> results/moments/{arch}/{model}.h5
#   stream_compare: a block's pairs, each pair's two networks on the same batches ->
#                   results/pairs/{arch}/{model}/{layer}.h5 for every layer at once (cross terms
#                   need both nets' activations of a batch)
#   stream_similarity: the similarity pairs whose later model is one model, each pair's two
#                   networks over the probe (pass 1: every layer's cross sums and the subsample's
#                   features; pass 2, the shuffled null: B on the probe in the shuffled order) ->
#                   results/similarity/{arch}/{model}.csv; the within sums come from the
#                   moments files (positions; the untrained network's too) or from the pass

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
        wildcard_constraints:
            # the untrained network's too: the similarity jobs' within sums
            model=f"{TRAINED_MODEL}|{UNTRAINED_MODEL}",
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

    ruleorder: stream_similarity > similarity

    rule stream_similarity:
        """All similarity measures of the pairs whose later model is {arch}/{model}, from the
        networks' forward pass: per pair, both networks over the probe for the cross sums and
        the subsample's features, then B in the shuffled order for the null."""
        input:
            a=sim_stream_inputs("ckpt", 0),
            b=sim_stream_inputs("ckpt", 1),
            moments_a=sim_stream_inputs("moments", 0),
            moments_b=sim_stream_inputs("moments", 1),
        output:
            f"{R}/similarity/{{arch}}/{{model}}.csv",
        log:
            f"{R}/logs/stream_similarity/{{arch}}/{{model}}.log",
        params:
            spec=spec("stream_similarity"),
            moments=lambda w, input: (
                f" --moments-a {' '.join(input.moments_a)} --moments-b {' '.join(input.moments_b)}"
                if input.moments_a else ""
            ),
        conda:
            TRAIN_ENV
        threads: job_threads("stream")
        resources:
            **job_resources("stream"),
        shell:
            "convergent stream-similarity --spec {params.spec:q} --checkpoint-a {input.a}"
            " --checkpoint-b {input.b}{params.moments} --out {output} --threads {threads}"
            " > {log} 2>&1"
