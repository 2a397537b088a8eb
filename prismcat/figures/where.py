"""The picture of ``prismcat where``: the run on its family's geometry and the candidates' limits
over the run."""

from __future__ import annotations

import numpy as np

from prismcat.figures.canvas import figure, png
from prismcat.prism_drawing import draw, point_position


def where_png(point, strength, cands, t, sim=None) -> bytes:
    """The run on the prism, and each candidate's predicted L/d over the simulated curve."""
    from matplotlib import colormaps

    if hasattr(point, "family"):
        return _family_where_png(point, cands, t, sim)
    fig = figure(16, 4.8)
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

    fig = figure(11, 4.8)
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
