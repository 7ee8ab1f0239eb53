# The commentary's claims, tested (README "Claims"): the distances between every two networks
# of the study per layer, then the claims' effects, intervals and verdicts from the similarity
# table, with the permutation tests of how the networks group, and their figures.
#   results/networks/{layer}.csv        every two networks' distances at one layer
#   results/tables/claims.csv           claim | measure | effect | interval | verdict | floors
#   results/tables/network_grouping.csv do networks group by condition / architecture?
from convergent import models

CLAIMS = config["claims"]


rule network_distances:
    """Angular shape metric and 1 - linear CKA between every two networks at one layer (on the
    similarity subsample's per-image features)."""
    input:
        [f"{R}/activations/{m.id}.h5" for m in MODELS],
    output:
        f"{R}/networks/{{layer}}.csv",
    log:
        f"{R}/logs/network_distances/{{layer}}.log",
    params:
        spec=spec("network_distances"),
    conda:
        ANALYSIS_ENV
    threads: job_threads("analysis")
    resources:
        **job_resources("analysis"),
    shell:
        "convergent network-distances --spec {params.spec:q} --inputs {input}"
        " --layer {wildcards.layer} --out {output} > {log} 2>&1"


rule study_claims:
    """Each claim's effect with its interval over networks, its test and verdict (raw and
    Holm-adjusted) beside its floors, and the grouping tests of the network distances."""
    input:
        similarity=f"{R}/tables/similarity_per_pair.csv",
        accuracy=f"{R}/tables/accuracy.csv",
        distances=[f"{R}/networks/{layer}.csv" for layer in LAYERS],
    output:
        csv=f"{R}/tables/claims.csv",
        grouping=f"{R}/tables/network_grouping.csv",
    log:
        f"{R}/logs/study_claims.log",
    params:
        layers=LAYERS,
        depths=json.dumps({a: {layer: models.relative_depth(a, layer) for layer in LAYERS}
                           for a in ARCHS}),
        measures=CLAIMS["measures"],
        margin=CLAIMS["margin"],
        variation=json.dumps(CLAIMS["variation"]),
        permutations=CLAIMS["permutations"],
        seed=CLAIMS["seed"],
        level=SIM["ci"],
    conda:
        ANALYSIS_ENV
    threads: job_threads("figure")
    resources:
        **job_resources("figure"),
    shell:
        "convergent claims --similarity {input.similarity} --accuracy {input.accuracy}"
        " --distances {input.distances}"
        " --layers {params.layers} --depths {params.depths:q} --measures {params.measures}"
        " --margin {params.margin} --variation {params.variation:q}"
        " --permutations {params.permutations} --seed {params.seed} --level {params.level}"
        " --csv {output.csv} --grouping {output.grouping} > {log} 2>&1"


rule figure_claims:
    """One panel per claim: each effect with its interval, coloured by its verdict."""
    input:
        f"{R}/tables/claims.csv",
    output:
        **figure_outputs("claims"),
    log:
        f"{R}/logs/figure_claims.log",
    params:
        margin=CLAIMS["margin"],
    conda:
        ANALYSIS_ENV
    threads: job_threads("figure")
    resources:
        **job_resources("figure"),
    shell:
        "convergent figure claims --claims {input} --margin {params.margin} --out {output.pdf}"
        " > {log} 2>&1"


rule figure_network_embedding:
    """Every network at each layer placed by its distances to the others (classical MDS)."""
    input:
        [f"{R}/networks/{layer}.csv" for layer in LAYERS],
    output:
        **figure_outputs("network_embedding"),
    log:
        f"{R}/logs/figure_network_embedding.log",
    params:
        layers=LAYERS,
    conda:
        ANALYSIS_ENV
    threads: job_threads("figure")
    resources:
        **job_resources("figure"),
    shell:
        "convergent figure network-embedding --distances {input} --layers {params.layers}"
        " --out {output.pdf} > {log} 2>&1"
