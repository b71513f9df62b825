"""The report as one self-contained HTML page (inline CSS and SVG; no script, no network),
from the template ``report.html.j2`` beside this module.

Rendered by jinja2 with autoescaping: every string that comes from OUTDIR (names,
messages, keys, code) is escaped; only the SVG figures, made here by matplotlib from
numbers, and code already escaped span by span, are inserted as markup.
"""
import os
from urllib.parse import quote

from markupsafe import Markup

TEMPLATE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "report.html.j2")


def link(relative_path):
    """A relative link to a file under OUTDIR (path segments percent-encoded)."""
    return quote(relative_path) if relative_path else ""


def render(context):
    """The page for ``context`` (see ``report.build``); figures are trusted SVG text."""
    from jinja2 import Environment
    environment = Environment(autoescape=True, trim_blocks=True, lstrip_blocks=True)
    for name in ("score_svg", "exercise_svg", "seconds_svg"):
        if context.get(name):
            context[name] = Markup(context[name])
    with open(TEMPLATE, encoding="utf-8") as fh:
        return environment.from_string(fh.read()).render(**context)
