//! The default, human format: source snippets with the span underlined, then a summary line.

use super::{escape_controls, is_unsafe_char, plural, Report};
use crate::diag::{Diagnostic as Finding, Severity};
use codespan_reporting::diagnostic::{Diagnostic, Label, Severity as CSeverity};
use codespan_reporting::files::SimpleFiles;
use codespan_reporting::term::{self, Config};
use std::collections::HashMap;
use termcolor::{Buffer, WriteColor};

fn severity(s: Severity) -> CSeverity {
    match s {
        Severity::Error => CSeverity::Error,
        Severity::Warning => CSeverity::Warning,
        Severity::Info => CSeverity::Note,
    }
}

/// Text with control characters escaped, as shown in snippets and messages.
fn esc(s: &str) -> String {
    escape_controls(s, true).into_owned()
}

/// Whether the control character at `i` in a source text is escaped: all of them but the CR
/// of a CRLF line end.
fn escaped_at(text: &str, i: usize, c: char) -> bool {
    is_unsafe_char(c) && !(c == '\r' && text[i + 1..].starts_with('\n'))
}

/// A source text for snippets, control characters escaped (CRLF line ends kept).
fn esc_source(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for (i, c) in text.char_indices() {
        if escaped_at(text, i, c) {
            out.push_str(&esc(&c.to_string()));
        } else {
            out.push(c);
        }
    }
    out
}

/// A byte offset into a source text moved to the same place in its [`esc_source`] copy.
fn remap(text: &str, off: usize) -> usize {
    off + text
        .char_indices()
        .take_while(|&(i, _)| i < off)
        .filter(|&(i, c)| escaped_at(text, i, c))
        .map(|(_, c)| esc(&c.to_string()).len() - c.len_utf8())
        .sum::<usize>()
}

pub fn render(report: &Report) -> String {
    let mut files = SimpleFiles::new();
    let mut ids: HashMap<&str, usize> = HashMap::new();
    let mut buf = if report.color {
        Buffer::ansi()
    } else {
        Buffer::no_color()
    };
    let config = Config::default();
    // Register only the sources findings point into, once each.
    for d in report.active() {
        let names = d
            .location
            .iter()
            .chain(d.related.iter().map(|r| &r.location))
            .map(|l| l.file.as_str());
        for name in names {
            if let Some(src) = report.sources.get(name) {
                ids.entry(src.name.as_str())
                    .or_insert_with(|| files.add(esc(&src.name), esc_source(&src.text)));
            }
        }
    }
    let file_id = |name: &str| ids.get(name).copied();
    // Spans point into the raw texts; move them when escaping made a text longer.
    let span = |name: &str, start: usize, end: usize| {
        let text = &report.sources[name].text;
        if text.char_indices().any(|(i, c)| escaped_at(text, i, c)) {
            remap(text, start)..remap(text, end)
        } else {
            start..end
        }
    };
    let mut plain = Vec::new();
    for d in report.active() {
        let mut diag = Diagnostic::new(severity(d.severity))
            .with_code(d.rule)
            .with_message(esc(&d.message));
        let mut labels = Vec::new();
        let mut placed = true;
        if let Some(l) = &d.location {
            match file_id(&l.file) {
                Some(id) if !report.sources[&l.file].text.is_empty() => {
                    labels.push(Label::primary(
                        id,
                        span(&l.file, l.start, l.end.max(l.start)),
                    ));
                }
                _ => placed = false,
            }
        }
        for r in &d.related {
            if let Some(id) = file_id(&r.location.file)
                .filter(|_| !report.sources[&r.location.file].text.is_empty())
            {
                labels.push(
                    Label::secondary(id, span(&r.location.file, r.location.start, r.location.end))
                        .with_message(esc(&r.message)),
                );
            }
        }
        let mut notes = Vec::new();
        if !placed {
            if let Some(l) = &d.location {
                notes.push(format!("at {l}"));
            }
        }
        if let Some(r) = &d.resource {
            notes.push(format!("resource: {r}"));
        }
        for r in &d.related {
            if report
                .sources
                .get(&r.location.file)
                .is_none_or(|s| s.text.is_empty())
            {
                notes.push(format!("{}: {}", r.location, r.message));
            }
        }
        if let Some(h) = &d.help {
            notes.push(format!("help: {h}"));
        }
        notes.push(format!("see: meshext-lint explain {}", d.rule));
        let notes = notes.iter().map(|n| esc(n)).collect();
        diag = diag.with_labels(labels).with_notes(notes);
        if term::emit_to_write_style(&mut buf, &config, &files, &diag).is_err() {
            plain.push(one_line(d));
        }
    }
    let mut out = String::from_utf8_lossy(buf.as_slice()).into_owned();
    for p in plain {
        out.push_str(&p);
        out.push('\n');
    }
    if !report.quiet {
        out.push_str(&summary_line(report, &mut buf));
    }
    out
}

/// `file:line:col: severity[RULE]: message` — used when a snippet cannot be drawn.
pub fn one_line(d: &Finding) -> String {
    let line = match &d.location {
        Some(l) => format!("{l}: {}[{}]: {}", d.severity, d.rule, d.message),
        None => format!("{}[{}]: {}", d.severity, d.rule, d.message),
    };
    escape_controls(&line, false).into_owned()
}

fn summary_line(report: &Report, buf: &mut Buffer) -> String {
    let t = report.tally;
    let s = t.summary;
    let files = plural(report.files, "file");
    // The mark follows the exit code: ✘ when the run fails, ✔ otherwise.
    let mark = if t.failed { "✘" } else { "✔" };
    let mut line = if t.total() == 0 {
        format!(
            "{mark} no problems found in {files} (mesh {})",
            report.mesh_version
        )
    } else {
        format!(
            "{mark} {}, {}, {} in {files} (mesh {})",
            plural(s.errors, "error"),
            plural(s.warnings, "warning"),
            plural(s.infos, "info"),
            report.mesh_version
        )
    };
    if t.suppressed > 0 {
        line.push_str(&format!("; {} suppressed", t.suppressed));
    }
    line.push_str(&t.hidden_note());
    buf.clear();
    if report.color && buf.supports_color() {
        let code = if t.failed {
            "31"
        } else if t.total() > 0 {
            "33"
        } else {
            "32"
        };
        format!("\x1b[1;{code}m{line}\x1b[0m\n")
    } else {
        format!("{line}\n")
    }
}
