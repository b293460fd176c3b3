//! The HTTP stack under octocrab, built here rather than by octocrab for two reasons: octocrab's
//! own reads no proxy variable (XAMPPRocky/octocrab#752, #936), and its TLS set-up fails with an
//! opaque `Other` when the image has no CA certificates. The proxy follows the runner's rule
//! (HANDBOOK, "The GitHub API client"), not the one libraries that read proxy variables follow.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use http::header::{HeaderName, HeaderValue, ACCEPT, PROXY_AUTHORIZATION, USER_AGENT};
use http::Uri;
use hyper_util::client::legacy::connect::{Connect, Connected, Connection, HttpConnector};
use hyper_util::rt::TokioIo;
use octocrab::service::middleware::auth_header::AuthHeaderLayer;
use octocrab::service::middleware::base_uri::BaseUriLayer;
use octocrab::service::middleware::extra_headers::ExtraHeadersLayer;
use octocrab::{AuthState, OctoBody, Octocrab, OctocrabBuilder};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// The proxy a request to the API goes through, from the runner's variables.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Proxy {
    /// `http://host:port`, credentials removed.
    pub uri: Uri,
    /// The `Proxy-Authorization` value, from `user:password@` in the proxy URL.
    pub authorization: Option<String>,
    /// Which variable it came from, for the log.
    pub variable: &'static str,
}

/// The runner's rule: `https_proxy` for https URLs and `http_proxy` for http URLs, with no
/// fallback from one to the other; the lower-case name wins where both are set; `no_proxy`
/// (the same way) lists hosts, each with an optional port, that go direct. `Err`: a proxy URL
/// rollout cannot use, as a sentence.
pub fn proxy_for(
    target: &Uri,
    get: impl Fn(&str) -> Option<String>,
) -> Result<Option<Proxy>, String> {
    let read = |lower: &'static str, upper: &'static str| {
        get(lower)
            .filter(|v| !v.trim().is_empty())
            .map(|v| (lower, v))
            .or_else(|| {
                get(upper)
                    .filter(|v| !v.trim().is_empty())
                    .map(|v| (upper, v))
            })
    };
    let https = target.scheme_str() == Some("https");
    let Some((variable, value)) = (if https {
        read("https_proxy", "HTTPS_PROXY")
    } else {
        read("http_proxy", "HTTP_PROXY")
    }) else {
        return Ok(None);
    };
    let host = target.host().unwrap_or_default();
    let port = target.port_u16().unwrap_or(if https { 443 } else { 80 });
    if let Some((_, list)) = read("no_proxy", "NO_PROXY") {
        if bypasses(&list, host, port) {
            return Ok(None);
        }
    }
    parse_proxy(value.trim(), variable).map(Some)
}

/// Whether `no_proxy` sends `host:port` direct: `*`, the host itself, or a domain it is in
/// (`example.com` and `.example.com` both cover `api.example.com`), each with an optional port.
fn bypasses(list: &str, host: &str, port: u16) -> bool {
    let host = host
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_ascii_lowercase();
    list.split(',')
        .map(str::trim)
        .filter(|e| !e.is_empty())
        .any(|entry| {
            if entry == "*" {
                return true;
            }
            let (name, entry_port) = match entry.rsplit_once(':') {
                Some((n, p)) if !n.contains(':') || n.ends_with(']') => (n, p.parse::<u16>().ok()),
                _ => (entry, None),
            };
            if entry_port.is_some_and(|p| p != port) {
                return false;
            }
            let name = name
                .trim_start_matches('[')
                .trim_end_matches(']')
                .trim_start_matches("*.")
                .trim_start_matches('.')
                .to_ascii_lowercase();
            host == name || host.ends_with(&format!(".{name}"))
        })
}

fn parse_proxy(value: &str, variable: &'static str) -> Result<Proxy, String> {
    let with_scheme = if value.contains("://") {
        value.to_string()
    } else {
        format!("http://{value}")
    };
    let bad = |why: &str| {
        format!("{variable} is not a proxy URL rollout can use ({why}); write `http://host:port` or `http://user:password@host:port`")
    };
    let (scheme, rest) = with_scheme
        .split_once("://")
        .ok_or_else(|| bad("no scheme"))?;
    if !scheme.eq_ignore_ascii_case("http") {
        return Err(bad(&format!(
            "`{scheme}://`: rollout talks to the proxy in plain HTTP and tunnels TLS through it"
        )));
    }
    let authority = rest.split('/').next().unwrap_or_default();
    let (credentials, host_port) = match authority.rsplit_once('@') {
        Some((c, h)) => (Some(c), h),
        None => (None, authority),
    };
    if host_port.is_empty() {
        return Err(bad("no host"));
    }
    let uri: Uri = format!("http://{host_port}")
        .parse()
        .map_err(|_| bad("its host and port do not parse"))?;
    let authorization = credentials.map(|c| {
        let (user, password) = c.split_once(':').unwrap_or((c, ""));
        let decode = |t: &str| {
            percent_encoding::percent_decode_str(t)
                .decode_utf8_lossy()
                .into_owned()
        };
        let pair = format!("{}:{}", decode(user), decode(password));
        format!("Basic {}", STANDARD.encode(pair))
    });
    Ok(Proxy {
        uri,
        authorization,
        variable,
    })
}

/// TLS with the system's CA certificates (`SSL_CERT_FILE` and `SSL_CERT_DIR` override them).
/// `Err`: the sentence for an image without any.
fn tls_config() -> Result<rustls::ClientConfig, String> {
    let found = rustls_native_certs::load_native_certs();
    let mut roots = rustls::RootCertStore::empty();
    let (added, _) = roots.add_parsable_certificates(found.certs);
    if added == 0 {
        let why = found
            .errors
            .first()
            .map(|e| format!(" ({e})"))
            .unwrap_or_default();
        return Err(format!(
            "no CA certificates found{why}; the image needs ca-certificates, or set SSL_CERT_FILE to a file of PEM certificates"
        ));
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map(|b| b.with_root_certificates(roots).with_no_client_auth())
        .map_err(|e| format!("could not set up TLS: {e}"))
}

/// What the client is built from.
pub struct Settings<'a> {
    pub api_url: &'a str,
    pub token: &'a str,
    pub connect_timeout: Duration,
    pub proxy: Option<Proxy>,
}

/// An octocrab client over rollout's own connector: TLS roots checked up front (only for an https
/// API), the proxy when there is one, and octocrab's own layers for the base URL, headers and
/// the token (sent only to the API's host).
pub fn octocrab(settings: Settings<'_>) -> Result<Octocrab, String> {
    let base: Uri = settings
        .api_url
        .parse()
        .map_err(|e| format!("GITHUB_API_URL {:?} is not a URL: {e}", settings.api_url))?;
    let https = base.scheme_str() == Some("https");
    let tls = if https {
        tls_config()?
    } else {
        // A plain-HTTP API (the fake, a local proxy) needs no roots; rustls still wants a config.
        rustls::ClientConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .map(|b| {
            b.with_root_certificates(rustls::RootCertStore::empty())
                .with_no_client_auth()
        })
        .map_err(|e| format!("could not set up TLS: {e}"))?
    };
    let mut http = HttpConnector::new();
    http.set_connect_timeout(Some(settings.connect_timeout));
    http.enforce_http(false);
    let builder = hyper_rustls::HttpsConnectorBuilder::new()
        .with_tls_config(tls)
        .https_or_http()
        .enable_http1();
    match settings.proxy {
        Some(proxy) => {
            let authorization = match &proxy.authorization {
                Some(auth) => Some(HeaderValue::from_str(auth).map_err(|_| {
                    format!("{} holds credentials that cannot be sent", proxy.variable)
                })?),
                None => None,
            };
            // A plain-HTTP API goes to the proxy as absolute-form requests, as curl and the
            // runner send them (a strict proxy refuses CONNECT to port 80): the credentials
            // then travel on each request, not on a CONNECT.
            let per_request = if https {
                None
            } else {
                authorization.clone().map(|mut v| {
                    v.set_sensitive(true);
                    (PROXY_AUTHORIZATION, v)
                })
            };
            let connector = ProxyConnector {
                proxy: Arc::new(proxy),
                authorization,
                http,
            };
            finish(
                builder.wrap_connector(connector),
                base,
                settings.token,
                per_request,
            )
        }
        None => finish(builder.wrap_connector(http), base, settings.token, None),
    }
}

/// The proxy refused to carry a request: its status, and one sentence with the fix. No retry
/// changes a proxy's rule, so rollout says it at once.
#[derive(Debug, thiserror::Error)]
#[error("{sentence}")]
pub struct ProxyRefused {
    pub status: u16,
    pub sentence: String,
}

/// Connects through the proxy: a CONNECT tunnel for https (TLS then runs inside it), a plain
/// connection marked as proxied for http, so the client sends absolute-form requests.
#[derive(Clone)]
struct ProxyConnector {
    proxy: Arc<Proxy>,
    authorization: Option<HeaderValue>,
    http: HttpConnector,
}

/// A connection to the proxy; `absolute_form` tells the client to send the whole URL.
struct ProxyStream {
    io: TokioIo<TcpStream>,
    absolute_form: bool,
}

impl Connection for ProxyStream {
    fn connected(&self) -> Connected {
        self.io.inner().connected().proxy(self.absolute_form)
    }
}

impl hyper::rt::Read for ProxyStream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: hyper::rt::ReadBufCursor<'_>,
    ) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.io).poll_read(cx, buf)
    }
}

impl hyper::rt::Write for ProxyStream {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.io).poll_write(cx, buf)
    }
    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.io).poll_flush(cx)
    }
    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.io).poll_shutdown(cx)
    }
}

type BoxError = Box<dyn std::error::Error + Send + Sync>;

impl tower_service::Service<Uri> for ProxyConnector {
    type Response = ProxyStream;
    type Error = BoxError;
    type Future = Pin<Box<dyn Future<Output = Result<ProxyStream, BoxError>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.http.poll_ready(cx).map_err(Into::into)
    }

    fn call(&mut self, target: Uri) -> Self::Future {
        let mut http = self.http.clone();
        let proxy = self.proxy.clone();
        let authorization = self.authorization.clone();
        Box::pin(async move {
            let io = http.call(proxy.uri.clone()).await?;
            let https = target.scheme_str() == Some("https");
            if !https {
                return Ok(ProxyStream {
                    io,
                    absolute_form: true,
                });
            }
            let host = target.host().ok_or("the API's URL names no host")?;
            let port = target.port_u16().unwrap_or(443);
            let mut stream = io.into_inner();
            let mut request = format!("CONNECT {host}:{port} HTTP/1.1\r\nHost: {host}:{port}\r\n");
            if let Some(auth) = &authorization {
                request.push_str("Proxy-Authorization: ");
                request.push_str(auth.to_str().unwrap_or_default());
                request.push_str("\r\n");
            }
            request.push_str("\r\n");
            stream.write_all(request.as_bytes()).await?;
            let head = read_head(&mut stream).await?;
            let (status, reason) = status_line(&head).ok_or_else(|| {
                format!(
                    "the proxy {} (from {}) answered CONNECT with something that is not HTTP",
                    proxy.uri, proxy.variable
                )
            })?;
            if status / 100 != 2 {
                return Err(Box::new(refused(&proxy, status, &reason, host, port)) as BoxError);
            }
            Ok(ProxyStream {
                io: TokioIo::new(stream),
                absolute_form: false,
            })
        })
    }
}

/// Reads a proxy's answer up to its blank line (and no further: what follows is the tunnel).
async fn read_head(stream: &mut TcpStream) -> std::io::Result<String> {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") && !head.ends_with(b"\n\n") {
        if head.len() > 16 * 1024 {
            return Err(std::io::Error::other(
                "the proxy's answer to CONNECT has no end",
            ));
        }
        if stream.read(&mut byte).await? == 0 {
            return Err(std::io::Error::other(
                "the proxy closed the connection before answering CONNECT",
            ));
        }
        head.push(byte[0]);
    }
    Ok(String::from_utf8_lossy(&head).into_owned())
}

/// `HTTP/1.1 403 Forbidden` as (403, "Forbidden").
fn status_line(head: &str) -> Option<(u16, String)> {
    let line = head.lines().next()?;
    let mut parts = line.splitn(3, ' ');
    if !parts.next()?.starts_with("HTTP/") {
        return None;
    }
    let status = parts.next()?.trim().parse().ok()?;
    Some((status, parts.next().unwrap_or("").trim().to_string()))
}

/// The sentence for a proxy that refused a tunnel to `host:port`.
fn refused(proxy: &Proxy, status: u16, reason: &str, host: &str, port: u16) -> ProxyRefused {
    let answered = format!(
        "the proxy {} (from {}) answered {status}{}{reason} to CONNECT {host}:{port}",
        proxy
            .uri
            .authority()
            .map(|a| a.as_str().to_string())
            .unwrap_or_else(|| proxy.uri.to_string()),
        proxy.variable,
        if reason.is_empty() { "" } else { " " }
    );
    let fix = match (status, proxy.authorization.is_some()) {
        (407, false) => format!(
            "it wants credentials: write them into {} as `http://user:password@host:port`",
            proxy.variable
        ),
        (407, true) => format!("it refused the credentials in {}", proxy.variable),
        (403, _) => format!(
            "it does not allow a tunnel to {host}:{port} (Squid, by default, allows CONNECT to port 443 only): allow it in the proxy, or list {host} in no_proxy"
        ),
        _ => format!("its log says why; or list {host} in no_proxy to go direct"),
    };
    ProxyRefused {
        status,
        sentence: format!("{answered}: {fix}"),
    }
}

fn finish<C>(
    connector: C,
    base: Uri,
    token: &str,
    proxy_authorization: Option<(HeaderName, HeaderValue)>,
) -> Result<Octocrab, String>
where
    C: Connect + Clone + Send + Sync + 'static,
{
    let client = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
        .build::<_, OctoBody>(connector);
    let headers = vec![
        (
            ACCEPT,
            HeaderValue::from_static("application/vnd.github+json"),
        ),
        (
            HeaderName::from_static("x-github-api-version"),
            HeaderValue::from_static("2022-11-28"),
        ),
        (
            USER_AGENT,
            HeaderValue::from_static(concat!("rollout/", env!("CARGO_PKG_VERSION"))),
        ),
    ]
    .into_iter()
    .chain(proxy_authorization)
    .collect::<Vec<_>>();
    let mut auth = HeaderValue::from_str(&format!("Bearer {token}"))
        .map_err(|_| "input `token` holds characters a header cannot carry".to_string())?;
    auth.set_sensitive(true);
    OctocrabBuilder::new_empty()
        .with_service(client)
        .with_layer(&ExtraHeadersLayer::new(Arc::new(headers)))
        .with_layer(&BaseUriLayer::new(base.clone()))
        .with_layer(&AuthHeaderLayer::new(Some(auth), base.clone(), base))
        .with_auth(AuthState::None)
        .build()
        .map_err(|e| match e {})
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn vars(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |k| map.get(k).cloned()
    }

    fn uri(s: &str) -> Uri {
        s.parse().unwrap()
    }

    #[test]
    fn https_urls_use_https_proxy_and_never_http_proxy() {
        let api = uri("https://api.github.com");
        let p = proxy_for(&api, vars(&[("https_proxy", "http://proxy:3128")]))
            .unwrap()
            .unwrap();
        assert_eq!(p.uri, uri("http://proxy:3128"));
        assert_eq!(p.variable, "https_proxy");
        assert_eq!(
            proxy_for(&api, vars(&[("http_proxy", "http://proxy:3128")])).unwrap(),
            None
        );
        // ALL_PROXY is not the runner's rule.
        assert_eq!(
            proxy_for(&api, vars(&[("ALL_PROXY", "http://proxy:3128")])).unwrap(),
            None
        );
        let http = uri("http://ghes.internal/api/v3");
        assert_eq!(
            proxy_for(&http, vars(&[("https_proxy", "http://p:1")])).unwrap(),
            None
        );
        assert!(proxy_for(&http, vars(&[("http_proxy", "http://p:1")]))
            .unwrap()
            .is_some());
    }

    #[test]
    fn lower_case_wins_and_upper_case_is_read_alone() {
        let api = uri("https://api.github.com");
        let both = vars(&[
            ("https_proxy", "http://lower:1"),
            ("HTTPS_PROXY", "http://upper:2"),
        ]);
        assert_eq!(
            proxy_for(&api, both).unwrap().unwrap().uri,
            uri("http://lower:1")
        );
        let upper = vars(&[("HTTPS_PROXY", "http://upper:2")]);
        let p = proxy_for(&api, upper).unwrap().unwrap();
        assert_eq!((p.uri, p.variable), (uri("http://upper:2"), "HTTPS_PROXY"));
        // An empty lower-case value does not hide the upper-case one.
        let empty = vars(&[("https_proxy", ""), ("HTTPS_PROXY", "http://upper:2")]);
        assert_eq!(
            proxy_for(&api, empty).unwrap().unwrap().variable,
            "HTTPS_PROXY"
        );
    }

    #[test]
    fn no_proxy_hosts_ports_and_domains() {
        let proxied = |url: &str, no_proxy: &str| {
            proxy_for(
                &uri(url),
                vars(&[("https_proxy", "http://p:1"), ("no_proxy", no_proxy)]),
            )
            .unwrap()
            .is_some()
        };
        assert!(!proxied("https://api.github.com", "api.github.com"));
        assert!(!proxied("https://api.github.com", "github.com"));
        assert!(!proxied("https://api.github.com", ".github.com"));
        assert!(!proxied("https://api.github.com", "localhost, *"));
        assert!(!proxied("https://ghes:8443/api/v3", "ghes:8443"));
        assert!(proxied("https://ghes:8443/api/v3", "ghes:443"));
        assert!(proxied(
            "https://api.github.com",
            "notgithub.com,example.org"
        ));
        assert!(proxied("https://api.github.com", ""));
        // NO_PROXY alone counts; no_proxy wins where both are set.
        let upper = vars(&[
            ("https_proxy", "http://p:1"),
            ("NO_PROXY", "api.github.com"),
        ]);
        assert_eq!(
            proxy_for(&uri("https://api.github.com"), upper).unwrap(),
            None
        );
        let both = vars(&[
            ("https_proxy", "http://p:1"),
            ("no_proxy", "example.org"),
            ("NO_PROXY", "api.github.com"),
        ]);
        assert!(proxy_for(&uri("https://api.github.com"), both)
            .unwrap()
            .is_some());
    }

    #[test]
    fn credentials_become_a_proxy_authorization() {
        let api = uri("https://api.github.com");
        let p = proxy_for(
            &api,
            vars(&[("https_proxy", "http://mona:s%40cret@proxy:3128/")]),
        )
        .unwrap()
        .unwrap();
        assert_eq!(p.uri, uri("http://proxy:3128"));
        // base64("mona:s@cret")
        assert_eq!(p.authorization.as_deref(), Some("Basic bW9uYTpzQGNyZXQ="));
        let bare = proxy_for(&api, vars(&[("https_proxy", "proxy:3128")]))
            .unwrap()
            .unwrap();
        assert_eq!(
            (bare.uri, bare.authorization),
            (uri("http://proxy:3128"), None)
        );
    }

    #[test]
    fn a_proxy_url_rollout_cannot_use_is_a_sentence() {
        let api = uri("https://api.github.com");
        let e = proxy_for(&api, vars(&[("https_proxy", "socks5://proxy:1080")])).unwrap_err();
        assert!(
            e.starts_with("https_proxy is not a proxy URL rollout can use"),
            "{e}"
        );
        let e = proxy_for(&api, vars(&[("HTTPS_PROXY", "http://")])).unwrap_err();
        assert!(e.contains("no host"), "{e}");
    }
}
