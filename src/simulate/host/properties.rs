//! Properties: `proxy_get_property` / `proxy_set_property`.
//!
//! Paths are NUL-joined segments. Values use Envoy's encoding: strings raw, integers 8-byte
//! little-endian, booleans 1 byte, timestamps/durations int64 ns, maps in the pairs format,
//! protobuf messages (`node`) in protobuf binary. Defaults come from the workload; scenario
//! overrides (dotted paths) win.

use super::mem::{self, finish};
use super::{status, HostState, HttpState, Registrar, C};
use crate::simulate::cel;
use crate::simulate::headers::{encode_pairs, HeaderMap};
use crate::simulate::limits::{max_properties, max_property_bytes};
use wasmi::Error;

/// A property value before encoding.
enum PVal {
    Bytes(Vec<u8>),
    Int(i64),
    Bool(bool),
    Map(Vec<(String, Vec<u8>)>),
}

impl PVal {
    fn s(v: impl Into<String>) -> PVal {
        PVal::Bytes(v.into().into_bytes())
    }

    fn encode(self) -> Vec<u8> {
        match self {
            PVal::Bytes(b) => b,
            PVal::Int(i) => i.to_le_bytes().to_vec(),
            PVal::Bool(b) => vec![b as u8],
            PVal::Map(m) => encode_pairs(m.iter().map(|(k, v)| (k.as_bytes(), v.as_slice()))),
        }
    }
}

fn header_map(m: &HeaderMap) -> PVal {
    // One entry per name, multiple values comma-joined (Envoy's CEL header map view).
    PVal::Map(
        m.names()
            .iter()
            .map(|n| {
                (
                    n.to_string(),
                    m.get_joined(n).unwrap_or_default().into_bytes(),
                )
            })
            .collect(),
    )
}

/// Protobuf wire helpers for `node` (envoy.config.core.v3.Node: id=1, cluster=2, metadata=3).
mod pb {
    pub fn varint(mut v: u64, out: &mut Vec<u8>) {
        while v >= 0x80 {
            out.push((v as u8) | 0x80);
            v >>= 7;
        }
        out.push(v as u8);
    }

    pub fn bytes_field(field: u32, data: &[u8], out: &mut Vec<u8>) {
        varint(((field as u64) << 3) | 2, out);
        varint(data.len() as u64, out);
        out.extend_from_slice(data);
    }

    /// google.protobuf.Value with string_value (3), struct_value (5) or list_value (6).
    pub enum V<'a> {
        Str(&'a str),
        Struct(Vec<(&'a str, V<'a>)>),
        List(Vec<V<'a>>),
    }

    pub fn value(v: &V<'_>) -> Vec<u8> {
        let mut out = Vec::new();
        match v {
            V::Str(s) => bytes_field(3, s.as_bytes(), &mut out),
            V::Struct(fields) => bytes_field(5, &strukt(fields), &mut out),
            V::List(items) => {
                let mut list = Vec::new();
                for i in items {
                    bytes_field(1, &value(i), &mut list);
                }
                bytes_field(6, &list, &mut out);
            }
        }
        out
    }

    /// google.protobuf.Struct: map<string, Value> fields = 1.
    pub fn strukt(fields: &[(&str, V<'_>)]) -> Vec<u8> {
        let mut out = Vec::new();
        for (k, v) in fields {
            let mut entry = Vec::new();
            bytes_field(1, k.as_bytes(), &mut entry);
            bytes_field(2, &value(v), &mut entry);
            bytes_field(1, &entry, &mut out);
        }
        out
    }
}

/// `node.metadata.ISTIO_VERSION`: the last patch release of the mesh's Istio for the SME
/// meshes; from v2.3 on the Istio release of `rules/abi/istio_versions.tsv` (`1.N.0`).
fn istio_version(s: &HostState) -> String {
    match s.profile.mesh.map(|m| (m, m.major, m.minor)) {
        Some((_, 2, 0)) => "1.6.14".into(),
        Some((_, 2, 1)) => "1.9.9".into(),
        Some((_, 2, 2)) => "1.12.9".into(),
        Some((m, ..)) => match m.istio() {
            Some(i) => format!("{}.{}.0", i.major, i.minor),
            None => "1.24.0".into(),
        },
        None => "1.24.0".into(),
    }
}

/// `node.metadata` entries as (key, string value); LABELS is handled separately.
fn node_metadata(s: &HostState) -> Vec<(&'static str, String)> {
    let w = &s.workload;
    vec![
        ("CLUSTER_ID", w.cluster_id.clone()),
        ("INSTANCE_IPS", w.pod_ip.clone()),
        ("INTERCEPTION_MODE", "REDIRECT".into()),
        ("ISTIO_VERSION", istio_version(s)),
        ("MESH_ID", w.mesh_id.clone()),
        ("NAME", format!("{}-5d8f7c9b4-x2x7q", w.name)),
        ("NAMESPACE", w.namespace.clone()),
        (
            "OWNER",
            format!(
                "kubernetes://apis/apps/v1/namespaces/{}/deployments/{}",
                w.namespace, w.name
            ),
        ),
        ("SERVICE_ACCOUNT", "default".into()),
        ("WORKLOAD_NAME", w.name.clone()),
    ]
}

fn node_id(s: &HostState) -> String {
    let w = &s.workload;
    format!(
        "sidecar~{}~{}-5d8f7c9b4-x2x7q.{}~{}.svc.cluster.local",
        w.pod_ip, w.name, w.namespace, w.namespace
    )
}

fn node(s: &HostState, rest: &[String]) -> Option<PVal> {
    let w = &s.workload;
    let labels: Vec<(&str, pb::V<'_>)> = w
        .labels
        .iter()
        .map(|(k, v)| (k.as_str(), pb::V::Str(v)))
        .collect();
    let md = node_metadata(s);
    match rest {
        [] => {
            let mut fields: Vec<(&str, pb::V<'_>)> =
                md.iter().map(|(k, v)| (*k, pb::V::Str(v))).collect();
            fields.push(("LABELS", pb::V::Struct(labels)));
            fields.sort_by(|a, b| a.0.cmp(b.0));
            let mut out = Vec::new();
            pb::bytes_field(1, node_id(s).as_bytes(), &mut out);
            pb::bytes_field(
                2,
                format!("{}.{}", w.name, w.namespace).as_bytes(),
                &mut out,
            );
            pb::bytes_field(3, &pb::strukt(&fields), &mut out);
            Some(PVal::Bytes(out))
        }
        [f] if f == "id" => Some(PVal::s(node_id(s))),
        [f] if f == "cluster" => Some(PVal::s(format!("{}.{}", w.name, w.namespace))),
        [f] if f == "metadata" => {
            let mut fields: Vec<(&str, pb::V<'_>)> =
                md.iter().map(|(k, v)| (*k, pb::V::Str(v))).collect();
            fields.push(("LABELS", pb::V::Struct(labels)));
            Some(PVal::Bytes(pb::strukt(&fields)))
        }
        [f, k] if f == "metadata" && k == "LABELS" => Some(PVal::Map(
            w.labels
                .iter()
                .map(|(k, v)| (k.clone(), v.clone().into_bytes()))
                .collect(),
        )),
        [f, k, l] if f == "metadata" && k == "LABELS" => {
            w.labels.get(l).map(|v| PVal::s(v.clone()))
        }
        [f, k] if f == "metadata" => md
            .into_iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| PVal::s(v)),
        _ => None,
    }
}

/// The inbound cluster's upstream host: the application on 127.0.0.1 up to Istio 1.9 (mesh
/// v2.0, v2.1; maistra/istio 2.1 `buildInboundClusters` uses `actualLocalHost`), the pod IP
/// from Istio 1.10 on (inbound traffic goes to the pod address, bound to 127.0.0.6).
fn upstream_host(s: &HostState) -> String {
    match s.profile.mesh {
        Some(m) if m.major == 2 && m.minor <= 1 => "127.0.0.1".into(),
        _ => s.workload.pod_ip.clone(),
    }
}

/// The inbound cluster the stream's route sends to, as istiod names it. From Istio 1.8.1
/// (mesh v2.1 on) `inbound|PORT||` with the endpoint port (maistra/istio 2.1
/// `util.BuildInboundSubsetKey` for 1.8.1+ proxies; `model.BuildInboundSubsetKey` from 2.2).
/// Mesh v2.0 (Istio 1.6) puts the Service in it, `inbound|SERVICE_PORT|PORT_NAME|HOST`
/// (maistra/istio 2.0 `buildInboundClusterForPortOrUDS` and
/// `buildSidecarInboundHTTPListenerOptsForPortOrUDS`: `model.BuildSubsetKey`). A workload no
/// Service selects keeps the endpoint-port form (istiod's passthrough chain is not modelled).
fn inbound_cluster(s: &HostState) -> String {
    let w = &s.workload;
    match (&w.service_port, s.profile.mesh) {
        (Some((port, name)), Some(m)) if m.major == 2 && m.minor == 0 => {
            format!("inbound|{port}|{name}|{}", w.service_host)
        }
        _ => format!("inbound|{}||", w.port),
    }
}

/// The inbound cluster's `istio` filter metadata (an `envoy.config.core.v3.Metadata`
/// `filter_metadata` entry's Struct): `services: [{host, name, namespace}]`, as istiod's
/// `addTelemetryMetadata`/`buildServiceMetadata` add it from mesh v2.1 (Istio 1.9) on.
fn istio_cluster_metadata(s: &HostState) -> Option<Vec<u8>> {
    if s.profile.mesh.is_some_and(|m| m.major == 2 && m.minor == 0) {
        return None;
    }
    let w = &s.workload;
    let name = w.service_host.split('.').next().unwrap_or_default();
    let service = pb::V::Struct(vec![
        ("host", pb::V::Str(&w.service_host)),
        ("name", pb::V::Str(name)),
        ("namespace", pb::V::Str(&w.namespace)),
    ]);
    Some(pb::strukt(&[("services", pb::V::List(vec![service]))]))
}

/// `cluster_metadata` (Metadata: filter_metadata = 1, map<string, Struct>) and its
/// `filter_metadata.<name>` entries.
fn cluster_metadata(s: &HostState, rest: &[String]) -> Option<PVal> {
    let istio = istio_cluster_metadata(s);
    match rest {
        [] => {
            let mut out = Vec::new();
            if let Some(st) = &istio {
                let mut entry = Vec::new();
                pb::bytes_field(1, b"istio", &mut entry);
                pb::bytes_field(2, st, &mut entry);
                pb::bytes_field(1, &entry, &mut out);
            }
            Some(PVal::Bytes(out))
        }
        [f, k] if f == "filter_metadata" && k == "istio" => istio.map(PVal::Bytes),
        _ => None,
    }
}

fn url_path(path: &str) -> &str {
    path.split(['?', '#']).next().unwrap_or("")
}

fn request(st: &HttpState, log: bool, rest: &[String]) -> Option<PVal> {
    let h = if st.req_headers.is_empty() {
        &st.log_req_headers
    } else {
        &st.req_headers
    };
    let get = |k: &str| h.get(k).map(PVal::s);
    let key = rest.first().map(String::as_str)?;
    Some(match key {
        "path" => get(":path")?,
        "url_path" => PVal::s(url_path(h.get(":path")?)),
        "host" => get(":authority")?,
        "scheme" => get(":scheme")?,
        "method" => get(":method")?,
        "headers" => match rest.get(1) {
            None => header_map(h),
            Some(name) => PVal::s(h.get_joined(name)?),
        },
        "referer" => get("referer")?,
        "useragent" => get("user-agent")?,
        "id" => get("x-request-id")?,
        "time" => PVal::Int(st.start_ns as i64),
        // Envoy's `Http::Utility::getProtocolString` of the downstream codec.
        "protocol" => PVal::s(if st.downstream_http2 {
            "HTTP/2"
        } else {
            "HTTP/1.1"
        }),
        "query" => {
            let p = h.get(":path")?;
            let q = p.split_once('?').map(|(_, q)| q).unwrap_or("");
            PVal::s(q.split('#').next().unwrap_or(""))
        }
        "duration" if log => PVal::Int(st.end_ns?.saturating_sub(st.start_ns) as i64),
        "size" => PVal::Int(st.request_size as i64),
        "total_size" => PVal::Int((st.request_size as usize + h.byte_size()) as i64),
        _ => return None,
    })
}

/// `response.grpc_status` as Envoy's `ResponseWrapper` gives it (`Grpc::Common::getGrpcStatus`
/// over trailers, headers and stream info): the trailers' `grpc-status`, else the headers',
/// else the response code mapped by `Grpc::Utility::httpToGrpcStatus`; a status that is not a
/// number or above 16 (UNAUTHENTICATED) is -1 (`InvalidCode`). An int, not the header text.
fn grpc_status(st: &HttpState) -> Option<i64> {
    let parse = |v: &str| match v.parse::<u64>() {
        Ok(n) if n <= 16 => n as i64,
        _ => -1,
    };
    for h in [&st.resp_trailers, &st.resp_headers] {
        match h.get("grpc-status") {
            Some(v) if !v.is_empty() => return Some(parse(v)),
            _ => {}
        }
    }
    Some(match st.response_code? {
        400 => 13,
        401 => 16,
        403 => 7,
        404 => 12,
        429 | 502 | 503 | 504 => 14,
        _ => 2,
    })
}

fn response(st: &HttpState, rest: &[String]) -> Option<PVal> {
    let key = rest.first().map(String::as_str)?;
    let h = &st.resp_headers;
    Some(match key {
        "code" => PVal::Int(st.response_code? as i64),
        "code_details" => PVal::s(st.response_code_details.clone()?),
        "flags" => PVal::Int(0),
        "grpc_status" => PVal::Int(grpc_status(st)?),
        "headers" => match rest.get(1) {
            None => header_map(h),
            Some(name) => PVal::s(h.get_joined(name)?),
        },
        "trailers" => match rest.get(1) {
            None => header_map(&st.resp_trailers),
            Some(name) => PVal::s(st.resp_trailers.get_joined(name)?),
        },
        "size" => PVal::Int(st.response_size as i64),
        "total_size" => PVal::Int((st.response_size as usize + h.byte_size()) as i64),
        _ => return None,
    })
}

/// Resolves a property path for the effective context.
fn lookup(s: &HostState, segs: &[String]) -> Option<PVal> {
    lookup_at(s, s.effective, segs)
}

/// Resolves a property path for context `ctx`.
fn lookup_at(s: &HostState, ctx: u32, segs: &[String]) -> Option<PVal> {
    let dotted = segs.join(".");
    if let Some(v) = s.workload.overrides.get(&dotted) {
        return Some(PVal::Bytes(v.clone()));
    }
    let info = s.contexts.get(&ctx);
    let stream = info.and_then(|i| i.stream.clone());
    let log = info.is_some_and(|i| i.access.log);
    let w = &s.workload;
    let (head, rest) = segs.split_first()?;
    let st = stream.as_ref().map(|st| st.borrow());
    match head.as_str() {
        "plugin_name" => Some(PVal::s(s.plugin_of(ctx).name.clone())),
        "plugin_root_id" => Some(PVal::s(s.plugin_of(ctx).root_id.clone())),
        "plugin_vm_id" => Some(PVal::s(s.plugin.vm_id.clone())),
        "node" if s.profile.legacy_properties() => node(s, rest),
        // Envoy's CEL `xds` attributes, each from the version that added it (`xds_props`).
        "xds" => {
            let (attr, more) = rest.split_first()?;
            if !s.profile.xds_attribute(attr) {
                return None;
            }
            match (attr.as_str(), more) {
                ("node", _) => node(s, more),
                ("cluster_name", []) if st.is_some() => Some(PVal::s(inbound_cluster(s))),
                // istiod names the inbound route `default` (`BuildDefaultHTTPInboundRoute`).
                ("route_name", []) if st.is_some() => Some(PVal::s("default")),
                ("cluster_metadata", _) if st.as_ref()?.upstream_reached => {
                    cluster_metadata(s, more)
                }
                // Nothing in the simulated mesh sets route, endpoint or listener metadata:
                // empty `Metadata` messages (the endpoint's once the router picked it).
                ("route_metadata", []) if st.is_some() => Some(PVal::Bytes(Vec::new())),
                ("upstream_host_metadata", []) if st.as_ref()?.upstream_reached => {
                    Some(PVal::Bytes(Vec::new()))
                }
                ("listener_metadata", []) => Some(PVal::Bytes(Vec::new())),
                ("listener_direction", []) => Some(PVal::Int(1)),
                _ => None,
            }
        }
        "listener_direction" if s.profile.legacy_properties() => Some(PVal::Int(1)),
        "cluster_name" if s.profile.legacy_properties() && st.is_some() => {
            Some(PVal::s(inbound_cluster(s)))
        }
        // istiod names the inbound route `default` (`BuildDefaultHTTPInboundRoute`).
        "route_name" if s.profile.legacy_properties() && st.is_some() => Some(PVal::s("default")),
        // Envoy's `UpstreamWrapper` and `upstreamHost()`: known once the router picked the
        // host; the hop to the application is plaintext, so TLS fields are NOT_FOUND.
        "upstream" => {
            if !st.as_ref()?.upstream_reached {
                return None;
            }
            match rest {
                [k] if k == "address" => Some(PVal::s(format!("{}:{}", upstream_host(s), w.port))),
                [k] if k == "port" => Some(PVal::Int(w.port as i64)),
                _ => None,
            }
        }
        "cluster_metadata" if st.as_ref()?.upstream_reached => cluster_metadata(s, rest),
        // The stream's dynamic metadata and istiod's inbound route's metadata: empty
        // `Metadata` messages (nothing in the simulated chain sets them).
        "metadata" | "route_metadata" if st.is_some() && rest.is_empty() => {
            Some(PVal::Bytes(Vec::new()))
        }
        "request" => request(st.as_ref()?, log, rest),
        "response" => response(st.as_ref()?, rest),
        "source" => {
            let st = st.as_ref()?;
            match rest.first()?.as_str() {
                "address" => Some(PVal::s(format!("{}:{}", st.source_address, st.source_port))),
                "port" => Some(PVal::Int(st.source_port as i64)),
                _ => None,
            }
        }
        "destination" => {
            st.as_ref()?;
            match rest.first()?.as_str() {
                "address" => Some(PVal::s(format!("{}:{}", w.pod_ip, w.port))),
                "port" => Some(PVal::Int(w.port as i64)),
                _ => None,
            }
        }
        "connection" | "connection_id" => {
            let st = st.as_ref()?;
            if head == "connection_id" {
                return Some(PVal::Int(st.connection_id as i64));
            }
            match rest.first()?.as_str() {
                "id" => Some(PVal::Int(st.connection_id as i64)),
                "mtls" => Some(PVal::Bool(true)),
                "requested_server_name" => Some(PVal::s(format!(
                    "outbound_.{}_._.{}",
                    w.port, w.service_host
                ))),
                "tls_version" => Some(PVal::s("TLSv1.3")),
                "uri_san_local_certificate" => Some(PVal::s(format!(
                    "spiffe://{}/ns/{}/sa/default",
                    w.mesh_id, w.namespace
                ))),
                "uri_san_peer_certificate" => Some(PVal::s(format!(
                    "spiffe://{}/ns/{}/sa/default",
                    w.mesh_id, w.namespace
                ))),
                _ => None,
            }
        }
        other => {
            // Anything else reads Wasm filter state written by set_property.
            let st = st.as_ref()?;
            st.filter_state
                .get(
                    &std::iter::once(other.to_string())
                        .chain(rest.iter().cloned())
                        .collect::<Vec<_>>()
                        .join("."),
                )
                .map(|v| PVal::Bytes(v.clone()))
        }
    }
}

/// The CEL value of attribute `path` for context `ctx`, typed as Envoy's CEL activation
/// types it (`source/extensions/filters/common/expr/context.cc` and the Wasm `Context::
/// findValue`): the values `proxy_get_property` serves, with `request.time` a timestamp,
/// `request.duration` a duration, `connection.id` / `connection_id` uint,
/// `response.grpc_status` int, header maps
/// string→string, protobuf messages (`node`, `metadata`, `*_metadata`) opaque messages and
/// Wasm filter state (`set_property` values) bytes.
pub(super) fn cel_attribute(s: &HostState, ctx: u32, path: &[String]) -> Option<cel::Value> {
    use cel::Value as V;
    let v = lookup_at(s, ctx, path)?;
    let p: Vec<&str> = path.iter().map(String::as_str).collect();
    let int = |i: i64| match p.as_slice() {
        ["request", "time"] => V::Timestamp(i),
        ["request", "duration"] => V::Duration(i),
        ["connection", "id"] | ["connection_id"] => V::Uint(i as u64),
        _ => V::Int(i),
    };
    Some(match v {
        PVal::Int(i) => int(i),
        PVal::Bool(b) => V::Bool(b),
        PVal::Map(m) => V::Map(
            m.into_iter()
                .map(|(k, v)| (V::String(k), V::String(String::from_utf8_lossy(&v).into())))
                .collect(),
        ),
        PVal::Bytes(b) if is_message(&p) => V::Message(b),
        // Envoy's `ResponseWrapper` gives the gRPC status as an int (`getGrpcStatus`).
        PVal::Bytes(b) if p == ["response", "grpc_status"] => {
            V::Int(std::str::from_utf8(&b).ok()?.trim().parse().ok()?)
        }
        PVal::Bytes(b) if !is_attribute(p[0]) => V::Bytes(b),
        PVal::Bytes(b) => match String::from_utf8(b) {
            Ok(t) => V::String(t),
            // An int attribute a scenario overrides with its 8-byte encoding.
            Err(e) if e.as_bytes().len() == 8 => int(i64::from_le_bytes(
                e.as_bytes().try_into().unwrap_or_default(),
            )),
            Err(e) => V::Bytes(e.into_bytes()),
        },
    })
}

/// Paths whose value is a protobuf message (`Node`, `Metadata`, a metadata `Struct`).
fn is_message(p: &[&str]) -> bool {
    let p = match p {
        ["xds", rest @ ..] => rest,
        _ => p,
    };
    matches!(
        p,
        ["node"]
            | ["node", "metadata"]
            | ["metadata"]
            | ["route_metadata"]
            | ["listener_metadata"]
            | ["upstream_host_metadata"]
            | ["cluster_metadata"]
            | ["cluster_metadata", "filter_metadata", _]
    )
}

/// Top-level names of Envoy's attributes; any other name reads Wasm filter state (bytes).
fn is_attribute(head: &str) -> bool {
    matches!(
        head,
        "plugin_name"
            | "plugin_root_id"
            | "plugin_vm_id"
            | "node"
            | "xds"
            | "listener_direction"
            | "cluster_name"
            | "route_name"
            | "upstream"
            | "cluster_metadata"
            | "metadata"
            | "route_metadata"
            | "request"
            | "response"
            | "source"
            | "destination"
            | "connection"
            | "connection_id"
    )
}

fn split_path(raw: &[u8]) -> Vec<String> {
    let raw = raw.strip_suffix(&[0]).unwrap_or(raw);
    raw.split(|b| *b == 0)
        .map(|s| String::from_utf8_lossy(s).into_owned())
        .collect()
}

pub fn register(r: &mut Registrar<'_>) -> Result<(), Error> {
    r.env(
        "proxy_get_property",
        |mut c: C<'_>, pp: i32, pl: i32, vp: i32, vl: i32| -> Result<i32, Error> {
            finish((|| {
                let segs = split_path(&mem::read(&c, pp, pl)?);
                if segs.len() == 1 && segs[0] == "plugin_root_id" {
                    c.data_mut().root_id_reads += 1;
                }
                let Some(v) = lookup(c.data(), &segs) else {
                    return Ok(status::NOT_FOUND);
                };
                mem::copy_out(&mut c, &v.encode(), vp, vl)?;
                Ok(status::OK)
            })())
        },
    )?;
    r.env(
        "proxy_set_property",
        |c: C<'_>, pp: i32, pl: i32, vp: i32, vl: i32| -> Result<i32, Error> {
            finish((|| {
                let segs = split_path(&mem::read(&c, pp, pl)?);
                let value = mem::read(&c, vp, vl)?;
                let s = c.data();
                let Some(stream) = s.contexts.get(&s.effective).and_then(|i| i.stream.clone())
                else {
                    return Ok(status::NOT_FOUND);
                };
                let st = stream.borrow_mut();
                let key = segs.join(".");
                if st.filter_state.len() >= max_properties() && !st.filter_state.contains_key(&key)
                {
                    return Err(mem::Fault::Trap(super::over_budget(
                        "too many properties set on one stream",
                        max_properties(),
                    )));
                }
                let held: usize = st
                    .filter_state
                    .iter()
                    .filter(|(k, _)| **k != key)
                    .map(|(k, v)| k.len() + v.len())
                    .sum();
                if held + key.len() + value.len() > max_property_bytes() {
                    return Err(mem::Fault::Trap(super::over_budget(
                        "properties set on one stream hold too many bytes",
                        max_property_bytes(),
                    )));
                }
                let n = st.filter_state.len() as u64;
                drop(st);
                super::owe(&c, n, 0);
                let mut st = stream.borrow_mut();
                st.filter_state.insert(key, value);
                Ok(status::OK)
            })())
        },
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn istio_version_follows_the_mesh() {
        use crate::model::MeshVersion as V;
        let v = |m| istio_version(&super::super::tests::state_on(m));
        assert_eq!(v(V::V2_1), "1.9.9");
        assert_eq!(v(V::V2_6), "1.20.0");
        assert_eq!(v(V::V3_0), "1.24.0");
        assert_ne!(v(V::V2_3), v(V::V3_0));
    }

    /// A state whose effective context is a stream (upstream reached or not).
    fn on_stream(m: crate::model::MeshVersion, reached: bool) -> HostState {
        use super::super::{ContextInfo, HttpState};
        let mut s = super::super::tests::state_on(m);
        let st = HttpState {
            upstream_reached: reached,
            ..Default::default()
        };
        let info = ContextInfo {
            parent: 1,
            stream: Some(std::rc::Rc::new(std::cell::RefCell::new(st))),
            access: Default::default(),
        };
        s.contexts.insert(2, info);
        s.effective = 2;
        s
    }

    fn get(s: &HostState, path: &str) -> Option<Vec<u8>> {
        let segs: Vec<String> = path.split('.').map(str::to_string).collect();
        lookup(s, &segs).map(PVal::encode)
    }

    #[test]
    fn upstream_cluster_and_route_metadata_of_the_inbound_stream() {
        use crate::model::MeshVersion as V;
        let s = on_stream(V::V2_6, true);
        assert_eq!(get(&s, "upstream.address").unwrap(), b"10.0.0.2:8080");
        assert_eq!(get(&s, "upstream.port").unwrap(), 8080i64.to_le_bytes());
        assert_eq!(get(&s, "upstream.tls_version"), None);
        let md = get(&s, "cluster_metadata").unwrap();
        let istio = get(&s, "cluster_metadata.filter_metadata.istio").unwrap();
        // Metadata{filter_metadata{"istio": Struct{services: [{host, name, namespace}]}}}
        assert_eq!(
            md[..9],
            [0x0a, md[1], 0x0a, 0x05, b'i', b's', b't', b'i', b'o']
        );
        assert!(md.ends_with(&istio));
        let text = String::from_utf8_lossy(&istio);
        for part in [
            "services",
            "workload.default.svc.cluster.local",
            "namespace",
            "default",
        ] {
            assert!(text.contains(part), "{text:?}");
        }
        assert_eq!(get(&s, "route_metadata").unwrap(), b"");
        assert_eq!(get(&s, "metadata").unwrap(), b"");
        // Istio 1.9 and before: the application on localhost.
        let old = on_stream(V::V2_1, true);
        assert_eq!(get(&old, "upstream.address").unwrap(), b"127.0.0.1:8080");
        // Mesh v2.0 (Istio 1.6): no telemetry metadata on the inbound cluster.
        let mut v20 = on_stream(V::V2_0, true);
        assert_eq!(get(&v20, "cluster_metadata").unwrap(), b"");
        assert_eq!(get(&v20, "cluster_metadata.filter_metadata.istio"), None);
        // … and the Service in the cluster's name; without a Service, the port alone.
        assert_eq!(get(&v20, "cluster_name").unwrap(), b"inbound|8080||");
        let mut w = (*v20.workload).clone();
        w.service_port = Some((9080, "http-api".into()));
        v20.workload = std::rc::Rc::new(w.clone());
        assert_eq!(
            get(&v20, "cluster_name").unwrap(),
            b"inbound|9080|http-api|workload.default.svc.cluster.local"
        );
        let mut v21 = on_stream(V::V2_1, true);
        v21.workload = std::rc::Rc::new(w);
        assert_eq!(get(&v21, "cluster_name").unwrap(), b"inbound|8080||");
        // Before the router picked the upstream host: NOT_FOUND, as in Envoy.
        let early = on_stream(V::V2_6, false);
        assert_eq!(get(&early, "upstream.address"), None);
        assert_eq!(get(&early, "cluster_metadata"), None);
        // Scenario overrides win.
        let mut o = on_stream(V::V2_6, true);
        let mut w = (*o.workload).clone();
        w.overrides
            .insert("upstream.address".into(), b"1.2.3.4:80".to_vec());
        w.overrides.insert("route_metadata".into(), b"x".to_vec());
        o.workload = std::rc::Rc::new(w);
        assert_eq!(get(&o, "upstream.address").unwrap(), b"1.2.3.4:80");
        assert_eq!(get(&o, "route_metadata").unwrap(), b"x");
    }

    #[test]
    fn request_protocol_is_http2_only_when_the_client_sent_what_only_http2_carries() {
        use crate::model::MeshVersion as V;
        let s = on_stream(V::V2_6, true);
        assert_eq!(get(&s, "request.protocol").unwrap(), b"HTTP/1.1");
        let st = s.contexts[&2].stream.as_ref().unwrap();
        st.borrow_mut().downstream_http2 = true;
        assert_eq!(get(&s, "request.protocol").unwrap(), b"HTTP/2");
    }

    /// CEL sees the properties with the types of Envoy's activation.
    #[test]
    fn grpc_status_is_an_int_from_trailers_headers_or_the_response_code() {
        use crate::model::MeshVersion as V;
        let s = on_stream(V::V2_6, true);
        let at = || {
            lookup_at(&s, 2, &["response".into(), "grpc_status".into()]).map(|v| match v {
                PVal::Int(i) => i,
                _ => panic!("an int"),
            })
        };
        let st = || s.contexts[&2].stream.as_ref().unwrap();
        assert_eq!(at(), None, "no response yet");
        st().borrow_mut().response_code = Some(200);
        assert_eq!(at(), Some(2), "200 without grpc-status: UNKNOWN");
        st().borrow_mut().response_code = Some(503);
        assert_eq!(at(), Some(14), "503: UNAVAILABLE");
        st().borrow_mut().response_code = Some(404);
        assert_eq!(at(), Some(12), "404: UNIMPLEMENTED");
        st().borrow_mut().resp_headers.add("grpc-status", "7");
        assert_eq!(at(), Some(7), "the headers' status");
        st().borrow_mut().resp_trailers.add("grpc-status", "0");
        assert_eq!(at(), Some(0), "the trailers' status first");
        st().borrow_mut().resp_trailers.replace("grpc-status", "99");
        assert_eq!(at(), Some(-1), "above 16: InvalidCode");
        st().borrow_mut().resp_trailers.replace("grpc-status", "x");
        assert_eq!(at(), Some(-1), "not a number: InvalidCode");
    }

    #[test]
    fn cel_attributes_are_typed_as_envoy_types_them() {
        use crate::model::MeshVersion as V;
        use cel::Value as C;
        let s = on_stream(V::V2_6, true);
        {
            let mut st = s.contexts[&2].stream.as_ref().unwrap().borrow_mut();
            st.req_headers.add(":method", "GET");
            st.req_headers.add("x-id", "7");
            st.start_ns = 5;
            st.connection_id = 9;
            st.filter_state.insert("mine".into(), b"\xff".to_vec());
        }
        let at = |p: &str| {
            let segs: Vec<String> = p.split('.').map(str::to_string).collect();
            cel_attribute(&s, 2, &segs)
        };
        assert_eq!(at("request.method"), Some(C::String("GET".into())));
        assert_eq!(at("request.time"), Some(C::Timestamp(5)));
        assert_eq!(at("connection.id"), Some(C::Uint(9)));
        assert_eq!(at("connection_id"), Some(C::Uint(9)));
        assert_eq!(at("connection.mtls"), Some(C::Bool(true)));
        assert_eq!(at("upstream.port"), Some(C::Int(8080)));
        let Some(C::Map(h)) = at("request.headers") else {
            panic!("a map")
        };
        assert!(h.contains(&(C::String("x-id".into()), C::String("7".into()))));
        assert_eq!(
            at("mine"),
            Some(C::Bytes(vec![0xff])),
            "filter state is bytes"
        );
        assert!(matches!(at("node"), Some(C::Message(_))));
        assert!(matches!(at("cluster_metadata"), Some(C::Message(_))));
        assert_eq!(
            at("node.metadata.NAMESPACE"),
            Some(C::String("default".into()))
        );
        assert_eq!(at("request.nothing"), None);
        s.contexts[&2]
            .stream
            .as_ref()
            .unwrap()
            .borrow_mut()
            .resp_headers
            .add("grpc-status", "14");
        assert_eq!(at("response.grpc_status"), Some(C::Int(14)));
        // The context asked for, not the effective one.
        assert_eq!(
            cel_attribute(&s, 1, &["request".into(), "method".into()]),
            None
        );
    }

    #[test]
    fn path_split_tolerates_trailing_nul() {
        assert_eq!(split_path(b"request\0path"), vec!["request", "path"]);
        assert_eq!(split_path(b"request\0path\0"), vec!["request", "path"]);
        assert_eq!(url_path("/a/b?x=1#f"), "/a/b");
    }
}
