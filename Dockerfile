# One Dockerfile for every capstone:  docker build --build-arg PROJECT=todo-api -t todo-api .
# Multi-stage: compile in the Rust image, ship only the binary on a small Debian base.
ARG PROJECT=todo-api

FROM rust:1-bookworm AS build
ARG PROJECT
WORKDIR /src
COPY . .
# The cache mounts keep the registry and target dir between builds on the same machine.
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release -p "$PROJECT" && cp "target/release/$PROJECT" /app

FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates curl \
    && rm -rf /var/lib/apt/lists/* && useradd --system --create-home app
USER app
WORKDIR /home/app
COPY --from=build /app /usr/local/bin/app
# Listen on all interfaces inside the container; data (SQLite, dev secret) under ./var.
ENV HOST=0.0.0.0 RUST_LOG=info
EXPOSE 8081 8082 8083 8084
HEALTHCHECK --interval=10s --timeout=3s CMD curl -fs "http://127.0.0.1:${PORT:-8081}/health" || exit 1
ENTRYPOINT ["/usr/local/bin/app"]
