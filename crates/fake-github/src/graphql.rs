//! `POST /graphql`: every query is validated against GitHub's published schema (a copy in
//! `schema/github.graphql`), so a field, argument or enum value GitHub does not have is a
//! violation here as it would be an error there. Valid queries over repository deployments are
//! answered from the fake's state; anything else valid is named as not implemented, never
//! answered with made-up data.

use crate::{Answer, Deployment, State, OWNER_REPO};
use apollo_compiler::ast::{OperationType, Value as Gql};
use apollo_compiler::executable::{Field, Selection, SelectionSet};
use apollo_compiler::request::coerce_variable_values;
use apollo_compiler::response::{JsonMap, JsonValue};
use apollo_compiler::validation::Valid;
use apollo_compiler::{ExecutableDocument, Schema};
use serde_json::{json, Map, Value};
use std::sync::OnceLock;

const SCHEMA: &str = include_str!("../schema/github.graphql");

/// The largest page GitHub gives on a connection.
const MAX_PAGE: i64 = 100;

/// Parsed once per process: the schema is 1.2 MB.
fn schema() -> &'static Valid<Schema> {
    static PARSED: OnceLock<Valid<Schema>> = OnceLock::new();
    PARSED.get_or_init(|| {
        // GitHub's schema defines two fields of `EnterpriseOwnerInfo` twice, which a strict
        // validator refuses; a test checks those are its only faults, so the rest is used as is.
        let schema = match Schema::parse(SCHEMA, "github.graphql") {
            Ok(s) => s,
            Err(with_errors) => with_errors.partial,
        };
        Valid::assume_valid(schema)
    })
}

/// Why a query was not answered: GitHub's `errors` entries.
struct Refusal {
    errors: Vec<Value>,
    /// It broke the schema (not merely asked for something the fake does not implement).
    invalid: bool,
}

fn refusal(kind: Option<&str>, message: String) -> Refusal {
    let mut e = json!({ "message": message });
    if let Some(kind) = kind {
        e["type"] = json!(kind);
    }
    Refusal {
        errors: vec![e],
        invalid: false,
    }
}

fn not_implemented(what: &str) -> Refusal {
    refusal(
        None,
        format!("fake-github does not implement {what} (valid for GitHub's schema)"),
    )
}

/// Checks `query` against GitHub's schema: each problem as one sentence.
pub fn validate(query: &str) -> Result<Valid<ExecutableDocument>, Vec<String>> {
    ExecutableDocument::parse_and_validate(schema(), query, "query.graphql").map_err(|e| {
        e.errors
            .iter()
            .map(|d| d.error.to_string())
            .collect::<Vec<_>>()
    })
}

pub(crate) fn respond(s: &mut State, body: &Value) -> Answer {
    match answer(s, body) {
        Ok(data) => (200, json!({ "data": data }), Vec::new()),
        Err(r) => {
            let text: Vec<&str> = r
                .errors
                .iter()
                .filter_map(|e| e["message"].as_str())
                .collect();
            if r.invalid {
                s.violations
                    .push(format!("POST /graphql: {}", text.join("; ")));
            } else if r.errors.iter().any(|e| {
                e["message"]
                    .as_str()
                    .is_some_and(|m| m.starts_with("fake-github"))
            }) {
                // A test relying on an answer the fake cannot give must not pass quietly.
                s.violations
                    .push(format!("POST /graphql: {}", text.join("; ")));
            }
            (200, json!({ "errors": r.errors }), Vec::new())
        }
    }
}

fn answer(s: &State, body: &Value) -> Result<Value, Refusal> {
    let invalid = |messages: Vec<String>| Refusal {
        errors: messages
            .into_iter()
            .map(|m| json!({ "message": m }))
            .collect(),
        invalid: true,
    };
    let Some(query) = body.get("query").and_then(Value::as_str) else {
        return Err(invalid(vec![
            "A query attribute must be specified and must be a string.".into(),
        ]));
    };
    let doc = validate(query).map_err(invalid)?;
    let operation = doc
        .operations
        .get(body.get("operationName").and_then(Value::as_str))
        .map_err(|e| invalid(vec![e.message().to_string()]))?;
    let given: JsonMap = match body.get("variables") {
        None | Some(Value::Null) => JsonMap::new(),
        Some(Value::Object(map)) => map
            .iter()
            .map(|(k, v)| (k.as_str().into(), JsonValue::from(v.clone())))
            .collect(),
        Some(_) => return Err(invalid(vec!["Variables must be a JSON object.".into()])),
    };
    let coerced = coerce_variable_values(schema(), operation, &given)
        .map_err(|e| invalid(vec![e.message().to_string()]))?;
    let variables: Map<String, Value> = coerced
        .iter()
        .map(|(k, v)| {
            (
                k.as_str().to_string(),
                serde_json::to_value(v).unwrap_or(Value::Null),
            )
        })
        .collect();
    if operation.operation_type != OperationType::Query {
        return Err(not_implemented("mutations and subscriptions"));
    }
    let mut data = Map::new();
    for field in fields(&operation.selection_set)? {
        let value = match field.name.as_str() {
            "repository" => repository(s, field, &variables)?,
            "__typename" => json!("Query"),
            other => return Err(not_implemented(&format!("`Query.{other}`"))),
        };
        data.insert(field.response_key().to_string(), value);
    }
    Ok(Value::Object(data))
}

fn fields(set: &SelectionSet) -> Result<Vec<&Field>, Refusal> {
    set.selections
        .iter()
        .map(|s| match s {
            Selection::Field(f) => Ok(f.as_ref()),
            _ => Err(not_implemented("fragments")),
        })
        .collect()
}

fn json_of(value: &Gql, variables: &Map<String, Value>) -> Value {
    match value {
        Gql::Null => Value::Null,
        Gql::Enum(name) => json!(name.as_str()),
        Gql::Variable(name) => variables.get(name.as_str()).cloned().unwrap_or(Value::Null),
        Gql::String(s) => json!(s),
        Gql::Float(f) => f.try_to_f64().map(|f| json!(f)).unwrap_or(Value::Null),
        Gql::Int(i) => i
            .as_str()
            .parse::<i64>()
            .map(|n| json!(n))
            .unwrap_or(Value::Null),
        Gql::Boolean(b) => json!(b),
        Gql::List(items) => Value::Array(items.iter().map(|v| json_of(v, variables)).collect()),
        Gql::Object(fields) => Value::Object(
            fields
                .iter()
                .map(|(k, v)| (k.to_string(), json_of(v, variables)))
                .collect(),
        ),
    }
}

fn argument(field: &Field, name: &str, variables: &Map<String, Value>) -> Value {
    field
        .specified_argument_by_name(name)
        .map(|v| json_of(v, variables))
        .unwrap_or(Value::Null)
}

fn repository(s: &State, field: &Field, vars: &Map<String, Value>) -> Result<Value, Refusal> {
    let owner = argument(field, "owner", vars);
    let name = argument(field, "name", vars);
    let full = format!(
        "{}/{}",
        owner.as_str().unwrap_or_default(),
        name.as_str().unwrap_or_default()
    );
    if full != OWNER_REPO {
        return Err(refusal(
            Some("NOT_FOUND"),
            format!("Could not resolve to a Repository with the name '{full}'."),
        ));
    }
    let mut out = Map::new();
    for f in fields(&field.selection_set)? {
        let value = match f.name.as_str() {
            "deployments" => deployments(s, f, vars)?,
            "nameWithOwner" => json!(OWNER_REPO),
            "name" => json!(name),
            "__typename" => json!("Repository"),
            other => return Err(not_implemented(&format!("`Repository.{other}`"))),
        };
        out.insert(f.response_key().to_string(), value);
    }
    Ok(Value::Object(out))
}

fn cursor(offset: usize) -> String {
    format!("Y3Vyc29yOnYy:{offset}")
}

fn deployments(s: &State, field: &Field, vars: &Map<String, Value>) -> Result<Value, Refusal> {
    let environments: Option<Vec<String>> = match argument(field, "environments", vars) {
        Value::Null => None,
        Value::Array(list) => Some(
            list.iter()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect(),
        ),
        // GraphQL's input coercion: one value where a list is expected is a list of one.
        Value::String(one) => Some(vec![one]),
        _ => None,
    };
    let first = argument(field, "first", vars).as_i64();
    if !argument(field, "last", vars).is_null() || !argument(field, "before", vars).is_null() {
        return Err(not_implemented("`last` and `before` on `deployments`"));
    }
    let Some(first) = first else {
        return Err(refusal(
            Some("MISSING_PAGINATION_BOUNDARIES"),
            "You must provide a `first` or `last` value to properly paginate the `deployments` connection.".into(),
        ));
    };
    if !(0..=MAX_PAGE).contains(&first) {
        return Err(refusal(
            Some("EXCESSIVE_PAGINATION"),
            format!("Requesting {first} records on the `deployments` connection exceeds the `first` limit of {MAX_PAGE} records."),
        ));
    }
    let order = argument(field, "orderBy", vars);
    if order["field"].as_str().is_some_and(|f| f != "CREATED_AT") {
        return Err(not_implemented("an order other than CREATED_AT"));
    }
    let mut list: Vec<&Deployment> = s
        .deployments
        .iter()
        .filter(|d| {
            environments
                .as_ref()
                .is_none_or(|envs| envs.contains(&d.environment))
        })
        .collect();
    // Ids grow with creation time; GitHub's default order is oldest first.
    list.sort_by_key(|d| d.id);
    if order["direction"].as_str() == Some("DESC") {
        list.reverse();
    }
    let offset = match argument(field, "after", vars) {
        Value::Null => 0,
        Value::String(c) => c
            .strip_prefix("Y3Vyc29yOnYy:")
            .and_then(|n| n.parse::<usize>().ok())
            .ok_or_else(|| {
                refusal(
                    Some("INVALID_CURSOR_ARGUMENTS"),
                    format!("`{c}` does not appear to be a valid cursor."),
                )
            })?,
        _ => 0,
    };
    let page: Vec<&Deployment> = list
        .iter()
        .skip(offset)
        .take(first as usize)
        .copied()
        .collect();
    let end = offset + page.len();
    let mut out = Map::new();
    for f in fields(&field.selection_set)? {
        let value = match f.name.as_str() {
            "totalCount" => json!(list.len()),
            "pageInfo" => {
                let mut info = Map::new();
                for p in fields(&f.selection_set)? {
                    let v = match p.name.as_str() {
                        "hasNextPage" => json!(end < list.len()),
                        "hasPreviousPage" => json!(offset > 0),
                        "endCursor" if page.is_empty() => Value::Null,
                        "endCursor" => json!(cursor(end)),
                        "startCursor" if page.is_empty() => Value::Null,
                        "startCursor" => json!(cursor(offset + 1)),
                        "__typename" => json!("PageInfo"),
                        other => return Err(not_implemented(&format!("`PageInfo.{other}`"))),
                    };
                    info.insert(p.response_key().to_string(), v);
                }
                Value::Object(info)
            }
            "nodes" => Value::Array(
                page.iter()
                    .map(|d| node(s, d, f))
                    .collect::<Result<Vec<_>, _>>()?,
            ),
            "edges" => {
                let mut edges = Vec::new();
                for (i, d) in page.iter().enumerate() {
                    let mut edge = Map::new();
                    for e in fields(&f.selection_set)? {
                        let v = match e.name.as_str() {
                            "cursor" => json!(cursor(offset + i + 1)),
                            "node" => node(s, d, e)?,
                            "__typename" => json!("DeploymentEdge"),
                            other => {
                                return Err(not_implemented(&format!("`DeploymentEdge.{other}`")))
                            }
                        };
                        edge.insert(e.response_key().to_string(), v);
                    }
                    edges.push(Value::Object(edge));
                }
                Value::Array(edges)
            }
            "__typename" => json!("DeploymentConnection"),
            other => return Err(not_implemented(&format!("`DeploymentConnection.{other}`"))),
        };
        out.insert(f.response_key().to_string(), value);
    }
    Ok(Value::Object(out))
}

/// GitHub's `DeploymentState` of a deployment, from its latest status.
pub fn deployment_state(s: &State, d: &Deployment) -> &'static str {
    match d.state() {
        None | Some("pending") => "PENDING",
        Some("success") => {
            // The newest successful deployment of its environment is the active one.
            let newer_success = s.deployments.iter().any(|o| {
                o.environment == d.environment && o.id > d.id && o.state() == Some("success")
            });
            if newer_success {
                "SUCCESS"
            } else {
                "ACTIVE"
            }
        }
        Some("failure") => "FAILURE",
        Some("error") => "ERROR",
        Some("inactive") if d.transient_environment => "DESTROYED",
        Some("inactive") => "INACTIVE",
        Some("in_progress") => "IN_PROGRESS",
        Some("queued") => "QUEUED",
        Some("waiting") => "WAITING",
        Some("abandoned") => "ABANDONED",
        Some(_) => "PENDING",
    }
}

fn node(s: &State, d: &Deployment, field: &Field) -> Result<Value, Refusal> {
    let mut out = Map::new();
    for f in fields(&field.selection_set)? {
        let value = match f.name.as_str() {
            "databaseId" => json!(d.id),
            "id" => json!(format!("DE_{}", d.id)),
            "state" => json!(deployment_state(s, d)),
            "environment" | "latestEnvironment" | "originalEnvironment" => json!(d.environment),
            "task" => json!(d.task),
            "description" => json!(d.description),
            "commitOid" => json!(d.sha),
            "payload" => json!(d.payload.to_string()),
            "createdAt" | "updatedAt" => json!("2026-11-21T00:00:00Z"),
            "__typename" => json!("Deployment"),
            other => return Err(not_implemented(&format!("`Deployment.{other}`"))),
        };
        out.insert(f.response_key().to_string(), value);
    }
    Ok(Value::Object(out))
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = "query($owner: String!, $name: String!, $environment: String!, $after: String) {
      repository(owner: $owner, name: $name) {
        deployments(environments: [$environment], first: 100, after: $after, orderBy: {field: CREATED_AT, direction: DESC}) {
          pageInfo { hasNextPage endCursor }
          nodes { databaseId state }
        }
      }
    }";

    #[test]
    fn the_schema_copy_has_only_githubs_known_duplicates() {
        let errors = match Schema::parse(SCHEMA, "github.graphql") {
            Ok(_) => Vec::new(),
            Err(e) => e.errors.iter().map(|d| d.error.to_string()).collect(),
        };
        assert_eq!(errors.len(), 2, "{errors:?}");
        assert!(
            errors.iter().all(|e| e.contains("EnterpriseOwnerInfo")),
            "{errors:?}"
        );
    }

    #[test]
    fn rollouts_query_is_valid() {
        assert!(validate(GOOD).is_ok(), "{:?}", validate(GOOD).err());
    }

    #[test]
    fn fields_arguments_and_enum_values_github_lacks_are_refused() {
        for (bad, says) in [
            (
                GOOD.replace("nodes { databaseId state }", "nodes { databaseId status }"),
                "status",
            ),
            (GOOD.replace("first: 100", "top: 100"), "top"),
            (GOOD.replace("CREATED_AT", "CREATED"), "CREATED"),
            (GOOD.replace("direction: DESC", "direction: DOWN"), "DOWN"),
            (GOOD.replace("hasNextPage", "hasMore"), "hasMore"),
            (GOOD.replace("repository(owner", "repo(owner"), "repo"),
        ] {
            let errors = validate(&bad).err().unwrap_or_default();
            assert!(
                errors.iter().any(|e| e.contains(says)),
                "{says}: {errors:?}"
            );
        }
    }

    #[test]
    fn a_bad_query_is_a_violation_and_an_errors_answer() {
        let mut s = State::default();
        let body = json!({ "query": GOOD.replace("state }", "statte }"), "variables": {} });
        let (status, answer, _) = respond(&mut s, &body);
        assert_eq!(status, 200, "GraphQL answers its errors with a 200");
        assert!(answer["errors"][0]["message"]
            .as_str()
            .is_some_and(|m| m.contains("statte")));
        assert_eq!(s.violations.len(), 1, "{:?}", s.violations);
    }

    #[test]
    fn missing_variables_are_refused() {
        let mut s = State::default();
        let (_, answer, _) = respond(
            &mut s,
            &json!({ "query": GOOD, "variables": { "owner": "octo-org" } }),
        );
        assert!(answer["errors"].is_array(), "{answer}");
        assert_eq!(s.violations.len(), 1);
    }

    #[test]
    fn pages_follow_cursors_newest_first() {
        let mut s = State::default();
        s.seed("pr-1", 250, Some("in_progress"), true);
        s.seed("other", 3, Some("success"), false);
        let mut after = Value::Null;
        let mut seen = Vec::new();
        loop {
            let vars = json!({ "owner": "octo-org", "name": "app", "environment": "pr-1", "after": after });
            let (_, answer, _) = respond(&mut s, &json!({ "query": GOOD, "variables": vars }));
            let conn = &answer["data"]["repository"]["deployments"];
            let nodes = conn["nodes"].as_array().cloned().unwrap_or_default();
            assert!(nodes.len() <= 100);
            seen.extend(nodes.iter().filter_map(|n| n["databaseId"].as_u64()));
            assert!(nodes.iter().all(|n| n["state"] == "IN_PROGRESS"));
            if conn["pageInfo"]["hasNextPage"] != true {
                break;
            }
            after = conn["pageInfo"]["endCursor"].clone();
        }
        assert_eq!(seen.len(), 250);
        assert!(seen.windows(2).all(|w| w[0] > w[1]), "newest first");
        assert!(s.violations.is_empty(), "{:?}", s.violations);
    }

    #[test]
    fn states_follow_the_latest_status() {
        let mut s = State::default();
        s.seed("e", 2, Some("success"), false);
        s.seed("e", 1, Some("inactive"), false);
        s.seed("p", 1, Some("inactive"), true);
        s.seed("e", 1, None, false);
        let states: Vec<&str> = s
            .deployments
            .iter()
            .map(|d| deployment_state(&s, d))
            .collect();
        assert_eq!(
            states,
            ["SUCCESS", "ACTIVE", "INACTIVE", "DESTROYED", "PENDING"]
        );
    }
}
