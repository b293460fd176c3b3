//! `Repository.environments` (a connection of `Environment`, by name) and
//! `Repository.pullRequest(number:)` (null, with a `NOT_FOUND` error naming its path, for a
//! number that names no pull request), answered from the fake's state as GitHub answers them.

use super::{argument, fields, key, not_implemented, page_info, page_window, Field, Refusal};
use crate::State;
use serde_json::{json, Map, Value};

/// `Repository.environments(first:, after:, names:, orderBy:)`: names ascending, GitHub's only
/// order; `first` (or `last`) is required and at most 100.
pub(super) fn environments(
    s: &State,
    field: &Field,
    vars: &Map<String, Value>,
) -> Result<Value, Refusal> {
    let (first, offset) = page_window(field, vars, "environments")?;
    let order = argument(field, "orderBy", vars);
    if order["direction"].as_str() == Some("DESC") {
        return Err(not_implemented("environments in descending order"));
    }
    let wanted: Vec<String> = match argument(field, "names", vars) {
        Value::Array(list) => list
            .iter()
            .filter_map(|v| v.as_str().map(str::to_string))
            .collect(),
        Value::String(one) => vec![one],
        _ => Vec::new(),
    };
    let list: Vec<String> = s
        .environment_names()
        .into_iter()
        .filter(|n| wanted.is_empty() || wanted.contains(n))
        .collect();
    let page: Vec<&String> = list.iter().skip(offset).take(first).collect();
    let end = offset + page.len();
    let mut out = Map::new();
    for f in fields(&field.selection_set)? {
        let value = match f.name.as_str() {
            "totalCount" => json!(list.len()),
            "pageInfo" => page_info(f, offset, end, list.len())?,
            "nodes" => Value::Array(
                page.iter()
                    .map(|name| environment(name, f))
                    .collect::<Result<Vec<_>, _>>()?,
            ),
            "__typename" => json!("EnvironmentConnection"),
            other => return Err(not_implemented(&format!("`EnvironmentConnection.{other}`"))),
        };
        out.insert(key(f), value);
    }
    Ok(Value::Object(out))
}

fn environment(name: &str, field: &Field) -> Result<Value, Refusal> {
    let mut out = Map::new();
    for f in fields(&field.selection_set)? {
        let value = match f.name.as_str() {
            "name" => json!(name),
            "id" => json!(format!("EN_{name}")),
            "__typename" => json!("Environment"),
            other => return Err(not_implemented(&format!("`Environment.{other}`"))),
        };
        out.insert(key(f), value);
    }
    Ok(Value::Object(out))
}

/// `Repository.pullRequest(number:)`: its state, or null and a `NOT_FOUND` error in `partial`
/// whose path names the field (`["repository", "p3"]`), as GitHub answers a number that names
/// no pull request.
pub(super) fn pull_request(
    s: &State,
    field: &Field,
    vars: &Map<String, Value>,
    partial: &mut Vec<Value>,
) -> Result<Value, Refusal> {
    let number = argument(field, "number", vars).as_i64().unwrap_or(0);
    let found = u64::try_from(number)
        .ok()
        .and_then(|n| s.pull_requests.get(&n));
    let Some(state) = found else {
        partial.push(json!({
            "type": "NOT_FOUND",
            "path": ["repository", key(field)],
            "locations": [{ "line": 1, "column": 1 }],
            "message": format!("Could not resolve to a PullRequest with the number of {number}."),
        }));
        return Ok(Value::Null);
    };
    let mut out = Map::new();
    for f in fields(&field.selection_set)? {
        let value = match f.name.as_str() {
            "state" => json!(state),
            "number" => json!(number),
            "closed" => json!(state != "OPEN"),
            "merged" => json!(state == "MERGED"),
            "__typename" => json!("PullRequest"),
            other => return Err(not_implemented(&format!("`PullRequest.{other}`"))),
        };
        out.insert(key(f), value);
    }
    Ok(Value::Object(out))
}

#[cfg(test)]
mod tests {
    use super::super::{respond, validate};
    use crate::{Grant, State};
    use serde_json::{json, Value};

    /// rollout's own query, from the file rollout compiles in.
    const ENVIRONMENTS: &str = include_str!("../../../../src/github/environments.graphql");

    #[test]
    fn environments_page_by_name_and_leave_out_deleted_ones() {
        let mut s = State::default();
        for n in 0..150 {
            s.seed(&format!("pr-{n:03}"), 1, Some("success"), true);
        }
        s.environments.push("Production".into());
        s.deleted_environments.push("pr-001".into());
        let (mut after, mut seen) = (Value::Null, Vec::new());
        loop {
            let vars = json!({ "owner": "octo-org", "name": "app", "after": after });
            assert_eq!(validate(ENVIRONMENTS, vars.as_object().unwrap()), Ok(()));
            let (_, answer, _) = respond(
                &mut s,
                &json!({ "query": ENVIRONMENTS, "variables": vars }),
                Grant::Write,
            );
            let conn = &answer["data"]["repository"]["environments"];
            let nodes = conn["nodes"].as_array().cloned().unwrap_or_default();
            assert!(nodes.len() <= 100);
            seen.extend(
                nodes
                    .iter()
                    .filter_map(|n| n["name"].as_str().map(str::to_string)),
            );
            if conn["pageInfo"]["hasNextPage"] != true {
                break;
            }
            after = conn["pageInfo"]["endCursor"].clone();
        }
        assert_eq!(seen.len(), 150, "149 previews and Production");
        assert!(!seen.contains(&"pr-001".to_string()));
        assert!(seen.windows(2).all(|w| w[0] < w[1]), "by name");
        assert!(s.violations.is_empty(), "{:?}", s.violations);
    }

    #[test]
    fn a_number_naming_no_pull_request_is_null_with_its_error() {
        let mut s = State::default();
        s.pull_requests.insert(4, "MERGED".into());
        let query = "query($owner: String!, $name: String!, $a: Int!, $b: Int!) { repository(owner: $owner, name: $name) { p0: pullRequest(number: $a) { state } p1: pullRequest(number: $b) { state } } }";
        let vars = json!({ "owner": "octo-org", "name": "app", "a": 4, "b": 5 });
        let (status, answer, _) = respond(
            &mut s,
            &json!({ "query": query, "variables": vars }),
            Grant::Write,
        );
        assert_eq!(status, 200);
        assert_eq!(answer["data"]["repository"]["p0"]["state"], "MERGED");
        assert_eq!(answer["data"]["repository"]["p1"], Value::Null);
        assert_eq!(answer["errors"][0]["type"], "NOT_FOUND");
        assert_eq!(answer["errors"][0]["path"], json!(["repository", "p1"]));
        let bad = query.replace("{ state }", "{ status }");
        let (_, answer, _) = respond(
            &mut s,
            &json!({ "query": bad, "variables": vars }),
            Grant::Write,
        );
        assert!(answer["data"].is_null(), "{answer}");
        assert!(
            !s.violations.is_empty(),
            "a field GitHub lacks is a violation"
        );
    }
}
