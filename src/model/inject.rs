//! Whether a workload's pods run a proxy: the sidecar injector's decision on OpenShift Service
//! Mesh 2.x, where injection is opt-in.
//!
//! Sources (maistra/istio `pkg/kube/inject/inject.go` `injectRequired`, maistra-2.0/2.1/2.2;
//! maistra/istio-operator `resources/smcp-templates/v2.x/base` and
//! `resources/helm/v2.x/istio-control/istio-discovery/templates/mutatingwebhook.yaml`):
//! - the `base` template sets `proxy.injection.autoInject: false`, i.e. the injector's policy is
//!   `disabled`: only pods that opt in get a proxy;
//! - v2.0/v2.1 read only the `sidecar.istio.io/inject` **annotation**; v2.2 also reads the label
//!   of that name, and the label wins when both are set;
//! - `y`, `yes`, `true`, `on` (any case) opt in; an empty or absent value means "the policy
//!   decides"; any other value opts out;
//! - `hostNetwork: true` pods are never injected;
//! - with `techPreview.sidecarInjectorWebhook.objectSelector.enabled` the webhook is only called
//!   for pods whose *label* is `true` (policy disabled) or not `false` (policy enabled).
//!
//! Not read: `alwaysInjectSelector` / `neverInjectSelector`, `injectedAnnotations`, revisions.

use super::{ControlPlane, MeshVersion, Workload};

/// How a workload gets (or does not get) its proxy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Injection {
    /// The pod template already has an `istio-proxy` container (the operator's gateways).
    Template,
    /// The injector adds the proxy; the text says what opted in.
    Injected(String),
    /// No proxy; the text says why.
    NotInjected(String),
}

impl Injection {
    pub fn has_proxy(&self) -> bool {
        !matches!(self, Injection::NotInjected(_))
    }
}

const KEY: &str = "sidecar.istio.io/inject";

/// The injector's decision for `w` under the first control plane's settings (the OSSM defaults
/// when there is none).
pub fn proxy_of(version: MeshVersion, cp: Option<&ControlPlane>, w: &Workload) -> Injection {
    let pod = &w.injection;
    if pod.proxy_container {
        return Injection::Template;
    }
    if pod.host_network {
        return Injection::NotInjected("hostNetwork pods are never injected".into());
    }
    let policy_enabled = cp.and_then(|c| c.auto_inject) == Some(true);
    if cp.and_then(|c| c.injector_object_selector) == Some(true) {
        let label = pod.label.as_deref();
        let called = if policy_enabled {
            label != Some("false")
        } else {
            label == Some("true")
        };
        if !called {
            return Injection::NotInjected(format!(
                "the injector's objectSelector needs the pod label {KEY}: \"true\""
            ));
        }
    }
    // v2.2 (Istio 1.12) added the label, which wins over the annotation.
    let (value, source) = match (&pod.label, &pod.annotation) {
        (Some(l), _) if version >= MeshVersion::V2_2 => (l.as_str(), "label"),
        (_, Some(a)) => (a.as_str(), "annotation"),
        _ => ("", ""),
    };
    match value.to_ascii_lowercase().as_str() {
        "y" | "yes" | "true" | "on" => Injection::Injected(format!("{source} {KEY}: {value:?}")),
        "" if policy_enabled => {
            Injection::Injected("spec.proxy.injection.autoInject is true".into())
        }
        "" => {
            let hint = if version < MeshVersion::V2_2 && pod.label.is_some() {
                format!("; {version} reads the annotation, not the label")
            } else {
                String::new()
            };
            Injection::NotInjected(format!(
                "the pod template does not opt in with {KEY}: \"true\"{hint}"
            ))
        }
        _ => Injection::NotInjected(format!("{source} {KEY}: {value:?} opts out")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Labels, Meta, PodInjection, ProxyType};

    fn w(annotation: Option<&str>, label: Option<&str>) -> Workload {
        Workload {
            meta: Meta::synthetic("Deployment", "shop", "web"),
            labels: Labels::new(),
            proxy: ProxyType::Sidecar,
            injection: PodInjection {
                annotation: annotation.map(str::to_string),
                label: label.map(str::to_string),
                ..PodInjection::default()
            },
        }
    }

    fn cp(auto_inject: Option<bool>, object_selector: Option<bool>) -> ControlPlane {
        ControlPlane {
            meta: Meta::synthetic("ServiceMeshControlPlane", "istio-system", "basic"),
            version: None,
            wasm_extensions_enabled: None,
            telemetry_type: None,
            telemetry: Default::default(),
            auto_inject,
            injector_object_selector: object_selector,
            extension_providers: Vec::new(),
            inbound_sniffing: None,
        }
    }

    #[test]
    fn opt_in_per_version() {
        use MeshVersion as V;
        let has = |v, a, l| proxy_of(v, None, &w(a, l)).has_proxy();
        // injectRequired: annotation values from yaml.org/type/bool, case-insensitive.
        for yes in ["true", "TRUE", "y", "yes", "On"] {
            assert!(has(V::V2_0, Some(yes), None), "{yes}");
        }
        assert!(!has(V::V2_1, None, None), "policy disabled by default");
        assert!(!has(V::V2_1, Some("false"), None));
        assert!(
            !has(V::V2_1, Some("enabled"), None),
            "not a yaml bool: opts out"
        );
        // The label counts from v2.2 on, and wins over the annotation.
        assert!(!has(V::V2_1, None, Some("true")));
        assert!(has(V::V2_2, None, Some("true")));
        assert!(!has(V::V2_2, Some("true"), Some("false")));
        assert!(has(V::V2_2, Some("false"), Some("true")));
    }

    #[test]
    fn policy_object_selector_and_host_network() {
        let v = MeshVersion::V2_1;
        assert!(proxy_of(v, Some(&cp(Some(true), None)), &w(None, None)).has_proxy());
        assert!(!proxy_of(v, Some(&cp(Some(true), None)), &w(Some("false"), None)).has_proxy());
        // objectSelector with policy disabled: the webhook needs the label; v2.1 then still
        // needs the annotation.
        let sel = cp(None, Some(true));
        assert!(!proxy_of(v, Some(&sel), &w(Some("true"), None)).has_proxy());
        assert!(!proxy_of(v, Some(&sel), &w(None, Some("true"))).has_proxy());
        assert!(proxy_of(v, Some(&sel), &w(Some("true"), Some("true"))).has_proxy());
        let mut hn = w(Some("true"), None);
        hn.injection.host_network = true;
        assert!(!proxy_of(v, None, &hn).has_proxy());
        let mut gw = w(None, None);
        gw.injection.proxy_container = true;
        assert_eq!(proxy_of(v, None, &gw), Injection::Template);
    }
}
