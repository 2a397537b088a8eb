"""An entry's evidence figure: per loss its curves against the limit, the deviation from the formula
with the extrapolation's band, and the distance against the small quantity (log-log).

A report draws many entry figures of one of two shapes (one or two loss columns), so
:class:`EntryFigures` keeps one figure per shape and redraws it for each entry: its axes, tick
artists and text-layout caches are made once. Each entry is drawn from a reset state (data
artists removed, data limits, scales, colour cycle, titles and margins restored), so an entry's
PNG does not depend on what was drawn before it: same record, same bytes. The margins are fixed
(no ``tight_layout`` and no ``bbox_inches="tight"``, each a further layout pass over every tick
label) and only widened, with a second draw, when a y label would leave the figure or run into
the panel on its left.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from prismcat.figures.canvas import DPI, encode, figure, set_scale

ENTRY_PANEL = (5.2, 9.6)  # an entry figure's width per loss column and its height, inches
ROWS = 3  # curves; deviation from the formula with the extrapolation's band; distance vs eps
# An entry figure's margins and the gaps between its panels, inches (what tight_layout gave).
MARGINS = {"left": 1.0, "right": 0.3, "top": 0.62, "bottom": 0.55, "wgap": 1.0, "hgap": 0.9}
_PAD_PX = 4  # the least room between a y label and whatever is on its left

Job = tuple[dict[str, Any], str, dict[str, "str | None"]]  # (record, clock name, quantities)


class EntryFigures:
    """Draws entry figures, reusing one figure per number of loss columns (see the module doc)."""

    def __init__(self) -> None:
        self._figures: dict[int, tuple[Any, np.ndarray]] = {}

    def _get(self, ncols: int):
        from matplotlib.transforms import Bbox

        if ncols not in self._figures:
            fig = figure(ENTRY_PANEL[0] * ncols, ENTRY_PANEL[1])
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
                set_scale(ax, scale)
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
        return encode(fig)


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
        set_scale(ax, "linear")
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
        set_scale(ax, "linear")
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


def entry_png(record: dict[str, Any], clock_name: str, quantities: dict[str, str | None]) -> bytes | None:
    """One entry's figure; a report draws them all with :func:`prismcat.figures.entry_pngs`."""
    return EntryFigures().png(record, clock_name, quantities)
