#!/usr/bin/env bash
# Builds the images the container tests run, from a Debian bookworm root file system (no registry
# is reachable here, so the Dockerfile's `FROM debian:bookworm-slim` cannot be pulled):
#   localhost/rollout-contract:test  rollout's image: PACKAGES + the release binary + rollout-post,
#                                    the same files and entrypoint as the Dockerfile's final stage
#   the name action.yml gives        the same image, so a runner finds it as a user's would
#   localhost/rollout-job:test       the real-runner test's job container (`runs-on`): the same
#                                    packages without rollout, plus Debian's nodejs (act runs the
#                                    host form, a JavaScript action, with the job container's node)
#                                    and stubs of platform CLIs
# Usage: tests/container/image.sh  (ROLLOUT_ROOTFS=DIR keeps and reuses the root file system there;
# .ci/run builds it once for both container tests; the job image's, with nodejs, is kept beside
# it as DIR-job). Needs root, podman, runc and debootstrap.
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$PWD

# What the image adds to Debian's minimal base. tests/image_packages.rs holds this list and the
# Dockerfile's `apt-get install` line to the same packages.
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
  echo "--- debootstrap bookworm (minbase) + ${packages//,/ }"
  rm -rf "$dir"; mkdir -p "$(dirname "$dir")"
  local log; log=$(mktemp)
  debootstrap --variant=minbase --include="$packages" bookworm "$dir" http://deb.debian.org/debian >"$log" 2>&1 \
    || { tail -20 "$log"; echo "FAIL: debootstrap" >&2; exit 1; }
  rm -f "$log"
  rm -rf "$dir/var/cache/apt/archives/"*.deb "$dir/var/lib/apt/lists/"*
  touch "$dir/.complete"
}
bootstrap "$rootfs" "${PACKAGES// /,}"
# The job container: the same packages and Debian's nodejs (node 18), for JavaScript actions.
jobfs=${rootfs}-job
bootstrap "$jobfs" "${PACKAGES// /,},nodejs"

extra=$(mktemp -d)
trap 'rm -rf "$extra"' EXIT
mkdir -p "$extra/action/usr/local/bin" "$extra/job/usr/local/bin"
install -m 0755 "$bin" "$extra/action/usr/local/bin/rollout"
ln -s rollout "$extra/action/usr/local/bin/rollout-post"
# One archive: the root file system, then the added files by name (not their folders: podman refuses
# an archive that names a path twice).
tar -C "$rootfs" --exclude=./.complete -c . -C "$extra/action" ./usr/local/bin/rollout ./usr/local/bin/rollout-post \
  | "${podman[@]}" import --change 'ENTRYPOINT ["/usr/local/bin/rollout"]' - localhost/rollout-contract:test >/dev/null
"${podman[@]}" tag localhost/rollout-contract:test "$action_image"

# The runner's stand-in: platform CLIs and package managers are stubs that record their arguments.
for cli in astro dagster-cloud wmill pip npm docker; do
  install -m 0755 tests/runner/stubs/stub "$extra/job/usr/local/bin/$cli"
done
tar -C "$jobfs" --exclude=./.complete -c . -C "$extra/job" $(cd "$extra/job" && find . -type f) \
  | "${podman[@]}" import - localhost/rollout-job:test >/dev/null

# What the packages add to the minimal base (Debian's minbase, the stand-in for bookworm-slim): the
# installed size of every package that minbase alone would not have.
debootstrap --variant=minbase --print-debs bookworm "$extra/print" http://deb.debian.org/debian 2>/dev/null \
  | tr ' ' '\n' | grep . | sort -u > "$extra/minbase.list" || true
added_kb=$(chroot "$rootfs" dpkg-query -W -f='${Package} ${Installed-Size}\n' | sort \
  | join -v 1 - "$extra/minbase.list" | awk '{s+=$2} END {print s+0}')
[ -s "$extra/minbase.list" ] || added_kb="unknown (debootstrap --print-debs failed)"
echo "images: localhost/rollout-contract:test = $action_image, localhost/rollout-job:test"
echo "image adds to minbase: $(( $(stat -c %s "$bin") / 1024 )) KiB binary + $added_kb KiB of packages ($PACKAGES and their dependencies)"
