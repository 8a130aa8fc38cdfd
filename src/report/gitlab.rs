//! GitLab code quality report (`--format gitlab`): the Code Climate JSON subset GitLab reads
//! (`description`, `check_name`, `fingerprint`, `severity`, `location.path`,
//! `location.lines.begin`). Suppressed findings are left out.

use super::{RepoPaths, Report};
use crate::diag::Severity;
use serde_json::{json, Value};
use std::collections::HashMap;

fn severity(s: Severity) -> &'static str {
    match s {
        Severity::Error => "major",
        Severity::Warning => "minor",
        Severity::Info => "info",
    }
}

pub fn render(report: &Report, paths: &RepoPaths) -> String {
    // GitLab needs fingerprints unique within a report: number repeated ones.
    let mut seen: HashMap<String, usize> = HashMap::new();
    let issues: Vec<Value> = report
        .active()
        .map(|d| {
            let fp = report.fingerprint(d);
            let n = seen.entry(fp.clone()).or_insert(0);
            *n += 1;
            let fingerprint = if *n == 1 { fp } else { format!("{fp}-{n}") };
            let (path, begin, end) = match &d.location {
                Some(l) => (paths.relative(&l.file), l.line, l.end_line.max(l.line)),
                None => (String::from("."), 1, 1),
            };
            let mut description = format!("{}: {}", d.rule, d.message);
            if let Some(r) = &d.resource {
                description.push_str(&format!(" ({r})"));
            }
            json!({
                "type": "issue",
                "check_name": d.rule,
                "description": description,
                "categories": ["Bug Risk"],
                "severity": severity(d.severity),
                "fingerprint": fingerprint,
                "location": {"path": path, "lines": {"begin": begin, "end": end}},
            })
        })
        .collect();
    let mut out = crate::json_pretty::to_string(&issues).unwrap_or_default();
    out.push('\n');
    out
}
