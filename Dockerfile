# One Dockerfile for every capstone:  docker build --build-arg PROJECT=todo-api -t todo-api .
# Multi-stage: compile in the Rust image, ship only the binary on a small Debian base.
# Checked by hadolint in .ci/run; built and started for each capstone by the CI docker job.
ARG PROJECT=todo-api

FROM rust:1.95-bookworm AS build
ARG PROJECT
WORKDIR /src
COPY . .
# --locked: the versions in Cargo.lock, as tested, or the build fails. postgres-tls: libpq with
# OpenSSL (this image has libssl-dev), for managed databases' `sslmode=require`; otel: traces
# to a collector when OTEL_EXPORTER_OTLP_ENDPOINT is set. The cache mounts keep
# the registry and the target dir between builds on the same machine (the dependencies are
# compiled once, not on every change to the code).
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked -p "$PROJECT" --features postgres-tls,otel && cp "target/release/$PROJECT" /app

FROM debian:bookworm-slim
ARG PROJECT
ARG SOURCE_URL=""
ARG REVISION=""
LABEL org.opencontainers.image.title="$PROJECT" \
      org.opencontainers.image.description="Backend Roadmap Capstones: $PROJECT" \
      org.opencontainers.image.licenses="MIT" \
      org.opencontainers.image.source="$SOURCE_URL" \
      org.opencontainers.image.revision="$REVISION"
# ca-certificates brings OpenSSL's libssl3 (libpq's TLS) and the CAs TLS connections check.
# hadolint ignore=DL3008
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates curl \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --user-group --create-home app
# A numeric user: Kubernetes' runAsNonRoot can check it without an /etc/passwd lookup.
USER 10001:10001
WORKDIR /home/app
COPY --from=build /app /usr/local/bin/app
# Inside a container every capstone listens on 8080 (the port platforms such as Fly.io,
# Render and Cloud Run expect); map it to any host port: docker run -p 8081:8080 …
# Data (SQLite, the development secret) goes under ./var, i.e. /home/app/var.
# SOURCE_URL: the landing page links the source the image was built from.
ENV HOST=0.0.0.0 PORT=8080 RUST_LOG=info SOURCE_URL=$SOURCE_URL
# 9082: the url-shortener's gRPC API (GRPC_PORT); the other capstones do not listen on it.
EXPOSE 8080 9082
# Follows PORT if it is changed at run time (the shell expands it when the check runs).
HEALTHCHECK --interval=10s --timeout=3s CMD ["sh", "-c", "curl -fs \"http://127.0.0.1:${PORT}/health\" || exit 1"]
ENTRYPOINT ["/usr/local/bin/app"]
