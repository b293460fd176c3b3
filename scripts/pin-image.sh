#!/usr/bin/env bash
# Names the image by digest in a release tree's action.yml, so a release tag always runs the exact
# image it was released with: `image: docker://IMAGE@sha256:<64 hex>` replaces the tag main's
# action.yml gives, and SHA256SUMS is written again. The release workflow runs it after the push.
# Usage: scripts/pin-image.sh TREE IMAGE DIGEST   (IMAGE without tag, e.g. ghcr.io/o/r;
#        DIGEST sha256:<64 hex>, the pushed manifest list's)
set -euo pipefail
tree=${1:?usage: scripts/pin-image.sh TREE IMAGE DIGEST}
image=${2:?usage: scripts/pin-image.sh TREE IMAGE DIGEST}
digest=${3:?usage: scripts/pin-image.sh TREE IMAGE DIGEST}
[[ $digest =~ ^sha256:[0-9a-f]{64}$ ]] || { echo "pin-image: '$digest' is not sha256:<64 hex>" >&2; exit 2; }
[[ $image =~ ^[a-z0-9.-]+(:[0-9]+)?/[a-z0-9._/-]+$ ]] || { echo "pin-image: '$image' is not a lowercase image name without tag" >&2; exit 2; }
action=$tree/action.yml
[ -f "$action" ] || { echo "pin-image: $action is missing" >&2; exit 2; }
count=$(grep -c '^  image: docker://' "$action" || true)
[ "$count" = 1 ] || { echo "pin-image: $action has $count 'image: docker://' lines, expected 1" >&2; exit 1; }
sed -i "s|^  image: docker://.*$|  image: docker://$image@$digest|" "$action"
grep -qx "  image: docker://$image@$digest" "$action" || { echo "pin-image: the rewrite did not take" >&2; exit 1; }
(cd "$tree" && find . -type f ! -name SHA256SUMS | sed 's|^\./||' | LC_ALL=C sort | xargs sha256sum > SHA256SUMS)
echo "pin-image: $action runs docker://$image@$digest"
