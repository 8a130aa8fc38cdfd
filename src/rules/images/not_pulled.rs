//! MX401: an SME's image is not pulled, or its reference is ambiguous.

use super::{image_error, not_pulled, per_unresolved, per_unresolved_plugin};
use crate::diag::Diagnostic;
use crate::extensions::ResolveProblem;
use crate::image::ImageErrorKind;
use crate::rules::registry::{Facts, Stage, Unit};
use crate::rules::RuleId;

pub(crate) struct NotPulled;

impl Unit for NotPulled {
    fn ids(&self) -> &'static [RuleId] {
        &[RuleId::MX401]
    }
    fn stage(&self) -> Stage {
        Stage::Images
    }
    fn check(&self, facts: &Facts, out: &mut Vec<Diagnostic>) {
        let judge = |reference: &str, p: &ResolveProblem| match p {
            ResolveProblem::NotPulled => Some(not_pulled(reference)),
            ResolveProblem::Unreadable(e) if e.kind == ImageErrorKind::Ambiguous => {
                Some(image_error(e))
            }
            ResolveProblem::Unreadable(_) => None,
        };
        per_unresolved(facts, out, judge);
        per_unresolved_plugin(facts, out, judge);
    }
}
