"""The canvas every figure is drawn on: matplotlib's Agg canvas without pyplot (nothing global to
register or close), and PNG bytes that depend only on the pixels (no metadata)."""

from __future__ import annotations

import io

DPI = 96


def figure(width: float, height: float):
    """A Figure on its own Agg canvas (no pyplot: nothing global to register or close)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), dpi=DPI)
    FigureCanvasAgg(fig)
    return fig


def encode(fig) -> bytes:
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
        return encode(fig)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI, bbox_inches="tight", metadata={"Software": None})
    return buf.getvalue()


def set_scale(ax, scale: str) -> None:
    if ax.get_xscale() != scale:
        ax.set_xscale(scale)
    if ax.get_yscale() != scale:
        ax.set_yscale(scale)
