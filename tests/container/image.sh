#!/usr/bin/env bash
# Builds the images the container tests run. No registry is reachable here, so Debian's base is
# stood in for: a debootstrap bookworm minbase root imported as docker.io/library/debian:bookworm-slim,
# then the project's Dockerfile is built exactly as written from a release tree
# (scripts/release-tree.sh, this machine's release binary as bin/linux-amd64/rollout), without pulling:
#   localhost/rollout-contract:test  rollout's image, built from the Dockerfile
#   the name action.yml gives        the same image, so a runner finds it as a user's would
#   localhost/rollout-job:test       the real-runner test's job container (`runs-on`): the same
#                                    packages without rollout, plus Debian's nodejs (act runs the
#                                    host form, a JavaScript action, with the job container's node)
#                                    and stubs of platform CLIs
# A Dockerfile that does not build fails this script, so it fails .ci/run.
# Usage: tests/container/image.sh  (ROLLOUT_ROOTFS=DIR keeps and reuses the base root file system
# there; .ci/run builds it once for both container tests; the job image's, with the packages and
# nodejs, is kept beside it as DIR-job). Needs root, podman, runc and debootstrap.
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$PWD

# What the image adds to Debian's minimal base: the Dockerfile installs these, and the job image gets
# them from debootstrap. tests/image_packages.rs holds this list and the Dockerfile's
# `apt-get install` line to the same packages.
PACKAGES="bash ca-certificates curl git jq openssh-client"

bin=$root/target/release/rollout
[ -x "$bin" ] || { echo "build first: cargo build --release --workspace" >&2; exit 1; }
export CONTAINERS_CONF=$root/tests/container/containers.conf
podman=(podman --runtime runc)
rootfs=${ROLLOUT_ROOTFS:-$root/target/container/rootfs}
action_image=$(sed -n 's|^ *image: *docker://||p' action.yml)
[ -n "$action_image" ] || { echo "action.yml names no docker:// image" >&2; exit 1; }

# A Debian bookworm minbase root file system with the packages $2 (comma-separated) in $1, once.
bootstrap() {
  local dir=$1 packages=$2
  [ -e "$dir/.complete" ] && return 0
  echo "--- debootstrap bookworm (minbase)${packages:+ + ${packages//,/ }}"
  rm -rf "$dir"; mkdir -p "$(dirname "$dir")"
  local log; log=$(mktemp)
  debootstrap --variant=minbase ${packages:+--include="$packages"} bookworm "$dir" http://deb.debian.org/debian >"$log" 2>&1 \
    || { tail -20 "$log"; echo "FAIL: debootstrap" >&2; exit 1; }
  rm -f "$log"
  rm -rf "$dir/var/cache/apt/archives/"*.deb "$dir/var/lib/apt/lists/"*
  touch "$dir/.complete"
}
# The base: a bare minbase root, under the name the Dockerfile's FROM gives.
bootstrap "$rootfs" ""
# The job container: the same packages and Debian's nodejs (node 18), for JavaScript actions.
jobfs=${rootfs}-job
bootstrap "$jobfs" "${PACKAGES// /,},nodejs"

extra=$(mktemp -d)
trap 'rm -rf "$extra"' EXIT
mkdir -p "$extra/job/usr/local/bin" "$extra/base/etc/apt/apt.conf.d" "$extra/base/etc/dpkg/dpkg.cfg.d"
# What Debian's official image adds to its root (debuerreotype's slim settings), so that the
# Dockerfile's apt-get behaves here as on the real base: no .deb archives or package caches kept,
# no documentation, manuals or translations installed by later packages.
cat > "$extra/base/etc/apt/apt.conf.d/docker-clean" <<'APT'
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
APT
echo 'Acquire::Languages "none";' > "$extra/base/etc/apt/apt.conf.d/docker-no-languages"
echo 'Acquire::GzipIndexes "true";' > "$extra/base/etc/apt/apt.conf.d/docker-gzip-indexes"
cat > "$extra/base/etc/dpkg/dpkg.cfg.d/docker" <<'DPKG'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/groff/*
path-exclude /usr/share/info/*
path-exclude /usr/share/lintian/*
path-exclude /usr/share/linda/*
path-exclude /usr/share/locale/*
DPKG
tar -C "$rootfs" --exclude=./.complete -c . -C "$extra/base" $(cd "$extra/base" && find . -type f) \
  | "${podman[@]}" import --quiet - docker.io/library/debian:bookworm-slim >/dev/null

# rollout's image: the Dockerfile as written, built from a release tree as the release workflow does.
echo "--- podman build the Dockerfile from a release tree"
bash scripts/release-tree.sh "$extra/tree" >/dev/null
build_log=$extra/build.log
if ! "${podman[@]}" build --network host --pull=never -t localhost/rollout-contract:test "$extra/tree" >"$build_log" 2>&1; then
  tail -30 "$build_log"
  echo "FAIL: the Dockerfile does not build (podman build of a release tree)" >&2
  exit 1
fi
"${podman[@]}" tag localhost/rollout-contract:test "$action_image"
"${podman[@]}" run --rm --network none --entrypoint /bin/sh localhost/rollout-contract:test -c \
  'test -x /usr/local/bin/rollout && test "$(readlink /usr/local/bin/rollout-post)" = rollout' \
  || { echo "FAIL: the built image lacks /usr/local/bin/rollout or rollout-post" >&2; exit 1; }
# The canary: the same tree, its Dockerfile's COPY naming a file the tree lacks, must fail to build
# (from the cached package layer, in seconds), or a broken Dockerfile could pass here unseen.
sed 's|^COPY bin/linux-${TARGETARCH}/rollout |COPY bin/linux-${TARGETARCH}/missing |' "$extra/tree/Dockerfile" > "$extra/broken.Dockerfile"
cmp -s "$extra/tree/Dockerfile" "$extra/broken.Dockerfile" && { echo "FAIL: the canary found no COPY line to break" >&2; exit 1; }
if "${podman[@]}" build --network host --pull=never -f "$extra/broken.Dockerfile" "$extra/tree" >"$extra/broken.log" 2>&1; then
  echo "FAIL: a Dockerfile copying a missing file built" >&2; exit 1
fi
echo "ok: the Dockerfile builds from the release tree; a broken one does not"

# The runner's stand-in: platform CLIs and package managers are stubs that record their arguments.
for cli in astro dagster-cloud wmill pip npm docker; do
  install -m 0755 tests/runner/stubs/stub "$extra/job/usr/local/bin/$cli"
done
tar -C "$jobfs" --exclude=./.complete -c . -C "$extra/job" $(cd "$extra/job" && find . -type f) \
  | "${podman[@]}" import --quiet - localhost/rollout-job:test >/dev/null

# The image's size: as podman stores it (uncompressed) and as a registry serves its layers (gzip).
size_bytes=$("${podman[@]}" image inspect --format '{{.Size}}' localhost/rollout-contract:test)
gzip_bytes=$("${podman[@]}" save localhost/rollout-contract:test | gzip -6 | wc -c)
base_bytes=$("${podman[@]}" image inspect --format '{{.Size}}' docker.io/library/debian:bookworm-slim)
echo "images: localhost/rollout-contract:test = $action_image (from the Dockerfile), localhost/rollout-job:test"
echo "image size: $((size_bytes / 1024 / 1024)) MiB uncompressed ($((base_bytes / 1024 / 1024)) MiB of it the minbase stand-in for bookworm-slim), $((gzip_bytes / 1024 / 1024)) MiB as podman save | gzip"
