"""Each config option has one default, in config/schema.yaml: every default the README and
docs/ state for a config key ("`similarity.subsample` probe images (default 300)", "`pairing` |
`all` (default)") is the schema's."""

from __future__ import annotations

import re

import yaml
from workflow_runs import ROOT

SCHEMA = yaml.safe_load((ROOT / "config" / "schema.yaml").read_text())
#: the pages that describe the config (docs/api.md documents Python functions' own defaults)
PAGES = [ROOT / "README.md", *sorted(p for p in (ROOT / "docs").glob("*.md") if p.name != "api.md")]

#: "`key` ... default VALUE" within one clause (no other backticked name in between)
KEY_FIRST = re.compile(r"`(?P<key>[a-z_][\w.]*)`[^`]{0,50}?\bdefault:?\s+(?P<value>[^;)]+)")
#: a table row "| `key` | `VALUE` (default)"
VALUE_FIRST = re.compile(r"\|\s*`(?P<key>[a-z_][\w.]*)`\s*\|\s*`(?P<value>[^`]+)`\s*\(default\)")
SUPERSCRIPTS = str.maketrans("⁰¹²³⁴⁵⁶⁷⁸⁹", "0123456789")


def schema_options() -> dict[str, dict]:
    """Every config option's dotted path -> its schema node."""
    options: dict[str, dict] = {}

    def walk(node: dict, path: str) -> None:
        if "$ref" in node:
            walk(SCHEMA["definitions"][node["$ref"].rsplit("/", 1)[1]], path)
        for key, sub in (node.get("properties") or {}).items():
            if isinstance(sub, dict):
                options[f"{path}.{key}" if path else key] = sub
                walk(sub, f"{path}.{key}" if path else key)

    walk(SCHEMA, "")
    return options


OPTIONS = schema_options()


def resolve(key: str) -> str | None:
    """The option a documented key names: its dotted path, or a leaf name only one option has."""
    if key in OPTIONS:
        return key
    matches = [path for path in OPTIONS if path.rsplit(".", 1)[-1] == key.rsplit(".", 1)[-1]
               and path.endswith(key)]
    return matches[0] if len(matches) == 1 else None


def stated(value: str):
    """A documented value as a number, boolean, null or name (10⁶ = 1000000)."""
    word = value.strip().split()[0].strip("`'\",.:;")
    if m := re.fullmatch(r"10([⁰¹²³⁴⁵⁶⁷⁸⁹]+)", word):
        return 10 ** int(m.group(1).translate(SUPERSCRIPTS))
    return yaml.safe_load(word)


def schema_default(option: str):
    """The schema's default of an option; one that depends on other keys (filled by
    convergent.study) is stated in its description ("default: 5, or ...")."""
    node = OPTIONS[option]
    if "default" in node:
        return node["default"]
    m = re.search(r"\bdefault:?\s+([^,;)\s]+)", " ".join(node.get("description", "").split()))
    return stated(m.group(1)) if m else "(none)"


def agrees(default, value: str) -> bool:
    if isinstance(default, dict | list):  # e.g. "default V4 ← conv3, IT ← fc6": every part named
        parts = default.items() if isinstance(default, dict) else [(v, "") for v in default]
        return all(str(k) in value and str(v) in value for k, v in parts)
    found = stated(value)
    if isinstance(default, bool) or default is None or isinstance(default, str):
        return found == default
    return isinstance(found, int | float) and float(found) == float(default)


def statements() -> list[tuple[str, str, str, str]]:
    """(page, key, option, stated value) of every default the pages state for a config option."""
    found = []
    for page in PAGES:
        text = " ".join(page.read_text().split())
        for pattern in (KEY_FIRST, VALUE_FIRST):
            for m in pattern.finditer(text):
                option = resolve(m.group("key"))
                if option is not None:
                    found.append((page.name, m.group("key"), option, m.group("value")))
    return found


def test_every_stated_default_is_the_schemas():
    found = statements()
    checked = {option for _, _, option, _ in found}
    # the statements this test exists for are found (a changed wording must not silence it)
    assert {"similarity.subsample", "similarity.svcca_keep", "similarity.bootstrap",
            "analysis.mi_quantile_samples", "pairing"} <= checked, checked
    wrong = [f"{page}: `{key}` default {value!r}, schema: {schema_default(option)!r}"
             for page, key, option, value in found
             if not agrees(schema_default(option), value)]
    assert not wrong, "\n".join(wrong)


def test_the_check_catches_a_stale_default():
    assert not agrees(OPTIONS["similarity.subsample"]["default"], "500 probe images")
    assert agrees(OPTIONS["analysis.mi_quantile_samples"]["default"], "10⁶; null = all rows")
    assert resolve("svcca_keep") == "similarity.svcca_keep" and resolve("no_such_key") is None

