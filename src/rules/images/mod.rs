//! Family 4xx: pulled images, their `manifest.yaml` and module (plus MX302, which needs the
//! manifest). The functions here turn the image engine's typed problems into findings; the
//! units report them for a lint run, `inspect`, `simulate` and `pack` use them directly.

pub(crate) mod invalid_module;
pub(crate) mod manifest;
pub(crate) mod module_path;
pub(crate) mod not_pulled;
pub(crate) mod plugin_fetch;
pub(crate) mod plugin_name;
pub(crate) mod plugin_sha256;
pub(crate) mod plugin_type;
pub(crate) mod unreadable;

use crate::abi::InvalidModule;
use crate::diag::{Diagnostic, Location};
use crate::extensions::PluginImage;
use crate::extensions::{Analysed, ResolveProblem};
use crate::image::fetcher::{FetchProblem, FetchProblemKind};
use crate::image::ManifestProblemKind;
use crate::image::{ExtensionPackage, ImageError, ImageErrorKind, ManifestProblem};
use crate::model::{Mesh, WasmPlugin};
use crate::rules::registry::Facts;
use crate::rules::RuleId;

/// The finding for an image (or source) that could not be read; located at the source, callers
/// relocate it to `spec.image`.
pub fn image_error(e: &ImageError) -> Diagnostic {
    let (rule, help) = match e.kind {
        ImageErrorKind::Ambiguous => (RuleId::MX401, "name the image unambiguously: copy it with its full reference, `skopeo copy docker://REF oci:DIR:REF`"),
        ImageErrorKind::Corrupt => (RuleId::MX402, "pull the image again (`skopeo copy docker://REF oci:DIR:REF`); if it stays unreadable, rebuild and push it"),
        ImageErrorKind::Source => (RuleId::MX402, "pass an OCI layout directory, an OCI archive, a docker-archive or an unpacked image root (manifest.yaml + module)"),
    };
    Diagnostic::new(rule, e.message.clone())
        .at(Location::file_only(e.source.clone()))
        .help(help)
}

/// The MX401 finding for a reference no source holds (no location: the caller adds
/// `spec.image`'s).
pub fn not_pulled(reference: &str) -> Diagnostic {
    Diagnostic::new(RuleId::MX401, format!("image `{reference}` is not in any --images source, so its contents are not checked"))
        .help(format!("pull it for offline checks: `skopeo copy docker://{reference} oci:images:{reference}` and pass `--images images`"))
}

/// The finding (MX403 or MX404) for a problem of an image's package.
pub fn manifest_problem(p: &ManifestProblem) -> Diagnostic {
    let rule = match p.kind {
        ManifestProblemKind::Manifest => RuleId::MX403,
        ManifestProblemKind::Module => RuleId::MX404,
    };
    let mut d = Diagnostic::new(rule, p.message.clone()).at(p.at.clone());
    if let Some(h) = &p.help {
        d = d.help(h.clone());
    }
    if let Some((at, note)) = &p.related {
        d = d.related(at.clone(), note.clone());
    }
    d
}

/// Every finding about a package, in the order found.
pub fn package_diagnostics(pkg: &ExtensionPackage) -> Vec<Diagnostic> {
    pkg.problems.iter().map(manifest_problem).collect()
}

/// The MX405 finding for a module that is not valid WebAssembly.
pub fn invalid_module(err: &InvalidModule, at: &Location, subject: &str) -> Diagnostic {
    Diagnostic::new(
        RuleId::MX405,
        format!("`{subject}` is not a valid WebAssembly module: {err}"),
    )
    .at(at.clone())
    .help(
        "The proxy rejects the module before running it. Check that the image carries the \
         compiled `.wasm` file (not a text `.wat`, a gzip or a WebAssembly component) and that the \
         build finished; `wasm-tools validate` shows the same error.",
    )
}

/// A finding about an image, tied to the SMEs that use it: related locations to each, and the
/// resource when only one uses it.
pub(crate) fn for_users(mesh: &Mesh, users: &[usize], mut d: Diagnostic) -> Diagnostic {
    for &i in users {
        let e = &mesh.extensions[i];
        d = d.related(
            e.meta.loc("/spec/image"),
            format!("used by {}", e.meta.display()),
        );
    }
    if d.resource.is_none() && users.len() == 1 {
        d.resource = Some(mesh.extensions[users[0]].meta.display());
    }
    d
}

/// A finding about a WasmPlugin image: at the first WasmPlugin's `spec.url`, related to the
/// others that use it.
pub(crate) fn for_plugin_users(mesh: &Mesh, users: &[usize], mut d: Diagnostic) -> Diagnostic {
    let Some(first) = users.first().map(|&i| &mesh.wasm_plugins[i]) else {
        return d;
    };
    // Findings inside the image keep their location and point back at the plugin.
    d = match d.location {
        Some(_) => d.related(
            first.meta.loc("/spec/url"),
            format!("used by {}", first.meta.display()),
        ),
        None => d.at(first.meta.loc("/spec/url")),
    };
    if d.resource.is_none() {
        d = d.resource(first.meta.display());
    }
    for &i in &users[1..] {
        let p = &mesh.wasm_plugins[i];
        d = d.related(
            p.meta.loc("/spec/url"),
            format!("also {}", p.meta.display()),
        );
    }
    d
}

/// Reports `judge`'s findings of every WasmPlugin image once, at its first user.
pub(crate) fn per_plugin_image(
    facts: &Facts,
    out: &mut Vec<Diagnostic>,
    judge: impl Fn(&PluginImage, &[usize]) -> Vec<Diagnostic>,
) {
    for (a, users) in &facts.resolution.plugins.images {
        out.extend(
            judge(a, users)
                .into_iter()
                .map(|d| for_plugin_users(facts.mesh, users, d)),
        );
    }
}

/// Whether the mesh installs `plugin` as a network filter: `type: NETWORK` on Istio 1.20+
/// (older CRDs prune the field and every plugin is HTTP).
pub fn plugin_is_network(mesh: &Mesh, plugin: &WasmPlugin) -> bool {
    let has_type = mesh
        .istio
        .or_else(|| mesh.version.istio())
        .is_some_and(|i| i.major > 1 || i.minor >= 20);
    has_type && plugin.plugin_type.as_deref() == Some("NETWORK")
}

/// The istio-agent build a mesh runs, for messages: `OSSM v2.2 (Istio 1.12)`, `Istio 1.26.1`.
pub fn fetcher_label(mesh: &Mesh) -> String {
    use crate::model::{IstioKind, VersionSource};
    let istio = mesh.istio.or_else(|| mesh.version.istio());
    let sail = mesh
        .istio_control_planes
        .iter()
        .any(|c| matches!(c.kind, IstioKind::Sail | IstioKind::SailRevision));
    let upstream = mesh.version_source == Some(VersionSource::IstioCommandLine)
        || (mesh.control_planes.is_empty() && !mesh.istio_control_planes.is_empty() && !sail);
    match (istio, upstream) {
        (Some(i), true) => format!("Istio {i}"),
        (Some(i), false) => format!("OSSM {} (Istio {i})", mesh.version),
        (None, _) => format!("mesh {}", mesh.version),
    }
}

/// What the proxy does when a WasmPlugin's module cannot be fetched, on the mesh's Istio
/// release and with the plugin's `failStrategy` (pruned before 1.19): `pkg/wasm/convert.go`
/// NACKs the ECDS update (≤1.24, fail-closed), or puts an RBAC filter in its place: allow-all
/// when failing open (1.19+), deny-all from 1.25.
pub fn fetch_failure_effect(mesh: &Mesh, plugin: &WasmPlugin) -> String {
    let minor = mesh
        .istio
        .or_else(|| mesh.version.istio())
        .map(|i| if i.major > 1 { u8::MAX } else { i.minor })
        .unwrap_or(12);
    let open = minor >= 19 && plugin.fail_strategy.as_deref() == Some("FAIL_OPEN");
    match (open, minor >= 25) {
        (true, _) => "with failStrategy FAIL_OPEN the proxy skips the plugin (an allow-all RBAC filter stands in for it)".into(),
        (false, false) => "istio-agent rejects (NACKs) the configuration: listeners that should carry the plugin keep their old configuration, new ones never become ready".into(),
        (false, true) => "the proxy puts a deny-all filter in its place: every request the plugin should see gets 403 (wasm-default-deny)".into(),
    }
}

/// The MX406/MX407 finding for a fetch problem (without location).
pub fn fetch_problem(p: &FetchProblem, reference: &str) -> Diagnostic {
    match p.kind {
        FetchProblemKind::Unfetchable => Diagnostic::new(
            RuleId::MX406,
            format!("istio-agent cannot extract a module from image `{reference}`: {}", p.message),
        )
        .help("Build the image as the fetcher reads it: `plugin.wasm` in the only (Istio ≤1.15, OSSM 2.2) or last gzip layer of a Docker or OCI image, or the 2-layer OCI artifact; `meshext-lint pack --format wasmplugin` writes both."),
        FetchProblemKind::NotWasm => Diagnostic::new(
            RuleId::MX407,
            format!("istio-agent rejects the module of image `{reference}` (\"fetched Wasm binary … is invalid\"): {}", p.message),
        )
        .help("Put the compiled module (starting with \\0asm) in the image as plugin.wasm, not its source, an archive or a link to it."),
    }
}

/// Reports the manifest problems of the given kinds of every analysed image.
fn report(facts: &Facts, out: &mut Vec<Diagnostic>, kinds: &[crate::image::ManifestProblemKind]) {
    per_image(facts, out, |a| {
        a.problems
            .iter()
            .filter(|p| kinds.contains(&p.kind))
            .map(manifest_problem)
            .collect()
    });
}

/// Reports `judge`'s findings of every analysed image once, tied to its users.
pub(crate) fn per_image(
    facts: &Facts,
    out: &mut Vec<Diagnostic>,
    judge: impl Fn(&Analysed) -> Vec<Diagnostic>,
) {
    for (a, users) in &facts.resolution.images {
        out.extend(
            judge(a)
                .into_iter()
                .map(|d| for_users(facts.mesh, users, d)),
        );
    }
}

/// Reports the findings for WasmPlugins whose image could not be resolved, at their `spec.url`.
pub(crate) fn per_unresolved_plugin(
    facts: &Facts,
    out: &mut Vec<Diagnostic>,
    judge: impl Fn(&str, &ResolveProblem) -> Option<Diagnostic>,
) {
    for (i, reference, problem) in &facts.resolution.plugins.problems {
        if let Some(d) = judge(reference, problem) {
            let p = &facts.mesh.wasm_plugins[*i];
            out.push(d.at(p.meta.loc("/spec/url")).resource(p.meta.display()));
        }
    }
}

/// Reports the findings for SMEs whose image could not be resolved, at their `spec.image`.
pub(crate) fn per_unresolved(
    facts: &Facts,
    out: &mut Vec<Diagnostic>,
    judge: impl Fn(&str, &ResolveProblem) -> Option<Diagnostic>,
) {
    for (i, reference, problem) in &facts.resolution.problems {
        if let Some(d) = judge(reference, problem) {
            let e = &facts.mesh.extensions[*i];
            out.push(d.at(e.meta.loc("/spec/image")).resource(e.meta.display()));
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::rules::registry::{self, Stage, UNITS};
    use crate::rules::RuleId;

    #[test]
    fn every_rule_of_families_4_5_7_has_exactly_one_unit() {
        for id in RuleId::ALL
            .iter()
            .filter(|r| matches!(r.family(), 4 | 5 | 7))
        {
            let owners = UNITS.iter().filter(|u| u.ids().contains(id)).count();
            assert_eq!(owners, 1, "{id}");
        }
        let stage = |id| registry::owner(id).map(|u| u.stage());
        assert_eq!(stage(RuleId::MX302), Some(Stage::Images));
        assert_eq!(stage(RuleId::MX403), Some(Stage::Images));
        assert_eq!(stage(RuleId::MX405), Some(Stage::Modules));
        assert_eq!(stage(RuleId::MX506), Some(Stage::Modules));
        assert_eq!(stage(RuleId::MX704), Some(Stage::Runtime));
    }

    #[test]
    fn a_stubbed_wasi_call_is_a_warning_and_the_rest_errors() {
        use crate::abi::{AbiProblem, AbiProblemKind};
        use crate::diag::{Location, Severity};
        let p = |links| AbiProblem {
            kind: AbiProblemKind::WasiUnavailable,
            message: "m".into(),
            help: String::new(),
            links,
        };
        let at = Location::file_only("x.wasm");
        let d = crate::rules::abi::diagnostic(&p(true), &at);
        assert_eq!(
            (d.rule, d.severity, d.help),
            (RuleId::MX506, Severity::Warning, None)
        );
        assert!(!p(true).refuses() && p(false).refuses());
        let d = crate::rules::abi::diagnostic(&p(false), &at);
        assert_eq!(d.severity, Severity::Error);
    }
}
