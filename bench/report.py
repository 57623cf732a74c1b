"""The README's Performance table from bench/results.json: `python -m bench.report [results.json]`."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from bench.run_all import RESULTS


def _met(targets: dict, name: str) -> str:
    target = targets.get(name)
    if target is None:
        return ""
    return f"{target['target']}: {'met' if target['met'] else '**missed**'}"


def rows(results: dict) -> list[tuple[str, str, str]]:
    targets = results.get("targets", {})
    out: list[tuple[str, str, str]] = []
    serving = results.get("serving", {}).get("servers", {})
    for request in ("healthz", "bare_view", "insert_view", "ingest", "agent_get"):
        cells = []
        for server in ("uvicorn", "uvicorn-httptools", "gunicorn", "granian-wsgi", "granian-asgi", "layout"):
            run = serving.get(server, {}).get(request)
            if run:
                cells.append(f"{server} {run['rate']:,.0f}/s {run['cpu_ms_per_request']} ms")
        if cells:
            out.append((f"serving `{request}` (req/s, CPU per request)", "; ".join(cells), ""))
    if "ingest" in results:
        r = results["ingest"]
        ingest, stack = r["ingest"], r["stack_ceiling"]
        out.append(
            (
                f"webhook ingest on gunicorn, signed 1 KiB, {r['connections']} connections, {r['seconds']} s",
                f"{ingest['rate']:,.0f} req/s, p50 {ingest['p50_ms']:,.0f} ms, "
                f"p99 {ingest['p99_ms']:,.0f} ms, {ingest['cpu_ms_per_request']} ms CPU per request "
                f"(+ PostgreSQL {ingest.get('postgres_cpu_ms_per_request')} ms)",
                _met(targets, "ingest_cpu_ms"),
            )
        )
        out.append(
            (
                "stack ceiling (Django view inserting one row, same server)",
                f"{stack['rate']:,.0f} req/s, {stack['cpu_ms_per_request']} ms CPU",
                "",
            )
        )
        out.append(
            ("ingest / stack ceiling", f"**{r['ratio_to_stack']}**", _met(targets, "ingest_to_stack_ceiling"))
        )
        exact = r["exact_check"]
        out.append(
            (
                f"exact check: {exact['sent']:,} signed POSTs, every 202 stored",
                f"{exact['accepted']:,} x 202 = {exact['rows_stored']:,} rows",
                "equal: " + ("met" if exact["rows_match_202s"] else "**missed**"),
            )
        )
    if "auth" in results:
        r = results["auth"]
        figures = " / ".join(f"{run['rate']:,.0f}" for run in r["runs"].values())
        cpu = " / ".join(str(run["cpu_ms_per_request"]) for run in r["runs"].values())
        out.append(
            (
                f"`GET /api/v1/agent/me` with {' / '.join(r['runs'])} agents (gunicorn)",
                f"{figures} req/s; {cpu} ms CPU",
                _met(targets, "agent_get_cpu_ms"),
            )
        )
        out.append(
            (
                "largest / 1-agent rate",
                f"**{r['ratio_largest_to_one']}**",
                _met(targets, "agents_largest_to_one"),
            )
        )
        out.append(
            (
                "agent GET / bare Django view (same server)",
                f"**{r['ratio_to_bare_view']}**",
                _met(targets, "agent_get_to_bare_view"),
            )
        )
    if "serving" in results:
        out.append(
            (
                "`/healthz` CPU per request (gunicorn)",
                f"{targets['healthz_cpu_ms']['value']} ms",
                _met(targets, "healthz_cpu_ms"),
            )
        )
    for key, run in results.get("live", {}).items():
        figure = (
            f"p50 {run.get('median_ms', '-')} ms, p99 {run.get('p99_ms', '-')} ms, "
            f"{run['accepted_per_second']} accepted/s, {run['lost']} of {run['accepted']:,} lost"
        )
        target = _met(targets, "live_p99_ms_at_50_per_second") if key == "at_50_per_second" else ""
        out.append((f"live through the layout, webhooks {run['target_rate']}/s", figure, target))
    if "board" in results:
        runs = results["board"]["runs"]
        pages = " / ".join(f"{run['board_page']['median_ms']:.0f}" for run in runs.values())
        apis = " / ".join(f"{run['task_list_api']['median_ms']:.0f}" for run in runs.values())
        out.append(
            (
                f"board page / task list API at {' / '.join(runs)} tasks",
                f"{pages} ms / {apis} ms",
                "flat queries: "
                + ("met" if all(results["board"]["query_count_flat"].values()) else "missed"),
            )
        )
    if "outbound" in results:
        r = results["outbound"]
        two = f"{r['two_workers']['rate']:.0f}" if "two_workers" in r else "-"
        out.append(
            (
                "deliveries to a local receiver, 1 / 2 worker processes",
                f"{r['one_worker']['rate']:.0f} / {two} per s",
                "",
            )
        )
    return out


def main(path: str | None = None) -> None:
    results = json.loads(Path(path or RESULTS).read_text())
    machine = results["machine"]
    load = ", ".join(f"{x:.1f}" for x in machine.get("load_average_at_start", []))
    print(
        f"Run: {machine['date']}, commit `{machine['commit']}`, {machine['cores']} cores "
        f"({machine['cpu_model']}), load average at start {load}."
    )
    print()
    print("| benchmark | figure | target |")
    print("|---|---|---|")
    for name, figure, target in rows(results):
        print(f"| {name} | {figure} | {target} |")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else None)
