//! A block-style YAML writer for the JSON objects `migrate` produces.
//!
//! Strings are always double-quoted with JSON escapes (valid YAML double-quoted scalars), so
//! no value can be mistaken for a number, a boolean, `null` or a YAML indicator; keys stay
//! plain when they are unambiguous identifiers. The tests read every output back with the
//! project's own loader and compare the trees.

use serde_json::Value;

/// `value` (an object) as a block mapping at column 0, ending with a newline.
pub fn to_yaml(value: &Value) -> String {
    let mut out = String::new();
    match value {
        Value::Object(m) if !m.is_empty() => map(&mut out, m, 0),
        other => {
            out.push_str(&inline(other));
            out.push('\n');
        }
    }
    out
}

fn map(out: &mut String, m: &serde_json::Map<String, Value>, indent: usize) {
    for (k, v) in m {
        out.push_str(&" ".repeat(indent));
        out.push_str(&key(k));
        out.push(':');
        child(out, v, indent);
    }
}

/// The value after `key:` or `-`: inline for scalars and empty collections, else on the
/// following lines.
fn child(out: &mut String, v: &Value, indent: usize) {
    match v {
        Value::Object(m) if !m.is_empty() => {
            out.push('\n');
            map(out, m, indent + 2);
        }
        Value::Array(a) if !a.is_empty() => {
            out.push('\n');
            seq(out, a, indent + 2);
        }
        other => {
            out.push(' ');
            out.push_str(&inline(other));
            out.push('\n');
        }
    }
}

fn seq(out: &mut String, a: &[Value], indent: usize) {
    for v in a {
        out.push_str(&" ".repeat(indent));
        out.push('-');
        match v {
            // `- key: value` with the rest of the mapping aligned under the first key.
            Value::Object(m) if !m.is_empty() => {
                let mut first = true;
                for (k, v) in m {
                    if first {
                        out.push(' ');
                        first = false;
                    } else {
                        out.push_str(&" ".repeat(indent + 2));
                    }
                    out.push_str(&key(k));
                    out.push(':');
                    child(out, v, indent + 2);
                }
            }
            Value::Array(inner) if !inner.is_empty() => {
                out.push('\n');
                seq(out, inner, indent + 2);
            }
            other => {
                out.push(' ');
                out.push_str(&inline(other));
                out.push('\n');
            }
        }
    }
}

fn inline(v: &Value) -> String {
    match v {
        Value::Object(_) => "{}".into(),
        Value::Array(_) => "[]".into(),
        // Names, kinds and versions read better plain; `key` only lets through what YAML
        // cannot resolve to anything but the same string.
        Value::String(s) if plain(s) => s.clone(),
        // serde_json writes strings with JSON escapes, numbers and literals as YAML reads them.
        other => other.to_string(),
    }
}

/// A key: plain when it cannot be read as anything but that string, else quoted.
fn key(k: &str) -> String {
    if plain(k) {
        k.to_string()
    } else {
        Value::String(k.to_string()).to_string()
    }
}

/// Whether `k` can be written unquoted: an identifier-like word YAML resolves to itself.
fn plain(k: &str) -> bool {
    !k.is_empty()
        && k.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
        && k.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | '/'))
        && !matches!(
            k.to_ascii_lowercase().as_str(),
            "true" | "false" | "null" | "yes" | "no" | "on" | "off" | "y" | "n" | "nan" | "inf"
        )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::load::inputs::{add_source, Loaded};
    use serde_json::json;

    fn round_trip(v: Value) {
        let text = to_yaml(&v);
        let mut l = Loaded::default();
        add_source(&mut l, "t.yaml".into(), text.clone().into_bytes());
        assert!(l.problems.is_empty(), "{text}\n{:?}", l.problems);
        assert_eq!(l.documents.len(), 1, "{text}");
        assert_eq!(l.documents[0].json(), v, "{text}");
    }

    #[test]
    fn every_value_reads_back_unchanged() {
        round_trip(json!({
            "apiVersion": "extensions.istio.io/v1alpha1",
            "kind": "WasmPlugin",
            "metadata": {"name": "a", "labels": {"app.kubernetes.io/name": "x", "true": "no"}},
            "spec": {
                "priority": 10,
                "pluginConfig": {
                    "n": null, "b": true, "f": 1.5, "neg": -3, "empty": {}, "list": [],
                    "s": "yes", "num": "007", "colon": "a: b", "hash": "# x", "quote": "\"'",
                    "multi": "line1\nline2\ttab", "unicode": "é😀\u{7}",
                    "nested": [{"a": 1, "b": [1, [2, 3], {"c": "d"}]}, "x", [], {}],
                    "": "empty key", "1": "numeric key", "- dash": "k", "with space": 1
                }
            }
        }));
    }

    #[test]
    fn layout_is_block_style() {
        let text = to_yaml(&json!({"a": {"b": [{"c": 1, "d": 2}, "e", "1"]}}));
        assert_eq!(
            text,
            "a:\n  b:\n    - c: 1\n      d: 2\n    - e\n    - \"1\"\n"
        );
    }
}
