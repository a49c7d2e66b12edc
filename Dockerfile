# Production image: gunicorn serving the dashboard; PostgreSQL and Redis come from outside.
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 \
    CAMPAIGN_DASH_ENV=production CAMPAIGN_DASH_DATA_DIR=/var/lib/campaign-dash

WORKDIR /app
COPY pyproject.toml README.md ./
COPY dashapp ./dashapp
COPY layouts ./layouts
COPY callbacks ./callbacks
COPY services ./services
COPY db ./db
RUN pip install --no-cache-dir . && useradd --system --home /app campaign \
    && mkdir -p /var/lib/campaign-dash && chown campaign /var/lib/campaign-dash

USER campaign
EXPOSE 8050
HEALTHCHECK --interval=30s --timeout=5s CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8050/healthz')"
# DATABASE_URL, REDIS_URL, SECRET_KEY and CAMPAIGN_DASH_PUBLIC_URL must be provided at run time.
CMD ["campaign-dash", "serve", "--host", "0.0.0.0", "--port", "8050"]
