//! Stored objects are plain `serde_json::Value`s; these helpers read and
//! write the `metadata` fields the server owns (name, namespace, uid,
//! resourceVersion, generation, timestamps, finalizers, labels), compare
//! objects the way generation tracking needs, and mint uids, generated
//! names and timestamps.

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use k8s_openapi::jiff::Timestamp;
use serde_json::{Map, Value};

/// `metadata`, if the object has one.
pub(crate) fn meta(obj: &Value) -> Option<&Map<String, Value>> {
    obj.get("metadata").and_then(Value::as_object)
}

/// `metadata`, created when missing (and replaced when not an object).
pub(crate) fn meta_mut(obj: &mut Value) -> &mut Map<String, Value> {
    if !obj.is_object() {
        *obj = Value::Object(Map::new());
    }
    let Value::Object(map) = obj else {
        unreachable!("made an object above")
    };
    let entry = map
        .entry("metadata")
        .or_insert_with(|| Value::Object(Map::new()));
    if !entry.is_object() {
        *entry = Value::Object(Map::new());
    }
    match entry {
        Value::Object(meta) => meta,
        _ => unreachable!("made an object above"),
    }
}

fn meta_str<'a>(obj: &'a Value, key: &str) -> &'a str {
    meta(obj)
        .and_then(|m| m.get(key))
        .and_then(Value::as_str)
        .unwrap_or("")
}

pub(crate) fn name(obj: &Value) -> &str {
    meta_str(obj, "name")
}

pub(crate) fn namespace(obj: &Value) -> &str {
    meta_str(obj, "namespace")
}

pub(crate) fn resource_version(obj: &Value) -> &str {
    meta_str(obj, "resourceVersion")
}

pub(crate) fn uid(obj: &Value) -> &str {
    meta_str(obj, "uid")
}

pub(crate) fn generation(obj: &Value) -> i64 {
    meta(obj)
        .and_then(|m| m.get("generation"))
        .and_then(Value::as_i64)
        .unwrap_or(0)
}

pub(crate) fn labels(obj: &Value) -> Option<&Map<String, Value>> {
    meta(obj)
        .and_then(|m| m.get("labels"))
        .and_then(Value::as_object)
}

pub(crate) fn finalizers(obj: &Value) -> Vec<&str> {
    meta(obj)
        .and_then(|m| m.get("finalizers"))
        .and_then(Value::as_array)
        .map(|f| f.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default()
}

pub(crate) fn is_deleting(obj: &Value) -> bool {
    meta(obj).is_some_and(|m| m.get("deletionTimestamp").is_some_and(|t| !t.is_null()))
}

/// Sets (or with `None` removes) a metadata field.
pub(crate) fn set_meta(obj: &mut Value, key: &str, value: Option<Value>) {
    let meta = meta_mut(obj);
    match value {
        Some(value) => {
            meta.insert(key.to_string(), value);
        }
        None => {
            meta.remove(key);
        }
    }
}

/// Copies `key` of `from`'s metadata onto `to` (removing it when `from`
/// lacks it): for fields clients cannot change.
pub(crate) fn keep_meta(to: &mut Value, from: &Value, key: &str) {
    set_meta(to, key, meta(from).and_then(|m| m.get(key)).cloned());
}

/// Sets a top-level field (or removes it with `None`).
pub(crate) fn set_field(obj: &mut Value, key: &str, value: Option<Value>) {
    if let Value::Object(map) = obj {
        match value {
            Some(value) => {
                map.insert(key.to_string(), value);
            }
            None => {
                map.remove(key);
            }
        }
    }
}

/// Whether two objects differ outside `metadata` (and outside `status`
/// when `ignore_status`): the change that bumps `metadata.generation`.
/// `apiVersion` and `kind` are ignored too.
pub(crate) fn spec_changed(old: &Value, new: &Value, ignore_status: bool) -> bool {
    let skip = |key: &str| {
        matches!(key, "metadata" | "apiVersion" | "kind") || (ignore_status && key == "status")
    };
    let fields = |obj: &Value| -> Vec<(String, Value)> {
        obj.as_object()
            .map(|m| {
                m.iter()
                    .filter(|(k, _)| !skip(k))
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect()
            })
            .unwrap_or_default()
    };
    fields(old) != fields(new)
}

/// A DNS-1123 subdomain (most kinds' names), or a DNS-1123 label when
/// `label` (namespaces, services). Returns what is wrong.
pub(crate) fn check_name(name: &str, label: bool) -> Result<(), String> {
    let max = if label { 63 } else { 253 };
    let alnum = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit();
    let ok = !name.is_empty()
        && name.len() <= max
        && name.starts_with(alnum)
        && name.ends_with(alnum)
        && name
            .chars()
            .all(|c| alnum(c) || c == '-' || (c == '.' && !label));
    if ok {
        Ok(())
    } else if label {
        Err(format!(
            "Invalid value: {name:?}: a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (at most 63 characters)"
        ))
    } else {
        Err(format!(
            "Invalid value: {name:?}: a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (at most 253 characters)"
        ))
    }
}

/// The current time as the API server writes it (`2025-01-02T03:04:05Z`).
pub(crate) fn now() -> Value {
    serde_json::to_value(Time(Timestamp::now())).unwrap_or(Value::Null)
}

/// 64 random bits: `RandomState` keys are random per process, and the
/// counter makes every call distinct.
fn random_u64() -> u64 {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let mut hasher = RandomState::new().build_hasher();
    hasher.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
    hasher.finish()
}

/// A random UUID (version 4 layout).
pub(crate) fn new_uid() -> String {
    let hi = random_u64();
    let lo = random_u64();
    let bytes: Vec<u8> = hi
        .to_be_bytes()
        .into_iter()
        .chain(lo.to_be_bytes())
        .collect();
    let mut b = [0_u8; 16];
    b.copy_from_slice(&bytes);
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}

/// The 5-character suffix `generateName` gets, from the real server's
/// alphabet (no vowels, no look-alike digits).
pub(crate) fn name_suffix() -> String {
    const ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
    let mut n = random_u64();
    (0..5)
        .map(|_| {
            let c = ALPHABET[(n % ALPHABET.len() as u64) as usize];
            n /= ALPHABET.len() as u64;
            char::from(c)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn generation_ignores_metadata_and_status() {
        let old = json!({"metadata": {"labels": {"a": "1"}}, "spec": {"x": 1}, "status": {"s": 1}});
        let relabelled =
            json!({"metadata": {"labels": {"a": "2"}}, "spec": {"x": 1}, "status": {"s": 1}});
        let restatused = json!({"metadata": {}, "spec": {"x": 1}, "status": {"s": 2}});
        let respecced = json!({"metadata": {}, "spec": {"x": 2}, "status": {"s": 1}});
        assert!(!spec_changed(&old, &relabelled, true));
        assert!(!spec_changed(&old, &restatused, true));
        assert!(spec_changed(&old, &restatused, false));
        assert!(spec_changed(&old, &respecced, true));
        assert!(spec_changed(
            &old,
            &json!({"metadata": {}, "data": {}}),
            true
        ));
    }

    #[test]
    fn names() {
        assert!(check_name("model-1.v2", false).is_ok());
        assert!(check_name("model-1.v2", true).is_err());
        assert!(check_name("-x", false).is_err());
        assert!(check_name("Upper", false).is_err());
        assert!(check_name("", false).is_err());
    }

    #[test]
    fn uids_and_suffixes_differ() {
        let a = new_uid();
        assert_eq!(a.len(), 36);
        assert_ne!(a, new_uid());
        assert_eq!(name_suffix().len(), 5);
    }

    #[test]
    fn meta_mut_repairs_bad_shapes() {
        let mut v = json!({"metadata": 3});
        meta_mut(&mut v).insert("name".into(), json!("x"));
        assert_eq!(name(&v), "x");
        let mut s = json!("string");
        set_meta(&mut s, "name", Some(json!("y")));
        assert_eq!(name(&s), "y");
    }
}
