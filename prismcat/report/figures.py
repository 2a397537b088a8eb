"""Figures as PNG bytes (matplotlib, Agg): per entry its curves and its error against N."""

from __future__ import annotations

import io
from typing import Any

import numpy as np


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def png(fig) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=96, bbox_inches="tight", metadata={"Software": None})
    _pyplot().close(fig)
    return buf.getvalue()


def prism_png(status: dict[str, str]) -> bytes:
    from prismcat.report.prism_figure import draw

    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6.0, 4.6))
    draw(ax, status)
    ax.set_title("The prism, coloured by validation status", fontsize=10)
    return png(fig)


def entry_png(record: dict[str, Any], clock_name: str, quantities: dict[str, str | None]) -> bytes | None:
    """Curves (limit over the seed-mean curves with seed bands) and error vs eps (log-log)."""
    sizes = record["sizes"]
    if not sizes:
        return None
    plt = _pyplot()
    losses = [loss for loss in ("train", "population") if loss in sizes[0]["curves"]]
    fig, axes = plt.subplots(2, len(losses), figsize=(5.2 * len(losses), 6.6), squeeze=False)
    clock = np.asarray(record["clock"])
    cmap = plt.get_cmap("viridis")
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
        ax.set_xlabel(clock_name)
        ax.set_ylabel(quantities.get(loss) or loss)
        ax.set_title(f"{loss}: seed mean and seed range vs limit", fontsize=9)
        ax.legend(fontsize=7)
        ax = axes[1, j]
        _error_panel(ax, record, loss)
    fig.suptitle(f"{record['id']}  [{record['status']}]", fontsize=11)
    fig.tight_layout()
    return png(fig)


def _error_panel(ax, record: dict[str, Any], loss: str) -> None:
    sizes = record["sizes"]
    eps = np.array([s["eps"][loss] for s in sizes])
    stat = record["settings"].get("statistic", "mean_curve")
    conv = next((c for c in record["checks"] if c["checker"] in ("convergence", "cauchy")), None)
    if loss in sizes[0]["errors"]:
        errs = np.array([s["errors"][loss][stat] for s in sizes])
        sd = np.array([s["errors"][loss]["seed_sd"] for s in sizes])
        ax.errorbar(eps, errs, yerr=sd, fmt="o-", capsize=3, label=f"{stat} (bars: seed sd)")
        tol = record["settings"]["tolerance"].get(loss)
        if tol:
            ax.axhline(tol, color="grey", ls=":", label=f"tolerance {tol:g}")
    elif conv and loss in conv["details"]:
        diffs = conv["details"][loss]["differences"]
        ax.plot(eps[1:], diffs, "o-", label="successive differences")
        errs = np.array(diffs)
        eps = eps[1:]
    else:
        ax.text(0.5, 0.5, "no limit formula", transform=ax.transAxes, ha="center")
        return
    if conv and loss in conv["details"] and conv["details"][loss].get("fitted_rate") is not None:
        rate = conv["details"][loss]["fitted_rate"]
        if np.isfinite(rate) and np.all(errs > 0):
            pref = np.exp(np.mean(np.log(errs) - rate * np.log(eps)))
            grid = np.geomspace(eps.min(), eps.max(), 20)
            ax.plot(grid, pref * grid**rate, "k-", lw=0.8, label=f"fitted rate {rate:.2f}")
        declared = conv["details"].get("declared_rate")
        if declared and np.all(errs > 0):
            pref = np.exp(np.mean(np.log(errs) - declared * np.log(eps)))
            grid = np.geomspace(eps.min(), eps.max(), 20)
            ax.plot(grid, pref * grid**declared, "r:", lw=0.8, label=f"declared rate {declared:g}")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("eps = convergence.in")
    ax.set_ylabel("distance")
    ax.set_title(f"{loss}: distance vs eps (log-log)", fontsize=9)
    ax.legend(fontsize=7)


def where_png(point, strength, cands, t, sim=None) -> bytes:
    """The run on the prism, and each candidate's predicted L/d over the simulated curve."""
    from prismcat.report.prism_figure import draw, point_position

    plt = _pyplot()
    fig, axes = plt.subplots(1, 3, figsize=(16, 4.8), gridspec_kw={"width_ratios": [1.1, 1, 1]})
    draw(axes[0], {}, legend=False)
    xy = point_position(strength)
    axes[0].plot(*xy, "*", ms=18, color="crimson", mec="black", zorder=10)
    r = point.ratios
    axes[0].set_title(
        f"d={point.d}, k={point.k}, n={point.n}, sigma2={point.sigma2:g}\n"
        f"gamma={r['gamma']:.3g}, alpha={r['alpha']:.3g}, a={r['a']:.3g}, u={r['u']:.3g}",
        fontsize=9,
    )
    cmap = plt.get_cmap("tab10")
    for ax, loss, label in ((axes[1], "train", "L_train / d"), (axes[2], "population", "L_pop / d")):
        if sim is not None:
            ax.plot(t, sim[loss], "k-", lw=2.5, alpha=0.6, label="simulation")
        for i, c in enumerate(cands):
            values = getattr(c, loss)
            if values is not None:
                dist = c.distance.get(loss)
                extra = f", dist {dist:.2g}" if dist is not None else ""
                ax.plot(t, values, "--", color=cmap(i % 10), lw=1.5, label=f"{c.entry.id} (score {c.score:.1f}{extra})")
        ax.set_xlabel("t (model time)")
        ax.set_ylabel(label)
        _focus(ax, sim[loss] if sim is not None else next((getattr(c, loss) for c in cands if getattr(c, loss) is not None), None))
        ax.set_title(f"{loss}: predicted limits" + (" over the run" if sim is not None else ""), fontsize=9)
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
