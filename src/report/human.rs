//! The default, human format: source snippets with the span underlined, then a summary line.

use super::{escape_controls, is_unsafe_char, plural, Report};
use crate::diag::{Diagnostic as Finding, Severity};
use codespan_reporting::diagnostic::{Diagnostic, Label, Severity as CSeverity};
use codespan_reporting::files::{self, Files};
use codespan_reporting::term::{self, Config};
use std::ops::Range;
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

/// The part of one source that a finding's snippet shows: the lines its labels touch, each
/// clipped to `snippet-width` characters around the label and escaped. Built per finding from
/// those lines only, so a long one-line file costs the window, not the line, per finding.
struct Excerpt {
    name: String,
    text: String,
    /// 0-based line of the source that is the excerpt's first line.
    first_line: usize,
    /// Byte offset in `text` of each excerpt line.
    starts: Vec<usize>,
    /// Characters left out before each excerpt line (added to the column shown).
    clipped: Vec<usize>,
}

/// Lines of an excerpt this far from any label end are left blank (a label over thousands of
/// lines shows its ends).
const CONTEXT_LINES: usize = 3;

impl Excerpt {
    /// The excerpt of `src` for byte ranges `spans`; returns it and the ranges moved into it.
    fn new(
        src: &crate::source::SourceFile,
        spans: &[(usize, usize)],
    ) -> (Excerpt, Vec<Range<usize>>) {
        let width = crate::limits::get_usize(crate::limits::Limit::SnippetWidth).max(8);
        let text = &src.text;
        let clamp = |mut p: usize| {
            p = p.min(text.len());
            while !text.is_char_boundary(p) {
                p -= 1;
            }
            p
        };
        let spans: Vec<(usize, usize)> = spans
            .iter()
            .map(|&(s, e)| (clamp(s), clamp(e.max(s))))
            .collect();
        let line_of = |p: usize| src.line_col(p).0 as usize - 1;
        let line_start = |p: usize| p - (src.line_col(p).2 as usize - 1);
        let ends: Vec<usize> = spans.iter().flat_map(|&(s, e)| [s, e]).collect();
        let first = ends.iter().map(|&p| line_of(p)).min().unwrap_or(0);
        let last = ends.iter().map(|&p| line_of(p)).max().unwrap_or(0);
        let ends_lines: Vec<usize> = ends.iter().map(|&p| line_of(p)).collect();
        let mut ex = Excerpt {
            name: esc(&src.name),
            text: String::new(),
            first_line: first,
            starts: Vec::new(),
            clipped: Vec::new(),
        };
        // Where each span end lands in the excerpt.
        let mut moved = vec![usize::MAX; ends.len()];
        let mut pos = line_start(ends[ends_lines.iter().position(|&l| l == first).unwrap_or(0)]);
        for line in first..=last {
            let end = text[pos..].find('\n').map_or(text.len(), |i| pos + i);
            ex.starts.push(ex.text.len());
            let near = ends_lines
                .iter()
                .any(|&l| l.abs_diff(line) <= CONTEXT_LINES);
            let raw = &text[pos..end];
            let mut skip = 0;
            if near {
                let chars = raw.chars().count();
                if chars > width {
                    // Centre the window on the first label end on this line.
                    let col = (ends.iter().zip(&ends_lines))
                        .find(|(_, &l)| l == line)
                        .map_or(0, |(&p, _)| text[pos..p].chars().count());
                    skip = col.saturating_sub(width / 2).min(chars - width);
                }
                if skip > 0 {
                    ex.text.push('…');
                }
                for (ci, (i, c)) in raw.char_indices().enumerate() {
                    if ci < skip {
                        continue;
                    }
                    if ci >= skip + width {
                        ex.text.push('…');
                        break;
                    }
                    let at = pos + i;
                    for (k, &p) in ends.iter().enumerate() {
                        if ends_lines[k] == line && moved[k] == usize::MAX && p <= at {
                            moved[k] = ex.text.len();
                        }
                    }
                    if escaped_at(text, at, c) {
                        ex.text.push_str(&esc(&c.to_string()));
                    } else {
                        ex.text.push(c);
                    }
                }
            }
            for (k, &l) in ends_lines.iter().enumerate() {
                if l == line && moved[k] == usize::MAX {
                    moved[k] = ex.text.len();
                }
            }
            ex.clipped.push(skip.saturating_sub(usize::from(skip > 0)));
            ex.text.push('\n');
            pos = (end + 1).min(text.len());
        }
        let ranges = moved.chunks(2).map(|m| m[0]..m[1].max(m[0])).collect();
        (ex, ranges)
    }
}

/// The excerpts of one finding, as codespan's files: line numbers and columns are those of
/// the source.
struct Excerpts(Vec<Excerpt>);

impl<'a> Files<'a> for Excerpts {
    type FileId = usize;
    type Name = &'a str;
    type Source = &'a str;

    fn name(&'a self, id: usize) -> Result<&'a str, files::Error> {
        Ok(&self.get(id)?.name)
    }

    fn source(&'a self, id: usize) -> Result<&'a str, files::Error> {
        Ok(&self.get(id)?.text)
    }

    fn line_index(&'a self, id: usize, byte_index: usize) -> Result<usize, files::Error> {
        let starts = &self.get(id)?.starts;
        Ok(starts
            .binary_search(&byte_index)
            .unwrap_or_else(|i| i.saturating_sub(1)))
    }

    fn line_number(&'a self, id: usize, line_index: usize) -> Result<usize, files::Error> {
        Ok(self.get(id)?.first_line + line_index + 1)
    }

    fn column_number(
        &'a self,
        id: usize,
        line_index: usize,
        byte_index: usize,
    ) -> Result<usize, files::Error> {
        let ex = self.get(id)?;
        let range = self.line_range(id, line_index)?;
        let col = files::column_index(&ex.text, range, byte_index);
        Ok(col + ex.clipped.get(line_index).copied().unwrap_or(0) + 1)
    }

    fn line_range(&'a self, id: usize, line_index: usize) -> Result<Range<usize>, files::Error> {
        let ex = self.get(id)?;
        let start = *ex
            .starts
            .get(line_index)
            .ok_or(files::Error::LineTooLarge {
                given: line_index,
                max: ex.starts.len(),
            })?;
        let end = ex
            .starts
            .get(line_index + 1)
            .copied()
            .unwrap_or(ex.text.len());
        Ok(start..end)
    }
}

impl Excerpts {
    fn get(&self, id: usize) -> Result<&Excerpt, files::Error> {
        self.0.get(id).ok_or(files::Error::FileMissing)
    }
}

pub fn render(report: &Report) -> String {
    let mut buf = if report.color {
        Buffer::ansi()
    } else {
        Buffer::no_color()
    };
    let config = Config::default();
    let shown = |name: &str| report.sources.get(name).filter(|s| !s.text.is_empty());
    let mut plain = Vec::new();
    for d in report.active() {
        let mut diag = Diagnostic::new(severity(d.severity))
            .with_code(d.rule)
            .with_message(esc(&d.message));
        // One excerpt per file the finding points into, holding all its labels there.
        let mut groups: Vec<(&str, Vec<(usize, usize)>)> = Vec::new();
        let mut group = |file: &'_ str, s: usize, e: usize| -> (usize, usize) {
            let g = match groups.iter().position(|(f, _)| *f == file) {
                Some(g) => g,
                None => {
                    groups.push((report.sources[file].name.as_str(), Vec::new()));
                    groups.len() - 1
                }
            };
            groups[g].1.push((s, e));
            (g, groups[g].1.len() - 1)
        };
        let primary = d
            .location
            .as_ref()
            .filter(|l| shown(&l.file).is_some())
            .map(|l| group(&l.file, l.start, l.end.max(l.start)));
        let placed = primary.is_some() || d.location.is_none();
        let related: Vec<_> = (d.related.iter())
            .filter(|r| shown(&r.location.file).is_some())
            .map(|r| {
                let l = &r.location;
                (group(&l.file, l.start, l.end.max(l.start)), esc(&r.message))
            })
            .collect();
        let mut files = Vec::new();
        let mut ranges = Vec::new();
        for (name, spans) in &groups {
            let (ex, moved) = Excerpt::new(&report.sources[*name], spans);
            files.push(ex);
            ranges.push(moved);
        }
        let mut labels = Vec::new();
        if let Some((g, k)) = primary {
            labels.push(Label::primary(g, ranges[g][k].clone()));
        }
        for ((g, k), message) in related {
            labels.push(Label::secondary(g, ranges[g][k].clone()).with_message(message));
        }
        let files = Excerpts(files);
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
            if shown(&r.location.file).is_none() {
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
