# The code-location image: the lake's Dagster definitions served over gRPC, and the image
# every run worker and step pod starts from (K8sRunLauncher, k8s_job_executor).
#
#   docker build -t registry.example.com/alignment-lake:$(git rev-parse --short HEAD) .
#
# See docs/deploy.md. Dependencies come from uv.lock exactly (no dev group): the default set
# plus the `distributed` extra (dagster-postgres, dagster-k8s).

FROM python:3.11-slim-bookworm

ARG UV_VERSION=0.13.9
# The image has no .git: label it with the commit it was built from
#   docker build --build-arg GIT_COMMIT=$(git rev-parse HEAD) ...
ARG GIT_COMMIT=unknown
LABEL org.opencontainers.image.source="alignment-lake" \
      org.opencontainers.image.revision="${GIT_COMMIT}"

ENV GIT_COMMIT=${GIT_COMMIT} \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    UV_PROJECT_ENVIRONMENT=/opt/venv \
    UV_PYTHON_DOWNLOADS=never \
    UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_NO_CACHE=1 \
    PATH=/opt/venv/bin:$PATH \
    PYTHONPATH=/opt/lake \
    DAGSTER_HOME=/opt/dagster/dagster_home

RUN pip install --no-cache-dir "uv==${UV_VERSION}" \
    && useradd --create-home --uid 10001 lake \
    && mkdir -p /opt/lake "${DAGSTER_HOME}" \
    && chown lake:lake "${DAGSTER_HOME}"

WORKDIR /opt/lake

# Dependencies first, in their own layer: rebuilt only when the lock changes.
COPY pyproject.toml uv.lock ./
RUN uv sync --frozen --no-dev --extra distributed --no-install-project

# The code (.dockerignore keeps out the venv, the lake, tests and caches).
COPY --chown=lake:lake . .
RUN uv sync --frozen --no-dev --extra distributed \
    && python -c "import orchestration.definitions, dagster_k8s, dagster_postgres"

USER lake

# The gRPC code server the webserver and daemon load definitions from. The Helm chart runs
# the same command from `codeServerArgs` (deploy/values.yaml).
EXPOSE 4000
CMD ["dagster", "code-server", "start", "-h", "0.0.0.0", "-p", "4000", "-m", "orchestration.definitions"]
