//! Label and field selectors, and the `Filter` (namespace + selectors)
//! that lists and watches apply to every object.
//!
//! Labels: the full set-based grammar (`a=b`, `a==b`, `a!=b`, `a in (x,y)`,
//! `a notin (x,y)`, `a`, `!a`, comma-separated). Fields: `=`, `==` and `!=`
//! on `metadata.name` and `metadata.namespace` for every kind; built-in
//! kinds also accept any other dotted path, compared as a string (the real
//! server has a fixed list per kind); custom resources reject other fields
//! with 400, as the real server does without `selectableFields`.

use serde_json::{Map, Value};

use super::object;

#[derive(Clone, Debug, PartialEq, Eq)]
enum LabelRequirement {
    Equals(String, String),
    NotEquals(String, String),
    In(String, Vec<String>),
    NotIn(String, Vec<String>),
    Exists(String),
    NotExists(String),
}

/// A parsed label selector; the empty selector matches everything.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct LabelSelector {
    requirements: Vec<LabelRequirement>,
}

impl LabelSelector {
    pub(crate) fn parse(text: &str) -> Result<Self, String> {
        let mut requirements = Vec::new();
        for term in split_top_level(text) {
            let term = term.trim();
            if term.is_empty() {
                continue;
            }
            requirements.push(parse_label_term(term)?);
        }
        Ok(Self { requirements })
    }

    pub(crate) fn matches(&self, labels: Option<&Map<String, Value>>) -> bool {
        let get = |key: &str| labels.and_then(|l| l.get(key)).and_then(Value::as_str);
        self.requirements.iter().all(|r| match r {
            LabelRequirement::Equals(k, v) => get(k) == Some(v.as_str()),
            LabelRequirement::NotEquals(k, v) => get(k) != Some(v.as_str()),
            LabelRequirement::In(k, vs) => get(k).is_some_and(|x| vs.iter().any(|v| v == x)),
            LabelRequirement::NotIn(k, vs) => !get(k).is_some_and(|x| vs.iter().any(|v| v == x)),
            LabelRequirement::Exists(k) => get(k).is_some(),
            LabelRequirement::NotExists(k) => get(k).is_none(),
        })
    }
}

/// Splits on commas that are not inside parentheses.
fn split_top_level(text: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let mut depth = 0_i32;
    let mut start = 0;
    for (i, c) in text.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => depth -= 1,
            ',' if depth == 0 => {
                parts.push(&text[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&text[start..]);
    parts
}

fn parse_label_term(term: &str) -> Result<LabelRequirement, String> {
    if let Some(key) = term.strip_prefix('!') {
        return Ok(LabelRequirement::NotExists(label_key(key.trim())?));
    }
    if let Some(open) = term.find('(') {
        let close = term
            .rfind(')')
            .filter(|c| *c > open && term[c + 1..].trim().is_empty())
            .ok_or_else(|| format!("unable to parse requirement {term:?}: unclosed '('"))?;
        let head = term[..open].trim_end();
        let values = term[open + 1..close]
            .split(',')
            .map(|v| label_value(v.trim()))
            .collect::<Result<Vec<_>, _>>()?;
        if let Some(key) = head.strip_suffix("notin")
            && key.ends_with(char::is_whitespace)
        {
            return Ok(LabelRequirement::NotIn(label_key(key.trim_end())?, values));
        }
        if let Some(key) = head.strip_suffix("in")
            && key.ends_with(char::is_whitespace)
        {
            return Ok(LabelRequirement::In(label_key(key.trim_end())?, values));
        }
        return Err(format!(
            "unable to parse requirement {term:?}: expected 'in' or 'notin' before '('"
        ));
    }
    if let Some((key, value)) = term.split_once("!=") {
        return Ok(LabelRequirement::NotEquals(
            label_key(key.trim())?,
            label_value(value.trim())?,
        ));
    }
    if let Some((key, value)) = term.split_once("==").or_else(|| term.split_once('=')) {
        return Ok(LabelRequirement::Equals(
            label_key(key.trim())?,
            label_value(value.trim())?,
        ));
    }
    Ok(LabelRequirement::Exists(label_key(term)?))
}

fn label_key(key: &str) -> Result<String, String> {
    let (prefix, name) = match key.split_once('/') {
        Some((prefix, name)) => (Some(prefix), name),
        None => (None, key),
    };
    let name_ok = !name.is_empty() && name.len() <= 63 && name.chars().all(label_char);
    let prefix_ok = prefix.is_none_or(|p| {
        !p.is_empty()
            && p.len() <= 253
            && p.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.')
    });
    if name_ok && prefix_ok {
        Ok(key.to_string())
    } else {
        Err(format!("invalid label key {key:?}"))
    }
}

fn label_value(value: &str) -> Result<String, String> {
    if value.len() <= 63 && value.chars().all(label_char) {
        Ok(value.to_string())
    } else {
        Err(format!("invalid label value {value:?}"))
    }
}

fn label_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')
}

#[derive(Clone, Debug, PartialEq, Eq)]
struct FieldRequirement {
    path: String,
    value: String,
    equal: bool,
}

/// A parsed field selector; the empty selector matches everything.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct FieldSelector {
    requirements: Vec<FieldRequirement>,
}

impl FieldSelector {
    /// `custom`: the kind is a custom resource, which only supports
    /// `metadata.name` and `metadata.namespace`.
    pub(crate) fn parse(text: &str, custom: bool) -> Result<Self, String> {
        let mut requirements = Vec::new();
        for term in text.split(',').map(str::trim).filter(|t| !t.is_empty()) {
            let (path, value, equal) = if let Some((p, v)) = term.split_once("!=") {
                (p, v, false)
            } else if let Some((p, v)) = term.split_once("==").or_else(|| term.split_once('=')) {
                (p, v, true)
            } else {
                return Err(format!("invalid selector: {term:?}; expected field=value"));
            };
            let path = path.trim();
            let known = matches!(path, "metadata.name" | "metadata.namespace");
            if path.is_empty() || (custom && !known) {
                return Err(format!("field label not supported: {path}"));
            }
            requirements.push(FieldRequirement {
                path: path.to_string(),
                value: value.trim().to_string(),
                equal,
            });
        }
        Ok(Self { requirements })
    }

    pub(crate) fn matches(&self, obj: &Value) -> bool {
        self.requirements.iter().all(|r| {
            let actual = field_value(obj, &r.path);
            (actual == r.value) == r.equal
        })
    }
}

/// A field as a string: missing and null are "", numbers and booleans
/// print as JSON does.
fn field_value(obj: &Value, path: &str) -> String {
    let mut current = obj;
    for part in path.split('.') {
        match current.get(part) {
            Some(next) => current = next,
            None => return String::new(),
        }
    }
    match current {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// What a list or watch selects: a namespace (or all) and two selectors.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Filter {
    pub namespace: Option<String>,
    pub labels: LabelSelector,
    pub fields: FieldSelector,
}

impl Filter {
    pub(crate) fn matches(&self, obj: &Value) -> bool {
        let in_namespace = self
            .namespace
            .as_deref()
            .is_none_or(|ns| object::namespace(obj) == ns);
        in_namespace && self.labels.matches(object::labels(obj)) && self.fields.matches(obj)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn labels(value: Value) -> Map<String, Value> {
        value.as_object().cloned().unwrap_or_default()
    }

    #[test]
    fn equality_and_inequality() {
        let s = LabelSelector::parse("a=b,c!=d").expect("parses");
        assert!(s.matches(Some(&labels(json!({"a": "b"})))));
        assert!(s.matches(Some(&labels(json!({"a": "b", "c": "x"})))));
        assert!(!s.matches(Some(&labels(json!({"a": "b", "c": "d"})))));
        assert!(!s.matches(None));
        assert!(LabelSelector::parse("").expect("empty").matches(None));
    }

    #[test]
    fn set_based() {
        let s =
            LabelSelector::parse("env in (prod, dev),tier notin (db),app,!legacy").expect("parses");
        assert!(s.matches(Some(&labels(json!({"env": "dev", "app": "x"})))));
        assert!(!s.matches(Some(&labels(
            json!({"env": "dev", "app": "x", "tier": "db"})
        ))));
        assert!(!s.matches(Some(&labels(
            json!({"env": "dev", "app": "x", "legacy": "1"})
        ))));
        assert!(!s.matches(Some(&labels(json!({"env": "qa", "app": "x"})))));
        assert!(LabelSelector::parse("a in (x").is_err());
        assert!(LabelSelector::parse("a=b c").is_err());
        assert!(LabelSelector::parse("x.io/a==b").is_ok());
    }

    #[test]
    fn fields() {
        let obj = json!({"metadata": {"name": "m1", "namespace": "ns"}, "type": "Opaque"});
        let f = FieldSelector::parse("metadata.name=m1", true).expect("parses");
        assert!(f.matches(&obj));
        assert!(
            !FieldSelector::parse("metadata.name!=m1", true)
                .expect("parses")
                .matches(&obj)
        );
        assert!(FieldSelector::parse("spec.x=1", true).is_err());
        assert!(
            FieldSelector::parse("type=Opaque", false)
                .expect("parses")
                .matches(&obj)
        );
        assert!(FieldSelector::parse("nonsense", false).is_err());
    }
}
