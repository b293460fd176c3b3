#!/usr/bin/env bash
# Fails when the tag vX.Y.Z exists already (exact lookup: git/ref/tags/vX.Y.Z), so a re-run of a
# release stops before it pushes anything: a released version is never built or tagged again.
# Env: GH_TOKEN, GITHUB_API_URL (default https://api.github.com).
# Usage: scripts/check-new-version.sh OWNER/REPO VERSION
set -euo pipefail
repo=${1:?usage: scripts/check-new-version.sh OWNER/REPO VERSION}
version=${2:?usage}
[[ $version =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]] || { echo "check-new-version: '$version' is not X.Y.Z" >&2; exit 2; }
: "${GH_TOKEN:?GH_TOKEN is not set}"
code=$(curl -sS -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $GH_TOKEN" \
  -H 'Accept: application/vnd.github+json' "${GITHUB_API_URL:-https://api.github.com}/repos/$repo/git/ref/tags/v$version")
case $code in
  404) echo "check-new-version: v$version is new" ;;
  200) echo "::error::v$version is released already; a pushed version tag is never moved: bump the version in Cargo.toml" >&2; exit 1 ;;
  *) echo "check-new-version: GET git/ref/tags/v$version answered $code" >&2; exit 1 ;;
esac
