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

/// `Deployment.creator`: the `Actor` that created it; REST's answers name the same one.
pub(super) fn creator(field: &Field) -> Result<Value, Refusal> {
    let mut out = Map::new();
    for f in fields(&field.selection_set)? {
        let value = match f.name.as_str() {
            "login" => json!("github-actions[bot]"),
            "url" => json!("https://github.com/apps/github-actions"),
            "__typename" => json!("Bot"),
            other => return Err(not_implemented(&format!("`Actor.{other}`"))),
        };
        out.insert(key(f), value);
    }
    Ok(Value::Object(out))
}

/// `Repository.object(oid:)`: a commit the fake knows (one of its git database, or one a
/// deployment was made of), else null as GitHub answers for an unknown object. Its fields are
/// read through an inline fragment on `Commit` (`deployments`, `oid`, `message`) or on the
/// `GitObject` interface (`oid`).
pub(super) fn object(
    s: &crate::State,
    field: &Field,
    vars: &Map<String, Value>,
) -> Result<Value, Refusal> {
    let oid = argument(field, "oid", vars);
    let Some(oid) = oid.as_str().map(str::to_ascii_lowercase) else {
        return Err(not_implemented("`object` without `oid`"));
    };
    let known = s.git_commits.contains_key(&oid) || s.deployments.iter().any(|d| d.sha == oid);
    if !known {
        return Ok(Value::Null);
    }
    let mut out = Map::new();
    for item in &field.selection_set.items {
        // A fragment on another object type (`Tree`, `Blob`) selects nothing of a commit.
        let Some((selected, on_commit)) = super::commit_selection(item)? else {
            continue;
        };
        for f in selected {
            let value = match f.name.as_str() {
                "oid" => json!(oid),
                "__typename" => json!("Commit"),
                "deployments" if on_commit => super::deployments(s, f, vars, Some(&oid))?,
                "message" if on_commit => json!(s
                    .git_commits
                    .get(&oid)
                    .map(|c| c.message.clone())
                    .unwrap_or_default()),
                other => return Err(not_implemented(&format!("`Commit.{other}`"))),
            };
            out.insert(key(f), value);
        }
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
            json!([{ "state": "FAILURE", "logUrl": null }, { "state": "IN_PROGRESS", "logUrl": null }])
        );
        assert_eq!(
            nodes[0]["creator"],
            json!({ "login": "github-actions[bot]" })
        );
        assert_eq!(nodes[0]["state"], "FAILURE");
        assert_eq!(nodes[0]["task"], "deploy");
        let payload: Value = serde_json::from_str(nodes[0]["payload"].as_str().unwrap()).unwrap();
        assert_eq!(payload["rollback"]["from_deployment"], 1);
        assert_eq!(
            nodes[1]["statuses"]["nodes"],
            json!([{ "state": "SUCCESS", "logUrl": null }])
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

    #[test]
    fn a_commits_deployments_are_its_own_in_the_environments_asked() {
        const REQUIRES: &str = include_str!("../../../../src/github/requires.graphql");
        let mut s = State::default();
        let ids = s.seed("staging", 3, Some("success"), false);
        s.seed("production", 1, Some("success"), false);
        let a = "a".repeat(40);
        for d in s
            .deployments
            .iter_mut()
            .filter(|d| d.id == ids[0] || d.id == ids[2])
        {
            d.sha = a.clone();
        }
        let ask = |s: &mut State, oid: &str| {
            let vars = json!({
                "owner": "octo-org", "name": "app", "oid": oid, "environment": "staging",
                "lockRef": "refs/heads/rollout-lock/production",
            });
            respond(
                s,
                &json!({ "query": REQUIRES, "variables": vars }),
                Grant::Write,
            )
            .1
        };
        let answer = ask(&mut s, &a);
        assert!(s.violations.is_empty(), "{:?}", s.violations);
        let repo = &answer["data"]["repository"];
        let nodes = repo["object"]["deployments"]["nodes"].as_array().unwrap();
        let got: Vec<u64> = nodes
            .iter()
            .map(|n| n["databaseId"].as_u64().unwrap())
            .collect();
        assert_eq!(got, [ids[2], ids[0]], "newest first, this commit's only");
        assert_eq!(repo["recent"]["nodes"].as_array().unwrap().len(), 3);
        assert_eq!(repo["lock"], Value::Null);
        let unknown = ask(&mut s, &"b".repeat(40));
        assert_eq!(unknown["data"]["repository"]["object"], Value::Null);
    }
}
