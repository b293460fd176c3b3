#!/usr/bin/env bash
# Commits a release tree on top of the released source commit (its only parent) and pushes it as
# the tag vX.Y.Z, once: git refuses to move an existing tag without --force, which this never
# passes, so re-running a release fails instead of changing what users pinned. Prints the commit.
# Run from a clone of the repository that has SOURCE.
# Usage: scripts/release-commit.sh TREE SOURCE VERSION REMOTE   (VERSION X.Y.Z; REMOTE a URL or path)
set -euo pipefail
tree=${1:?usage: scripts/release-commit.sh TREE SOURCE VERSION REMOTE}
source=${2:?usage}
version=${3:?usage}
remote=${4:?usage}
[[ $version =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]] || { echo "release-commit: '$version' is not X.Y.Z" >&2; exit 2; }
tree=$(cd "$tree" && pwd)
tag=v$version
source=$(git rev-parse --verify "$source^{commit}")
index=$(mktemp)
trap 'rm -f "$index"' EXIT
rm -f "$index"
GIT_INDEX_FILE=$index git --work-tree="$tree" add -A -f .
tree_id=$(GIT_INDEX_FILE=$index git write-tree)
commit=$(git -c user.name="github-actions[bot]" -c user.email="41898282+github-actions[bot]@users.noreply.github.com" \
  commit-tree "$tree_id" -p "$source" -m "Release $tag" -m "The release tree of $source: action files, README, LICENSE and the rollout binaries.")
# No --force: an existing tag is rejected ("already exists"), never moved.
if ! git push "$remote" "$commit:refs/tags/$tag" >&2; then
  echo "release-commit: could not create $tag (it exists already, or the push was refused); a pushed version tag is never moved: release a new version" >&2
  exit 1
fi
echo "$commit"
