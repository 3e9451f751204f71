# syntax=docker/dockerfile:1
# Build stage: wheels for the service and its dependencies.
FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY app ./app
RUN pip wheel --no-cache-dir --wheel-dir /wheels .

# Runtime stage: no compilers, a non-root user, migrations then the API.
FROM python:3.11-slim
# Production unless the operator says otherwise: the development JWT secret and the test
# clock are refused there (dev.py sets ENVIRONMENT=development for local runs).
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    ENVIRONMENT=production \
    DATABASE_URL=sqlite:////srv/data/dissent.db \
    MIGRATIONS_DIR=/srv/migrations
# WeasyPrint (issued documents as PDF) needs Pango and its font stack; the fonts themselves
# are packaged with the app.
RUN apt-get update \
 && apt-get install -y --no-install-recommends libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 \
 && rm -rf /var/lib/apt/lists/*
RUN useradd --create-home --uid 10001 dissent
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir /wheels/* && rm -rf /wheels
WORKDIR /srv
COPY migrations ./migrations
RUN mkdir -p /srv/data && chown dissent:dissent /srv/data
USER dissent
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD python -c "import sys, urllib.request; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8000/health/ready', timeout=4).status == 200 else 1)"
CMD ["sh", "-c", "dissent migrate && exec dissent serve --host 0.0.0.0 --port 8000"]
