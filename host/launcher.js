// rollout's host form: runs the rollout binary on the runner itself, for the step (main) or the
// post step (post.js). Plain CommonJS with no dependencies and no network request; it runs on
// node 18 (Debian's, which act uses) and on the runner's node 24.
//
// It picks the binary for RUNNER_OS/RUNNER_ARCH from the action's own files (bin/linux-amd64 or
// bin/linux-arm64 at the root of the release tree, next to this folder), passes the step's
// environment and output through, forwards the runner's cancel (SIGINT, then SIGTERM 7.5 s later)
// and exits with rollout's exit code (128+N when a signal N ended it). The runner's last resort
// kills node alone: rollout asks the kernel for SIGTERM when its parent dies (PR_SET_PDEATHSIG),
// told by ROLLOUT_LAUNCHER_PID that node is its parent.
'use strict';

const { spawn } = require('child_process');
const { constants } = require('os');
const path = require('path');

// RUNNER_ARCH -> Docker's TARGETARCH, the folder names of the release tree.
const ARCHES = { X64: 'amd64', ARM64: 'arm64' };
const WORKS = 'rollout runs on Linux x64 and arm64 runners (ubuntu-latest, ubuntu-24.04-arm, ubuntu-slim or a self-hosted Linux runner)';

// The runner's names; outside a runner, node's own.
function platform(env) {
  const os = env.RUNNER_OS || { linux: 'Linux', darwin: 'macOS', win32: 'Windows' }[process.platform] || process.platform;
  const arch = env.RUNNER_ARCH || { x64: 'X64', arm64: 'ARM64', arm: 'ARM', ia32: 'X86' }[process.arch] || process.arch;
  return { os, arch };
}

// The binary's path, or the one sentence saying why there is none.
function binary(env, dir) {
  const { os, arch } = platform(env);
  if (os !== 'Linux' || !ARCHES[arch]) {
    return { error: `${WORKS}; this runner is ${os} ${arch}, so run the deploy job on one of those.` };
  }
  return { path: path.join(dir, '..', 'bin', `linux-${ARCHES[arch]}`, 'rollout'), arch };
}

function run(args) {
  const env = process.env;
  const found = binary(env, __dirname);
  if (found.error) {
    process.stdout.write(`::error::${found.error}\n`);
    process.exitCode = 1;
    return;
  }
  const child = spawn(found.path, args, {
    stdio: 'inherit',
    env: Object.assign({}, env, { ROLLOUT_LAUNCHER_PID: String(process.pid) }),
  });
  let started = true;
  child.on('error', (e) => {
    started = false;
    const why = e.code === 'ENOENT'
      ? `is not in this action's files (${found.path}): binaries live only on release tags, so use \`rollout-action/rollout/host@v1\` (or a vX.Y.Z tag), not a branch or a commit of the source`
      : `could not start (${e.code || e.message}) from ${found.path}`;
    process.stdout.write(`::error::rollout's binary for Linux ${found.arch.toLowerCase()} ${why}.\n`);
    process.exit(1);
  });
  // The runner's cancel: SIGINT, then SIGTERM 7.5 s later. rollout counts the first and posts the
  // final status; node stays until it exits.
  const forward = (sig) => {
    if (started && child.exitCode === null && child.signalCode === null) {
      try { child.kill(sig); } catch (_) { /* already gone */ }
    }
  };
  process.on('SIGINT', () => forward('SIGINT'));
  process.on('SIGTERM', () => forward('SIGTERM'));
  child.on('exit', (code, signal) => {
    process.exit(code !== null ? code : 128 + (constants.signals[signal] || 0));
  });
}

module.exports = { run, binary, platform };

if (require.main === module) {
  run([]);
}
