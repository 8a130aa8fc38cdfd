//! Fingerprints and baselines.
//!
//! A fingerprint identifies a finding independently of where it sits in the file, so that
//! edits above it do not make it look new: a hash of the rule, the resource, the message with
//! line/column numbers normalised away, and the trimmed text of the flagged line (the file name
//! too when the finding has no resource). SARIF `partialFingerprints` use it, and so does the
//! baseline file written by `--write-baseline` and read by `--baseline`.

use crate::diag::{Diagnostic, Suppression};
use crate::source::SourceFile;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

/// `line 12`, `lines 3-4`, `file.yaml:12:5` → `line N`, `lines N-N`, `file.yaml:N:N`: numbers
/// that are positions change with unrelated edits, so they are not part of a fingerprint.
pub fn normalize_message(msg: &str) -> String {
    let mut out = String::with_capacity(msg.len());
    let mut chars = msg.chars().peekable();
    // Whether the previous token was a position we replaced (for the `4` in `3-4`).
    let mut after_position = false;
    while let Some(c) = chars.next() {
        out.push(c);
        let positional = c == ':'
            || (c == ' ' && (out.ends_with("line ") || out.ends_with("lines ")))
            || (c == '-' && after_position);
        after_position = false;
        if positional && chars.peek().is_some_and(char::is_ascii_digit) {
            while chars.peek().is_some_and(char::is_ascii_digit) {
                chars.next();
            }
            out.push('N');
            after_position = true;
        }
    }
    out
}

/// The text of the flagged line, trimmed, or "" when the source is not known.
fn flagged_line<'a>(d: &Diagnostic, sources: &'a HashMap<String, Arc<SourceFile>>) -> &'a str {
    d.location
        .as_ref()
        .and_then(|l| Some(sources.get(&l.file)?.line_text(l.line).trim()))
        .unwrap_or("")
}

/// A stable identifier of a finding: 32 hex digits.
pub fn fingerprint(d: &Diagnostic, sources: &HashMap<String, Arc<SourceFile>>) -> String {
    let mut h = Sha256::new();
    let file = match (&d.resource, &d.location) {
        (None, Some(l)) => l.file.as_str(),
        _ => "",
    };
    for part in [
        d.rule.as_str(),
        d.resource.as_deref().unwrap_or(""),
        file,
        &normalize_message(&d.message),
        flagged_line(d, sources),
    ] {
        h.update(part.as_bytes());
        h.update([0]);
    }
    h.finalize()[..16]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

type Key = (String, String, String);

fn key(d: &Diagnostic, sources: &HashMap<String, Arc<SourceFile>>) -> Key {
    (
        d.rule.to_string(),
        d.resource.clone().unwrap_or_default(),
        fingerprint(d, sources),
    )
}

/// Recorded findings, matched as a multiset: two identical findings need two entries.
#[derive(Debug, Default, Clone)]
pub struct Baseline {
    entries: HashMap<Key, usize>,
}

impl Baseline {
    /// Reads a baseline file written by [`Baseline::render`]. Errors say where the file is wrong.
    pub fn load(path: &Path) -> Result<Baseline, String> {
        let name = path.display();
        // Over the limit is an error, not a silently truncated (then "invalid JSON") baseline.
        let text = crate::load::read::read_regular_text(
            path,
            crate::limits::get(crate::limits::Limit::BaselineBytes),
        )
        .map_err(|e| format!("{name}: cannot read the baseline: {e}"))?;
        Baseline::parse(&text).map_err(|e| format!("{name}:{e}"))
    }

    /// Parses baseline JSON; errors start with `line:col: `.
    pub fn parse(text: &str) -> Result<Baseline, String> {
        let v: Value = serde_json::from_str(text)
            .map_err(|e| format!("{}:{}: invalid JSON: {e}", e.line(), e.column()))?;
        let bad = |what: &str| format!("1:1: not a meshext-lint baseline: {what}");
        if v.get("version").and_then(Value::as_u64) != Some(1) {
            return Err(bad("expected \"version\": 1"));
        }
        let items = v
            .get("findings")
            .and_then(Value::as_array)
            .ok_or_else(|| bad("expected a \"findings\" array"))?;
        let mut b = Baseline::default();
        for (i, item) in items.iter().enumerate() {
            let field = |k: &str| item.get(k).and_then(Value::as_str).map(str::to_string);
            let (Some(rule), Some(fp)) = (field("rule"), field("fingerprint")) else {
                return Err(bad(&format!(
                    "findings[{i}] needs \"rule\" and \"fingerprint\""
                )));
            };
            // A hand-edited entry may name the rule (`unknown-phase`) instead of its ID.
            let rule = crate::rules::find(&rule).map_or(rule, |r| r.id.clone());
            *b.entries
                .entry((rule, field("resource").unwrap_or_default(), fp))
                .or_default() += 1;
        }
        Ok(b)
    }

    pub fn len(&self) -> usize {
        self.entries.values().sum()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Marks findings recorded in the baseline as suppressed (kind `baseline`); returns how
    /// many. Findings already suppressed otherwise are left alone.
    pub fn apply(
        &self,
        diags: &mut [Diagnostic],
        sources: &HashMap<String, Arc<SourceFile>>,
    ) -> usize {
        let mut left = self.entries.clone();
        let mut n = 0;
        for d in diags.iter_mut().filter(|d| d.suppressed.is_none()) {
            if let Some(count) = left.get_mut(&key(d, sources)).filter(|c| **c > 0) {
                *count -= 1;
                n += 1;
                d.suppressed = Some(Suppression {
                    kind: crate::diag::SuppressionKind::Baseline,
                    reason: Some("recorded in the baseline".into()),
                });
            }
        }
        n
    }

    /// The findings that count now (not suppressed), as a baseline.
    pub fn of(diags: &[Diagnostic], sources: &HashMap<String, Arc<SourceFile>>) -> Baseline {
        let mut b = Baseline::default();
        for d in diags.iter().filter(|d| d.suppressed.is_none()) {
            *b.entries.entry(key(d, sources)).or_default() += 1;
        }
        b
    }

    /// Drops the findings recorded here (`--new-since`), matched as a multiset; suppressed
    /// findings are kept, marked as they are.
    pub fn remove_recorded(
        &self,
        diags: &mut Vec<Diagnostic>,
        sources: &HashMap<String, Arc<SourceFile>>,
    ) {
        let mut left = self.entries.clone();
        diags.retain(|d| {
            if d.suppressed.is_some() {
                return true;
            }
            match left.get_mut(&key(d, sources)).filter(|c| **c > 0) {
                Some(count) => {
                    *count -= 1;
                    false
                }
                None => true,
            }
        });
    }

    /// The baseline file for the findings that count now (not suppressed), sorted.
    pub fn render(diags: &[Diagnostic], sources: &HashMap<String, Arc<SourceFile>>) -> String {
        let findings: Vec<Value> = diags
            .iter()
            .filter(|d| d.suppressed.is_none())
            .map(|d| {
                json!({
                    "rule": d.rule,
                    "resource": d.resource.as_deref().unwrap_or(""),
                    "fingerprint": fingerprint(d, sources),
                    "file": d.location.as_ref().map(|l| l.file.as_str()).unwrap_or(""),
                    "message": d.message,
                })
            })
            .collect();
        let doc = json!({
            "version": 1,
            "tool": "meshext-lint",
            "findings": findings,
        });
        let mut s = serde_json::to_string_pretty(&doc).unwrap_or_default();
        s.push('\n');
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::RuleId;

    fn setup(text: &str, needle: &str) -> (Diagnostic, HashMap<String, Arc<SourceFile>>) {
        let src = SourceFile::new("a.yaml", text);
        let at = text.find(needle).unwrap();
        let d = Diagnostic::new(RuleId::MX102, "priority clashes with line 3 at a.yaml:3:7")
            .at(src.location(at, at + needle.len()))
            .resource("ServiceMeshExtension shop/auth");
        (d, HashMap::from([("a.yaml".to_string(), src)]))
    }

    #[test]
    fn message_positions_are_normalised() {
        assert_eq!(
            normalize_message("see line 12 and lines 3-4, a.yaml:10:2; port 8080"),
            "see line N and lines N-N, a.yaml:N:N; port 8080"
        );
    }

    #[test]
    fn fingerprint_survives_edits_above_but_not_on_the_line() {
        let (a, sa) = setup("kind: X\nspec:\n  priority: 5\n", "priority");
        let (mut b, sb) = setup(
            "# new comment\nkind: X\n\nspec:\n  priority: 5\n",
            "priority",
        );
        b.message = "priority clashes with line 5 at a.yaml:5:7".into();
        assert_eq!(fingerprint(&a, &sa), fingerprint(&b, &sb));
        let (c, sc) = setup("kind: X\nspec:\n  priority: 6\n", "priority");
        assert_ne!(fingerprint(&a, &sa), fingerprint(&c, &sc));
        assert_eq!(fingerprint(&a, &sa).len(), 32);
    }

    #[test]
    fn baseline_round_trip_is_a_multiset() {
        let (a, s) = setup("spec:\n  priority: 5\n", "priority");
        let text = Baseline::render(std::slice::from_ref(&a), &s);
        let b = Baseline::parse(&text).unwrap();
        assert_eq!(b.len(), 1);
        let mut diags = vec![a.clone(), a.clone()];
        assert_eq!(b.apply(&mut diags, &s), 1);
        assert_eq!(
            diags[0].suppressed.as_ref().unwrap().kind,
            crate::diag::SuppressionKind::Baseline
        );
        assert!(
            diags[1].suppressed.is_none(),
            "one entry covers one finding"
        );
    }

    #[test]
    fn bad_baselines_say_where() {
        assert!(Baseline::parse("{\n  \"version\": 1,\n  x")
            .unwrap_err()
            .starts_with("3:3: invalid JSON"));
        assert!(Baseline::parse("{\"version\": 2}")
            .unwrap_err()
            .contains("version"));
        assert!(Baseline::parse("{\"version\": 1, \"findings\": [{}]}")
            .unwrap_err()
            .contains("findings[0]"));
    }
}
