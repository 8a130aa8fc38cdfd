//! The versioned JSON format (`--format json`). Documented in `docs/json-format.md`;
//! bump `version` on any incompatible change.

use super::Report;
use crate::diag::{Diagnostic, Location};
use serde_json::{json, Value};

fn location_fields(l: &Location) -> serde_json::Map<String, Value> {
    let mut m = serde_json::Map::new();
    m.insert("file".into(), json!(l.file));
    m.insert("line".into(), json!(l.line));
    m.insert("column".into(), json!(l.column));
    m.insert("end_line".into(), json!(l.end_line));
    m.insert("end_column".into(), json!(l.end_column));
    m
}

/// One finding as JSON (also used by `inspect` and other commands that carry findings).
pub fn diagnostic(d: &Diagnostic) -> Value {
    let mut m = serde_json::Map::new();
    m.insert("rule".into(), json!(d.rule));
    m.insert("severity".into(), json!(d.severity.as_str()));
    m.insert("message".into(), json!(d.message));
    if let Some(l) = &d.location {
        m.extend(location_fields(l));
    }
    if let Some(r) = &d.resource {
        m.insert("resource".into(), json!(r));
    }
    if let Some(h) = &d.help {
        m.insert("help".into(), json!(h));
    }
    if !d.related.is_empty() {
        let rel: Vec<Value> = d
            .related
            .iter()
            .map(|r| {
                let mut o = location_fields(&r.location);
                o.insert("message".into(), json!(r.message));
                Value::Object(o)
            })
            .collect();
        m.insert("related".into(), Value::Array(rel));
    }
    if let Some(s) = &d.suppressed {
        m.insert(
            "suppressed".into(),
            serde_json::to_value(s).unwrap_or(Value::Null),
        );
    }
    Value::Object(m)
}

pub fn render(report: &Report) -> String {
    let t = report.tally;
    let s = t.summary;
    let doc = json!({
        "version": 1,
        "tool": {"name": "meshext-lint", "version": env!("CARGO_PKG_VERSION"), "docs_url": report.docs_url},
        "mesh_version": report.mesh_version,
        "diagnostics": report.diagnostics.iter().map(diagnostic).collect::<Vec<_>>(),
        "summary": {"errors": s.errors, "warnings": s.warnings, "infos": s.infos,
                    "suppressed": t.suppressed, "files": report.files,
                    "hidden": t.hidden, "failed": t.failed},
    });
    let mut out = crate::json_pretty::to_string(&doc).unwrap_or_default();
    out.push('\n');
    out
}
