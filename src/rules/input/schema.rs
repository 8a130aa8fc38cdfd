//! MX103/MX104: resources against their schemas.
//!
//! Schemas live in `rules/schemas/`. An `additionalProperties` violation is a field the API
//! server would prune (MX104, warning); every other violation is MX103.

use super::{kind_of, resource_label};
use crate::diag::{Diagnostic, Location};
use crate::load::Document;
use crate::model::MeshVersion;
use crate::rules::registry::{Facts, Stage, Unit};
use crate::rules::RuleId;
use jsonschema::error::{TypeKind, ValidationErrorKind};
use jsonschema::Validator;
use std::collections::HashMap;
use std::sync::{Arc, OnceLock};

pub(crate) struct Schema;

impl Unit for Schema {
    fn ids(&self) -> &'static [RuleId] {
        &[RuleId::MX103, RuleId::MX104]
    }

    fn stage(&self) -> Stage {
        Stage::Documents
    }

    fn check(&self, facts: &Facts, out: &mut Vec<Diagnostic>) {
        check_schemas(facts, out);
    }
}

/// The schema file for a kind/apiVersion on a mesh version.
fn schema_file(kind: &str, api: &str, version: MeshVersion) -> Option<&'static str> {
    Some(match (kind, api) {
        ("ServiceMeshExtension", "maistra.io/v1alpha1") if version == MeshVersion::V2_0 => {
            "servicemeshextension.v1alpha1-v2.0.json"
        }
        ("ServiceMeshExtension", "maistra.io/v1alpha1") => "servicemeshextension.v1alpha1.json",
        ("ServiceMeshExtension", "maistra.io/v1") => "servicemeshextension.v1.json",
        ("ServiceMeshControlPlane", "maistra.io/v2") => "servicemeshcontrolplane.v2.json",
        ("ServiceMeshMemberRoll", "maistra.io/v1") => "servicemeshmemberroll.v1.json",
        ("ServiceMeshMember", "maistra.io/v1") => "servicemeshmember.v1.json",
        ("WasmPlugin", "extensions.istio.io/v1alpha1") => "wasmplugin.v1alpha1.json",
        ("Istio", "sailoperator.io/v1" | "sailoperator.io/v1alpha1") => "sail.istio.v1.json",
        ("IstioRevision", "sailoperator.io/v1" | "sailoperator.io/v1alpha1") => {
            "sail.istiorevision.v1.json"
        }
        ("IstioOperator", "install.istio.io/v1alpha1") => "istiooperator.v1alpha1.json",
        _ => return None,
    })
}

/// Compiled validators by schema file, built once. The embedded schemas are tested, so a
/// schema that does not compile is a build bug.
pub(crate) fn validator(file: &str) -> Option<&'static Validator> {
    static CACHE: OnceLock<HashMap<&'static str, Validator>> = OnceLock::new();
    CACHE
        .get_or_init(|| {
            crate::data::files_under("schemas")
                .filter(|(p, _)| p.ends_with(".json"))
                .map(|(p, text)| {
                    let schema: serde_json::Value =
                        serde_json::from_str(text).unwrap_or_else(|e| panic!("rules/{p}: {e}"));
                    let v = jsonschema::validator_for(&schema)
                        .unwrap_or_else(|e| panic!("rules/{p}: {e}"));
                    (p.trim_start_matches("schemas/"), v)
                })
                .collect()
        })
        .get(file)
}

/// Validates `instance` (the JSON of `doc`, or of a file inside an image) and returns
/// findings located through `locate` (JSON pointer → location; `true` = the key).
pub(crate) fn validate(
    validator: &Validator,
    instance: &serde_json::Value,
    locate: &dyn Fn(&str, bool) -> Location,
    resource: Option<&str>,
) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    for err in validator.iter_errors(instance) {
        let path = err.instance_path().as_str().to_string();
        let (rule, message, at) = match err.kind() {
            ValidationErrorKind::AdditionalProperties { unexpected } => {
                for field in unexpected {
                    let ptr = format!("{path}/{}", field.replace('~', "~0").replace('/', "~1"));
                    let d = Diagnostic::new(
                        RuleId::MX104,
                        format!("unknown field `{field}` at `{}`: the API server prunes it, so it has no effect", display_path(&path)),
                    )
                    .at(locate(&ptr, true))
                    .help("check the spelling and the API version; remove the field if it is not needed");
                    out.push(match resource {
                        Some(r) => d.resource(r),
                        None => d,
                    });
                }
                continue;
            }
            ValidationErrorKind::Required { property } => {
                let name = property.as_str().unwrap_or("?");
                (
                    RuleId::MX103,
                    format!(
                        "`{}` is missing the required field `{name}`",
                        display_path(&path)
                    ),
                    locate(&path, true),
                )
            }
            ValidationErrorKind::Type { kind } => {
                let expected = match kind {
                    TypeKind::Single(t) => t.to_string(),
                    TypeKind::Multiple(set) => set
                        .iter()
                        .map(|t| t.to_string())
                        .filter(|t| t != "null")
                        .collect::<Vec<_>>()
                        .join(" or "),
                };
                let shown = match err.instance().as_ref() {
                    serde_json::Value::String(s) => format!("the string `{s}`"),
                    serde_json::Value::Object(_) => "an object".to_string(),
                    serde_json::Value::Array(_) => "a list".to_string(),
                    other => format!("`{other}`"),
                };
                (
                    RuleId::MX103,
                    format!(
                        "`{}` must be of type {expected}, not {shown}",
                        display_path(&path)
                    ),
                    // A block mapping or list starts on the next line: point at its key.
                    locate(
                        &path,
                        err.instance().is_object() || err.instance().is_array(),
                    ),
                )
            }
            _ => (
                RuleId::MX103,
                format!("`{}`: {}", display_path(&path), err.masked()),
                locate(&path, false),
            ),
        };
        let mut d = Diagnostic::new(rule, message).at(at);
        // Unquoted digits (a digest, a version) or yes/no/true read as a number or a boolean.
        if let ValidationErrorKind::Type { kind } = err.kind() {
            let wants_text = match kind {
                TypeKind::Single(t) => *t == jsonschema::JsonType::String,
                TypeKind::Multiple(set) => set.contains(jsonschema::JsonType::String),
            };
            if wants_text && (err.instance().is_number() || err.instance().is_boolean()) {
                d = d.help(
                    "YAML reads an unquoted number or true/false as that type, not as text: quote the value",
                );
            }
        }
        out.push(match resource {
            Some(r) => d.resource(r),
            None => d,
        });
    }
    out
}

/// `/spec/ports/0` → `spec.ports[0]`, the way users read paths.
fn display_path(ptr: &str) -> String {
    if ptr.is_empty() {
        return "(document)".into();
    }
    let mut s = String::new();
    for seg in ptr.trim_start_matches('/').split('/') {
        let seg = seg.replace("~1", "/").replace("~0", "~");
        if seg.bytes().all(|b| b.is_ascii_digit()) && !seg.is_empty() {
            s.push_str(&format!("[{seg}]"));
        } else {
            if !s.is_empty() {
                s.push('.');
            }
            s.push_str(&seg);
        }
    }
    s
}

fn check_schemas(ctx: &Facts, out: &mut Vec<Diagnostic>) {
    for doc in ctx.documents {
        let Some((kind, api)) = kind_of(doc) else {
            continue;
        };
        let Some(v) = schema_file(kind, api, ctx.mesh.version).and_then(validator) else {
            continue;
        };
        let doc2: &Arc<Document> = doc;
        let locate = |ptr: &str, key: bool| {
            if key {
                doc2.key_location_of(ptr)
            } else {
                doc2.location_of(ptr)
            }
        };
        out.extend(validate(
            v,
            &doc.json(),
            &locate,
            Some(&resource_label(doc)),
        ));
        numbers_json_loses(doc, &mut |ptr, message, help| {
            out.push(
                Diagnostic::new(RuleId::MX103, message)
                    .at(doc.location_of(ptr))
                    .help(help)
                    .resource(resource_label(doc)),
            );
        });
    }
}

/// Numbers the schema check cannot see because the JSON form changes them: `.nan` and `.inf`
/// have no JSON form and become `null` (which a nullable field accepts, and which reaches a
/// module's configuration as `null`), and a `priority` written as a float (`5.0`, or an integer
/// beyond int64 such as `1e20`): the API server stores a whole float within ±(2^53 − 1) as an
/// integer and rejects the rest.
fn numbers_json_loses(doc: &Document, report: &mut dyn FnMut(&str, String, &str)) {
    use crate::load::{Node, Value};
    // Iterative: the tree can be as deep as the YAML depth bound allows.
    let mut stack: Vec<(String, &Node)> = vec![(String::new(), &doc.root)];
    while let Some((ptr, node)) = stack.pop() {
        match &node.value {
            Value::Float(f) if !f.is_finite() => report(
                &ptr,
                format!(
                    "`{}` is {}, which has no JSON form: the API server and the module see `null`",
                    display_path(&ptr),
                    if f.is_nan() { "`.nan`" } else { "infinite" }
                ),
                "write a finite number, or quote the value to pass it as a string",
            ),
            Value::Float(f) if ptr == "/spec/priority" && f.fract() == 0.0 => {
                let written = doc
                    .source
                    .text
                    .get(node.span.start..node.span.end)
                    .unwrap_or_default();
                // kube-openapi accepts a whole float within ±(2^53 − 1) as an integer.
                let outcome = if f.abs() <= 9_007_199_254_740_991.0 {
                    format!("the API server stores it as the integer {}", *f as i64)
                } else {
                    "the API server rejects the object, so the extension never exists (the chain \
                     skips it)"
                        .to_string()
                };
                report(
                    &ptr,
                    format!(
                        "`spec.priority` must be an integer within int64, not `{written}`: {outcome}"
                    ),
                    "write a whole number without a fraction or exponent",
                )
            }
            Value::Seq(items) => {
                for (i, n) in items.iter().enumerate().rev() {
                    stack.push((format!("{ptr}/{i}"), n));
                }
            }
            Value::Map(entries) => {
                for (k, v) in entries.iter().rev() {
                    let key = k.key_text().unwrap_or_default();
                    stack.push((
                        format!("{ptr}/{}", key.replace('~', "~0").replace('/', "~1")),
                        v,
                    ));
                }
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_paths_read_naturally() {
        assert_eq!(display_path("/spec/ports/0/port"), "spec.ports[0].port");
        assert_eq!(display_path(""), "(document)");
        assert_eq!(
            display_path("/metadata/annotations/a~1b"),
            "metadata.annotations.a/b"
        );
    }

    /// A digest of only digits reads as a number: the finding says to quote it; a wrong type
    /// that is not a YAML reading accident (a list for a string) gets no such help.
    #[test]
    fn unquoted_numbers_for_text_fields_get_the_quoting_help() {
        let v = validator("wasmplugin.v1alpha1.json").unwrap();
        let at = |_: &str, _: bool| Location::file_only("wp.yaml");
        let digest = serde_json::json!({"apiVersion": "extensions.istio.io/v1alpha1",
            "kind": "WasmPlugin", "metadata": {"name": "p"},
            "spec": {"url": "oci://q/x:1", "sha256": 1.2e63}});
        let found = validate(v, &digest, &at, None);
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].rule, RuleId::MX103);
        assert!(found[0]
            .help
            .as_deref()
            .unwrap()
            .contains("quote the value"));
        let list = serde_json::json!({"apiVersion": "extensions.istio.io/v1alpha1",
            "kind": "WasmPlugin", "metadata": {"name": "p"},
            "spec": {"url": "oci://q/x:1", "sha256": ["a"]}});
        let found = validate(v, &list, &at, None);
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(found[0].help.is_none(), "{found:?}");
    }
}
