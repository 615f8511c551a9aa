"""The package layout holds: imports flow one way, in the order docs/ARCHITECTURE.md draws.

The order lives in one place, the ``import-order`` block of docs/ARCHITECTURE.md; this test reads it. Every
import counts, including the ones inside functions.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "src" / "careleads"
ARCHITECTURE = ROOT / "docs" / "ARCHITECTURE.md"


def layers() -> dict[str, int]:
    """Package (or top-level module) -> layer, from the import-order block of docs/ARCHITECTURE.md."""
    text = ARCHITECTURE.read_text(encoding="utf-8")
    block = re.search(r"<!-- import-order -->\s*```[a-z]*\n(.*?)```", text, re.S)
    assert block, "docs/ARCHITECTURE.md lost its import-order block"
    out: dict[str, int] = {}
    for line in block.group(1).splitlines():
        match = re.match(r"\s*(\d+)\s+([a-z_, ]+?)(?:\s{2,}|$)", line)
        if match:
            for name in match.group(2).split(","):
                out[name.strip()] = int(match.group(1))
    return out


@dataclass(frozen=True)
class Import:
    source: str  # the importing module, dotted
    target: str  # the imported module, dotted
    names: tuple[str, ...]
    line: int

    @property
    def where(self) -> str:
        return f"{self.source}:{self.line}"


def _module_name(path: Path) -> str:
    return ".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts).removesuffix(".__init__")


def imports() -> list[Import]:
    out = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if "migrations" in path.parts:
            continue
        module = _module_name(path)
        parts = module.split(".")
        is_package = path.name == "__init__.py"
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom):
                if node.level:
                    base = parts[: len(parts) - node.level + (1 if is_package else 0)]
                    target = ".".join(base + ([node.module] if node.module else []))
                else:
                    target = node.module or ""
                names = tuple(alias.name for alias in node.names)
                out.append(Import(module, target, names, node.lineno))
            elif isinstance(node, ast.Import):
                out.extend(Import(module, alias.name, (), node.lineno) for alias in node.names)
    return [i for i in out if i.target.split(".")[0] == "careleads"]


def _top(dotted: str) -> str:
    parts = dotted.split(".")
    return parts[1] if len(parts) > 1 else ""


def test_every_package_has_a_layer() -> None:
    order = layers()
    packages = {p.parent.name for p in PACKAGE.glob("*/__init__.py")}
    modules = {p.stem for p in PACKAGE.glob("*.py") if not p.name.startswith("__")}
    missing = sorted((packages | modules) - set(order))
    assert not missing, f"packages without a layer in docs/ARCHITECTURE.md: {missing}"


def test_imports_flow_one_way() -> None:
    order = layers()
    wrong = []
    for item in imports():
        source, target = _top(item.source), _top(item.target)
        if not target or target.startswith("__") or source == target:
            continue
        if not source:  # careleads/__init__: loads nothing of the package when imported
            wrong.append(f"{item.where} the package root imports {item.target}")
        elif order[target] >= order[source]:
            layer = f"{source} (layer {order[source]}) imports {item.target} (layer {order[target]})"
            wrong.append(f"{item.where} {layer}")
    assert not wrong, "imports against the one-way order:\n" + "\n".join(wrong)


def _is_module(dotted: str) -> bool:
    path = PACKAGE.parent.joinpath(*dotted.split("."))
    return path.with_suffix(".py").exists() or (path / "__init__.py").exists()


def test_packages_use_each_others_public_names_only() -> None:
    wrong = []
    for item in imports():
        if _top(item.source) == _top(item.target):
            # within a package, private modules are its own business, but a private name of a sibling
            # module is not: what a sibling needs is public in the module that defines it
            private = [n for n in item.names if n.startswith("_") and not _is_module(f"{item.target}.{n}")]
            if private and not item.names[0].startswith("__"):
                wrong.append(f"{item.where} imports private {private} from {item.target}")
            continue
        path = item.target.split(".")[1:]
        private = [p for p in path if p.startswith("_")] + [n for n in item.names if n.startswith("_")]
        if private and not all(p.startswith("__") for p in private):
            wrong.append(f"{item.where} reaches into {item.target} {list(item.names)}")
    assert not wrong, "imports of private names:\n" + "\n".join(wrong)


@pytest.mark.parametrize("limit", [900])
def test_modules_stay_small(limit: int) -> None:
    big = []
    for path in PACKAGE.rglob("*.py"):
        n_lines = len(path.read_text(encoding="utf-8").splitlines())
        if n_lines > limit:
            big.append(f"{path.relative_to(PACKAGE)}: {n_lines} lines")
    assert not big, f"modules over {limit} lines: {big}"
