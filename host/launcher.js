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
const fs = require('fs');
const { constants } = require('os');
const path = require('path');

// RUNNER_ARCH -> Docker's TARGETARCH, the folder names of the release tree.
const ARCHES = { X64: 'amd64', ARM64: 'arm64' };
// RUNNER_ARCH -> the ELF e_machine of a binary that runs there.
const MACHINES = { X64: 62, ARM64: 183 };
const MACHINE_NAMES = { 62: 'x64', 183: 'arm64', 3: 'x86', 40: 'arm' };
const WORKS = 'rollout runs on Linux x64 and arm64 runners (ubuntu-latest, ubuntu-24.04-arm, ubuntu-slim or a self-hosted Linux runner)';

// The runner's names; outside a runner, node's own.
function platform(env) {
  const os = env.RUNNER_OS || { linux: 'Linux', darwin: 'macOS', win32: 'Windows' }[process.platform] || process.platform;
  const arch = env.RUNNER_ARCH || { x64: 'X64', arm64: 'ARM64', arm: 'ARM', ia32: 'X86' }[process.arch] || process.arch;
  // The runner writes `X64` and `Linux`; a self-hosted runner's environment may say `x64`.
  return { os: os.toLowerCase() === 'linux' ? 'Linux' : os, arch: arch.toUpperCase() };
}

// The binary's path, or the one sentence saying why there is none.
function binary(env, dir) {
  const { os, arch } = platform(env);
  if (os !== 'Linux' || !ARCHES[arch]) {
    return { error: `${WORKS}; this runner is ${os} ${arch}, so run the deploy job on one of those.` };
  }
  return { path: path.join(dir, '..', 'bin', `linux-${ARCHES[arch]}`, 'rollout'), arch };
}

// Why the file at `file` cannot run here, or null when it looks like a whole Linux program for
// `arch`: read before it is started, because execvp hands a file that is not a program to sh (an
// empty file "succeeds" in silence, a truncated or foreign one prints shell noise).
function unusable(file, arch) {
  let header;
  let size;
  try {
    size = fs.statSync(file).size;
    const fd = fs.openSync(file, 'r');
    try {
      header = Buffer.alloc(64);
      header = header.subarray(0, fs.readSync(fd, header, 0, 64, 0));
    } finally {
      fs.closeSync(fd);
    }
  } catch (e) {
    return null; // spawn says why (a missing file names the release tags)
  }
  if (size === 0) {
    return 'is empty';
  }
  if (header.length < 4 || header.readUInt32BE(0) !== 0x7f454c46) {
    return `is not a Linux program (${size} bytes without an ELF header)`;
  }
  if (header.length < 64 || header[4] !== 2 || header[5] !== 1) {
    return 'is not a 64-bit little-endian Linux program';
  }
  const machine = header.readUInt16LE(18);
  if (machine !== MACHINES[arch]) {
    const built = MACHINE_NAMES[machine] || `machine ${machine}`;
    return `is built for ${built}, not for this runner's ${arch.toLowerCase()}`;
  }
  // The program and section header tables lie inside the file; the section headers come last.
  const ends = [
    Number(header.readBigUInt64LE(32)) + header.readUInt16LE(54) * header.readUInt16LE(56),
    Number(header.readBigUInt64LE(40)) + header.readUInt16LE(58) * header.readUInt16LE(60),
  ];
  const needed = Math.max(...ends);
  if (needed > size) {
    return `is truncated (${size} bytes, and its header says at least ${needed})`;
  }
  return null;
}

function run(args) {
  const env = process.env;
  const found = binary(env, __dirname);
  if (found.error) {
    process.stdout.write(`::error::${found.error}\n`);
    process.exitCode = 1;
    return;
  }
  const bad = unusable(found.path, platform(env).arch);
  if (bad) {
    process.stdout.write(`::error::rollout's binary for Linux ${found.arch.toLowerCase()} (${found.path}) ${bad}, so it cannot run: the action's files are damaged; re-run the job, and if it stays, use a release tag (\`rollout-action/rollout/host@v1\`) and report it.\n`);
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

module.exports = { run, binary, platform, unusable };

if (require.main === module) {
  run([]);
}
