//! `ApiError`: what can go wrong in a call to GitHub, whether it may be retried, and the one
//! sentence a user reads for it (with the permission a refusal names).

use super::Answer;
use http::{HeaderMap, Method};
use serde_json::Value;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("GitHub answered {status} to {method} {path}: {message}")]
    Status {
        status: u16,
        method: Method,
        path: String,
        message: String,
        /// The `errors` list of a 422, as GitHub wrote it.
        errors: String,
        rate_limited: bool,
    },
    #[error("could not reach GitHub for {method} {path}: {detail}")]
    Transport {
        method: Method,
        path: String,
        detail: String,
    },
    #[error("GitHub answered 202 to the deployment create: it tried to merge the default branch into the ref and made no deployment ({message})")]
    Accepted { message: String },
    #[error("the TLS certificate of {host} is not trusted ({detail}); if {host} uses a private certificate authority, set SSL_CERT_FILE to a file of its PEM certificates (in the image: mount it, or add it to the job's `env:`)")]
    Certificate { host: String, detail: String },
    #[error("{method} {path} was cut short: the run was cancelled")]
    Cancelled { method: Method, path: String },
    #[error("GitHub's answer to {method} {path} could not be read: {detail}")]
    Decode {
        method: Method,
        path: String,
        detail: String,
    },
    /// A GraphQL query that GitHub answered with an `errors` list (and, usually, HTTP 200).
    #[error("GitHub's GraphQL API did not answer the query ({path}): {message}")]
    Query {
        path: String,
        message: String,
        kind: QueryFault,
    },
    /// A 2xx whose body is not what the call answers: the server acted, and what it made is
    /// unknown. For a create, as ambiguous as a lost answer.
    #[error(
        "GitHub answered {status} to {method} {path}, but its answer could not be read ({detail})"
    )]
    Unreadable {
        status: u16,
        method: Method,
        path: String,
        detail: String,
    },
    /// The proxy in `variable` refused to carry the request: retrying will not change its mind.
    #[error("{0}")]
    Proxy(String),
}

/// What a GraphQL `errors` list means for a retry and for the user.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum QueryFault {
    /// `type: RATE_LIMITED`: waited for as REST's rate limits are.
    RateLimited,
    /// `FORBIDDEN` (or `INSUFFICIENT_SCOPES`): the token lacks a permission.
    Forbidden,
    /// `NOT_FOUND`: no such repository, or no access to it.
    NotFound,
    /// GitHub's own failure ("Something went wrong while executing your query. This may be the
    /// result of a timeout"): retried like a 502.
    Transient,
    /// Anything else: the query itself was refused, and asking again changes nothing.
    Refused,
}

impl ApiError {
    pub fn status(&self) -> Option<u16> {
        match self {
            ApiError::Status { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// Whether the server may have acted on the request although the answer was lost.
    pub fn is_ambiguous(&self) -> bool {
        match self {
            ApiError::Transport { .. }
            | ApiError::Cancelled { .. }
            | ApiError::Unreadable { .. } => true,
            ApiError::Query { kind, .. } => *kind == QueryFault::Transient,
            ApiError::Status { status, .. } => *status >= 500,
            _ => false,
        }
    }

    pub(super) fn retryable(&self) -> bool {
        match self {
            ApiError::Status { rate_limited, .. } if *rate_limited => true,
            ApiError::Query { kind, .. } => {
                matches!(kind, QueryFault::RateLimited | QueryFault::Transient)
            }
            ApiError::Cancelled { .. } | ApiError::Proxy(_) => false,
            other => other.is_ambiguous(),
        }
    }

    /// The error without the request it came from, for a line that names the request already.
    pub fn cause(&self) -> String {
        match self {
            ApiError::Transport { detail, .. } => format!("could not reach GitHub: {detail}"),
            ApiError::Status {
                status, message, ..
            } => format!("GitHub answered {status}: {message}"),
            ApiError::Cancelled { .. } => "cut short: the run was cancelled".into(),
            ApiError::Decode { detail, .. } => format!("the answer could not be read: {detail}"),
            ApiError::Unreadable { status, detail, .. } => {
                format!("GitHub answered {status}, but the answer could not be read: {detail}")
            }
            ApiError::Query { message, .. } => format!("the GraphQL query failed: {message}"),
            other => other.to_string(),
        }
    }

    pub fn is_rate_limit(&self) -> bool {
        matches!(
            self,
            ApiError::Status {
                rate_limited: true,
                ..
            } | ApiError::Query {
                kind: QueryFault::RateLimited,
                ..
            }
        )
    }

    /// One sentence for a user: what went wrong in `doing`, and what to change. `permission` is
    /// the `permissions:` entry the call needs.
    pub fn explain(&self, doing: &str, permission: &str) -> String {
        match self {
            ApiError::Status { status, message, rate_limited: true, .. } => format!(
                "{doing} failed: GitHub rate limited the requests ({status}: {message}) for longer than rollout may wait here; wait for the limit to reset (GITHUB_TOKEN allows 1,000 requests an hour per repository), or use fewer concurrent jobs"
            ),
            ApiError::Status { status: 401, .. } => format!(
                "{doing} failed: GitHub refused the token (401); it is invalid or expired, so check the `token` input"
            ),
            ApiError::Status { status: 403 | 404, message, rate_limited: false, .. } => format!(
                "{doing} failed: GitHub answered {} ({}); the token lacks access: give the job `permissions:` with `{permission}` (a 404 also means no access)",
                self.status().unwrap_or(0),
                message
            ),
            ApiError::Status { status: 407, .. } => format!(
                "{doing} failed: the proxy answered 407 (Proxy Authentication Required); write its credentials into http_proxy as `http://user:password@host:port`"
            ),
            ApiError::Status { status: 409, message, .. } => format!(
                "{doing} failed: GitHub answered 409 ({message}); the commit's status checks in `required-contexts` have not all passed, or the ref conflicts"
            ),
            ApiError::Status { status: 422, message, errors, .. } => format!(
                "{doing} failed: GitHub rejected a field (422: {message}{}{errors})",
                if errors.is_empty() { "" } else { "; " }
            ),
            ApiError::Query { kind: QueryFault::RateLimited, message, .. } => format!(
                "{doing} failed: GitHub rate limited the GraphQL API ({message}) for longer than rollout may wait here; wait for the limit to reset, or use fewer concurrent jobs"
            ),
            ApiError::Query { kind: QueryFault::Forbidden, message, .. } => format!(
                "{doing} failed: GitHub's GraphQL API refused the token ({message}); the token lacks access: give the job `permissions:` with `{permission}`"
            ),
            ApiError::Query { kind: QueryFault::NotFound, message, .. } => format!(
                "{doing} failed: GitHub's GraphQL API found nothing there ({message}); check the repository's name, or the token cannot see it: give the job `permissions:` with `{permission}`"
            ),
            ApiError::Query { kind: QueryFault::Transient, message, .. } => format!(
                "{doing} failed: GitHub's GraphQL API kept failing on its side ({message}); re-run the job when GitHub recovers"
            ),
            other => format!("{doing} failed: {other}"),
        }
    }
}

pub(super) fn status_error(method: &Method, path: &str, answer: &Answer) -> ApiError {
    let parsed = serde_json::from_str::<Value>(&answer.body);
    let reason = answer.status.canonical_reason().unwrap_or("no message");
    let message = match &parsed {
        Ok(json) => json["message"]
            .as_str()
            .map(str::to_string)
            .unwrap_or_else(|| reason.to_string()),
        // GitHub answers JSON: a page of something else came from whatever stands between.
        Err(_) if !answer.body.trim().is_empty() => format!(
            "{reason}; the answer is not GitHub's JSON, so a proxy or gateway on the way may have sent it: {}",
            answer
                .body
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" ")
                .chars()
                .take(160)
                .collect::<String>()
        ),
        Err(_) => reason.to_string(),
    };
    let json = parsed.unwrap_or(Value::Null);
    let errors = match &json["errors"] {
        Value::Null => String::new(),
        Value::Array(list) => list
            .iter()
            .map(|e| match e {
                Value::String(s) => s.clone(),
                other => {
                    let field = other["field"].as_str().unwrap_or("");
                    let text = other["message"]
                        .as_str()
                        .or(other["code"].as_str())
                        .unwrap_or("");
                    format!("{field} {text}").trim().to_string()
                }
            })
            .collect::<Vec<_>>()
            .join("; "),
        other => other.to_string(),
    };
    let status = answer.status.as_u16();
    let rate_limited = status == 429
        || (status == 403
            && (header(&answer.headers, "x-ratelimit-remaining") == Some("0")
                || message.to_ascii_lowercase().contains("rate limit")));
    ApiError::Status {
        status,
        method: method.clone(),
        path: path.to_string(),
        message: message.chars().take(300).collect(),
        errors: errors.chars().take(300).collect(),
        rate_limited,
    }
}

pub(super) fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// A TLS failure that no retry mends: the certificate chain itself is refused.
pub(super) fn is_certificate_error(detail: &str) -> bool {
    detail.contains("invalid peer certificate")
        || detail.contains("UnknownIssuer")
        || detail.contains("certificate")
}

/// The proxy's refusal, wherever it sits in the chain of causes.
pub(super) fn proxy_refusal(e: &octocrab::Error) -> Option<&crate::transport::ProxyRefused> {
    let mut source: Option<&(dyn std::error::Error + 'static)> = std::error::Error::source(e);
    while let Some(s) = source {
        if let Some(refused) = s.downcast_ref::<crate::transport::ProxyRefused>() {
            return Some(refused);
        }
        source = s.source();
    }
    None
}

/// octocrab's errors can carry the request; keep only the cause, so nothing of the request (the
/// token included) reaches a log.
pub(super) fn describe_octocrab(e: &octocrab::Error) -> String {
    let mut text = String::new();
    let mut source: Option<&dyn std::error::Error> = std::error::Error::source(e);
    while let Some(s) = source {
        text = s.to_string();
        source = s.source();
    }
    if text.is_empty() {
        "the connection failed".to_string()
    } else {
        text
    }
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use http::StatusCode;

    pub(in crate::github) fn answer(status: u16, headers: &[(&str, &str)], body: &str) -> Answer {
        let mut map = HeaderMap::new();
        for (k, v) in headers {
            map.insert(
                http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
                v.parse().unwrap(),
            );
        }
        Answer {
            status: StatusCode::from_u16(status).unwrap(),
            headers: map,
            body: body.to_string(),
        }
    }

    #[test]
    fn rate_limits_are_recognised() {
        let e = status_error(&Method::GET, "/x", &answer(429, &[], "{}"));
        assert!(e.retryable());
        let e = status_error(
            &Method::GET,
            "/x",
            &answer(
                403,
                &[],
                r#"{"message":"You have exceeded a secondary rate limit"}"#,
            ),
        );
        assert!(e.retryable());
        let e = status_error(
            &Method::GET,
            "/x",
            &answer(403, &[("x-ratelimit-remaining", "0")], "{}"),
        );
        assert!(e.retryable());
        let e = status_error(
            &Method::GET,
            "/x",
            &answer(
                403,
                &[],
                r#"{"message":"Resource not accessible by integration"}"#,
            ),
        );
        assert!(!e.retryable());
    }

    #[test]
    fn errors_422_list_the_fields() {
        let e = status_error(
            &Method::POST,
            "/x",
            &answer(
                422,
                &[],
                r#"{"message":"Validation Failed","errors":[{"resource":"DeploymentStatus","field":"description","code":"custom","message":"description is too long"}]}"#,
            ),
        );
        let s = e.explain("Creating the deployment", "deployments: write");
        assert!(s.contains("description description is too long"), "{s}");
    }

    #[test]
    fn explanations_name_the_permission() {
        let e = status_error(
            &Method::POST,
            "/x",
            &answer(
                403,
                &[],
                r#"{"message":"Resource not accessible by integration"}"#,
            ),
        );
        let s = e.explain("Creating the deployment", "deployments: write");
        assert!(
            s.contains("`deployments: write`") && s.contains("Resource not accessible"),
            "{s}"
        );
        let e = status_error(
            &Method::POST,
            "/x",
            &answer(401, &[], r#"{"message":"Bad credentials"}"#),
        );
        assert!(e.explain("x", "y").contains("invalid or expired"));
    }
}
