//! What the delivery report reads beyond the deployments (the environments are
//! `environments.rs`'): a deployment's commit
//! with its committed date (`Deployment.commit`, null when the commit is not known, as GitHub
//! answers for one that no longer exists).

use super::{fields, key, not_implemented, Field, Refusal};
use crate::{Deployment, State};
use serde_json::{json, Map, Value};

/// `Deployment.commit`: `committedDate` and `oid` of a commit the fake knows the date of.
pub(super) fn commit(s: &State, d: &Deployment, field: &Field) -> Result<Value, Refusal> {
    let Some(date) = s.commit_dates.get(&d.sha) else {
        return Ok(Value::Null);
    };
    let mut out = Map::new();
    for f in fields(&field.selection_set)? {
        let v = match f.name.as_str() {
            "committedDate" | "authoredDate" => json!(date),
            "oid" => json!(d.sha),
            "__typename" => json!("Commit"),
            other => return Err(not_implemented(&format!("`Commit.{other}`"))),
        };
        out.insert(key(f), v);
    }
    Ok(Value::Object(out))
}

#[cfg(test)]
mod tests {
    use super::super::{respond, validate};
    use crate::{Grant, State};
    use serde_json::{json, Value};

    const DEPLOYMENTS: &str = include_str!("../../../../src/github/delivery.graphql");
    const ENVIRONMENTS: &str = include_str!("../../../../src/github/environments.graphql");

    fn ask(s: &mut State, query: &str, vars: Value) -> Value {
        let (status, answer, _) = respond(
            s,
            &json!({ "query": query, "variables": vars }),
            Grant::Write,
        );
        assert_eq!(status, 200);
        answer
    }

    #[test]
    fn the_reports_queries_are_valid_and_their_mistakes_are_not() {
        let vars = json!({"owner": "octo-org", "name": "app", "environments": ["production"], "after": null});
        let vars = vars.as_object().cloned().unwrap();
        assert_eq!(validate(DEPLOYMENTS, &vars), Ok(()));
        let bad = DEPLOYMENTS.replace("commit { committedDate }", "commit { date }");
        assert!(validate(&bad, &vars)
            .unwrap_err()
            .iter()
            .any(|e| e.contains("Field 'date' doesn't exist on type 'Commit'")));
        let bad = DEPLOYMENTS.replace("$environments: [String!]", "$environments: String");
        assert!(validate(&bad, &vars).is_err());
        let vars = json!({"owner": "octo-org", "name": "app", "after": null});
        let vars = vars.as_object().cloned().unwrap();
        assert_eq!(validate(ENVIRONMENTS, &vars), Ok(()));
        let bad = ENVIRONMENTS.replace("nodes { name }", "nodes { title }");
        assert!(validate(&bad, &vars).is_err());
    }

    #[test]
    fn environments_page_by_name_and_deployments_carry_dates() {
        let mut s = State::default();
        for i in 0..150 {
            s.seed(&format!("env-{i:03}"), 1, Some("success"), false);
        }
        s.deleted_environments.push("env-000".into());
        let answer = ask(
            &mut s,
            ENVIRONMENTS,
            json!({"owner": "octo-org", "name": "app", "after": null}),
        );
        let conn = &answer["data"]["repository"]["environments"];
        assert_eq!(conn["nodes"].as_array().unwrap().len(), 100);
        assert_eq!(conn["nodes"][0]["name"], "env-001");
        assert_eq!(conn["pageInfo"]["hasNextPage"], true);
        let after = conn["pageInfo"]["endCursor"].clone();
        let answer = ask(
            &mut s,
            ENVIRONMENTS,
            json!({"owner": "octo-org", "name": "app", "after": after}),
        );
        let conn = &answer["data"]["repository"]["environments"];
        assert_eq!(conn["nodes"].as_array().unwrap().len(), 49);
        assert_eq!(conn["pageInfo"]["hasNextPage"], false);

        let id = s.seed("production", 1, Some("success"), false)[0];
        let sha = s.deployments.last().unwrap().sha.clone();
        s.deployments.last_mut().unwrap().created_at = "2026-11-20T10:00:00Z".into();
        let answer = ask(
            &mut s,
            DEPLOYMENTS,
            json!({"owner": "octo-org", "name": "app", "environments": ["production"], "after": null}),
        );
        let node = &answer["data"]["repository"]["deployments"]["nodes"][0];
        assert_eq!(node["databaseId"], json!(id));
        assert_eq!(node["createdAt"], "2026-11-20T10:00:00Z");
        assert_eq!(node["commit"], Value::Null, "{answer}");
        let status_time = node["statuses"]["nodes"][0]["createdAt"].as_str().unwrap();
        assert!(
            status_time.ends_with('Z') && status_time.len() == 20,
            "{status_time}"
        );
        s.commit_dates.insert(sha, "2026-11-20T08:00:00Z".into());
        let answer = ask(
            &mut s,
            DEPLOYMENTS,
            json!({"owner": "octo-org", "name": "app", "environments": ["production"], "after": null}),
        );
        let node = &answer["data"]["repository"]["deployments"]["nodes"][0];
        assert_eq!(node["commit"]["committedDate"], "2026-11-20T08:00:00Z");
        assert!(s.violations.is_empty(), "{:?}", s.violations);
    }

    #[test]
    fn times_are_rfc3339() {
        assert_eq!(crate::rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(crate::rfc3339(1_795_000_000), "2026-11-18T11:06:40Z");
        assert_eq!(crate::rfc3339(951_782_400), "2000-02-29T00:00:00Z");
    }
}
