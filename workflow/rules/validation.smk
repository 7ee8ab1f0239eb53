# Which measure to trust on these networks (docs/validation.md): every network's layers against
# copies with their top principal components deleted and with noise added, by every measure,
# beside a linear probe's accuracy; then each measure's tests at each layer (group separation
# of the training conditions from the similarity table, monotonicity, the probe's rank
# correlation, layer identification) in one table and one figure.  Off by default: the
# validate target builds it (config/validation.yaml), validation.enabled adds it to all and
# to the findings.
#   results/validation/{arch}/{model}.csv   one network's perturbation series
#   results/tables/validation.csv           measure x layer x test: values and verdicts

SPECS["validation_perturbations"] = {
    "model": model_id,
    "layers": WHOLE,
    "similarity": ("image_features", "subsample", "seed", "rdm_metric", "rbf_fraction",
                   "svcca_keep", "shape_alpha", "knn_k"),
    "analysis": ("dead_unit_std",),
    "validation": ("pc_deletions", "noise", "probe_folds", "seed"),
}


rule validation_perturbations:
    """Each layer of {arch}/{model} against itself with its top principal components deleted
    and with noise added (on the similarity subsample's per-image features), by every measure,
    with a linear probe's held-out accuracy on each copy."""
    input:
        MODEL_FILE["activations"],
    output:
        f"{R}/validation/{{arch}}/{{model}}.csv",
    log:
        f"{R}/logs/validation_perturbations/{{arch}}/{{model}}.log",
    params:
        spec=spec("validation_perturbations"),
    conda:
        ANALYSIS_ENV
    threads: job_threads("analysis")
    resources:
        **job_resources("analysis"),
    shell:
        "convergent validation-perturbations --spec {params.spec:q} --activations {input}"
        " --out {output} > {log} 2>&1"


rule validation_table:
    """Every measure's tests at every layer: group separation of the training conditions
    (AUPRC, violation rate, permutation p), monotonicity, the probe's rank correlation and
    layer identification beside their chance levels, with a verdict per test."""
    input:
        similarity=f"{R}/tables/similarity_per_pair.csv",
        perturbations=[f"{R}/validation/{m.id}.csv" for m in MODELS],
    output:
        f"{R}/tables/validation.csv",
    log:
        f"{R}/logs/validation_table.log",
    params:
        alpha=VALIDATION["alpha"],
        permutations=VALIDATION["permutations"],
        seed=VALIDATION["seed"],
        probe=VALIDATION["min_probe_spearman"],
        identification=VALIDATION["min_identification"],
    conda:
        ANALYSIS_ENV
    threads: job_threads("figure")
    resources:
        **job_resources("figure"),
    shell:
        "convergent validation-table --similarity {input.similarity}"
        " --perturbations {input.perturbations} --alpha {params.alpha}"
        " --permutations {params.permutations} --seed {params.seed}"
        " --min-probe-spearman {params.probe} --min-identification {params.identification}"
        " --out {output} > {log} 2>&1"


rule figure_validation:
    """Which measure to trust: one panel per test and one for all, measures x layers, each
    cell passed, failed or undefined, with the test's number and its chance level."""
    input:
        f"{R}/tables/validation.csv",
    output:
        **figure_outputs("validation"),
    log:
        f"{R}/logs/figure_validation.log",
    conda:
        ANALYSIS_ENV
    threads: job_threads("figure")
    resources:
        **job_resources("figure"),
    shell:
        "convergent figure validation --validation {input} --out {output.pdf} > {log} 2>&1"
