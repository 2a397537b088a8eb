"""The built-in presentation plugin: registers how the core's objects show themselves (notebook
HTML and Markdown, plots, figures, the report) as views, on the ``register_views`` hook.

The core asks ``registry().view(name)`` and never imports the presentation floor; this module is
loaded by the plugin manager like any built-in plugin (the way pytest loads its own features).
"""

from __future__ import annotations

from prismcat import display
from prismcat.hookspecs import hookimpl
from prismcat.registry import View
from prismcat.report.write import write_records

VIEWS = {
    "entry.html": display.entry_html,
    "entry.markdown": display.entry_markdown,
    "entry.plot": display.plot_entry,
    "prediction.html": display.prediction_html,
    "prediction.plot": display.plot_prediction,
    "simresult.html": display.simresult_html,
    "simresult.plot": display.plot_simresult,
    "entry_result.html": display.entry_result_html,
    "entry_result.plot": display.plot_record,
    "validation.html": display.validation_html,
    "validation.markdown": display.validation_markdown,
    "validation.report": write_records,
    "placement.html": display.placement_html,
    "placement.markdown": display.placement_markdown,
    "placement.png": display.placement_png,
    "placement.plot": display.plot_placement,
}


@hookimpl
def register_views(register):
    for name, function in VIEWS.items():
        register(View(name, function))
