//! `measure PROGRAM ARGS...`: runs a program (output discarded) and prints its wall time, user
//! and system CPU time in microseconds, its peak RSS in KiB (getrusage, via wait4) and its exit
//! code. The benchmark uses it because a child forked from Python would count Python's own
//! pages in its peak RSS; this helper is a few hundred KiB.

use std::process::{Command, Stdio};
use std::time::Instant;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some((program, rest)) = args.split_first() else {
        eprintln!("usage: measure PROGRAM [ARGS...]");
        std::process::exit(2);
    };
    let start = Instant::now();
    let child = match Command::new(program)
        .args(rest)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
    {
        Ok(c) => c,
        Err(e) => {
            eprintln!("measure: cannot run {program}: {e}");
            std::process::exit(2);
        }
    };
    let mut status = 0;
    // SAFETY: an all-zero rusage is a valid value for wait4 to fill in.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: the pid is our own child, and both pointers are valid for the call.
    let pid = unsafe { libc::wait4(child.id() as libc::pid_t, &mut status, 0, &mut usage) };
    let wall = start.elapsed();
    if pid < 0 {
        eprintln!("measure: wait4 failed: {}", std::io::Error::last_os_error());
        std::process::exit(2);
    }
    let micros = |t: libc::timeval| t.tv_sec as i128 * 1_000_000 + t.tv_usec as i128;
    let code = if libc::WIFEXITED(status) {
        libc::WEXITSTATUS(status)
    } else {
        128 + libc::WTERMSIG(status)
    };
    println!(
        "{} {} {} {} {}",
        wall.as_micros(),
        micros(usage.ru_utime),
        micros(usage.ru_stime),
        usage.ru_maxrss,
        code
    );
}
