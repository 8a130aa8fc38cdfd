//! Rendering findings. Every format gets the same [`Report`]; the exit code never depends on
//! the format: [`exit_code`] looks only at the findings and the `--fail-on` threshold, and
//! [`shown`] applies `--output-threshold`, which changes what is printed, never the exit code.
//! Summaries count every unsuppressed finding ([`Tally`]) and say how many are hidden.
//!
//! Text formats (human, github, junit, markdown) never print control characters from the
//! inputs raw: C0 controls but TAB/LF, DEL, C1 controls and bidi overrides are written
//! Rust-style as `\u{1b}` ([`escape_controls`]); JSON-based formats use JSON's own escapes.

pub mod github;
pub mod gitlab;
pub mod human;
pub mod json;
pub mod junit;
pub mod markdown;
pub mod rdjson;
pub mod sarif;

use crate::diag::{Diagnostic, Severity, Summary};
use crate::source::SourceFile;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Output formats of `lint` (and of any command that reports findings).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Source snippets for people (the default).
    Human,
    /// The versioned JSON format (docs/json-format.md), suppressed findings included.
    Json,
    /// SARIF 2.1.0 for GitHub code scanning and other SARIF consumers.
    Sarif,
    /// reviewdog diagnostic format, one document.
    Rdjson,
    /// reviewdog diagnostic format, one diagnostic per line.
    Rdjsonl,
    /// GitHub Actions workflow commands (annotations), capped as GitHub displays them.
    Github,
    /// JUnit XML for CI test tabs.
    Junit,
    /// A Markdown comment for pull-request bots.
    Markdown,
    /// GitLab code quality report (Code Climate JSON).
    Gitlab,
}

impl Format {
    /// The format named `s` (`sarif`, any case).
    pub fn parse(s: &str) -> Option<Format> {
        <Format as clap::ValueEnum>::from_str(s, true).ok()
    }
}

/// One `--format` argument: `FORMAT` (to stdout, or `-o FILE`) or `FORMAT=FILE`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FormatSpec {
    pub format: Format,
    pub file: Option<PathBuf>,
}

impl FormatSpec {
    pub fn parse(s: &str) -> Result<FormatSpec, String> {
        let (name, file) = match s.split_once('=') {
            Some((n, "")) => return Err(format!("`{n}=`: the file name is empty")),
            Some((n, f)) => (n, Some(PathBuf::from(f))),
            None => (s, None),
        };
        let format = Format::parse(name).ok_or_else(|| {
            let names: Vec<String> = <Format as clap::ValueEnum>::value_variants()
                .iter()
                .filter_map(clap::ValueEnum::to_possible_value)
                .map(|v| v.get_name().to_string())
                .collect();
            format!(
                "unknown format `{name}` (expected {}, optionally =FILE)",
                names.join(", ")
            )
        })?;
        Ok(FormatSpec { format, file })
    }
}

/// The lowest severity that makes the run fail.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum FailOn {
    Error,
    Warning,
    Info,
    /// Never fail because of findings.
    None,
}

impl FailOn {
    pub fn threshold(self) -> Option<Severity> {
        match self {
            FailOn::Error => Some(Severity::Error),
            FailOn::Warning => Some(Severity::Warning),
            FailOn::Info => Some(Severity::Info),
            FailOn::None => None,
        }
    }

    pub fn from_threshold(t: Option<Severity>) -> FailOn {
        match t {
            Some(Severity::Error) => FailOn::Error,
            Some(Severity::Warning) => FailOn::Warning,
            Some(Severity::Info) => FailOn::Info,
            None => FailOn::None,
        }
    }
}

/// Whether a set of findings fails under a threshold: any finding that is not suppressed is
/// at or above it. Independent of the output format and threshold (the CLI turns it into
/// the exit code).
pub fn fails(diags: &[Diagnostic], fail_on: FailOn) -> bool {
    fail_on.threshold().is_some_and(|t| {
        diags
            .iter()
            .any(|d| d.suppressed.is_none() && d.severity >= t)
    })
}

/// The findings to print under `--output-threshold`: those at or above it (suppressed ones
/// included, for the formats that carry them).
pub fn shown(diags: &[Diagnostic], threshold: Severity) -> Vec<Diagnostic> {
    diags
        .iter()
        .filter(|d| d.severity >= threshold)
        .cloned()
        .collect()
}

/// What decides the exit code, counted over every finding (also those `--output-threshold`
/// hides), so that each format's summary agrees with the exit code.
#[derive(Debug, Clone, Copy, Default)]
pub struct Tally {
    /// Unsuppressed findings by severity, hidden ones included.
    pub summary: Summary,
    /// Suppressed findings (shown or not).
    pub suppressed: usize,
    /// Unsuppressed findings below `--output-threshold`, not printed.
    pub hidden: usize,
    /// Whether the hidden findings alone fail the run.
    pub hidden_fail: bool,
    /// Whether the run fails (exit code 1).
    pub failed: bool,
}

impl Tally {
    pub fn new(all: &[Diagnostic], threshold: Severity, fail_on: FailOn) -> Tally {
        let hidden: Vec<Diagnostic> = all
            .iter()
            .filter(|d| d.suppressed.is_none() && d.severity < threshold)
            .cloned()
            .collect();
        Tally {
            summary: Summary::of(all),
            suppressed: all.iter().filter(|d| d.suppressed.is_some()).count(),
            hidden: hidden.len(),
            hidden_fail: fails(&hidden, fail_on),
            failed: fails(all, fail_on),
        }
    }

    pub fn total(&self) -> usize {
        self.summary.errors + self.summary.warnings + self.summary.infos
    }

    /// `; 2 hidden by --output-threshold` or nothing.
    pub fn hidden_note(&self) -> String {
        if self.hidden == 0 {
            String::new()
        } else {
            format!("; {} hidden by --output-threshold", self.hidden)
        }
    }
}

/// Where rule pages live unless `--docs-url` says otherwise: `<base><ID>.md`.
pub const DEFAULT_DOCS_URL: &str =
    "https://github.com/meshext-lint/meshext-lint/blob/main/docs/rules/";

/// The tool's home page (SARIF `informationUri`).
pub const HOMEPAGE: &str = "https://github.com/meshext-lint/meshext-lint";

/// Checks a `--docs-url` base: an absolute http(s) or file URL; a `/` is appended when missing.
pub fn docs_base(url: &str) -> Result<String, String> {
    let ok = ["https://", "http://", "file://"]
        .iter()
        .any(|p| url.starts_with(p) && url.len() > p.len())
        && !url.chars().any(|c| c.is_whitespace() || c.is_control());
    if !ok {
        return Err(format!(
            "--docs-url {url:?}: expected an absolute http(s):// or file:// URL"
        ));
    }
    Ok(if url.ends_with('/') {
        url.to_string()
    } else {
        format!("{url}/")
    })
}

/// What a run found, ready to render.
pub struct Report<'a> {
    /// The findings to print (after `--output-threshold`).
    pub diagnostics: &'a [Diagnostic],
    /// Counts over all findings, which the summaries print.
    pub tally: Tally,
    /// Source texts by file name, for snippets.
    pub sources: &'a HashMap<String, Arc<SourceFile>>,
    /// Number of files read.
    pub files: usize,
    pub mesh_version: String,
    /// Use ANSI colours (human format only).
    pub color: bool,
    /// Base URL of the rule pages, ending in `/` (see [`docs_base`]).
    pub docs_url: String,
    /// `--quiet`: findings only; text formats (human, github) print no summary line.
    pub quiet: bool,
}

impl Report<'_> {
    /// Counts of every unsuppressed finding (hidden ones included): what decides the exit code.
    pub fn summary(&self) -> Summary {
        self.tally.summary
    }

    /// Findings that count (not suppressed).
    pub fn active(&self) -> impl Iterator<Item = &Diagnostic> {
        self.diagnostics.iter().filter(|d| d.suppressed.is_none())
    }

    pub fn suppressed_count(&self) -> usize {
        self.tally.suppressed
    }

    /// The documentation page of a rule.
    pub fn rule_url(&self, rule: &str) -> String {
        format!("{}{rule}.md", self.docs_url)
    }

    /// Fingerprint of a finding (see `crate::baseline`).
    pub fn fingerprint(&self, d: &Diagnostic) -> String {
        crate::baseline::fingerprint(d, self.sources)
    }
}

/// Renders with paths made relative to the repository containing the working directory
/// (where bots and code scanning expect them).
pub fn render(format: Format, report: &Report) -> String {
    let cwd = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("."));
    let root = crate::config::repo_root(&cwd).unwrap_or(cwd);
    render_with_root(format, report, &root)
}

/// Renders with paths relative to `root` (SARIF, GitLab and Markdown use repository paths).
pub fn render_with_root(format: Format, report: &Report, root: &Path) -> String {
    let paths = RepoPaths::new(root);
    match format {
        Format::Human => human::render(report),
        Format::Json => json::render(report),
        Format::Sarif => sarif::render(report, &paths),
        Format::Rdjson => rdjson::render(report, false),
        Format::Rdjsonl => rdjson::render(report, true),
        Format::Github => github::render(report),
        Format::Junit => junit::render(report),
        Format::Markdown => markdown::render(report, &paths),
        Format::Gitlab => gitlab::render(report, &paths),
    }
}

/// Maps reported file names (as given on the command line, relative to the working
/// directory) to paths relative to the repository root.
pub struct RepoPaths {
    root: Option<PathBuf>,
}

impl RepoPaths {
    pub fn new(root: &Path) -> RepoPaths {
        RepoPaths {
            root: root.canonicalize().ok(),
        }
    }

    /// `a/b.yaml` relative to the repository root, with `/` separators; names that are not
    /// files under the root (`<stdin>`, `REF!/manifest.yaml`, paths outside) come back as given.
    pub fn relative(&self, name: &str) -> String {
        let rel = self.root.as_ref().and_then(|root| {
            let abs = Path::new(name).canonicalize().ok()?;
            let rel = abs.strip_prefix(root).ok()?;
            Some(rel.to_string_lossy().into_owned())
        });
        rel.unwrap_or_else(|| name.to_string()).replace('\\', "/")
    }

    /// A URI reference for a file name: repository-relative and percent-encoded; absolute
    /// paths outside the repository become `file://` URIs.
    pub fn uri(&self, name: &str) -> String {
        let rel = self.relative(name);
        let encoded = percent_encode(&rel);
        if rel.starts_with('/') {
            format!("file://{encoded}")
        } else {
            encoded
        }
    }
}

/// Percent-encodes everything but RFC 3986 unreserved characters, `/` and sub-delimiters
/// that are harmless in a path (`!$&'()*+,;=@`). A `:` is encoded so that a relative path is
/// never mistaken for a scheme.
pub fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        let keep = b.is_ascii_alphanumeric() || b"-._~/!$&'()*+,;=@".contains(&b);
        if keep {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Whether a character must not reach a terminal or log raw: C0 controls but TAB and LF, DEL,
/// C1 controls, and the bidirectional overrides and isolates ("Trojan Source").
pub fn is_unsafe_char(c: char) -> bool {
    matches!(c, '\0'..='\x08' | '\x0b'..='\x1f' | '\x7f'..='\u{9f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// Renders characters from manifests, comments, annotations and file names that could drive a
/// terminal or forge log lines visibly, Rust-style: ESC becomes `\u{1b}`, CR `\u{d}`, NUL
/// `\u{0}`. TAB stays; LF stays when `keep_newlines`, else it becomes `\u{a}` too.
pub fn escape_controls(s: &str, keep_newlines: bool) -> std::borrow::Cow<'_, str> {
    let bad = |c: char| is_unsafe_char(c) || (c == '\n' && !keep_newlines);
    if !s.chars().any(bad) {
        return std::borrow::Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if bad(c) {
            out.push_str(&format!("\\u{{{:x}}}", c as u32));
        } else {
            out.push(c);
        }
    }
    std::borrow::Cow::Owned(out)
}

/// `1 error`, `2 warnings`.
pub fn plural(n: usize, word: &str) -> String {
    if n == 1 {
        format!("{n} {word}")
    } else {
        format!("{n} {word}s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::RuleId;

    #[test]
    fn exit_code_ignores_suppressed_and_honours_threshold() {
        let mut w = Diagnostic::new(RuleId::MX102, "x").severity(Severity::Warning);
        assert!(!fails(std::slice::from_ref(&w), FailOn::Error));
        assert!(fails(std::slice::from_ref(&w), FailOn::Warning));
        assert!(!fails(std::slice::from_ref(&w), FailOn::None));
        w.suppressed = Some(crate::diag::Suppression {
            kind: crate::diag::SuppressionKind::Comment,
            reason: None,
        });
        assert!(!fails(&[w], FailOn::Info));
    }

    #[test]
    fn controls_are_rendered_visibly() {
        assert_eq!(
            escape_controls("a\x1b[31mb\rc\0d\te\nf\u{9b}\u{202e}", true),
            "a\\u{1b}[31mb\\u{d}c\\u{0}d\te\nf\\u{9b}\\u{202e}"
        );
        assert_eq!(escape_controls("x\ny", false), "x\\u{a}y");
        assert!(matches!(
            escape_controls("plain é", false),
            std::borrow::Cow::Borrowed(_)
        ));
    }

    #[test]
    fn uris_are_relative_and_encoded() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("a b")).unwrap();
        let f = dir.path().join("a b/x.yaml");
        std::fs::write(&f, "").unwrap();
        let p = RepoPaths::new(dir.path());
        assert_eq!(p.uri(f.to_str().unwrap()), "a%20b/x.yaml");
        assert_eq!(p.uri("<stdin>"), "%3Cstdin%3E");
        assert_eq!(p.uri("quay.io/a/b:1!/m.yaml"), "quay.io/a/b%3A1!/m.yaml");
    }
}
