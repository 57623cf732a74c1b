# Mission Control production image: multi-stage, non-root, with a health check.
FROM python:3.11-slim AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 UV_PROJECT_ENVIRONMENT=/venv UV_LINK_MODE=copy
WORKDIR /src
COPY pyproject.toml uv.lock ./
# Exactly the versions of uv.lock (hash-checked), refusing a lock that is out of date.
RUN pip install uv==0.13.9 && uv sync --locked --no-install-project --no-cache
COPY . .
# Production mode (DEBUG=0) serves the hashed manifest, so collect in production mode too.
RUN DEBUG=0 ALLOWED_HOSTS=build SECRET_KEY=collectstatic-only-not-a-runtime-secret-00000000 \
    /venv/bin/python manage.py collectstatic --noinput

FROM python:3.11-slim
ENV PATH=/venv/bin:$PATH PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1 DATA_DIR=/data \
    GUNICORN_BIND=0.0.0.0:8000
RUN apt-get update && apt-get install -y --no-install-recommends postgresql-client curl \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --create-home --uid 10001 mc && mkdir -p /data/backups /data/beat && chown -R mc /data
COPY --from=build /venv /venv
COPY --from=build --chown=mc /src /app
WORKDIR /app
USER mc
EXPOSE 8000
HEALTHCHECK --interval=15s --timeout=3s --start-period=20s --retries=3 \
    CMD curl -fsS http://127.0.0.1:8000/healthz || exit 1
# Plain HTTP: gunicorn with the versioned settings (finishes in-flight requests on SIGTERM).
# The websocket/SSE server runs from the same image: python -m infra.serving (compose.yml).
# Neither rewrites the client address from proxy headers; TRUSTED_PROXY_COUNT decides (docs/security.md).
CMD ["gunicorn", "-c", "deploy/gunicorn.conf.py", "missioncontrol.wsgi:application"]
