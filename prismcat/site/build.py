"""Build the documentation site: assemble the pages in a temporary folder, generate the entry
pages and the API reference, and run mkdocs (material theme, mkdocstrings) on them, offline."""

from __future__ import annotations

import html
import json
import re
import shutil
import tempfile
from pathlib import Path
from typing import Any

import yaml

from prismcat import figures
from prismcat.catalog import load_catalog
from prismcat.errors import PrismcatError
from prismcat.files import OutputFolder
from prismcat.paths import REPO_ROOT, theory_dir
from prismcat.site.pages import entry_page, index_page
from prismcat.validation.records import load_results

HOOKS = Path(__file__).with_name("hooks.py")
API = {  # page -> modules documented on it
    "catalogue": ["prismcat.catalog.loader", "prismcat.catalog.entry"],
    "simulation": ["prismcat.simulation.problem", "prismcat.simulation.api", "prismcat.simulation.base"],
    "writing-backends": [
        "prismcat.simulation.arrays",
        "prismcat.simulation.plan",
        "prismcat.testing.conformance",
    ],
    "validation": [
        "prismcat.settings",
        "prismcat.validation.runner",
        "prismcat.validation.power",
        "prismcat.validation.checks",
        "prismcat.validation.policy",
    ],
    "plugins": ["prismcat.hookspecs", "prismcat.registry", "prismcat.plugins"],
    "formulas": ["prismcat.formulas.latex"],
}
GUIDES = [
    ("Adding a regime", "adding-a-regime.md"),
    ("Validation", "validation.md"),
    ("Writing a simulator", "writing-a-simulator.md"),
    ("Writing a checker", "writing-a-checker.md"),
    ("Adding a model family", "writing-a-family.md"),
    ("Scaling out", "scale-out.md"),
    ("Security", "security.md"),
    ("Architecture", "architecture.md"),
    ("What the design finds", "design-status.md"),
]
THEORY = [
    "index",
    "model",
    "prism",
    "large-data",
    "small-data",
    "mean-field",
    "narrow-latent",
    "free",
    "cp-family",
]
CSS = """/* MathML Core ignores columnalign: align the columns of aligned equations with CSS */
mtd[columnalign="left"] { text-align: left; }
mtd[columnalign="right"] { text-align: right; }
div.math { overflow-x: auto; margin: 0.8em 0; }
"""
_LINK = re.compile(r"(?<!!)\[([^\]]+)\]\(([^)\s]+)\)")


def _relink(text: str, known: set[str]) -> str:
    """Links to pages of the site stay; links to other files of the repository become code."""

    def sub(m: re.Match) -> str:
        label, target = m.group(1), m.group(2)
        if re.match(r"^[a-z]+://", target) or target.startswith("#"):
            return m.group(0)
        path = target.split("#")[0]
        if path.startswith("docs/"):
            path = path.removeprefix("docs/")
            target = target.removeprefix("docs/")
        if path.endswith(".ipynb") and path.replace(".ipynb", ".md") in known:
            return f"[{label}]({path.replace('.ipynb', '.md')})"
        if path in known:
            return f"[{label}]({target})"
        return f"{label} (`{path}`)" if label.strip("`") != path else f"`{path}`"

    return _LINK.sub(sub, text)


def notebook_markdown(path: Path) -> str:
    """A notebook as a page: its Markdown cells, and its code cells as Python blocks (committed
    without outputs; ``tests/test_notebook.py`` runs it)."""
    nb = json.loads(path.read_text())
    parts = []
    for cell in nb["cells"]:
        text = "".join(cell["source"])
        parts.append(text if cell["cell_type"] == "markdown" else f"```python\n{text}\n```")
    parts.append(f"*This page is the notebook `docs/{path.name}`: open it in Jupyter to run it.*")
    return "\n\n".join(parts) + "\n"


def _records(results: str | Path | None) -> dict[str, dict[str, Any]]:
    if results is None:
        return {}
    return {r["id"]: r for r in load_results(results)["entries"]}


def assemble(docs: Path, catalog: Any, records: dict[str, dict[str, Any]]) -> list[Any]:
    """Write every page of the site into ``docs``; return the mkdocs navigation. ``records``: the
    results.json records by entry id (checked by :func:`prismcat.validation.records.load_results`)."""
    repo_docs = REPO_ROOT / "docs" if REPO_ROOT is not None else None
    known = (
        {"index.md", "entries/index.md", "notebook.md"}
        | {g for _, g in GUIDES}
        | {f"theory/{t}.md" for t in THEORY}
    )
    known |= {f"entries/{e.id}.md" for e in catalog} | {f"api/{a}.md" for a in API}
    readme = (REPO_ROOT / "README.md").read_text() if REPO_ROOT is not None else "# prismcat\n"
    (docs / "index.md").write_text(_relink(readme, known))
    guides = []
    for title, name in GUIDES:
        src = repo_docs / name if repo_docs is not None else None
        if src is not None and src.is_file():
            (docs / name).write_text(_relink(src.read_text(), known))
            guides.append({title: name})
    notebook = repo_docs / "notebook.ipynb" if repo_docs is not None else None
    if notebook is not None and notebook.is_file():
        (docs / "notebook.md").write_text(_relink(notebook_markdown(notebook), known))
        guides.append({"In a notebook": "notebook.md"})
    theory = docs / "theory"
    theory.mkdir()
    for name in THEORY:
        shutil.copy2(theory_dir() / f"{name}.md", theory / f"{name}.md")
    entries = docs / "entries"
    entries.mkdir()
    (entries / "index.md").write_text(index_page(catalog, records))
    for e in catalog:
        (entries / f"{e.id}-prism.png").write_bytes(figures.cell_png(e))
        figure = None
        if e.id in records:
            quantities = {loss: e.spec_quantity(loss) for loss in ("train", "population")}
            image = figures.entry_png(records[e.id], e.clock_name, quantities)
            if image is not None:
                figure = f"{e.id}-evidence.png"
                (entries / figure).write_bytes(image)
        (entries / f"{e.id}.md").write_text(entry_page(e, records.get(e.id), figure))
    (docs / "assets").mkdir(exist_ok=True)
    (docs / "assets" / "prismcat.css").write_text(CSS)
    api = docs / "api"
    api.mkdir()
    for page, modules in API.items():
        body = [f"# {page.replace('-', ' ').capitalize()}", ""]
        body += [f"::: {m}\n" for m in modules]
        (api / f"{page}.md").write_text("\n".join(body))
    return [
        {"Home": "index.md"},
        {"Guides": guides},
        {"Theory": [f"theory/{t}.md" for t in THEORY]},
        {
            "Catalogue": [
                {"The catalogue": "entries/index.md"},
                *[{e.id: f"entries/{e.id}.md"} for e in catalog],
            ]
        },
        {"API reference": [f"api/{a}.md" for a in API]},
    ]


def config(docs: Path, site: Path, nav: list[Any]) -> dict[str, Any]:
    """The mkdocs configuration: material without web fonts, everything offline."""
    source = Path(__file__).resolve().parents[2]
    return {
        "site_name": "prismcat",
        "site_description": "A checkable catalogue of the learning regimes of large linear autoencoders",
        "docs_dir": str(docs),
        "site_dir": str(site),
        "use_directory_urls": False,
        "theme": {
            "name": "material",
            "font": False,
            "features": ["navigation.sections", "content.code.copy"],
        },
        "plugins": [
            "search",  # not "offline": that plugin loads a shim from a CDN; serve the folder instead
            {
                "mkdocstrings": {
                    "handlers": {
                        "python": {
                            "paths": [str(source)],
                            "options": {
                                "docstring_style": "sphinx",
                                "show_source": False,
                                "heading_level": 2,
                            },
                        }
                    }
                }
            },
        ],
        "markdown_extensions": [
            "attr_list",
            "admonition",
            "tables",
            "md_in_html",
            {"toc": {"permalink": True}},
            {"pymdownx.arithmatex": {"generic": True}},
            "pymdownx.superfences",
            {"pymdownx.highlight": {"use_pygments": True}},
        ],
        "hooks": [str(HOOKS)],
        "extra_css": ["assets/prismcat.css"],
        "nav": nav,
        "validation": {"links": {"not_found": "warn", "anchors": "warn", "absolute_links": "ignore"}},
    }


def build_site(
    output: str | Path = "site",
    results: str | Path | None = None,
    catalog: Any = None,
    strict: bool = True,
    overwrite: bool = False,
) -> Path:
    """Build the site into ``output`` (``index.html`` there); ``results`` adds each entry's
    validation evidence. ``strict``: a broken link or anchor, or a formula that cannot be
    converted, fails the build.

    ``output`` must be empty, new, or a site prismcat built (its marker lists the files it wrote,
    and only those are replaced or removed); a folder holding anything else is refused before
    anything is built, unless ``overwrite``, which replaces files of the same names and keeps the
    rest. The site is built in a temporary folder beside ``output`` and moved in at the end."""
    try:
        from mkdocs.commands.build import build
        from mkdocs.config import load_config
    except ImportError:
        hint = "pip install 'prismcat-regimes[docs]'"
        raise PrismcatError(f"building the site needs the docs extra: {hint}") from None
    folder = OutputFolder(Path(output).resolve(), "site", overwrite=overwrite)
    folder.check_reusable(needed=SITE_BYTES)
    records = _records(results)
    catalog = catalog if catalog is not None else load_catalog()
    with tempfile.TemporaryDirectory(prefix=".prismcat-site-", dir=folder.path.parent) as tmp:
        docs, built = Path(tmp) / "docs", Path(tmp) / "site"
        docs.mkdir()
        nav = assemble(docs, catalog, records)
        cfg_file = Path(tmp) / "mkdocs.yml"
        cfg_file.write_text(yaml.safe_dump(config(docs, built, nav), sort_keys=False))
        cfg = load_config(str(cfg_file), strict=strict)
        try:
            build(cfg)
        except SystemExit as exc:  # mkdocs aborts a strict build this way
            raise PrismcatError(f"the site did not build: {exc}") from None
        _escape_search_index(built / "search" / "search_index.json")
        folder.replace_with(built)
    return folder.path / "index.html"


SITE_BYTES = 100_000_000  # a generous bound on the site's size (measured: about 25 MB)


def _escape_search_index(path: Path) -> None:
    """The search index holds each page's text with its entities decoded, and the theme shows
    matches as HTML: escape ``<``, ``>`` and ``&`` in it, so text from a catalogue stays text."""
    if not path.is_file():
        return
    data = json.loads(path.read_text())
    for doc in data.get("docs", []):
        for key in ("title", "text"):
            if isinstance(doc.get(key), str):
                doc[key] = html.escape(html.unescape(doc[key]), quote=False)
    path.write_text(json.dumps(data))
