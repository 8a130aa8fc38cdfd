//! MX101 (unreadable file), MX102 (duplicate key) and MX106 (not a Kubernetes object): the
//! loader's problems, in the order it met them.

use crate::diag::Diagnostic;
use crate::load::inputs::{max_file_bytes, LoadProblem};
use crate::rules::registry::{Facts, Stage, Unit};
use crate::rules::RuleId;

pub(crate) struct Syntax;

impl Unit for Syntax {
    fn ids(&self) -> &'static [RuleId] {
        &[RuleId::MX101, RuleId::MX102, RuleId::MX106]
    }

    fn stage(&self) -> Stage {
        Stage::Files
    }

    fn check(&self, facts: &Facts, out: &mut Vec<Diagnostic>) {
        out.extend(facts.load_problems.iter().map(diagnostic));
    }
}

fn diagnostic(p: &LoadProblem) -> Diagnostic {
    match p {
        LoadProblem::TooLarge { at } => Diagnostic::new(
            RuleId::MX101,
            format!(
                "file is larger than {} MiB; refusing to parse it",
                max_file_bytes() >> 20
            ),
        )
        .at(at.clone()),
        LoadProblem::NotUtf8 { offset, at } => Diagnostic::new(
            RuleId::MX101,
            format!("not UTF-8 text: invalid byte at offset {offset}"),
        )
        .at(at.clone())
        .help("meshext-lint reads YAML and JSON manifests; binary files cannot be checked"),
        LoadProblem::Binary { offset, at } => Diagnostic::new(
            RuleId::MX101,
            format!("binary data: NUL byte at offset {offset}"),
        )
        .at(at.clone()),
        LoadProblem::Syntax { message, at } => {
            Diagnostic::new(RuleId::MX101, format!("invalid YAML: {message}")).at(at.clone())
        }
        LoadProblem::DuplicateKey { key, at, first } => Diagnostic::new(
            RuleId::MX102,
            format!("duplicate key `{key}`: the earlier value is silently replaced"),
        )
        .at(at.clone())
        .related(first.clone(), "first defined here")
        .help("remove one of the two entries"),
        LoadProblem::NotAnObject { at } => Diagnostic::new(
            RuleId::MX106,
            "mapping without `apiVersion` and `kind`: not a Kubernetes object; skipped",
        )
        .at(at.clone()),
        LoadProblem::NotAMapping { at } => Diagnostic::new(
            RuleId::MX106,
            "document is not a Kubernetes object (expected a mapping with apiVersion and kind); skipped",
        )
        .at(at.clone()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::load::inputs::{add_source, Loaded};

    #[test]
    fn a_duplicate_key_points_at_both_keys() {
        let mut l = Loaded::default();
        add_source(
            &mut l,
            "d.yaml".into(),
            b"a: 1\nb: 2\na: 3\n---\n- x\n".to_vec(),
        );
        let found: Vec<_> = l.problems.iter().map(diagnostic).collect();
        let rules: Vec<_> = found.iter().map(|d| d.rule).collect();
        assert_eq!(rules, [RuleId::MX102, RuleId::MX106, RuleId::MX106]);
        assert_eq!(found[0].location.as_ref().unwrap().line, 3);
        assert_eq!(found[0].related[0].location.line, 1);
    }
}
