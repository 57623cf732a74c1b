"""docs/architecture.md counts the apps there are, has a row for each, draws the layers the
import contract enforces, and links only inside the repository (the drill found "seven apps" for
fifteen, a layer diagram the contract no longer matched, and a link to a file outside it)."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from django.conf import settings

ROOT = Path(__file__).resolve().parent.parent
ARCHITECTURE = (ROOT / "docs" / "architecture.md").read_text()
IMPORT_LINTER = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]
NUMBERS = {
    11: "eleven",
    12: "twelve",
    13: "thirteen",
    14: "fourteen",
    15: "fifteen",
    16: "sixteen",
    17: "seventeen",
    18: "eighteen",
    19: "nineteen",
    20: "twenty",
    21: "twenty-one",
}


def project_apps() -> list[str]:
    return [
        app
        for app in settings.INSTALLED_APPS
        if (ROOT / app / "apps.py").exists() and app != "missioncontrol"
    ]


def contract(kind: str) -> dict:
    (found,) = [c for c in IMPORT_LINTER["contracts"] if c["type"] == kind]
    return found


def contract_layers() -> list[list[str]]:
    return [[name.strip() for name in layer.split(":")] for layer in contract("layers")["layers"]]


def diagram_layers() -> list[list[str]]:
    """The layers as the doc draws them: each node's first label line ("a · b"), in the order
    of the one chain of arrows."""
    (diagram,) = re.findall(r"```mermaid\nflowchart TD\n(.*?)```", ARCHITECTURE, re.DOTALL)
    labels = dict(re.findall(r'^\s*(\w+)\["([^"<]+)', diagram, re.MULTILINE))
    (chain,) = re.findall(r"^\s*(\w+(?: --> \w+)+)\s*$", diagram, re.MULTILINE)
    return [[name.strip() for name in labels[node].split("·")] for node in chain.split(" --> ")]


def test_the_app_count_and_the_app_table_match_installed_apps():
    apps = project_apps()
    assert f"{NUMBERS[len(apps)]} apps" in ARCHITECTURE
    rows = set(re.findall(r"^\| `([a-z_]+)/` \|", ARCHITECTURE, re.MULTILINE)) - {"missioncontrol"}
    assert rows == set(apps)


def test_the_layer_diagram_is_the_layers_contract():
    assert diagram_layers() == contract_layers()


def test_every_app_and_the_project_package_are_in_the_contract_exactly_once():
    packages = [*project_apps(), "missioncontrol"]
    in_layers = [name for layer in contract_layers() for name in layer]
    assert sorted(in_layers) == sorted(packages)
    assert sorted(IMPORT_LINTER["root_packages"]) == sorted(packages)


def test_the_layers_contract_ignores_nothing_and_the_project_package_is_on_top():
    assert "ignore_imports" not in contract("layers")
    assert contract_layers()[0] == ["missioncontrol"]


def test_the_independent_apps_are_the_domain_apps_the_doc_names():
    independent = contract("independence")["modules"]
    (named,) = re.findall(r"^The domain apps are ((?:`[a-z_]+`(?:, )?)+):", ARCHITECTURE, re.MULTILINE)
    assert re.findall(r"`([a-z_]+)`", named) == independent
    assert independent in contract_layers(), "the independent apps share one layer"
    for ignored in contract("independence").get("ignore_imports", []):
        assert "*" not in ignored, f"a wildcard hides crossings: {ignored}"


def test_every_link_stays_inside_the_repository():
    for doc in [*sorted((ROOT / "docs").glob("*.md")), ROOT / "README.md"]:
        text = doc.read_text()
        assert "/work/shared" not in text and "../shared/" not in text, doc.name
        for target in re.findall(r"\]\(([^)#\s]+)", text):
            if target.startswith(("http://", "https://", "mailto:")):
                continue
            assert (doc.parent / target).resolve().is_relative_to(ROOT), f"{doc.name}: {target}"
            assert (doc.parent / target).exists(), f"{doc.name}: {target} does not exist"
