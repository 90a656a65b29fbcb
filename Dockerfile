# The erp-sync-operator image: one image for the operator (`erp-sync operator`, the default command)
# and for the sync workers (`erp-sync-worker ...`, the command the operator's CronJobs set), so the
# chart can make the workers' default image the operator's own.
#
#   docker build -t ghcr.io/erp-sync-operator/erp-sync-operator:0.1.0 .
#   make image      (here: podman, on a stand-in for the base; docs/image.md)
#
# Linted by hadolint (`make lint`); the built image is tested by tests/ship/test_image.py and run by
# tests/worker/test_image.py and tests/operator/test_image.py.

# The base, pinned to a full patch version (the same Python minor version as constraints.txt was
# resolved with). Both stages use it, so the virtualenv's interpreter symlinks stay valid.
ARG PYTHON_IMAGE=python:3.11.17-slim-bookworm

# ---- builder: the project and its dependencies into a virtualenv at /opt/venv --------------------
FROM ${PYTHON_IMAGE} AS builder

# binutils for `strip`, in this stage only. The wheels' compiled modules carry symbol tables that
# nothing uses at run time: stripped, the image is 18 MB smaller (docs/benchmarks.md). Pinned to
# bookworm's version (hadolint DL3008): a Debian point release that changes it fails the build loudly.
RUN apt-get update \
    && apt-get install -y --no-install-recommends binutils=2.40-2 \
    && rm -rf /var/lib/apt/lists/*

RUN python -m venv /opt/venv
# The virtualenv's pip and python first on PATH (so hadolint sees the `pip install` below, too).
ENV PATH=/opt/venv/bin:$PATH \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /src
# Only what `pip install .` reads: the project metadata, the exact pins and the two package roots.
# README.md is pyproject.toml's `readme`. Every dependency ships wheels, so no compiler is needed.
COPY pyproject.toml constraints.txt README.md ./
COPY operator/ operator/
COPY sync-jobs/ sync-jobs/

# A regular (non-editable) install of the distribution without the dev extra, every version pinned
# by constraints.txt; pip compiles the bytecode here, as the final root filesystem is read-only.
# No extra: the kubectl plugin's Kubernetes client (the `plugin` extra) runs on users' machines, not
# here. pip and setuptools leave the virtualenv once it is checked: nothing runs them at run time.
RUN pip install --no-cache-dir -c constraints.txt . \
    && pip check \
    && pip uninstall --yes --quiet pip setuptools \
    && find /opt/venv -type f -name '*.so*' -exec strip --strip-unneeded {} +

# ---- final: the same base, the virtualenv only (no source tree, no pip cache, no compilers) -------
FROM ${PYTHON_IMAGE}

ARG VERSION=0.1.0
LABEL org.opencontainers.image.title="erp-sync-operator" \
      org.opencontainers.image.description="Declarative ERP -> Procore sync schedules: the Kubernetes operator and its sync workers" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.licenses="Apache-2.0"

# A numeric non-root user, so Kubernetes' runAsNonRoot can verify it without a passwd lookup.
RUN groupadd --system --gid 65532 erpsync \
    && useradd --system --uid 65532 --gid 65532 --no-create-home --home-dir /nonexistent \
        --shell /usr/sbin/nologin erpsync

COPY --from=builder /opt/venv /opt/venv

ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1

USER 65532:65532

# No entrypoint: the operator's Deployment runs the default command, the workers' CronJobs set
# `erp-sync-worker ...` as their command.
ENTRYPOINT []
CMD ["erp-sync", "operator", "--all-namespaces"]
