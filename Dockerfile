# Halley in a container: `docker build -t halley .` then `docker compose up` (docker-compose.yml).
# Debian 12 (bookworm): its postgresql-client (15) gives `halley backup` pg_dump for PostgreSQL 15.
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    HALLEY_HOME=/data \
    HALLEY_HOST=0.0.0.0 \
    HALLEY_PORT=8050

RUN apt-get update \
    && apt-get install -y --no-install-recommends postgresql-client \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --user-group --home-dir /data --shell /usr/sbin/nologin halley \
    && mkdir -p /data \
    && chown halley:halley /data

WORKDIR /app
# Dependencies first (a layer that survives code changes), then the code. The install is
# editable because Dash serves assets/ from beside app.py.
COPY pyproject.toml README.md app.py ./
COPY dashboard ./dashboard
COPY models ./models
COPY layouts ./layouts
COPY callbacks ./callbacks
COPY assets ./assets
RUN pip install -e ".[postgres,celery]"

USER halley
VOLUME ["/data"]
EXPOSE 8050
HEALTHCHECK --interval=30s --timeout=5s --start-period=90s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/api/v1/health' % os.environ.get('HALLEY_PORT', '8050'), timeout=4)"]

# `docker run IMAGE` serves; `docker run IMAGE backup /data/backup.tar.gz` runs another command.
ENTRYPOINT ["halley"]
CMD ["serve", "--workers", "2"]
