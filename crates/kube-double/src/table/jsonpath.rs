//! The JSONPath subset CRD printer columns use, evaluated as Kubernetes'
//! `jsonpath` package does on one object: fields (`.a.b`, `['a.b']`),
//! indexes (`[0]`, `[-1]`), wildcards (`[*]`, `.*`) and filters
//! (`[?(@.type=='Ready')]`, `==` or `!=` against a string, number or
//! boolean). A path outside the subset is an error, reported when the
//! catalogue is built; a path that finds nothing yields no values.

use serde_json::Value;

#[derive(Clone, Debug, PartialEq)]
enum Step {
    Field(String),
    Index(i64),
    Wildcard,
    Filter {
        path: Vec<String>,
        equal: bool,
        value: Value,
    },
}

/// A parsed path.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct JsonPath(Vec<Step>);

impl JsonPath {
    pub(crate) fn parse(text: &str) -> Result<Self, String> {
        let text = text.trim();
        let text = text
            .strip_prefix('{')
            .and_then(|t| t.strip_suffix('}'))
            .unwrap_or(text);
        let text = text.strip_prefix('$').unwrap_or(text);
        let mut steps = Vec::new();
        let mut rest = text;
        while !rest.is_empty() {
            if let Some(after) = rest.strip_prefix('.') {
                let end = after.find(['.', '[']).unwrap_or(after.len());
                let name = &after[..end];
                match name {
                    "" => return Err(format!("empty field in {text:?}")),
                    "*" => steps.push(Step::Wildcard),
                    _ => steps.push(Step::Field(name.to_string())),
                }
                rest = &after[end..];
            } else if let Some(after) = rest.strip_prefix('[') {
                let end =
                    closing_bracket(after).ok_or_else(|| format!("unclosed [ in {text:?}"))?;
                steps.push(bracket(&after[..end]).map_err(|e| format!("{e} in {text:?}"))?);
                rest = &after[end + 1..];
            } else {
                return Err(format!("unexpected {rest:?} in {text:?}"));
            }
        }
        Ok(Self(steps))
    }

    /// Every value the path finds in `obj`, in document order.
    pub(crate) fn find<'a>(&self, obj: &'a Value) -> Vec<&'a Value> {
        let mut current = vec![obj];
        for step in &self.0 {
            let mut next = Vec::new();
            for value in current {
                match step {
                    Step::Field(name) => next.extend(value.get(name.as_str())),
                    Step::Index(i) => {
                        if let Some(items) = value.as_array() {
                            let at = if *i < 0 {
                                items.len().checked_sub(i.unsigned_abs() as usize)
                            } else {
                                Some(*i as usize)
                            };
                            next.extend(at.and_then(|at| items.get(at)));
                        }
                    }
                    Step::Wildcard => match value {
                        Value::Array(items) => next.extend(items),
                        Value::Object(map) => next.extend(map.values()),
                        _ => {}
                    },
                    Step::Filter {
                        path,
                        equal,
                        value: wanted,
                    } => {
                        if let Some(items) = value.as_array() {
                            next.extend(items.iter().filter(|item| {
                                let found = path.iter().try_fold(*item, |v, f| v.get(f.as_str()));
                                found.is_some_and(|found| (found == wanted) == *equal)
                            }));
                        }
                    }
                }
            }
            current = next;
        }
        current
    }
}

/// The index of the `]` closing a bracket, skipping quoted text.
fn closing_bracket(text: &str) -> Option<usize> {
    let mut quote = None;
    for (i, c) in text.char_indices() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '\'' | '"') => quote = Some(c),
            (None, ']') => return Some(i),
            (None, _) => {}
        }
    }
    None
}

fn unquote(text: &str) -> Option<&str> {
    let text = text.trim();
    text.strip_prefix('\'')
        .and_then(|t| t.strip_suffix('\''))
        .or_else(|| text.strip_prefix('"').and_then(|t| t.strip_suffix('"')))
}

fn bracket(inner: &str) -> Result<Step, String> {
    let inner = inner.trim();
    if inner == "*" {
        return Ok(Step::Wildcard);
    }
    if let Some(name) = unquote(inner) {
        return Ok(Step::Field(name.to_string()));
    }
    if let Ok(i) = inner.parse::<i64>() {
        return Ok(Step::Index(i));
    }
    let filter = inner
        .strip_prefix("?(")
        .and_then(|f| f.strip_suffix(')'))
        .ok_or_else(|| format!("unsupported [{inner}]"))?;
    let (left, right, equal) = if let Some((l, r)) = filter.split_once("!=") {
        (l, r, false)
    } else if let Some((l, r)) = filter.split_once("==") {
        (l, r, true)
    } else {
        return Err(format!("unsupported filter {filter:?}"));
    };
    let path = left
        .trim()
        .strip_prefix("@.")
        .ok_or_else(|| format!("filter {filter:?} must test @.field"))?;
    let value = match unquote(right) {
        Some(s) => Value::String(s.to_string()),
        None => serde_json::from_str(right.trim())
            .map_err(|_| format!("unsupported value in filter {filter:?}"))?,
    };
    Ok(Step::Filter {
        path: path.split('.').map(str::to_string).collect(),
        equal,
        value,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn printer_column_paths() {
        let obj = json!({
            "spec": {"replicas": 2, "a.b": "dotted"},
            "status": {"conditions": [
                {"type": "ModelReady", "status": "True"},
                {"type": "Ready", "status": "False", "message": "waiting"},
            ]},
        });
        let find = |path: &str| -> Vec<Value> {
            JsonPath::parse(path)
                .expect("parses")
                .find(&obj)
                .into_iter()
                .cloned()
                .collect()
        };
        assert_eq!(find(".spec.replicas"), [json!(2)]);
        assert_eq!(
            find(".status.conditions[?(@.type=='Ready')].status"),
            [json!("False")]
        );
        assert_eq!(
            find(".status.conditions[?(@.type!=\"Ready\")].type"),
            [json!("ModelReady")]
        );
        assert_eq!(
            find(".status.conditions[*].type"),
            [json!("ModelReady"), json!("Ready")]
        );
        assert_eq!(find(".status.conditions[-1].message"), [json!("waiting")]);
        assert_eq!(find(".spec['a.b']"), [json!("dotted")]);
        assert!(find(".status.missing").is_empty());
        assert!(JsonPath::parse(".a[?(x)]").is_err());
        assert!(JsonPath::parse(".a[").is_err());
    }
}
