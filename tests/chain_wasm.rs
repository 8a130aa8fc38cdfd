//! WasmPlugins on the effective chains, per Istio version and listener class (maistra.md
//! §5.2–§5.5, §7.3): the 1.12 walk, the 1.14+ fixed layout, ordering, `match`, targetRefs.

mod chain_support;
use chain_support::*;
use meshext_lint::model::*;

fn v(minor: u8) -> MeshVersion {
    MeshVersion { major: 2, minor }
}

fn v3(minor: u8) -> MeshVersion {
    MeshVersion { major: 3, minor }
}

fn s(list: &[&str]) -> Vec<String> {
    list.iter().map(|x| x.to_string()).collect()
}

/// `shop/api` with a JWT RequestAuthentication and an ALLOW policy, and one plugin per phase.
fn secured(version: MeshVersion) -> Mesh {
    let mut m = mesh(version);
    add_app(&mut m, "shop", "api");
    m.request_authentications.push(reqauthn("shop", "jwt", 1));
    m.authorization_policies
        .push(authz("shop", "allow", AuthzAction::Allow, None));
    for (name, phase) in [
        ("n", Some("AUTHN")),
        ("z", Some("AUTHZ")),
        ("st", Some("STATS")),
        ("u", None),
    ] {
        m.wasm_plugins
            .push(wasm_plugin("shop", name, phase, None, Some("api"), None));
    }
    m
}

#[test]
fn istio_1_12_walks_the_plugin_filters_inbound_and_gateway_only() {
    let mut m = secured(v(2));
    m.workloads
        .push(gateway("istio-system", "istio-ingressgateway"));
    m.wasm_plugins.push(wasm_plugin(
        "istio-system",
        "edge",
        Some("AUTHN"),
        None,
        Some("istio-ingressgateway"),
        None,
    ));
    let c = chains(&m);
    let api = entries(&c, "shop", "api");
    assert_eq!(api.len(), 1, "no outbound entry on v2.2: {api:?}");
    assert_eq!(api[0].0, "inbound");
    assert_eq!(
        api[0].2,
        s(&[
            "wp:shop/n",
            "jwt_authn",
            "istio_authn",
            "wp:shop/z",
            "rbac",
            "wp:shop/st",
            "wp:shop/u",
            "mx",
            "cors",
            "fault",
            "stats",
            "router"
        ])
    );
    // 1.12 emits `<ns>.<name>`.
    let f = chain_of(&c, "shop", "api").wasm_plugins().next().unwrap();
    assert_eq!(f.filter_name, "shop.n");
    // Without authn or rbac anchors every phase lands after the plugin-built filters,
    // before metadata exchange.
    let gw = entries(&c, "istio-system", "istio-ingressgateway");
    assert_eq!(
        gw[0].2,
        s(&[
            "wp:istio-system/edge",
            "mx",
            "cors",
            "fault",
            "stats",
            "router"
        ])
    );
}

#[test]
fn istio_1_12_custom_authz_puts_authn_and_authz_plugins_before_the_shadow_rbac() {
    let mut m = mesh(v(2));
    add_app(&mut m, "shop", "api");
    m.authorization_policies
        .push(authz("shop", "ext", AuthzAction::Custom, None));
    m.wasm_plugins
        .push(wasm_plugin("shop", "n", Some("AUTHN"), None, None, None));
    m.wasm_plugins
        .push(wasm_plugin("shop", "z", Some("AUTHZ"), None, None, None));
    let c = chains(&m);
    assert_eq!(
        names(chain_of(&c, "shop", "api"))[..4],
        s(&["wp:shop/n", "wp:shop/z", "rbac", "ext_authz"])
    );
}

#[test]
fn v2_2_smes_are_patched_after_the_wasm_plugins() {
    let mut m = mesh(v(2));
    add_app(&mut m, "shop", "api");
    m.request_authentications.push(reqauthn("shop", "jwt", 1));
    m.wasm_plugins
        .push(wasm_plugin("shop", "wpn", Some("AUTHN"), None, None, None));
    m.extensions.push(sme("shop", "smen", "PreAuthN", Some(1)));
    let c = chains(&m);
    assert_eq!(
        names(chain_of(&c, "shop", "api"))[..4],
        s(&["wp:shop/wpn", "smen", "jwt_authn", "istio_authn"])
    );
}

#[test]
fn istio_1_14_fixed_layout_inbound_and_outbound() {
    let c = chains(&secured(v(3)));
    let api = entries(&c, "shop", "api");
    assert_eq!(api.len(), 2, "{api:?}");
    assert_eq!((api[0].0.as_str(), api[0].1), ("inbound", None));
    assert_eq!(
        api[0].2,
        s(&[
            "wp:shop/n",
            "jwt_authn",
            "istio_authn",
            "wp:shop/z",
            "rbac",
            "wp:shop/st",
            "wp:shop/u",
            "mx",
            "fault",
            "cors",
            "stats",
            "router"
        ])
    );
    // Outbound: no authn/authz filters, ALPN before fault.
    assert_eq!(api[1].0, "outbound");
    assert_eq!(
        api[1].2,
        s(&[
            "wp:shop/n",
            "wp:shop/z",
            "wp:shop/st",
            "wp:shop/u",
            "mx",
            "istio.alpn",
            "fault",
            "cors",
            "stats",
            "router"
        ])
    );
}

#[test]
fn istio_1_16_puts_metadata_exchange_first_and_1_17_adds_grpc_stats() {
    let c = chains(&secured(v(4)));
    let api = entries(&c, "shop", "api");
    assert_eq!(api[0].2[0], "mx");
    assert!(!api[0].2.contains(&"grpc_stats".to_string()));
    let c = chains(&secured(v(5)));
    let api = entries(&c, "shop", "api");
    assert_eq!(
        api[0].2[api[0].2.len() - 5..],
        s(&["grpc_stats", "fault", "cors", "stats", "router"])
    );
}

#[test]
fn istio_authn_disappears_with_extended_jwt_and_names_change() {
    // v2.6 = Istio 1.20: still istio_authn; `<ns>.<name>`.
    let c = chains(&secured(v(6)));
    let api = chain_of(&c, "shop", "api");
    assert!(names(api).contains(&"istio_authn".to_string()));
    assert_eq!(api.wasm_plugins().next().unwrap().filter_name, "shop.n");
    // v3.0 = Istio 1.24: no istio_authn; the typo'd prefix.
    let c = chains(&secured(v3(0)));
    let api = chain_of(&c, "shop", "api");
    assert!(!names(api).contains(&"istio_authn".to_string()));
    assert_eq!(
        api.wasm_plugins().next().unwrap().filter_name,
        "extenstions.istio.io/wasmplugin/shop.n"
    );
    // v3.1 = Istio 1.26: spelling fixed.
    let c = chains(&secured(v3(1)));
    assert_eq!(
        chain_of(&c, "shop", "api")
            .wasm_plugins()
            .next()
            .unwrap()
            .filter_name,
        "extensions.istio.io/wasmplugin/shop.n"
    );
}

fn order(version: MeshVersion, plugins: Vec<WasmPlugin>) -> Vec<String> {
    let mut m = mesh(version);
    add_app(&mut m, "shop", "api");
    m.wasm_plugins = plugins;
    let c = chains(&m);
    chain_of(&c, "shop", "api")
        .wasm_plugins()
        .map(|p| p.key())
        .collect()
}

#[test]
fn priority_desc_unset_last_ties_by_creation_then_name() {
    let t1 = Some("2024-01-01T00:00:00Z");
    let t2 = Some("2024-02-01T00:00:00Z");
    let list = vec![
        wasm_plugin("shop", "unset", None, None, None, t1),
        wasm_plugin("shop", "neg", None, Some(-100), None, t2),
        wasm_plugin("shop", "b-late", None, Some(5), None, t2),
        wasm_plugin("shop", "b", None, Some(5), None, t1),
        wasm_plugin("shop", "a", None, Some(5), None, t1),
        wasm_plugin("shop", "high", None, Some(10), None, t2),
    ];
    assert_eq!(
        order(v(6), list),
        s(&[
            "shop/high",
            "shop/a",
            "shop/b",
            "shop/b-late",
            "shop/neg",
            "shop/unset"
        ])
    );
}

#[test]
fn root_namespace_first_before_1_20_proxy_namespace_first_from_1_20() {
    let list = || {
        vec![
            wasm_plugin("istio-system", "root", None, Some(1), None, None),
            wasm_plugin("shop", "local", None, Some(1), None, None),
        ]
    };
    assert_eq!(order(v(5), list()), s(&["istio-system/root", "shop/local"]));
    assert_eq!(order(v(6), list()), s(&["shop/local", "istio-system/root"]));
}

#[test]
fn from_1_19_an_explicit_min_int32_ties_with_unset() {
    let t1 = Some("2024-01-01T00:00:00Z");
    let t2 = Some("2024-02-01T00:00:00Z");
    let list = || {
        vec![
            wasm_plugin("shop", "unset", None, None, None, t1),
            wasm_plugin("shop", "min", None, Some(i64::from(i32::MIN)), None, t2),
        ]
    };
    // 1.18: unset is MinInt64, below MinInt32.
    assert_eq!(order(v(5), list()), s(&["shop/min", "shop/unset"]));
    // 1.20: both MinInt32, creation order decides.
    assert_eq!(order(v(6), list()), s(&["shop/unset", "shop/min"]));
}

fn with_match(mut p: WasmPlugin, mode: Option<&str>, ports: &[i64]) -> WasmPlugin {
    p.matches.push(TrafficSelector {
        mode: mode.map(str::to_string),
        ports: ports.to_vec(),
        pointer: format!("/spec/match/{}", p.matches.len()),
    });
    p
}

#[test]
fn match_mode_selects_the_listener_class_from_1_16() {
    let mut m = mesh(v(4));
    add_app(&mut m, "shop", "api");
    m.workloads
        .push(gateway("istio-system", "istio-ingressgateway"));
    m.wasm_plugins.push(with_match(
        wasm_plugin("shop", "server", Some("AUTHN"), None, None, None),
        Some("SERVER"),
        &[],
    ));
    m.wasm_plugins.push(with_match(
        wasm_plugin("istio-system", "gw-server", None, None, None, None),
        Some("SERVER"),
        &[],
    ));
    let c = chains(&m);
    let api = entries(&c, "shop", "api");
    assert!(api[0].2.contains(&"wp:shop/server".to_string()));
    assert!(!api[1].2.contains(&"wp:shop/server".to_string()));
    // mode SERVER never reaches a gateway (gateways are CLIENT), but does reach sidecar
    // inbound mesh-wide.
    let gw = entries(&c, "istio-system", "istio-ingressgateway");
    assert!(!gw[0].2.contains(&"wp:istio-system/gw-server".to_string()));
    assert!(api[0].2.contains(&"wp:istio-system/gw-server".to_string()));
    // 1.14 prunes `match`: the plugin is everywhere.
    m.version = v(3);
    let c = chains(&m);
    let api = entries(&c, "shop", "api");
    assert!(api[1].2.contains(&"wp:shop/server".to_string()));
}

#[test]
fn match_ports_split_the_class_per_port() {
    let mut m = mesh(v(4));
    m.workloads.push(sidecar("shop", "api"));
    m.services.push(service(
        "shop",
        "api",
        "api",
        &[8080, 9090],
        "2024-01-01T00:00:00Z",
    ));
    m.wasm_plugins.push(with_match(
        wasm_plugin("shop", "only-8080", None, None, None, None),
        Some("SERVER"),
        &[8080],
    ));
    let c = chains(&m);
    let api = entries(&c, "shop", "api");
    let inbound: Vec<_> = api.iter().filter(|e| e.0 == "inbound").collect();
    assert_eq!(inbound.len(), 2, "{api:?}");
    assert_eq!(inbound[0].1, Some(8080));
    assert!(inbound[0].2.contains(&"wp:shop/only-8080".to_string()));
    assert_eq!(inbound[1].1, Some(9090));
    assert!(!inbound[1].2.contains(&"wp:shop/only-8080".to_string()));
    // Outbound: mode SERVER never applies, so every port is the same: one entry.
    let outbound: Vec<_> = api.iter().filter(|e| e.0 == "outbound").collect();
    assert_eq!(outbound.len(), 1);
    assert_eq!(outbound[0].1, None);
}

#[test]
fn gateway_ports_are_translated_through_the_gateway_service() {
    let mut m = mesh(v(6));
    m.workloads
        .push(gateway("istio-system", "istio-ingressgateway"));
    let mut svc = service(
        "istio-system",
        "istio-ingressgateway",
        "istio-ingressgateway",
        &[80],
        "2024-01-01T00:00:00Z",
    );
    svc.ports[0].target_port = "8080".into();
    m.services.push(svc);
    m.gateways = vec![gateway_resource(
        "istio-system",
        "http",
        &[(80, "HTTP", None), (8443, "HTTP", None)],
    )];
    m.wasm_plugins.push(with_match(
        wasm_plugin("istio-system", "p", None, None, None, None),
        None,
        &[8080],
    ));
    let c = chains(&m);
    let gw = entries(&c, "istio-system", "istio-ingressgateway");
    assert_eq!(gw.len(), 2, "{gw:?}");
    assert_eq!(gw[0].1, Some(8080));
    assert!(gw[0].2.contains(&"wp:istio-system/p".to_string()));
    assert_eq!(gw[1].1, Some(8443));
    assert!(!gw[1].2.contains(&"wp:istio-system/p".to_string()));
}

#[test]
fn target_refs_attach_only_to_gateway_api_gateways() {
    let mut m = mesh(v(6));
    add_app(&mut m, "shop", "api");
    let mut gw = sidecar("shop", "edge");
    gw.proxy = ProxyType::Gateway;
    gw.labels.insert(
        "gateway.networking.k8s.io/gateway-name".into(),
        "edge".into(),
    );
    m.workloads.push(gw);
    let mut p = wasm_plugin("shop", "tr", None, None, None, None);
    p.target_refs.push(PolicyTargetRef {
        group: Some("gateway.networking.k8s.io".into()),
        kind: Some("Gateway".into()),
        name: Some("edge".into()),
        namespace: None,
        pointer: "/spec/targetRef".into(),
    });
    m.wasm_plugins.push(p);
    m.gateways.push(Gateway {
        selector: Some(labels(&[("app", "edge")])),
        ..gateway_resource("shop", "edge", &[(80, "HTTP", None)])
    });
    let c = chains(&m);
    let edge = chain_of(&c, "shop", "edge");
    assert_eq!(edge.wasm_plugins().count(), 1);
    assert!(chain_of(&c, "shop", "api").wasm_plugins().next().is_none());
    // 1.18 has no targetRef: the (absent) selector makes it namespace-wide.
    m.version = v(5);
    let c = chains(&m);
    assert_eq!(chain_of(&c, "shop", "api").wasm_plugins().count(), 1);
}

#[test]
fn older_meshes_have_no_wasm_plugins_and_network_plugins_stay_off_http() {
    let mut m = mesh(v(1));
    add_app(&mut m, "shop", "api");
    m.wasm_plugins
        .push(wasm_plugin("shop", "p", None, None, None, None));
    assert!(chain_of(&chains(&m), "shop", "api")
        .wasm_plugins()
        .next()
        .is_none());
    let mut m = mesh(v(6));
    add_app(&mut m, "shop", "api");
    let mut p = wasm_plugin("shop", "net", None, None, None, None);
    p.plugin_type = Some("NETWORK".into());
    m.wasm_plugins.push(p);
    assert!(chain_of(&chains(&m), "shop", "api")
        .wasm_plugins()
        .next()
        .is_none());
}
