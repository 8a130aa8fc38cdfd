//! MX404: the module named by `manifest.yaml` is not a file in the image.

use super::{manifest_problem, per_image};
use crate::diag::Diagnostic;
use crate::image::ManifestProblemKind;
use crate::rules::registry::{Facts, Stage, Unit};
use crate::rules::RuleId;

pub(crate) struct ModulePath;

impl Unit for ModulePath {
    fn ids(&self) -> &'static [RuleId] {
        &[RuleId::MX404]
    }
    fn stage(&self) -> Stage {
        Stage::Images
    }
    fn check(&self, facts: &Facts, out: &mut Vec<Diagnostic>) {
        per_image(facts, out, |a| {
            a.problems
                .iter()
                .filter(|p| p.kind == ManifestProblemKind::Module)
                .map(manifest_problem)
                .collect()
        });
    }
}
