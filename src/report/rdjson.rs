//! reviewdog's diagnostic format (`--format rdjson`: one `DiagnosticResult`; `--format rdjsonl`:
//! one `Diagnostic` per line). Lines are 1-based; columns count UTF-8 bytes and the end is
//! exclusive, as reviewdog expects. Suppressed findings are left out: reviewdog has no notion
//! of them and would post them as comments.

use super::Report;
use crate::diag::{Diagnostic, Location, Severity};
use serde_json::{json, Value};

fn severity(s: Severity) -> &'static str {
    match s {
        Severity::Error => "ERROR",
        Severity::Warning => "WARNING",
        Severity::Info => "INFO",
    }
}

fn location(l: &Location) -> Value {
    json!({
        "path": l.file,
        "range": {
            "start": {"line": l.line, "column": l.byte_column},
            "end": {"line": l.end_line, "column": l.end_byte_column},
        },
    })
}

/// One finding as an rdjson `Diagnostic`, its rule linked (`code.url`) and its related places
/// as `related_locations`.
pub fn diagnostic(d: &Diagnostic, report: &Report) -> Value {
    let mut message = d.message.clone();
    if let Some(r) = &d.resource {
        message.push_str(&format!(" ({r})"));
    }
    if let Some(h) = &d.help {
        message.push_str(&format!("\nhelp: {h}"));
    }
    let mut v = json!({
        "message": message,
        "severity": severity(d.severity),
        "source": {"name": "meshext-lint"},
        "code": {"value": d.rule, "url": report.rule_url(d.rule.as_str())},
    });
    if let Some(l) = &d.location {
        v["location"] = location(l);
    }
    if !d.related.is_empty() {
        v["related_locations"] = d
            .related
            .iter()
            .map(|r| json!({"message": r.message, "location": location(&r.location)}))
            .collect();
    }
    v
}

pub fn render(report: &Report, lines: bool) -> String {
    let diags: Vec<Value> = report.active().map(|d| diagnostic(d, report)).collect();
    if lines {
        let mut out = String::new();
        for d in diags {
            out.push_str(&d.to_string());
            out.push('\n');
        }
        return out;
    }
    let doc = json!({
        "source": {"name": "meshext-lint"},
        "diagnostics": diags,
    });
    let mut out = crate::json_pretty::to_string(&doc).unwrap_or_default();
    out.push('\n');
    out
}
