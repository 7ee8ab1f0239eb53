# Representational similarity (docs/similarity.md): every measure per pair and layer with
# bootstrap CIs, the layer x layer matrices, null baselines (untrained networks, shuffled image
# pairing), cross-architecture comparisons, and their tables and figures.
#
# One job per compared pair of models, whatever the pair is: two seeds of one architecture,
# a model and an untrained network, or models of two architectures.  Outputs:
#   results/similarity/{arch_a}/{model_a}/{arch_b}/{model_b}.csv   (long format, one row a number)

SIM = config["similarity"]
ARCHS = config["architectures"]
UNTRAINED = f"untrained-i{SIM['nulls']['untrained_init_seed']}"


def sim_spec(w):
    keys = ("blocks", "chunk_images", "dead_unit_std")
    models = [f"{w.arch_a}/{w.model_a}", f"{w.arch_b}/{w.model_b}"]
    return spec(models=models, layers=LAYERS, analysis={k: config["analysis"][k] for k in keys},
                similarity=SIM)


def sim_file(arch_a, model_a, arch_b, model_b):
    return f"{R}/similarity/{arch_a}/{model_a}/{arch_b}/{model_b}.csv"


def similarity_files():
    """Within-architecture pairs, model vs untrained network, and cross-architecture pairs
    (model k of one architecture vs model j > k of another, as for within pairs)."""
    files = [sim_file(p.arch, p.a.name, p.arch, p.b.name) for p in PAIRS]
    if SIM["nulls"]["untrained"]:
        files += [sim_file(m.arch, m.name, m.arch, UNTRAINED) for m in MODELS]
    if SIM["cross_architecture"]:
        by_arch = {arch: [m for m in MODELS if m.arch == arch] for arch in ARCHS}
        for i, arch_a in enumerate(ARCHS):
            for arch_b in ARCHS[i + 1:]:
                for k, a in enumerate(by_arch[arch_a]):
                    for b in by_arch[arch_b][k + 1:]:
                        files.append(sim_file(arch_a, a.name, arch_b, b.name))
    return files


rule untrained:
    """An untrained network: the initial weights that init seed {seed} gives (a null model)."""
    output:
        f"{R}/models/{{arch}}/untrained-i{{seed}}/model.ckpt",
    wildcard_constraints:
        seed=r"\d+",
    params:
        spec=lambda w: spec(arch=w.arch, init_seed=int(w.seed), dataset=config["dataset"]),
    threads: job_threads("figure")
    resources:
        **job_resources("figure"),
    shell:
        "convergent untrained --spec {params.spec:q} --out {output}"


rule dump_untrained:
    """Probe an untrained network exactly like a trained one (the dump machinery)."""
    input:
        ckpt=f"{R}/models/{{arch}}/untrained-i{{seed}}/model.ckpt",
    output:
        f"{R}/activations/{{arch}}/untrained-i{{seed}}.h5",
    wildcard_constraints:
        seed=r"\d+",
    params:
        spec=lambda w: spec(arch=w.arch, model=f"{w.arch}/untrained-i{w.seed}", replicate=0,
                            dataset=config["dataset"], probe=config["probe"], layers=LAYERS),
    threads: job_threads("dump")
    resources:
        **job_resources("dump"),
    shell:
        "convergent dump --spec {params.spec:q} --checkpoint {input.ckpt} --out {output}"
        " --threads {threads}"


rule similarity:
    """All similarity measures of one pair of models, per layer (CIs, shuffled null) and
    layer x layer."""
    input:
        a=f"{R}/activations/{{arch_a}}/{{model_a}}.h5",
        b=f"{R}/activations/{{arch_b}}/{{model_b}}.h5",
    output:
        f"{R}/similarity/{{arch_a}}/{{model_a}}/{{arch_b}}/{{model_b}}.csv",
    wildcard_constraints:
        arch_a="|".join(ARCHS),
        arch_b="|".join(ARCHS),
        model_a=r"i\d+-d\d+(-r\d+)?",
        model_b=r"i\d+-d\d+(-r\d+)?|untrained-i\d+",
    params:
        spec=sim_spec,
    threads: job_threads("analysis")
    resources:
        **job_resources("analysis"),
    shell:
        "convergent similarity --spec {params.spec:q} --a {input.a} --b {input.b} --out {output}"


rule similarity_tables:
    """Per-pair rows, per-layer summaries with nulls, and the layer-identification table."""
    input:
        similarity_files(),
    output:
        per_pair=f"{R}/tables/similarity_per_pair.csv",
        summary=report(f"{R}/tables/similarity_summary.csv", category="Tables",
                       caption="../report/similarity_summary.rst"),
        ident=report(f"{R}/tables/layer_identification.csv", category="Tables",
                     caption="../report/layer_identification.rst"),
    threads: job_threads("figure")
    resources:
        **job_resources("figure"),
    shell:
        "convergent similarity-tables --inputs {input} --per-pair {output.per_pair}"
        " --summary {output.summary} --layer-identification {output.ident}"


SIM_FIGURES = ["by_layer", "heatmaps", "layer_identification", "sources", "architectures"]

for _name in SIM_FIGURES:

    rule:
        name:
            f"figure_similarity_{_name}"
        input:
            per_pair=f"{R}/tables/similarity_per_pair.csv",
            ident=f"{R}/tables/layer_identification.csv",
        output:
            **figure_outputs(f"similarity_{_name}"),
        params:
            figure=f"similarity-{_name.replace('_', '-')}",
        threads: job_threads("figure")
        resources:
            **job_resources("figure"),
        shell:
            "convergent figure {params.figure} --per-pair {input.per_pair}"
            " --layer-identification {input.ident} --out {output.pdf}"


if SIM["enabled"]:
    TABLES += ["similarity_summary", "layer_identification"]
    FIGURES += ["similarity_by_layer", "similarity_heatmaps", "similarity_layer_identification",
                "similarity_sources"]
    if len(ARCHS) > 1 and SIM["cross_architecture"]:
        FIGURES += ["similarity_architectures"]
