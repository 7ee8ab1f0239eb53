# probe.stream: true (ImageNet scale, config/paper.yaml): every file that the dump-based path
# computes from activation dumps is computed from the networks' forward pass instead, by the rules
# below (ruleorder over the dump-based ones); every rule downstream (tables, figures, sparse
# prediction and clustering, which read the moments and pair files) reads the same files.
#   stream_moments:    one model, one pass over the probe -> results/moments/{arch}/{model}.h5
#   stream_top_units:  one model, one pass -> results/units/{arch}/{model}.h5
#   stream_compare:    a block's pairs, each pair's two networks on the same batches ->
#                      results/pairs/{arch}/{model}/{layer}.h5 for every layer at once (cross
#                      terms need both nets' activations of a batch)
#   stream_mutual_information: a block's pairs, two passes of each pair's two networks (bin
#                      edges, then joint histograms), every layer at once ->
#                      results/mi/{arch}/{model}/{layer}.h5; the quantile subsample of every
#                      layer is held at once (up to analysis.mi_quantile_samples rows x both nets'
#                      units x 8 bytes per layer: ~29 GB for CaffeNet's 7 layers at 1e6 rows)
#   stream_similarity: the similarity pairs whose later model is one model, each pair's two
#                      networks over the probe (pass 1: every layer's cross sums and the
#                      subsample's features; pass 2, the shuffled null: B on the probe in the
#                      shuffled order) -> results/similarity/{arch}/{model}.csv; the within sums
#                      come from the moments files (positions; the untrained network's too) or
#                      from the pass
# Not streamed: the claims' network distances (network_distances reads the dumps), so at paper
# scale keep claims.enabled: false or provide dumps.

if STREAM:

    ruleorder: stream_moments > moments
    ruleorder: stream_compare > compare
    ruleorder: stream_top_units > top_units
    ruleorder: stream_mutual_information > mutual_information
    ruleorder: stream_similarity > similarity

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
            " --out {output} > {log} 2>&1"

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
            **block_resources("stream", partners),
        shell:
            "convergent stream-compare --spec {params.spec:q} --checkpoint-a {input.a}"
            " --checkpoint-b {input.b} --moments-a {input.moments_a}"
            " --moments-b {input.moments_b} --out-dir {params.outdir}"
            " > {log} 2>&1"

    rule stream_top_units:
        """Each unit's top-activating probe images and positions, from one pass of the model."""
        input:
            ckpt=MODEL_FILE["ckpt"],
        output:
            f"{R}/units/{{arch}}/{{model}}.h5",
        log:
            f"{R}/logs/stream_top_units/{{arch}}/{{model}}.log",
        params:
            spec=spec("stream_top_units"),
        conda:
            TRAIN_ENV
        threads: job_threads("stream")
        resources:
            **job_resources("stream"),
        shell:
            "convergent stream-top-units --spec {params.spec:q} --checkpoint {input.ckpt}"
            " --out {output} > {log} 2>&1"

    rule stream_mutual_information:
        """MI matching of all layers of the block of model {model}: for each partner, both
        networks on the same batches, one pass for every layer's bin edges, one for the joint
        histograms."""
        input:
            a=partner_files("ckpt"),
            b=MODEL_FILE["ckpt"],
            pairs=[f"{R}/pairs/{{arch}}/{{model}}/{layer}.h5" for layer in LAYERS],
        output:
            [f"{R}/mi/{{arch}}/{{model}}/{layer}.h5" for layer in LAYERS],
        log:
            f"{R}/logs/stream_mutual_information/{{arch}}/{{model}}.log",
        params:
            spec=spec("stream_mutual_information"),
            outdir=lambda w: f"{R}/mi/{w.arch}/{w.model}",
        conda:
            TRAIN_ENV
        threads: job_threads("stream")
        resources:
            **block_resources("stream", partners),
        shell:
            "convergent stream-mutual-information --spec {params.spec:q}"
            " --checkpoint-a {input.a} --checkpoint-b {input.b} --pairs {input.pairs}"
            " --out-dir {params.outdir} > {log} 2>&1"

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
            **block_resources("stream", sim_block),
        shell:
            "convergent stream-similarity --spec {params.spec:q} --checkpoint-a {input.a}"
            " --checkpoint-b {input.b}{params.moments} --out {output}"
            " > {log} 2>&1"
