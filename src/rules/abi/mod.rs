//! Family 5xx: a module against the proxy-wasm ABI of the mesh version's proxy. The ABI engine
//! (`crate::abi`) finds typed problems; these turn them into findings.

pub(crate) mod exports;
pub(crate) mod imports;
pub(crate) mod marker;

use crate::abi::{self, AbiProblem, AbiProblemKind, ModuleInfo};
use crate::diag::{Diagnostic, Location, Severity};
use crate::model::MeshVersion;
use crate::rules::registry::Facts;
use crate::rules::RuleId;
use rayon::prelude::*;

/// The rule of a kind of ABI problem.
pub fn rule(kind: AbiProblemKind) -> RuleId {
    match kind {
        AbiProblemKind::MissingMarker => RuleId::MX501,
        AbiProblemKind::MarkerNotAccepted => RuleId::MX502,
        AbiProblemKind::ImportNotProvided => RuleId::MX503,
        AbiProblemKind::ImportSignatureMismatch => RuleId::MX504,
        AbiProblemKind::ImportFromOtherAbi => RuleId::MX505,
        AbiProblemKind::WasiUnavailable => RuleId::MX506,
        AbiProblemKind::RequiredExportMissing => RuleId::MX507,
        AbiProblemKind::CallbackSignatureMismatch => RuleId::MX508,
    }
}

/// The finding for one problem of the module at `at`. A problem the module links despite
/// (a stubbed WASI call) is a warning.
pub fn diagnostic(p: &AbiProblem, at: &Location) -> Diagnostic {
    let mut d = Diagnostic::new(rule(p.kind), p.message.clone()).at(at.clone());
    if !p.help.is_empty() {
        d = d.help(p.help.clone());
    }
    if p.links {
        d.severity = Severity::Warning;
    }
    d
}

/// Every finding for `info` on `version`'s proxy (what `inspect` shows per version).
pub fn judge(
    info: &ModuleInfo,
    version: MeshVersion,
    at: &Location,
    subject: &str,
) -> Vec<Diagnostic> {
    abi::check(info, version, subject)
        .iter()
        .map(|p| diagnostic(p, at))
        .collect()
}

/// Reports the ABI problems of the given kinds of every analysed image, tied to its users.
fn report(facts: &Facts, out: &mut Vec<Diagnostic>, kinds: &[AbiProblemKind]) {
    // Work out the (lazy) ABI problems of all images in parallel; later units find them cached.
    facts.resolution.images.par_iter().for_each(|(a, _)| {
        a.abi_problems();
    });
    super::images::per_image(facts, out, |a| {
        let at = a.module_location();
        a.abi_problems()
            .iter()
            .filter(|p| kinds.contains(&p.kind))
            .map(|p| diagnostic(p, &at))
            .collect()
    });
    // WasmPlugin modules, as the mesh version's fetcher extracts them.
    facts
        .resolution
        .plugins
        .images
        .par_iter()
        .for_each(|(a, _)| {
            a.abi_problems();
        });
    super::images::per_plugin_image(facts, out, |a, users| {
        let at = a.module_location();
        // A module only NETWORK plugins use need not have HTTP callbacks (MX409 judges those).
        let all_network = users
            .iter()
            .all(|&i| super::images::plugin_is_network(facts.mesh, &facts.mesh.wasm_plugins[i]));
        a.abi_problems()
            .iter()
            .filter(|p| kinds.contains(&p.kind))
            .filter(|p| !(all_network && abi::is_missing_http_callbacks(p)))
            .map(|p| diagnostic(p, &at))
            .collect()
    });
}

/// Declares a unit reporting some kinds of ABI problem.
macro_rules! abi_unit {
    ($name:ident, [$($id:ident),+], [$($kind:ident),+]) => {
        crate::rules::registry::kinds_unit!(
            $name,
            [$($id),+],
            Modules,
            super::report,
            [$(crate::abi::AbiProblemKind::$kind),+]
        );
    };
}
use abi_unit;
