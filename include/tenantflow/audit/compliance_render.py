"""The compliance report as Markdown, and as a small self-contained HTML page made from the same sections."""

from __future__ import annotations

import html
import json

from tenantflow.audit.compliance import LAST_EVENTS, ComplianceReport


def _cell(value: object) -> str:
    return "-" if value in (None, "", ()) else str(value).replace("|", "\\|")


def _table(header: list[str], rows: list[list[object]]) -> list[str]:
    if not rows:
        return ["(none)", ""]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(_cell(c) for c in row) + " |" for row in rows]
    return [*lines, ""]


def _details(details: dict) -> str:
    """Long lists (a role's granted permissions) as their length: the report is for reading."""
    short = {k: (f"{len(v)} items" if isinstance(v, list) and len(v) > 3 else v) for k, v in details.items()}
    return json.dumps(short, sort_keys=True)


def sections(report: ComplianceReport) -> list[tuple[str, list[str]]]:
    """(title, markdown lines) of each section, shared by both formats."""
    masked = {(c.table, c.column) for c in report.columns if c.masking and c.masking != "none"}
    out = [
        ("Tables and classification", _table(
            ["table", "pipeline", "classification (catalog)", "classification (config)"],
            [[t.identifier, t.pipeline, t.classification, t.configured] for t in report.tables])),
        ("PII columns and masking", _table(
            ["table", "column", "PII", "classification", "masking applied", "declared in config"],
            [[c.table, c.column, c.pii, c.classification, c.masking or "none", c.declared] for c in report.columns])
            + [f"{len(masked)} of {len(report.columns)} PII column(s) masked.", ""]),
        ("Retention (configured vs platform bound)", _table(
            ["pipeline", "data", "configured", "platform bound", "effective"],
            [[r.pipeline, r.kind, r.configured or "(platform default)", r.bound or "unbounded", r.effective
              or "kept until deleted"] for r in report.retention])),
        ("Access review", [f"Source: {report.access_source}.", "", *_table(
            ["role", "users (config)", "users (metadata DB)"],
            [[a.role, ", ".join(a.configured), "n/a" if a.actual is None else ", ".join(a.actual) or "(none)"]
             for a in report.access])]),
    ]
    counts = _table(["action", "events"], [[a, n] for a, n in report.counts.items()])
    last = report.events[-LAST_EVENTS:][::-1]
    events = _table(["time (UTC)", "actor", "action", "target", "run", "details"],
                    [[e.at.strftime("%Y-%m-%d %H:%M:%S"), e.actor, e.action, e.target, e.run_id,
                      _details(dict(e.details))] for e in last])
    out.append((f"Audit events ({report.span.describe()})",
                [f"{len(report.events)} event(s).", "", *counts, f"Last {min(LAST_EVENTS, len(last))}:", "",
                 *events]))
    return out


def markdown(report: ComplianceReport) -> str:
    lines = [f"# Compliance report: {report.tenant_id} ({report.display_name})", "",
             f"Generated {report.generated_at.strftime('%Y-%m-%d %H:%M UTC')}; tenant classification "
             f"**{report.classification}**; period {report.span.describe()}.", ""]
    lines += [f"> {note}" for note in report.notes] + ([""] if report.notes else [])
    for title, body in sections(report):
        lines += [f"## {title}", "", *body]
    return "\n".join(lines).rstrip() + "\n"


def _html_block(lines: list[str]) -> str:
    out, rows = [], []

    def flush() -> None:
        if rows:
            head, *body = rows
            out.append("<table><tr>" + "".join(f"<th>{html.escape(c)}</th>" for c in head) + "</tr>"
                       + "".join("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in r) + "</tr>" for r in body)
                       + "</table>")
            rows.clear()

    for line in lines:
        if line.startswith("|---"):
            continue
        if line.startswith("| "):
            rows.append([c.strip().replace("\\|", "|") for c in line.strip()[1:-1].split(" | ")])
            continue
        flush()
        if line:
            out.append(f"<p>{html.escape(line)}</p>")
    flush()
    return "\n".join(out)


def html_page(report: ComplianceReport) -> str:
    title = f"Compliance report: {report.tenant_id} ({report.display_name})"
    intro = (f"Generated {report.generated_at.strftime('%Y-%m-%d %H:%M UTC')}; tenant classification "
             f"<b>{html.escape(report.classification)}</b>; period {html.escape(report.span.describe())}.")
    body = [f"<h1>{html.escape(title)}</h1>", f"<p>{intro}</p>", *(f"<p><i>{html.escape(n)}</i></p>"
                                                                     for n in report.notes)]
    for heading, lines in sections(report):
        body += [f"<h2>{html.escape(heading)}</h2>", _html_block(lines)]
    style = ("body{font-family:sans-serif;margin:2em;max-width:70em}table{border-collapse:collapse;margin:.5em 0}"
             "td,th{border:1px solid #ccc;padding:.2em .5em;text-align:left;font-size:.9em}th{background:#f3f3f3}")
    return (f"<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>{html.escape(title)}</title>"
            f"<style>{style}</style></head><body>\n" + "\n".join(body) + "\n</body></html>\n")


FORMATS = {"markdown": markdown, "html": html_page}
