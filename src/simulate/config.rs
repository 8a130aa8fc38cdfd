//! The configuration text a plugin receives, per mesh version.
//!
//! v2.0 delivers the v1alpha1 string as is. v2.1/v2.2 convert to v1 and back: istiod
//! `json.Marshal`s the object (Go: keys sorted, `<`, `>`, `&` escaped), an absent config
//! becomes the text `null`, and a v1alpha1 string that is not a JSON object travels raw
//! (`raw_v1alpha1_config`).

use crate::model::{Extension, ExtensionConfig, MeshVersion};
use serde_json::Value;

/// The configuration string the proxy hands to `proxy_on_configure` for `ext`.
pub fn configuration_for(ext: &Extension, version: MeshVersion) -> String {
    deliver(&ext.config, version)
}

/// [`configuration_for`] on the config alone.
pub fn deliver(config: &ExtensionConfig, version: MeshVersion) -> String {
    let v20 = version <= MeshVersion::V2_0;
    match config {
        ExtensionConfig::Absent => {
            if v20 {
                String::new()
            } else {
                "null".into()
            }
        }
        ExtensionConfig::Text(s) if v20 => s.clone(),
        ExtensionConfig::Text(s) => {
            if s.is_empty() {
                return "null".into();
            }
            match serde_json::from_str::<Value>(s) {
                Ok(v @ Value::Object(_)) => go_json(&v),
                _ => s.clone(),
            }
        }
        ExtensionConfig::Object(v) | ExtensionConfig::Invalid(v) => {
            if let Some(Value::String(raw)) = v.get("raw_v1alpha1_config") {
                if !v20 {
                    return raw.clone();
                }
            }
            go_json(v)
        }
    }
}

/// JSON text as Go's `encoding/json` writes it: map keys sorted, no spaces, HTML-sensitive
/// characters escaped.
pub fn go_json(v: &Value) -> String {
    fn sorted(v: &Value) -> Value {
        match v {
            Value::Object(m) => {
                let mut keys: Vec<&String> = m.keys().collect();
                keys.sort();
                Value::Object(
                    keys.into_iter()
                        .map(|k| (k.clone(), sorted(&m[k])))
                        .collect(),
                )
            }
            Value::Array(a) => Value::Array(a.iter().map(sorted).collect()),
            other => other.clone(),
        }
    }
    serde_json::to_string(&sorted(v))
        .unwrap_or_else(|_| "null".into())
        .replace('<', "\\u003c")
        .replace('>', "\\u003e")
        .replace('&', "\\u0026")
        .replace('\u{2028}', "\\u2028")
        .replace('\u{2029}', "\\u2029")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn per_version_delivery() {
        let v21 = MeshVersion::V2_1;
        assert_eq!(deliver(&ExtensionConfig::Absent, MeshVersion::V2_0), "");
        assert_eq!(deliver(&ExtensionConfig::Absent, v21), "null");
        assert_eq!(
            deliver(&ExtensionConfig::Text("hello".into()), MeshVersion::V2_0),
            "hello"
        );
        assert_eq!(
            deliver(&ExtensionConfig::Text("hello".into()), v21),
            "hello"
        );
        assert_eq!(
            deliver(&ExtensionConfig::Text(r#"{"b":1, "a":"x"}"#.into()), v21),
            r#"{"a":"x","b":1}"#
        );
        assert_eq!(
            deliver(&ExtensionConfig::Text("[1]".into()), MeshVersion::V2_2),
            "[1]"
        );
        assert_eq!(
            deliver(
                &ExtensionConfig::Object(json!({"z": {"y": 1, "x": "<&>"}})),
                v21
            ),
            r#"{"z":{"x":"\u003c\u0026\u003e","y":1}}"#
        );
        assert_eq!(
            deliver(
                &ExtensionConfig::Object(json!({"raw_v1alpha1_config": "plain"})),
                v21
            ),
            "plain"
        );
    }
}
