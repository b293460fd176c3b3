//! The network between rollout and GitHub: proxies by the runner's rule (a real CONNECT proxy
//! here), a missing CA bundle, and a server certificate from an unknown issuer (a real TLS server:
//! `openssl s_server` with a certificate made for the test).

use crate::support::proxy::Proxy;
use crate::support::*;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// An ordinary push deploy with `vars` set; returns the run and how many requests the API got.
fn deploy_with(vars: &[(&str, String)]) -> (Run, usize) {
    let mut h = Harness::new();
    pushed(&h);
    for (k, v) in vars {
        h.var(k, v);
    }
    let run = h.run();
    let requests = h.state().requests.len();
    (run, requests)
}

#[test]
fn http_proxy_carries_every_call_with_its_credentials() {
    let proxy = Proxy::start();
    let with_credentials = proxy.url().replace("http://", "http://mona:s%40cret@");
    let (run, requests) = deploy_with(&[("http_proxy", with_credentials)]);
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    assert!(requests >= 4, "the deploy reached the API: {requests}");
    let seen = proxy.seen();
    assert!(!seen.is_empty(), "the calls went through the proxy");
    assert!(
        seen.len() >= requests,
        "each call went through the proxy: {seen:?}"
    );
    for (line, auth) in &seen {
        // An http:// API is asked in absolute form, as curl and the runner do; a strict proxy
        // (Squid) refuses CONNECT to a port other than 443.
        assert!(
            line.starts_with("GET http://127.0.0.1:") || line.starts_with("POST http://127.0.0.1:"),
            "{line}"
        );
        // base64("mona:s@cret")
        assert_eq!(auth.as_deref(), Some("Basic bW9uYTpzQGNyZXQ="));
    }
    assert!(
        run.stdout.contains("through the proxy http://127.0.0.1:")
            && run
                .stdout
                .contains("(from http_proxy, with its credentials)"),
        "{}",
        run.stdout
    );
    assert!(!run.stdout.contains("s%40cret") && !run.stdout.contains("s@cret"));
}

#[test]
fn the_runners_rule_decides_which_variable_counts() {
    // The fake's URL is http: `https_proxy` and `ALL_PROXY` do not apply to it.
    let proxy = Proxy::start();
    let (run, _) = deploy_with(&[
        ("https_proxy", proxy.url()),
        ("ALL_PROXY", proxy.url()),
        ("all_proxy", proxy.url()),
    ]);
    assert_eq!(run.code, 0, "{}", run.stdout);
    assert!(proxy.seen().is_empty(), "{:?}", proxy.seen());

    // Upper case alone is read.
    let proxy = Proxy::start();
    let (run, _) = deploy_with(&[("HTTP_PROXY", proxy.url())]);
    assert_eq!(run.code, 0, "{}", run.stdout);
    assert!(!proxy.seen().is_empty());

    // Lower case wins over upper case: the upper-case proxy would refuse everything.
    let good = Proxy::start();
    let (run, _) = deploy_with(&[
        ("http_proxy", good.url()),
        ("HTTP_PROXY", "http://127.0.0.1:9".to_string()),
    ]);
    assert_eq!(run.code, 0, "{}", run.stdout);
    assert!(!good.seen().is_empty());

    // `no_proxy` sends the API's host direct.
    let proxy = Proxy::start();
    let (run, _) = deploy_with(&[
        ("http_proxy", proxy.url()),
        ("no_proxy", "localhost,127.0.0.1".to_string()),
    ]);
    assert_eq!(run.code, 0, "{}", run.stdout);
    assert!(proxy.seen().is_empty(), "{:?}", proxy.seen());
}

#[test]
fn a_proxy_url_rollout_cannot_use_is_a_bad_input() {
    let (run, requests) = deploy_with(&[("http_proxy", "socks5://127.0.0.1:1080".into())]);
    assert_eq!(run.code, 2, "{}", run.stdout);
    assert!(
        run.the_error()
            .contains("http_proxy is not a proxy URL rollout can use"),
        "{}",
        run.stdout
    );
    assert_eq!(requests, 0);
}

/// A TLS server on loopback with a certificate for 127.0.0.1 signed by a CA made for the test,
/// which nothing trusts. Returns the server, its port, and the CA's certificate file.
fn tls_server(dir: &std::path::Path) -> (Child, u16, std::path::PathBuf) {
    let path = |name: &str| dir.join(name);
    let openssl = |args: &[&str]| {
        let ok = Command::new("openssl")
            .args(args)
            .current_dir(dir)
            .stderr(Stdio::null())
            .status()
            .expect("openssl runs")
            .success();
        assert!(ok, "openssl {args:?}");
    };
    openssl(&[
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-days",
        "1",
        "-subj",
        "/CN=rollout test CA",
        "-keyout",
        "ca.key",
        "-out",
        "ca.pem",
    ]);
    openssl(&[
        "req",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-subj",
        "/CN=127.0.0.1",
        "-keyout",
        "key.pem",
        "-out",
        "leaf.csr",
    ]);
    std::fs::write(
        path("leaf.ext"),
        "subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\n",
    )
    .unwrap();
    openssl(&[
        "x509",
        "-req",
        "-in",
        "leaf.csr",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-days",
        "1",
        "-extfile",
        "leaf.ext",
        "-out",
        "cert.pem",
    ]);
    let (cert, key) = (path("cert.pem"), path("key.pem"));
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let server = Command::new("openssl")
        .args(["s_server", "-quiet", "-www", "-accept"])
        .arg(port.to_string())
        .arg("-cert")
        .arg(&cert)
        .arg("-key")
        .arg(&key)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("openssl s_server starts");
    wait_until("the TLS server", Duration::from_secs(10), || {
        std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
    });
    (server, port, path("ca.pem"))
}

#[test]
fn an_unknown_issuer_is_one_sentence_naming_the_host_and_is_not_retried() {
    let h = Harness::new();
    pushed(&h);
    let (mut server, port, ca) = tls_server(h.dir.path());
    let api = format!("https://127.0.0.1:{port}");
    let started = Instant::now();
    let run = h.run_with(|cmd| {
        cmd.env("GITHUB_API_URL", &api);
    });
    let took = started.elapsed();
    assert_eq!(run.code, 1, "{}\n{}", run.stdout, run.stderr);
    let error = run.the_error();
    assert!(
        error.contains("the TLS certificate of 127.0.0.1 is not trusted")
            && error.contains("UnknownIssuer")
            && error.contains("SSL_CERT_FILE"),
        "{error}"
    );
    assert!(!run.stdout.contains("retrying"), "no retry: {}", run.stdout);
    assert!(took < Duration::from_secs(5), "took {took:?}");
    // With the certificate trusted through SSL_CERT_FILE the handshake passes (the server is not
    // GitHub, so what follows fails otherwise).
    let run = h.run_with(|cmd| {
        cmd.env("GITHUB_API_URL", &api)
            .env("SSL_CERT_FILE", &ca)
            .env("ROLLOUT_TEST_TIME_SCALE", "0.01");
    });
    assert_eq!(run.code, 1, "{}", run.stdout);
    assert!(
        !run.the_error().is_empty() && !run.stdout.contains("not trusted"),
        "{}",
        run.stdout
    );
    let _ = server.kill();
    let _ = server.wait();
}

#[test]
fn no_ca_certificates_is_one_sentence_before_any_request() {
    let h = Harness::new();
    pushed(&h);
    let empty = h.dir.path().join("no-certs.pem");
    std::fs::write(&empty, "").unwrap();
    let run = h.run_with(|cmd| {
        cmd.env("GITHUB_API_URL", "https://api.github.example")
            .env("SSL_CERT_FILE", &empty)
            .env("SSL_CERT_DIR", h.dir.path().join("no-such-dir"));
    });
    assert_eq!(run.code, 2, "{}\n{}", run.stdout, run.stderr);
    assert!(
        run.the_error().contains("no CA certificates found")
            && run
                .the_error()
                .contains("the image needs ca-certificates, or set SSL_CERT_FILE"),
        "{}",
        run.stdout
    );
}

#[test]
fn a_proxy_that_refuses_the_tunnel_is_one_sentence_within_seconds() {
    for (status, reason, credentials, fix) in [
        (403, "Forbidden", false, "allows CONNECT to port 443 only"),
        (
            407,
            "Proxy Authentication Required",
            false,
            "it wants credentials",
        ),
        (
            407,
            "Proxy Authentication Required",
            true,
            "it refused the credentials in https_proxy",
        ),
    ] {
        let proxy = Proxy::refusing(
            status,
            reason,
            b"<html>ERROR: Zugriff verweigert \xe4\xf6\xfc</html>",
        );
        let url = if credentials {
            proxy.url().replace("http://", "http://mona:wrong@")
        } else {
            proxy.url()
        };
        let h = Harness::new();
        pushed(&h);
        let started = Instant::now();
        let run = h.run_with(|cmd| {
            cmd.env("GITHUB_API_URL", "https://api.github.example")
                .env("https_proxy", &url);
        });
        let took = started.elapsed();
        assert_eq!(run.code, 1, "{}\n{}", run.stdout, run.stderr);
        let error = run.the_error();
        assert!(
            error.contains(&format!(
                "the proxy 127.0.0.1:{} (from https_proxy) answered {status} {reason} to CONNECT api.github.example:443",
                proxy.port
            )) && error.contains(fix),
            "{error}"
        );
        assert!(
            !run.stdout.contains("retrying"),
            "a refusal is not retried: {}",
            run.stdout
        );
        assert_eq!(proxy.seen().len(), 1, "asked once: {:?}", proxy.seen());
        assert!(took < Duration::from_secs(10), "took {took:?}");
        assert!(
            !error.contains("wrong"),
            "the credentials are not printed: {error}"
        );
    }
}

#[test]
fn a_proxys_latin1_refusal_of_a_plain_http_request_shows_its_status() {
    // A proxy's error page in latin-1 is not UTF-8: the status decides, the body is read lossily.
    let proxy = Proxy::refusing(
        403,
        "Forbidden",
        b"<html>Zugriff verweigert: \xc4rger</html>",
    );
    let (run, _) = deploy_with(&[
        ("http_proxy", proxy.url()),
        ("ROLLOUT_TEST_TIME_SCALE", "0.01".into()),
    ]);
    assert_eq!(run.code, 1, "{}", run.stdout);
    let error = run.the_error();
    assert!(
        error.contains("answered 403")
            && error.contains("Zugriff verweigert")
            && error.contains("a proxy")
            && !error.contains("could not reach"),
        "{error}"
    );
    assert!(!error.contains("utf-8"), "{error}");
    // The create and the lock read beside it, each asked once.
    let seen = proxy.seen();
    let creates = seen
        .iter()
        .filter(|(line, _)| line.contains("/deployments "))
        .count();
    assert_eq!(creates, 1, "a 403 is not retried: {seen:?}");
    assert!(seen.len() <= 2, "a 403 is not retried: {seen:?}");
}

#[test]
fn https_goes_through_the_proxys_tunnel() {
    let h = Harness::new();
    pushed(&h);
    let (mut server, port, ca) = tls_server(h.dir.path());
    let proxy = Proxy::start();
    let run = h.run_with(|cmd| {
        cmd.env("GITHUB_API_URL", format!("https://127.0.0.1:{port}"))
            .env("SSL_CERT_FILE", &ca)
            .env("https_proxy", proxy.url())
            .env("ROLLOUT_TEST_TIME_SCALE", "0.01");
    });
    // The server is not GitHub, so the deploy fails; what counts is that TLS went through the
    // tunnel and its certificate was checked there.
    assert_eq!(run.code, 1, "{}", run.stdout);
    assert!(!run.stdout.contains("not trusted"), "{}", run.stdout);
    let seen = proxy.seen();
    assert!(
        !seen.is_empty()
            && seen
                .iter()
                .all(|(line, _)| line == &format!("CONNECT 127.0.0.1:{port} HTTP/1.1")),
        "{seen:?}"
    );
    let _ = server.kill();
    let _ = server.wait();
}

/// A real Squid (Debian's `squid`, which `.ci/run` installs) with its default rule for tunnels:
/// `CONNECT` only to port 443. Started on a free port with a configuration of the test's own.
struct Squid {
    child: Child,
    port: u16,
    dir: tempfile::TempDir,
}

impl Squid {
    fn start() -> Squid {
        let dir = tempfile::tempdir().expect("a folder for squid");
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let conf = dir.path().join("squid.conf");
        let d = dir.path().display();
        std::fs::write(
            &conf,
            format!(
                "http_port 127.0.0.1:{port}\nacl SSL_ports port 443\nacl CONNECT method CONNECT\n\
                 http_access deny CONNECT !SSL_ports\nhttp_access allow localhost\nhttp_access deny all\n\
                 cache deny all\npid_filename {d}/squid.pid\naccess_log stdio:{d}/access.log\n\
                 cache_log {d}/cache.log\nshutdown_lifetime 0 seconds\n"
            ),
        )
        .expect("squid.conf");
        // Squid drops to its own user: the folder must be its.
        let _ = Command::new("chown")
            .args(["-R", "proxy"])
            .arg(dir.path())
            .status();
        let child = Command::new("squid")
            .args(["-N", "-f"])
            .arg(&conf)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("squid runs (scripts/test.sh installs it: scripts/install-test-tools.sh)");
        wait_until("squid to listen", Duration::from_secs(20), || {
            std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
        });
        Squid { child, port, dir }
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    fn access_log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("access.log")).unwrap_or_default()
    }
}

impl Drop for Squid {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn through_a_real_squid_http_is_carried_and_a_refused_tunnel_is_one_sentence() {
    let squid = Squid::start();
    // An http API: absolute-form requests, which Squid forwards (it refuses CONNECT to that port).
    let (run, requests) = deploy_with(&[("http_proxy", squid.url())]);
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    assert!(requests >= 4, "{requests}");
    wait_until("squid's log", Duration::from_secs(5), || {
        squid.access_log().lines().count() >= requests
    });
    let log = squid.access_log();
    assert!(
        log.contains(" POST http://127.0.0.1:") && !log.contains("CONNECT"),
        "{log}"
    );
    // An https API on a port other than 443: Squid's default answer to CONNECT is 403.
    let h = Harness::new();
    pushed(&h);
    let started = Instant::now();
    let run = h.run_with(|cmd| {
        cmd.env("GITHUB_API_URL", "https://127.0.0.1:8443")
            .env("https_proxy", squid.url());
    });
    assert_eq!(run.code, 1, "{}", run.stdout);
    let error = run.the_error();
    assert!(
        error.contains(&format!(
            "the proxy 127.0.0.1:{} (from https_proxy) answered 403 Forbidden to CONNECT 127.0.0.1:8443",
            squid.port
        )),
        "{error}"
    );
    assert!(!run.stdout.contains("retrying"), "{}", run.stdout);
    assert!(started.elapsed() < Duration::from_secs(10));
    // Squid writes its access log a little after it answers; on a loaded machine the line lands
    // after rollout has exited. Wait for it, then count.
    let waited = Instant::now();
    while squid.access_log().matches("TCP_DENIED/403").count() == 0
        && waited.elapsed() < Duration::from_secs(10)
    {
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(
        squid.access_log().matches("TCP_DENIED/403").count(),
        1,
        "asked once"
    );
}
