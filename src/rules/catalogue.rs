//! The rule catalogue, embedded from `rules/catalogue/*.yaml`.
//!
//! Each rule has a stable ID (`MX301`), a kebab-case name, a default severity and the texts
//! shown by `meshext-lint explain` and `docs/rules/<ID>.md`.

use crate::diag::Severity;
use crate::load::yaml;
use serde::Deserialize;
use std::sync::OnceLock;

#[derive(Debug, Clone, Deserialize)]
pub struct Rule {
    pub id: String,
    pub name: String,
    pub severity: Severity,
    pub summary: String,
    pub explanation: String,
    pub fix: String,
    pub example_fail: String,
    pub example_pass: String,
    /// Mesh versions the rule applies to, as prose ("all", "v2.1, v2.2").
    #[serde(default)]
    pub versions: Option<String>,
    /// What the rule needs besides the manifests (`images`): its examples are then not
    /// self-contained.
    #[serde(default)]
    pub needs: Option<String>,
}

impl Rule {
    pub fn default_severity(&self) -> Severity {
        self.severity
    }

    /// The terminal form of a rule.
    pub fn text(&self) -> String {
        let r = self;
        format!(
            "{id} {name} ({sev}; mesh versions: {v})\n\n{summary}\n\n{expl}\nHow to fix:\n{fix}\nFails:\n{fail}\nPasses:\n{pass}",
            id = r.id,
            name = r.name,
            sev = r.severity,
            v = r.versions.as_deref().unwrap_or("all"),
            summary = r.summary.trim(),
            expl = r.explanation,
            fix = indent(&r.fix),
            fail = indent(&r.example_fail),
            pass = indent(&r.example_pass),
        )
    }

    /// The Markdown page of a rule (docs/rules/<ID>.md is generated from this).
    pub fn markdown(&self) -> String {
        let r = self;
        format!(
            "# {id}: {name}\n\n*Default severity: {sev}. Mesh versions: {v}.*\n\n{summary}\n\n## Why\n\n{expl}\n## How to fix\n\n{fix}\n## Example that fires\n\n```yaml\n{fail}```\n\n## Example that passes\n\n```yaml\n{pass}```\n\nExplain it from the command line: `meshext-lint explain {id}`.\n",
            id = r.id,
            name = r.name,
            sev = r.severity,
            v = r.versions.as_deref().unwrap_or("all"),
            summary = r.summary.trim(),
            expl = r.explanation,
            fix = r.fix,
            fail = r.example_fail,
            pass = r.example_pass,
        )
    }

    /// The rule's documentation page, relative to the repository root.
    pub fn doc_path(&self) -> String {
        format!("docs/rules/{}.md", self.id)
    }
}

fn indent(s: &str) -> String {
    s.lines().map(|l| format!("    {l}\n")).collect()
}

fn parse_rule(path: &str, text: &str) -> Rule {
    let parsed = yaml::parse(text, yaml::Limits::default());
    if let Some(e) = parsed.error {
        panic!("rules/{path}: {}", e.message);
    }
    let root = parsed
        .docs
        .into_iter()
        .next()
        .and_then(|d| d.root)
        .unwrap_or_else(|| panic!("rules/{path}: empty"));
    serde_json::from_value(root.to_json()).unwrap_or_else(|e| panic!("rules/{path}: {e}"))
}

/// Every rule, sorted by ID. The catalogue is checked by tests, so a malformed entry can
/// only come from a broken build and is treated as a bug.
pub fn all() -> &'static [Rule] {
    static RULES: OnceLock<Vec<Rule>> = OnceLock::new();
    RULES.get_or_init(|| {
        let mut rules: Vec<Rule> = crate::data::files_under("catalogue")
            .filter(|(p, _)| p.ends_with(".yaml"))
            .map(|(p, t)| parse_rule(p, t))
            .collect();
        rules.sort_by(|a, b| a.id.cmp(&b.id));
        rules
    })
}

/// The rule with this ID or kebab-case name (`MX301`, `unknown-phase`), any case.
pub fn find(id_or_name: &str) -> Option<&'static Rule> {
    get(id_or_name).or_else(|| {
        all()
            .iter()
            .find(|r| r.name.eq_ignore_ascii_case(id_or_name))
    })
}

pub fn get(id: &str) -> Option<&'static Rule> {
    all().iter().find(|r| r.id.eq_ignore_ascii_case(id))
}

#[cfg(test)]
mod tests {
    use crate::diag::RuleId;

    #[test]
    fn every_catalogue_entry_has_an_id_and_back() {
        assert_eq!(RuleId::ALL.len(), super::all().len());
        for (id, rule) in RuleId::ALL.iter().zip(super::all()) {
            assert_eq!(id.as_str(), rule.id);
            assert_eq!(RuleId::parse(&rule.id.to_lowercase()), Some(*id));
            assert_eq!(id.default_severity(), rule.default_severity());
        }
        assert_eq!(RuleId::parse("MX607"), None, "MX607 is retired");
    }
}
