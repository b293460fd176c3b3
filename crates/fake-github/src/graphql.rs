//! `POST /graphql`: every query is checked against GitHub's published schema (a copy in
//! `schema/github.graphql`), so a field, argument or enum value GitHub does not have is a
//! violation here as it would be an error there. Valid queries over repository deployments are
//! answered from the fake's state; anything else valid is named as not implemented, never
//! answered with made-up data.
//!
//! graphql-parser parses; the checks are this file's own, walking the schema's types. (A full
//! validator, apollo-compiler, pulls in `regex` with every Unicode feature, which a workspace
//! build would then give rollout's own binary too: the tests would not run what ships.)

use crate::{Answer, Deployment, Grant, State, OWNER_REPO};
use graphql_parser::query::{
    self as q, Definition, OperationDefinition, Selection, SelectionSet, TypeCondition,
};
use graphql_parser::schema::{self as sdl, Type, TypeDefinition};
use serde_json::{json, Map, Value};
use std::collections::{BTreeSet, HashMap};
use std::sync::OnceLock;

mod environments;
mod history;
mod report;

const SCHEMA: &str = include_str!("../schema/github.graphql");

/// The largest page GitHub gives on a connection.
const MAX_PAGE: i64 = 100;

type Gql = q::Value<'static, String>;
type TypeRef = Type<'static, String>;

struct FieldDef {
    arguments: HashMap<String, (TypeRef, bool)>,
    ty: TypeRef,
}

enum Kind {
    Scalar,
    Enum(BTreeSet<String>),
    /// Objects and interfaces: their fields.
    Fields(HashMap<String, FieldDef>),
    Union,
    /// Input objects: each field's type and whether it has a default.
    Input(HashMap<String, (TypeRef, bool)>),
}

/// GitHub's schema as lookups by name.
struct Index {
    types: HashMap<String, Kind>,
}

fn input_values(values: &[sdl::InputValue<'static, String>]) -> HashMap<String, (TypeRef, bool)> {
    values
        .iter()
        .map(|v| {
            (
                v.name.clone(),
                (v.value_type.clone(), v.default_value.is_some()),
            )
        })
        .collect()
}

fn fields_of(fields: &[sdl::Field<'static, String>]) -> HashMap<String, FieldDef> {
    fields
        .iter()
        .map(|f| {
            (
                f.name.clone(),
                FieldDef {
                    arguments: input_values(&f.arguments),
                    ty: f.field_type.clone(),
                },
            )
        })
        .collect()
}

/// Parsed once per process: the schema is 1.2 MB.
fn index() -> Result<&'static Index, String> {
    static PARSED: OnceLock<Result<Index, String>> = OnceLock::new();
    PARSED
        .get_or_init(|| {
            let doc = graphql_parser::parse_schema::<String>(SCHEMA).map_err(|e| {
                format!("fake-github's copy of GitHub's schema does not parse: {e}")
            })?;
            let mut types = HashMap::new();
            for scalar in ["Int", "Float", "String", "Boolean", "ID"] {
                types.insert(scalar.to_string(), Kind::Scalar);
            }
            for def in doc.definitions {
                let sdl::Definition::TypeDefinition(t) = def else {
                    continue;
                };
                let (name, kind) = match t {
                    TypeDefinition::Scalar(s) => (s.name, Kind::Scalar),
                    TypeDefinition::Enum(e) => (
                        e.name,
                        Kind::Enum(e.values.into_iter().map(|v| v.name).collect()),
                    ),
                    TypeDefinition::Object(o) => (o.name, Kind::Fields(fields_of(&o.fields))),
                    TypeDefinition::Interface(i) => (i.name, Kind::Fields(fields_of(&i.fields))),
                    TypeDefinition::Union(u) => (u.name, Kind::Union),
                    TypeDefinition::InputObject(i) => {
                        (i.name, Kind::Input(input_values(&i.fields)))
                    }
                };
                types.insert(name, kind);
            }
            Ok(Index { types })
        })
        .as_ref()
        .map_err(String::clone)
}

fn named(ty: &TypeRef) -> &str {
    match ty {
        Type::NamedType(n) => n,
        Type::ListType(t) | Type::NonNullType(t) => named(t),
    }
}

/// The checks of GraphQL's validation section that a query of rollout's kind can break.
struct Check<'a> {
    index: &'a Index,
    variables: HashMap<String, (TypeRef, bool)>,
    used: BTreeSet<String>,
    fragments: HashMap<String, &'a q::FragmentDefinition<'static, String>>,
    problems: Vec<String>,
}

impl Check<'_> {
    fn selections(&mut self, on: &str, set: &SelectionSet<'static, String>) {
        for item in &set.items {
            match item {
                Selection::Field(f) => self.field(on, f),
                Selection::InlineFragment(i) => {
                    let inner = match &i.type_condition {
                        Some(TypeCondition::On(t)) => t.as_str(),
                        None => on,
                    };
                    if !self.index.types.contains_key(inner) {
                        self.problems.push(format!(
                            "No such type {inner}, so it can't be a fragment condition"
                        ));
                        continue;
                    }
                    self.selections(inner, &i.selection_set);
                }
                Selection::FragmentSpread(s) => match self.fragments.get(&s.fragment_name).copied()
                {
                    Some(f) => {
                        let TypeCondition::On(t) = &f.type_condition;
                        self.selections(t, &f.selection_set);
                    }
                    None => self.problems.push(format!(
                        "Fragment {} was used, but not defined",
                        s.fragment_name
                    )),
                },
            }
        }
    }

    fn field(&mut self, on: &str, f: &q::Field<'static, String>) {
        if f.name == "__typename" {
            return;
        }
        let index = self.index;
        let def = match index.types.get(on) {
            Some(Kind::Fields(fields)) => fields.get(&f.name),
            _ => None,
        };
        let Some(def) = def else {
            self.problems
                .push(format!("Field '{}' doesn't exist on type '{on}'", f.name));
            return;
        };
        for (name, value) in &f.arguments {
            match def.arguments.get(name) {
                Some((ty, _)) => self.value(
                    value,
                    ty,
                    &format!("argument '{name}' on Field '{}'", f.name),
                ),
                None => self.problems.push(format!(
                    "Field '{}' doesn't accept argument '{name}'",
                    f.name
                )),
            }
        }
        for (name, (ty, has_default)) in &def.arguments {
            if matches!(ty, Type::NonNullType(_))
                && !has_default
                && !f.arguments.iter().any(|(n, _)| n == name)
            {
                self.problems.push(format!(
                    "Field '{}' is missing required arguments: {name}",
                    f.name
                ));
            }
        }
        let inner = named(&def.ty);
        let composite = matches!(index.types.get(inner), Some(Kind::Fields(_) | Kind::Union));
        if composite && f.selection_set.items.is_empty() {
            self.problems.push(format!(
                "Field must have selections (field '{}' returns {inner} but has no selections)",
                f.name
            ));
        } else if !composite && !f.selection_set.items.is_empty() {
            self.problems.push(format!(
                "Selections can't be made on scalars (field '{}' returns {inner})",
                f.name
            ));
        }
        self.selections(inner, &f.selection_set);
    }

    /// A literal or variable where `ty` is expected.
    fn value(&mut self, value: &Gql, ty: &TypeRef, place: &str) {
        if let q::Value::Variable(name) = value {
            self.used.insert(name.clone());
            match self.variables.get(name) {
                None => self.problems.push(format!(
                    "Variable ${name} is used by anonymous query but not declared"
                )),
                Some((declared, has_default)) => {
                    let nullable_into_required = matches!(ty, Type::NonNullType(_))
                        && !matches!(declared, Type::NonNullType(_))
                        && !has_default;
                    if named(declared) != named(ty) || nullable_into_required {
                        self.problems.push(format!(
                            "Type mismatch on variable ${name} and {place} (expected {ty})"
                        ));
                    }
                }
            }
            return;
        }
        match ty {
            Type::NonNullType(inner) => {
                if matches!(value, q::Value::Null) {
                    self.problems.push(format!(
                        "{place} has an invalid value (null where {ty} is required)"
                    ));
                } else {
                    self.value(value, inner, place);
                }
            }
            Type::ListType(inner) => match value {
                q::Value::List(items) => {
                    for item in items {
                        self.value(item, inner, place);
                    }
                }
                q::Value::Null => {}
                // A single value where a list is expected is a list of one.
                other => self.value(other, inner, place),
            },
            Type::NamedType(name) => self.named_value(value, name, place),
        }
    }

    fn named_value(&mut self, value: &Gql, name: &str, place: &str) {
        if matches!(value, q::Value::Null) {
            return;
        }
        let index = self.index;
        let ok = match (index.types.get(name), value) {
            (Some(Kind::Enum(values)), q::Value::Enum(v)) => {
                if !values.contains(v) {
                    self.problems.push(format!(
                        "{place} has an invalid value ({v} is not a value of enum {name})"
                    ));
                }
                true
            }
            (Some(Kind::Input(fields)), q::Value::Object(given)) => {
                for (key, v) in given {
                    match fields.get(key) {
                        Some((ty, _)) => self.value(v, ty, &format!("{place}, input field '{key}'")),
                        None => self.problems.push(format!(
                            "{place} has an invalid value (input object {name} has no field '{key}')"
                        )),
                    }
                }
                for (key, (ty, has_default)) in fields {
                    if matches!(ty, Type::NonNullType(_))
                        && !has_default
                        && !given.contains_key(key)
                    {
                        self.problems.push(format!(
                            "{place} has an invalid value (input object {name} needs field '{key}')"
                        ));
                    }
                }
                true
            }
            (Some(Kind::Scalar), v) => match name {
                "Int" => matches!(v, q::Value::Int(_)),
                "Float" => matches!(v, q::Value::Int(_) | q::Value::Float(_)),
                "Boolean" => matches!(v, q::Value::Boolean(_)),
                "String" => matches!(v, q::Value::String(_)),
                // ID and GitHub's own scalars (DateTime, URI, GitObjectID...) are written as text.
                _ => matches!(v, q::Value::String(_) | q::Value::Int(_)),
            },
            _ => false,
        };
        if !ok {
            self.problems.push(format!(
                "{place} has an invalid value (expected type {name})"
            ));
        }
    }
}

/// A variable's JSON value against its declared type.
fn json_fits(index: &Index, value: &Value, ty: &TypeRef) -> bool {
    match (ty, value) {
        (Type::NonNullType(_), Value::Null) => false,
        (Type::NonNullType(inner), v) => json_fits(index, v, inner),
        (_, Value::Null) => true,
        (Type::ListType(inner), Value::Array(items)) => {
            items.iter().all(|v| json_fits(index, v, inner))
        }
        (Type::ListType(inner), v) => json_fits(index, v, inner),
        (Type::NamedType(name), v) => match (index.types.get(name.as_str()), v) {
            (Some(Kind::Enum(values)), Value::String(s)) => values.contains(s),
            (Some(Kind::Input(_)), Value::Object(_)) => true,
            (Some(Kind::Scalar), v) => match name.as_str() {
                "Int" => v.is_i64(),
                "Float" => v.is_number(),
                "Boolean" => v.is_boolean(),
                "String" => v.is_string(),
                _ => v.is_string() || v.is_i64(),
            },
            _ => false,
        },
    }
}

/// Checks `query`, with its `variables`, against GitHub's schema: each problem as one sentence.
pub fn validate(query: &str, variables: &Map<String, Value>) -> Result<(), Vec<String>> {
    let index = index().map_err(|e| vec![e])?;
    let doc = graphql_parser::parse_query::<String>(query)
        .map_err(|e| vec![format!("Parse error: {e}")])?
        .into_static();
    check(index, &doc, variables)
}

fn check(
    index: &Index,
    doc: &q::Document<'static, String>,
    given: &Map<String, Value>,
) -> Result<(), Vec<String>> {
    let fragments = doc
        .definitions
        .iter()
        .filter_map(|d| match d {
            Definition::Fragment(f) => Some((f.name.clone(), f)),
            _ => None,
        })
        .collect();
    let mut problems = Vec::new();
    for def in &doc.definitions {
        let Definition::Operation(op) = def else {
            continue;
        };
        let (root, definitions, set) = match op {
            OperationDefinition::SelectionSet(set) => ("Query", &[][..], set),
            OperationDefinition::Query(o) => {
                ("Query", &o.variable_definitions[..], &o.selection_set)
            }
            OperationDefinition::Mutation(o) => {
                ("Mutation", &o.variable_definitions[..], &o.selection_set)
            }
            OperationDefinition::Subscription(o) => (
                "Subscription",
                &o.variable_definitions[..],
                &o.selection_set,
            ),
        };
        let mut c = Check {
            index,
            variables: HashMap::new(),
            used: BTreeSet::new(),
            fragments: HashMap::clone(&fragments),
            problems: Vec::new(),
        };
        for v in definitions {
            let inner = named(&v.var_type);
            if !matches!(
                index.types.get(inner),
                Some(Kind::Scalar | Kind::Enum(_) | Kind::Input(_))
            ) {
                c.problems.push(format!(
                    "${} is a {inner}, which is not an input type",
                    v.name
                ));
            }
            let value = given.get(&v.name).unwrap_or(&Value::Null);
            let defaulted = v.default_value.is_some() && value.is_null();
            if !defaulted && !json_fits(index, value, &v.var_type) {
                c.problems.push(format!(
                    "Variable ${} of type {} was provided invalid value",
                    v.name, v.var_type
                ));
            }
            c.variables.insert(
                v.name.clone(),
                (v.var_type.clone(), v.default_value.is_some()),
            );
        }
        c.selections(root, set);
        for v in definitions {
            if !c.used.contains(&v.name) {
                c.problems.push(format!(
                    "Variable ${} is declared by anonymous query but not used",
                    v.name
                ));
            }
        }
        problems.extend(c.problems);
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems)
    }
}

/// Why a query was not answered: GitHub's `errors` entries.
struct Refusal {
    errors: Vec<Value>,
    /// It broke the schema, or asked what the fake does not implement: either way a test that
    /// relies on its answer must not pass quietly.
    violation: bool,
}

fn refusal(kind: Option<&str>, message: String) -> Refusal {
    let mut e = json!({ "message": message });
    if let Some(kind) = kind {
        e["type"] = json!(kind);
    }
    Refusal {
        errors: vec![e],
        violation: false,
    }
}

fn not_implemented(what: &str) -> Refusal {
    Refusal {
        violation: true,
        ..refusal(
            None,
            format!("fake-github does not implement {what} (valid for GitHub's schema)"),
        )
    }
}

pub(crate) fn respond(s: &mut State, body: &Value, grant: Grant) -> Answer {
    let mut partial = Vec::new();
    match answer(s, body, grant, &mut partial) {
        // A field that could not be resolved (a pull request number that names none) is null
        // in `data`, and its error in `errors` names its path, as GitHub answers it.
        Ok(data) if !partial.is_empty() => {
            (200, json!({ "data": data, "errors": partial }), Vec::new())
        }
        Ok(data) => (200, json!({ "data": data }), Vec::new()),
        Err(r) => {
            if r.violation {
                let text: Vec<&str> = r
                    .errors
                    .iter()
                    .filter_map(|e| e["message"].as_str())
                    .collect();
                s.violations
                    .push(format!("POST /graphql: {}", text.join("; ")));
            }
            (200, json!({ "errors": r.errors }), Vec::new())
        }
    }
}

fn answer(
    s: &State,
    body: &Value,
    grant: Grant,
    partial: &mut Vec<Value>,
) -> Result<Value, Refusal> {
    let invalid = |messages: Vec<String>| Refusal {
        errors: messages
            .into_iter()
            .map(|m| json!({ "message": m }))
            .collect(),
        violation: true,
    };
    let Some(query) = body.get("query").and_then(Value::as_str) else {
        return Err(invalid(vec![
            "A query attribute must be specified and must be a string.".into(),
        ]));
    };
    let variables = match body.get("variables") {
        None | Some(Value::Null) => Map::new(),
        Some(Value::Object(map)) => map.clone(),
        Some(_) => return Err(invalid(vec!["Variables must be a JSON object.".into()])),
    };
    let index = index().map_err(|e| invalid(vec![e]))?;
    let doc = graphql_parser::parse_query::<String>(query)
        .map_err(|e| invalid(vec![format!("Parse error: {e}")]))?
        .into_static();
    check(index, &doc, &variables).map_err(invalid)?;
    let operations: Vec<&OperationDefinition<'static, String>> = doc
        .definitions
        .iter()
        .filter_map(|d| match d {
            Definition::Operation(o) => Some(o),
            _ => None,
        })
        .collect();
    let [operation] = operations[..] else {
        return Err(not_implemented("documents with other than one operation"));
    };
    let (set, definitions) = match operation {
        OperationDefinition::SelectionSet(set) => (set, &[][..]),
        OperationDefinition::Query(o) => (&o.selection_set, &o.variable_definitions[..]),
        _ => return Err(not_implemented("mutations and subscriptions")),
    };
    let mut vars = variables;
    for v in definitions {
        if let (Some(default), None | Some(Value::Null)) = (&v.default_value, vars.get(&v.name)) {
            let value = json_of(default, &Map::new());
            vars.insert(v.name.clone(), value);
        }
    }
    let mut data = Map::new();
    for field in fields(set)? {
        let value = match field.name.as_str() {
            "repository" => repository(s, field, &vars, grant, partial)?,
            "__typename" => json!("Query"),
            other => return Err(not_implemented(&format!("`Query.{other}`"))),
        };
        data.insert(key(field), value);
    }
    Ok(Value::Object(data))
}

type Field = q::Field<'static, String>;

fn key(f: &Field) -> String {
    f.alias.clone().unwrap_or_else(|| f.name.clone())
}

fn fields<'s>(set: &'s SelectionSet<'static, String>) -> Result<Vec<&'s Field>, Refusal> {
    set.items
        .iter()
        .map(|s| match s {
            Selection::Field(f) => Ok(f),
            _ => Err(not_implemented("fragments")),
        })
        .collect()
}

fn json_of(value: &Gql, variables: &Map<String, Value>) -> Value {
    match value {
        q::Value::Null => Value::Null,
        q::Value::Enum(name) => json!(name),
        q::Value::Variable(name) => variables.get(name).cloned().unwrap_or(Value::Null),
        q::Value::String(s) => json!(s),
        q::Value::Float(f) => json!(f),
        q::Value::Int(i) => i.as_i64().map(|n| json!(n)).unwrap_or(Value::Null),
        q::Value::Boolean(b) => json!(b),
        q::Value::List(items) => {
            Value::Array(items.iter().map(|v| json_of(v, variables)).collect())
        }
        q::Value::Object(fields) => Value::Object(
            fields
                .iter()
                .map(|(k, v)| (k.clone(), json_of(v, variables)))
                .collect(),
        ),
    }
}

fn argument(field: &Field, name: &str, variables: &Map<String, Value>) -> Value {
    field
        .arguments
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| json_of(v, variables))
        .unwrap_or(Value::Null)
}

fn repository(
    s: &State,
    field: &Field,
    vars: &Map<String, Value>,
    grant: Grant,
    partial: &mut Vec<Value>,
) -> Result<Value, Refusal> {
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
            "deployments" => deployments(s, f, vars, None)?,
            "object" => history::object(s, f, vars)?,
            "ref" if grant == Grant::NoContents => {
                return Err(refusal(
                    Some("FORBIDDEN"),
                    "Resource not accessible by integration".into(),
                ))
            }
            "ref" => git_ref(s, f, vars)?,
            "environments" => environments::environments(s, f, vars)?,
            "pullRequest" => environments::pull_request(s, f, vars, partial)?,
            "nameWithOwner" => json!(OWNER_REPO),
            "name" => json!(name),
            "__typename" => json!("Repository"),
            other => return Err(not_implemented(&format!("`Repository.{other}`"))),
        };
        out.insert(key(f), value);
    }
    Ok(Value::Object(out))
}

/// `Repository.ref(qualifiedName:)`: null when missing; its `target` a commit, read through an
/// inline fragment on `Commit` (or on the `GitObject` interface).
fn git_ref(s: &State, field: &Field, vars: &Map<String, Value>) -> Result<Value, Refusal> {
    let qualified = argument(field, "qualifiedName", vars);
    let qualified = qualified.as_str().unwrap_or_default();
    let Some(sha) = s.git_refs.get(qualified) else {
        return Ok(Value::Null);
    };
    let mut out = Map::new();
    for f in fields(&field.selection_set)? {
        let value = match f.name.as_str() {
            "name" => json!(qualified.rsplit_once('/').map_or(qualified, |(_, n)| n)),
            "prefix" => json!(
                qualified
                    .rsplit_once('/')
                    .map_or("", |(p, _)| p)
                    .to_string()
                    + "/"
            ),
            "__typename" => json!("Ref"),
            "target" => commit_target(s, sha, &f.selection_set)?,
            other => return Err(not_implemented(&format!("`Ref.{other}`"))),
        };
        out.insert(key(f), value);
    }
    Ok(Value::Object(out))
}

fn commit_target(
    s: &State,
    sha: &str,
    set: &SelectionSet<'static, String>,
) -> Result<Value, Refusal> {
    let mut out = Map::new();
    let commit = s.git_commits.get(sha);
    for item in &set.items {
        let Some((selected, on_commit)) = commit_selection(item)? else {
            return Err(not_implemented(
                "fragments on `GitObject` other than `Commit`",
            ));
        };
        for f in selected {
            let value = match (f.name.as_str(), commit) {
                ("oid", _) => json!(sha),
                ("__typename", _) => json!("Commit"),
                ("message", Some(c)) if on_commit => json!(c.message),
                (other, _) => return Err(not_implemented(&format!("`Commit.{other}`"))),
            };
            out.insert(key(f), value);
        }
    }
    Ok(Value::Object(out))
}

/// What one selection on a git object picks: its fields, and whether they come from an `... on
/// Commit` fragment (where a commit's own fields may be asked for). `None`: a fragment on another
/// object type (`Tree`, `Blob`), which selects nothing of a commit.
fn commit_selection<'a>(
    item: &'a Selection<'static, String>,
) -> Result<Option<(Vec<&'a Field>, bool)>, Refusal> {
    match item {
        Selection::Field(f) => Ok(Some((vec![f], false))),
        Selection::InlineFragment(i) => match &i.type_condition {
            Some(TypeCondition::On(t)) if t == "Commit" => {
                Ok(Some((fields(&i.selection_set)?, true)))
            }
            Some(TypeCondition::On(t)) if t == "GitObject" => {
                Ok(Some((fields(&i.selection_set)?, false)))
            }
            _ => Ok(None),
        },
        Selection::FragmentSpread(_) => Err(not_implemented("named fragments")),
    }
}

fn cursor(offset: usize) -> String {
    format!("Y3Vyc29yOnYy:{offset}")
}

/// A connection's page as GitHub bounds it: `(first, offset)` from `first` (required, at most
/// 100) and `after` (a cursor this fake wrote). `last` and `before` are not implemented here.
fn page_window(
    field: &Field,
    vars: &Map<String, Value>,
    connection: &str,
) -> Result<(usize, usize), Refusal> {
    if !argument(field, "last", vars).is_null() || !argument(field, "before", vars).is_null() {
        return Err(not_implemented(&format!(
            "`last` and `before` on `{connection}`"
        )));
    }
    let Some(first) = argument(field, "first", vars).as_i64() else {
        return Err(refusal(
            Some("MISSING_PAGINATION_BOUNDARIES"),
            format!("You must provide a `first` or `last` value to properly paginate the `{connection}` connection."),
        ));
    };
    if !(0..=MAX_PAGE).contains(&first) {
        return Err(refusal(
            Some("EXCESSIVE_PAGINATION"),
            format!("Requesting {first} records on the `{connection}` connection exceeds the `first` limit of {MAX_PAGE} records."),
        ));
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
    Ok((first as usize, offset))
}

/// `pageInfo` of a page `offset..end` of `total` items, with the fields `f` selects.
fn page_info(f: &Field, offset: usize, end: usize, total: usize) -> Result<Value, Refusal> {
    let empty = end == offset;
    let mut info = Map::new();
    for p in fields(&f.selection_set)? {
        let v = match p.name.as_str() {
            "hasNextPage" => json!(end < total),
            "hasPreviousPage" => json!(offset > 0),
            "endCursor" if empty => Value::Null,
            "endCursor" => json!(cursor(end)),
            "startCursor" if empty => Value::Null,
            "startCursor" => json!(cursor(offset + 1)),
            "__typename" => json!("PageInfo"),
            other => return Err(not_implemented(&format!("`PageInfo.{other}`"))),
        };
        info.insert(key(p), v);
    }
    Ok(Value::Object(info))
}

/// `Repository.deployments`, or with `commit` a commit's (`Commit.deployments`).
fn deployments(
    s: &State,
    field: &Field,
    vars: &Map<String, Value>,
    commit: Option<&str>,
) -> Result<Value, Refusal> {
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
    let (first, offset) = page_window(field, vars, "deployments")?;
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
        .filter(|d| commit.is_none_or(|sha| d.sha == sha))
        .collect();
    // Ids grow with creation time; GitHub's default order is oldest first.
    list.sort_by_key(|d| d.id);
    if order["direction"].as_str() == Some("DESC") {
        list.reverse();
    }
    let page: Vec<&Deployment> = list.iter().skip(offset).take(first).copied().collect();
    let end = offset + page.len();
    let mut out = Map::new();
    for f in fields(&field.selection_set)? {
        let value = match f.name.as_str() {
            "totalCount" => json!(list.len()),
            "pageInfo" => page_info(f, offset, end, list.len())?,
            "nodes" => Value::Array(
                page.iter()
                    .map(|d| node(s, d, f, vars))
                    .collect::<Result<Vec<_>, _>>()?,
            ),
            "edges" => {
                let mut edges = Vec::new();
                for (i, d) in page.iter().enumerate() {
                    let mut edge = Map::new();
                    for e in fields(&f.selection_set)? {
                        let v = match e.name.as_str() {
                            "cursor" => json!(cursor(offset + i + 1)),
                            "node" => node(s, d, e, vars)?,
                            "__typename" => json!("DeploymentEdge"),
                            other => {
                                return Err(not_implemented(&format!("`DeploymentEdge.{other}`")))
                            }
                        };
                        edge.insert(key(e), v);
                    }
                    edges.push(Value::Object(edge));
                }
                Value::Array(edges)
            }
            "__typename" => json!("DeploymentConnection"),
            other => return Err(not_implemented(&format!("`DeploymentConnection.{other}`"))),
        };
        out.insert(key(f), value);
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

fn node(
    s: &State,
    d: &Deployment,
    field: &Field,
    vars: &Map<String, Value>,
) -> Result<Value, Refusal> {
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
            "statuses" => history::statuses(d, f, vars)?,
            "creator" => history::creator(f)?,
            "createdAt" | "updatedAt" => json!(d.created_at),
            "commit" => report::commit(s, d, f)?,
            "__typename" => json!("Deployment"),
            other => return Err(not_implemented(&format!("`Deployment.{other}`"))),
        };
        out.insert(key(f), value);
    }
    Ok(Value::Object(out))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// rollout's own query, from the file rollout compiles in: a change to one is checked here.
    const GOOD: &str = include_str!("../../../src/github/deployments.graphql");
    /// The rollback's history query, with its lock ref.
    const HISTORY: &str = include_str!("../../../src/github/history.graphql");
    /// `requires`' read: a commit's deployments in one environment, that environment's newest,
    /// and the destination's lock.
    const REQUIRES: &str = include_str!("../../../src/github/requires.graphql");

    fn vars() -> Map<String, Value> {
        json!({ "owner": "octo-org", "name": "app", "environment": "pr-1", "after": null })
            .as_object()
            .cloned()
            .unwrap_or_default()
    }

    #[test]
    fn the_schema_copy_parses_with_githubs_deployment_states() {
        let index = index().expect("the schema parses");
        let Some(Kind::Enum(states)) = index.types.get("DeploymentState") else {
            panic!("no DeploymentState enum");
        };
        for s in [
            "QUEUED",
            "PENDING",
            "IN_PROGRESS",
            "WAITING",
            "ACTIVE",
            "SUCCESS",
            "FAILURE",
            "ERROR",
            "INACTIVE",
            "DESTROYED",
            "ABANDONED",
        ] {
            assert!(states.contains(s), "{s}");
        }
    }

    #[test]
    fn rollouts_query_is_valid() {
        assert_eq!(validate(GOOD, &vars()), Ok(()));
    }

    #[test]
    fn the_rollback_history_query_is_valid_and_its_mistakes_are_not() {
        let mut vars = vars();
        vars.insert("lockRef".into(), json!("refs/heads/rollout-lock/pr-1"));
        assert_eq!(validate(HISTORY, &vars), Ok(()));
        for (bad, says) in [
            (
                HISTORY.replace("... on Commit", "... on Comit"),
                "No such type Comit",
            ),
            (
                HISTORY.replace("target { oid", "target { message"),
                "Field 'message' doesn't exist on type 'GitObject'",
            ),
            (
                HISTORY.replace(
                    "statuses(first: 100) { nodes { state logUrl } }",
                    "statuses(first: 100) { state }",
                ),
                "Field 'state' doesn't exist on type 'DeploymentStatusConnection'",
            ),
            (
                HISTORY.replace("qualifiedName: $lockRef", "name: $lockRef"),
                "doesn't accept argument 'name'",
            ),
            (
                HISTORY.replace("$lockRef: String!", "$lockRef: Int!"),
                "Type mismatch on variable $lockRef",
            ),
        ] {
            let errors = validate(&bad, &vars).err().unwrap_or_default();
            assert!(
                errors.iter().any(|e| e.contains(says)),
                "{says}: {errors:?}"
            );
        }
        vars.remove("lockRef");
        assert!(
            validate(HISTORY, &vars).is_err(),
            "the lock ref is required"
        );
    }

    #[test]
    fn the_requires_query_is_valid_and_its_mistakes_are_not() {
        let vars: Map<String, Value> = json!({
            "owner": "octo-org", "name": "app", "oid": "a".repeat(40),
            "environment": "staging", "lockRef": "refs/heads/rollout-lock/production",
        })
        .as_object()
        .cloned()
        .unwrap_or_default();
        assert_eq!(validate(REQUIRES, &vars), Ok(()));
        for (bad, says) in [
            (
                REQUIRES.replacen("... on Commit {", "... on GitObject {", 1),
                "Field 'deployments' doesn't exist on type 'GitObject'",
            ),
            (
                REQUIRES.replace("$oid: GitObjectID!", "$oid: Int!"),
                "Type mismatch on variable $oid",
            ),
            (
                REQUIRES.replace(
                    "environments: [$environment]",
                    "environment: [$environment]",
                ),
                "doesn't accept argument 'environment'",
            ),
            (
                REQUIRES.replace("creator { login }", "creator"),
                "Field must have selections",
            ),
        ] {
            let errors = validate(&bad, &vars).err().unwrap_or_default();
            assert!(
                errors.iter().any(|e| e.contains(says)),
                "{says}: {errors:?}"
            );
        }
    }

    #[test]
    fn fields_arguments_and_values_github_lacks_are_refused() {
        for (bad, says) in [
            (
                GOOD.replace("databaseId state", "databaseId status"),
                "Field 'status' doesn't exist on type 'Deployment'",
            ),
            (
                GOOD.replace("first: 100", "top: 100"),
                "doesn't accept argument 'top'",
            ),
            (
                GOOD.replace("CREATED_AT", "CREATED"),
                "CREATED is not a value of enum DeploymentOrderField",
            ),
            (
                GOOD.replace("direction: DESC", "direction: DOWN"),
                "DOWN is not a value of enum OrderDirection",
            ),
            (
                GOOD.replace("direction: DESC", "direction: \"DESC\""),
                "expected type OrderDirection",
            ),
            (
                GOOD.replace("first: 100", "first: \"100\""),
                "expected type Int",
            ),
            (
                GOOD.replace("hasNextPage", "hasMore"),
                "Field 'hasMore' doesn't exist on type 'PageInfo'",
            ),
            (
                GOOD.replace("repository(owner", "repo(owner"),
                "Field 'repo' doesn't exist on type 'Query'",
            ),
            (
                GOOD.replace("owner: $owner, ", ""),
                "missing required arguments: owner",
            ),
            (
                GOOD.replace("pageInfo { hasNextPage endCursor }", "pageInfo"),
                "must have selections",
            ),
            (
                GOOD.replace("databaseId state", "databaseId state { x }"),
                "Selections can't be made on scalars",
            ),
            (
                GOOD.replace("after: $after", "after: $later"),
                "$later is used by anonymous query but not declared",
            ),
            (
                GOOD.replace("name: $name", "name: \"app\""),
                "$name is declared by anonymous query but not used",
            ),
            (
                GOOD.replace("$owner: String!", "$owner: Int!"),
                "Type mismatch on variable $owner",
            ),
            (
                GOOD.replace(
                    "{field: CREATED_AT, direction: DESC}",
                    "{field: CREATED_AT, way: DESC}",
                ),
                "has no field 'way'",
            ),
            (GOOD.replace("nodes {", "nodes("), "Parse error"),
        ] {
            let errors = validate(&bad, &vars()).err().unwrap_or_default();
            assert!(
                errors.iter().any(|e| e.contains(says)),
                "{says}: {errors:?}"
            );
        }
        let mut missing = vars();
        missing.remove("owner");
        let errors = validate(GOOD, &missing).err().unwrap_or_default();
        assert!(
            errors
                .iter()
                .any(|e| e.contains("Variable $owner of type String! was provided invalid value")),
            "{errors:?}"
        );
    }

    #[test]
    fn a_bad_query_is_a_violation_and_an_errors_answer() {
        let mut s = State::default();
        let body = json!({ "query": GOOD.replace("databaseId state", "databaseId statte"), "variables": vars() });
        let (status, answer, _) = respond(&mut s, &body, Grant::Write);
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
            Grant::Write,
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
            let (_, answer, _) = respond(
                &mut s,
                &json!({ "query": GOOD, "variables": vars }),
                Grant::Write,
            );
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
