//! SARIF 2.1.0 (`--format sarif`) as GitHub code scanning accepts it: repository-relative
//! URIs, every catalogue rule with a `helpUri` (`--docs-url`, see `report::DEFAULT_DOCS_URL`), columns in Unicode
//! code points (`columnKind`), stable `partialFingerprints`, and suppressed findings carried
//! with `suppressions` (annotation/comment → `inSource`, the rest → `external`).
//! Tests validate the output against the OASIS schema (fetched by .ci/format-schemas.sh).

use super::{RepoPaths, Report};
use crate::diag::{Diagnostic, Location, Severity};
use crate::rules::Rule;
use serde_json::{json, Map, Value};
use std::collections::HashMap;

pub const SCHEMA_URI: &str = "https://json.schemastore.org/sarif-2.1.0.json";

/// GitHub rejects longer rule descriptions.
const MAX_DESCRIPTION: usize = 1024;

pub fn level(s: Severity) -> &'static str {
    match s {
        Severity::Error => "error",
        Severity::Warning => "warning",
        Severity::Info => "note",
    }
}

fn clip(s: &str) -> String {
    let s = s.trim();
    if s.len() <= MAX_DESCRIPTION {
        return s.to_string();
    }
    let mut end = MAX_DESCRIPTION - 3;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}...", &s[..end])
}

fn rule_descriptor(r: &Rule, report: &Report) -> Value {
    let doc = report.rule_url(r.id.as_str());
    json!({
        "id": r.id,
        "name": r.name,
        "helpUri": doc,
        "shortDescription": {"text": clip(&r.summary)},
        "fullDescription": {"text": clip(&r.explanation)},
        "help": {
            "text": format!("{}\nDocumentation: {doc} (or `meshext-lint explain {}`)", r.fix.trim(), r.id),
            "markdown": format!("{}\n\nSee [{}]({doc}).", r.fix.trim(), r.id),
        },
        "defaultConfiguration": {"level": level(r.default_severity())},
        "properties": {
            "tags": ["service-mesh", "wasm", "kubernetes"],
            "precision": "high",
            "problem.severity": match r.default_severity() {
                Severity::Error => "error",
                Severity::Warning => "warning",
                Severity::Info => "recommendation",
            },
        },
    })
}

fn physical(l: &Location, paths: &RepoPaths) -> Value {
    json!({
        "artifactLocation": {"uri": paths.uri(&l.file)},
        "region": {
            "startLine": l.line.max(1),
            "startColumn": l.column.max(1),
            "endLine": l.end_line.max(l.line).max(1),
            "endColumn": l.end_column.max(1),
        },
    })
}

fn result(
    d: &Diagnostic,
    report: &Report,
    paths: &RepoPaths,
    rule_index: &HashMap<&str, usize>,
    occurrences: &mut HashMap<String, usize>,
) -> Value {
    let mut text = d.message.clone();
    if let Some(h) = &d.help {
        text.push_str(&format!("\nHelp: {h}"));
    }
    let mut r = Map::new();
    r.insert("ruleId".into(), json!(d.rule));
    if let Some(i) = rule_index.get(d.rule.as_str()) {
        r.insert("ruleIndex".into(), json!(i));
    }
    r.insert("level".into(), json!(level(d.severity)));
    r.insert("message".into(), json!({ "text": text }));
    let mut loc = Map::new();
    if let Some(l) = &d.location {
        loc.insert("physicalLocation".into(), physical(l, paths));
    }
    if let Some(res) = &d.resource {
        loc.insert(
            "logicalLocations".into(),
            json!([{"fullyQualifiedName": res, "kind": "resource"}]),
        );
    }
    if !loc.is_empty() {
        r.insert("locations".into(), json!([loc]));
    }
    if !d.related.is_empty() {
        let rel: Vec<Value> = d
            .related
            .iter()
            .enumerate()
            .map(|(i, x)| {
                json!({"id": i + 1, "physicalLocation": physical(&x.location, paths), "message": {"text": x.message}})
            })
            .collect();
        r.insert("relatedLocations".into(), json!(rel));
    }
    let fp = report.fingerprint(d);
    let n = occurrences.entry(fp.clone()).or_insert(0);
    *n += 1;
    r.insert(
        "partialFingerprints".into(),
        json!({"meshextLint/v1": fp, "primaryLocationLineHash": format!("{fp}:{n}")}),
    );
    if let Some(s) = &d.suppressed {
        let kind = if s.kind.in_source() {
            "inSource"
        } else {
            "external"
        };
        let justification = s
            .reason
            .clone()
            .unwrap_or_else(|| format!("suppressed by {}", s.kind));
        r.insert(
            "suppressions".into(),
            json!([{"kind": kind, "status": "accepted", "justification": justification,
                    "properties": {"meshextLintKind": s.kind}}]),
        );
    }
    Value::Object(r)
}

pub fn render(report: &Report, paths: &RepoPaths) -> String {
    let rules = crate::rules::all();
    let rule_index: HashMap<&str, usize> = rules
        .iter()
        .enumerate()
        .map(|(i, r)| (r.id.as_str(), i))
        .collect();
    let mut occurrences = HashMap::new();
    // GitHub code scanning rejects results without a location; findings about the run itself
    // (a bad command-line suppression, say) are tool notifications in SARIF terms.
    let results: Vec<Value> = report
        .diagnostics
        .iter()
        .filter(|d| d.location.is_some())
        .map(|d| result(d, report, paths, &rule_index, &mut occurrences))
        .collect();
    let notifications: Vec<Value> = report
        .diagnostics
        .iter()
        .filter(|d| d.location.is_none() && d.suppressed.is_none())
        .map(|d| {
            json!({
                "level": level(d.severity),
                "message": {"text": d.message},
                "descriptor": {"id": d.rule},
                "associatedRule": {"id": d.rule, "index": rule_index.get(d.rule.as_str()).copied().unwrap_or(0)},
            })
        })
        .collect();
    let doc = json!({
        "$schema": SCHEMA_URI,
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "meshext-lint",
                "version": env!("CARGO_PKG_VERSION"),
                "semanticVersion": env!("CARGO_PKG_VERSION"),
                "informationUri": super::HOMEPAGE,
                "rules": rules.iter().map(|r| rule_descriptor(r, report)).collect::<Vec<_>>(),
            }},
            "columnKind": "unicodeCodePoints",
            "invocations": [{
                "executionSuccessful": true,
                "toolExecutionNotifications": notifications,
            }],
            "results": results,
            "properties": {
                "meshVersion": report.mesh_version,
                "files": report.files,
                // What decides the exit code, hidden findings included.
                "summary": {
                    "errors": report.tally.summary.errors,
                    "warnings": report.tally.summary.warnings,
                    "infos": report.tally.summary.infos,
                    "suppressed": report.tally.suppressed,
                    "hidden": report.tally.hidden,
                    "failed": report.tally.failed,
                },
            },
        }],
    });
    let mut out = crate::json_pretty::to_string(&doc).unwrap_or_default();
    out.push('\n');
    out
}
