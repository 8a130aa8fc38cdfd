//! MX405: the module is not valid WebAssembly.

use super::{invalid_module, per_image};
use crate::diag::Diagnostic;
use crate::rules::registry::{Facts, Stage, Unit};
use crate::rules::RuleId;

pub(crate) struct InvalidModule;

impl Unit for InvalidModule {
    fn ids(&self) -> &'static [RuleId] {
        &[RuleId::MX405]
    }
    fn stage(&self) -> Stage {
        Stage::Modules
    }
    fn check(&self, facts: &Facts, out: &mut Vec<Diagnostic>) {
        per_image(facts, out, |a| {
            a.invalid_module
                .iter()
                .map(|e| invalid_module(e, &a.module_location(), &a.reference))
                .collect()
        });
        super::per_plugin_image(facts, out, |a, _| {
            a.invalid_module
                .iter()
                .map(|e| invalid_module(e, &a.module_location(), &a.reference))
                .collect()
        });
    }
}
