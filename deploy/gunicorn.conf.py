"""gunicorn: plain HTTP (pages, the API, webhook ingest) behind nginx; see docs/operations.md.

    gunicorn -c deploy/gunicorn.conf.py missioncontrol.wsgi:application

Threads, not processes, carry the concurrency: a request mostly waits on PostgreSQL and Redis,
and each process holds its own connection pool. Values come from the same environment as the
app (.env.example, "serving"); the bind address from GUNICORN_BIND.
"""

import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "missioncontrol.settings")
from missioncontrol import settings as mc

bind = [os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")]
# gunicorn 24+ opens a control socket (gunicornc) at ~/.gunicorn/gunicorn.ctl by default: one path
# per user, so a second gunicorn of the same user on the host (two web processes, a test run)
# takes it over. Nothing here uses it: off unless GUNICORN_CONTROL_SOCKET names a path of its own.
control_socket = os.environ.get("GUNICORN_CONTROL_SOCKET", "")
control_socket_disable = not control_socket
worker_class = "gthread"
workers = mc.WEB_CONCURRENCY
threads = mc.WEB_THREADS
# A request still running after this is cut off and its worker restarted.
timeout = mc.SERVER_TIMEOUT_SECONDS
graceful_timeout = 20
keepalive = mc.KEEPALIVE_SECONDS
# Request heads: bounded in size (an 8 MB header is refused with 400). Their read time is bounded
# by nginx in front (client_header_timeout); gunicorn is never exposed directly.
limit_request_line = 8190
limit_request_fields = 100
limit_request_field_size = mc.MAX_HEADER_BYTES
# Trust no proxy header: the app alone decides how far X-Forwarded-For is believed
# (TRUSTED_PROXY_COUNT), and the scheme comes from SECURE_PROXY_SSL_HEADER, which follows it.
forwarded_allow_ips = ""
secure_scheme_headers = {}
proxy_allow_ips = ""
# Access lines come from nginx; errors as the app's JSON logs go to stderr.
accesslog = None
errorlog = "-"
loglevel = os.environ.get("LOG_LEVEL", "info").lower()
# Each worker imports the app itself: a forked copy of one loaded app would share its
# connection pools and the realtime publisher thread.
preload_app = False


def child_exit(server, worker) -> None:
    """Multi-process metrics (PROMETHEUS_MULTIPROC_DIR): drop a dead worker's live gauges."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)
