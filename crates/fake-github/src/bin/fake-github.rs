//! The fake GitHub API as a standalone server on a loopback port, for the container test and the
//! benchmark. `GET /_fake/state` prints its state; `POST /_fake/faults`, `/_fake/tokens`,
//! `/_fake/jobs`, `/_fake/seed` and `/_fake/reset` change it.

use std::io::Write;

fn main() {
    let mut port: u16 = 0;
    let mut latency_ms: u64 = 0;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--port" => match args.next().and_then(|p| p.parse().ok()) {
                Some(p) => port = p,
                None => {
                    eprintln!("fake-github: --port needs a number");
                    std::process::exit(2);
                }
            },
            "--latency-ms" => match args.next().and_then(|p| p.parse().ok()) {
                Some(ms) => latency_ms = ms,
                None => {
                    eprintln!("fake-github: --latency-ms needs a number");
                    std::process::exit(2);
                }
            },
            "--help" | "-h" => {
                println!("usage: fake-github [--port N] [--latency-ms N]   (port 0, the default, picks a free port)");
                return;
            }
            other => {
                eprintln!("fake-github: unknown argument {other:?}");
                std::process::exit(2);
            }
        }
    }
    let fake = fake_github::Fake::start_on(port);
    fake.state().latency_ms = latency_ms;
    // The first line says where it listens; scripts read it.
    println!("{}", fake.url());
    let _ = std::io::stdout().flush();
    loop {
        std::thread::park();
    }
}
