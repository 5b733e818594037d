# The portal's production image: gunicorn (web), Celery worker and beat all run from it.
# See docker-compose.yml for how the pieces fit together.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_PROJECT_ENVIRONMENT=/opt/venv \
    PATH=/opt/venv/bin:$PATH

# DejaVu Sans: the audit trail page of a signed PDF is set in it (åäö and more).
RUN apt-get update && apt-get install -y --no-install-recommends fonts-dejavu-core \
    && rm -rf /var/lib/apt/lists/*
# pg_dump and pg_restore for `manage.py backup` and `restore` (README, Backups): the major version
# of compose's postgres:15, from PostgreSQL's own apt repository, as the base image's Debian
# release may ship another one.
ARG PG_MAJOR=15
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates postgresql-common \
    && /usr/share/postgresql-common/pgdg/apt.postgresql.org.sh -y \
    && apt-get install -y --no-install-recommends postgresql-client-${PG_MAJOR} \
    && rm -rf /var/lib/apt/lists/*
RUN pip install --no-cache-dir uv==0.13.8 \
    && groupadd --system --gid 10001 portal \
    && useradd --system --uid 10001 --gid portal --home-dir /app --no-create-home portal \
    && mkdir -p /app /srv/static /srv/media /srv/var \
    && chown portal:portal /srv/static /srv/media /srv/var

WORKDIR /app

# Dependencies first, so code changes do not reinstall them.
COPY pyproject.toml uv.lock ./
RUN uv sync --frozen --no-dev && rm -rf /root/.cache

COPY . .

ENV PORTAL_STATIC_ROOT=/srv/static \
    PORTAL_MEDIA_ROOT=/srv/media \
    PORTAL_VAR_DIR=/srv/var \
    PORTAL_MANIFEST_STATIC=true

USER portal

# Static files are collected into the image (hashed names, compressed). This step alone runs
# with PORTAL_DEBUG on: the image holds no secrets, and production (debug off) refuses to start
# without them. Compose copies the files into the volume nginx serves from.
RUN PORTAL_DEBUG=true PORTAL_VAR_DIR=/tmp/build-var \
    python manage.py collectstatic --noinput -v0 \
    && rm -rf /tmp/build-var

EXPOSE 8000

CMD ["gunicorn", "portal.wsgi:application", "--bind", "0.0.0.0:8000", "--workers", "4"]
