//! `metadata.managedFields` and server-side apply, as the real server's
//! field manager does them (structured-merge-diff), for what controllers
//! rely on:
//!
//! - One entry per manager, operation (`Apply` or `Update`) and
//!   subresource, with `apiVersion`, `time`, `fieldsType: FieldsV1` and
//!   the owned fields (`fields`). An entry's time changes only when its
//!   fields do, so a write that changes nothing stays no write.
//! - **Apply** (`apply`): the applied configuration is merged into the
//!   live object (maps field by field, lists merged by key or as sets per
//!   `fields::list_type`, other lists and scalars replaced). A field
//!   another manager owns whose value the apply would change is a
//!   conflict (409) unless forced, which moves its ownership. Fields the
//!   applier set last time, no longer sets, and nobody else owns are
//!   removed. The applier's entry becomes exactly the applied fields.
//! - **Update** (`track_update`, every other write): fields the write
//!   added or changed move to its manager; removed fields leave every
//!   entry. Updates never conflict.
//!
//! Simplified: list types come from a table (`fields`), not OpenAPI; no
//! defaulting, so defaulted fields are neither set nor owned; a `null` in
//! an applied configuration is ignored rather than meaning "remove";
//! entries are not kept per apiVersion (each kind has one version here);
//! an `Update` entry owns only leaves and items, never `.` of a plain map.

use serde_json::{Map, Value, json};

use super::catalog::ResourceType;
use super::error::ApiError;
use super::fields::{self, Elem, FieldSet, Scope};
use super::object;
use switchyard_api::stored::without_nulls;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Operation {
    Apply,
    Update,
}

impl Operation {
    fn as_str(self) -> &'static str {
        match self {
            Operation::Apply => "Apply",
            Operation::Update => "Update",
        }
    }
}

/// One `managedFields` entry.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Entry {
    pub manager: String,
    pub operation: Operation,
    pub api_version: String,
    pub subresource: Option<String>,
    pub time: Value,
    pub fields: FieldSet,
}

impl Entry {
    fn is(&self, manager: &str, operation: Operation, subresource: Option<&str>) -> bool {
        self.manager == manager
            && self.operation == operation
            && self.subresource.as_deref() == subresource
    }

    fn to_value(&self) -> Value {
        let mut entry = json!({
            "manager": self.manager,
            "operation": self.operation.as_str(),
            "apiVersion": self.api_version,
            "time": self.time,
            "fieldsType": "FieldsV1",
            "fieldsV1": fields::to_fields_v1(&self.fields),
        });
        if let (Some(sub), Some(map)) = (&self.subresource, entry.as_object_mut()) {
            map.insert("subresource".into(), json!(sub));
        }
        entry
    }

    fn from_value(value: &Value) -> Option<Self> {
        let text = |key: &str| value.get(key).and_then(Value::as_str);
        let operation = match text("operation")? {
            "Apply" => Operation::Apply,
            "Update" => Operation::Update,
            _ => return None,
        };
        Some(Entry {
            manager: text("manager").unwrap_or("").to_string(),
            operation,
            api_version: text("apiVersion").unwrap_or("").to_string(),
            subresource: text("subresource")
                .filter(|s| !s.is_empty())
                .map(str::to_string),
            time: value.get("time").cloned().unwrap_or(Value::Null),
            fields: value
                .get("fieldsV1")
                .map(fields::from_fields_v1)
                .unwrap_or_default(),
        })
    }
}

/// The entries stored in `obj`; malformed ones are skipped.
pub(crate) fn read(obj: &Value) -> Vec<Entry> {
    object::meta(obj)
        .and_then(|m| m.get("managedFields"))
        .and_then(Value::as_array)
        .map(|entries| entries.iter().filter_map(Entry::from_value).collect())
        .unwrap_or_default()
}

/// Stores `entries` in `obj`, dropping empty ones; an entry whose fields
/// did not change since `before` keeps its time.
fn store(obj: &mut Value, before: &[Entry], entries: Vec<Entry>) {
    let now = object::now();
    let values: Vec<Value> = entries
        .into_iter()
        .filter(|e| !e.fields.is_empty())
        .map(|mut e| {
            let unchanged = before.iter().find(|b| {
                b.is(&e.manager, e.operation, e.subresource.as_deref()) && b.fields == e.fields
            });
            e.time = match unchanged {
                Some(b) => b.time.clone(),
                None => now.clone(),
            };
            e.to_value()
        })
        .collect();
    let value = (!values.is_empty()).then_some(Value::Array(values));
    object::set_meta(obj, "managedFields", value);
}

/// Who makes a write, and on which part of the object.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Writer<'a> {
    pub manager: Option<&'a str>,
    pub subresource: Option<&'a str>,
    pub scope: Scope,
}

/// Records a non-apply write that turned `old` (`None` for a create) into
/// `new`. `new` carries the entries to start from (the stored ones, or
/// those the client sent).
pub(crate) fn track_update(
    rt: &ResourceType,
    old: Option<&Value>,
    new: &mut Value,
    by: Writer<'_>,
) {
    let before = read(new);
    if by.manager.is_none() && before.is_empty() {
        // Nothing to record and nothing owned (`[{}]` sent to clear).
        object::set_meta(new, "managedFields", None);
        return;
    }
    let current: &Value = new;
    let new_fields = fields::fields_of(rt, current, by.scope);
    let changed: FieldSet = new_fields
        .iter()
        .filter(|p| fields::differs(rt, old, current, p.as_slice()))
        .cloned()
        .collect();
    let mut entries = before.clone();
    for entry in &mut entries {
        entry
            .fields
            .retain(|p| !changed.contains(p) && fields::value_at(rt, current, p).is_some());
    }
    if let Some(manager) = by.manager.filter(|_| !changed.is_empty()) {
        match entries
            .iter_mut()
            .find(|e| e.is(manager, Operation::Update, by.subresource))
        {
            Some(entry) => entry.fields.extend(changed),
            None => entries.push(Entry {
                manager: manager.to_string(),
                operation: Operation::Update,
                api_version: rt.api_version(),
                subresource: by.subresource.map(str::to_string),
                time: Value::Null,
                fields: changed,
            }),
        }
    }
    store(new, &before, entries);
}

/// The applied configuration, reduced to what `scope` of a write may set:
/// no nulls, no `status` in a main-resource apply of a kind with a status
/// subresource, only `status` (and identity) in a status apply.
pub(crate) fn applied_config(rt: &ResourceType, config: &Value, scope: Scope) -> Value {
    let mut config = without_nulls(config.clone());
    if let Value::Object(map) = &mut config {
        map.retain(|key, _| {
            matches!(key.as_str(), "apiVersion" | "kind")
                || (key == "metadata" && scope == Scope::Main)
                || scope.tracks(rt, key)
        });
    }
    config
}

/// Merges `config` into `live` as apply does.
fn merge(rt: &ResourceType, path: &mut Vec<Elem>, live: &mut Value, config: &Value) {
    match (live, config) {
        (Value::Object(live), Value::Object(config)) if !fields::is_atomic_map(rt, path) => {
            for (key, value) in config {
                path.push(Elem::Field(key.clone()));
                match live.get_mut(key) {
                    Some(existing) => merge(rt, path, existing, value),
                    None => {
                        live.insert(key.clone(), value.clone());
                    }
                }
                path.pop();
            }
        }
        (Value::Array(live_items), Value::Array(config_items)) => {
            let live_elems = fields::item_elems(rt, path, live_items);
            let config_elems = fields::item_elems(rt, path, config_items);
            let (Some(live_elems), Some(config_elems)) = (live_elems, config_elems) else {
                *live_items = config_items.clone();
                return;
            };
            for (elem, item) in config_elems.into_iter().zip(config_items) {
                match live_elems.iter().position(|e| *e == elem) {
                    Some(index) => {
                        path.push(elem);
                        merge(rt, path, &mut live_items[index], item);
                        path.pop();
                    }
                    None => live_items.push(item.clone()),
                }
            }
        }
        (live, config) => *live = config.clone(),
    }
}

/// A field another manager owns and an apply would change.
#[derive(Clone, Debug)]
struct Conflict {
    manager: String,
    subresource: Option<String>,
    api_version: String,
    path: String,
}

impl Conflict {
    /// `conflict with "hpa" with subresource "scale" using apps/v1`, as
    /// the real server words it.
    fn with(&self) -> String {
        match &self.subresource {
            Some(sub) => format!(
                "conflict with \"{}\" with subresource \"{sub}\" using {}",
                self.manager, self.api_version
            ),
            None => format!(
                "conflict with \"{}\" using {}",
                self.manager, self.api_version
            ),
        }
    }
}

fn conflict_error(rt: &ResourceType, name: &str, conflicts: &[Conflict]) -> ApiError {
    let n = conflicts.len();
    let mut message = format!(
        "Apply failed with {n} conflict{}:",
        if n == 1 { "" } else { "s" }
    );
    if n == 1 {
        let c = &conflicts[0];
        message.push_str(&format!(" {}: {}", c.with(), c.path));
    } else {
        for c in conflicts {
            message.push_str(&format!("\n- {}: {}", c.with(), c.path));
        }
    }
    let causes: Vec<Value> = conflicts
        .iter()
        .map(|c| {
            json!({
                "reason": "FieldManagerConflict",
                "message": c.with(),
                "field": c.path,
            })
        })
        .collect();
    ApiError::apply_conflict(rt, name, message, causes)
}

/// The object `live` becomes when `manager` applies `config` (already
/// reduced by `applied_config`), with its managed fields; 409 for a
/// conflict without `force`.
pub(crate) fn apply(
    rt: &ResourceType,
    live: &Value,
    config: &Value,
    by: Writer<'_>,
    force: bool,
) -> Result<Value, ApiError> {
    let manager = by.manager.unwrap_or("");
    let applied = fields::fields_of(rt, config, by.scope);
    let before = read(live);
    let previous: FieldSet = before
        .iter()
        .find(|e| e.is(manager, Operation::Apply, by.subresource))
        .map(|e| e.fields.clone())
        .unwrap_or_default();
    let mut others: Vec<Entry> = before
        .iter()
        .filter(|e| !e.is(manager, Operation::Apply, by.subresource))
        .cloned()
        .collect();

    let mut merged = live.clone();
    let config_for_merge = match by.scope {
        Scope::Main => config.clone(),
        Scope::Status => {
            let mut status_only = Map::new();
            if let Some(status) = config.get("status") {
                status_only.insert("status".into(), status.clone());
            }
            Value::Object(status_only)
        }
    };
    merge(rt, &mut Vec::new(), &mut merged, &config_for_merge);

    // Fields this manager stopped applying, that nobody else owns, go.
    let owned_by_others: FieldSet = others
        .iter()
        .flat_map(|e| e.fields.iter().cloned())
        .collect();
    let keep =
        |path: &[Elem]| fields::covers(&applied, path) || fields::covers(&owned_by_others, path);
    for path in previous.difference(&applied) {
        if !keep(path.as_slice()) {
            fields::remove_at(rt, &mut merged, path, &keep);
        }
    }

    let mut conflicts = Vec::new();
    for entry in &mut others {
        let taken: Vec<_> = entry
            .fields
            .intersection(&applied)
            .filter(|p| fields::differs(rt, Some(live), &merged, p.as_slice()))
            .cloned()
            .collect();
        for path in taken {
            conflicts.push(Conflict {
                manager: entry.manager.clone(),
                subresource: entry.subresource.clone(),
                api_version: entry.api_version.clone(),
                path: fields::render(&path),
            });
            entry.fields.remove(&path);
        }
    }
    if !conflicts.is_empty() && !force {
        return Err(conflict_error(rt, object::name(live), &conflicts));
    }

    let mut entries: Vec<Entry> = Vec::with_capacity(others.len() + 1);
    let mut placed = false;
    for entry in before.iter().cloned() {
        if entry.is(manager, Operation::Apply, by.subresource) {
            placed = true;
            entries.push(Entry {
                fields: applied.clone(),
                ..entry
            });
        } else if let Some(pos) = others.iter().position(|o| {
            o.is(
                &entry.manager,
                entry.operation,
                entry.subresource.as_deref(),
            )
        }) {
            entries.push(others.swap_remove(pos));
        }
    }
    if !placed {
        entries.push(Entry {
            manager: manager.to_string(),
            operation: Operation::Apply,
            api_version: rt.api_version(),
            subresource: by.subresource.map(str::to_string),
            time: Value::Null,
            fields: applied,
        });
    }
    for entry in &mut entries {
        entry
            .fields
            .retain(|p| fields::value_at(rt, &merged, p).is_some());
    }
    store(&mut merged, &before, entries);
    Ok(merged)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::Catalog;

    fn configmaps<T>(test: impl FnOnce(&ResourceType) -> T) -> T {
        let catalog = Catalog::new(&[]);
        let rt = catalog.get(catalog.find("", "v1", "configmaps").expect("configmaps"));
        test(rt)
    }

    fn by(manager: &str) -> Writer<'_> {
        Writer {
            manager: Some(manager),
            subresource: None,
            scope: Scope::Main,
        }
    }

    fn managers(obj: &Value) -> Vec<(String, Operation)> {
        read(obj)
            .into_iter()
            .map(|e| (e.manager, e.operation))
            .collect()
    }

    #[test]
    fn apply_owns_prunes_and_conflicts() {
        configmaps(|rt| {
            let live = json!({"metadata": {"name": "c"}});
            let config = json!({"metadata": {"name": "c", "labels": {"a": "1"}}, "data": {"x": "1", "y": "1"}});
            let first = apply(rt, &live, &config, by("op"), false).expect("applies");
            assert_eq!(first["data"], json!({"x": "1", "y": "1"}));
            assert_eq!(managers(&first), [("op".to_string(), Operation::Apply)]);

            // Another manager changes x (an update: it takes x over).
            let mut edited = first.clone();
            edited["data"]["x"] = json!("2");
            edited["data"]["z"] = json!("3");
            track_update(rt, Some(&first), &mut edited, by("user"));
            assert_eq!(managers(&edited).len(), 2);

            // Re-applying x=1 conflicts; y dropped from the config goes.
            let again =
                json!({"metadata": {"name": "c", "labels": {"a": "1"}}, "data": {"x": "1"}});
            let refused = apply(rt, &edited, &again, by("op"), false);
            assert_eq!(refused.map_err(|e| e.code), Err(409));
            let forced = apply(rt, &edited, &again, by("op"), true).expect("forced");
            assert_eq!(forced["data"], json!({"x": "1", "z": "3"}));
            let user = read(&forced)
                .into_iter()
                .find(|e| e.manager == "user")
                .expect("user keeps z");
            assert_eq!(user.fields.len(), 1);

            // The same intent again changes nothing, managed fields included.
            let same = apply(rt, &forced, &again, by("op"), false).expect("no-op");
            assert_eq!(same, forced);
        });
    }
}
