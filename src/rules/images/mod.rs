//! Family 4xx: pulled images, their `manifest.yaml` and module (plus MX302, which needs the
//! manifest). The functions here turn the image engine's typed problems into findings; the
//! units report them for a lint run, `inspect`, `simulate` and `pack` use them directly.

pub(crate) mod invalid_module;
pub(crate) mod manifest;
pub(crate) mod module_path;
pub(crate) mod not_pulled;
pub(crate) mod unreadable;

use crate::abi::InvalidModule;
use crate::diag::{Diagnostic, Location};
use crate::extensions::{Analysed, ResolveProblem};
use crate::image::ManifestProblemKind;
use crate::image::{ExtensionPackage, ImageError, ImageErrorKind, ManifestProblem};
use crate::model::Mesh;
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
