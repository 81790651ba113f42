"""Generate the site's navigation, its API reference pages and its notebook pages (run by mkdocs-gen-files).

Nothing here is hand-listed, so pages follow the code:

* API reference: one page per public module of ``snnjax``, found by walking the package's files (a module or
  package whose name starts with ``_`` is private and skipped, as is ``snnjax.examples``). Each page is a single
  mkdocstrings directive (``::: snnjax.neurons.lif``); a package's page renders the names in its ``__all__``.
* Notebooks: every ``notebooks/*.ipynb`` is copied into the virtual docs tree and rendered by mkdocs-jupyter from
  its saved outputs (never executed).
* Guides: every ``docs/*.md`` page (``engine.md``, ``runs.md``, ``models.md``, ... whichever exist).

The whole navigation is written as ``SUMMARY.md`` files for mkdocs-literate-nav: a page added to ``docs/``, a
notebook or a module appears without editing ``mkdocs.yml``.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import mkdocs_gen_files

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
PACKAGE = "snnjax"
SKIPPED = {("snnjax", "examples")}  # runnable scripts, not API
GUIDES_FIRST = ["engine.md", "runs.md", "models.md"]  # order of the guide pages that exist; others follow, sorted


def public_modules(package_dir: Path) -> list[tuple[str, ...]]:
    """Dotted parts of every public module under ``package_dir`` (the package itself first)."""
    found = []
    for path in sorted(package_dir.rglob("*.py")):
        parts = path.relative_to(package_dir.parent).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        if any(p.startswith("_") for p in parts):
            continue  # private module, or inside a private package
        if any(parts[: len(s)] == s for s in SKIPPED):
            continue
        # a module in a folder without __init__.py is not part of the package
        if not all((package_dir.parent.joinpath(*parts[:i]) / "__init__.py").exists() for i in range(1, len(parts))):
            continue
        found.append(parts)
    return sorted(found, key=lambda p: (len(p) > 1, p))


def title_of_markdown(path: Path) -> str:
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("# "):
            return line[2:].strip()
    return path.stem.replace("_", " ").capitalize()


def title_of_notebook(path: Path) -> str:
    nb = json.loads(path.read_text(encoding="utf-8"))
    for cell in nb.get("cells", []):
        if cell.get("cell_type") == "markdown":
            source = "".join(cell.get("source", []))
            match = re.search(r"^#\s+(.+)$", source, flags=re.MULTILINE)
            if match:
                return match.group(1).strip()
    return path.stem


def escape(title: str) -> str:
    return title.replace("[", r"\[").replace("]", r"\]")


# API reference: reference/snnjax/index.md, reference/snnjax/neurons/lif.md, ...
ref_nav = mkdocs_gen_files.Nav()
for parts in public_modules(ROOT / PACKAGE):
    is_package = (ROOT.joinpath(*parts) / "__init__.py").exists()
    doc_path = Path(*parts, "index.md") if is_package else Path(*parts).with_suffix(".md")
    ident = ".".join(parts)
    ref_nav[parts] = doc_path.as_posix()
    with mkdocs_gen_files.open(Path("reference", doc_path), "w") as fd:
        fd.write(f"# `{ident}`\n\n::: {ident}\n")
    source = ROOT.joinpath(*parts) / "__init__.py" if is_package else ROOT.joinpath(*parts).with_suffix(".py")
    mkdocs_gen_files.set_edit_path(Path("reference", doc_path), source.relative_to(ROOT))

with mkdocs_gen_files.open("reference/SUMMARY.md", "w") as fd:
    fd.writelines(ref_nav.build_literate_nav())

# Notebooks, copied as they are saved (outputs included)
notebooks = sorted((ROOT / "notebooks").glob("*.ipynb"))
for nb in notebooks:
    with mkdocs_gen_files.open(Path("notebooks", nb.name), "w") as fd:
        fd.write(nb.read_text(encoding="utf-8"))
    mkdocs_gen_files.set_edit_path(Path("notebooks", nb.name), nb.relative_to(ROOT))

# The site's navigation
guides = [DOCS / name for name in GUIDES_FIRST if (DOCS / name).exists()]
guides += sorted(p for p in DOCS.glob("*.md") if p.name != "index.md" and p not in guides)
lines = ["* [Home](index.md)\n"]
lines += [f"* [{escape(title_of_markdown(p))}]({p.name})\n" for p in guides]
if notebooks:
    lines.append("* Notebooks\n")
    lines += [f"    * [{escape(title_of_notebook(nb))}](notebooks/{nb.name})\n" for nb in notebooks]
lines.append("* [API reference](reference/)\n")
with mkdocs_gen_files.open("SUMMARY.md", "w") as fd:
    fd.writelines(lines)
