# syntax=docker/dockerfile:1
# rollout's image: a static (musl) binary on Debian bookworm with what user commands need.
# Releases publish it prebuilt (ghcr.io), so jobs start in seconds; build it yourself with
# `docker build -t rollout .` to test a fork.

FROM rust:1.95-alpine3.22 AS build
# C compilers for libgit2 (vendored) and ring.
RUN apk add --no-cache musl-dev make perl
WORKDIR /src
# Dependencies first, so source edits reuse the cached layer.
COPY Cargo.toml Cargo.lock ./
COPY crates/fake-github/Cargo.toml crates/fake-github/Cargo.toml
RUN mkdir -p src crates/fake-github/src \
    && echo 'fn main() {}' > src/main.rs && touch src/lib.rs \
    && touch crates/fake-github/src/lib.rs && echo 'fn main() {}' > crates/fake-github/src/main.rs \
    && cargo build --profile dist --locked --package rollout \
    && rm -rf src
COPY src src
RUN touch src/main.rs src/lib.rs && cargo build --profile dist --locked --package rollout

# Keep this stage as simple as tests/container/image.sh builds it: the same packages (what deploy
# scripts use; tests/image_packages.rs compares the two lists), the same files, the same entrypoint.
FROM debian:bookworm-slim
RUN apt-get update \
    && apt-get install -y --no-install-recommends bash ca-certificates curl git jq openssh-client \
    && rm -rf /var/lib/apt/lists/*
COPY --from=build /src/target/dist/rollout /usr/local/bin/rollout
RUN ln -s rollout /usr/local/bin/rollout-post
ENTRYPOINT ["/usr/local/bin/rollout"]
