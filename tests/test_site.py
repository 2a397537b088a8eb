"""The documentation site: built offline by one call, loaded page by page in headless Chromium
(no console errors, no raw TeX left, formulas as MathML), a page for every catalogue entry, and
every internal link and anchor resolving."""

from __future__ import annotations

import html
import json
import os
import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest

pytest.importorskip("mkdocs", reason="the docs extra is not installed (pip install 'prismcat-regimes[docs]')")

import prismcat
from prismcat.site import build_site

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
RAW_TEX = re.compile(r"\\(frac|int|sum|sqrt|begin|left|mathrm|alpha|gamma|sigma)\b|\$\$|\\\(|\\\[")


class Page(HTMLParser):
    """Ids, links, MathML count and the visible text (outside code, scripts and MathML)."""

    def __init__(self):
        super().__init__()
        self.ids, self.links, self.maths, self.text = set(), [], 0, []
        self._skip = 0

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if "id" in a:
            self.ids.add(a["id"])
        if tag == "a" and a.get("href"):
            self.links.append(a["href"])
        if tag in ("img", "script") and a.get("src"):
            self.links.append(a["src"])
        if tag == "link" and a.get("href"):
            self.links.append(a["href"])
        if tag == "math":
            self.maths += 1
        if tag in ("script", "style", "code", "pre", "math"):
            self._skip += 1

    def handle_endtag(self, tag):
        if tag in ("script", "style", "code", "pre", "math"):
            self._skip = max(0, self._skip - 1)

    def handle_data(self, data):
        if not self._skip:
            self.text.append(data)


def parse(text: str) -> Page:
    p = Page()
    p.feed(text)
    return p


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("site")
    results = root / "results.json"
    results.write_text(json.dumps(_small_results()))
    index = build_site(root / "site", results=results)
    assert index.is_file()
    return index.parent


def _small_results() -> dict:
    """A results.json with one validated entry (its evidence appears on that entry's page)."""
    from prismcat.validation.records import to_records
    from prismcat.validation.runner import validate

    cat = prismcat.load_catalog()
    v = validate(cat, ["large-data+mean-field"], progress=False, jobs=1)
    return to_records(v)


def pages(site: Path) -> list[Path]:
    return sorted(p for p in site.rglob("*.html") if "assets" not in p.parts and p.name != "404.html")


@pytest.mark.slow
def test_every_entry_has_a_page_with_its_formulas_as_mathml(site):
    for entry in prismcat.load_catalog():
        page = site / "entries" / f"{entry.id}.html"
        assert page.is_file(), entry.id
        p = parse(page.read_text())
        assert p.maths >= 3, f"{entry.id}: formulas not rendered"
        assert f"{entry.id}-prism.png" in unquote(page.read_text())
        assert (site / "entries" / f"{entry.id}-prism.png").is_file()
    notebook = (site / "notebook.html").read_text()
    assert "Add a regime from a YAML string" in notebook and "In a notebook" in notebook
    evidence = unquote((site / "entries" / "large-data+mean-field.html").read_text())
    assert "Validation evidence" in evidence and "large-data+mean-field-evidence.png" in evidence


@pytest.mark.slow
def test_no_raw_tex_is_left_in_any_page(site):
    for page in pages(site):
        if page.parent.name == "api":
            continue  # docstrings quote code
        raw = page.read_text()
        assert "<mi>&amp;</mi>" not in raw and "<mi>&</mi>" not in raw, f"{page.relative_to(site)}: stray '&'"
        text = html.unescape("".join(parse(raw).text))
        m = RAW_TEX.search(text)
        assert m is None, f"{page.relative_to(site)}: raw TeX {text[max(0, m.start() - 40) : m.end() + 40]!r}"


def test_every_internal_link_and_anchor_resolves(site):
    parsed = {p: parse(p.read_text()) for p in pages(site)}
    broken = []
    for page, p in parsed.items():
        for href in p.links:
            url = urlsplit(href)
            if url.scheme or href.startswith("//") or href.startswith("mailto:"):
                continue
            target = (page.parent / unquote(url.path)).resolve() if url.path else page
            if target.is_dir():
                target = target / "index.html"
            if not target.exists():
                broken.append(f"{page.relative_to(site)} -> {href}")
                continue
            if url.fragment and target.suffix == ".html":
                ids = parsed[target].ids if target in parsed else parse(target.read_text()).ids
                if unquote(url.fragment) not in ids:
                    broken.append(f"{page.relative_to(site)} -> {href} (no anchor)")
    assert not broken, "\n".join(broken[:20])


def test_the_site_is_offline(site):
    for page in pages(site):
        text = page.read_text()
        for m in re.finditer(r'<(?:script|link|img)[^>]+(?:src|href)="(https?:)?//[^"]+"', text):
            pytest.fail(f"{page.relative_to(site)} loads {m.group(0)[:120]}")


def _serve(root: Path):
    """Serve ``root`` on a free local port, and the harness of :func:`chromium_load_many` from
    memory at HARNESS_PATH: nothing is written into the folder under test."""
    import functools
    import http.server
    import threading

    page = HARNESS.encode()

    class Handler(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args, **kwargs):
            pass

        def do_GET(self):
            if self.path.split("#")[0] == "/" + HARNESS_PATH:
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(page)))
                self.end_headers()
                self.wfile.write(page)
                return
            super().do_GET()

    handler = functools.partial(Handler, directory=str(root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}/"


def _chromium(url: str, profile: Path, budget_ms: int) -> subprocess.CompletedProcess:
    res = subprocess.run(
        [
            CHROMIUM,
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            f"--user-data-dir={profile}",
            "--enable-logging=stderr",
            "--v=1",
            f"--virtual-time-budget={budget_ms}",
            "--dump-dom",
            url,
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert res.returncode == 0, f"{url}: chromium exited {res.returncode}: {res.stderr[-500:]}"
    return res


def _console_errors(stderr: str) -> list[str]:
    console = [line for line in stderr.splitlines() if ":CONSOLE" in line]
    return [line for line in console if re.search(r"Uncaught|Error|Failed", line)]


def chromium_load(url: str, profile: Path) -> tuple[Page, list[str]]:
    """The rendered DOM of ``url`` in headless Chromium and its console errors."""
    res = _chromium(url, profile, 2000)
    return parse(res.stdout), _console_errors(res.stderr)


# One browser for many pages: a harness page (same origin) loads each page named in its URL's
# fragment into an iframe in turn, lets its scripts run, and copies the rendered DOM out; a
# launch per page cost about a second.
HARNESS_PATH = "__harness__.html"
HARNESS = """<!doctype html><html><head><meta charset="utf-8"></head><body><script>
const pages = JSON.parse(decodeURIComponent(location.hash.slice(1)));
(async () => {
  for (const [i, url] of pages.entries()) {
    const frame = document.createElement("iframe");
    const loaded = new Promise((done) => { frame.onload = done; });
    frame.src = url;
    document.body.appendChild(frame);
    await loaded;
    await new Promise((done) => setTimeout(done, 300));
    const out = document.createElement("pre");
    out.id = "page-" + i;
    out.textContent = frame.contentDocument.documentElement.outerHTML;
    document.body.appendChild(out);
    frame.remove();
  }
  document.body.setAttribute("data-done", String(pages.length));
})();
</script></body></html>"""


def chromium_load_many(base: str, paths: list[str], profile: Path) -> tuple[list[Page], list[str]]:
    """The rendered DOM of each page under ``base`` (served by :func:`_serve`) and the console
    errors of them all (each line names the URL it came from)."""
    from urllib.parse import quote

    url = f"{base}{HARNESS_PATH}#{quote(json.dumps(paths))}"
    res = _chromium(url, profile, 2000 + 1000 * len(paths))
    found = dict(re.findall(r'<pre id="page-(\d+)">(.*?)</pre>', res.stdout, re.S))
    assert f'data-done="{len(paths)}"' in res.stdout, f"the harness loaded {len(found)} of {len(paths)} pages"
    return [parse(html.unescape(found[str(i)])) for i in range(len(paths))], _console_errors(res.stderr)


needs_browser = pytest.mark.skipif(
    CHROMIUM is None and not os.environ.get("PRISMCAT_REQUIRE_BROWSER"), reason="no chromium here"
)


@needs_browser
def test_the_browser_check_sees_a_console_error_and_raw_tex(tmp_path):
    assert CHROMIUM, "PRISMCAT_REQUIRE_BROWSER is set but chromium is missing (apt-get install chromium)"
    (tmp_path / "bad.html").write_text("<p>$$\\frac{a}{b}$$</p><script>throw new Error('boom')</script>")
    (tmp_path / "good.html").write_text("<p>fine</p><math><mi>x</mi></math>")
    server, base = _serve(tmp_path)
    try:
        dom, errors = chromium_load(base + "bad.html", tmp_path / "profile")
        (good, bad), many = chromium_load_many(base, ["good.html", "bad.html"], tmp_path / "profile")
    finally:
        server.shutdown()
    assert any("boom" in e for e in errors)
    assert RAW_TEX.search("".join(dom.text))
    # the batched loader sees the same, page by page, through its iframes
    assert [e for e in many if "boom" in e] and all("bad.html" in e for e in many if "boom" in e)
    assert RAW_TEX.search("".join(bad.text)) and not RAW_TEX.search("".join(good.text))
    assert good.maths == 1 and bad.maths == 0


@pytest.mark.slow
@needs_browser
def test_pages_load_in_headless_chromium_without_console_errors(site, tmp_path):
    assert CHROMIUM, "PRISMCAT_REQUIRE_BROWSER is set but chromium is missing (apt-get install chromium)"
    from urllib.parse import quote

    chosen = [site / "index.html", site / "entries" / "index.html"]
    chosen += sorted((site / "theory").glob("*.html")) + sorted((site / "entries").glob("*.html"))
    chosen += sorted(site.glob("writing-*.html")) + sorted((site / "api").glob("*.html"))[:2]
    paths = [quote(str(page.relative_to(site))) for page in chosen]
    server, base = _serve(site)
    try:
        doms, errors = chromium_load_many(base, paths, tmp_path / "profile")
    finally:
        server.shutdown()
    problems = [error[-300:] for error in errors]  # each names the page (or asset) it came from
    for page, dom in zip(chosen, doms, strict=True):
        name = page.relative_to(site)
        if page.parent.name != "api" and RAW_TEX.search(html.unescape("".join(dom.text))):
            problems.append(f"{name}: raw TeX in the rendered page")
        if page.parent.name == "entries" and page.stem != "index" and dom.maths < 3:
            problems.append(f"{name}: no MathML in the rendered page")
    assert not problems, "\n".join(problems)
