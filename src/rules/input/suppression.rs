//! MX107 (bad suppression) and MX108 (in-source suppression that silenced nothing): the
//! suppressor's problems, reported after every other finding is known.

use crate::diag::Diagnostic;
use crate::rules::registry::{Facts, Stage, Unit};
use crate::rules::RuleId;
use crate::suppress::{SuppressionProblem, ANNOTATION};

pub(crate) struct Suppression;

impl Unit for Suppression {
    fn ids(&self) -> &'static [RuleId] {
        &[RuleId::MX107, RuleId::MX108]
    }

    fn stage(&self) -> Stage {
        Stage::Suppressions
    }

    fn check(&self, facts: &Facts, out: &mut Vec<Diagnostic>) {
        out.extend(facts.suppression_problems.iter().map(diagnostic));
    }
}

pub(crate) fn diagnostic(p: &SuppressionProblem) -> Diagnostic {
    match p {
        SuppressionProblem::UnknownRule { id, origin, at } => Diagnostic::new(
            RuleId::MX107,
            format!("unknown rule {id:?} in {} suppression", origin.as_str()),
        )
        .at_opt(at.clone())
        .help("`meshext-lint rules` lists the rule IDs"),
        SuppressionProblem::NotAString { at } => Diagnostic::new(
            RuleId::MX107,
            format!("`{ANNOTATION}` must be a string of rule IDs, e.g. \"MX306,MX304\""),
        )
        .at(at.clone()),
        SuppressionProblem::MalformedComment { at } => Diagnostic::new(
            RuleId::MX107,
            "malformed suppression comment; it silences nothing",
        )
        .at(at.clone())
        .help("write `# meshext-lint: ignore[MX306,MX304] -- reason`"),
        SuppressionProblem::NoRule { at } => Diagnostic::new(
            RuleId::MX107,
            "suppression names no rule; it silences nothing",
        )
        .at(at.clone()),
        SuppressionProblem::Unused { rule, origin, at } => Diagnostic::new(
            RuleId::MX108,
            format!(
                "this {} suppresses {rule} but no {rule} finding is there",
                origin.as_str()
            ),
        )
        .at(at.clone())
        .help(format!(
            "remove {rule} from the suppression, or the suppression itself"
        )),
    }
}
