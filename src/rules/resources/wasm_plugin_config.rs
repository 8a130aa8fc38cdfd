//! MX317–MX319: what a WasmPlugin's module is given and how it fails: `pluginConfig`
//! (istio/istio `pilot/pkg/model/extensions.go` `buildPluginConfig`: JSON of the Struct, none
//! when empty), `vmConfig.env` (`pkg/config/validation/validation.go`
//! `validateWasmPluginVMConfig`, the CRD's CEL rule, `extensions.go` `buildVMConfig`,
//! `pkg/wasm/convert.go` `rewriteVMConfig`) and `failStrategy` (`buildPluginConfig`,
//! `pkg/wasm/convert.go` `createHTTPDefaultFilter`).

use super::wasm_plugin::{self as wp, istio};
use crate::diag::{Diagnostic, Severity};
use crate::model::{IstioVersion, WasmPlugin};
use crate::rules::registry::{Facts, Stage, Unit};
use crate::rules::RuleId;

pub(crate) struct WasmPluginConfig;

impl Unit for WasmPluginConfig {
    fn ids(&self) -> &'static [RuleId] {
        &[RuleId::MX317, RuleId::MX318, RuleId::MX319]
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
            plugin_config(p, out);
            if wp::has_in("vmConfig", v) {
                env(p, v, &label, out);
            }
            if wp::has_in("failStrategy", v) {
                fail_open(p, v, out);
            }
        }
    }
}

/// The largest integer a double (a Struct number) holds exactly: 2^53.
const EXACT: u64 = 1 << 53;

/// MX317: `pluginConfig: {}` sends nothing; integers beyond 2^53 are rounded.
fn plugin_config(p: &WasmPlugin, out: &mut Vec<Diagnostic>) {
    let Some(cfg) = &p.plugin_config else { return };
    let d = |ptr: &str, msg: String, help: &str| {
        Diagnostic::new(RuleId::MX317, msg)
            .at(p.meta.loc(ptr))
            .resource(p.meta.display())
            .help(help.to_string())
    };
    if cfg.as_object().is_some_and(|o| o.is_empty()) {
        out.push(d(
            "/spec/pluginConfig",
            "`pluginConfig: {}` is not sent as `{}`: istiod omits an empty configuration, so the module's on_configure gets no configuration at all (size 0)".into(),
            "remove `pluginConfig` and make the module accept no configuration, or give it a field",
        ));
        return;
    }
    let mut big = Vec::new();
    rounded(cfg, "/spec/pluginConfig".into(), &mut big);
    for (ptr, n) in big {
        out.push(d(
            &ptr,
            format!("{n} is not exactly representable as a double: `pluginConfig` is a protobuf Struct, whose numbers are doubles, so the module receives a rounded value"),
            "write large integers (IDs, nanosecond timestamps) as strings",
        ));
    }
}

fn rounded(v: &serde_json::Value, ptr: String, out: &mut Vec<(String, String)>) {
    match v {
        serde_json::Value::Number(n) => {
            let exact = match (n.as_i64(), n.as_u64(), n.as_f64()) {
                (Some(i), _, _) => i.unsigned_abs() <= EXACT,
                (_, Some(u), _) => u <= EXACT,
                // A float written with digits beyond a double's is already rounded by the loader.
                (_, _, Some(f)) => f.fract() != 0.0 || f.abs() <= EXACT as f64,
                _ => true,
            };
            if !exact {
                out.push((ptr, n.to_string()));
            }
        }
        serde_json::Value::Array(a) => {
            for (i, x) in a.iter().enumerate() {
                rounded(x, format!("{ptr}/{i}"), out);
            }
        }
        serde_json::Value::Object(o) => {
            for (k, x) in o {
                rounded(
                    x,
                    format!("{ptr}/{}", k.replace('~', "~0").replace('/', "~1")),
                    out,
                );
            }
        }
        _ => {}
    }
}

/// The prefix the agent strips from the VM's inline variables from 1.18 (`rewriteVMConfig`);
/// 1.14–1.17 read these names as pull settings and strip only the secret.
const META_PREFIX: &str = "ISTIO_META_";
const PULL_ENV: [&str; 3] = [
    "ISTIO_META_WASM_IMAGE_PULL_SECRET",
    "ISTIO_META_WASM_IMAGE_PULL_POLICY",
    "ISTIO_META_WASM_PLUGIN_RESOURCE_VERSION",
];

/// MX318: `vmConfig.env` entries the release rejects, or that do not reach the module as written.
fn env(p: &WasmPlugin, v: IstioVersion, label: &str, out: &mut Vec<Diagnostic>) {
    let mut seen: Vec<&str> = Vec::new();
    for e in &p.vm_env {
        // An entry without a name is the schema's (MX103: required, minLength 1).
        let Some(name) = e.name.as_deref().filter(|n| !n.is_empty()) else {
            continue;
        };
        let d = |ptr: String, msg: String, help: &str| {
            Diagnostic::new(RuleId::MX318, msg)
                .at(p.meta.loc(&ptr))
                .resource(p.meta.display())
                .help(help.to_string())
        };
        if seen.contains(&name) {
            out.push(d(
                format!("{}/name", e.pointer),
                format!(
                    "{label} rejects the WasmPlugin: \"duplicate env\" (`{name}` is listed twice)"
                ),
                "list each variable once",
            ));
        }
        seen.push(name);
        let host = e.value_from.as_deref() == Some("HOST");
        if host && e.value.is_some() {
            // The CRD's CEL rule from 1.20 (webhook from 1.23); before, the value is dropped.
            let ptr = format!("{}/value", e.pointer);
            let diag = if v >= istio(20) {
                d(ptr, format!("{label} rejects the WasmPlugin: \"value may only be set when valueFrom is INLINE\" (`{name}`)"), "remove `value`: HOST reads the variable from the proxy's environment")
            } else {
                d(ptr, format!("`value` of `{name}` is ignored on {label}: `valueFrom: HOST` passes the proxy's own `{name}`"), "remove `value`, or drop `valueFrom: HOST` to pass the value inline")
                    .severity(Severity::Warning)
            };
            out.push(diag);
        }
        if host || !name.starts_with(META_PREFIX) {
            continue;
        }
        let ptr = format!("{}/name", e.pointer);
        if v >= istio(18) {
            let pull = if PULL_ENV.contains(&name) {
                ", after reading it as the pull setting istiod passes under that name"
            } else {
                ""
            };
            out.push(d(ptr, format!("`{name}` never reaches the module on {label}: the istio-agent strips every inline variable starting with `{META_PREFIX}` before Envoy{pull}"), "rename the variable").severity(Severity::Warning));
        } else if PULL_ENV.contains(&name) {
            out.push(d(ptr, format!("`{name}` overrides the pull setting istiod passes to the istio-agent under that name on {label}"), "rename the variable; use `imagePullPolicy` / `imagePullSecret` for pull settings").severity(Severity::Warning));
        }
    }
}

/// MX319: FAIL_OPEN on a plugin that authenticates or authorizes.
fn fail_open(p: &WasmPlugin, v: IstioVersion, out: &mut Vec<Diagnostic>) {
    if p.fail_strategy.as_deref() != Some("FAIL_OPEN") {
        return;
    }
    let Some(phase) = p
        .phase
        .as_deref()
        .filter(|ph| matches!(*ph, "AUTHN" | "AUTHZ"))
    else {
        return;
    };
    // What FAIL_CLOSE does instead changed in 1.25 (ECDS NACK before, deny-all RBAC after).
    let closed = if v >= istio(25) {
        "FAIL_CLOSE answers 403 instead"
    } else {
        "FAIL_CLOSE keeps the listener waiting instead"
    };
    out.push(
        Diagnostic::new(
            RuleId::MX319,
            format!("`failStrategy: FAIL_OPEN` on an {phase} plugin: when the module cannot be fetched the istio-agent puts an allow-all RBAC filter in its place, and when its VM fails Envoy skips it; either way requests pass unchecked ({closed})"),
        )
        .at(p.meta.loc("/spec/failStrategy"))
        .resource(p.meta.display())
        .help("keep the default FAIL_CLOSE for security plugins; use FAIL_OPEN for telemetry-style plugins"),
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::fixture::positions;
    use crate::rules::resources::wasm_plugin::support::{on_istio, on_ossm, WP};

    fn istio_on(text: &str, release: &str) -> Vec<Diagnostic> {
        on_istio(&WasmPluginConfig, text, release)
    }

    #[test]
    fn empty_and_imprecise_configuration() {
        let d = istio_on(&format!("{WP}  pluginConfig: {{}}\n"), "1.20");
        assert_eq!(positions(&d), ["MX317 6:17"]);
        let d = istio_on(&format!("{WP}  pluginConfig: {{id: 9007199254740993, ok: 9007199254740992, list: [1, -9223372036854775807]}}\n"), "1.20");
        assert_eq!(d.len(), 2, "{d:?}");
        assert!(
            d[0].message.starts_with("-9223372036854775807")
                || d[1].message.starts_with("-9223372036854775807")
        );
        assert!(istio_on(&format!("{WP}  pluginConfig: {{a: 1}}\n"), "1.20").is_empty());
    }

    #[test]
    fn env_duplicates_and_host_values() {
        let text = format!("{WP}  vmConfig:\n    env:\n    - {{name: A, value: x}}\n    - {{name: A, value: y}}\n    - {{name: POD_NAME, valueFrom: HOST, value: p}}\n");
        let d = istio_on(&text, "1.20");
        assert_eq!(positions(&d), ["MX318 9:14", "MX318 10:48"]);
        assert_eq!(d[1].severity, Severity::Error);
        let d = istio_on(&text, "1.16");
        assert_eq!(d[1].severity, Severity::Warning);
        assert!(d[1].message.contains("is ignored"));
        // 1.12 prunes vmConfig (MX309).
        assert!(on_ossm(&WasmPluginConfig, &text, "v2.2").is_empty());
    }

    #[test]
    fn istio_meta_names() {
        let text = format!("{WP}  vmConfig: {{env: [{{name: ISTIO_META_WASM_IMAGE_PULL_POLICY, value: Always}}, {{name: ISTIO_META_X, value: y}}]}}\n");
        let d = istio_on(&text, "1.18");
        assert_eq!(d.len(), 2);
        assert!(d[0].message.contains("never reaches the module"));
        let d = istio_on(&text, "1.16");
        assert_eq!(d.len(), 1);
        assert!(d[0].message.contains("overrides the pull setting"));
    }

    #[test]
    fn fail_open_on_security_phases() {
        let text = format!("{WP}  phase: AUTHZ\n  failStrategy: FAIL_OPEN\n");
        let d = istio_on(&text, "1.24");
        assert_eq!(positions(&d), ["MX319 7:17"]);
        assert!(
            d[0].message.contains("allow-all RBAC") && d[0].message.contains("listener waiting")
        );
        assert!(istio_on(&text, "1.25")[0].message.contains("403"));
        assert!(istio_on(&text, "1.18").is_empty());
        assert!(istio_on(
            &format!("{WP}  phase: STATS\n  failStrategy: FAIL_OPEN\n"),
            "1.24"
        )
        .is_empty());
    }
}
