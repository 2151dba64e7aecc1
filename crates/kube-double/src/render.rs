//! Response bodies: objects, lists and watch-event lines, either whole or
//! as `PartialObjectMetadata` when the client asked for metadata only
//! (kube's `metadata_watcher`, `get_metadata`, `list_metadata`).

use hyper::body::Bytes;
use serde::Serialize;
use serde_json::{Value, json};

use super::catalog::ResourceType;
use super::error::ApiError;
use super::table::{self, IncludeObject, TableVersion};

/// The representation a client asked for with its `Accept` header.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) enum Projection {
    #[default]
    Full,
    /// `application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1`
    Metadata,
    /// A Table with one row (watch events for `kubectl get -w`).
    Table(TableVersion, IncludeObject),
}

impl Projection {
    pub(crate) fn from_accept(accept: Option<&str>) -> Self {
        match accept {
            Some(a) if a.contains("as=PartialObjectMetadata") => Projection::Metadata,
            _ => Projection::Full,
        }
    }

    /// How many distinct renderings there are (`index` is below).
    pub(crate) const COUNT: usize = 8;

    pub(crate) fn index(self) -> usize {
        match self {
            Projection::Full => 0,
            Projection::Metadata => 1,
            Projection::Table(version, include) => {
                let version = match version {
                    TableVersion::V1 => 0,
                    TableVersion::V1beta1 => 3,
                };
                let include = match include {
                    IncludeObject::None => 0,
                    IncludeObject::Metadata => 1,
                    IncludeObject::Object => 2,
                };
                2 + version + include
            }
        }
    }
}

/// An object as sent: borrowed whole, or its metadata only.
#[derive(Serialize)]
#[serde(untagged)]
enum Item<'a> {
    Full(&'a Value),
    Owned(Value),
}

/// `rt` renders Tables.
fn item<'a>(rt: &ResourceType, obj: &'a Value, projection: Projection) -> Item<'a> {
    match projection {
        Projection::Full => Item::Full(obj),
        Projection::Table(version, include) => {
            let rv = super::object::resource_version(obj).to_string();
            Item::Owned(table::table(
                rt,
                version,
                std::iter::once(obj),
                rv,
                None,
                include,
            ))
        }
        Projection::Metadata => Item::Owned(json!({
            "apiVersion": "meta.k8s.io/v1",
            "kind": "PartialObjectMetadata",
            "metadata": obj.get("metadata").cloned().unwrap_or_else(|| json!({})),
        })),
    }
}

fn to_bytes<T: Serialize>(value: &T) -> Bytes {
    // Serializing a `serde_json::Value` (or a struct of them) cannot fail:
    // every map key is a string.
    Bytes::from(serde_json::to_vec(value).unwrap_or_default())
}

pub(crate) fn object(rt: &ResourceType, obj: &Value, projection: Projection) -> Bytes {
    to_bytes(&item(rt, obj, projection))
}

pub(crate) fn value(v: &Value) -> Bytes {
    to_bytes(v)
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ListMeta {
    resource_version: String,
    #[serde(rename = "continue", skip_serializing_if = "Option::is_none")]
    continue_: Option<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct List<'a> {
    api_version: String,
    kind: String,
    metadata: ListMeta,
    items: Vec<Item<'a>>,
}

/// A `{Kind}List` (or `PartialObjectMetadataList`).
pub(crate) fn list<'a>(
    rt: &ResourceType,
    items: impl Iterator<Item = &'a Value>,
    resource_version: u64,
    continue_token: Option<String>,
    projection: Projection,
) -> Bytes {
    let (api_version, kind) = match projection {
        Projection::Full | Projection::Table(..) => (rt.api_version(), format!("{}List", rt.kind)),
        Projection::Metadata => (
            "meta.k8s.io/v1".to_string(),
            "PartialObjectMetadataList".to_string(),
        ),
    };
    to_bytes(&List {
        api_version,
        kind,
        metadata: ListMeta {
            resource_version: resource_version.to_string(),
            continue_: continue_token,
        },
        items: items.map(|o| item(rt, o, projection)).collect(),
    })
}

#[derive(Serialize)]
struct Event<'a> {
    #[serde(rename = "type")]
    kind: &'a str,
    object: Item<'a>,
}

/// One watch-event line: `{"type":"ADDED","object":{...}}\n`.
pub(crate) fn event_line(
    rt: &ResourceType,
    kind: &str,
    obj: &Value,
    projection: Projection,
) -> Bytes {
    let mut line = serde_json::to_vec(&Event {
        kind,
        object: item(rt, obj, projection),
    })
    .unwrap_or_default();
    line.push(b'\n');
    Bytes::from(line)
}

/// A BOOKMARK line at `rv`; `initial_events_end` marks the end of the
/// initial events of a streaming list.
pub(crate) fn bookmark_line(rt: &ResourceType, rv: u64, initial_events_end: bool) -> Bytes {
    let mut metadata = json!({"resourceVersion": rv.to_string()});
    if initial_events_end {
        metadata["annotations"] = json!({"k8s.io/initial-events-end": "true"});
    }
    let obj = json!({
        "apiVersion": rt.api_version(),
        "kind": rt.kind,
        "metadata": metadata,
    });
    event_line(rt, "BOOKMARK", &obj, Projection::Full)
}

/// An ERROR line carrying a `Status`, as the server ends a watch it cannot
/// serve (410 Expired for a resourceVersion that is too old).
pub(crate) fn error_line(error: &ApiError) -> Bytes {
    let mut line = serde_json::to_vec(&Event {
        kind: "ERROR",
        object: Item::Owned(error.to_status()),
    })
    .unwrap_or_default();
    line.push(b'\n');
    Bytes::from(line)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::Catalog;
    use k8s_openapi::api::core::v1::ConfigMap;
    use kube::core::WatchEvent;

    #[test]
    fn lines_parse_as_kube_watch_events() {
        let catalog = Catalog::new(&[]);
        let rt = catalog.get(catalog.find("", "v1", "configmaps").expect("configmaps"));
        let cm = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a", "resourceVersion": "3"}});
        let added: WatchEvent<ConfigMap> =
            serde_json::from_slice(&event_line(rt, "ADDED", &cm, Projection::Full))
                .expect("parses");
        assert!(matches!(added, WatchEvent::Added(c) if c.metadata.name.as_deref() == Some("a")));
        let bookmark: WatchEvent<ConfigMap> =
            serde_json::from_slice(&bookmark_line(rt, 7, true)).expect("parses");
        assert!(matches!(bookmark, WatchEvent::Bookmark(b)
            if b.metadata.resource_version == "7"
            && b.metadata.annotations.contains_key("k8s.io/initial-events-end")));
        let gone: WatchEvent<ConfigMap> = serde_json::from_slice(&error_line(&ApiError::expired(
            "too old resource version: 1 (5)",
        )))
        .expect("parses");
        assert!(matches!(gone, WatchEvent::Error(s) if s.code == 410));
    }
}
