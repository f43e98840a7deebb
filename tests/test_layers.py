"""The packages form layers: each imports only from the layers below it, never from its own or above.

`config` (the settings) is the bottom and imports nothing of the project; `victim_intake` (the
command line) is the top and nothing imports it. Read from the source with `ast`, so an import
inside a function counts as much as one at the top of a module.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# Lowest first; a package may import from the layers before its own.
LAYERS = (
    ("config",),
    ("schemas", "disclosure"),
    ("connectors", "pseudonyms", "store"),
    ("vault",),
    ("linkage",),
    ("sources",),
    ("warehouse",),
    ("estimation", "reporting", "flows"),
    ("victim_intake",),
)
LAYER_OF = {package: number for number, packages in enumerate(LAYERS) for package in packages}


def imported_packages(path: Path) -> list[tuple[int, str]]:
    """(line, module) of every absolute import of a project package in the file."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.append((node.lineno, node.module))
    return [(line, module) for line, module in found if module.split(".")[0] in LAYER_OF]


def upward_imports(root: Path) -> list[str]:
    offending = []
    for package, layer in LAYER_OF.items():
        for path in sorted((root / package).rglob("*.py")):
            for line, module in imported_packages(path):
                target = module.split(".")[0]
                if target != package and LAYER_OF[target] >= layer:
                    offending.append(f"{path.relative_to(root)}:{line} imports {module}")
    return offending


def test_every_package_of_the_project_has_a_layer() -> None:
    packages = {path.parent.name for path in ROOT.glob("*/__init__.py")}
    assert packages == set(LAYER_OF), f"packages without a layer: {sorted(packages - set(LAYER_OF))}"


def test_no_package_imports_from_its_own_layer_or_above() -> None:
    offending = upward_imports(ROOT)
    assert not offending, "imports against the layers (docs/architecture.md):\n" + "\n".join(offending)


def test_an_upward_import_is_named(tmp_path: Path) -> None:
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "settings.py").write_text("def f():\n    from linkage.resolution import x\n")
    assert upward_imports(tmp_path) == ["config/settings.py:2 imports linkage.resolution"]
