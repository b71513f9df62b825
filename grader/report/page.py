"""The report as one self-contained HTML page (inline CSS and SVG; no script, no network).

Rendered by jinja2 with autoescaping: every string that comes from OUTDIR (names,
messages, keys, code) is escaped; only the SVG figures, made here by matplotlib from
numbers, and code already escaped span by span, are inserted as markup.
"""
from urllib.parse import quote

from markupsafe import Markup

TEMPLATE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
<title>{{ title }}</title>
<style>
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:0 auto;max-width:1180px;padding:1em 2em;color:#1d232b}
h1{font-size:1.6em;margin-bottom:.2em}h2{border-bottom:1px solid #d6dbe1;padding-bottom:.2em;margin-top:1.6em}
table{border-collapse:collapse;width:100%;margin:.5em 0}th,td{border-bottom:1px solid #e4e7eb;padding:.3em .5em;text-align:left;vertical-align:top}
th{background:#f3f5f7}td.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
.flag{background:#fff3cd;color:#7a5b00;border-radius:3px;padding:0 .4em;font-size:.85em;white-space:nowrap}
.bad{color:#a11}.ok{color:#2a6b2a}.muted{color:#66707a}code,pre{font:12px/1.35 ui-monospace,Menlo,Consolas,monospace}
pre.cmd{background:#f3f5f7;padding:.6em;overflow-x:auto}
.msg{margin:.1em 0 .4em 0}.msg code{background:#f6f7f9}
.bar{display:inline-block;height:.7em;background:#3b6ea8;vertical-align:middle}
.sidebyside{display:grid;grid-template-columns:1fr 1fr;gap:.8em}.sidebyside pre{border:1px solid #d6dbe1;padding:.5em;overflow:auto;max-height:32em;margin:0}
mark{background:#ffd75e}figure{margin:.5em 0}figure svg{max-width:100%;height:auto}
.counts span{margin-right:1.4em}
</style></head><body>
<h1>{{ title }}</h1>
<p class="counts">{% for status, n in counts.items() %}<span><b>{{ n }}</b> {{ status }}</span>{% endfor %}
<span><b>{{ n_submissions }}</b> submissions</span></p>
<p>Seed <b>{{ seed if seed is not none else "unknown" }}</b>. Regrade the whole class with exactly these cases:</p>
<pre class="cmd">{{ regrade }}</pre>

<h2 id="scores">Scores</h2>
{% if score_svg %}<figure>{{ score_svg }}</figure>{% else %}<p class="muted">No submission has a score.</p>{% endif %}
{% if score_summary %}<p>{{ score_summary }}</p>{% endif %}
<h3>Per exercise</h3>
{% if exercise_svg %}<figure>{{ exercise_svg }}</figure>{% endif %}

<h2 id="checks">Checks</h2>
<p>Over the {{ n_graded }} submission(s) whose module was imported and graded. Discrimination:
point-biserial correlation of passing the check with the rest of the score (near 0: the
check does not tell strong from weak submissions; negative: the strong ones fail it).</p>
<table><thead><tr><th>check</th><th>pass rate</th><th>discrimination</th><th>most common failures (numbers stripped)</th></tr></thead><tbody>
{% for c in checks %}{% set flag = ("everyone passes" if c.passed == c.n else "everyone fails") if c.says_nothing else "" %}
<tr class="check" id="check-{{ loop.index }}" data-check="{{ c.check }}" data-passed="{{ c.passed }}" data-n="{{ c.n }}" data-flag="{{ flag }}">
<td><code>{{ c.name }}</code>{% if flag %} <span class="flag">{{ flag }}: discriminates nothing</span>{% endif %}</td>
<td class="num">{{ "%.0f"|format(100 * c.pass_rate) }}% <span class="muted">({{ c.passed }}/{{ c.n }})</span><br><span class="bar" style="width:{{ (60 * c.pass_rate)|round(1) }}px"></span></td>
<td class="num">{{ "%+.2f"|format(c.discrimination) if c.discrimination is not none else "—" }}</td>
<td>{% for m in c.messages %}<div class="msg" data-count="{{ m.count }}"><b>{{ m.count }}×</b> <code class="template">{{ m.template }}</code><br><span class="muted">e.g. {% if links[m.example_key] %}<a href="{{ links[m.example_key] }}">{{ m.example_key }}</a>{% else %}{{ m.example_key }}{% endif %}:</span> {{ m.example }}</div>{% endfor %}</td>
</tr>{% endfor %}
</tbody></table>

<h2 id="problems">Timeouts and import failures</h2>
{% if problems %}<table><thead><tr><th>submission</th><th>who</th><th>status</th><th>reason</th><th>feedback</th></tr></thead><tbody>
{% for s in problems %}<tr class="problem" data-key="{{ s.key }}" data-status="{{ s.status }}"><td><code>{{ s.key }}</code></td><td>{{ s.who }}</td><td class="bad">{{ s.status }}</td><td>{{ s.reason }}</td>
<td>{% if links[s.key] %}<a href="{{ links[s.key] }}">feedback.md</a>{% else %}<span class="muted">none</span>{% endif %}</td></tr>{% endfor %}
</tbody></table>{% else %}<p class="ok">None: every submission imported and finished in time.</p>{% endif %}

<h2 id="time">Time per submission</h2>
{% if seconds_svg %}<figure>{{ seconds_svg }}</figure>{% endif %}
<table><thead><tr><th>submission</th><th>who</th><th>status</th><th>score</th><th>seconds</th><th>feedback</th></tr></thead><tbody>
{% for s in submissions %}<tr class="submission" data-key="{{ s.key }}" data-status="{{ s.status }}"><td><code>{{ s.key }}</code></td><td>{{ s.who }}</td>
<td class="{{ 'ok' if s.status == 'graded' else 'bad' }}">{{ s.status }}</td>
<td class="num">{{ "%g"|format(s.total) if s.total is not none else "—" }}{% if s.max %} / {{ "%g"|format(s.max) }}{% endif %}</td>
<td class="num">{{ "%.2f"|format(s.seconds) if s.seconds is not none else "—" }}</td>
<td>{% if links[s.key] %}<a href="{{ links[s.key] }}">feedback.md</a>{% else %}<span class="muted">none</span>{% endif %}</td></tr>{% endfor %}
</tbody></table>

{% if similarity is not none %}<h2 id="similarity">Code similarity</h2>
<p>{{ similarity.summary }} Evidence for a person to look at; it changes no grade.</p>
{% if similarity.pairs %}<table><thead><tr><th>pair</th><th>score</th><th>share of each file's code found in the other</th></tr></thead><tbody>
{% for p in similarity.pairs %}<tr class="pair" data-a="{{ p.a }}" data-b="{{ p.b }}" data-score="{{ "%.3f"|format(p.score) }}"><td><code>{{ p.a }}</code> · <code>{{ p.b }}</code></td><td class="num">{{ "%.2f"|format(p.score) }}</td>
<td class="num">{{ "%.0f"|format(100 * p.share_a) }}% · {{ "%.0f"|format(100 * p.share_b) }}%</td></tr>{% endfor %}
</tbody></table>
{% for v in similarity.views %}<h3>{{ v.a }} · {{ v.b }} ({{ "%.2f"|format(v.score) }})</h3>
<div class="sidebyside"><pre>{{ v.code_a }}</pre><pre>{{ v.code_b }}</pre></div>{% endfor %}
{% endif %}{% endif %}
<p class="muted">Written by <code>python -m grader report</code> from {{ source_files }}.</p>
</body></html>
"""


def link(relative_path):
    """A relative link to a file under OUTDIR (path segments percent-encoded)."""
    return quote(relative_path) if relative_path else ""


def render(context):
    """The page for ``context`` (see ``report.build``); figures are trusted SVG text."""
    from jinja2 import Environment
    environment = Environment(autoescape=True, trim_blocks=False)
    for name in ("score_svg", "exercise_svg", "seconds_svg"):
        if context.get(name):
            context[name] = Markup(context[name])
    return environment.from_string(TEMPLATE).render(**context)
