# syntax=docker/dockerfile:1
# rollout's image: Debian bookworm slim, what user commands need, and the prebuilt static (musl)
# rollout binary. Nothing is compiled here: the build context is a release tree
# (scripts/release-tree.sh OUT), which holds bin/linux-<arch>/rollout for each architecture.
# Releases publish it prebuilt (ghcr.io, pinned by digest in the release tag's action.yml). To build
# it yourself:
#   cargo build --release --locked && scripts/release-tree.sh OUT && docker build -t rollout OUT
# Keep it as tests/container/image.sh lists it: the same packages (what deploy scripts use;
# tests/image_packages.rs compares the two lists).
FROM debian:bookworm-slim
RUN apt-get update \
    && apt-get install -y --no-install-recommends bash ca-certificates curl git jq openssh-client \
    && rm -rf /var/lib/apt/lists/*
# Docker's build argument for the platform being built: amd64 or arm64.
ARG TARGETARCH
COPY bin/linux-${TARGETARCH}/rollout /usr/local/bin/rollout
RUN ln -s rollout /usr/local/bin/rollout-post
ENTRYPOINT ["/usr/local/bin/rollout"]
