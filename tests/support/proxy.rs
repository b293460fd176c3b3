//! A CONNECT proxy for tests: it tunnels each connection to where the client asks and records
//! what it was asked (the request line and the `Proxy-Authorization` header).

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};

/// One entry per connection: the request line and the credentials sent, if any.
pub type Seen = Arc<Mutex<Vec<(String, Option<String>)>>>;

pub struct Proxy {
    pub port: u16,
    pub seen: Seen,
}

impl Proxy {
    pub fn start() -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").expect("proxy port");
        let port = listener.local_addr().expect("proxy address").port();
        let seen: Seen = Arc::default();
        let record = seen.clone();
        std::thread::spawn(move || {
            for client in listener.incoming().flatten() {
                let record = record.clone();
                std::thread::spawn(move || tunnel(client, &record));
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

fn tunnel(client: TcpStream, record: &Mutex<Vec<(String, Option<String>)>>) {
    let Ok(read_half) = client.try_clone() else {
        return;
    };
    let mut reader = BufReader::new(read_half);
    let mut first = String::new();
    if reader.read_line(&mut first).is_err() {
        return;
    }
    let mut auth = None;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).is_err() || line.trim().is_empty() {
            break;
        }
        if let Some((name, value)) = line.split_once(':') {
            if name.eq_ignore_ascii_case("proxy-authorization") {
                auth = Some(value.trim().to_string());
            }
        }
    }
    let first = first.trim().to_string();
    if let Ok(mut r) = record.lock() {
        r.push((first.clone(), auth));
    }
    let mut client = client;
    let target = match first.split(' ').collect::<Vec<_>>()[..] {
        ["CONNECT", target, _] => target.to_string(),
        _ => {
            let _ =
                client.write_all(b"HTTP/1.1 405 Method Not Allowed\r\ncontent-length: 0\r\n\r\n");
            return;
        }
    };
    let Ok(upstream) = TcpStream::connect(&target) else {
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
