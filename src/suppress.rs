//! Suppressions: deliberate silencing of findings. Three sources, documented in
//! `docs/suppressions.md`:
//!
//! * the annotation `meshext-lint.io/ignore: "MX306,MX304"` on a resource (with an optional
//!   `meshext-lint.io/ignore-reason`) silences those rules for findings located in that resource;
//! * a YAML comment `# meshext-lint: ignore[MX306,MX304] -- reason` silences findings whose
//!   primary location starts on the comment's line, or, when the comment stands alone on its
//!   line, on the line directly below it;
//! * patterns `RULES=GLOB` (`--suppress`, config `suppress:`) where `GLOB` matches the
//!   resource label `Kind namespace/name`.
//!
//! Suppressed findings stay in the list, marked, so JSON and SARIF can show them; they do not
//! count for the exit code. Unknown or malformed rule lists and in-source suppressions that
//! silenced nothing come back as [`SuppressionProblem`]s (reported as MX107 and MX108 by
//! `rules::input::suppression`).

use crate::diag::{Diagnostic, Location, Suppression};
use crate::load::Document;
use crate::source::SourceFile;
use globset::{GlobBuilder, GlobMatcher};
use std::sync::Arc;

pub const ANNOTATION: &str = "meshext-lint.io/ignore";
pub const REASON_ANNOTATION: &str = "meshext-lint.io/ignore-reason";
const COMMENT_PREFIX: &str = "meshext-lint:";

/// Where a suppression was written.
pub use crate::diag::SuppressionKind as Origin;

/// A parsed `RULES=GLOB` pattern. `RULES` is a comma-separated list of IDs; `GLOB` (default
/// `*`) matches the resource label, `*` crossing `/`.
#[derive(Debug, Clone)]
pub struct Pattern {
    pub rules: Vec<String>,
    pub glob: String,
    matcher: GlobMatcher,
}

impl Pattern {
    pub fn parse(spec: &str) -> Result<Pattern, String> {
        let (rules, glob) = spec.split_once('=').unwrap_or((spec, "*"));
        let rules = split_ids(rules);
        if rules.is_empty() {
            return Err(format!(
                "suppression {spec:?} names no rule; expected RULES=GLOB, e.g. 'MX306=ServiceMeshExtension shop/*'"
            ));
        }
        // A rule ID is letters then digits (`MX306`), or a rule name (already turned into its
        // ID); anything else is a malformed pattern, not an unknown rule.
        if let Some(bad) = rules.iter().find(|r| !looks_like_rule_id(r)) {
            return Err(format!(
                "suppression {spec:?}: `{bad}` is not a rule ID or name; expected RULES=GLOB, e.g. 'MX306=ServiceMeshExtension shop/*'"
            ));
        }
        let glob = glob.trim();
        let matcher = GlobBuilder::new(glob)
            .literal_separator(false)
            .build()
            .map_err(|e| format!("suppression {spec:?}: invalid pattern: {e}"))?
            .compile_matcher();
        Ok(Pattern {
            rules,
            glob: glob.to_string(),
            matcher,
        })
    }

    fn matches(&self, d: &Diagnostic) -> bool {
        self.rules.iter().any(|r| *r == d.rule.as_str())
            && self.matcher.is_match(d.resource.as_deref().unwrap_or(""))
    }
}

fn looks_like_rule_id(r: &str) -> bool {
    let digits = r.trim_start_matches(|c: char| c.is_ascii_alphabetic());
    digits.len() < r.len() && !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit())
}

/// The rules of a comma-separated list as IDs: a rule name (`unknown-phase`) becomes its ID,
/// anything else is upper-cased (`mx306` → `MX306`; unknown IDs are reported as MX107).
fn split_ids(s: &str) -> Vec<String> {
    s.split(',')
        .map(str::trim)
        .filter(|r| !r.is_empty())
        .map(|r| match crate::rules::find(r) {
            Some(rule) => rule.id.clone(),
            None => r.to_ascii_uppercase(),
        })
        .collect()
}

/// What an in-source suppression covers.
#[derive(Debug, Clone)]
enum Scope {
    /// Findings whose primary location starts on this 1-based line.
    Line(u32),
    /// Findings inside this byte range (a resource), or about this resource label.
    Resource {
        start: usize,
        end: usize,
        label: String,
    },
}

#[derive(Debug, Clone)]
struct Directive {
    origin: Origin,
    file: String,
    scope: Scope,
    rules: Vec<String>,
    used: Vec<bool>,
    reason: Option<String>,
    location: Location,
}

impl Directive {
    fn covers(&self, d: &Diagnostic) -> bool {
        match (&self.scope, &d.location) {
            (Scope::Line(line), Some(l)) => l.file == self.file && l.line == *line,
            (Scope::Resource { start, end, .. }, Some(l)) => {
                l.file == self.file && (*start..=*end).contains(&l.start)
            }
            (Scope::Resource { label, .. }, None) => d.resource.as_deref() == Some(label),
            (Scope::Line(_), None) => false,
        }
    }
}

/// What is wrong with a suppression.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SuppressionProblem {
    /// A rule ID the catalogue does not have.
    UnknownRule {
        id: String,
        origin: Origin,
        at: Option<Location>,
    },
    /// The annotation's value is not a string.
    NotAString { at: Location },
    /// A `# meshext-lint:` comment that is not `ignore[…]`.
    MalformedComment { at: Location },
    /// An empty rule list.
    NoRule { at: Location },
    /// An in-source suppression of a known rule that silenced no finding.
    Unused {
        rule: String,
        origin: Origin,
        at: Location,
    },
}

/// Collects suppressions and applies them to findings.
#[derive(Debug, Default)]
pub struct Suppressor {
    directives: Vec<Directive>,
    patterns: Vec<(Pattern, Origin, Option<Location>)>,
    /// Problems of the suppressions themselves, as they were read.
    problems: Vec<SuppressionProblem>,
}

impl Suppressor {
    pub fn new() -> Suppressor {
        Suppressor::default()
    }

    /// Reads annotations from `documents` and `# meshext-lint:` comments from `sources`.
    pub fn scan<'a>(
        &mut self,
        documents: &[Arc<Document>],
        sources: impl IntoIterator<Item = &'a Arc<SourceFile>>,
    ) {
        for doc in documents {
            self.scan_annotation(doc);
        }
        for src in sources {
            if src.text.contains(COMMENT_PREFIX) {
                self.scan_comments(src);
            }
        }
    }

    /// Adds a `RULES=GLOB` pattern from the command line or the config file.
    pub fn add_pattern(
        &mut self,
        spec: &str,
        origin: Origin,
        location: Option<Location>,
    ) -> Result<(), String> {
        let p = Pattern::parse(spec)?;
        for r in &p.rules {
            if crate::diag::RuleId::parse(r).is_none() {
                self.problems.push(SuppressionProblem::UnknownRule {
                    id: r.clone(),
                    origin,
                    at: location.clone(),
                });
            }
        }
        self.patterns.push((p, origin, location));
        Ok(())
    }

    fn scan_annotation(&mut self, doc: &Document) {
        let ptr = format!("/metadata/annotations/{}", ANNOTATION.replace('/', "~1"));
        let value = doc.json();
        let Some(value) = value.pointer(&ptr) else {
            return;
        };
        let location = doc.location_of(&ptr);
        let Some(text) = value.as_str() else {
            self.problems
                .push(SuppressionProblem::NotAString { at: location });
            return;
        };
        let reason_ptr = format!(
            "/metadata/annotations/{}",
            REASON_ANNOTATION.replace('/', "~1")
        );
        let reason = doc.str_at(&reason_ptr).map(str::to_string);
        let label = format!(
            "{} {}/{}",
            doc.str_at("/kind").unwrap_or("?"),
            doc.str_at("/metadata/namespace").unwrap_or("default"),
            doc.str_at("/metadata/name").unwrap_or("")
        );
        let scope = Scope::Resource {
            start: doc.root.span.start,
            end: doc.root.span.end,
            label,
        };
        self.push_directive(
            Origin::Annotation,
            doc.source.name.clone(),
            scope,
            text,
            reason,
            location,
        );
    }

    fn scan_comments(&mut self, src: &SourceFile) {
        let mut line_start = 0;
        for (i, raw) in src.text.split_inclusive('\n').enumerate() {
            let (line_no, start) = (i as u32 + 1, line_start);
            line_start += raw.len();
            let line = raw.trim_end_matches(['\n', '\r']);
            let Some((col, body)) = find_directive(line) else {
                continue;
            };
            let location = src.location(start + col, start + line.len());
            let standalone = line[..col].trim().is_empty();
            let target = if standalone { line_no + 1 } else { line_no };
            match parse_comment(body) {
                Some((ids, reason)) => self.push_directive(
                    Origin::Comment,
                    src.name.clone(),
                    Scope::Line(target),
                    ids,
                    reason,
                    location,
                ),
                None => self
                    .problems
                    .push(SuppressionProblem::MalformedComment { at: location }),
            }
        }
    }

    fn push_directive(
        &mut self,
        origin: Origin,
        file: String,
        scope: Scope,
        ids: &str,
        reason: Option<String>,
        location: Location,
    ) {
        let rules = split_ids(ids);
        if rules.is_empty() {
            self.problems.push(SuppressionProblem::NoRule {
                at: location.clone(),
            });
        }
        for r in &rules {
            if crate::diag::RuleId::parse(r).is_none() {
                self.problems.push(SuppressionProblem::UnknownRule {
                    id: r.clone(),
                    origin,
                    at: Some(location.clone()),
                });
            }
        }
        self.directives.push(Directive {
            origin,
            file,
            scope,
            used: vec![false; rules.len()],
            rules,
            reason: reason.filter(|r| !r.trim().is_empty()),
            location,
        });
    }

    /// Marks suppressed findings and returns the problems of the suppressions: in-source
    /// suppressions of known rules that silenced nothing, then bad suppressions.
    /// Already-suppressed findings are left as they are.
    pub fn apply(mut self, diags: &mut [Diagnostic]) -> Vec<SuppressionProblem> {
        for d in diags.iter_mut().filter(|d| d.suppressed.is_none()) {
            if let Some(s) = self.find(d) {
                d.suppressed = Some(s);
            }
        }
        let mut problems = Vec::new();
        for dir in &self.directives {
            for (r, used) in dir.rules.iter().zip(&dir.used) {
                if !used && crate::diag::RuleId::parse(r).is_some() {
                    problems.push(SuppressionProblem::Unused {
                        rule: r.clone(),
                        origin: dir.origin,
                        at: dir.location.clone(),
                    });
                }
            }
        }
        problems.append(&mut self.problems);
        problems
    }

    fn find(&mut self, d: &Diagnostic) -> Option<Suppression> {
        for dir in &mut self.directives {
            if !dir.covers(d) {
                continue;
            }
            if let Some(i) = dir.rules.iter().position(|r| *r == d.rule.as_str()) {
                dir.used[i] = true;
                return Some(Suppression {
                    kind: dir.origin,
                    reason: dir.reason.clone(),
                });
            }
        }
        self.patterns
            .iter()
            .find(|(p, _, _)| p.matches(d))
            .map(|(p, origin, _)| Suppression {
                kind: *origin,
                reason: Some(match origin {
                    Origin::CommandLine => format!("--suppress {}={}", p.rules.join(","), p.glob),
                    _ => format!("config suppress {}={}", p.rules.join(","), p.glob),
                }),
            })
    }
}

/// Finds `# meshext-lint:` in a YAML line: a `#` at the line start or after whitespace (a
/// YAML comment). Returns the `#`'s byte column and the text after the prefix.
fn find_directive(line: &str) -> Option<(usize, &str)> {
    let mut from = 0;
    while let Some(i) = line[from..].find('#').map(|i| i + from) {
        let starts_comment = i == 0 || line[..i].ends_with([' ', '\t']);
        if starts_comment {
            let after = line[i + 1..].trim_start();
            if let Some(body) = after.strip_prefix(COMMENT_PREFIX) {
                return Some((i, body));
            }
        }
        from = i + 1;
    }
    None
}

/// `ignore[MX1,MX2] -- reason` → ("MX1,MX2", reason). `None` when malformed.
fn parse_comment(body: &str) -> Option<(&str, Option<String>)> {
    let rest = body.trim().strip_prefix("ignore[")?;
    let (ids, tail) = rest.split_once(']')?;
    let tail = tail.trim();
    let reason = if tail.is_empty() {
        None
    } else {
        Some(tail.strip_prefix("--")?.trim().to_string())
    };
    Some((ids, reason))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::load::inputs::{add_source, Loaded};
    use crate::rules::RuleId;

    const SME: &str = "apiVersion: maistra.io/v1\nkind: ServiceMeshExtension\nmetadata:\n  name: auth\n  namespace: shop\n";

    fn load(text: &str) -> Loaded {
        let mut l = Loaded::default();
        add_source(&mut l, "m.yaml".into(), text.as_bytes().to_vec());
        l
    }

    fn finding(l: &Loaded, rule: RuleId, needle: &str) -> Diagnostic {
        let src = &l.sources[0];
        let at = src.text.find(needle).unwrap();
        Diagnostic::new(rule, "x")
            .at(src.location(at, at + needle.len()))
            .resource("ServiceMeshExtension shop/auth")
    }

    fn run(l: &Loaded, diags: &mut Vec<Diagnostic>, patterns: &[&str]) {
        let mut s = Suppressor::new();
        s.scan(&l.documents, &l.sources);
        for p in patterns {
            s.add_pattern(p, Origin::CommandLine, None).unwrap();
        }
        let problems = s.apply(diags);
        diags.extend(
            problems
                .iter()
                .map(crate::rules::input::suppression::diagnostic),
        );
    }

    #[test]
    fn comment_on_the_line_or_alone_above() {
        let l = load(&format!(
            "{SME}spec:\n  phase: Bad # meshext-lint: ignore[MX102] -- known\n  # meshext-lint: ignore[mx106, MX101]\n  image: x\n  priority: 1\n"
        ));
        let mut d = vec![
            finding(&l, RuleId::MX102, "Bad"),
            finding(&l, RuleId::MX106, "image"),
            finding(&l, RuleId::MX106, "priority"),
            finding(&l, RuleId::MX101, "phase"),
        ];
        run(&l, &mut d, &[]);
        let s0 = d[0].suppressed.as_ref().unwrap();
        assert_eq!(
            (s0.kind.as_str(), s0.reason.as_deref()),
            ("comment", Some("known"))
        );
        assert_eq!(d[1].suppressed.as_ref().unwrap().kind, Origin::Comment);
        assert!(d[2].suppressed.is_none(), "only the line directly below");
        assert!(
            d[3].suppressed.is_none(),
            "a trailing comment covers only its own line"
        );
        // MX101 in the standalone comment silenced nothing on the line below.
        assert_eq!(d.len(), 5);
        assert_eq!(d[4].rule, RuleId::MX108);
        assert_eq!(d[4].location.as_ref().unwrap().line, 8);
    }

    #[test]
    fn annotation_covers_its_resource_only() {
        let l = load(&format!(
            "{SME}  annotations:\n    meshext-lint.io/ignore: \"MX102, MX999\"\n    meshext-lint.io/ignore-reason: vendor image\nspec: {{phase: Bad}}\n---\n{SME}spec: {{phase: Bad2}}\n"
        ));
        let mut d = vec![
            finding(&l, RuleId::MX102, "Bad}"),
            finding(&l, RuleId::MX102, "Bad2"),
        ];
        run(&l, &mut d, &[]);
        let s = d[0].suppressed.as_ref().unwrap();
        assert_eq!(
            (s.kind.as_str(), s.reason.as_deref()),
            ("annotation", Some("vendor image"))
        );
        assert!(d[1].suppressed.is_none());
        let mx107: Vec<_> = d.iter().filter(|x| x.rule == RuleId::MX107).collect();
        assert_eq!(mx107.len(), 1);
        assert!(mx107[0].message.contains("MX99"));
        assert_eq!(mx107[0].location.as_ref().unwrap().line, 7);
    }

    #[test]
    fn patterns_glob_the_resource_label() {
        let l = load(&format!("{SME}spec: {{phase: Bad}}\n"));
        let mut d = vec![
            finding(&l, RuleId::MX102, "Bad"),
            finding(&l, RuleId::MX101, "Bad"),
        ];
        d[1].resource = Some("ServiceMeshExtension other/auth".into());
        run(&l, &mut d, &["MX102,MX101=ServiceMeshExtension shop/*"]);
        assert_eq!(d[0].suppressed.as_ref().unwrap().kind, Origin::CommandLine);
        assert!(d[1].suppressed.is_none());
        let mut d2 = vec![finding(&l, RuleId::MX102, "Bad")];
        run(&l, &mut d2, &["MX102"]);
        assert!(d2[0].suppressed.is_some(), "no glob means every resource");
        assert!(Pattern::parse("=x").is_err());
        let named = Pattern::parse("unknown-phase, mx102=x").unwrap();
        assert_eq!(named.rules, vec!["MX301", "MX102"]);
        assert!(Pattern::parse("unknown-phaze").is_err());
        assert!(Pattern::parse("MX1=[").is_err());
    }

    #[test]
    fn bad_directives_are_reported() {
        let l = load(&format!(
            "{SME}spec:\n  phase: x # meshext-lint: ignore MX102\n  url: 'a#b' #meshext-lint: ignore[MX102] extra\n  x: a#meshext-lint: ignore[MX999]\n"
        ));
        let mut d = vec![];
        run(&l, &mut d, &["MX777=*"]);
        let msgs: Vec<_> = d.iter().map(|x| (x.rule, x.message.as_str())).collect();
        assert_eq!(msgs.len(), 3, "{msgs:?}");
        assert!(msgs[0].1.starts_with("malformed"));
        assert!(msgs[1].1.starts_with("malformed"));
        assert!(msgs[2].1.contains("MX77"), "the `a#` is not a comment");
    }

    #[test]
    fn parses_comment_bodies() {
        assert_eq!(
            parse_comment(" ignore[MX1] -- why not"),
            Some(("MX1", Some("why not".into())))
        );
        assert_eq!(parse_comment("ignore[MX1,MX2]"), Some(("MX1,MX2", None)));
        assert_eq!(parse_comment("ignore[MX1] why"), None);
        assert_eq!(find_directive("a: 1  # meshext-lint: x"), Some((6, " x")));
        assert_eq!(find_directive("a: b#meshext-lint: x"), None);
    }
}
