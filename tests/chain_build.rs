//! Worked examples of effective filter chains per mesh version (reference §3.2–§3.6).

mod chain_support;
use chain_support::*;
use meshext_lint::chain::{build_chains, ExtensionDefaults, Gate, ManifestDefaults, SkipReason};
use meshext_lint::model::*;

/// The four SMEs of the §3.6 worked example, all in `shop`.
fn worked_example(version: MeshVersion) -> Mesh {
    let mut m = mesh(version);
    add_app(&mut m, "shop", "web");
    m.extensions = vec![
        sme("shop", "d", "PostStats", None),
        sme("shop", "c", "PostAuthZ", None),
        sme("shop", "b", "PreAuthN", Some(5)),
        sme("shop", "a", "PreAuthN", Some(10)),
    ];
    m.authorization_policies
        .push(authz("shop", "allow", AuthzAction::Allow, None));
    m
}

fn v(s: &[&str]) -> Vec<String> {
    s.iter().map(|x| x.to_string()).collect()
}

#[test]
fn reference_worked_example_v2_1() {
    let c = chains(&worked_example(MeshVersion::V2_1));
    assert_eq!(
        names(&c[0]),
        v(&[
            "mx",
            "a",
            "b",
            "istio_authn",
            "rbac",
            "c",
            "cors",
            "fault",
            "d",
            "stats",
            "router"
        ])
    );
    assert_eq!(c[0].gate, None);
    assert_eq!(c[0].ports.as_ref().unwrap().patched, v(&["8080"]));
}

#[test]
fn worked_example_v2_0_uses_old_names() {
    let c = chains(&worked_example(MeshVersion::V2_0));
    assert_eq!(
        names(&c[0]),
        v(&[
            "mx",
            "a",
            "b",
            "istio_authn",
            "rbac",
            "c",
            "cors",
            "fault",
            "d",
            "stats",
            "router"
        ])
    );
    let raw: Vec<&str> = c[0]
        .filters
        .iter()
        .filter_map(|f| f.builtin_name())
        .collect();
    assert!(
        raw.contains(&"envoy.router") && raw.contains(&"envoy.cors"),
        "{raw:?}"
    );
}

#[test]
fn worked_example_v2_2_has_no_authn_anchor_without_request_authentication() {
    let c = chains(&worked_example(MeshVersion::V2_2));
    assert_eq!(
        names(&c[0]),
        v(&["a", "b", "rbac", "c", "mx", "cors", "fault", "d", "stats", "router"])
    );
    // Without any policy every phase is flushed before the router, after mx/cors/fault.
    let mut m = worked_example(MeshVersion::V2_2);
    m.authorization_policies.clear();
    let c = chains(&m);
    assert_eq!(
        names(&c[0]),
        v(&["mx", "cors", "fault", "a", "b", "c", "d", "stats", "router"])
    );
}

#[test]
fn jwt_request_authentication_adds_anchors() {
    for version in MeshVersion::WITH_SME {
        let mut m = worked_example(version);
        m.request_authentications.push(reqauthn("shop", "jwt", 1));
        m.extensions.push(sme("shop", "p", "PostAuthN", None));
        let c = chains(&m);
        let n = names(&c[0]);
        let pos = |x: &str| n.iter().position(|y| y == x).unwrap();
        assert!(
            pos("a") < pos("jwt_authn") && pos("b") < pos("jwt_authn"),
            "{version}: {n:?}"
        );
        assert_eq!(pos("p"), pos("istio_authn") + 1, "{version}: {n:?}");
        assert_eq!(pos("c"), pos("rbac") + 1, "{version}: {n:?}");
    }
    // `setAuthnFilterForRequestAuthn` does nothing without JWT rules: no jwt_authn and, on v2.2
    // sidecars and on every gateway, no istio_authn either; v2.0/v2.1 sidecars keep the
    // peer-authentication istio_authn.
    for version in MeshVersion::WITH_SME {
        let mut m = worked_example(version);
        m.request_authentications.push(reqauthn("shop", "empty", 0));
        m.workloads.push(gateway("shop", "gw"));
        let c = chains(&m);
        let side = names(chain_of(&c, "shop", "web"));
        let gw = names(chain_of(&c, "shop", "gw"));
        let has = |n: &[String], f: &str| n.iter().any(|x| x == f);
        assert!(
            !has(&side, "jwt_authn") && !has(&gw, "jwt_authn"),
            "{version}"
        );
        assert!(!has(&gw, "istio_authn"), "{version}: {gw:?}");
        assert_eq!(
            has(&side, "istio_authn"),
            version != MeshVersion::V2_2,
            "{version}: {side:?}"
        );
    }
}

#[test]
fn custom_policy_puts_ext_authz_first_v2_1() {
    let mut m = worked_example(MeshVersion::V2_1);
    m.authorization_policies
        .push(authz("shop", "ext", AuthzAction::Custom, None));
    let c = chains(&m);
    assert_eq!(
        names(&c[0]),
        v(&[
            "mx",
            "a",
            "b",
            "rbac",
            "c",
            "ext_authz",
            "istio_authn",
            "rbac",
            "cors",
            "fault",
            "d",
            "stats",
            "router"
        ])
    );
}

#[test]
fn custom_is_unknown_in_v2_0() {
    let mut m = worked_example(MeshVersion::V2_0);
    m.authorization_policies = vec![authz("shop", "ext", AuthzAction::Custom, None)];
    let n = names(&chains(&m)[0]);
    assert!(
        !n.contains(&"ext_authz".to_string()) && !n.contains(&"rbac".to_string()),
        "{n:?}"
    );
}

#[test]
fn audit_deny_allow_each_get_an_rbac_filter() {
    let mut m = worked_example(MeshVersion::V2_1);
    m.authorization_policies
        .push(authz("shop", "deny", AuthzAction::Deny, None));
    m.authorization_policies
        .push(authz("istio-system", "audit", AuthzAction::Audit, None));
    let c = chains(&m);
    assert_eq!(
        names(&c[0]),
        v(&[
            "mx",
            "a",
            "b",
            "istio_authn",
            "rbac",
            "c",
            "rbac",
            "rbac",
            "cors",
            "fault",
            "d",
            "stats",
            "router"
        ])
    );
    let origins: Vec<&str> = c[0]
        .filters
        .iter()
        .filter_map(|f| match f {
            meshext_lint::chain::Filter::Builtin {
                name: "envoy.filters.http.rbac",
                origin,
            } => Some(origin.describe()),
            _ => None,
        })
        .collect();
    assert_eq!(
        origins,
        [
            "AuthorizationPolicy AUDIT",
            "AuthorizationPolicy DENY",
            "AuthorizationPolicy ALLOW"
        ]
    );
}

#[test]
fn policy_selection_by_namespace_and_selector() {
    let mut m = mesh(MeshVersion::V2_1);
    add_app(&mut m, "shop", "web");
    add_app(&mut m, "shop", "api");
    m.member_rolls[0].members.push("other".into());
    add_app(&mut m, "other", "db");
    m.authorization_policies = vec![
        authz(
            "shop",
            "only-web",
            AuthzAction::Deny,
            Some(&[("app", "web")]),
        ),
        authz("other", "ns-wide", AuthzAction::Allow, None),
    ];
    let c = chains(&m);
    let rbacs = |ns, n| {
        names(chain_of(&c, ns, n))
            .iter()
            .filter(|x| *x == "rbac")
            .count()
    };
    assert_eq!(
        (
            rbacs("shop", "web"),
            rbacs("shop", "api"),
            rbacs("other", "db")
        ),
        (1, 0, 1)
    );
}

#[test]
fn gateways_get_extensions_without_authn_anchor() {
    let mut m = mesh(MeshVersion::V2_1);
    m.workloads
        .push(gateway("istio-system", "istio-ingressgateway"));
    m.extensions = vec![sme("istio-system", "auth", "PreAuthN", None)];
    let c = chains(&m);
    assert_eq!(
        names(&c[0]),
        v(&["mx", "cors", "fault", "auth", "stats", "router"])
    );
    assert_eq!(c[0].listener.as_str(), "gateway");
    assert!(c[0].ports.is_none());
}

#[test]
fn root_namespace_first_then_local_and_nothing_from_elsewhere() {
    let mut m = mesh(MeshVersion::V2_1);
    m.member_rolls[0].members.push("other".into());
    add_app(&mut m, "shop", "web");
    add_app(&mut m, "outside", "x"); // not a member
    m.extensions = vec![
        sme("shop", "local", "PreAuthN", Some(1)),
        sme("istio-system", "root", "PreAuthN", Some(1)),
        sme("other", "foreign", "PreAuthN", Some(1)),
        sme_sel(
            "istio-system",
            "sel",
            "PreAuthN",
            Some(0),
            &[("app", "web")],
        ),
        sme_sel(
            "istio-system",
            "nope",
            "PreAuthN",
            Some(0),
            &[("app", "api")],
        ),
        sme_sel("shop", "empty", "PostAuthN", Some(0), &[]),
    ];
    let c = chains(&m);
    assert_eq!(c.len(), 1, "only in-mesh workloads");
    assert_eq!(
        names(&c[0]),
        v(&[
            "mx",
            "local",
            "root",
            "sel",
            "istio_authn",
            "empty",
            "cors",
            "fault",
            "stats",
            "router"
        ])
    );
    let why = &c[0].extensions().find(|e| e.name == "root").unwrap().why;
    assert!(why.contains("mesh-wide"), "{why}");
}

#[test]
fn not_injected_extensions_are_listed_as_skipped() {
    let mut m = mesh(MeshVersion::V2_1);
    add_app(&mut m, "shop", "web");
    let mut bad_image = sme("shop", "img", "PreAuthN", None);
    bad_image.image = Some("acme-filter".into());
    let mut not_ready = sme("shop", "nr", "PreAuthN", None);
    not_ready.status_ready = Some(false);
    m.extensions = vec![
        bad_image,
        not_ready,
        sme("shop", "typo", "preauthn", None),
        sme("shop", "ok", "PreAuthN", None),
    ];
    let c = chains(&m);
    assert_eq!(
        c[0].extensions()
            .map(|e| e.name.as_str())
            .collect::<Vec<_>>(),
        ["ok"]
    );
    let reasons: Vec<_> = c[0]
        .skipped
        .iter()
        .map(|e| e.skip.clone().unwrap())
        .collect();
    assert_eq!(
        reasons,
        [
            SkipReason::InvalidImage,
            SkipReason::NotReady,
            SkipReason::UnknownPhase("preauthn".into())
        ]
    );
}

#[test]
fn manifest_defaults_fill_phase_and_priority() {
    let mut m = mesh(MeshVersion::V2_0);
    add_app(&mut m, "shop", "web");
    let mut e = sme("shop", "fromimage", "", None);
    e.phase = None;
    m.extensions = vec![e, sme("shop", "zero", "PreAuthN", None)];
    let mut d = ExtensionDefaults::default();
    d.manifests.insert(
        "shop/fromimage".into(),
        ManifestDefaults {
            phase: Some("PreAuthN".into()),
            priority: Some(7),
            digest: Some("sha256:abc".into()),
        },
    );
    let c = build_chains(&m, &d);
    let exts: Vec<_> = c[0].extensions().collect();
    assert_eq!((exts[0].name.as_str(), exts[0].priority), ("fromimage", 7));
    assert_eq!(exts[0].digest.as_deref(), Some("sha256:abc"));
    assert_eq!((exts[1].name.as_str(), exts[1].priority), ("zero", 0));
    // Without the manifest the phase is unknown: dropped.
    let c = chains(&m);
    assert_eq!(c[0].skipped[0].skip, Some(SkipReason::NoPhase));
}

#[test]
fn ties_break_by_name_plus_image_or_by_image_in_v2_0() {
    let mut m = mesh(MeshVersion::V2_1);
    add_app(&mut m, "shop", "web");
    let mut z = sme("shop", "a", "PreAuthN", None);
    z.image = Some("quay.io/acme/zzz:1".into());
    let mut y = sme("shop", "b", "PreAuthN", None);
    y.image = Some("quay.io/acme/aaa:1".into());
    m.extensions = vec![y, z];
    let order = |m: &Mesh| {
        chains(m)[0]
            .extensions()
            .map(|e| e.name.clone())
            .collect::<Vec<_>>()
    };
    assert_eq!(order(&m), ["a", "b"]);
    m.version = MeshVersion::V2_0;
    assert_eq!(order(&m), ["b", "a"]);
}

#[test]
fn telemetry_disabled_gates_v2_1_and_v2_2_but_not_v2_0() {
    for version in MeshVersion::WITH_SME {
        let mut m = worked_example(version);
        m.control_planes[0].telemetry_type = Some("None".into());
        let c = chains(&m);
        if version == MeshVersion::V2_0 {
            assert_eq!(c[0].gate, None);
            assert!(!names(&c[0]).contains(&"stats".to_string()));
            assert_eq!(c[0].extensions().count(), 4);
        } else {
            assert_eq!(c[0].gate, Some(Gate::NoEnvoyFilter), "{version}");
            assert_eq!(c[0].extensions().count(), 0);
            assert_eq!(c[0].unapplied.len(), 4);
        }
        // A user EnvoyFilter selecting the proxy lifts the gate.
        m.envoy_filters.push(EnvoyFilter {
            meta: Meta::synthetic("EnvoyFilter", "shop", "ef"),
            selector: Some(labels(&[("app", "web")])),
        });
        assert_eq!(chains(&m)[0].extensions().count(), 4, "{version}");
    }
}

#[test]
fn only_first_port_of_oldest_service_from_v2_1() {
    let mut m = mesh(MeshVersion::V2_1);
    m.workloads.push(sidecar("shop", "web"));
    m.services.push(service(
        "shop",
        "web-b",
        "web",
        &[9090, 9091],
        "2024-02-01T00:00:00Z",
    ));
    m.services.push(service(
        "shop",
        "web-a",
        "web",
        &[8080],
        "2024-03-01T00:00:00Z",
    ));
    m.extensions = vec![sme("shop", "auth", "PreAuthN", None)];
    let c = chains(&m);
    let p = c[0].ports.as_ref().unwrap();
    assert_eq!(p.services, v(&["shop/web-b", "shop/web-a"]));
    assert_eq!(p.all, v(&["9090", "9091", "8080"]));
    assert_eq!(p.patched, v(&["9090"]));
    m.version = MeshVersion::V2_0;
    assert_eq!(chains(&m)[0].ports.as_ref().unwrap().patched.len(), 3);
}

#[test]
fn sidecar_without_service_gets_nothing() {
    let mut m = mesh(MeshVersion::V2_2);
    m.workloads.push(sidecar("shop", "job"));
    m.extensions = vec![sme("shop", "auth", "PreAuthN", None)];
    let c = chains(&m);
    assert_eq!(c[0].gate, Some(Gate::NoService));
    assert_eq!(c[0].extensions().count(), 0);
}

#[test]
fn extensions_disabled_and_v2_3() {
    let mut m = worked_example(MeshVersion::V2_0);
    m.control_planes[0].wasm_extensions_enabled = None; // v2.0 default: off
    assert_eq!(chains(&m)[0].gate, Some(Gate::Disabled));
    let mut m = worked_example(MeshVersion::V2_1);
    m.control_planes[0].wasm_extensions_enabled = None; // v2.1 default: on
    assert_eq!(chains(&m)[0].gate, None);
    m.version = MeshVersion::V2_3;
    assert_eq!(chains(&m)[0].gate, Some(Gate::VersionWithoutSme));
}

#[test]
fn uninjected_workloads_have_no_chain() {
    let mut m = mesh(MeshVersion::V2_1);
    add_app(&mut m, "shop", "web");
    m.workloads[0].injection.annotation = Some("false".into());
    let c = chains(&m);
    assert_eq!(c[0].gate, Some(Gate::NotInjected));
    assert!(c[0].filters.is_empty());
}

#[test]
fn no_control_plane_treats_every_namespace_as_mesh() {
    let mut m = Mesh {
        version: MeshVersion::V2_1,
        ..Mesh::default()
    };
    add_app(&mut m, "shop", "web");
    m.extensions = vec![sme("istio-system", "root", "PreAuthN", None)];
    let c = chains(&m);
    assert_eq!(c[0].extensions().count(), 1);
}
