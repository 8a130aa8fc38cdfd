//! Findings: what every check produces and every reporter consumes.
//!
//! A [`Diagnostic`] carries a rule ID from the catalogue (`rules/catalogue/`), a severity,
//! a message, where it is (a [`Location`]: file plus 1-based line/column and byte offsets),
//! related locations, the resource it concerns and help text.

mod rule_id;

pub use rule_id::RuleId;
use serde::Serialize;
use std::fmt;

/// Ordered so that `Error > Warning > Info`.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Info,
    Warning,
    Error,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Error => "error",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.as_str())
    }
}

/// A place in a file (or in a file inside an image, e.g. `quay.io/acme/ext:1.0!/manifest.yaml`).
///
/// Lines and columns are 1-based. `column`/`end_column` count Unicode scalar values;
/// `byte_column`/`end_byte_column` count UTF-8 bytes (reviewdog wants bytes). The end is
/// exclusive. `start`/`end` are byte offsets into the file text.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct Location {
    pub file: String,
    pub line: u32,
    pub column: u32,
    pub end_line: u32,
    pub end_column: u32,
    #[serde(skip)]
    pub byte_column: u32,
    #[serde(skip)]
    pub end_byte_column: u32,
    #[serde(skip)]
    pub start: usize,
    #[serde(skip)]
    pub end: usize,
}

impl Location {
    /// A location covering a whole file without a known position (line 1, column 1).
    pub fn file_only(file: impl Into<String>) -> Location {
        Location {
            file: file.into(),
            line: 1,
            column: 1,
            end_line: 1,
            end_column: 1,
            byte_column: 1,
            end_byte_column: 1,
            start: 0,
            end: 0,
        }
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.file, self.line, self.column)
    }
}

/// A secondary location with a short note ("the SMCP that disables extensions").
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Related {
    pub location: Location,
    pub message: String,
}

/// Where a suppression was written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum SuppressionKind {
    Annotation,
    Comment,
    CommandLine,
    Config,
    Baseline,
}

impl SuppressionKind {
    pub fn as_str(self) -> &'static str {
        match self {
            SuppressionKind::Annotation => "annotation",
            SuppressionKind::Comment => "comment",
            SuppressionKind::CommandLine => "command-line",
            SuppressionKind::Config => "config",
            SuppressionKind::Baseline => "baseline",
        }
    }

    /// Written next to the finding (SARIF `inSource`) rather than elsewhere (`external`).
    pub fn in_source(self) -> bool {
        matches!(self, SuppressionKind::Annotation | SuppressionKind::Comment)
    }
}

impl fmt::Display for SuppressionKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.as_str())
    }
}

/// Why a finding does not count.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Suppression {
    pub kind: SuppressionKind,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// Rule ID from the catalogue, e.g. `MX301`.
    pub rule: RuleId,
    pub severity: Severity,
    pub message: String,
    /// Primary location. Every finding tied to an input has one.
    pub location: Option<Location>,
    pub related: Vec<Related>,
    /// `Kind namespace/name` (or `Kind name` for cluster-scoped kinds).
    pub resource: Option<String>,
    pub help: Option<String>,
    pub suppressed: Option<Suppression>,
}

impl Diagnostic {
    /// A finding with the rule's default severity from the catalogue.
    pub fn new(rule: RuleId, message: impl Into<String>) -> Diagnostic {
        let severity = rule.default_severity();
        Diagnostic {
            rule,
            severity,
            message: message.into(),
            location: None,
            related: Vec::new(),
            resource: None,
            help: None,
            suppressed: None,
        }
    }

    pub fn at(mut self, location: Location) -> Self {
        self.location = Some(location);
        self
    }

    pub fn at_opt(mut self, location: Option<Location>) -> Self {
        self.location = location;
        self
    }

    pub fn severity(mut self, severity: Severity) -> Self {
        self.severity = severity;
        self
    }

    pub fn resource(mut self, resource: impl Into<String>) -> Self {
        self.resource = Some(resource.into());
        self
    }

    pub fn help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    pub fn related(mut self, location: Location, message: impl Into<String>) -> Self {
        self.related.push(Related {
            location,
            message: message.into(),
        });
        self
    }

    /// Sort key giving a stable, reader-friendly order: file, position, rule.
    pub fn sort_key(&self) -> (String, u32, u32, RuleId, String) {
        match &self.location {
            Some(l) => (
                l.file.clone(),
                l.line,
                l.column,
                self.rule,
                self.message.clone(),
            ),
            None => (String::new(), 0, 0, self.rule, self.message.clone()),
        }
    }
}

/// Counts by severity, ignoring suppressed findings.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Summary {
    pub errors: usize,
    pub warnings: usize,
    pub infos: usize,
}

impl Summary {
    pub fn of(diags: &[Diagnostic]) -> Summary {
        let mut s = Summary::default();
        for d in diags.iter().filter(|d| d.suppressed.is_none()) {
            match d.severity {
                Severity::Error => s.errors += 1,
                Severity::Warning => s.warnings += 1,
                Severity::Info => s.infos += 1,
            }
        }
        s
    }
}
