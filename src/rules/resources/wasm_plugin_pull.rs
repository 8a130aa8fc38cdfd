//! MX315/MX316: how the istio-agent of a release pulls a WasmPlugin's module: mutable tags and
//! pull settings that have no effect (istio/istio `pkg/wasm/cache.go` `getOrFetch`,
//! `shouldIgnoreResourceVersion` (1.16+; `pullIfNotPresent` in 1.14), `getEntry`;
//! maistra/istio maistra-2.2 `pkg/wasm/cache.go` `Get`, which has no pull policy and the
//! "TODO: support imagePullSecret").

use super::wasm_plugin::{self as wp, istio};
use super::wasm_plugin_url::scheme_of;
use crate::diag::Diagnostic;
use crate::model::{IstioVersion, WasmPlugin};
use crate::rules::registry::{Facts, Stage, Unit};
use crate::rules::RuleId;

pub(crate) struct WasmPluginPull;

impl Unit for WasmPluginPull {
    fn ids(&self) -> &'static [RuleId] {
        &[RuleId::MX315, RuleId::MX316]
    }

    fn stage(&self) -> Stage {
        Stage::Mesh
    }

    fn check(&self, facts: &Facts, out: &mut Vec<Diagnostic>) {
        let Some(v) = wp::release(facts.mesh) else {
            return;
        };
        let label = wp::label(facts.mesh, v);
        for p in &facts.mesh.wasm_plugins {
            // A URL istiod cannot use is MX312's.
            let Some(scheme) = p
                .url
                .as_deref()
                .and_then(scheme_of)
                .filter(|s| matches!(s.as_str(), "oci" | "file" | "http" | "https"))
            else {
                continue;
            };
            if scheme == "oci" {
                mutable_tag(p, v, &label, out);
            }
            ignored(p, &scheme, v, &label, out);
        }
    }
}

/// The release that implements `imagePullPolicy` and `imagePullSecret` (istio PR #38475, #37161).
const PULL_SETTINGS: IstioVersion = istio(14);

fn set(v: &Option<String>) -> Option<&str> {
    v.as_deref().filter(|s| !s.is_empty())
}

/// Whether the module is pinned: a digest in the URL, or a `sha256` the fetch is checked against.
fn pinned(p: &WasmPlugin) -> bool {
    p.url.as_deref().is_some_and(|u| u.contains('@')) || set(&p.sha256).is_some()
}

/// MX315: an OCI image by `latest` or by no tag at all, with nothing pinning it.
fn mutable_tag(p: &WasmPlugin, v: IstioVersion, label: &str, out: &mut Vec<Diagnostic>) {
    if pinned(p) {
        return;
    }
    let url = p.url.as_deref().unwrap_or("");
    let reference = url.split_once("://").map_or(url, |(_, r)| r);
    let last = reference.rsplit('/').next().unwrap_or(reference);
    let tag = last.split_once(':').map(|(_, t)| t);
    if tag.is_some_and(|t| t != "latest") {
        return;
    }
    let written = match tag {
        Some(_) => "the tag `latest`",
        None => "no tag (the registry serves `latest`)",
    };
    let policy = set(&p.image_pull_policy).filter(|p| *p != "UNSPECIFIED_POLICY");
    let behaviour = if v < PULL_SETTINGS {
        "this release has no pull policy and caches by `sha256` only, so the agent pulls the image again on every configuration push: each proxy loads whatever the tag points to at that moment".to_string()
    } else {
        // The default is IfNotPresent, except that a URL ending in `:latest` means Always; an
        // implicit latest does not end in `:latest`.
        let always = match policy {
            Some(p) => p == "Always",
            None => tag.is_some(),
        };
        let how = match policy {
            Some(p) => format!("`imagePullPolicy: {p}`"),
            None if always => "the default policy for `:latest` (Always)".into(),
            None => "the default policy (IfNotPresent: the `:latest` check does not see an implicit tag)".into(),
        };
        if always {
            format!("with {how} the agent pulls again whenever the WasmPlugin changes, so any edit can load a different build, and proxies that received the change at different times can disagree")
        } else {
            format!("with {how} each proxy pulls once and keeps its copy (purged after 24 h unused): proxies started at different times run different builds, and a new push of the tag is not picked up")
        }
    };
    out.push(
        Diagnostic::new(
            RuleId::MX315,
            format!("the image is referenced by {written} on {label}: {behaviour}"),
        )
        .at(p.meta.loc("/spec/url"))
        .resource(p.meta.display())
        .help("pin the module: reference a version tag or a digest (`@sha256:…`), or set `sha256` to the image manifest digest"),
    );
}

/// MX316: settings the release's agent does not use for this plugin.
fn ignored(p: &WasmPlugin, scheme: &str, v: IstioVersion, label: &str, out: &mut Vec<Diagnostic>) {
    let mut push = |field: &str, why: String, help: &str| {
        out.push(
            Diagnostic::new(
                RuleId::MX316,
                format!("`{field}` has no effect on {label}: {why}"),
            )
            .at(p.meta.key_loc(&format!("/spec/{field}")))
            .resource(p.meta.display())
            .help(help.to_string()),
        );
    };
    let policy = set(&p.image_pull_policy).filter(|p| *p != "UNSPECIFIED_POLICY");
    let secret = set(&p.image_pull_secret);
    if set(&p.verification_key).is_some() {
        push(
            "verificationKey",
            "no release implements module signature verification; nothing is verified".into(),
            "remove it; pin the module with a digest or `sha256` instead",
        );
    }
    if scheme == "file" {
        for (field, value) in [
            ("sha256", set(&p.sha256)),
            ("imagePullPolicy", policy),
            ("imagePullSecret", secret),
        ] {
            if value.is_some() {
                push(
                    field,
                    "a `file://` module is read from the proxy's file system, never fetched".into(),
                    "remove it",
                );
            }
        }
        return;
    }
    if v < PULL_SETTINGS {
        for (field, value) in [("imagePullPolicy", policy), ("imagePullSecret", secret)] {
            if value.is_some() {
                push(
                    field,
                    "the agent before Istio 1.14 implements neither pull policies nor pull secrets; it pulls anonymously".into(),
                    "make the image pullable anonymously, or upgrade to OSSM v2.3 (Istio 1.14) or later",
                );
            }
        }
        return;
    }
    if secret.is_some() && scheme != "oci" {
        push(
            "imagePullSecret",
            format!("only OCI pulls use the secret; `{scheme}://` downloads are anonymous"),
            "remove it, or serve the module from a registry",
        );
    }
    if policy == Some("Always") && scheme == "oci" && pinned(p) {
        push(
            "imagePullPolicy",
            "the module is pinned by a digest or `sha256`, and the agent reuses its cached copy of that checksum whatever the policy".into(),
            "remove `imagePullPolicy`, or drop the pin if the tag is meant to move",
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::fixture::positions;
    use crate::rules::resources::wasm_plugin::support::{on_istio, on_ossm};

    fn plugin(url: &str, extra: &str) -> String {
        format!("apiVersion: extensions.istio.io/v1alpha1\nkind: WasmPlugin\nmetadata: {{name: auth, namespace: shop}}\nspec:\n  url: {url}\n{extra}")
    }

    #[test]
    fn latest_and_untagged_per_release() {
        let d = on_istio(
            &WasmPluginPull,
            &plugin("oci://quay.io/acme/auth:latest", ""),
            "1.20",
        );
        assert_eq!(positions(&d), ["MX315 5:8"]);
        assert!(d[0].message.contains("(Always)"), "{}", d[0].message);
        let d = on_istio(&WasmPluginPull, &plugin("quay.io/acme/auth", ""), "1.20");
        assert!(d[0].message.contains("IfNotPresent"), "{}", d[0].message);
        let d = on_ossm(
            &WasmPluginPull,
            &plugin("registry:5000/acme/auth", ""),
            "v2.2",
        );
        assert!(d.is_empty(), "an unparsable url is MX312's: {d:?}");
        let secret = plugin("registry:5000/acme/auth:1", "  imagePullSecret: pull\n");
        assert!(on_istio(&WasmPluginPull, &secret, "1.20").is_empty());
        let d = on_ossm(
            &WasmPluginPull,
            &plugin("oci://registry:5000/acme/auth", ""),
            "v2.2",
        );
        assert!(
            d[0].message.contains("every configuration push"),
            "{}",
            d[0].message
        );
        assert!(on_istio(
            &WasmPluginPull,
            &plugin("oci://quay.io/acme/auth:1.0", ""),
            "1.20"
        )
        .is_empty());
        let hex = "ab".repeat(32);
        let pinned = plugin(
            "oci://quay.io/acme/auth:latest",
            &format!("  sha256: {hex}\n"),
        );
        assert!(on_istio(&WasmPluginPull, &pinned, "1.20").is_empty());
    }

    #[test]
    fn pull_settings_on_ossm_2_2() {
        let text = plugin(
            "oci://quay.io/acme/auth:1.0",
            "  imagePullPolicy: Always\n  imagePullSecret: pull\n",
        );
        let d = on_ossm(&WasmPluginPull, &text, "v2.2");
        assert_eq!(positions(&d), ["MX316 6:3", "MX316 7:3"]);
        assert!(
            d[0].message.contains("Istio 1.12 (OSSM v2.2)"),
            "{}",
            d[0].message
        );
        assert!(on_ossm(&WasmPluginPull, &text, "v2.3").is_empty());
    }

    #[test]
    fn settings_that_do_not_apply_to_the_source() {
        let text = plugin(
            "file:///opt/p.wasm",
            "  imagePullSecret: pull\n  verificationKey: k\n",
        );
        let d = on_istio(&WasmPluginPull, &text, "1.24");
        assert_eq!(positions(&d), ["MX316 7:3", "MX316 6:3"]);
        let text = plugin("https://h/p.wasm", "  imagePullSecret: pull\n");
        assert_eq!(on_istio(&WasmPluginPull, &text, "1.24").len(), 1);
        let hex = "ab".repeat(32);
        let text = plugin(
            &format!("oci://q.io/a@sha256:{hex}"),
            "  imagePullPolicy: Always\n",
        );
        assert_eq!(on_istio(&WasmPluginPull, &text, "1.24").len(), 1);
    }
}
