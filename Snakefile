# convergent: train N seeds, dump activations, compare every pair, aggregate, draw.
# The rules live in workflow/rules/ (one file per stage); configuration in config/.

configfile: "config/config.yaml"


include: "workflow/rules/common.smk"
include: "workflow/rules/train.smk"
include: "workflow/rules/activations.smk"
include: "workflow/rules/compare.smk"
include: "workflow/rules/tables.smk"
include: "workflow/rules/figures.smk"


rule all:
    input:
        all_outputs(),
