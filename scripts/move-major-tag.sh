#!/usr/bin/env bash
# Points the major tag (v1 for 1.2.3) at the release commit through the REST API. The lookup is
# git/ref/tags/vX (singular: exact, 404 when missing); git/refs/tags/vX (plural) is a prefix match
# that answers with v1.0.0, v1.2.3... when v1 itself does not exist yet.
# Env: GH_TOKEN, GITHUB_API_URL (default https://api.github.com).
# Usage: scripts/move-major-tag.sh OWNER/REPO VERSION SHA
set -euo pipefail
repo=${1:?usage: scripts/move-major-tag.sh OWNER/REPO VERSION SHA}
version=${2:?usage}
sha=${3:?usage}
[[ $version =~ ^([0-9]+)\.[0-9]+\.[0-9]+$ ]] || { echo "move-major-tag: '$version' is not X.Y.Z" >&2; exit 2; }
major=v${BASH_REMATCH[1]}
[[ $sha =~ ^[0-9a-f]{40}$ ]] || { echo "move-major-tag: '$sha' is not a commit sha" >&2; exit 2; }
api=${GITHUB_API_URL:-https://api.github.com}/repos/$repo/git
: "${GH_TOKEN:?GH_TOKEN is not set}"
call() { # METHOD URL [JSON] -> prints the HTTP status, the body in $body_file
  curl -sS -o "$body_file" -w '%{http_code}' -X "$1" -H "Authorization: Bearer $GH_TOKEN" \
    -H 'Accept: application/vnd.github+json' -H 'X-GitHub-Api-Version: 2022-11-28' \
    ${3:+-H 'Content-Type: application/json' --data "$3"} "$2"
}
body_file=$(mktemp)
trap 'rm -f "$body_file"' EXIT
code=$(call GET "$api/ref/tags/$major")
case $code in
  200)
    code=$(call PATCH "$api/refs/tags/$major" "{\"sha\":\"$sha\",\"force\":true}")
    verb=moved ;;
  404)
    code=$(call POST "$api/refs" "{\"ref\":\"refs/tags/$major\",\"sha\":\"$sha\"}")
    verb=created ;;
  *)
    echo "move-major-tag: GET git/ref/tags/$major answered $code: $(head -c 300 "$body_file")" >&2; exit 1 ;;
esac
case $code in
  200 | 201) echo "move-major-tag: $verb $major at $sha" ;;
  *) echo "move-major-tag: could not point $major at $sha ($code): $(head -c 300 "$body_file")" >&2; exit 1 ;;
esac
