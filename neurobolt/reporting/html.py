"""The report page: one self-contained HTML file (CSS inline, figures as base64 PNG)."""
from __future__ import annotations

import base64
import json
from html import escape

import pandas as pd

CSS = """
:root { --ink:#111827; --muted:#6b7280; --line:#e5e7eb; --card:#ffffff; --bg:#f5f6f8;
        --model:#2563eb; --ridge:#6b7280; --ceiling:#dc2626; }
* { box-sizing: border-box; }
body { margin:0; background:var(--bg); color:var(--ink);
       font:15px/1.5 -apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif; }
header { background:linear-gradient(135deg,#1e3a8a,#2563eb); color:#fff; padding:28px 40px 24px; }
header h1 { margin:0 0 4px; font-size:24px; font-weight:650; }
header .sub { opacity:.85; font-size:14px; }
.stats { display:flex; gap:16px; margin-top:20px; flex-wrap:wrap; }
.stat { background:rgba(255,255,255,.12); border:1px solid rgba(255,255,255,.25); border-radius:10px;
        padding:10px 18px; min-width:170px; }
.stat .value { font-size:28px; font-weight:700; font-variant-numeric:tabular-nums; }
.stat .label { font-size:12px; text-transform:uppercase; letter-spacing:.06em; opacity:.85; }
.stat .note { font-size:12px; opacity:.8; }
nav { background:#fff; border-bottom:1px solid var(--line); padding:8px 40px; position:sticky; top:0;
      z-index:1; font-size:13px; }
nav a { color:var(--model); text-decoration:none; margin-right:18px; }
main { max-width:1180px; margin:0 auto; padding:24px 40px 60px; }
section { background:var(--card); border:1px solid var(--line); border-radius:12px;
          padding:18px 24px 20px; margin-bottom:22px; }
section h2 { margin:0 0 6px; font-size:18px; }
p.lead { margin:0 0 12px; color:var(--muted); font-size:13.5px; }
img.figure { max-width:100%; height:auto; display:block; margin:8px auto 0; }
.notice { background:#fffbeb; border:1px solid #fcd34d; border-radius:8px; padding:10px 14px;
          font-size:13.5px; margin:8px 0; }
.notice.info { background:#eff6ff; border-color:#bfdbfe; }
table { border-collapse:collapse; font-size:13px; margin:8px 0; width:100%; }
th, td { padding:5px 10px; border-bottom:1px solid var(--line); text-align:left; vertical-align:top; }
th { background:#f9fafb; font-weight:600; color:#374151; position:sticky; top:0; }
td.num, th.num { text-align:right; font-variant-numeric:tabular-nums; }
tr:hover td { background:#f9fafb; }
tr.current td { font-weight:650; background:#eff6ff; }
.pos { color:#047857; } .neg { color:#b91c1c; }
details summary { cursor:pointer; color:var(--model); font-size:13.5px; margin-top:8px; }
.grid2 { display:grid; grid-template-columns:1fr 1fr; gap:20px; }
@media (max-width:900px) { .grid2 { grid-template-columns:1fr; } main, header, nav { padding-left:16px; padding-right:16px; } }
code { background:#f3f4f6; padding:1px 5px; border-radius:4px; font-size:12.5px; }
footer { color:var(--muted); font-size:12px; text-align:center; margin-top:10px; }
"""


def image(png: bytes, alt: str) -> str:
    data = base64.b64encode(png).decode("ascii")
    return f'<img class="figure" alt="{escape(alt)}" src="data:image/png;base64,{data}">'


def fmt(value, digits: int = 3) -> str:
    if value is None or (isinstance(value, float) and value != value):
        return "—"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return escape(str(value))


def table(frame: pd.DataFrame, numeric: set[str] = frozenset(), signed: set[str] = frozenset(),
          highlight: int | None = None, digits: int = 3,
          column_digits: dict[str, int] | None = None) -> str:
    head = "".join(f'<th class="{"num" if c in numeric else ""}">{escape(str(c))}</th>'
                   for c in frame.columns)
    rows = []
    for position, (_, row) in enumerate(frame.iterrows()):
        cells = []
        for column in frame.columns:
            value = row[column]
            places = (column_digits or {}).get(column, digits)
            if column in numeric:
                css = "num"
                if column in signed and isinstance(value, float) and value == value:
                    css += " pos" if value > 0 else " neg" if value < 0 else ""
                    text = f"{value:+.{places}f}"
                else:
                    text = fmt(float(value) if isinstance(value, (int, float)) and
                               not isinstance(value, bool) else value, places)
                cells.append(f'<td class="{css}">{text}</td>')
            else:
                cells.append(f"<td>{fmt(value)}</td>")
        css = ' class="current"' if position == highlight else ""
        rows.append(f"<tr{css}>{''.join(cells)}</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


def key_values(pairs: list[tuple[str, object]]) -> str:
    rows = "".join(f"<tr><th style='width:32%'>{escape(k)}</th><td>{_value(v)}</td></tr>"
                   for k, v in pairs)
    return f"<table>{rows}</table>"


def _value(value) -> str:
    if isinstance(value, (dict, list)):
        return f"<code>{escape(json.dumps(value))}</code>"
    return fmt(value, 4) if isinstance(value, float) else escape(str(value))


def flatten(config: dict, prefix: str = "") -> list[tuple[str, object]]:
    pairs = []
    for key, value in config.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict) and value:
            pairs += flatten(value, f"{name}.")
        else:
            pairs.append((name, value))
    return pairs


def stat(label: str, value: str, note: str = "") -> str:
    return (f'<div class="stat"><div class="label">{escape(label)}</div>'
            f'<div class="value">{value}</div><div class="note">{escape(note)}</div></div>')


def section(anchor: str, title: str, body: str, lead: str = "") -> str:
    lead_html = f'<p class="lead">{lead}</p>' if lead else ""
    return f'<section id="{anchor}"><h2>{escape(title)}</h2>{lead_html}{body}</section>'


def notice(text: str, kind: str = "") -> str:
    return f'<div class="notice {kind}">{text}</div>'


def page(title: str, subtitle: str, stats: list[str], sections: list[tuple[str, str, str]],
         footer: str) -> str:
    """``sections``: (anchor, nav label, section HTML)."""
    nav = "".join(f'<a href="#{a}">{escape(label)}</a>' for a, label, _ in sections)
    body = "".join(html for _, _, html in sections)
    return (
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
        f"<title>{escape(title)}</title><style>{CSS}</style></head><body>"
        f"<header><h1>{escape(title)}</h1><div class=\"sub\">{subtitle}</div>"
        f"<div class=\"stats\">{''.join(stats)}</div></header>"
        f"<nav>{nav}</nav><main>{body}<footer>{footer}</footer></main></body></html>\n"
    )
