"""Figures as PNG bytes (matplotlib's Agg canvas, no pyplot): per entry its curves and its error
against N, the prism coloured by status, and the ``prismcat where`` picture.

A report draws many entry figures of one of two shapes (one or two loss columns), so
:class:`EntryFigures` keeps one figure per shape and redraws it for each entry: its axes, tick
artists and text-layout caches are made once. Each entry is drawn from a reset state (data
artists removed, data limits, scales, colour cycle, titles and margins restored), so an entry's
PNG does not depend on what was drawn before it: same record, same bytes. The margins are fixed
(no ``tight_layout`` and no ``bbox_inches="tight"``, each a further layout pass over every tick
label) and only widened, with a second draw, when a y label would leave the figure or run into
the panel on its left. :func:`entry_pngs` shares a report's figures between the CPUs
(``$PRISMCAT_REPORT_WORKERS`` processes; default: one per available CPU, and this process alone
for fewer than six figures).
"""

from __future__ import annotations

import io
import logging
from collections.abc import Sequence
from typing import Any

import numpy as np

from prismcat.settings import cores, report_workers

DPI = 96
ENTRY_PANEL = (5.2, 9.6)  # an entry figure's width per loss column and its height, inches
ROWS = 3  # curves; deviation from the formula with the extrapolation's band; distance vs eps
# An entry figure's margins and the gaps between its panels, inches (what tight_layout gave).
MARGINS = {"left": 1.0, "right": 0.3, "top": 0.62, "bottom": 0.55, "wgap": 1.0, "hgap": 0.9}
_PAD_PX = 4  # the least room between a y label and whatever is on its left
_MIN_PARALLEL = 6  # fewer figures than this are drawn in this process (a pool costs more)

Job = tuple[dict[str, Any], str, dict[str, "str | None"]]  # (record, clock name, quantities)


def _figure(width: float, height: float):
    """A Figure on its own Agg canvas (no pyplot: nothing global to register or close)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), dpi=DPI)
    FigureCanvasAgg(fig)
    return fig


def _encode(fig) -> bytes:
    """The canvas as last drawn, as an opaque RGB PNG without metadata (same pixels, same bytes)."""
    from PIL import Image

    size = fig.canvas.get_width_height(physical=True)
    img = Image.frombuffer("RGBA", size, fig.canvas.buffer_rgba(), "raw", "RGBA", 0, 1).convert("RGB")
    buf = io.BytesIO()
    img.save(buf, format="png", compress_level=3)  # 6 (the default) is ~1.4x slower, 1% smaller
    return buf.getvalue()


def png(fig, tight: bool = True) -> bytes:
    """``fig`` drawn as PNG bytes; ``tight`` crops it to its content (``bbox_inches="tight"``: a
    second layout pass, fine for a one-off figure, too slow for a report's worth)."""
    if not tight:
        fig.canvas.draw()
        return _encode(fig)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI, bbox_inches="tight", metadata={"Software": None})
    return buf.getvalue()


def _set_scale(ax, scale: str) -> None:
    if ax.get_xscale() != scale:
        ax.set_xscale(scale)
    if ax.get_yscale() != scale:
        ax.set_yscale(scale)


def prism_png(status: dict[str, str], title: str = "The prism, coloured by validation status") -> bytes:
    """The prism coloured by ``status`` (cell id -> pass/fail/error/none, or 'here' to highlight)."""
    from prismcat.report.prism_figure import draw

    # The picture's data box (3.0 x 2.5, equal aspect) in a 4.2 x 3.5 in axes with room for the
    # title: the 6 x 4.6 in figure it used to be drawn in, cropped to its content.
    fig = _figure(4.5, 3.95)
    ax = fig.add_axes((0.15 / 4.5, 0.05 / 3.95, 4.2 / 4.5, 3.5 / 3.95))
    draw(ax, status, legend="here" not in status.values())
    ax.set_title(title, fontsize=10)
    return png(fig, tight=False)


def geometry_png(geometry: Any, marks: dict[str, str], title: str) -> bytes:
    """A family geometry (the prism, a Pareto polygon) coloured by ``marks`` (cell id ->
    pass/fail/error/none, or 'here' to highlight one cell)."""
    if geometry.key == "prism":
        return prism_png(marks, title)
    fig = _figure(4.5, 3.95)
    ax = fig.add_axes((0.15 / 4.5, 0.05 / 3.95, 4.2 / 4.5, 3.5 / 3.95))
    geometry.draw(ax, marks)
    ax.set_title(title, fontsize=10)
    return png(fig, tight=False)


def cell_png(entry: Any) -> bytes:
    """The entry's cell highlighted on its family's geometry."""
    g = entry.geometry
    title = entry.cell.id if g.key == "prism" else f"{entry.cell.id} ({g.title})"
    return geometry_png(g, {entry.cell.id: "here"}, title)


class EntryFigures:
    """Draws entry figures, reusing one figure per number of loss columns (see the module doc)."""

    def __init__(self) -> None:
        self._figures: dict[int, tuple[Any, np.ndarray]] = {}

    def _get(self, ncols: int):
        from matplotlib.transforms import Bbox

        if ncols not in self._figures:
            fig = _figure(ENTRY_PANEL[0] * ncols, ENTRY_PANEL[1])
            self._figures[ncols] = (fig, fig.subplots(ROWS, ncols, squeeze=False))
        fig, axes = self._figures[ncols]
        for ax in axes.flat:
            if ax.legend_ is not None:
                ax.legend_.remove()
            for artist in [*ax.lines, *ax.collections, *ax.patches, *ax.texts]:
                artist.remove()
            ax.containers.clear()
            # empty data limits, as on a new axes (relim() would keep the least positive value
            # seen, which log-axis limits use)
            ax.dataLim = Bbox.null()
            ax.ignore_existing_data_limits = True
            ax.set_prop_cycle(None)
            ax.set_title("", y=1.0)
            ax.set_xlabel("")
            ax.set_ylabel("")
        rows = (
            (axes[0], "linear", (0.0, 1.0)),
            (axes[1], "linear", (0.0, 1.0)),
            (axes[2], "log", (1.0, 10.0)),
        )
        for row, scale, view in rows:
            for ax in row:
                _set_scale(ax, scale)
                # the same view to start from: adding a collection maps it through the view
                # transform and back, which rounds differently for different views
                ax.set_xlim(view)
                ax.set_ylim(view)
                ax.set_autoscale_on(True)
        _place(fig, ncols, MARGINS)
        return fig, axes

    def png(self, record: dict[str, Any], clock_name: str, quantities: dict[str, str | None]) -> bytes | None:
        """Curves (limit over the seed-mean curves with seed bands) and error vs eps (log-log)."""
        sizes = record["sizes"]
        if not sizes:
            return None
        from matplotlib import colormaps

        losses = [loss for loss in ("train", "population") if loss in sizes[0]["curves"]]
        fig, axes = self._get(len(losses))
        clock = np.asarray(record["clock"])
        cmap = colormaps["viridis"]
        for j, loss in enumerate(losses):
            ax = axes[0, j]
            for i, s in enumerate(sizes):
                c = cmap(0.15 + 0.7 * i / max(1, len(sizes) - 1))
                cur = s["curves"][loss]
                ax.fill_between(clock, cur["low"], cur["high"], color=c, alpha=0.2, lw=0)
                ax.plot(clock, cur["mean"], color=c, lw=1.4, label=f"N={s['N']:g} (d={s['d']})")
            limit = sizes[-1]["curves"][loss]["limit"]
            if limit is not None:
                ax.plot(clock, limit, "k--", lw=1.6, label="limit formula")
            for check in record["checks"]:
                band = (check.get("band") or {}).get(loss)
                if band:
                    ax.fill_between(clock, band["low"], band["high"], color="tab:red", alpha=0.3, lw=0)
                    ax.plot(clock, band["center"], color="tab:red", lw=1.0, label=band["label"])
            _deviation_panel(axes[1, j], record, loss, clock, clock_name, cmap)
            ax.set_xlabel(clock_name)
            ax.set_ylabel(quantities.get(loss) or loss)
            _break_long_label(ax)
            # y given: no automatic title placement (a pass over the tick labels); see _fit
            ax.set_title(f"{loss}: seed mean and seed range vs limit", fontsize=9, y=1.0)
            ax.legend(fontsize=7, loc="best")
            _error_panel(axes[2, j], record, loss)
        fig.suptitle(f"{record['id']}  [{record['status']}]", fontsize=11)
        fig.canvas.draw()
        if _fit(fig, axes):
            fig.canvas.draw()
        return _encode(fig)


def entry_png(record: dict[str, Any], clock_name: str, quantities: dict[str, str | None]) -> bytes | None:
    """One entry's figure; a report draws them all with :func:`entry_pngs`."""
    return EntryFigures().png(record, clock_name, quantities)


def entry_pngs(jobs: Sequence[Job], workers: int | None = None) -> list[bytes | None]:
    """The figure of each ``(record, clock name, quantities)``, in order, drawn by ``workers``
    processes (this one included; None: ``$PRISMCAT_REPORT_WORKERS`` or one per available CPU,
    and only this one for fewer than a handful of figures). The bytes do not depend on it."""
    n = _workers(workers, len(jobs))
    out: list[Any] = [_MISSING] * len(jobs)
    if n > 1:
        chunks = [list(range(i, len(jobs), n)) for i in range(n)]  # interleaved: mixed shapes
        try:
            _draw_parallel(jobs, chunks, out)
        except Exception as exc:  # no processes to be had (a sandbox, a daemon process, ...)
            logging.getLogger(__name__).warning("report figures drawn in one process: %r", exc)
    drawer = EntryFigures()
    for i, job in enumerate(jobs):
        if out[i] is _MISSING:
            out[i] = drawer.png(*job)
    return out


_MISSING = object()


def _workers(workers: int | None, count: int) -> int:
    if workers is None:
        workers = report_workers()
        if workers is None:
            if count < _MIN_PARALLEL:
                return 1
            workers = cores()
    return max(1, min(workers, count))


def _draw_parallel(jobs: Sequence[Job], chunks: list[list[int]], out: list[Any]) -> None:
    """Chunk 0 here, the others in a process each (forked when this process has no other
    thread: it already has matplotlib loaded; else from a fresh interpreter)."""
    import multiprocessing
    import threading
    from concurrent.futures import ProcessPoolExecutor

    methods = multiprocessing.get_all_start_methods()
    if "fork" in methods and threading.active_count() == 1:
        ctx = multiprocessing.get_context("fork")
    else:
        ctx = multiprocessing.get_context("forkserver" if "forkserver" in methods else "spawn")
    with ProcessPoolExecutor(max_workers=len(chunks) - 1, mp_context=ctx) as pool:
        futures = [pool.submit(_draw_chunk, [jobs[i] for i in chunk]) for chunk in chunks[1:]]
        drawer = EntryFigures()
        for i in chunks[0]:
            out[i] = drawer.png(*jobs[i])
        for chunk, future in zip(chunks[1:], futures, strict=True):
            for i, data in zip(chunk, future.result(), strict=True):
                out[i] = data


def _draw_chunk(jobs: list[Job]) -> list[bytes | None]:
    drawer = EntryFigures()
    return [drawer.png(*job) for job in jobs]


def _place(fig, ncols: int, m: dict[str, float]) -> None:
    """Place the 2 x ncols panels with the margins and gaps ``m`` (inches)."""
    w, h = fig.get_size_inches()
    panel_w = (w - m["left"] - m["right"] - (ncols - 1) * m["wgap"]) / ncols
    panel_h = (h - m["top"] - m["bottom"] - (ROWS - 1) * m["hgap"]) / ROWS
    fig.subplots_adjust(
        left=m["left"] / w,
        right=1 - m["right"] / w,
        top=1 - m["top"] / h,
        bottom=m["bottom"] / h,
        wspace=m["wgap"] / panel_w,
        hspace=m["hgap"] / panel_h,
    )


def _break_long_label(ax) -> None:
    """Break a y label longer than its panel is high (it would run into the figure's title) into
    two lines, at the space nearest its middle."""
    label = ax.yaxis.label
    text = label.get_text()
    renderer = ax.figure.canvas.get_renderer()
    if " " not in text or label.get_window_extent(renderer).height <= ax.bbox.height:
        return
    cut = min((i for i, c in enumerate(text) if c == " "), key=lambda i: abs(2 * i - len(text)))
    label.set_text(text[:cut] + "\n" + text[cut + 1 :])


def _fit(fig, axes: np.ndarray) -> bool:
    """After a draw: widen the left margin or a column gap where a y label (which the draw put
    left of its tick labels) leaves the figure or reaches the panel on its left, and lift a
    title that meets its y axis' offset text (``1e-9``), as automatic placement would. True if
    anything moved: draw again."""
    m = dict(MARGINS)
    moved = False
    for ax in axes.flat:
        offset = ax.yaxis.offsetText
        if offset.get_visible() and offset.get_text() and ax.title.get_text():
            top, title = offset.get_window_extent(), ax.title.get_window_extent()
            if top.overlaps(title):
                ax.title.set_y(1.0 + (top.y1 - title.y0 + 1) / ax.bbox.height)
                moved = True
    for (i, j), ax in np.ndenumerate(axes):
        if not ax.yaxis.label.get_text():
            continue
        left = axes[i, j - 1].bbox.x1 if j else 0.0
        room = ax.yaxis.label.get_window_extent().x0 - left - _PAD_PX
        key = "wgap" if j else "left"
        if room < 0 and MARGINS[key] - room / DPI > m[key]:
            m[key] = MARGINS[key] - room / DPI
    if m != MARGINS:
        _place(fig, axes.shape[1], m)
        moved = True
    return moved


def _deviation_panel(ax, record: dict[str, Any], loss: str, clock, clock_name: str, cmap) -> None:
    """Each rung's seed-mean curve minus its limit, and the extrapolation's curve and simultaneous
    band (the first check that gives one, CheckResult.band), in % of the quantity's scale: the
    formula passes where 0 lies inside the band."""
    sizes = record["sizes"]
    band = next((c["band"][loss] for c in record["checks"] if loss in (c.get("band") or {})), None)
    last = sizes[-1]["curves"][loss]["limit"]
    if last is None or band is None:
        _set_scale(ax, "linear")
        ax.set_xlim(0, 1)
        ax.set_ylim(0, 1)
        ax.text(0.5, 0.5, "no extrapolation", transform=ax.transAxes, ha="center")
        return
    limit = np.asarray(last, dtype=float)
    scale = float(band.get("scale") or np.max(np.abs(limit)))
    for i, s in enumerate(sizes):
        cur = s["curves"][loss]
        dev = (np.asarray(cur["mean"]) - np.asarray(cur["limit"])) / scale * 100
        c = cmap(0.15 + 0.7 * i / max(1, len(sizes) - 1))
        ax.plot(clock, dev, color=c, lw=1.0, label=f"N={s['N']:g}")
    lo, hi = ((np.asarray(band[k]) - limit) / scale * 100 for k in ("low", "high"))
    ax.fill_between(clock, lo, hi, color="tab:red", alpha=0.3, lw=0, label="extrapolation band")
    ax.plot(
        clock, (np.asarray(band["center"]) - limit) / scale * 100, color="tab:red", lw=1.2, label="N -> inf"
    )
    ax.axhline(0.0, color="k", ls="--", lw=1.0, label="formula")
    ax.set_xlabel(clock_name)
    ax.set_ylabel("deviation, % of scale")
    ax.set_title(f"{loss}: deviation from the formula", fontsize=9, y=1.0)
    ax.legend(fontsize=7, loc="best", ncol=2)


def _error_panel(ax, record: dict[str, Any], loss: str) -> None:
    """Errors along the ladder (log-log) from the first check that reports them (CheckResult.rate),
    with the fitted and the declared rate."""
    rate = next((c["rate"][loss] for c in record["checks"] if loss in (c.get("rate") or {})), None)
    if rate is None:
        _set_scale(ax, "linear")
        ax.set_xlim(0, 1)
        ax.set_ylim(0, 1)
        ax.text(0.5, 0.5, "no rate measured", transform=ax.transAxes, ha="center")
        return
    eps = np.asarray(rate["eps"], dtype=float)
    errs = np.asarray(rate["errors"], dtype=float)
    ax.errorbar(
        eps, errs, yerr=rate.get("errors_se"), fmt="o-", capsize=3, label="error (bars: se over seeds)"
    )
    grid = np.geomspace(eps.min(), eps.max(), 20)
    positive = np.all(errs > 0)
    for p, style, name in (
        (rate.get("fitted_rate"), "k-", "fitted"),
        (rate.get("declared_rate"), "r:", "declared"),
    ):
        if p is not None and np.isfinite(p) and positive:
            pref = np.exp(np.mean(np.log(errs) - p * np.log(eps)))
            ax.plot(grid, pref * grid**p, style, lw=0.8, label=f"{name} rate {p:.2f}")
    ax.set_xlabel("eps = convergence.in")
    ax.set_ylabel("distance")
    ax.set_title(f"{loss}: distance vs eps (log-log)", fontsize=9, y=1.0)
    ax.legend(fontsize=7, loc="best")


def where_png(point, strength, cands, t, sim=None) -> bytes:
    """The run on the prism, and each candidate's predicted L/d over the simulated curve."""
    from matplotlib import colormaps

    from prismcat.report.prism_figure import draw, point_position

    if hasattr(point, "family"):
        return _family_where_png(point, cands, t, sim)
    fig = _figure(16, 4.8)
    axes = fig.subplots(1, 3, gridspec_kw={"width_ratios": [1.1, 1, 1]})
    draw(axes[0], {}, legend=False)
    xy = point_position(strength)
    axes[0].plot(*xy, "*", ms=18, color="crimson", mec="black", zorder=10)
    r = point.ratios
    axes[0].set_title(
        f"d={point.d}, k={point.k}, n={point.n}, sigma2={point.sigma2:g}\n"
        f"gamma={r['gamma']:.3g}, alpha={r['alpha']:.3g}, a={r['a']:.3g}, u={r['u']:.3g}",
        fontsize=9,
    )
    cmap = colormaps["tab10"]
    for ax, loss, label in ((axes[1], "train", "L_train / d"), (axes[2], "population", "L_pop / d")):
        if sim is not None:
            ax.plot(t, sim[loss], "k-", lw=2.5, alpha=0.6, label="simulation")
        for i, c in enumerate(cands):
            values = getattr(c, loss)
            if values is not None:
                dist = c.distance.get(loss)
                extra = f", dist {dist:.2g}" if dist is not None else ""
                ax.plot(
                    t,
                    values,
                    "--",
                    color=cmap(i % 10),
                    lw=1.5,
                    label=f"{c.entry.id} (score {c.score:.1f}{extra})",
                )
        ax.set_xlabel("t (model time)")
        ax.set_ylabel(label)
        _focus(
            ax,
            sim[loss]
            if sim is not None
            else next((getattr(c, loss) for c in cands if getattr(c, loss) is not None), None),
        )
        ax.set_title(f"{loss}: predicted limits" + (" over the run" if sim is not None else ""), fontsize=9)
        ax.legend(fontsize=7)
    fig.tight_layout()
    return png(fig)


def _family_where_png(point, cands, t, sim) -> bytes:
    """Another family's run: its geometry with the best-scoring cell marked, and the candidates'
    limits (each in its own quantity) over the simulated run."""
    from matplotlib import colormaps

    fig = _figure(11, 4.8)
    axes = fig.subplots(1, 2, gridspec_kw={"width_ratios": [1.1, 1]})
    top = cands[0].entry.cell.id if cands else None
    point.geometry.draw(axes[0], {top: "here"} if top else {})
    sizes = ", ".join(f"{k}={v:g}" for k, v in point.sizes.items())
    axes[0].set_title(f"{point.family.name} {point.geometry.title}\n{sizes}", fontsize=9)
    ax = axes[1]
    if sim is not None and "train" in sim:
        ax.plot(t, sim["train"], "k-", lw=2.5, alpha=0.6, label="simulation")
    cmap = colormaps["tab10"]
    for i, c in enumerate(cands):
        if c.train is not None:
            dist = c.distance.get("train")
            extra = f", dist {dist:.2g}" if dist is not None else ""
            ax.plot(
                t,
                c.train,
                "--",
                color=cmap(i % 10),
                lw=1.5,
                label=f"{c.entry.id} (score {c.score:.1f}{extra})",
            )
    ax.set_xlabel("t (model time)")
    ax.set_ylabel(cands[0].entry.spec_quantity("train") if cands else "")
    ax.legend(fontsize=7)
    fig.tight_layout()
    return png(fig)


def _focus(ax, reference) -> None:
    """Keep the y-range on the run (or the best candidate): a linear-response limit far outside
    its window would otherwise flatten every other curve."""
    if reference is None:
        return
    ref = np.asarray(reference, dtype=float)
    ref = ref[np.isfinite(ref)]
    if ref.size == 0:
        return
    lo, hi = ref.min(), ref.max()
    pad = max(0.15 * (hi - lo), 0.05 * max(abs(hi), abs(lo), 1e-12))
    ax.set_ylim(lo - pad, hi + pad)
