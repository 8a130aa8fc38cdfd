//! MX402: an `--images` source or an SME's image cannot be read.

use super::{image_error, per_unresolved, per_unresolved_plugin};
use crate::diag::Diagnostic;
use crate::extensions::ResolveProblem;
use crate::image::ImageErrorKind;
use crate::rules::registry::{Facts, Stage, Unit};
use crate::rules::RuleId;

pub(crate) struct Unreadable;

impl Unit for Unreadable {
    fn ids(&self) -> &'static [RuleId] {
        &[RuleId::MX402]
    }
    fn stage(&self) -> Stage {
        Stage::Images
    }
    fn check(&self, facts: &Facts, out: &mut Vec<Diagnostic>) {
        out.extend(facts.image_sources.iter().map(image_error));
        let judge = |_: &str, p: &ResolveProblem| match p {
            ResolveProblem::Unreadable(e) if e.kind != ImageErrorKind::Ambiguous => {
                Some(image_error(e))
            }
            _ => None,
        };
        per_unresolved(facts, out, judge);
        per_unresolved_plugin(facts, out, judge);
    }
}
