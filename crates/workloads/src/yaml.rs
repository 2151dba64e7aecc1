//! A small YAML writer in the style of Go's `ghodss/yaml` (yaml.v2): keys
//! sorted, two-space indent, list items at their key's indent, strings
//! plain when that is unambiguous, else quoted as yaml.v2 quotes. Used for
//! the runtime's `agent.yaml` and `scaling.yaml`, so they read as Seldon
//! writes them.

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

/// A string as yaml.v2 writes it: plain when YAML reads it back as that
/// string, single-quoted when it only has characters plain style cannot
/// carry, double-quoted when it would read as another type (`"true"`,
/// `"1"`). Does not follow yaml.v2 for multi-line or non-printable strings
/// (yaml.v2: a literal block; here: double-quoted, the same value).
fn scalar(s: &str) -> String {
    if s.contains('\n') || s.chars().any(char::is_control) || resolves_to_other_type(s) {
        Value::String(s.to_owned()).to_string()
    } else if is_plain(s) {
        s.to_owned()
    } else {
        format!("'{}'", s.replace('\'', "''"))
    }
}

/// Plain scalars YAML 1.1 (yaml.v2) reads as booleans, nulls or numbers.
fn resolves_to_other_type(s: &str) -> bool {
    const RESERVED: [&str; 37] = [
        "", "~", "null", "Null", "NULL", "y", "Y", "yes", "Yes", "YES", "n", "N", "no", "No", "NO",
        "true", "True", "TRUE", "false", "False", "FALSE", "on", "On", "ON", "off", "Off", "OFF",
        ".inf", ".Inf", ".INF", "+.inf", "-.inf", "-.Inf", "-.INF", ".nan", ".NaN", ".NAN",
    ];
    if RESERVED.contains(&s) {
        return true;
    }
    let digits = s.replace('_', "");
    let unsigned = digits.trim_start_matches(['-', '+']);
    let radix = |prefix: &str, radix| {
        unsigned
            .strip_prefix(prefix)
            .is_some_and(|rest| i64::from_str_radix(rest, radix).is_ok())
    };
    digits
        .parse::<f64>()
        .is_ok_and(|_| !unsigned.starts_with(['i', 'I', 'n', 'N']))
        || radix("0x", 16)
        || radix("0b", 2)
        || radix("0o", 8)
}

/// Whether yaml.v2's emitter writes `s` plain in block context: no leading
/// or trailing space, no indicator first (`-`, `?`, `:` only when a space
/// follows), no `: ` or ` #` inside, not a document marker.
fn is_plain(s: &str) -> bool {
    let chars: Vec<char> = s.chars().collect();
    let (Some(first), Some(last)) = (chars.first(), chars.last()) else {
        return false;
    };
    if *first == ' ' || *last == ' ' || s.starts_with("---") || s.starts_with("...") {
        return false;
    }
    chars.iter().enumerate().all(|(i, &c)| {
        let followed_by_space = chars.get(i + 1).is_none_or(|n| *n == ' ');
        if i == 0 {
            match c {
                '#' | ',' | '[' | ']' | '{' | '}' | '&' | '*' | '!' | '|' | '>' | '\'' | '"'
                | '%' | '@' | '`' => false,
                '?' | ':' | '-' => !followed_by_space,
                _ => true,
            }
        } else {
            match c {
                ':' => !followed_by_space,
                '#' => chars[i - 1] != ' ',
                _ => true,
            }
        }
    })
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
            "rclone:\n  config:\n  - '{\"name\":\"s3\"}'\n  config_secrets:\n  - seldon-rclone-gs-public\n"
        );
        assert_eq!(to_string(&json!({})), "{}\n");
        assert_eq!(to_string(&json!({"rclone": {}})), "rclone: {}\n");
        assert_eq!(
            to_string(
                &json!({"models": {"enabled": true}, "pipelines": {"maxShardCountMultiplier": 4}})
            ),
            "models:\n  enabled: true\npipelines:\n  maxShardCountMultiplier: 4\n"
        );
        // yaml.v2 double-quotes what would read as another type, single-quotes
        // what plain style cannot carry.
        let items = json!({"a": ["yes", "1", "1_000", "0x1F", "1e3", ".inf", "x y", "it's", "1abc", "a\nb"]});
        assert_eq!(
            to_string(&items),
            "a:\n- \"yes\"\n- \"1\"\n- \"1_000\"\n- \"0x1F\"\n- \"1e3\"\n- \".inf\"\n- x y\n- it's\n- 1abc\n- \"a\\nb\"\n"
        );
        let quoted =
            json!({"a": ["- x", "a: b", "a #b", "'q'", " lead", "---", "a:b", "a#b", "-x"]});
        assert_eq!(
            to_string(&quoted),
            "a:\n- '- x'\n- 'a: b'\n- 'a #b'\n- '''q'''\n- ' lead'\n- '---'\n- a:b\n- a#b\n- -x\n"
        );
    }
}
