//! GitHub Actions workflow commands (`--format github`): one `::error`/`::warning`/`::notice`
//! annotation per finding, then a summary line. GitHub displays at most 10 annotations of each
//! type per step, so at most that many of each are printed and the summary says how many were
//! left out; use SARIF upload or reviewdog for volume.

use super::{escape_controls, plural, Report};
use crate::diag::{Diagnostic, Severity};

/// Annotations of one type GitHub shows per step.
pub const MAX_PER_TYPE: usize = 10;

fn command(s: Severity) -> &'static str {
    match s {
        Severity::Error => "error",
        Severity::Warning => "warning",
        Severity::Info => "notice",
    }
}

/// Escaping for the message part of a workflow command: control characters (ESC, NUL, CR…)
/// rendered visibly, then GitHub's own escapes for `%`, CR and LF.
fn escape_data(s: &str) -> String {
    escape_controls(s, true)
        .replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// Escaping for property values (`file=`, `title=`).
fn escape_property(s: &str) -> String {
    escape_data(s).replace(':', "%3A").replace(',', "%2C")
}

/// One annotation line.
pub fn annotation(d: &Diagnostic) -> String {
    let mut props = Vec::new();
    if let Some(l) = &d.location {
        props.push(format!("file={}", escape_property(&l.file)));
        props.push(format!("line={}", l.line));
        props.push(format!("endLine={}", l.end_line));
        // GitHub accepts columns only for single-line ranges.
        if l.line == l.end_line {
            props.push(format!("col={}", l.column));
            props.push(format!("endColumn={}", l.end_column));
        }
    }
    let name = crate::rules::get(d.rule.as_str()).map_or("", |r| r.name.as_str());
    props.push(format!(
        "title={}",
        escape_property(&format!("{} {name}", d.rule))
    ));
    let mut msg = d.message.clone();
    if let Some(r) = &d.resource {
        msg.push_str(&format!(" ({r})"));
    }
    if let Some(h) = &d.help {
        msg.push_str(&format!("\nhelp: {h}"));
    }
    format!(
        "::{} {}::{}",
        command(d.severity),
        props.join(","),
        escape_data(&msg)
    )
}

pub fn render(report: &Report) -> String {
    let mut out = String::new();
    let mut printed = [0usize; 3];
    let mut left_out = 0;
    for d in report.active() {
        let slot = &mut printed[d.severity as usize];
        if *slot < MAX_PER_TYPE {
            *slot += 1;
            out.push_str(&annotation(d));
            out.push('\n');
        } else {
            left_out += 1;
        }
    }
    // `--quiet` drops the summary, unless it says that findings were left out.
    if report.quiet && left_out == 0 {
        return out;
    }
    let s = report.summary();
    let mut line = format!(
        "meshext-lint: {}, {}, {} (mesh {})",
        plural(s.errors, "error"),
        plural(s.warnings, "warning"),
        plural(s.infos, "info"),
        report.mesh_version
    );
    let suppressed = report.suppressed_count();
    if suppressed > 0 {
        line.push_str(&format!(", {suppressed} suppressed"));
    }
    line.push_str(&report.tally.hidden_note());
    if left_out > 0 {
        line.push_str(&format!(
            "; {} not shown as annotations (GitHub shows at most {MAX_PER_TYPE} per type and step): upload SARIF or run `meshext-lint lint` locally for all of them",
            plural(left_out, "finding")
        ));
    }
    out.push_str(&line);
    out.push('\n');
    out
}
