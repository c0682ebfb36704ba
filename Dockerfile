# cxmock: mock server for the Checkmarx CxSAST SMTP Settings API, with its SMTP sink.
#
#   docker build -t cxmock .
#   docker run --rm -p 8080:8080 -p 2525:2525 -p 4650:4650 cxmock
#
# Podman: build with `podman build --format docker -t cxmock .`; its default OCI image format has no HEALTHCHECK,
# and `podman healthcheck run` then answers that the container has no healthcheck.
#
# BASE_IMAGE is any Debian-like image with python3 (>= 3.11) and its venv module: the official slim image by
# default, or a locally made one (scripts/container-smoke builds localhost/debian-python:bookworm offline).
# Dependencies: when the build context holds wheelhouse/ with a cxmock-*.whl (`pip wheel . -w wheelhouse`, built
# by the same Python minor version as the image), everything is installed from it with --no-index and no network;
# otherwise the project is built from the source in the context with the package index.
ARG BASE_IMAGE=python:3.12-slim

FROM ${BASE_IMAGE} AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    PYTHONDONTWRITEBYTECODE=1
COPY . /src
# `python3`, not `python`: the Debian base has only python3. The wheel glob is the file just built, not a package
# name, so there is no version to pin.
RUN python3 -m venv /opt/cxmock \
    && if [ -n "$(find /src/wheelhouse -maxdepth 1 -name 'cxmock-*.whl' 2>/dev/null)" ]; then \
           /opt/cxmock/bin/pip install --no-cache-dir --no-index --find-links /src/wheelhouse \
               /src/wheelhouse/cxmock-*.whl; \
       else \
           /opt/cxmock/bin/pip install --no-cache-dir /src; \
       fi \
    && /opt/cxmock/bin/cxmock --version

FROM ${BASE_IMAGE}
LABEL org.opencontainers.image.title="cxmock" \
      org.opencontainers.image.description="Mock server for the Checkmarx CxSAST SMTP Settings API, with an SMTP sink" \
      org.opencontainers.image.licenses="MIT"
RUN groupadd --gid 10001 cxmock \
    && useradd --uid 10001 --gid 10001 --no-log-init --create-home --home-dir /home/cxmock \
        --shell /usr/sbin/nologin cxmock
COPY --from=build /opt/cxmock /opt/cxmock
# Bind every interface inside the container (cxmock serve binds 127.0.0.1 by default) on cxmock serve's default
# ports, HTTP 8080, SMTP 2525, SMTPS 4650 (spelt out so that the HEALTHCHECK below reads CXMOCK_PORT). Override any
# CXMOCK_<OPTION> with -e, or pass flags after the image name.
# The admin API and dashboard (/_mock) answer localhost, IP addresses and the container's host name only (a guard
# against DNS rebinding): reached by a service name, pass it, e.g. -e CXMOCK_ALLOWED_HOSTS=cxmock (README, Security).
ENV PATH=/opt/cxmock/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    CXMOCK_HOST=0.0.0.0 \
    CXMOCK_PORT=8080 \
    CXMOCK_SMTP_HOST=0.0.0.0 \
    CXMOCK_SMTP_PORT=2525 \
    CXMOCK_SMTPS_PORT=4650
# numeric, so that runtimes enforcing runAsNonRoot can verify it
USER 10001:10001
WORKDIR /home/cxmock
EXPOSE 8080 2525 4650
# Through sh so that a changed CXMOCK_PORT is followed; `cxmock check` also reads CXMOCK_ADMIN_TOKEN.
HEALTHCHECK --interval=10s --timeout=5s --start-period=5s --retries=3 \
    CMD ["/bin/sh", "-c", "exec cxmock check --url \"http://127.0.0.1:${CXMOCK_PORT}\" --timeout 3"]
# Exec form: cxmock is PID 1 and handles SIGTERM/SIGINT itself (graceful stop, exit 0); no shell in between.
ENTRYPOINT ["cxmock", "serve"]
CMD []
