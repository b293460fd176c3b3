#!/usr/bin/env bash
# Checks that anyone can pull the released image: GHCR packages start private, and no API makes one
# public (cli/cli#6820), so the first release must be followed by a click in the package's settings.
# Asks the registry for an anonymous pull token, then for the manifest by digest, with no credentials.
# Env: REGISTRY_URL (default https://ghcr.io; tests point it at a fake).
# Usage: scripts/check-public-image.sh ghcr.io/OWNER/NAME sha256:DIGEST
set -euo pipefail
image=${1:?usage: scripts/check-public-image.sh ghcr.io/OWNER/NAME sha256:DIGEST}
digest=${2:?usage}
registry=${REGISTRY_URL:-https://ghcr.io}
path=${image#*/}          # OWNER/NAME
owner=${path%%/*}
name=${path#*/}
settings="https://github.com/orgs/$owner/packages/container/$name/settings (for a user's package: https://github.com/users/$owner/packages/container/$name/settings)"
fail() {
  echo "::error::$image@$digest cannot be pulled without credentials ($1). GHCR packages start private and no API changes that: open $settings, set the visibility to Public, then run this release again (its version tag was not created)." >&2
  exit 1
}
token_json=$(curl -sS --fail "$registry/token?scope=repository:$path:pull&service=ghcr.io") || fail "no anonymous token"
token=$(printf '%s' "$token_json" | python3 -c 'import json,sys; print(json.load(sys.stdin).get("token",""))') || fail "no anonymous token"
[ -n "$token" ] || fail "no anonymous token"
code=$(curl -sS -o /dev/null -w '%{http_code}' -I -H "Authorization: Bearer $token" \
  -H 'Accept: application/vnd.oci.image.index.v1+json, application/vnd.docker.distribution.manifest.list.v2+json, application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json' \
  "$registry/v2/$path/manifests/$digest")
[ "$code" = 200 ] || fail "the manifest answered $code"
echo "check-public-image: $image@$digest can be pulled anonymously"
