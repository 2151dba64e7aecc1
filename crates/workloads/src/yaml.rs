//! A small YAML writer in the style of Go's `ghodss/yaml` (yaml.v2): keys
//! sorted, two-space indent, list items at their key's indent, strings
//! plain when that is unambiguous. Used for the runtime's `agent.yaml` and
//! `scaling.yaml`, so they read as Seldon writes them. A string yaml.v2
//! would quote is double-quoted here (same value, maybe other bytes).

use serde_json::Value;

/// `value` as a YAML document.
pub(crate) fn to_string(value: &Value) -> String {
    let mut out = String::new();
    match value {
        Value::Object(map) if !map.is_empty() => write_map(&mut out, value, 0),
        other => {
            out.push_str(&inline(other));
            out.push('\n');
        }
    }
    out
}

fn write_map(out: &mut String, value: &Value, indent: usize) {
    let Value::Object(map) = value else {
        return;
    };
    let mut keys: Vec<&String> = map.keys().collect();
    keys.sort();
    for key in keys {
        let Some(child) = map.get(key) else {
            continue;
        };
        out.push_str(&" ".repeat(indent));
        out.push_str(&scalar(key));
        out.push(':');
        match child {
            Value::Object(m) if !m.is_empty() => {
                out.push('\n');
                write_map(out, child, indent + 2);
            }
            Value::Array(items) if !items.is_empty() => {
                out.push('\n');
                for item in items {
                    out.push_str(&" ".repeat(indent));
                    out.push_str("- ");
                    out.push_str(&inline(item));
                    out.push('\n');
                }
            }
            other => {
                out.push(' ');
                out.push_str(&inline(other));
                out.push('\n');
            }
        }
    }
}

/// A value on one line: scalars, or flow style (`{}`, `[]`, JSON) for
/// collections.
fn inline(value: &Value) -> String {
    match value {
        Value::Null => "null".to_owned(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => scalar(s),
        Value::Object(m) if m.is_empty() => "{}".to_owned(),
        Value::Array(a) if a.is_empty() => "[]".to_owned(),
        other => other.to_string(),
    }
}

/// A string plain if YAML reads it back as that string, else double-quoted.
fn scalar(s: &str) -> String {
    if is_plain(s) {
        s.to_owned()
    } else {
        Value::String(s.to_owned()).to_string()
    }
}

fn is_plain(s: &str) -> bool {
    const RESERVED: [&str; 22] = [
        "y", "Y", "yes", "Yes", "YES", "n", "N", "no", "No", "NO", "true", "True", "TRUE", "false",
        "False", "FALSE", "on", "On", "ON", "off", "Off", "OFF",
    ];
    let Some(first) = s.chars().next() else {
        return false;
    };
    (first.is_ascii_alphabetic() || first == '/' || first == '_')
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '/'))
        && !RESERVED.contains(&s)
        && !matches!(s, "null" | "Null" | "NULL" | "~")
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::to_string;

    #[test]
    fn writes_like_yaml_v2() {
        let value = json!({
            "rclone": {"config_secrets": ["seldon-rclone-gs-public"], "config": ["{\"name\":\"s3\"}"]},
        });
        assert_eq!(
            to_string(&value),
            "rclone:\n  config:\n  - \"{\\\"name\\\":\\\"s3\\\"}\"\n  config_secrets:\n  - seldon-rclone-gs-public\n"
        );
        assert_eq!(to_string(&json!({})), "{}\n");
        assert_eq!(to_string(&json!({"rclone": {}})), "rclone: {}\n");
        assert_eq!(
            to_string(
                &json!({"models": {"enabled": true}, "pipelines": {"maxShardCountMultiplier": 4}})
            ),
            "models:\n  enabled: true\npipelines:\n  maxShardCountMultiplier: 4\n"
        );
        assert_eq!(
            to_string(&json!({"a": ["yes", "1", "x y"]})),
            "a:\n- \"yes\"\n- \"1\"\n- \"x y\"\n"
        );
    }
}
