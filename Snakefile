# convergent: train N seeds, dump activations, compare every pair, aggregate, draw.
# The rules live in workflow/rules/ (one file per stage); configuration in config/.

# The study's config: the files given with --configfile, alone (config/config.yaml is not merged
# under them: no key the user did not write), else config/config.yaml of the working directory
# (`--directory my_study`: my_study/config/config.yaml, which `convergent init my_study` writes).
# Keys not written take their defaults from config/schema.yaml.  A YAML syntax error stops the
# run in one line with its line and column (Snakemake's own message has neither).
from convergent.new_study import CONFIG as STUDY_CONFIG
from convergent.study import check_yaml

# (workflow.overwrite_configfiles: the --configfile files, as Snakemake's configfile: reads them)
if not workflow.overwrite_configfiles:
    if not os.path.isfile(STUDY_CONFIG):
        sys.exit(f"config error: {os.path.abspath(STUDY_CONFIG)} does not exist; write a study "
                 f"there with `convergent init {os.getcwd()}`, or name a config file with "
                 "--configfile")
    check_yaml(STUDY_CONFIG)
    configfile: str(STUDY_CONFIG)


# `snakemake --report results/report.html`: figures and tables with captions, config, accuracies.
report: "workflow/report/workflow.rst"


include: "workflow/rules/common.smk"
include: "workflow/rules/train.smk"
include: "workflow/rules/activations.smk"
include: "workflow/rules/compare.smk"
include: "workflow/rules/stream.smk"
include: "workflow/rules/tables.smk"
include: "workflow/rules/figures.smk"
include: "workflow/rules/similarity.smk"
include: "workflow/rules/li_analyses.smk"
include: "workflow/rules/claims.smk"
include: "workflow/rules/validation.smk"
include: "workflow/rules/neural.smk"
include: "workflow/rules/report.smk"


rule all:
    """Every table and figure of the configured study (the default target)."""
    input:
        all_outputs(),


rule li2016:
    """Every figure and table equivalent of Li et al. 2016 (docs/li2016_map.md)."""
    input:
        outputs(LI2016),


rule kornblith2019:
    """Kornblith et al. 2019's layer-identification test, beside their Table 2."""
    input:
        outputs(KORNBLITH2019),


rule findings:
    """The study's answers with intervals beside the published values (results/findings.md)."""
    input:
        outputs(FINDINGS),


rule claims:
    """The commentary's claims, tested: verdicts with intervals (results/tables/claims.csv), the
    network distances and their grouping tests, and the findings with their Claims section."""
    input:
        outputs(CLAIMS_TARGET),


rule validate:
    """Which measure to trust on these networks: every measure's tests (group separation of the
    training conditions, monotonicity, probe, layer identification) in one table and figure
    (docs/validation.md), and the findings with their section when validation.enabled."""
    input:
        outputs(VALIDATE_TARGET),


rule neural:
    """Neural predictivity across seeds: tables and figure (neural.enabled; docs/neural.md)."""
    input:
        outputs(NEURAL_OUTPUTS),
