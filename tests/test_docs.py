"""The API reference site: `mkdocs build --strict` passes, and every public name has a page.

The site (mkdocs.yml, docs/gen_ref_pages.py) is generated from the package, so a module added to snnjax gets a page
without anyone listing it; this test is what keeps that true. It builds the site once into a temporary folder and
reads the objects inventory that mkdocstrings writes (``objects.inv``: one line per documented object, its dotted
path and its URL), so no screenshot or HTML scraping is needed.
"""

from __future__ import annotations

import ast
import importlib
import os
import re
import subprocess
import sys
import zlib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE_DIR = ROOT / "snnjax"


def public_module_names() -> list[str]:
    """Every public module of snnjax, found by walking its files (as docs/gen_ref_pages.py does)."""
    names = []
    for path in sorted(PACKAGE_DIR.rglob("*.py")):
        parts = path.relative_to(ROOT).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        if any(p.startswith("_") for p in parts) or parts[:2] == ("snnjax", "examples"):
            continue
        if not all((ROOT.joinpath(*parts[:i]) / "__init__.py").exists() for i in range(1, len(parts))):
            continue
        names.append(".".join(parts))
    return names


def module_file(modname: str) -> Path:
    path = ROOT.joinpath(*modname.split("."))
    return path / "__init__.py" if path.is_dir() else path.with_suffix(".py")


def defined_public_names(modname: str) -> list[str]:
    """A module's public names: its ``__all__``, else the public names its own source defines at top level.

    The module is imported to read ``__all__``; one that needs an optional dependency this environment lacks is
    read from its source instead (a literal ``__all__``), so the check never silently skips it.
    """
    try:
        module = importlib.import_module(modname)
        if hasattr(module, "__all__"):
            return list(module.__all__)
    except ImportError:
        pass
    tree = ast.parse(module_file(modname).read_text(encoding="utf-8"))
    names = []
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.append(node.name)
        elif isinstance(node, ast.Assign):
            targets = [t.id for t in node.targets if isinstance(t, ast.Name)]
            if "__all__" in targets:
                return list(ast.literal_eval(node.value))
            names += targets
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            names.append(node.target.id)
    return [n for n in dict.fromkeys(names) if not n.startswith("_")]


def read_inventory(path: Path) -> dict[str, str]:
    """``objects.inv`` (Sphinx inventory v2, as mkdocstrings writes it): dotted name -> URL."""
    data = path.read_bytes()
    header_end = 0
    for _ in range(4):  # four text lines, then zlib
        header_end = data.index(b"\n", header_end) + 1
    assert data.startswith(b"# Sphinx inventory version 2"), data[:40]
    entries = {}
    for line in zlib.decompress(data[header_end:]).decode("utf-8").splitlines():
        name, _domain_role, _priority, uri, *_ = line.split(" ")
        entries[name] = uri
    return entries


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("site")
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1", "DISABLE_MKDOCS_2_WARNING": "true", "JUPYTER_PLATFORM_DIRS": "1"}
    proc = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(out)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    log = proc.stdout + proc.stderr
    warnings = [line for line in log.splitlines() if re.match(r"(WARNING|ERROR)\s+-", line)]  # mkdocs' log format
    assert proc.returncode == 0 and not warnings, f"mkdocs build --strict failed:\n{log[-6000:]}"
    return out


def test_every_public_name_has_a_page(site):
    inventory = read_inventory(site / "objects.inv")
    missing, checked = [], 0
    for modname in public_module_names():
        if modname not in inventory:
            missing.append(f"{modname} (module)")
        for name in defined_public_names(modname):
            checked += 1
            if f"{modname}.{name}" not in inventory:
                missing.append(f"{modname}.{name}")
    assert not missing, f"public names without a page in the API reference: {missing}"
    assert checked > 100, checked
    for name in ("snnjax.Network", "snnjax.Runner", "snnjax.simulate", "snnjax.neurons.LIF"):
        page = site / inventory[name].split("#")[0]
        assert (page / "index.html" if page.suffix != ".html" else page).exists(), (name, inventory[name])


def test_guides_and_notebooks_are_pages(site):
    for md in (ROOT / "docs").glob("*.md"):
        page = site / "index.html" if md.stem == "index" else site / md.stem / "index.html"
        assert page.exists(), f"docs/{md.name} has no page"
    for nb in (ROOT / "notebooks").glob("*.ipynb"):
        page = site / "notebooks" / nb.stem / "index.html"
        assert page.exists(), f"notebooks/{nb.name} has no page"
        assert "jp-Cell" in page.read_text(encoding="utf-8"), f"notebooks/{nb.name} was not rendered as a notebook"
