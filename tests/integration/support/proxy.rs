//! A forward proxy for tests, as Squid is one: CONNECT tunnels for https, absolute-form requests
//! (`GET http://host:port/path`) forwarded for http, and a refusing mode that answers everything
//! with one status (Squid's 403 for CONNECT to a port other than 443, a 407 for credentials).
//! It records what it was asked: the request line and the `Proxy-Authorization` header.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};

/// One entry per request: the request line and the credentials sent, if any.
pub type Seen = Arc<Mutex<Vec<(String, Option<String>)>>>;

pub struct Proxy {
    pub port: u16,
    pub seen: Seen,
}

/// How the proxy answers: carry every request, or refuse each with this status and body.
#[derive(Clone)]
enum Mode {
    Carry,
    Refuse(u16, &'static str, Vec<u8>),
}

impl Proxy {
    pub fn start() -> Proxy {
        Proxy::with(Mode::Carry)
    }

    /// Answers every request `status reason` with `body` (bytes as they are: a proxy's error
    /// page need not be UTF-8).
    pub fn refusing(status: u16, reason: &'static str, body: &[u8]) -> Proxy {
        Proxy::with(Mode::Refuse(status, reason, body.to_vec()))
    }

    fn with(mode: Mode) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").expect("proxy port");
        let port = listener.local_addr().expect("proxy address").port();
        let seen: Seen = Arc::default();
        let record = seen.clone();
        std::thread::spawn(move || {
            for client in listener.incoming().flatten() {
                let record = record.clone();
                let mode = mode.clone();
                std::thread::spawn(move || serve(client, &record, &mode));
            }
        });
        Proxy { port, seen }
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub fn seen(&self) -> Vec<(String, Option<String>)> {
        self.seen.lock().map(|s| s.clone()).unwrap_or_default()
    }
}

/// A request's head: its first line, its header lines (as sent) and its credentials.
struct Head {
    first: String,
    headers: Vec<String>,
    auth: Option<String>,
    length: usize,
}

fn read_head(reader: &mut BufReader<TcpStream>) -> Option<Head> {
    let mut first = String::new();
    if reader.read_line(&mut first).ok()? == 0 {
        return None;
    }
    let mut head = Head {
        first: first.trim().to_string(),
        headers: Vec::new(),
        auth: None,
        length: 0,
    };
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).is_err() || line.trim().is_empty() {
            break;
        }
        if let Some((name, value)) = line.split_once(':') {
            if name.eq_ignore_ascii_case("proxy-authorization") {
                head.auth = Some(value.trim().to_string());
                continue;
            }
            if name.eq_ignore_ascii_case("content-length") {
                head.length = value.trim().parse().unwrap_or(0);
            }
            if name.eq_ignore_ascii_case("connection") {
                continue;
            }
        }
        head.headers.push(line.trim_end().to_string());
    }
    Some(head)
}

fn serve(client: TcpStream, record: &Mutex<Vec<(String, Option<String>)>>, mode: &Mode) {
    let Ok(read_half) = client.try_clone() else {
        return;
    };
    let mut reader = BufReader::new(read_half);
    let mut client = client;
    // Requests on one connection, until it closes or becomes a tunnel.
    while let Some(head) = read_head(&mut reader) {
        if let Ok(mut r) = record.lock() {
            r.push((head.first.clone(), head.auth.clone()));
        }
        if let Mode::Refuse(status, reason, body) = mode {
            let mut answer = format!(
                "HTTP/1.1 {status} {reason}\r\ncontent-type: text/html; charset=iso-8859-1\r\ncontent-length: {}\r\n",
                body.len()
            );
            if *status == 407 {
                answer.push_str("proxy-authenticate: Basic realm=\"test\"\r\n");
            }
            answer.push_str("\r\n");
            let _ = client
                .write_all(answer.as_bytes())
                .and_then(|()| client.write_all(body));
            // Skip the request's body, then go on reading the connection's next request.
            let mut skip = vec![0u8; head.length];
            if reader.read_exact(&mut skip).is_err() {
                return;
            }
            continue;
        }
        match head.first.split(' ').collect::<Vec<_>>()[..] {
            ["CONNECT", target, _] => return tunnel(reader, client, target),
            [method, url, version] if url.starts_with("http://") => {
                let rest = &url["http://".len()..];
                let (authority, path) = match rest.find('/') {
                    Some(i) => (&rest[..i], &rest[i..]),
                    None => (rest, "/"),
                };
                let mut body = vec![0u8; head.length];
                if reader.read_exact(&mut body).is_err() {
                    return;
                }
                let Ok(mut upstream) = TcpStream::connect(authority) else {
                    let _ =
                        client.write_all(b"HTTP/1.1 502 Bad Gateway\r\ncontent-length: 0\r\n\r\n");
                    return;
                };
                // One upstream connection a request: the answer ends when upstream closes.
                let mut request = format!("{method} {path} {version}\r\n");
                for h in &head.headers {
                    request.push_str(h);
                    request.push_str("\r\n");
                }
                request.push_str("connection: close\r\n\r\n");
                if upstream
                    .write_all(request.as_bytes())
                    .and_then(|()| upstream.write_all(&body))
                    .is_err()
                {
                    return;
                }
                let mut answer = Vec::new();
                let _ = upstream.read_to_end(&mut answer);
                let _ = client.write_all(&answer);
                // The upstream's `connection: close` went to the client too: it reconnects.
                return;
            }
            _ => {
                let _ = client
                    .write_all(b"HTTP/1.1 405 Method Not Allowed\r\ncontent-length: 0\r\n\r\n");
                return;
            }
        }
    }
}

fn tunnel(reader: BufReader<TcpStream>, mut client: TcpStream, target: &str) {
    let Ok(upstream) = TcpStream::connect(target) else {
        let _ = client.write_all(b"HTTP/1.1 502 Bad Gateway\r\ncontent-length: 0\r\n\r\n");
        return;
    };
    if client
        .write_all(b"HTTP/1.1 200 Connection established\r\n\r\n")
        .is_err()
    {
        return;
    }
    // Bytes the reader buffered past the header belong to the tunnel.
    let buffered = reader.buffer().to_vec();
    let (Ok(mut up_write), Ok(mut up_read), Ok(mut down_write)) = (
        upstream.try_clone(),
        upstream.try_clone(),
        client.try_clone(),
    ) else {
        return;
    };
    let _ = up_write.write_all(&buffered);
    let mut down_read = reader.into_inner();
    std::thread::spawn(move || {
        let _ = std::io::copy(&mut down_read, &mut up_write);
        let _ = up_write.shutdown(std::net::Shutdown::Write);
    });
    let _ = std::io::copy(&mut up_read, &mut down_write);
    let _ = down_write.shutdown(std::net::Shutdown::Write);
}
