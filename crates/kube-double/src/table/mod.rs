//! The Table format (`meta.k8s.io/v1` or `v1beta1` `Table`), which
//! `kubectl get` asks for in `Accept`: a list or one object as rows of
//! cells under column definitions, each row carrying the object's
//! metadata (`includeObject=Metadata`, the default), the whole object
//! (`Object`) or nothing (`None`).
//!
//! A custom resource's columns are NAME and its CRD's
//! `additionalPrinterColumns` (by default AGE), cells evaluated with the
//! JSONPath subset of `jsonpath` and typed as the real server's CRD table
//! convertor types them (a `date` shows as an age). Built-in kinds get the
//! columns the real server prints for them (`builtin`).

mod builtin;
pub(crate) mod jsonpath;

use k8s_openapi::jiff::Timestamp;
use serde_json::{Value, json};

use super::catalog::ResourceType;
use super::error::ApiError;
use jsonpath::JsonPath;

/// Which Table the client asked for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum TableVersion {
    V1,
    V1beta1,
}

impl TableVersion {
    fn api_version(self) -> &'static str {
        match self {
            TableVersion::V1 => "meta.k8s.io/v1",
            TableVersion::V1beta1 => "meta.k8s.io/v1beta1",
        }
    }
}

/// The first Table an `Accept` header lists, if any.
pub(crate) fn wanted(accept: Option<&str>) -> Option<TableVersion> {
    accept?.split(',').find_map(|media| {
        let params: Vec<&str> = media.split(';').map(str::trim).collect();
        let has = |p: &str| params.contains(&p);
        if !has("as=Table") || !has("g=meta.k8s.io") {
            return None;
        }
        if has("v=v1") {
            Some(TableVersion::V1)
        } else if has("v=v1beta1") {
            Some(TableVersion::V1beta1)
        } else {
            None
        }
    })
}

/// What each row carries (`includeObject`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) enum IncludeObject {
    None,
    #[default]
    Metadata,
    Object,
}

impl IncludeObject {
    pub(crate) fn parse(value: Option<&str>) -> Result<Self, ApiError> {
        match value.unwrap_or("") {
            "" | "Metadata" => Ok(IncludeObject::Metadata),
            "None" => Ok(IncludeObject::None),
            "Object" => Ok(IncludeObject::Object),
            other => Err(ApiError::bad_request(format!(
                "includeObject: Unsupported value: {other:?}: supported values: \"Metadata\", \"None\", \"Object\""
            ))),
        }
    }
}

/// How a column's cell is computed.
enum Cell {
    Name,
    Age,
    /// A CRD column: the path and the column's type.
    Path(JsonPath),
    Computed(fn(&Value) -> Value),
}

struct Column {
    name: String,
    type_: String,
    format: String,
    description: String,
    priority: i32,
    cell: Cell,
}

impl Column {
    fn new(name: &str, type_: &str, priority: i32, cell: Cell) -> Self {
        Self {
            name: name.into(),
            type_: type_.into(),
            format: if matches!(cell, Cell::Name) {
                "name".into()
            } else {
                String::new()
            },
            description: String::new(),
            priority,
            cell,
        }
    }

    fn definition(&self) -> Value {
        json!({
            "name": self.name,
            "type": self.type_,
            "format": self.format,
            "description": self.description,
            "priority": self.priority,
        })
    }

    fn cell(&self, obj: &Value) -> Value {
        match &self.cell {
            Cell::Name => json!(super::object::name(obj)),
            Cell::Age => age(obj.pointer("/metadata/creationTimestamp")),
            Cell::Computed(f) => f(obj),
            Cell::Path(path) => {
                let Some(found) = path.find(obj).into_iter().next() else {
                    return Value::Null;
                };
                typed_cell(&self.type_, found)
            }
        }
    }
}

/// A CRD column's cell, as the real server's table convertor makes it.
fn typed_cell(type_: &str, value: &Value) -> Value {
    match (type_, value) {
        (_, Value::Null) => Value::Null,
        ("string", Value::String(_)) => value.clone(),
        ("string", other) => json!(other.to_string()),
        ("integer", Value::Number(n)) => n
            .as_i64()
            .or_else(|| n.as_f64().map(|f| f as i64))
            .map_or(Value::Null, |i| json!(i)),
        ("number", Value::Number(n)) => n.as_f64().map_or(Value::Null, |f| json!(f)),
        ("boolean", Value::Bool(_)) => value.clone(),
        ("date", Value::String(_)) => age(Some(value)),
        _ => Value::Null,
    }
}

/// How long ago a timestamp was, as kubectl shows ages (`45s`, `3m20s`,
/// `5h`, `3d`); `<unknown>` without one, `<invalid>` for garbage.
fn age(timestamp: Option<&Value>) -> Value {
    let Some(text) = timestamp.and_then(Value::as_str) else {
        return json!("<unknown>");
    };
    let Ok(then) = text.parse::<Timestamp>() else {
        return json!("<invalid>");
    };
    json!(human_duration(
        Timestamp::now().duration_since(then).as_secs()
    ))
}

/// Kubernetes' `duration.HumanDuration`.
pub(crate) fn human_duration(seconds: i64) -> String {
    if seconds < -1 {
        return "<invalid>".into();
    }
    let s = seconds.max(0);
    let (m, h, d) = (s / 60, s / 3600, s / 86_400);
    let years = d / 365;
    match () {
        _ if s < 120 => format!("{s}s"),
        _ if m < 10 && s % 60 == 0 => format!("{m}m"),
        _ if m < 10 => format!("{m}m{}s", s % 60),
        _ if m < 180 => format!("{m}m"),
        _ if h < 8 && m % 60 == 0 => format!("{h}h"),
        _ if h < 8 => format!("{h}h{}m", m % 60),
        _ if h < 48 => format!("{h}h"),
        _ if h < 192 && h % 24 == 0 => format!("{d}d"),
        _ if h < 192 => format!("{d}d{}h", h % 24),
        _ if h < 24 * 365 * 2 => format!("{d}d"),
        _ if h < 24 * 365 * 8 && d % 365 == 0 => format!("{years}y"),
        _ if h < 24 * 365 * 8 => format!("{years}y{}d", d % 365),
        _ => format!("{years}y"),
    }
}

fn columns(rt: &ResourceType) -> Vec<Column> {
    if !rt.custom {
        return builtin::columns(rt);
    }
    let mut columns = vec![Column::new("Name", "string", 0, Cell::Name)];
    if rt.printer_columns.is_empty() {
        columns.push(Column::new("Age", "date", 0, Cell::Age));
    }
    for c in &rt.printer_columns {
        // A path outside the subset shows empty cells, as a path that
        // finds nothing does.
        let path = JsonPath::parse(&c.json_path).unwrap_or_else(|error| {
            tracing::debug!(column = %c.name, %error, "API double: printer column path not understood");
            JsonPath::parse(".__unsupported").unwrap_or_else(|_| unreachable!("a plain field parses"))
        });
        columns.push(Column {
            name: c.name.clone(),
            type_: c.type_.clone(),
            format: c.format.clone().unwrap_or_default(),
            description: c.description.clone().unwrap_or_default(),
            priority: c.priority.unwrap_or(0),
            cell: Cell::Path(path),
        });
    }
    columns
}

fn row_object(obj: &Value, include: IncludeObject) -> Value {
    match include {
        IncludeObject::None => Value::Null,
        IncludeObject::Object => obj.clone(),
        IncludeObject::Metadata => json!({
            "kind": "PartialObjectMetadata",
            "apiVersion": "meta.k8s.io/v1",
            "metadata": obj.get("metadata").cloned().unwrap_or_else(|| json!({})),
        }),
    }
}

/// The Table of `items` (a list, or one object).
pub(crate) fn table<'a>(
    rt: &ResourceType,
    version: TableVersion,
    items: impl Iterator<Item = &'a Value>,
    resource_version: String,
    continue_token: Option<String>,
    include: IncludeObject,
) -> Value {
    let columns = columns(rt);
    let rows: Vec<Value> = items
        .map(|obj| {
            let cells: Vec<Value> = columns.iter().map(|c| c.cell(obj)).collect();
            let mut row = json!({"cells": cells});
            let object = row_object(obj, include);
            if !object.is_null() {
                row["object"] = object;
            }
            row
        })
        .collect();
    let mut metadata = json!({"resourceVersion": resource_version});
    if let Some(token) = continue_token {
        metadata["continue"] = json!(token);
    }
    json!({
        "kind": "Table",
        "apiVersion": version.api_version(),
        "metadata": metadata,
        "columnDefinitions": columns.iter().map(Column::definition).collect::<Vec<_>>(),
        "rows": rows,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::Catalog;

    #[test]
    fn accept_headers_and_durations() {
        let kubectl = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json";
        assert_eq!(wanted(Some(kubectl)), Some(TableVersion::V1));
        assert_eq!(
            wanted(Some("application/json;as=Table;v=v1beta1;g=meta.k8s.io")),
            Some(TableVersion::V1beta1)
        );
        assert_eq!(wanted(Some("application/json")), None);
        assert_eq!(human_duration(5), "5s");
        assert_eq!(human_duration(200), "3m20s");
        assert_eq!(human_duration(600), "10m");
        assert_eq!(human_duration(3 * 3600 + 60), "3h1m");
        assert_eq!(human_duration(3 * 86_400), "3d");
        assert_eq!(human_duration(3 * 86_400 + 3600), "3d1h");
    }

    #[test]
    fn model_rows_use_the_crd_columns() {
        let catalog = Catalog::new(&crate::config::seldon_crds());
        let rt = catalog.get(
            catalog
                .find("mlops.seldon.io", "v1alpha1", "models")
                .expect("models"),
        );
        let model = json!({"metadata": {"name": "iris", "namespace": "ns", "creationTimestamp": Timestamp::now().to_string()},
            "spec": {"replicas": 2},
            "status": {"availableReplicas": 1, "conditions": [{"type": "ModelReady", "status": "True"}]}});
        let table = table(
            rt,
            TableVersion::V1,
            std::iter::once(&model),
            "7".into(),
            None,
            IncludeObject::Metadata,
        );
        let names: Vec<&str> = table["columnDefinitions"]
            .as_array()
            .expect("columns")
            .iter()
            .filter_map(|c| c["name"].as_str())
            .collect();
        assert_eq!(names.first(), Some(&"Name"));
        assert!(
            names.contains(&"Ready") && names.contains(&"Desired Replicas"),
            "{names:?}"
        );
        let cells = &table["rows"][0]["cells"];
        let at = |name: &str| names.iter().position(|n| *n == name).expect("column");
        assert_eq!(cells[at("Ready")], "True");
        assert_eq!(cells[at("Desired Replicas")], 2);
        assert_eq!(cells[at("Age")], "0s");
        assert_eq!(table["rows"][0]["object"]["metadata"]["namespace"], "ns");
    }
}
