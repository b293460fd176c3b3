#!/usr/bin/env bash
# Container contract test: rollout's image, built from the Dockerfile by tests/container/image.sh,
# run exactly as GitHub's runner runs a container action (workdir, mounts, -e variables, workspace owned by uid 1001,
# rollout as PID 1), against the standalone fake GitHub API on the host.
#
# Needs root, podman, runc and debootstrap (.ci/run installs them) and a release build
# (`cargo build --release --workspace`); the image comes from tests/container/image.sh. Prints the
# time from container start to the first API request and the image's size.
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$PWD
bin=$root/target/release/rollout
fake_bin=$root/target/release/fake-github
[ -x "$bin" ] && [ -x "$fake_bin" ] || { echo "build first: cargo build --release --workspace" >&2; exit 1; }

export CONTAINERS_CONF=$root/tests/container/containers.conf
podman=(podman --runtime runc)
image=localhost/rollout-contract:test
work=$(mktemp -d)
fake_pid=
cleanup() {
  [ -n "$fake_pid" ] && kill "$fake_pid" 2>/dev/null || true
  "${podman[@]}" rm -f rollout-contract-stop >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

fail() { echo "FAIL: $*" >&2; exit 1; }

bash tests/container/image.sh | tee "$work/image.log"
sizes=$(grep '^image size' "$work/image.log")

echo "--- the fake GitHub API on the host"
"$fake_bin" > "$work/fake.out" &
fake_pid=$!
for _ in $(seq 100); do [ -s "$work/fake.out" ] && break; sleep 0.05; done
api=$(head -n1 "$work/fake.out")
[ -n "$api" ] || fail "the fake did not start"
state() { python3 -c "import json,sys,urllib.request; s=json.load(urllib.request.urlopen('$api/_fake/state')); $1"; }

echo "--- a workspace owned by the runner user (uid 1001)"
ws=$work/workspace
mkdir -p "$ws" "$work/file_commands" "$work/home" "$work/workflow"
git -C "$ws" init -q -b main
git -C "$ws" -c user.name=Mona -c user.email=m@example.com commit -q --allow-empty -m base
before=$(git -C "$ws" rev-parse HEAD)
echo v2 > "$ws/app.txt"
git -C "$ws" add app.txt
git -C "$ws" -c user.name=Mona -c user.email=m@example.com commit -q -m "ship it"
sha=$(git -C "$ws" rev-parse HEAD)
chown -R 1001:1001 "$ws"
cat > "$work/workflow/event.json" <<JSON
{"ref":"refs/heads/main","before":"$before","after":"$sha","created":false,"deleted":false,"forced":false,
 "head_commit":{"id":"$sha","message":"ship it","author":{"name":"Mona","username":"mona"}},
 "repository":{"full_name":"octo-org/app","default_branch":"main"},"sender":{"login":"mona"}}
JSON

# As the runner: workdir, the four mounts, every variable with -e, the entrypoint as PID 1.
run_action() {
  local name=$1; shift
  "${podman[@]}" run --name "$name" --rm --network host \
    --workdir /github/workspace \
    -v "$ws:/github/workspace" \
    -v "$work/workflow/event.json:/github/workflow/event.json" \
    -v "$work/file_commands:/github/file_commands" \
    -v "$work/home:/github/home" \
    -e HOME=/github/home -e GITHUB_ACTIONS=true -e CI=true \
    -e GITHUB_EVENT_NAME=push -e GITHUB_EVENT_PATH=/github/workflow/event.json \
    -e GITHUB_WORKSPACE=/github/workspace -e GITHUB_REPOSITORY=octo-org/app \
    -e GITHUB_SERVER_URL=https://github.com -e "GITHUB_API_URL=$api" \
    -e GITHUB_RUN_ID=77 -e GITHUB_RUN_ATTEMPT=1 -e GITHUB_JOB=deploy -e "GITHUB_SHA=$sha" -e GITHUB_REF=refs/heads/main \
    -e GITHUB_OUTPUT=/github/file_commands/output -e GITHUB_STATE=/github/file_commands/state \
    -e GITHUB_STEP_SUMMARY=/github/file_commands/summary \
    -e INPUT_TOKEN=ghs_containertoken -e "INPUT_ENVIRONMENTS=main: production" \
    "$@"
}

echo "--- case 1: a push deploy succeeds and git works in the command"
start_ms=$(date +%s%3N)
run_action rollout-contract-deploy \
  -e 'INPUT_COMMAND=test "$(cat /proc/1/comm)" = rollout && git status --porcelain && git rev-parse HEAD > /github/home/head' \
  -e INPUT_ENVIRONMENT-URL=https://app.example.com \
  "$image" > "$work/case1.log" 2>&1 || { cat "$work/case1.log"; fail "the deploy exited non-zero"; }
[ "$(cat "$work/home/head")" = "$sha" ] || fail "git in the command did not see the workspace"
state "d=s['deployments']; assert len(d)==1, d; assert [x['state'] for x in d[0]['statuses']]==['in_progress','success'], d[0]['statuses']; assert d[0]['ref']=='$sha'; assert not s['violations'], s['violations']"
first_ms=$(state "print(min(r['at_ms'] for r in s['requests']))")
grep -q '^status<<' "$work/file_commands/output" || fail "no outputs written"
echo "ok: deployed; first API request $((first_ms - start_ms)) ms after podman run"

echo "--- case 2: podman stop (SIGTERM) during a long command leaves a final status"
: > "$work/file_commands/state"
run_action rollout-contract-stop -e 'INPUT_COMMAND=sleep 300' "$image" > "$work/case2.log" 2>&1 &
runner=$!
for _ in $(seq 200); do
  state "d=s['deployments']; assert len(d)==2 and d[1]['statuses'] and d[1]['statuses'][-1]['state']=='in_progress'" 2>/dev/null && break
  sleep 0.1
done
stop_start=$(date +%s%3N)
"${podman[@]}" stop --time 10 rollout-contract-stop >/dev/null
code=0; wait "$runner" || code=$?
stop_ms=$(( $(date +%s%3N) - stop_start ))
[ "$code" = 143 ] || { cat "$work/case2.log"; fail "exit code $code, expected 143 (128+SIGTERM)"; }
state "d=s['deployments'][1]; assert d['statuses'][-1]['state']=='error', d['statuses']; assert 'SIGTERM' in d['statuses'][-1]['description']"
echo "ok: cancelled in $stop_ms ms, final status error, exit 143"

echo "--- case 3: the post entrypoint finishes a start without finish"
: > "$work/file_commands/state"
run_action rollout-contract-start -e INPUT_STEP=start "$image" > "$work/case3.log" 2>&1 || { cat "$work/case3.log"; fail "start"; }
id=$(sed -n '/^deployment-id<</{n;p;q}' "$work/file_commands/state")
[ -n "$id" ] || fail "start saved no deployment id"
run_action rollout-contract-post --entrypoint /usr/local/bin/rollout-post -e "STATE_deployment-id=$id" "$image" > "$work/case4.log" 2>&1 \
  || { cat "$work/case4.log"; fail "post"; }
state "d=[x for x in s['deployments'] if x['id']==$id][0]; assert d['statuses'][-1]['state']=='error', d['statuses']; assert 'ended before' in d['statuses'][-1]['description']"
echo "ok: post step finished deployment $id"

echo "--- case 4: a deploy script using bash, curl, jq, git and ssh runs in the image"
cat > "$ws/deploy.sh" <<'SH'
#!/bin/bash
set -euo pipefail
count=$(curl -fsS "$GITHUB_API_URL/_fake/state" | jq '.deployments | length')
[[ $count -ge 1 ]]
[[ $(git rev-parse HEAD) == "$ROLLOUT_SHA" ]]
ssh -V 2>&1 | grep -q OpenSSH
echo "tools ok: $count deployments so far"
SH
chmod +x "$ws/deploy.sh"; chown 1001:1001 "$ws/deploy.sh"
: > "$work/file_commands/state"
run_action rollout-contract-tools -e 'INPUT_COMMAND=./deploy.sh' "$image" > "$work/case5.log" 2>&1 \
  || { cat "$work/case5.log"; fail "the tools script failed in the image"; }
grep -q 'tools ok' "$work/case5.log" || { cat "$work/case5.log"; fail "the tools script did not run"; }
echo "ok: bash, curl, jq, git and ssh work in the command"

echo "--- case 5: a program the image lacks fails with a sentence naming it and both ways out"
code=0
run_action rollout-contract-astro -e 'INPUT_COMMAND=astro deploy' "$image" > "$work/case6.log" 2>&1 || code=$?
[ "$code" = 1 ] || { cat "$work/case6.log"; fail "exit code $code, expected 1"; }
grep '^::error::' "$work/case6.log" | grep -q 'astro' || { cat "$work/case6.log"; fail "the error does not name astro"; }
grep '^::error::' "$work/case6.log" | grep -q 'step: start' || { cat "$work/case6.log"; fail "the error does not give the split form"; }
state "d=s['deployments'][-1]; assert d['statuses'][-1]['state']=='failure', d['statuses']; assert 'sh: 1' not in d['statuses'][-1]['description'], d['statuses']"
echo "ok: astro named; the deployment ended failure"

echo "--- case 6: a script missing from the workspace points at the checkout"
code=0
run_action rollout-contract-missing -e 'INPUT_COMMAND=./scripts/deploy.sh' "$image" > "$work/case7.log" 2>&1 || code=$?
[ "$code" = 1 ] || { cat "$work/case7.log"; fail "exit code $code, expected 1"; }
grep '^::error::' "$work/case7.log" | grep -q 'checkout' || { cat "$work/case7.log"; fail "the error does not point at the checkout"; }
echo "ok: the missing script is named with the checkout"

echo "--- case 7: without CAP_SYS_PTRACE (Docker's default set), the command reads rollout's environment block and finds no secret"
: > "$work/file_commands/state"
rm -f "$work/home/parent-env" "$work/home/own-env"
cat > "$ws/peek.sh" <<'SH'
#!/bin/bash
set -euo pipefail
# CAP_SYS_PTRACE is bit 19 of the effective set: the command must not have it.
cap=$(awk '/^CapEff/ {print $2}' /proc/self/status)
(( (0x$cap >> 19 & 1) == 0 )) || { echo "the command has CAP_SYS_PTRACE"; exit 9; }
# rollout is PID 1 (case 1); the shell between may not exec the script.
[ "$(cat /proc/1/comm)" = rollout ]
tr '\0' '\n' < /proc/1/environ > /github/home/parent-env
env > /github/home/own-env
SH
chmod +x "$ws/peek.sh"; chown 1001:1001 "$ws/peek.sh"
run_action rollout-contract-environ --cap-drop SYS_PTRACE \
  -e ACTIONS_RUNTIME_TOKEN=runtime-secret-77 -e ACTIONS_CACHE_URL=https://cache.example/secret-77/ \
  -e 'INPUT_COMMAND=./peek.sh' \
  "$image" > "$work/case8.log" 2>&1 || { cat "$work/case8.log"; fail "the environ case failed"; }
grep -q '^GITHUB_REPOSITORY=' "$work/home/parent-env" || { cat "$work/home/parent-env"; fail "the command could not read its parent's block"; }
grep -q 'INPUT_TOKEN=\*\*\*\*' "$work/home/parent-env" || { cat "$work/home/parent-env"; fail "INPUT_TOKEN is not overwritten"; }
for secret in ghs_containertoken runtime-secret-77 secret-77; do
  ! grep -q "$secret" "$work/home/parent-env" || fail "$secret is in rollout's environment block"
  ! grep -q "$secret" "$work/home/own-env" || fail "$secret is in the command's environment"
done
echo "ok: the token and the runner's credentials are in neither the parent's block nor the command's environment"

echo
echo "container: first API request $((first_ms - start_ms)) ms after start; $sizes"
echo "container contract: 7 passed, 0 failed"
