//! Family 7xx: modules started as the mesh starts them. The simulator gathers the typed start
//! failures (`simulate::startup`); these turn them into findings.

pub(crate) mod configuration;
pub(crate) mod root_id;
pub(crate) mod start;

use crate::diag::Diagnostic;
use crate::rules::registry::Facts;
use crate::rules::RuleId;
use crate::simulate::startup::{StartFailure, StartFailureKind};

/// The rule of a kind of start failure.
pub fn rule(kind: StartFailureKind) -> RuleId {
    match kind {
        StartFailureKind::LoadFailed => RuleId::MX701,
        StartFailureKind::VmStartFailed => RuleId::MX702,
        StartFailureKind::ConfigurationRejected => RuleId::MX703,
        StartFailureKind::ConfigurationPanics => RuleId::MX704,
        StartFailureKind::RootIdMismatch => RuleId::MX705,
    }
}

/// The finding for a failure, without location.
pub fn diagnostic(f: &StartFailure) -> Diagnostic {
    let d = Diagnostic::new(rule(f.kind), f.message.clone());
    match &f.help {
        Some(h) => d.help(h.clone()),
        None => d,
    }
}

/// Reports the start failures of the given kinds: at the first SME's `spec.image` (its
/// configuration for configuration problems), related to the module and the other SMEs.
fn report(facts: &Facts, out: &mut Vec<Diagnostic>, kinds: &[StartFailureKind]) {
    let mesh = facts.mesh;
    for s in facts.startups {
        let Some(f) = s.failure.as_ref().filter(|f| kinds.contains(&f.kind)) else {
            continue;
        };
        let first = &mesh.extensions[s.users[0]];
        let Some(a) = &facts.resolution.by_extension[s.users[0]] else {
            continue;
        };
        let at = match f.kind {
            StartFailureKind::ConfigurationRejected | StartFailureKind::ConfigurationPanics => {
                if first.meta.doc.root.pointer("/spec/config").is_some() {
                    first.meta.key_loc("/spec/config")
                } else {
                    first.meta.key_loc("/spec")
                }
            }
            _ => first.meta.loc("/spec/image"),
        };
        let mut d = diagnostic(f)
            .at(at)
            .resource(first.meta.display())
            .related(a.module_location(), "the module");
        for &j in &s.users[1..] {
            let e = &mesh.extensions[j];
            d = d.related(
                e.meta.loc("/spec/image"),
                format!("also {}", e.meta.display()),
            );
        }
        out.push(d);
    }
}

/// Declares a unit reporting some kinds of start failure.
macro_rules! runtime_unit {
    ($name:ident, [$($id:ident),+], [$($kind:ident),+]) => {
        crate::rules::registry::kinds_unit!(
            $name,
            [$($id),+],
            Runtime,
            super::report,
            [$(crate::simulate::startup::StartFailureKind::$kind),+]
        );
    };
}
use runtime_unit;
