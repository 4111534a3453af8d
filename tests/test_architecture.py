"""docs/architecture.md is the map of the code: every path and dotted name it gives exists, and every package of
the code sits in a layer of the import contract it describes (pyproject.toml, checked by `make lint`)."""

import importlib
import re
import tomllib
from pathlib import Path

import pytest
from django.core.management import call_command
from django.urls import resolve

ROOT = Path(__file__).resolve().parent.parent
MAP = ROOT / "docs" / "architecture.md"
APPS = ("oms", "fulfillment", "stores")


def named_in_map() -> tuple[set[str], set[str], set[str]]:
    """(paths, dotted names, URL paths) written in backticks on the page. In a row of the packages table, a file
    named without its folder (`picking.py`, `views/`) is in the row's package."""
    paths, dotted, urls = set(), set(), set()
    for line in MAP.read_text().splitlines():
        tokens = re.findall(r"`([^`\s]+)`", line)
        row = re.match(r"\| `([\w/.]+/)`", line)
        base = row.group(1) if row else ""
        for token in tokens:
            if re.fullmatch(r"(?:oms|fulfillment|stores)(?:\.\w+)+(?::\w+)?", token):
                dotted.add(token)
            elif token.startswith("/"):
                urls.add(token)
            elif "/" in token or token.endswith(".py"):
                relative = base and not token.startswith((*(f"{app}/" for app in APPS), "tests/", "docs/"))
                paths.add(base + token if relative and token != base else token)
    return paths, dotted, urls


def resolves(name: str) -> bool:
    module_name, _, attribute = name.partition(":")
    parts = module_name.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            target = importlib.import_module(".".join(parts[:cut]))
        except ModuleNotFoundError:
            continue
        for part in parts[cut:] + ([attribute] if attribute else []):
            if not hasattr(target, part):
                return False
            target = getattr(target, part)
        return True
    return False


def test_every_path_on_the_map_exists():
    paths, _, _ = named_in_map()
    assert len(paths) > 40, "the map names the files of the route"
    assert sorted(path for path in paths if not (ROOT / path).exists()) == []


def test_every_dotted_name_on_the_map_resolves():
    _, dotted, _ = named_in_map()
    assert len(dotted) > 30
    assert sorted(name for name in dotted if not resolves(name)) == []


def test_every_url_on_the_map_is_served():
    _, _, urls = named_in_map()
    assert urls
    for url in urls:
        resolve(url)  # raises Resolver404


def layered_modules() -> list[str]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    (contract,) = config["tool"]["importlinter"]["contracts"]
    return [name.strip() for layer in contract["layers"] for name in re.split(r"[|:]", layer)]


def test_every_package_and_module_of_the_code_is_in_a_layer():
    listed = layered_modules()
    unlisted = []
    for app in APPS:
        for path in sorted((ROOT / app).rglob("*.py")):
            module = ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
            if module in APPS:
                continue
            if not any(module == name or module.startswith(name + ".") for name in listed):
                unlisted.append(module)
    assert unlisted == []


def test_the_layers_name_only_modules_that_exist():
    assert [name for name in layered_modules() if importlib.util.find_spec(name) is None] == []


@pytest.mark.django_db
def test_the_models_package_needs_no_migration():
    """Models split over modules keep their app and their fields: Django sees no change to migrate."""
    call_command("makemigrations", "--check", "--dry-run", verbosity=0)  # exits 1 (SystemExit) on a change
