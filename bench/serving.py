"""Which server serves plain HTTP: the same five requests under each candidate, with throughput and
the server processes' CPU per request (from /proc, so it holds on a noisy machine).

Requests: /healthz, a bare Django view (202, no I/O), a Django view inserting one row, a signed
1 KiB webhook ingest, GET /api/v1/agent/me. Candidates: uvicorn with the shipped settings (h11
with a head deadline), uvicorn with httptools, gunicorn gthread (deploy/gunicorn.conf.py), granian
(WSGI and ASGI), and the production layout (nginx -> gunicorn + uvicorn) end to end.
"""

from __future__ import annotations

from bench import harness

CONNECTIONS = 64
CANDIDATES = [
    ("uvicorn", harness.ASGI_APP),
    ("uvicorn-httptools", harness.ASGI_APP),
    ("gunicorn", harness.WSGI_APP),
    ("granian-wsgi", harness.WSGI_APP),
    ("granian-asgi", harness.ASGI_APP),
]


def requests_for(base: dict, token: str, signed: tuple[bytes, str]) -> dict[str, tuple[str, object]]:
    body, signature = signed
    board, webhook = base["board_id"], base["webhook_id"]
    return {
        "healthz": ("/healthz", harness.wrk_script("GET")),
        "bare_view": ("/bench/bare", harness.wrk_script("GET")),
        "insert_view": (
            f"/bench/insert/{board}/{webhook}",
            harness.wrk_script("POST", body, {"Content-Type": "application/json"}),
        ),
        "ingest": (
            f"/api/v1/boards/{board}/webhooks/{webhook}",
            harness.wrk_script(
                "POST", body, {"Content-Type": "application/json", "X-Hub-Signature-256": signature}
            ),
        ),
        "agent_get": (
            "/api/v1/agent/me",
            harness.wrk_script("GET", headers={"Authorization": f"Bearer {token}"}),
        ),
    }


def measure(target, requests: dict, seconds: int) -> dict:
    runs = {}
    for index, (name, (path, script)) in enumerate(requests.items()):
        # One second of one connection first: a fresh worker's first requests (imports, the
        # database connection) are not the steady state, and in a 2 s --quick window they can
        # outlast wrk's 2 s timeout and leave nothing measured. The smoke run, which only proves
        # each request is served, warms the server once.
        if index == 0 or not harness.smoke():
            harness.run_wrk(f"{target.url}{path}", script, connections=1, seconds=1, threads=1)
        runs[name] = harness.measured(
            [target],
            lambda p=path, s=script: harness.run_wrk(
                f"{target.url}{p}", s, connections=CONNECTIONS, seconds=seconds
            ),
        )
    return runs


def run(base: dict, quick: bool, *, candidates: list[tuple[str, str]] | None = None) -> dict:
    from bench.run_all import signed_body

    seconds = harness.sized(quick, full=10, quick_size=3, smoke_size=1)
    token = harness.seed("agents", "1")["token"]
    requests = requests_for(base, token, signed_body(base["secret"]))
    env = harness.production_env(DJANGO_SETTINGS_MODULE="bench.stack_ceiling")
    results: dict = {"seconds": seconds, "connections": CONNECTIONS, "servers": {}}
    # Quick (the smoke test): the two shipped servers only.
    for kind, app in candidates or (CANDIDATES[:1] + CANDIDATES[2:3] if quick else CANDIDATES):
        with harness.Server(app, env=env, kind=kind) as server:
            results["servers"][kind] = measure(server, requests, seconds)
    with harness.Layout(env=env) as layout:
        nginx_before = layout.nginx_cpu_seconds()
        results["servers"]["layout"] = measure(layout, requests, seconds)
        results["layout_nginx_cpu_seconds"] = round(layout.nginx_cpu_seconds() - nginx_before, 2)
    return results


def print_rows(results: dict) -> list[tuple]:
    rows = []
    for kind, runs in results["servers"].items():
        for name, run in runs.items():
            rows.append(
                (
                    f"{kind}: {name}",
                    f"{run['rate']:.0f}/s",
                    run["p50_ms"],
                    run["p99_ms"],
                    f"{run['cpu_ms_per_request']} ms CPU",
                    run["status_errors"] + run["timeouts"],
                )
            )
    return rows


if __name__ == "__main__":
    import json
    import sys

    harness.reset_database()
    seeded = harness.seed("base")
    only = [c for c in CANDIDATES if c[0] in sys.argv[1:]] or None
    out = run(seeded, "--quick" in sys.argv, candidates=only)
    for row in print_rows(out):
        print("  ".join(str(cell) for cell in row))
    print(json.dumps(out)[:200])
