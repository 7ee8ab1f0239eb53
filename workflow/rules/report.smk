# The study's findings (results/findings.md, .html, tables/findings.csv) and an HTML page of
# every table and figure with its caption under it: the report shows those in place (it only
# offers a CSV for download, and keeps captions in a side panel).
import hashlib

from convergent import models

# Which study the findings come from: the validated config's hash.  resources say how jobs
# are scheduled and change no number: they are not part of the study.
CONFIG_HASH = hashlib.sha256(json.dumps({k: v for k, v in config.items() if k != "resources"},
                                        sort_keys=True).encode()).hexdigest()[:12]
# findings.li2016: false leaves out the sections that need the unit-matching pipeline (with
# the similarity measures on, convergence by depth comes from them)
LI_FINDINGS = config["findings"]["li2016"]
FINDINGS_INPUTS = {
    "accuracy": f"{R}/tables/accuracy.csv",
    **({"matching": f"{R}/tables/matching_per_pair.csv"}
       if LI_FINDINGS or not SIM["enabled"] else {}),
    **({"mean_activation": f"{R}/tables/mean_activation_agreement.csv"} if LI_FINDINGS else {}),
    **({"similarity": f"{R}/tables/similarity_per_pair.csv"} if SIM["enabled"] else {}),
    **({"sparse": f"{R}/tables/sparse_prediction_per_pair.csv"}
       if SPARSE_LAYERS and LI_FINDINGS else {}),
    **({"claims": f"{R}/tables/claims.csv"} if config["claims"]["enabled"] else {}),
    **({"neural": f"{R}/tables/neural_by_layer.csv"} if NEURAL["enabled"] else {}),
    **({"validation": f"{R}/tables/validation.csv"} if VALIDATION["enabled"] else {}),
}


rule study_findings:
    """The study's answers with numbers and intervals over networks beside their floors and the
    published values where they apply: accuracies, convergence by depth (its trends tested),
    dead units, sparse prediction, agreement of the most and least active units, layer
    identification, the claims, which measures pass the validation."""
    input:
        **FINDINGS_INPUTS,
    output:
        csv=f"{R}/tables/findings.csv",
        markdown=f"{R}/findings.md",
        html=report(f"{R}/findings.html", caption="../report/findings.rst",
                    category=QUESTION_OF["findings"], subcategory="Tables",
                    labels=report_labels("findings", "Tables")),
    log:
        f"{R}/logs/study_findings.log",
    params:
        inputs=" ".join(f"--{k.replace('_', '-')} {v}" for k, v in FINDINGS_INPUTS.items()),
        layers=LAYERS,
        # the slope over depth: each architecture's relative depth of each layer
        depths=json.dumps({a: {layer: models.relative_depth(a, layer) for layer in LAYERS}
                           for a in ARCHS}),
        study=CONFIG_HASH,
        recorded=sum(m.activations is not None for m in MODELS),
        dataset=config["dataset"]["name"],
        probe=f"{config['probe']['size']} {config['probe']['split']} images",
        level=SIM["ci"],
    conda:
        ANALYSIS_ENV
    threads: job_threads("figure")
    resources:
        **job_resources("figure"),
    shell:
        "convergent findings {params.inputs} --layers {params.layers} --depths {params.depths:q}"
        " --study {params.study} --recorded {params.recorded} --dataset {params.dataset}"
        " --probe {params.probe:q}"
        " --level {params.level}"
        " --csv {output.csv} --markdown {output.markdown} --html {output.html} > {log} 2>&1"


rule table_html:
    """One table as an HTML page with its caption, for the report (under its question)."""
    input:
        csv=f"{R}/tables/{{name}}.csv",
        caption=lambda w: f"{workflow.basedir}/workflow/report/{w.name}.rst",
    output:
        report_page(f"{R}/tables/{{name}}.html", "Tables"),
    log:
        f"{R}/logs/table_html/{{name}}.log",
    wildcard_constraints:
        name="|".join(f for f in QUESTION_OF if f != "findings"),
    conda:
        ANALYSIS_ENV
    threads: job_threads("figure")
    resources:
        **job_resources("figure"),
    shell:
        "convergent table-html --csv {input.csv} --caption {input.caption} --title {wildcards.name}"
        " --out {output} > {log} 2>&1"


rule figure_page:
    """One figure as an HTML page with its caption under it, for the report (under its
    question, labelled with its layer and pair)."""
    input:
        png=f"{R}/figures/{{name}}.png",
        caption=lambda w: f"{workflow.basedir}/workflow/report/{family_of(w.name)[0]}.rst",
    output:
        report_page(f"{R}/figures/{{name}}.html", "Figures"),
    log:
        f"{R}/logs/figure_page/{{name}}.log",
    conda:
        ANALYSIS_ENV
    threads: job_threads("figure")
    resources:
        **job_resources("figure"),
    shell:
        "convergent figure-page --png {input.png} --caption {input.caption}"
        " --title {wildcards.name} --out {output} > {log} 2>&1"
