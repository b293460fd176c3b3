//! A stateful fake of the GitHub REST calls rollout makes, and of its one GraphQL query
//! ([`graphql`], validated against GitHub's published schema). It keeps deployments, statuses,
//! comments and environments; answers 201/202/401/403/404/409/422 as GitHub does; checks every
//! request body against a compact schema of GitHub's request schema for that call (from the
//! OpenAPI description); and can inject faults. It runs inside tests ([`Fake::start`]) or as a
//! standalone server (`fake-github`), whose state is at `GET /_fake/state`.

use axum::body::Bytes;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};
use std::collections::{BTreeMap, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

pub mod graphql;

pub const OWNER_REPO: &str = "octo-org/app";

/// The most statuses GitHub keeps on one deployment.
pub const MAX_STATUSES: usize = 100;

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Status {
    pub id: u64,
    pub state: String,
    pub description: String,
    pub log_url: Option<String>,
    pub environment_url: Option<String>,
    pub created_at: String,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Deployment {
    pub id: u64,
    pub sha: String,
    #[serde(rename = "ref")]
    pub git_ref: String,
    pub task: String,
    pub environment: String,
    pub payload: Value,
    pub description: Option<String>,
    pub transient_environment: bool,
    pub production_environment: bool,
    pub required_contexts: Option<Vec<String>>,
    pub auto_merge: Option<bool>,
    /// Oldest first.
    pub statuses: Vec<Status>,
    /// When it was created (RFC 3339), as GraphQL's `createdAt` answers it.
    #[serde(default = "rfc3339_now")]
    pub created_at: String,
}

impl Deployment {
    pub fn state(&self) -> Option<&str> {
        self.statuses.last().map(|s| s.state.as_str())
    }
    pub fn is_final(&self) -> bool {
        matches!(
            self.state(),
            Some("success" | "failure" | "error" | "inactive")
        )
    }
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Comment {
    pub id: u64,
    pub issue: u64,
    pub body: String,
    pub author: String,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Request {
    pub method: String,
    /// Path and query.
    pub path: String,
    pub status: u16,
    pub body: Option<Value>,
    /// Every header as sent, the authorization one included, so tests can look for leaks.
    pub headers: BTreeMap<String, String>,
    /// When it arrived, in milliseconds since the Unix epoch.
    pub at_ms: u128,
}

impl Request {
    pub fn is_write(&self) -> bool {
        self.method != "GET" && !self.path.starts_with("/_fake")
    }
}

/// A fault: the next `times` requests whose method and path match get this answer instead.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Fault {
    pub method: String,
    /// A substring of the path.
    pub path: String,
    pub status: u16,
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    #[serde(default)]
    pub body: Value,
    #[serde(default = "one")]
    pub times: u32,
    /// Do the work, then answer with the fault (a lost answer: the ambiguous case). With
    /// `status` 0 the answer is the normal one: with `delay_ms` past the client's read timeout,
    /// a success the client never sees.
    #[serde(default)]
    pub after: bool,
    /// Wait this long before answering.
    #[serde(default)]
    pub delay_ms: u64,
    /// Let this many matching requests through first.
    #[serde(default)]
    pub skip: u32,
    /// Answer these bytes as the body, as they are (not JSON, not even UTF-8: a proxy's latin-1
    /// page), instead of `body`; empty for a 201 or 204 with no body.
    #[serde(default)]
    pub raw: Option<Vec<u8>>,
    /// Wait this long after the work is done before answering (a server that acted, then hung).
    #[serde(default)]
    pub linger_ms: u64,
    /// JSON pointers (`/data/repository/l1`) removed from the answer: with `status` 0 the real
    /// answer loses a field or a GraphQL alias it was asked for, as a broken proxy or cache
    /// might hand it over.
    #[serde(default)]
    pub drop: Vec<String>,
}

fn one() -> u32 {
    1
}

/// Removes what the JSON pointer `pointer` names from `value`, if it is there.
fn drop_pointer(value: &mut Value, pointer: &str) {
    let Some((parent, last)) = pointer.rsplit_once('/') else {
        return;
    };
    let key = last.replace("~1", "/").replace("~0", "~");
    match value.pointer_mut(parent) {
        Some(Value::Object(map)) => {
            map.remove(&key);
        }
        Some(Value::Array(items)) => {
            if let Some(i) = key.parse::<usize>().ok().filter(|i| *i < items.len()) {
                items.remove(i);
            }
        }
        _ => {}
    }
}

/// What a token may do. Unknown tokens may do everything but delete environments.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Grant {
    /// Everything, environment deletion included.
    Admin,
    /// Everything but deleting environments (GITHUB_TOKEN with write permissions).
    Write,
    /// A fork's or Dependabot's token: every write is refused.
    ReadOnly,
    /// Lacks `deployments: write`.
    NoDeployments,
    /// Lacks `pull-requests: write`.
    NoComments,
    /// `contents: read` only: the git database's writes (commits, refs) are refused.
    ContentsRead,
    /// No `contents` at all: the git database and GraphQL's `ref` are refused too.
    NoContents,
    /// Invalid or expired.
    Bad,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct State {
    next_id: u64,
    pub deployments: Vec<Deployment>,
    pub comments: Vec<Comment>,
    pub deleted_environments: Vec<String>,
    pub requests: Vec<Request>,
    /// Requests whose body or headers broke GitHub's request schema.
    pub violations: Vec<String>,
    pub faults: VecDeque<Fault>,
    pub tokens: BTreeMap<String, Grant>,
    /// When set, only these shas exist: a deployment of any other ref is a 422.
    pub known_shas: Option<Vec<String>>,
    /// A commit status check is pending: a create without `required_contexts: []` is a 409.
    pub pending_check: Option<String>,
    /// `compare` answers by `base...head`; a missing pair is a 404.
    pub compares: BTreeMap<String, Vec<String>>,
    /// The answer to the jobs API.
    pub jobs: Value,
    /// Random faults on API calls (the soak test).
    pub chaos: Option<Chaos>,
    /// Every API call takes this long, half before its effect and half after (GitHub's round
    /// trip: the benchmark's 100 ms).
    #[serde(default)]
    pub latency_ms: u64,
    /// The git database: commits by sha.
    #[serde(default)]
    pub git_commits: BTreeMap<String, GitCommit>,
    /// Tree shas that exist (only their existence matters here).
    #[serde(default)]
    pub git_trees: Vec<String>,
    /// Refs by full name (`refs/heads/main`) -> commit sha.
    #[serde(default)]
    pub git_refs: BTreeMap<String, String>,
    /// Environments made without a deployment (by hand, in the settings); GraphQL's
    /// `environments` lists these and every deployment's, less the deleted ones.
    #[serde(default)]
    pub environments: Vec<String>,
    /// Pull requests by number: `OPEN`, `CLOSED` or `MERGED` (GraphQL's `PullRequestState`).
    /// A number not here names no pull request.
    #[serde(default)]
    pub pull_requests: BTreeMap<u64, String>,
    /// Committed dates (RFC 3339) of deployed commits, by sha: GraphQL's `Deployment.commit`
    /// is null for a sha not here (GitHub: a commit that no longer exists).
    #[serde(default)]
    pub commit_dates: BTreeMap<String, String>,
}

/// A commit of the fake's git database.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct GitCommit {
    pub tree: String,
    pub message: String,
    pub parents: Vec<String>,
}

/// Injects a random fault into `percent` of the API calls: a 502 before or after doing the work,
/// a 429 with `retry-after: 0`, a secondary limit with `retry-after: 60`, or the work done and
/// answered `late_ms` later. Deterministic for a seed.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Chaos {
    pub percent: u64,
    pub seed: u64,
    /// How late a late success answers, in milliseconds.
    #[serde(default)]
    pub late_ms: u64,
    /// How many faults it injected.
    pub injected: u64,
}

impl Chaos {
    fn next(&mut self) -> u64 {
        // xorshift64*: enough randomness for a fault schedule.
        self.seed ^= self.seed >> 12;
        self.seed ^= self.seed << 25;
        self.seed ^= self.seed >> 27;
        self.seed.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn roll(&mut self, method: &Method, path: &str) -> Option<Fault> {
        if self.next() % 100 >= self.percent {
            return None;
        }
        self.injected += 1;
        let (status, after, headers, body, delay_ms) = match self.next() % 5 {
            0 => (502, false, BTreeMap::new(), Value::Null, 0),
            1 => (502, true, BTreeMap::new(), Value::Null, 0),
            2 => (
                429,
                false,
                BTreeMap::from([("retry-after".to_string(), "0".to_string())]),
                Value::Null,
                0,
            ),
            // GitHub's usual secondary limit: a minute (tests run rollout on a short clock).
            3 => (
                403,
                false,
                BTreeMap::from([("retry-after".to_string(), "60".to_string())]),
                json!({ "message": "You have exceeded a secondary rate limit. Please wait a few minutes before you try again." }),
                0,
            ),
            // A success that arrives after the client's read timeout (on that short clock).
            _ => (0, true, BTreeMap::new(), Value::Null, self.late_ms),
        };
        Some(Fault {
            method: method.to_string(),
            path: path.to_string(),
            status,
            headers,
            body,
            times: 1,
            after,
            delay_ms,
            skip: 0,
            raw: None,
            linger_ms: 0,
            drop: Vec::new(),
        })
    }
}

impl State {
    fn id(&mut self) -> u64 {
        self.next_id += 1;
        self.next_id
    }
    pub fn writes(&self) -> Vec<&Request> {
        self.requests.iter().filter(|r| r.is_write()).collect()
    }
    pub fn deployments_of(&self, environment: &str) -> Vec<&Deployment> {
        self.deployments
            .iter()
            .filter(|d| d.environment == environment)
            .collect()
    }
    /// `count` deployments of `environment`, oldest first, each with one status in `state` (none
    /// when `None`), made without an API call: a test of a thousand deployments sets them up
    /// in no time. Returns their ids.
    pub fn seed(
        &mut self,
        environment: &str,
        count: usize,
        state: Option<&str>,
        transient: bool,
    ) -> Vec<u64> {
        let mut ids = Vec::with_capacity(count);
        for _ in 0..count {
            let id = self.id();
            let statuses = match state {
                Some(state) => vec![Status {
                    id: self.id(),
                    state: state.to_string(),
                    description: "seeded".into(),
                    log_url: None,
                    environment_url: None,
                    created_at: now(),
                }],
                None => Vec::new(),
            };
            self.deployments.push(Deployment {
                id,
                sha: "5".repeat(40),
                git_ref: "5".repeat(40),
                task: "deploy".into(),
                environment: environment.to_string(),
                payload: json!({}),
                description: Some("seeded".into()),
                transient_environment: transient,
                production_environment: environment == "production",
                required_contexts: Some(Vec::new()),
                auto_merge: Some(false),
                statuses,
                created_at: rfc3339_now(),
            });
            ids.push(id);
        }
        ids
    }

    /// The status writes to one deployment.
    pub fn status_writes(&self, id: u64) -> usize {
        let path = format!("/deployments/{id}/statuses");
        self.requests
            .iter()
            .filter(|r| r.method == "POST" && r.path.ends_with(&path))
            .count()
    }

    /// A 40-hex object id no other object of the fake has.
    fn object_id(&mut self) -> String {
        format!("c0ffee{:034x}", self.id())
    }

    /// A commit with a tree of its own, made without an API call (the `GITHUB_SHA` a lock takes
    /// its tree from). Returns its sha.
    pub fn seed_commit(&mut self, message: &str) -> String {
        let tree = self.object_id();
        self.git_trees.push(tree.clone());
        self.add_commit(tree, message, Vec::new())
    }

    fn add_commit(&mut self, tree: String, message: &str, parents: Vec<String>) -> String {
        let sha = self.object_id();
        self.git_commits.insert(
            sha.clone(),
            GitCommit {
                tree,
                message: message.to_string(),
                parents,
            },
        );
        sha
    }

    /// Whether `ancestor` is `sha` or reachable from it through parents.
    fn reaches(&self, sha: &str, ancestor: &str) -> bool {
        let mut todo = vec![sha.to_string()];
        let mut seen = std::collections::BTreeSet::new();
        while let Some(next) = todo.pop() {
            if next == ancestor {
                return true;
            }
            if seen.insert(next.clone()) {
                if let Some(c) = self.git_commits.get(&next) {
                    todo.extend(c.parents.iter().cloned());
                }
            }
        }
        false
    }

    /// The environments GraphQL lists: every deployment's and the ones made by hand, once each
    /// (GitHub compares names without case), less the deleted ones, by name.
    pub fn environment_names(&self) -> Vec<String> {
        let mut seen = std::collections::BTreeMap::new();
        for name in self
            .environments
            .iter()
            .chain(self.deployments.iter().map(|d| &d.environment))
        {
            let key = name.to_lowercase();
            if !self
                .deleted_environments
                .iter()
                .any(|d| d.to_lowercase() == key)
            {
                seen.entry(key).or_insert_with(|| name.clone());
            }
        }
        let mut names: Vec<String> = seen.into_values().collect();
        names.sort();
        names
    }

    pub fn requests_to(&self, method: &str, path_part: &str) -> usize {
        self.requests
            .iter()
            .filter(|r| r.method == method && r.path.contains(path_part))
            .count()
    }
}

pub type Shared = Arc<Mutex<State>>;

fn lock(state: &Shared) -> MutexGuard<'_, State> {
    state
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Now as RFC 3339 (`2026-12-07T12:00:00Z`).
pub fn rfc3339_now() -> String {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    rfc3339(secs as i64)
}

/// Seconds since the Unix epoch as RFC 3339, in UTC.
pub fn rfc3339(secs: i64) -> String {
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// The time as GitHub writes it (RFC 3339, UTC, whole seconds).
fn now() -> String {
    rfc3339_now()
}

// ---- request schemas: a compact form of the OpenAPI request bodies ----

#[derive(Clone, Copy)]
enum Kind {
    Str,
    NullableStr,
    Bool,
    StrArray,
    ObjectOrStr,
    Object,
    Enum(&'static [&'static str]),
}

struct Field(&'static str, Kind, bool);

const CREATE_DEPLOYMENT: &[Field] = &[
    Field("ref", Kind::Str, true),
    Field("task", Kind::Str, false),
    Field("auto_merge", Kind::Bool, false),
    Field("required_contexts", Kind::StrArray, false),
    Field("payload", Kind::ObjectOrStr, false),
    Field("environment", Kind::Str, false),
    Field("description", Kind::NullableStr, false),
    Field("transient_environment", Kind::Bool, false),
    Field("production_environment", Kind::Bool, false),
];

const STATES: &[&str] = &[
    "error",
    "failure",
    "inactive",
    "in_progress",
    "queued",
    "pending",
    "success",
];

const CREATE_STATUS: &[Field] = &[
    Field("state", Kind::Enum(STATES), true),
    Field("target_url", Kind::Str, false),
    Field("log_url", Kind::Str, false),
    Field("description", Kind::Str, false),
    Field("environment", Kind::Str, false),
    Field("environment_url", Kind::Str, false),
    Field("auto_inactive", Kind::Bool, false),
];

const COMMENT: &[Field] = &[Field("body", Kind::Str, true)];

const CREATE_COMMIT: &[Field] = &[
    Field("message", Kind::Str, true),
    Field("tree", Kind::Str, true),
    Field("parents", Kind::StrArray, false),
    Field("author", Kind::Object, false),
    Field("committer", Kind::Object, false),
    Field("signature", Kind::Str, false),
];

const CREATE_REF: &[Field] = &[Field("ref", Kind::Str, true), Field("sha", Kind::Str, true)];

const UPDATE_REF: &[Field] = &[
    Field("sha", Kind::Str, true),
    Field("force", Kind::Bool, false),
];

fn check(schema: &[Field], body: &Value) -> Vec<String> {
    let Some(map) = body.as_object() else {
        return vec!["the body is not a JSON object".into()];
    };
    let mut problems = Vec::new();
    for key in map.keys() {
        if !schema.iter().any(|f| f.0 == key) {
            problems.push(format!("unknown field `{key}`"));
        }
    }
    for Field(name, kind, required) in schema {
        let Some(v) = map.get(*name) else {
            if *required {
                problems.push(format!("missing required field `{name}`"));
            }
            continue;
        };
        let ok = match kind {
            Kind::Str => v.is_string(),
            Kind::NullableStr => v.is_string() || v.is_null(),
            Kind::Bool => v.is_boolean(),
            Kind::StrArray => v.as_array().is_some_and(|a| a.iter().all(Value::is_string)),
            Kind::ObjectOrStr => v.is_object() || v.is_string(),
            Kind::Object => v.is_object(),
            Kind::Enum(values) => v.as_str().is_some_and(|s| values.contains(&s)),
        };
        if !ok {
            problems.push(format!("field `{name}` has the wrong type or value: {v}"));
        }
    }
    problems
}

// ---- the server ----

pub struct Fake {
    pub state: Shared,
    pub addr: SocketAddr,
}

impl Fake {
    /// Starts on a free loopback port, on a thread of its own (tests need not be async).
    pub fn start() -> Fake {
        Self::start_on(0)
    }

    pub fn start_on(port: u16) -> Fake {
        let state: Shared = Arc::default();
        let listener =
            std::net::TcpListener::bind(("127.0.0.1", port)).expect("bind a loopback port");
        let addr = listener.local_addr().expect("a bound address");
        listener
            .set_nonblocking(true)
            .expect("non-blocking listener");
        let shared = state.clone();
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .expect("a tokio runtime");
            rt.block_on(async move {
                let listener =
                    tokio::net::TcpListener::from_std(listener).expect("a tokio listener");
                let _ = axum::serve(listener, router(shared)).await;
            });
        });
        Fake { state, addr }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn state(&self) -> MutexGuard<'_, State> {
        lock(&self.state)
    }

    pub fn fault(&self, fault: Fault) {
        self.state().faults.push_back(fault);
    }

    pub fn grant(&self, token: &str, grant: Grant) {
        self.state().tokens.insert(token.to_string(), grant);
    }
}

pub fn router(state: Shared) -> axum::Router {
    axum::Router::new().fallback(
        move |method: Method, uri: Uri, headers: HeaderMap, body: Bytes| {
            let state = state.clone();
            // In a task of its own: like GitHub, the fake finishes what it started even when the
            // client gave up waiting (a late success).
            async move {
                tokio::spawn(handle(state, method, uri, headers, body))
                    .await
                    .unwrap_or_else(|_| StatusCode::INTERNAL_SERVER_ERROR.into_response())
            }
        },
    )
}

fn error(status: u16, message: &str) -> (u16, Value, Vec<(String, String)>) {
    (
        status,
        json!({ "message": message, "documentation_url": "https://docs.github.com/rest" }),
        Vec::new(),
    )
}

async fn handle(
    state: Shared,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = uri.path().to_string();
    let query: BTreeMap<String, String> = uri
        .query()
        .unwrap_or("")
        .split('&')
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| (k.to_string(), decode(v)))
        .collect();
    let json_body: Option<Value> = if body.is_empty() {
        None
    } else {
        serde_json::from_slice(&body).ok()
    };
    let header_map: BTreeMap<String, String> = headers
        .iter()
        .map(|(k, v)| {
            (
                k.as_str().to_string(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            )
        })
        .collect();

    // Control endpoints for standalone use.
    if let Some(control) = path.strip_prefix("/_fake/") {
        let mut s = lock(&state);
        return match (method.as_str(), control) {
            ("GET", "state") => {
                axum::Json(serde_json::to_value(&*s).unwrap_or(Value::Null)).into_response()
            }
            ("POST", "faults") => {
                match json_body.and_then(|b| serde_json::from_value::<Fault>(b).ok()) {
                    Some(f) => {
                        s.faults.push_back(f);
                        StatusCode::NO_CONTENT.into_response()
                    }
                    None => StatusCode::BAD_REQUEST.into_response(),
                }
            }
            ("POST", "tokens") => match json_body
                .and_then(|b| serde_json::from_value::<BTreeMap<String, Grant>>(b).ok())
            {
                Some(t) => {
                    s.tokens.extend(t);
                    StatusCode::NO_CONTENT.into_response()
                }
                None => StatusCode::BAD_REQUEST.into_response(),
            },
            ("POST", "jobs") => {
                s.jobs = json_body.unwrap_or(Value::Null);
                StatusCode::NO_CONTENT.into_response()
            }
            ("POST", "seed") => {
                #[derive(Deserialize)]
                struct Seed {
                    environment: String,
                    count: usize,
                    state: Option<String>,
                    #[serde(default)]
                    transient: bool,
                }
                match json_body.and_then(|b| serde_json::from_value::<Seed>(b).ok()) {
                    Some(seed) => {
                        let ids = s.seed(
                            &seed.environment,
                            seed.count,
                            seed.state.as_deref(),
                            seed.transient,
                        );
                        axum::Json(json!({ "ids": ids })).into_response()
                    }
                    None => StatusCode::BAD_REQUEST.into_response(),
                }
            }
            // A pull request's state, as GraphQL's `pullRequest(number:)` answers it:
            // `{"number": 7, "state": "CLOSED"}`.
            ("POST", "pulls") => {
                let b = json_body.unwrap_or(Value::Null);
                match (b["number"].as_u64(), b["state"].as_str()) {
                    (Some(n), Some(st @ ("OPEN" | "CLOSED" | "MERGED"))) => {
                        s.pull_requests.insert(n, st.to_string());
                        StatusCode::NO_CONTENT.into_response()
                    }
                    _ => StatusCode::BAD_REQUEST.into_response(),
                }
            }
            ("POST", "latency") => match json_body.as_ref().and_then(|b| b["ms"].as_u64()) {
                Some(ms) => {
                    s.latency_ms = ms;
                    StatusCode::NO_CONTENT.into_response()
                }
                None => StatusCode::BAD_REQUEST.into_response(),
            },
            // A commit the runner's `GITHUB_SHA` names (a real repository's sha), so that
            // `step: lock` finds its tree: `{"sha": "...", "message": "..."}`.
            ("POST", "commit") => {
                let sha = json_body.as_ref().and_then(|b| b["sha"].as_str());
                match sha.filter(|t| t.len() == 40 && t.bytes().all(|b| b.is_ascii_hexdigit())) {
                    Some(sha) => {
                        let sha = sha.to_ascii_lowercase();
                        let tree = s.object_id();
                        s.git_trees.push(tree.clone());
                        let message = json_body
                            .as_ref()
                            .and_then(|b| b["message"].as_str())
                            .unwrap_or_default()
                            .to_string();
                        s.git_commits.insert(
                            sha,
                            GitCommit {
                                tree,
                                message,
                                parents: Vec::new(),
                            },
                        );
                        StatusCode::NO_CONTENT.into_response()
                    }
                    None => StatusCode::BAD_REQUEST.into_response(),
                }
            }
            ("POST", "reset") => {
                *s = State::default();
                StatusCode::NO_CONTENT.into_response()
            }
            _ => StatusCode::NOT_FOUND.into_response(),
        };
    }

    let latency = Duration::from_millis(lock(&state).latency_ms);
    wait(latency / 2).await;
    let fault = {
        let mut s = lock(&state);
        let index = s
            .faults
            .iter()
            .position(|f| f.method.eq_ignore_ascii_case(method.as_str()) && path.contains(&f.path));
        let planned = index.and_then(|i| {
            let f = s.faults.get_mut(i)?;
            if f.skip > 0 {
                f.skip -= 1;
                return None;
            }
            f.times = f.times.saturating_sub(1);
            let fault = f.clone();
            if f.times == 0 {
                s.faults.remove(i);
            }
            Some(fault)
        });
        planned.or_else(|| s.chaos.as_mut().and_then(|c| c.roll(&method, &path)))
    };
    if let Some(f) = &fault {
        if f.delay_ms > 0 {
            tokio::time::sleep(Duration::from_millis(f.delay_ms)).await;
        }
    }

    let raw = fault.as_ref().and_then(|f| f.raw.clone());
    let linger = fault.as_ref().map_or(0, |f| f.linger_ms);
    let dropped = fault.as_ref().map(|f| f.drop.clone()).unwrap_or_default();
    // The guard lives in a block of its own: it must not be held across the await below.
    let (status, body_out, extra_headers) = {
        let mut s = lock(&state);
        let (mut status, mut body_out, mut extra_headers) =
            match fault.as_ref().filter(|f| !f.after && f.status != 0) {
                Some(_) => (0, Value::Null, Vec::new()),
                None => respond(
                    &mut s,
                    &method,
                    &path,
                    &query,
                    &header_map,
                    json_body.as_ref(),
                ),
            };
        if let Some(f) = fault.filter(|f| f.status != 0) {
            status = f.status;
            body_out = if f.body.is_null() {
                json!({ "message": "injected fault" })
            } else {
                f.body.clone()
            };
            extra_headers = f.headers.clone().into_iter().collect();
        }
        for pointer in &dropped {
            drop_pointer(&mut body_out, pointer);
        }
        let path_and_query = uri
            .path_and_query()
            .map(|p| p.as_str().to_string())
            .unwrap_or(path);
        s.requests.push(Request {
            method: method.to_string(),
            path: path_and_query,
            status,
            body: json_body,
            headers: header_map,
            at_ms: SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map(|d| d.as_millis())
                .unwrap_or(0),
        });
        (status, body_out, extra_headers)
    };
    wait(latency - latency / 2).await;
    if linger > 0 {
        tokio::time::sleep(Duration::from_millis(linger)).await;
    }
    let code = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut response = match raw {
        Some(bytes) => (code, bytes).into_response(),
        None => (code, axum::Json(body_out)).into_response(),
    };
    for (k, v) in extra_headers {
        if let (Ok(name), Ok(value)) = (
            axum::http::HeaderName::from_bytes(k.as_bytes()),
            axum::http::HeaderValue::from_str(&v),
        ) {
            response.headers_mut().insert(name, value);
        }
    }
    response
}

/// Waits exactly `d`: tokio's timer rounds up to the next millisecond, a few percent of a 50 ms
/// half-latency that the benchmark would count as the client's round trips. None for zero.
async fn wait(d: Duration) {
    if d.is_zero() {
        return;
    }
    let _ = tokio::task::spawn_blocking(move || std::thread::sleep(d)).await;
}

fn decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).ok();
            if let Some(b) = hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                out.push(b);
                i += 3;
                continue;
            }
        }
        out.push(if bytes[i] == b'+' { b' ' } else { bytes[i] });
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn deployment_json(d: &Deployment) -> Value {
    let url = format!(
        "https://api.github.com/repos/{OWNER_REPO}/deployments/{}",
        d.id
    );
    json!({
        "url": url,
        "id": d.id,
        "node_id": format!("DE_{}", d.id),
        "sha": d.sha,
        "ref": d.git_ref,
        "task": d.task,
        "payload": d.payload,
        "original_environment": d.environment,
        "environment": d.environment,
        "description": d.description,
        "creator": { "login": "github-actions[bot]", "id": 41898282, "type": "Bot" },
        "created_at": "2026-11-21T00:00:00Z",
        "updated_at": "2026-11-21T00:00:00Z",
        "statuses_url": format!("{url}/statuses"),
        "repository_url": format!("https://api.github.com/repos/{OWNER_REPO}"),
        "transient_environment": d.transient_environment,
        "production_environment": d.production_environment,
    })
}

fn status_json(s: &Status) -> Value {
    json!({
        "id": s.id,
        "node_id": format!("DES_{}", s.id),
        "state": s.state,
        "description": s.description,
        "log_url": s.log_url.clone().unwrap_or_default(),
        "target_url": s.log_url.clone().unwrap_or_default(),
        "environment_url": s.environment_url.clone().unwrap_or_default(),
        "created_at": s.created_at,
        "updated_at": s.created_at,
    })
}

fn page<T: Clone>(items: &[T], query: &BTreeMap<String, String>) -> (Vec<T>, bool) {
    let per_page = query
        .get("per_page")
        .and_then(|v| v.parse::<usize>().ok())
        .unwrap_or(30)
        .clamp(1, 100);
    let page = query
        .get("page")
        .and_then(|v| v.parse::<usize>().ok())
        .unwrap_or(1)
        .max(1);
    let start = (page - 1) * per_page;
    let slice = items.iter().skip(start).take(per_page).cloned().collect();
    (slice, start + per_page < items.len())
}

fn with_link(status: u16, body: Value, more: bool) -> (u16, Value, Vec<(String, String)>) {
    let headers = if more {
        vec![(
            "link".to_string(),
            "<https://api.github.com/next>; rel=\"next\"".to_string(),
        )]
    } else {
        Vec::new()
    };
    (status, body, headers)
}

type Answer = (u16, Value, Vec<(String, String)>);

fn respond(
    s: &mut State,
    method: &Method,
    path: &str,
    query: &BTreeMap<String, String>,
    headers: &BTreeMap<String, String>,
    body: Option<&Value>,
) -> Answer {
    let token = headers
        .get("authorization")
        .and_then(|a| {
            a.strip_prefix("Bearer ")
                .or_else(|| a.strip_prefix("token "))
        })
        .map(str::to_string);
    let Some(token) = token else {
        return error(401, "Requires authentication");
    };
    let grant = s.tokens.get(&token).copied().unwrap_or(Grant::Write);
    if grant == Grant::Bad {
        return error(401, "Bad credentials");
    }
    if headers.get("accept").map(String::as_str) != Some("application/vnd.github+json") {
        s.violations.push(format!(
            "{method} {path}: Accept is not application/vnd.github+json"
        ));
    }
    if headers.get("x-github-api-version").map(String::as_str) != Some("2022-11-28") {
        s.violations.push(format!(
            "{method} {path}: X-GitHub-Api-Version is not 2022-11-28"
        ));
    }
    // GitHub Enterprise Server: REST under `/api/v3`, GraphQL beside it at `/api/graphql`.
    let path = path
        .strip_prefix("/api/v3")
        .filter(|p| p.starts_with("/repos/"))
        .unwrap_or(path);
    if path == "/graphql" || path == "/api/graphql" {
        return match *method {
            Method::POST => graphql::respond(s, body.unwrap_or(&Value::Null), grant),
            _ => error(404, "Not Found"),
        };
    }
    let prefix = format!("/repos/{OWNER_REPO}");
    let Some(rest) = path.strip_prefix(&prefix) else {
        return error(404, "Not Found");
    };
    let parts: Vec<&str> = rest.trim_start_matches('/').split('/').collect();
    let write = method != Method::GET;
    if write && grant == Grant::ReadOnly {
        return error(403, "Resource not accessible by integration");
    }
    if parts.first() == Some(&"git")
        && (grant == Grant::NoContents || (write && grant == Grant::ContentsRead))
    {
        return error(403, "Resource not accessible by integration");
    }
    let empty = Value::Null;
    let body = body.unwrap_or(&empty);
    let validate = |schema: &[Field], s: &mut State| -> Option<Answer> {
        let problems = check(schema, body);
        if problems.is_empty() {
            return None;
        }
        s.violations
            .push(format!("{method} {path}: {}", problems.join("; ")));
        Some(error(
            422,
            &format!("Invalid request. {}", problems.join("; ")),
        ))
    };
    match (method.as_str(), parts.as_slice()) {
        ("POST", ["deployments"]) => {
            if grant == Grant::NoDeployments {
                return error(403, "Resource not accessible by integration");
            }
            if let Some(a) = validate(CREATE_DEPLOYMENT, s) {
                return a;
            }
            let git_ref = body["ref"].as_str().unwrap_or_default().to_string();
            let is_sha = git_ref.len() == 40 && git_ref.bytes().all(|b| b.is_ascii_hexdigit());
            if let Some(known) = &s.known_shas {
                if !known.contains(&git_ref) {
                    return (
                        422,
                        json!({ "message": format!("No ref found for: {git_ref}"), "documentation_url": "https://docs.github.com/rest" }),
                        Vec::new(),
                    );
                }
            }
            if let Some(check) = &s.pending_check {
                let required = body.get("required_contexts").and_then(Value::as_array);
                let blocks = match required {
                    None => true,
                    Some(list) => list.iter().any(|c| c.as_str() == Some(check.as_str())),
                };
                if blocks {
                    return error(
                        409,
                        &format!("Conflict: Commit status checks failed for {git_ref}."),
                    );
                }
            }
            if body.get("auto_merge").and_then(Value::as_bool) != Some(false) && !is_sha {
                // GitHub would try to merge the default branch into a branch ref.
                return (
                    202,
                    json!({ "message": "Auto-merged main into topic-branch on deployment." }),
                    Vec::new(),
                );
            }
            if body
                .get("description")
                .and_then(Value::as_str)
                .is_some_and(|d| d.chars().count() > 140)
            {
                return error(
                    422,
                    "Validation Failed: description is too long (maximum is 140 characters)",
                );
            }
            let environment = body
                .get("environment")
                .and_then(Value::as_str)
                .unwrap_or("production")
                .to_string();
            let payload = match body.get("payload") {
                Some(Value::String(text)) => {
                    serde_json::from_str(text).unwrap_or(Value::String(text.clone()))
                }
                Some(v) => v.clone(),
                None => json!({}),
            };
            let id = s.id();
            let d = Deployment {
                id,
                sha: if is_sha {
                    git_ref.clone()
                } else {
                    "0".repeat(40)
                },
                git_ref,
                task: body
                    .get("task")
                    .and_then(Value::as_str)
                    .unwrap_or("deploy")
                    .to_string(),
                production_environment: body
                    .get("production_environment")
                    .and_then(Value::as_bool)
                    .unwrap_or(environment == "production"),
                environment,
                payload,
                description: body
                    .get("description")
                    .and_then(Value::as_str)
                    .map(str::to_string),
                transient_environment: body
                    .get("transient_environment")
                    .and_then(Value::as_bool)
                    .unwrap_or(false),
                required_contexts: body.get("required_contexts").and_then(Value::as_array).map(
                    |a| {
                        a.iter()
                            .filter_map(Value::as_str)
                            .map(str::to_string)
                            .collect()
                    },
                ),
                auto_merge: body.get("auto_merge").and_then(Value::as_bool),
                statuses: Vec::new(),
                created_at: rfc3339_now(),
            };
            let json = deployment_json(&d);
            s.deployments.push(d);
            (201, json, Vec::new())
        }
        ("GET", ["deployments"]) => {
            let list: Vec<Value> = s
                .deployments
                .iter()
                .rev()
                .filter(|d| query.get("environment").is_none_or(|e| &d.environment == e))
                .filter(|d| query.get("sha").is_none_or(|v| &d.sha == v))
                .filter(|d| query.get("ref").is_none_or(|v| &d.git_ref == v))
                .filter(|d| query.get("task").is_none_or(|v| &d.task == v))
                .map(deployment_json)
                .collect();
            let (items, more) = page(&list, query);
            with_link(200, Value::Array(items), more)
        }
        ("GET", ["deployments", id]) => {
            match s.deployments.iter().find(|d| d.id.to_string() == *id) {
                Some(d) => (200, deployment_json(d), Vec::new()),
                None => error(404, "Not Found"),
            }
        }
        ("POST", ["deployments", id, "statuses"]) => {
            if grant == Grant::NoDeployments {
                return error(403, "Resource not accessible by integration");
            }
            if let Some(a) = validate(CREATE_STATUS, s) {
                return a;
            }
            if body
                .get("description")
                .and_then(Value::as_str)
                .is_some_and(|d| d.chars().count() > 140)
            {
                return error(
                    422,
                    "Validation Failed: description is too long (maximum is 140 characters)",
                );
            }
            let Some(index) = s.deployments.iter().position(|d| d.id.to_string() == *id) else {
                return error(404, "Not Found");
            };
            // GitHub's server refuses a deployment's 101st status (not in the REST docs).
            if s.deployments[index].statuses.len() >= MAX_STATUSES {
                return (
                    422,
                    json!({
                        "message": "Validation Failed",
                        "errors": [{
                            "resource": "DeploymentStatus",
                            "code": "custom",
                            "message": "This deployment has reached the maximum number of statuses"
                        }],
                        "documentation_url": "https://docs.github.com/rest/deployments/statuses#create-a-deployment-status"
                    }),
                    Vec::new(),
                );
            }
            let status_id = s.id();
            let state = body["state"].as_str().unwrap_or_default().to_string();
            let previous_url = s.deployments[index]
                .statuses
                .iter()
                .rev()
                .find_map(|st| st.environment_url.clone());
            let status = Status {
                id: status_id,
                state: state.clone(),
                description: body
                    .get("description")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_string(),
                log_url: body
                    .get("log_url")
                    .or(body.get("target_url"))
                    .and_then(Value::as_str)
                    .map(str::to_string),
                environment_url: body
                    .get("environment_url")
                    .and_then(Value::as_str)
                    .map(str::to_string)
                    .or(previous_url),
                created_at: now(),
            };
            let json = status_json(&status);
            s.deployments[index].statuses.push(status);
            // auto_inactive: a success marks earlier non-transient, non-production deployments of
            // the same environment inactive.
            if state == "success"
                && body
                    .get("auto_inactive")
                    .and_then(Value::as_bool)
                    .unwrap_or(true)
            {
                let env = s.deployments[index].environment.clone();
                let this = s.deployments[index].id;
                let ids: Vec<usize> = (0..s.deployments.len())
                    .filter(|&i| {
                        let d = &s.deployments[i];
                        d.environment == env
                            && d.id < this
                            && !d.transient_environment
                            && !d.production_environment
                            && d.state() != Some("inactive")
                    })
                    .collect();
                for i in ids {
                    let sid = s.id();
                    s.deployments[i].statuses.push(Status {
                        id: sid,
                        state: "inactive".into(),
                        description: "auto_inactive".into(),
                        log_url: None,
                        environment_url: None,
                        created_at: now(),
                    });
                }
            }
            (201, json, Vec::new())
        }
        ("GET", ["deployments", id, "statuses"]) => {
            match s.deployments.iter().find(|d| d.id.to_string() == *id) {
                Some(d) => {
                    let list: Vec<Value> = d.statuses.iter().rev().map(status_json).collect();
                    let (items, more) = page(&list, query);
                    with_link(200, Value::Array(items), more)
                }
                None => error(404, "Not Found"),
            }
        }
        ("GET", ["issues", number, "comments"]) => {
            let list: Vec<Value> = s
                .comments
                .iter()
                .filter(|c| c.issue.to_string() == *number)
                .map(|c| json!({ "id": c.id, "body": c.body, "user": { "login": c.author } }))
                .collect();
            let (items, more) = page(&list, query);
            with_link(200, Value::Array(items), more)
        }
        ("POST", ["issues", number, "comments"]) => {
            if grant == Grant::NoComments {
                return error(403, "Resource not accessible by integration");
            }
            if let Some(a) = validate(COMMENT, s) {
                return a;
            }
            let Ok(issue) = number.parse() else {
                return error(404, "Not Found");
            };
            let id = s.id();
            let c = Comment {
                id,
                issue,
                body: body["body"].as_str().unwrap_or_default().to_string(),
                author: "github-actions[bot]".into(),
            };
            let json = json!({ "id": c.id, "body": c.body });
            s.comments.push(c);
            (201, json, Vec::new())
        }
        ("PATCH", ["issues", "comments", id]) => {
            if grant == Grant::NoComments {
                return error(403, "Resource not accessible by integration");
            }
            if let Some(a) = validate(COMMENT, s) {
                return a;
            }
            match s.comments.iter_mut().find(|c| c.id.to_string() == *id) {
                Some(c) => {
                    c.body = body["body"].as_str().unwrap_or_default().to_string();
                    (200, json!({ "id": c.id, "body": c.body }), Vec::new())
                }
                None => error(404, "Not Found"),
            }
        }
        ("DELETE", ["environments", name]) => {
            if grant != Grant::Admin {
                return error(403, "Must have admin rights to Repository.");
            }
            s.deleted_environments.push(decode(name));
            (204, Value::Null, Vec::new())
        }
        ("GET", ["compare", basehead]) => match s.compares.get(&decode(basehead)) {
            Some(files) => {
                let files: Vec<Value> = files
                    .iter()
                    .map(|f| json!({ "filename": f, "status": "modified" }))
                    .collect();
                (
                    200,
                    json!({ "status": "ahead", "files": files, "total_commits": 1 }),
                    Vec::new(),
                )
            }
            None => error(404, "Not Found"),
        },
        ("GET", ["git", "commits", sha]) => match s.git_commits.get(*sha) {
            Some(c) => (200, commit_json(sha, c), Vec::new()),
            None => error(404, "Not Found"),
        },
        ("POST", ["git", "commits"]) => {
            if let Some(a) = validate(CREATE_COMMIT, s) {
                return a;
            }
            let tree = body["tree"].as_str().unwrap_or_default().to_string();
            if !s.git_trees.contains(&tree) {
                return error(422, "Tree SHA does not exist");
            }
            let parents: Vec<String> = body["parents"]
                .as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(Value::as_str)
                        .map(str::to_string)
                        .collect()
                })
                .unwrap_or_default();
            if parents.iter().any(|p| !s.git_commits.contains_key(p)) {
                return error(422, "Parent SHA does not exist or is not a commit object");
            }
            let message = body["message"].as_str().unwrap_or_default().to_string();
            let sha = s.add_commit(tree, &message, parents);
            let json = s.git_commits.get(&sha).map(|c| commit_json(&sha, c));
            (201, json.unwrap_or(Value::Null), Vec::new())
        }
        ("POST", ["git", "refs"]) => {
            if let Some(a) = validate(CREATE_REF, s) {
                return a;
            }
            let name = body["ref"].as_str().unwrap_or_default().to_string();
            let sha = body["sha"].as_str().unwrap_or_default().to_string();
            if !name.starts_with("refs/") || name.split('/').count() < 3 {
                return error(
                    422,
                    "Reference name must contain at least three slash-separated components.",
                );
            }
            if !valid_ref_name(&name) {
                return error(422, &format!("{name} is not a valid ref name."));
            }
            if !s.git_commits.contains_key(&sha) {
                return error(422, "Object does not exist");
            }
            if s.git_refs.contains_key(&name) {
                return error(422, "Reference already exists");
            }
            s.git_refs.insert(name.clone(), sha.clone());
            (201, ref_json(&name, &sha), Vec::new())
        }
        ("GET", ["git", "ref", rest @ ..]) if !rest.is_empty() => {
            let name = format!("refs/{}", decode(&rest.join("/")));
            match s.git_refs.get(&name) {
                Some(sha) => (200, ref_json(&name, sha), Vec::new()),
                None => error(404, "Not Found"),
            }
        }
        ("PATCH", ["git", "refs", rest @ ..]) if !rest.is_empty() => {
            if let Some(a) = validate(UPDATE_REF, s) {
                return a;
            }
            let name = format!("refs/{}", decode(&rest.join("/")));
            let sha = body["sha"].as_str().unwrap_or_default().to_string();
            let Some(old) = s.git_refs.get(&name).cloned() else {
                return error(422, "Reference does not exist");
            };
            if !s.git_commits.contains_key(&sha) {
                return error(422, "Object does not exist");
            }
            let force = body["force"].as_bool().unwrap_or(false);
            if !force && !s.reaches(&sha, &old) {
                return error(422, "Update is not a fast forward");
            }
            s.git_refs.insert(name.clone(), sha.clone());
            (200, ref_json(&name, &sha), Vec::new())
        }
        ("DELETE", ["git", "refs", rest @ ..]) if !rest.is_empty() => {
            let name = format!("refs/{}", decode(&rest.join("/")));
            match s.git_refs.remove(&name) {
                Some(_) => (204, Value::Null, Vec::new()),
                None => error(422, "Reference does not exist"),
            }
        }
        ("GET", ["actions", "runs", _, "attempts", _, "jobs"]) => {
            let jobs = if s.jobs.is_null() {
                json!([])
            } else {
                s.jobs.clone()
            };
            let total = jobs.as_array().map(Vec::len).unwrap_or(0);
            (
                200,
                json!({ "total_count": total, "jobs": jobs }),
                Vec::new(),
            )
        }
        _ => error(404, "Not Found"),
    }
}

/// `git check-ref-format`'s rules, which GitHub applies to a new ref.
fn valid_ref_name(name: &str) -> bool {
    !name.contains("..")
        && !name.contains("@{")
        && !name.contains("//")
        && !name.ends_with('/')
        && !name.ends_with('.')
        && name != "@"
        && !name
            .chars()
            .any(|c| c.is_control() || " ~^:?*[\\".contains(c))
        && name
            .split('/')
            .all(|part| !part.is_empty() && !part.starts_with('.') && !part.ends_with(".lock"))
}

fn commit_json(sha: &str, c: &GitCommit) -> Value {
    let url = format!("https://api.github.com/repos/{OWNER_REPO}/git/commits/{sha}");
    let person = json!({
        "name": "github-actions[bot]",
        "email": "41898282+github-actions[bot]@users.noreply.github.com",
        "date": "2026-11-21T00:00:00Z",
    });
    json!({
        "sha": sha,
        "node_id": format!("C_{sha}"),
        "url": url,
        "html_url": format!("https://github.com/{OWNER_REPO}/commit/{sha}"),
        "author": person,
        "committer": person,
        "tree": {
            "sha": c.tree,
            "url": format!("https://api.github.com/repos/{OWNER_REPO}/git/trees/{}", c.tree),
        },
        "message": c.message,
        "parents": c.parents.iter().map(|p| json!({
            "sha": p,
            "url": format!("https://api.github.com/repos/{OWNER_REPO}/git/commits/{p}"),
            "html_url": format!("https://github.com/{OWNER_REPO}/commit/{p}"),
        })).collect::<Vec<_>>(),
        "verification": { "verified": false, "reason": "unsigned", "signature": null, "payload": null, "verified_at": null },
    })
}

fn ref_json(name: &str, sha: &str) -> Value {
    json!({
        "ref": name,
        "node_id": format!("REF_{name}"),
        "url": format!("https://api.github.com/repos/{OWNER_REPO}/git/{name}"),
        "object": {
            "type": "commit",
            "sha": sha,
            "url": format!("https://api.github.com/repos/{OWNER_REPO}/git/commits/{sha}"),
        },
    })
}

/// For tests that want a map of the payload.
pub fn payload_map(d: &Deployment) -> Map<String, Value> {
    d.payload.as_object().cloned().unwrap_or_default()
}
