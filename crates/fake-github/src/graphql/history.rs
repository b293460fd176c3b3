//! What a rollback's history query reads beyond a deployment's own fields: each deployment's
//! statuses (`Deployment.statuses`) and a lock ref (`Repository.ref(qualifiedName:)`, with an
//! inline fragment on `Commit`), answered from the fake's state as GitHub answers them.

use super::{argument, fields, key, not_implemented, refusal, Field, Refusal, MAX_PAGE};
use crate::Deployment;
use serde_json::{json, Map, Value};

/// `Deployment.statuses(first:)`, newest first as REST lists them.
pub(super) fn statuses(
    d: &Deployment,
    field: &Field,
    vars: &Map<String, Value>,
) -> Result<Value, Refusal> {
    if !argument(field, "last", vars).is_null()
        || !argument(field, "before", vars).is_null()
        || !argument(field, "after", vars).is_null()
    {
        return Err(not_implemented(
            "`last`, `before` and `after` on `statuses`",
        ));
    }
    let Some(first) = argument(field, "first", vars).as_i64() else {
        return Err(refusal(
            Some("MISSING_PAGINATION_BOUNDARIES"),
            "You must provide a `first` or `last` value to properly paginate the `statuses` connection.".into(),
        ));
    };
    if !(0..=MAX_PAGE).contains(&first) {
        return Err(refusal(
            Some("EXCESSIVE_PAGINATION"),
            format!("Requesting {first} records on the `statuses` connection exceeds the `first` limit of {MAX_PAGE} records."),
        ));
    }
    let newest_first: Vec<_> = d.statuses.iter().rev().collect();
    let page = &newest_first[..newest_first.len().min(first as usize)];
    let mut out = Map::new();
    for f in fields(&field.selection_set)? {
        let value = match f.name.as_str() {
            "totalCount" => json!(newest_first.len()),
            "nodes" => {
                let mut nodes = Vec::new();
                for status in page {
                    let mut node = Map::new();
                    for n in fields(&f.selection_set)? {
                        let v = match n.name.as_str() {
                            "state" => json!(status.state.to_ascii_uppercase()),
                            "description" => json!(status.description),
                            "logUrl" => json!(status.log_url),
                            "environmentUrl" => json!(status.environment_url),
                            "createdAt" | "updatedAt" => json!(status.created_at),
                            "__typename" => json!("DeploymentStatus"),
                            other => {
                                return Err(not_implemented(&format!("`DeploymentStatus.{other}`")))
                            }
                        };
                        node.insert(key(n), v);
                    }
                    nodes.push(Value::Object(node));
                }
                Value::Array(nodes)
            }
            "pageInfo" => {
                let mut info = Map::new();
                for p in fields(&f.selection_set)? {
                    let v = match p.name.as_str() {
                        "hasNextPage" => json!(page.len() < newest_first.len()),
                        "hasPreviousPage" => json!(false),
                        "__typename" => json!("PageInfo"),
                        other => {
                            return Err(not_implemented(&format!("`PageInfo.{other}` on statuses")))
                        }
                    };
                    info.insert(key(p), v);
                }
                Value::Object(info)
            }
            "__typename" => json!("DeploymentStatusConnection"),
            other => {
                return Err(not_implemented(&format!(
                    "`DeploymentStatusConnection.{other}`"
                )))
            }
        };
        out.insert(key(f), value);
    }
    Ok(Value::Object(out))
}

#[cfg(test)]
mod tests {
    use super::super::respond;
    use crate::{Grant, State};
    use serde_json::{json, Value};

    /// rollout's rollback query, from the file rollout compiles in.
    const HISTORY: &str = include_str!("../../../../src/github/history.graphql");

    fn ask(s: &mut State, after: Value) -> Value {
        let vars = json!({
            "owner": "octo-org", "name": "app", "environment": "production",
            "after": after, "lockRef": "refs/heads/rollout-lock/production",
        });
        let (status, answer, _) = respond(
            s,
            &json!({ "query": HISTORY, "variables": vars }),
            Grant::Write,
        );
        assert_eq!(status, 200);
        answer
    }

    #[test]
    fn each_deployment_comes_with_its_statuses_newest_first() {
        let mut s = State::default();
        s.seed("production", 1, Some("success"), false);
        let id = s.seed("production", 1, Some("in_progress"), false)[0];
        let first = s.deployments[0].statuses[0].clone();
        let d = s.deployments.iter_mut().find(|d| d.id == id).unwrap();
        d.statuses.push(crate::Status {
            state: "failure".into(),
            ..first
        });
        d.payload = json!({ "rollback": { "from_deployment": 1 } });
        let answer = ask(&mut s, Value::Null);
        assert!(s.violations.is_empty(), "{:?}", s.violations);
        let nodes = &answer["data"]["repository"]["deployments"]["nodes"];
        assert_eq!(nodes[0]["databaseId"], json!(id));
        assert_eq!(
            nodes[0]["statuses"]["nodes"],
            json!([{ "state": "FAILURE" }, { "state": "IN_PROGRESS" }])
        );
        assert_eq!(nodes[0]["state"], "FAILURE");
        assert_eq!(nodes[0]["task"], "deploy");
        let payload: Value = serde_json::from_str(nodes[0]["payload"].as_str().unwrap()).unwrap();
        assert_eq!(payload["rollback"]["from_deployment"], 1);
        assert_eq!(
            nodes[1]["statuses"]["nodes"],
            json!([{ "state": "SUCCESS" }])
        );
    }

    #[test]
    fn the_lock_ref_is_null_until_it_exists() {
        let mut s = State::default();
        s.seed("production", 1, Some("success"), false);
        let answer = ask(&mut s, Value::Null);
        assert_eq!(
            answer["data"]["repository"]["lock"],
            Value::Null,
            "{answer}"
        );
        let lock = s.seed_commit("rollout lock: production\n\n{}");
        s.git_refs
            .insert("refs/heads/rollout-lock/production".into(), lock.clone());
        let other = s.seed_commit("rollout lock: staging");
        s.git_refs
            .insert("refs/heads/rollout-lock/staging".into(), other);
        let answer = ask(&mut s, Value::Null);
        assert_eq!(
            answer["data"]["repository"]["lock"],
            json!({ "target": { "oid": lock, "message": "rollout lock: production\n\n{}" } })
        );
        assert!(s.violations.is_empty(), "{:?}", s.violations);
    }

    #[test]
    fn statuses_without_a_page_size_are_refused_as_github_does() {
        let mut s = State::default();
        s.seed("production", 1, Some("success"), false);
        let query = HISTORY.replace("statuses(first: 100)", "statuses");
        let vars = json!({
            "owner": "octo-org", "name": "app", "environment": "production",
            "after": null, "lockRef": "refs/heads/x",
        });
        let (_, answer, _) = respond(
            &mut s,
            &json!({ "query": query, "variables": vars }),
            Grant::Write,
        );
        assert_eq!(answer["errors"][0]["type"], "MISSING_PAGINATION_BOUNDARIES");
        let query = HISTORY.replace("statuses(first: 100)", "statuses(first: 101)");
        let (_, answer, _) = respond(
            &mut s,
            &json!({ "query": query, "variables": vars }),
            Grant::Write,
        );
        assert_eq!(answer["errors"][0]["type"], "EXCESSIVE_PAGINATION");
    }
}
