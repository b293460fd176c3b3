//! What the command must not read from rollout's own process. Removing a variable from the
//! command's environment is not enough: the command can read its parent's environment block in
//! `/proc/$PPID/environ` (rollout is PID 1 in the container, and the command runs as the same
//! user), and `PR_SET_DUMPABLE` does not stop that (only `mem` and ptrace are refused). The kernel
//! shows there the bytes the process started with, wherever they are now: so before anything
//! else runs, rollout overwrites the values in that block and keeps its own copy on the heap.

use std::ffi::OsString;
#[cfg(target_os = "linux")]
use std::ffi::{c_char, CStr};

/// The runner's own credentials, which it hands every container action and never a `run:` step:
/// with them a deploy script could write the repository's Actions cache that later runs trust.
/// rollout needs none of them; they are hidden and removed from the process.
pub const RUNNER_CREDENTIALS: &[&str] = &[
    "ACTIONS_RUNTIME_TOKEN",
    "ACTIONS_RUNTIME_URL",
    "ACTIONS_CACHE_URL",
    "ACTIONS_RESULTS_URL",
];

/// The token's names: `INPUT_TOKEN`, and the bare `token` some runners (act) also export.
pub const TOKEN_NAMES: &[&str] = &["INPUT_TOKEN", "token"];

#[cfg(target_os = "linux")]
extern "C" {
    // glibc and musl both define it; the `libc` crate declares it for glibc only.
    static mut environ: *mut *mut c_char;
}

/// Overwrites the values of `keep` and `drop` in the environment block the process started with
/// (what `/proc/PID/environ` shows), then puts the `keep` values back as heap copies the rest of
/// rollout reads as usual, and removes the `drop` ones. Returns the names it hid.
///
/// Call it first in `main`, before any thread starts: it changes the environment.
pub fn hide(keep: &[&str], drop: &[&str]) -> Vec<String> {
    let mut hidden = Vec::new();
    let saved: Vec<(&str, OsString)> = keep
        .iter()
        .filter_map(|name| Some((*name, std::env::var_os(name)?)))
        .collect();
    #[cfg(target_os = "linux")]
    for name in keep.iter().chain(drop) {
        if overwrite(name) {
            hidden.push(name.to_string());
        }
    }
    for name in drop {
        std::env::remove_var(name);
    }
    for (name, value) in saved {
        // A heap copy, outside the block the kernel shows.
        std::env::set_var(name, value);
    }
    hidden
}

/// Overwrites the value of `name` in place with `*`; `true` when there was one.
#[cfg(target_os = "linux")]
fn overwrite(name: &str) -> bool {
    let mut found = false;
    // SAFETY: single-threaded (see `hide`); `environ` is the C library's NUL-terminated array of
    // NUL-terminated `NAME=value` strings, which live in writable memory (the initial stack, or
    // the heap after a `setenv`). Each string is written within its own length only.
    unsafe {
        let mut entry = environ;
        if entry.is_null() {
            return false;
        }
        while !(*entry).is_null() {
            let text = CStr::from_ptr(*entry).to_bytes();
            if text.len() > name.len()
                && text.starts_with(name.as_bytes())
                && text[name.len()] == b'='
            {
                let value = (*entry).add(name.len() + 1);
                for i in 0..text.len() - name.len() - 1 {
                    *value.add(i) = b'*' as c_char;
                }
                found = true;
            }
            entry = entry.add(1);
        }
    }
    found
}
