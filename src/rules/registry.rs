//! The rule registry: every unit that raises findings, the rule IDs it owns and the stage
//! of facts it needs. `lint` gathers facts (load → model → images → chains → runtime) and
//! loops over [`UNITS`]; nothing outside `src/rules/` creates a `Diagnostic` for a rule.

use super::{chains, control_plane, input, resources};
use crate::chain::{ExtensionDefaults, WorkloadChain};
use crate::diag::Diagnostic;
use crate::extensions::Resolution;
use crate::image::ImageError;
use crate::load::inputs::LoadProblem;
use crate::load::Document;
use crate::model::Mesh;
use crate::rules::{abi, images, runtime, RuleId};
use crate::simulate::startup::Startup;
use crate::suppress::SuppressionProblem;
use std::sync::Arc;

/// What a unit needs before it can judge. Units of a stage run only when the stage's facts
/// were gathered (`--images` for images and modules, not `--no-runtime` for runtime).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Stage {
    /// The files as read: encoding, syntax, duplicate keys, non-objects. Run by `lint::load`
    /// too, so `chain` and `simulate` report unreadable inputs.
    Files,
    /// The parsed documents (schemas, API versions).
    Documents,
    /// The typed mesh (control plane, membership, extension resources).
    Mesh,
    /// Pulled images and their manifests.
    Images,
    /// Modules judged statically against the proxy-wasm ABI.
    Modules,
    /// Effective filter chains.
    Chains,
    /// Modules started as the mesh starts them.
    Runtime,
    /// The suppressions themselves, once every other finding is known.
    Suppressions,
}

/// The facts gathered for one lint run. Facts of a stage not gathered yet are empty.
pub struct Facts<'a> {
    /// Problems of the input files themselves (stage `Files`).
    pub load_problems: &'a [LoadProblem],
    pub documents: &'a [Arc<Document>],
    pub mesh: &'a Mesh,
    /// Images and modules per extension (empty without `--images`).
    pub resolution: &'a Resolution,
    pub defaults: &'a ExtensionDefaults,
    pub chains: &'a [WorkloadChain],
    /// Bad or unused suppressions (stage `Suppressions`).
    pub suppression_problems: &'a [SuppressionProblem],
    /// `--images` sources that could not be read.
    pub image_sources: &'a [ImageError],
    /// How each pulled module started (empty with `--no-runtime`).
    pub startups: &'a [Startup],
}

/// A rule unit: one file under `src/rules/<family>/`.
pub trait Unit: Sync {
    /// The rules this unit reports (and no other unit does).
    fn ids(&self) -> &'static [RuleId];
    fn stage(&self) -> Stage;
    fn check(&self, facts: &Facts, out: &mut Vec<Diagnostic>);
}

/// Every unit, in rule-family order.
pub static UNITS: &[&dyn Unit] = &[
    &input::syntax::Syntax,
    &input::schema::Schema,
    &input::api_version::ApiVersion,
    &input::suppression::Suppression,
    &control_plane::enabled::Enabled,
    &control_plane::membership::Membership,
    &control_plane::sme_support::SmeSupport,
    &control_plane::missing::Missing,
    &control_plane::operator::Operator,
    &control_plane::istio::Istio,
    &resources::phase::PhaseName,
    &resources::missing_phase::MissingPhase,
    &resources::image::ImageReference,
    &resources::config::Config,
    &resources::selector::Selector,
    &resources::status::Status,
    &resources::wasm_plugin_schema::WasmPluginSchema,
    &resources::wasm_plugin_selection::WasmPluginSelection,
    &resources::wasm_plugin_url::WasmPluginUrl,
    &resources::wasm_plugin_pull::WasmPluginPull,
    &resources::wasm_plugin_config::WasmPluginConfig,
    &chains::ties::Ties,
    &chains::positions::Positions,
    &chains::coverage::Coverage,
    &chains::overrides::Overrides,
    &chains::reach::Reach,
    &chains::custom::CustomProvider,
    &chains::wasm_ties::WasmTies,
    &chains::wasm_reach::WasmReach,
    &images::not_pulled::NotPulled,
    &images::unreadable::Unreadable,
    &images::manifest::Manifest,
    &images::module_path::ModulePath,
    &images::invalid_module::InvalidModule,
    &images::plugin_fetch::PluginFetch,
    &images::plugin_sha256::PluginSha256,
    &images::plugin_type::PluginType,
    &images::plugin_name::PluginName,
    &abi::marker::Marker,
    &abi::imports::Imports,
    &abi::exports::Exports,
    &runtime::start::Start,
    &runtime::configuration::Configuration,
    &runtime::root_id::RootId,
];

/// Runs every unit whose stage is in `stages`.
pub fn run(facts: &Facts, stages: &[Stage], out: &mut Vec<Diagnostic>) {
    for unit in UNITS.iter().filter(|u| stages.contains(&u.stage())) {
        let from = out.len();
        unit.check(facts, out);
        debug_assert!(
            out[from..].iter().all(|d| unit.ids().contains(&d.rule)),
            "a unit reported a rule it does not own"
        );
    }
}

/// The unit that owns `id`, if any.
pub fn owner(id: RuleId) -> Option<&'static dyn Unit> {
    UNITS.iter().copied().find(|u| u.ids().contains(&id))
}

/// Declares a unit that reports some kinds of one engine's typed problems: `report(facts, out,
/// &[kinds])` turns the problems of those kinds into findings. The ABI and runtime families
/// declare their units with it.
macro_rules! kinds_unit {
    ($name:ident, [$($id:ident),+], $stage:ident, $report:path, [$($kind:path),+]) => {
        pub(crate) struct $name;

        impl crate::rules::registry::Unit for $name {
            fn ids(&self) -> &'static [crate::rules::RuleId] {
                &[$(crate::rules::RuleId::$id),+]
            }
            fn stage(&self) -> crate::rules::registry::Stage {
                crate::rules::registry::Stage::$stage
            }
            fn check(
                &self,
                facts: &crate::rules::registry::Facts,
                out: &mut Vec<crate::diag::Diagnostic>,
            ) {
                $report(facts, out, &[$($kind),+]);
            }
        }
    };
}
pub(crate) use kinds_unit;
