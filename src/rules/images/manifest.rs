//! MX403: an image's `/manifest.yaml` is missing or invalid.

use super::{manifest_problem, per_image};
use crate::diag::Diagnostic;
use crate::image::ManifestProblemKind;
use crate::rules::registry::{Facts, Stage, Unit};
use crate::rules::RuleId;

pub(crate) struct Manifest;

impl Unit for Manifest {
    fn ids(&self) -> &'static [RuleId] {
        &[RuleId::MX403]
    }
    fn stage(&self) -> Stage {
        Stage::Images
    }
    fn check(&self, facts: &Facts, out: &mut Vec<Diagnostic>) {
        per_image(facts, out, |a| {
            a.problems
                .iter()
                .filter(|p| p.kind == ManifestProblemKind::Manifest)
                .map(manifest_problem)
                .collect()
        });
    }
}
