//! A pull-request comment (`--format markdown`) a bot can post as is: a hidden marker so the
//! bot can find and update its previous comment, a summary table, then the findings grouped
//! by file in collapsible sections, each linking to its rule page. Kept under GitHub's
//! 65,536-character comment limit.

use super::{escape_controls, is_unsafe_char, plural, RepoPaths, Report};
use crate::diag::{Diagnostic, Severity};
use std::collections::{BTreeMap, BTreeSet};

/// The first line; bots search for it to update their comment instead of adding one.
pub const MARKER: &str = "<!-- meshext-lint -->";

/// Stay below GitHub's comment limit (65,536) with room for the closing note.
const MAX_CHARS: usize = 60_000;

/// Escapes text for a Markdown table cell or list item.
fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '|' => out.push_str("\\|"),
            '\n' => out.push(' '),
            // Rendered visibly (`\u{1b}`) like in the other text formats.
            c if is_unsafe_char(c) => out.push_str(&escape_controls(&c.to_string(), true)),
            c => out.push(c),
        }
    }
    out
}

fn icon(s: Severity) -> &'static str {
    match s {
        Severity::Error => "🔴",
        Severity::Warning => "🟡",
        Severity::Info => "🔵",
    }
}

fn item(d: &Diagnostic) -> String {
    let line = d
        .location
        .as_ref()
        .map(|l| format!("line {}: ", l.line))
        .unwrap_or_default();
    let mut s = format!(
        "- {} **{}** [`{}`][{}] {line}{}",
        icon(d.severity),
        d.severity,
        d.rule,
        d.rule,
        escape(&d.message)
    );
    if let Some(r) = &d.resource {
        s.push_str(&format!(
            " — `{}`",
            escape_controls(r, false).replace('`', "'")
        ));
    }
    if let Some(s2) = &d.suppressed {
        let why = s2.reason.as_deref().map(escape).unwrap_or_default();
        s.push_str(&format!(
            " _(suppressed by {}{}{why})_",
            s2.kind,
            if why.is_empty() { "" } else { ": " }
        ));
    }
    s.push('\n');
    if let Some(h) = &d.help {
        s.push_str(&format!("  <br>💡 {}\n", escape(h)));
    }
    s
}

pub fn render(report: &Report, paths: &RepoPaths) -> String {
    let t = report.tally;
    let s = t.summary;
    let suppressed = report.suppressed_count();
    let mut out = format!("{MARKER}\n");
    if t.total() == 0 {
        out.push_str(&format!(
            "### ✅ meshext-lint: no problems found\n\n{} checked against mesh {}.",
            plural(report.files, "file"),
            report.mesh_version
        ));
        if suppressed > 0 {
            out.push_str(&format!(" {} suppressed.", plural(suppressed, "finding")));
        }
        out.push('\n');
        return out;
    }
    out.push_str(&format!(
        "### {} meshext-lint: {}, {}, {}\n\n",
        // The icon follows the exit code.
        if t.failed { "❌" } else { "⚠️" },
        plural(s.errors, "error"),
        plural(s.warnings, "warning"),
        plural(s.infos, "info")
    ));
    out.push_str("| Severity | Findings |\n|---|---:|\n");
    out.push_str(&format!(
        "| {} Error | {} |\n",
        icon(Severity::Error),
        s.errors
    ));
    out.push_str(&format!(
        "| {} Warning | {} |\n",
        icon(Severity::Warning),
        s.warnings
    ));
    out.push_str(&format!(
        "| {} Info | {} |\n",
        icon(Severity::Info),
        s.infos
    ));
    if suppressed > 0 {
        out.push_str(&format!("| Suppressed | {suppressed} |\n"));
    }
    if t.hidden > 0 {
        out.push_str(&format!(
            "| Hidden by `--output-threshold` | {} |\n",
            t.hidden
        ));
    }
    out.push_str(&format!(
        "\n{} checked against mesh {}.\n\n",
        plural(report.files, "file"),
        report.mesh_version
    ));
    // Group by repository-relative file; findings without a location go last.
    let mut by_file: BTreeMap<String, Vec<&Diagnostic>> = BTreeMap::new();
    for d in report.diagnostics {
        let file = d
            .location
            .as_ref()
            .map_or_else(|| "(no file)".to_string(), |l| paths.relative(&l.file));
        by_file.entry(file).or_default().push(d);
    }
    let mut omitted = 0;
    let mut linked = BTreeSet::new();
    for (file, diags) in &by_file {
        let active: Vec<_> = diags.iter().filter(|d| d.suppressed.is_none()).collect();
        let worst = active.iter().map(|d| d.severity).max();
        let mut section = format!(
            "<details{}>\n<summary><code>{}</code> — {}</summary>\n\n",
            if worst == Some(Severity::Error) {
                " open"
            } else {
                ""
            },
            escape(file),
            counts(&active)
        );
        for d in diags {
            section.push_str(&item(d));
        }
        section.push_str("\n</details>\n\n");
        // Rule links are reference-style, defined once at the end (absolute URLs are long).
        let mut with = linked.clone();
        with.extend(diags.iter().map(|d| d.rule.as_str().to_string()));
        if out.len() + section.len() + link_definitions(&with, report).len() > MAX_CHARS {
            omitted += diags.len();
            continue;
        }
        linked = with;
        out.push_str(&section);
    }
    if omitted > 0 {
        out.push_str(&format!(
            "_{} not listed to stay within the comment size limit; see the full report in the CI log._\n",
            plural(omitted, "finding")
        ));
    }
    out.push_str(&link_definitions(&linked, report));
    out.push_str("\n<sub>Explain a rule with `meshext-lint explain <ID>`; suppress one with `# meshext-lint: ignore[<ID>] -- reason`.</sub>\n");
    out
}

/// `[MX301]: https://…/MX301.md` lines for the rules linked from the listed findings.
fn link_definitions(rules: &BTreeSet<String>, report: &Report) -> String {
    let mut out = String::new();
    if !rules.is_empty() {
        out.push('\n');
    }
    for r in rules {
        out.push_str(&format!("[{r}]: {}\n", report.rule_url(r)));
    }
    out
}

fn counts(active: &[&&Diagnostic]) -> String {
    let n = |sev| active.iter().filter(|d| d.severity == sev).count();
    let parts: Vec<String> = [
        (Severity::Error, "error"),
        (Severity::Warning, "warning"),
        (Severity::Info, "info"),
    ]
    .iter()
    .filter(|(s, _)| n(*s) > 0)
    .map(|(s, w)| plural(n(*s), w))
    .collect();
    if parts.is_empty() {
        "only suppressed findings".into()
    } else {
        parts.join(", ")
    }
}
