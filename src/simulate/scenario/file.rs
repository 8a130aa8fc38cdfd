//! The scenario file as written: serde structs read straight from the text (`load::direct`)
//! or, when that declines, from the span tree; the wording of their problems; and their
//! conversion into the [`Scenario`] the simulator runs.

use super::{
    parse_duration, CallWant, CallbackWant, ClosedBy, ConnectionExpect, ConnectionSpec, Expect,
    GrpcWant, LogLevelSel, LogPattern, LogText, MetricKindSel, MetricWant, NetEvent, Peer,
    RequestSpec, Scenario, ScenarioError, StartupExpect,
};
use crate::load::typed::{self, Dialect, Expected, Pairs, Problem};
use crate::simulate::filter_manager::input::open_empty_frame;
use crate::simulate::filter_manager::{GrpcDelay, GrpcMock, HttpMock, Response};
use serde::de::{self, Error as _, Visitor};
use serde::{Deserialize, Deserializer};
use std::collections::BTreeMap;

/// Any scalar reads as text and keys as their text; unknown keys are reported first and
/// fields read in declared order (as the hand-written reader did).
pub(super) const DIALECT: Dialect = Dialect {
    string_keys: false,
    scalars_as_text: true,
    null_is_empty: false,
    struct_order: true,
};

/// The file as written. Field order is the order `unknown key` lists them in.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ScenarioFile {
    workload: Option<String>,
    direction: Option<String>,
    port: Option<String>,
    properties: Option<BTreeMap<String, String>>,
    vm_id: Option<String>,
    vm_config: Option<VmConfigIn>,
    startup: Option<StartupIn>,
    requests: Option<Requests>,
    connections: Option<Vec<ConnectionIn>>,
}

/// A TCP connection through network filters.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ConnectionIn {
    name: Option<String>,
    events: Option<Vec<NetEventIn>>,
    http_calls: Option<Vec<HttpCallIn>>,
    grpc_calls: Option<Vec<GrpcCallIn>>,
    expect: Option<ConnectionExpectIn>,
}

/// One event: exactly one of its keys.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NetEventIn {
    downstream: Option<String>,
    upstream: Option<String>,
    close: Option<Peer>,
    /// Simulated time passing (ticks, gRPC answers and timeouts fire).
    advance: Option<Duration>,
    /// With `downstream`/`upstream`: that peer then ends its side (half-close).
    end_stream: Option<bool>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ConnectionExpectIn {
    upstream_received: Option<String>,
    downstream_received: Option<String>,
    closed_by: Option<ClosedBy>,
    logs: Option<Vec<LogPatternIn>>,
    no_logs: Option<Vec<LogPatternIn>>,
    logs_exact: Option<Vec<LogPatternIn>>,
    metrics: Option<Pairs<String, MetricIn>>,
    http_calls: Option<i64>,
    calls: Option<Vec<CallIn>>,
    grpc_calls: Option<Vec<GrpcWantIn>>,
    callbacks: Option<Vec<CallbackIn>>,
}

/// What must hold once every plugin has started (before the first step).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct StartupIn {
    result: Option<String>,
    logs: Option<Vec<LogPatternIn>>,
    no_logs: Option<Vec<LogPatternIn>>,
    logs_exact: Option<Vec<LogPatternIn>>,
    metrics: Option<Pairs<String, MetricIn>>,
    tick_period: Option<Duration>,
    /// Answers to the gRPC calls opened while starting.
    grpc_calls: Option<Vec<GrpcCallIn>>,
    /// gRPC calls that must have been opened while starting.
    grpc_calls_made: Option<Vec<GrpcWantIn>>,
    /// Answers to the HTTP calls made while starting.
    http_calls: Option<Vec<HttpCallIn>>,
    /// HTTP calls that must have been made while starting (as a step's `expect.calls`).
    http_calls_made: Option<Vec<CallIn>>,
}

/// `requests:`, each entry resolved as soon as it is read: the file structs of a large
/// scenario are never all alive at once (no `Vec<RequestEntry>` to grow, copy and free).
struct Requests {
    specs: Vec<RequestSpec>,
    /// The first entry that does not resolve: its pointer and message, reported where the
    /// requests are resolved (after `connections` and `startup`, and only once the whole
    /// file has typed), as when the entries were kept and resolved afterwards.
    error: Option<(String, String)>,
}

impl<'de> Deserialize<'de> for Requests {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Requests;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a sequence")
            }
            fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<Requests, A::Error> {
                let mut specs = Vec::new();
                let mut error = None;
                let mut index = 0;
                while let Some(entry) = seq.next_element::<RequestEntry>()? {
                    if index == 1 {
                        // The direct path estimates how many entries follow from the first's
                        // length (bounded by the text left): no regrowth of a large list.
                        specs.reserve(seq.size_hint().unwrap_or(0));
                    }
                    if error.is_none() {
                        let err = |p: &str, m: &str| (p.to_string(), m.to_string());
                        if let Err(e) = entry.resolve_into(index, err, &mut specs) {
                            error = Some(e);
                        }
                    }
                    index += 1;
                }
                Ok(Requests { specs, error })
            }
        }
        d.deserialize_seq(V)
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RequestEntry {
    name: Option<String>,
    advance: Option<Duration>,
    request: Option<Box<RequestIn>>,
    http_calls: Option<Vec<HttpCallIn>>,
    upstream: Option<ResponseIn>,
    expect: Option<Box<ExpectIn>>,
    grpc_calls: Option<Vec<GrpcCallIn>>,
}

/// An answer for gRPC calls and streams (`grpc_calls:`).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct GrpcCallIn {
    service: String,
    method: Option<String>,
    cluster: Option<String>,
    response: Option<GrpcResponseIn>,
    /// When the answer arrives: a duration after the call, or `never`.
    delay: Option<DelayIn>,
}

/// `delay:` of a `grpc_calls` or `http_calls` entry: a duration, or `never`.
struct DelayIn(GrpcDelay);

impl<'de> Deserialize<'de> for DelayIn {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let t = String::deserialize(d)?;
        if t.trim() == "never" {
            return Ok(DelayIn(GrpcDelay::Never));
        }
        match parse_duration(&t) {
            Some(0) => Ok(DelayIn(GrpcDelay::Now)),
            Some(ns) => Ok(DelayIn(GrpcDelay::After(ns))),
            None => Err(D::Error::custom(format!(
                "cannot read delay {t:?} (use a duration such as 50ms or 2s, or never)"
            ))),
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct GrpcResponseIn {
    #[serde(default)]
    initial_metadata: Headers,
    messages: Option<Vec<BytesIn>>,
    status: Option<GrpcCode>,
    message: Option<String>,
    #[serde(default)]
    trailing_metadata: Headers,
    close: Option<CloseSide>,
}

/// Who closes a stream: the server once its messages are sent, or the plugin first.
#[derive(Deserialize, Clone, Copy, PartialEq)]
#[serde(rename_all = "lowercase")]
enum CloseSide {
    Server,
    Plugin,
}

/// A gRPC status code, 0 to 16.
struct GrpcCode(u32);

impl<'de> Deserialize<'de> for GrpcCode {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = i64::deserialize(d)?;
        match u32::try_from(v) {
            Ok(s) if s <= 16 => Ok(GrpcCode(s)),
            _ => Err(D::Error::custom("a gRPC status must be between 0 and 16")),
        }
    }
}

/// Message bytes: text as is, or `{base64: …}`.
struct BytesIn(Vec<u8>);

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Base64In {
    base64: String,
}

impl<'de> Deserialize<'de> for BytesIn {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = BytesIn;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a string or a mapping of base64")
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<BytesIn, E> {
                Ok(BytesIn(s.as_bytes().to_vec()))
            }
            fn visit_i64<E: de::Error>(self, i: i64) -> Result<BytesIn, E> {
                Ok(BytesIn(i.to_string().into_bytes()))
            }
            fn visit_f64<E: de::Error>(self, f: f64) -> Result<BytesIn, E> {
                Ok(BytesIn(f.to_string().into_bytes()))
            }
            fn visit_bool<E: de::Error>(self, b: bool) -> Result<BytesIn, E> {
                Ok(BytesIn(b.to_string().into_bytes()))
            }
            fn visit_map<A: de::MapAccess<'de>>(self, map: A) -> Result<BytesIn, A::Error> {
                let m = Base64In::deserialize(de::value::MapAccessDeserializer::new(map))?;
                base64_decode(&m.base64).map(BytesIn).ok_or_else(|| {
                    A::Error::custom("invalid base64 (standard alphabet, padding optional)")
                })
            }
        }
        d.deserialize_any(V)
    }
}

/// Standard base64 (RFC 4648 §4), padding optional, whitespace ignored.
fn base64_decode(text: &str) -> Option<Vec<u8>> {
    let digits: Vec<u8> = (text.bytes())
        .filter(|b| !b.is_ascii_whitespace())
        .collect();
    let body = digits
        .strip_suffix(b"==")
        .or_else(|| digits.strip_suffix(b"="))
        .unwrap_or(&digits);
    let padded = body.len() != digits.len();
    if body.len() % 4 == 1 || (padded && digits.len() % 4 != 0) {
        return None;
    }
    let mut out = Vec::with_capacity(body.len() * 3 / 4);
    let (mut acc, mut bits) = (0u32, 0);
    for &c in body {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        };
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
    }
    Some(out)
}

/// An expected gRPC call.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct GrpcWantIn {
    service: Option<String>,
    method: Option<String>,
    cluster: Option<String>,
    message: Option<BytesIn>,
    count: Option<Count>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RequestIn {
    method: Option<String>,
    path: Option<String>,
    authority: Option<String>,
    #[serde(default)]
    headers: Headers,
    body: Option<String>,
    chunks: Option<Vec<String>>,
    #[serde(default)]
    trailers: Headers,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct HttpCallIn {
    cluster: String,
    path: Option<String>,
    response: Option<ResponseIn>,
    /// When the answer arrives: a duration after the call, or `never`.
    delay: Option<DelayIn>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ResponseIn {
    status: Option<Status>,
    #[serde(default)]
    headers: Headers,
    body: Option<String>,
    chunks: Option<Vec<String>>,
    #[serde(default)]
    trailers: Headers,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ExpectIn {
    status: Option<i64>,
    response_headers: Option<HeaderWants>,
    response_body: Option<String>,
    response_trailers: Option<HeaderWants>,
    upstream_called: Option<bool>,
    upstream_request_headers: Option<HeaderWants>,
    upstream_request_body: Option<String>,
    upstream_request_trailers: Option<HeaderWants>,
    http_calls: Option<i64>,
    logs: Option<Vec<LogPatternIn>>,
    no_logs: Option<Vec<LogPatternIn>>,
    logs_exact: Option<Vec<LogPatternIn>>,
    metrics: Option<Pairs<String, MetricIn>>,
    calls: Option<Vec<CallIn>>,
    grpc_calls: Option<Vec<GrpcWantIn>>,
    callbacks: Option<Vec<CallbackIn>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CallIn {
    cluster: Option<String>,
    headers: Option<HeaderWants>,
    body: Option<String>,
    count: Option<Count>,
}

/// The VM configuration: text as is, a mapping or list as JSON (as istiod marshals a
/// plugin's configuration: keys sorted), another scalar as its text.
struct VmConfigIn(String);

impl<'de> Deserialize<'de> for VmConfigIn {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = VmConfigIn;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a string or a mapping")
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<VmConfigIn, E> {
                Ok(VmConfigIn(s.to_string()))
            }
            fn visit_i64<E: de::Error>(self, i: i64) -> Result<VmConfigIn, E> {
                Ok(VmConfigIn(i.to_string()))
            }
            fn visit_f64<E: de::Error>(self, f: f64) -> Result<VmConfigIn, E> {
                Ok(VmConfigIn(f.to_string()))
            }
            fn visit_bool<E: de::Error>(self, b: bool) -> Result<VmConfigIn, E> {
                Ok(VmConfigIn(b.to_string()))
            }
            fn visit_map<A: de::MapAccess<'de>>(self, map: A) -> Result<VmConfigIn, A::Error> {
                let v = serde_json::Value::deserialize(de::value::MapAccessDeserializer::new(map))?;
                Ok(VmConfigIn(crate::simulate::config::go_json(&v)))
            }
            fn visit_seq<A: de::SeqAccess<'de>>(self, seq: A) -> Result<VmConfigIn, A::Error> {
                let v = serde_json::Value::deserialize(de::value::SeqAccessDeserializer::new(seq))?;
                Ok(VmConfigIn(crate::simulate::config::go_json(&v)))
            }
        }
        d.deserialize_any(V)
    }
}

/// Body frames from `chunks`, one data frame each. An empty chunk is an empty data frame: the
/// end of the stream when it is the last and no trailers follow, else an empty frame that does
/// not end it, which only HTTP/2 delivers (Envoy's codec passes every DATA frame on,
/// `ConnectionImpl::onBeginData` → `StreamImpl::decodeData`). Envoy closes the connection at
/// the second such frame in a row (`Http2ProtocolOptions.max_consecutive_inbound_frames_with_empty_payload`,
/// default 1, `ProtocolConstraints::trackInboundFrame`), so two are refused.
fn frames<E>(
    chunks: Vec<String>,
    trailers: bool,
    ptr: &str,
    err: &impl Fn(&str, &str) -> E,
) -> Result<Vec<Vec<u8>>, E> {
    let open_empty = |i: usize| open_empty_frame(&chunks, i, trailers);
    if let Some(i) = (1..chunks.len()).find(|&i| open_empty(i - 1) && open_empty(i)) {
        return Err(err(
            &format!("{ptr}/{i}"),
            "a second empty data frame in a row that does not end the stream: Envoy's HTTP/2 codec closes the connection here (max_consecutive_inbound_frames_with_empty_payload is 1)",
        ));
    }
    Ok(chunks.into_iter().map(String::into_bytes).collect())
}

/// A count of calls, 0 or more.
struct Count(usize);

impl<'de> Deserialize<'de> for Count {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = i64::deserialize(d)?;
        usize::try_from(v)
            .map(Count)
            .map_err(|_| D::Error::custom("count must be 0 or more"))
    }
}

/// An expected metric: its value, or a mapping of `type` and `value`.
struct MetricIn(MetricWant);

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct MetricFull {
    #[serde(rename = "type")]
    kind: Option<MetricKindSel>,
    value: Option<i64>,
}

impl<'de> Deserialize<'de> for MetricIn {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = MetricIn;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("an integer or a mapping of type, value")
            }
            fn visit_i64<E: de::Error>(self, i: i64) -> Result<MetricIn, E> {
                Ok(MetricIn(MetricWant {
                    kind: None,
                    value: Some(i),
                }))
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<MetricIn, E> {
                // Scalars are text in scenarios: `'2'` is 2.
                match s.trim().parse() {
                    Ok(i) => self.visit_i64(i),
                    Err(_) => Err(E::custom("metric value must be an integer")),
                }
            }
            fn visit_map<A: de::MapAccess<'de>>(self, map: A) -> Result<MetricIn, A::Error> {
                let m = MetricFull::deserialize(de::value::MapAccessDeserializer::new(map))?;
                Ok(MetricIn(MetricWant {
                    kind: m.kind,
                    value: m.value,
                }))
            }
        }
        d.deserialize_any(V)
    }
}

/// A log line to look for: text (a substring, or the whole message in `logs_exact`) or a
/// mapping that also names the level or gives a regular expression.
enum LogPatternIn {
    Text(String),
    Full(LogMatchIn),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LogMatchIn {
    level: Option<LogLevelSel>,
    message: Option<String>,
    regex: Option<String>,
}

impl<'de> Deserialize<'de> for LogPatternIn {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = LogPatternIn;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a string or a mapping of level, message, regex")
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<LogPatternIn, E> {
                Ok(LogPatternIn::Text(s.to_string()))
            }
            fn visit_i64<E: de::Error>(self, i: i64) -> Result<LogPatternIn, E> {
                Ok(LogPatternIn::Text(i.to_string()))
            }
            fn visit_f64<E: de::Error>(self, f: f64) -> Result<LogPatternIn, E> {
                Ok(LogPatternIn::Text(f.to_string()))
            }
            fn visit_bool<E: de::Error>(self, b: bool) -> Result<LogPatternIn, E> {
                Ok(LogPatternIn::Text(b.to_string()))
            }
            fn visit_map<A: de::MapAccess<'de>>(self, map: A) -> Result<LogPatternIn, A::Error> {
                LogMatchIn::deserialize(de::value::MapAccessDeserializer::new(map))
                    .map(LogPatternIn::Full)
            }
        }
        d.deserialize_any(V)
    }
}

impl LogPatternIn {
    /// `ptr` locates the item for the errors found across its keys.
    fn resolve<E>(self, ptr: &str, err: &impl Fn(&str, &str) -> E) -> Result<LogPattern, E> {
        let m = match self {
            LogPatternIn::Text(t) => {
                return Ok(LogPattern {
                    level: None,
                    text: LogText::Plain(t),
                })
            }
            LogPatternIn::Full(m) => m,
        };
        let text = match (m.message, m.regex) {
            (Some(_), Some(_)) => {
                return Err(err(
                    &format!("{ptr}/regex"),
                    "give either message or regex, not both",
                ))
            }
            (Some(t), None) => LogText::Plain(t),
            (None, Some(r)) => match regex::Regex::new(&r) {
                Ok(re) => LogText::Regex(re),
                Err(e) => {
                    // The last line of the regex crate's message is the reason (`error: …`).
                    let text = e.to_string();
                    let last = text.lines().last().unwrap_or_default();
                    let first = last.trim_start_matches("error: ").to_string();
                    return Err(err(
                        &format!("{ptr}/regex"),
                        &format!("invalid regex: {first}"),
                    ));
                }
            },
            (None, None) => LogText::Any,
        };
        Ok(LogPattern {
            level: m.level,
            text,
        })
    }
}

fn patterns<E>(
    items: Option<Vec<LogPatternIn>>,
    ptr: &str,
    err: &impl Fn(&str, &str) -> E,
) -> Result<Vec<LogPattern>, E> {
    (items.unwrap_or_default().into_iter().enumerate())
        .map(|(i, p)| p.resolve(&format!("{ptr}/{i}"), err))
        .collect()
}

/// The three log expectations of `base` (makes the JSON pointer to the mapping holding them:
/// pointers are built only for lists that are there, as most requests have none).
type LogLists = (Vec<LogPattern>, Vec<LogPattern>, Option<Vec<LogPattern>>);

fn log_lists<E>(
    base: &dyn Fn() -> String,
    logs: Option<Vec<LogPatternIn>>,
    no_logs: Option<Vec<LogPatternIn>>,
    exact: Option<Vec<LogPatternIn>>,
    err: &impl Fn(&str, &str) -> E,
) -> Result<LogLists, E> {
    if logs.is_none() && no_logs.is_none() && exact.is_none() {
        // The usual case: nothing to resolve (and no closure calls to move three `None`s).
        return Ok((Vec::new(), Vec::new(), None));
    }
    let list = |items: Option<Vec<LogPatternIn>>, key: &str| match items {
        Some(v) => patterns(Some(v), &format!("{}/{key}", base()), err).map(Some),
        None => Ok(None),
    };
    let exact = list(exact, "logs_exact")?;
    Ok((
        list(logs, "logs")?.unwrap_or_default(),
        list(no_logs, "no_logs")?.unwrap_or_default(),
        exact,
    ))
}

impl ScenarioFile {
    /// The scenario; `err` makes an error at a JSON pointer (checks across fields).
    pub(super) fn resolve(
        self,
        err: impl Fn(&str, &str) -> ScenarioError,
    ) -> Result<Scenario, ScenarioError> {
        if self.requests.is_none() && self.connections.is_none() {
            return Err(err(
                "",
                "the scenario needs a `requests` list (or `connections`)",
            ));
        }
        let connections = (self.connections.unwrap_or_default().into_iter().enumerate())
            .map(|(i, c)| c.resolve(i, &err))
            .collect::<Result<_, _>>()?;
        let startup = match self.startup {
            Some(s) => Some(s.resolve(&err)?),
            None => None,
        };
        let requests = match self.requests {
            Some(Requests {
                error: Some((ptr, msg)),
                ..
            }) => return Err(err(&ptr, &msg)),
            Some(r) => r.specs,
            None => Vec::new(),
        };
        let direction = match self.direction.as_deref() {
            None => None,
            Some("inbound") => Some(super::Direction::Inbound),
            Some("outbound") => Some(super::Direction::Outbound),
            Some(other) => {
                return Err(err(
                    "/direction",
                    &format!("`direction` is `inbound` or `outbound`, not {other:?}"),
                ))
            }
        };
        let port = match self.port.as_deref() {
            None => None,
            Some(p) => Some(p.parse::<u16>().ok().filter(|p| *p > 0).ok_or_else(|| {
                err(
                    "/port",
                    &format!("`port` is a port number (1–65535), not {p:?}"),
                )
            })?),
        };
        Ok(Scenario {
            workload: self.workload,
            direction,
            port,
            properties: self.properties.unwrap_or_default(),
            vm_id: self.vm_id,
            vm_config: self.vm_config.map(|v| v.0),
            startup,
            requests,
            connections,
        })
    }
}

impl ConnectionIn {
    fn resolve(
        self,
        index: usize,
        err: &impl Fn(&str, &str) -> ScenarioError,
    ) -> Result<ConnectionSpec, ScenarioError> {
        let base = format!("/connections/{index}");
        let mut events = Vec::new();
        // Which peers have ended their side: they send nothing more.
        let (mut down_ended, mut up_ended) = (false, false);
        for (k, e) in self.events.unwrap_or_default().into_iter().enumerate() {
            let ptr = format!("{base}/events/{k}");
            let end = e.end_stream.unwrap_or(false);
            let mut given = Vec::new();
            if let Some(d) = e.downstream {
                given.push(("downstream", NetEvent::Downstream(d.into_bytes(), end)));
            }
            if let Some(u) = e.upstream {
                given.push(("upstream", NetEvent::Upstream(u.into_bytes(), end)));
            }
            if let Some(p) = e.close {
                given.push(("close", NetEvent::Close(p)));
            }
            if let Some(d) = e.advance {
                given.push(("advance", NetEvent::Advance(d.0)));
            }
            let event = match given.len() {
                0 => {
                    return Err(err(
                        &ptr,
                        "an event needs one of `downstream`, `upstream`, `close` or `advance`",
                    ))
                }
                1 => given.pop().expect("one"),
                _ => {
                    let key = given[1].0;
                    return Err(err(
                        &format!("{ptr}/{key}"),
                        "an event has one of `downstream`, `upstream`, `close` or `advance`, not several (make it two events)",
                    ));
                }
            };
            let ended = match &event.1 {
                NetEvent::Downstream(..) => &mut down_ended,
                NetEvent::Upstream(..) => &mut up_ended,
                NetEvent::Close(_) | NetEvent::Advance(_) if e.end_stream.is_some() => {
                    return Err(err(
                        &format!("{ptr}/end_stream"),
                        &format!(
                            "`end_stream` goes with `downstream` or `upstream` bytes, not `{}`",
                            event.0
                        ),
                    ))
                }
                NetEvent::Close(_) | NetEvent::Advance(_) => {
                    events.push(event.1);
                    continue;
                }
            };
            if *ended {
                return Err(err(
                    &format!("{ptr}/{}", event.0),
                    &format!(
                        "the {} already ended its side (`end_stream: true` in an earlier event): it sends nothing more",
                        event.0
                    ),
                ));
            }
            *ended = end;
            events.push(event.1);
        }
        let expect = match self.expect {
            Some(x) => {
                let (logs, no_logs, logs_exact) = log_lists(
                    &|| format!("{base}/expect"),
                    x.logs,
                    x.no_logs,
                    x.logs_exact,
                    err,
                )?;
                ConnectionExpect {
                    upstream_received: x.upstream_received,
                    downstream_received: x.downstream_received,
                    closed_by: x.closed_by,
                    logs,
                    no_logs,
                    logs_exact,
                    metrics: metric_wants(x.metrics),
                    http_calls: x.http_calls.map(|v| v.max(0) as usize),
                    calls: call_wants(x.calls),
                    grpc_calls: grpc_wants(x.grpc_calls),
                    callbacks: callback_wants(x.callbacks),
                }
            }
            None => ConnectionExpect::default(),
        };
        let http_calls = (self.http_calls.unwrap_or_default().into_iter().enumerate())
            .map(|(k, c)| c.resolve(&format!("{base}/http_calls/{k}"), &err))
            .collect::<Result<_, _>>()?;
        Ok(ConnectionSpec {
            name: self
                .name
                .unwrap_or_else(|| format!("connection {}", index + 1)),
            location: err(&base, "").location.to_string(),
            events,
            http_calls,
            grpc_calls: grpc_mocks(self.grpc_calls),
            expect,
        })
    }
}

impl StartupIn {
    fn resolve(
        self,
        err: &impl Fn(&str, &str) -> ScenarioError,
    ) -> Result<StartupExpect, ScenarioError> {
        let (logs, no_logs, logs_exact) = log_lists(
            &|| "/startup".into(),
            self.logs,
            self.no_logs,
            self.logs_exact,
            err,
        )?;
        Ok(StartupExpect {
            result: self.result,
            logs,
            no_logs,
            logs_exact,
            metrics: metric_wants(self.metrics),
            tick_period_ns: self.tick_period.map(|d| d.0),
            grpc_answers: grpc_mocks(self.grpc_calls),
            grpc_calls: grpc_wants(self.grpc_calls_made),
            http_answers: (self.http_calls.unwrap_or_default().into_iter().enumerate())
                .map(|(k, c)| c.resolve(&format!("/startup/http_calls/{k}"), err))
                .collect::<Result<_, _>>()?,
            http_calls: call_wants(self.http_calls_made),
        })
    }
}

/// Expectations about a request's outcome, meaningless in a time-only step.
const REQUEST_ONLY: [&str; 8] = [
    "status",
    "response_headers",
    "response_body",
    "response_trailers",
    "upstream_called",
    "upstream_request_headers",
    "upstream_request_body",
    "upstream_request_trailers",
];

impl RequestEntry {
    /// The entry resolved and pushed onto `out`. Its fields are built first, in the order
    /// their errors are reported, and the spec once, in place (moving a whole `RequestSpec`
    /// through `Result`s cost several copies of it per request).
    fn resolve_into<E>(
        self,
        index: usize,
        err: impl Fn(&str, &str) -> E,
        out: &mut Vec<RequestSpec>,
    ) -> Result<(), E> {
        // `advance` alone (no request, no upstream answer) only lets time pass.
        let time_only = self.advance.is_some() && self.request.is_none() && self.upstream.is_none();
        if let (true, Some(x)) = (time_only, &self.expect) {
            let set = [
                x.status.is_some(),
                x.response_headers.is_some(),
                x.response_body.is_some(),
                x.response_trailers.is_some(),
                x.upstream_called.is_some(),
                x.upstream_request_headers.is_some(),
                x.upstream_request_body.is_some(),
                x.upstream_request_trailers.is_some(),
            ];
            if let Some(k) = (0..set.len()).find(|&k| set[k]) {
                let key = REQUEST_ONLY[k];
                return Err(err(
                    &format!("/requests/{index}/expect/{key}"),
                    &format!(
                        "`{key}` needs a request: this step only advances time (add `request:`)"
                    ),
                ));
            }
        }
        let expect = match self.expect {
            Some(x) => x.resolve(&|| format!("/requests/{index}/expect"), &err)?,
            None => Expect::default(),
        };
        let name = self
            .name
            .unwrap_or_else(|| format!("request {}", index + 1));
        let http_calls = match self.http_calls {
            None => Vec::new(),
            Some(calls) => (calls.into_iter().enumerate())
                .map(|(k, c)| c.resolve(&format!("/requests/{index}/http_calls/{k}"), &err))
                .collect::<Result<_, _>>()?,
        };
        let grpc_calls = grpc_mocks(self.grpc_calls);
        let upstream = match self.upstream {
            Some(u) => Some(u.resolve(&|| format!("/requests/{index}/upstream"), &err)?),
            None => None,
        };
        let (method, path, authority, headers, chunks, trailers) = match self.request {
            None => (None, None, None, Vec::new(), Vec::new(), Vec::new()),
            Some(q) => {
                let q = *q;
                let chunks = match (q.body, q.chunks) {
                    (Some(_), Some(_)) => {
                        let ptr = format!("/requests/{index}/request/body");
                        return Err(err(&ptr, "give either body or chunks, not both"));
                    }
                    // An empty body is no data frame (`chunks: [""]` is an empty one).
                    (Some(b), None) if b.is_empty() => Vec::new(),
                    (Some(b), None) => vec![b.into_bytes()],
                    (None, Some(c)) => frames(
                        c,
                        !q.trailers.0.is_empty(),
                        &format!("/requests/{index}/request/chunks"),
                        &err,
                    )?,
                    (None, None) => Vec::new(),
                };
                (
                    q.method,
                    q.path,
                    q.authority,
                    q.headers.0,
                    chunks,
                    q.trailers.0,
                )
            }
        };
        out.push(RequestSpec {
            time_only,
            name,
            advance_ns: self.advance.map_or(0, |d| d.0),
            method,
            path,
            authority,
            headers,
            chunks,
            trailers,
            http_calls,
            grpc_calls,
            upstream,
            expect,
        });
        Ok(())
    }
}

impl HttpCallIn {
    fn resolve<E>(self, ptr: &str, err: &impl Fn(&str, &str) -> E) -> Result<HttpMock, E> {
        let response = match self.response {
            Some(r) => r.resolve(&|| format!("{ptr}/response"), err)?,
            None => Response {
                status: 200,
                ..Default::default()
            },
        };
        Ok(HttpMock {
            cluster: self.cluster,
            path: self.path,
            response,
            delay: self.delay.map_or(GrpcDelay::Now, |d| d.0),
        })
    }
}

impl GrpcCallIn {
    fn mock(self) -> GrpcMock {
        let r = self.response.unwrap_or(GrpcResponseIn {
            initial_metadata: Headers::default(),
            messages: None,
            status: None,
            message: None,
            trailing_metadata: Headers::default(),
            close: None,
        });
        GrpcMock {
            service: self.service,
            method: self.method,
            cluster: self.cluster,
            initial_metadata: r.initial_metadata.0,
            messages: (r.messages.unwrap_or_default().into_iter())
                .map(|m| m.0)
                .collect(),
            status: r.status.map_or(0, |c| c.0),
            status_message: r.message.unwrap_or_default(),
            trailing_metadata: r.trailing_metadata.0,
            server_closes: r.close != Some(CloseSide::Plugin),
            delay: self.delay.map_or(GrpcDelay::Now, |d| d.0),
        }
    }
}

impl ResponseIn {
    /// `ptr` makes the pointer to the response (for `body`/`chunks` errors).
    fn resolve<E>(
        self,
        ptr: &dyn Fn() -> String,
        err: &impl Fn(&str, &str) -> E,
    ) -> Result<Response, E> {
        let (body, chunks) = match (self.body, self.chunks) {
            (Some(_), Some(_)) => {
                return Err(err(
                    &format!("{}/body", ptr()),
                    "give either body or chunks, not both",
                ))
            }
            (Some(b), None) => (b.into_bytes(), None),
            (None, Some(c)) => {
                let f = frames(
                    c,
                    !self.trailers.0.is_empty(),
                    &format!("{}/chunks", ptr()),
                    err,
                )?;
                (f.concat(), Some(f))
            }
            (None, None) => (Vec::new(), None),
        };
        Ok(Response {
            status: self.status.map_or(200, |s| s.0),
            headers: self.headers.0,
            body,
            chunks,
            trailers: self.trailers.0,
        })
    }
}

impl ExpectIn {
    fn resolve<E>(
        self,
        base: &dyn Fn() -> String,
        err: &impl Fn(&str, &str) -> E,
    ) -> Result<Expect, E> {
        let (logs, no_logs, logs_exact) =
            log_lists(base, self.logs, self.no_logs, self.logs_exact, err)?;
        let headers = |h: Option<HeaderWants>| h.map_or_else(Vec::new, |h| h.0);
        Ok(Expect {
            status: self.status.map(|v| v as u32),
            response_headers: headers(self.response_headers),
            response_body: self.response_body,
            response_trailers: headers(self.response_trailers),
            upstream_called: self.upstream_called,
            upstream_request_headers: headers(self.upstream_request_headers),
            upstream_request_body: self.upstream_request_body,
            upstream_request_trailers: headers(self.upstream_request_trailers),
            http_calls: self.http_calls.map(|v| v.max(0) as usize),
            logs,
            no_logs,
            logs_exact,
            metrics: metric_wants(self.metrics),
            calls: call_wants(self.calls),
            grpc_calls: grpc_wants(self.grpc_calls),
            callbacks: callback_wants(self.callbacks),
        })
    }
}

/// An expected callback (`expect.callbacks`).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CallbackIn {
    callback: CallbackName,
    filter: Option<String>,
    result: Option<ResultName>,
    count: Option<Count>,
}

/// What a callback can have returned, as the trace names it (`Pause`: any `Stop…`). A
/// misspelt one would never match, and pass silently under `count: 0`.
struct ResultName(String);

const RESULTS: [&str; 10] = [
    "Continue",
    "Pause",
    "StopIteration",
    "StopAllIterationAndBuffer",
    "StopAllIterationAndWatermark",
    "StopIterationAndBuffer",
    "StopIterationAndWatermark",
    "StopIterationNoBuffer",
    "done",
    "trap",
];

impl<'de> Deserialize<'de> for ResultName {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let t = String::deserialize(d)?;
        if RESULTS.contains(&t.as_str()) {
            Ok(ResultName(t))
        } else {
            Err(D::Error::custom(format!(
                "expected a callback result: {}; not {t:?}",
                typed::or_list(&RESULTS)
            )))
        }
    }
}

/// A callback the ABI defines (`rules/abi/functions.tsv` exports), `proxy_` prefix optional:
/// a misspelt name would otherwise just never match.
struct CallbackName(String);

/// Callbacks a step's trace does not list, so an expectation could only count 0 of them: a
/// stream context's creation is silent (shown only when it traps), start-up is checked under
/// `startup:`, and the simulator makes no foreign-function or metadata calls.
const NOT_IN_STEP_TRACES: [&str; 7] = [
    "proxy_on_memory_allocate",
    "proxy_on_context_create",
    "proxy_on_vm_start",
    "proxy_on_configure",
    "proxy_on_foreign_function",
    "proxy_on_request_metadata",
    "proxy_on_response_metadata",
];

impl<'de> Deserialize<'de> for CallbackName {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let t = String::deserialize(d)?;
        let name = if t.starts_with("proxy_") {
            t.clone()
        } else {
            format!("proxy_{t}")
        };
        if NOT_IN_STEP_TRACES.contains(&name.as_str()) {
            return Err(D::Error::custom(format!(
                "{t:?} cannot be expected here: a step's trace does not list it (stream \
                 contexts are created silently; start-up is checked under `startup:`; no \
                 foreign-function or metadata callbacks are simulated)"
            )));
        }
        let known = (crate::abi::tables::get().functions.iter())
            .any(|f| f.kind == crate::abi::tables::FnKind::Export && f.name == name);
        if name.starts_with("proxy_on_") && known {
            Ok(CallbackName(name))
        } else {
            Err(D::Error::custom(format!(
                "{t:?} is not a proxy-wasm callback (e.g. proxy_on_request_headers, \
                 on_response_body, proxy_on_tick; rules/abi/functions.tsv lists them)"
            )))
        }
    }
}

fn callback_wants(entries: Option<Vec<CallbackIn>>) -> Vec<CallbackWant> {
    let Some(entries) = entries else {
        return Vec::new();
    };
    (entries.into_iter())
        .map(|c| CallbackWant {
            callback: c.callback.0,
            filter: c.filter,
            result: c.result.map(|r| r.0),
            count: c.count.map(|n| n.0),
        })
        .collect()
}

fn call_wants(entries: Option<Vec<CallIn>>) -> Vec<CallWant> {
    // Most steps have none: no iterator machinery for them.
    let Some(entries) = entries else {
        return Vec::new();
    };
    (entries.into_iter())
        .map(|c| CallWant {
            cluster: c.cluster,
            headers: c.headers.map_or_else(Vec::new, |h| h.0),
            body: c.body,
            count: c.count.map(|n| n.0),
        })
        .collect()
}

fn grpc_mocks(entries: Option<Vec<GrpcCallIn>>) -> Vec<GrpcMock> {
    // Most steps have none: no iterator machinery for them.
    let Some(entries) = entries else {
        return Vec::new();
    };
    (entries.into_iter()).map(GrpcCallIn::mock).collect()
}

fn grpc_wants(entries: Option<Vec<GrpcWantIn>>) -> Vec<GrpcWant> {
    // Most steps have none: no iterator machinery for them.
    let Some(entries) = entries else {
        return Vec::new();
    };
    (entries.into_iter())
        .map(|g| GrpcWant {
            service: g.service,
            method: g.method,
            cluster: g.cluster,
            message: g.message.map(|m| m.0),
            count: g.count.map(|n| n.0),
        })
        .collect()
}

fn metric_wants(m: Option<Pairs<String, MetricIn>>) -> Vec<(String, MetricWant)> {
    let Some(m) = m else {
        return Vec::new();
    };
    (m.0.into_iter()).map(|(k, v)| (k, v.0)).collect()
}

/// The wording of a problem at `path`.
pub(super) fn describe(path: &[&str], problem: &Problem) -> String {
    match problem {
        Problem::UnknownKey { key, expected } => format!(
            "unknown key {key:?} in {} (expected one of: {})",
            subject(&path[..path.len().saturating_sub(1)]),
            expected.join(", ")
        ),
        Problem::MissingKey("requests") => "the scenario needs a `requests` list".into(),
        Problem::MissingKey(key) => format!("{} needs `{key}`", subject(path)),
        Problem::Type(e) => {
            let expected = match (path.last(), e) {
                (Some(&"chunks"), Expected::List) => "a list of strings".to_string(),
                (Some(&"logs" | &"no_logs"), Expected::List) => "a list of substrings".to_string(),
                (Some(&"logs_exact"), Expected::List) => "a list of log lines".to_string(),
                _ => e.to_string(),
            };
            format!("{} must be {expected}", subject(path))
        }
        Problem::UnknownVariant { variant, expected } => {
            format!("expected {}, not {variant:?}", typed::or_list(expected))
        }
        Problem::NonStringKey => "keys must be strings".into(),
        Problem::Message(m) => m.clone(),
    }
}

/// What the node at `path` is called in messages. Entries of free-form mappings (headers,
/// properties, metrics) come first: their keys are the user's, not field names.
fn subject(path: &[&str]) -> String {
    match path {
        [] => "the scenario".into(),
        ["properties", _] => "property value".into(),
        ["requests", _] => "a request entry".into(),
        ["connections", _] => "a connection entry".into(),
        ["connections", _, "events", _] => "an event".into(),
        [.., parent @ ("headers" | "trailers"), _] => format!("{parent} value"),
        [.., parent @ ("response_headers"
        | "upstream_request_headers"
        | "response_trailers"
        | "upstream_request_trailers"), _] => parent.to_string(),
        [.., "metrics", _] => "metric value".into(),
        [.., "metrics", _, "type"] => "metric type".into(),
        [.., "calls", _] => "a calls entry".into(),
        [.., "callbacks", _] => "a callbacks entry".into(),
        [.., "http_calls", _] => "an http_calls entry".into(),
        [.., "expect", "grpc_calls", _] => "an expect.grpc_calls entry".into(),
        ["startup", "grpc_calls_made", _] => "a grpc_calls_made entry".into(),
        ["startup", "http_calls_made", _] => "an http_calls_made entry".into(),
        [.., "grpc_calls", _] => "a grpc_calls entry".into(),
        [.., "messages", _] => "message".into(),
        [.., "initial_metadata" | "trailing_metadata", _] => "metadata value".into(),
        [.., "chunks", _] => "chunk".into(),
        [.., "logs" | "no_logs" | "logs_exact", _] => "log entry".into(),
        [.., "logs" | "no_logs" | "logs_exact", _, key] => format!("log {key}"),
        [.., last] => last.to_string(),
    }
}

/// `advance:` as nanoseconds.
struct Duration(u64);

impl<'de> Deserialize<'de> for Duration {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let t = String::deserialize(d)?;
        parse_duration(&t).map(Duration).ok_or_else(|| {
            D::Error::custom(format!(
                "cannot read duration {t:?} (use e.g. 5s, 250ms, 1m)"
            ))
        })
    }
}

/// A response status, 100 to 999.
struct Status(u32);

impl<'de> Deserialize<'de> for Status {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = i64::deserialize(d)?;
        match u32::try_from(v) {
            Ok(s) if (100..=999).contains(&s) => Ok(Status(s)),
            _ => Err(D::Error::custom("status must be between 100 and 999")),
        }
    }
}

/// A header name, lower-cased.
struct Lower(String);

impl<'de> Deserialize<'de> for Lower {
    /// As `String::deserialize` then lower-casing, with the same visitor methods and words,
    /// but copied and lower-cased in one pass.
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Lower;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a string")
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<Lower, E> {
                Ok(Lower(s.to_ascii_lowercase()))
            }
            fn visit_string<E: de::Error>(self, mut s: String) -> Result<Lower, E> {
                s.make_ascii_lowercase();
                Ok(Lower(s))
            }
            fn visit_bytes<E: de::Error>(self, b: &[u8]) -> Result<Lower, E> {
                match std::str::from_utf8(b) {
                    Ok(s) => self.visit_str(s),
                    Err(_) => Err(E::invalid_value(de::Unexpected::Bytes(b), &self)),
                }
            }
            fn visit_byte_buf<E: de::Error>(self, b: Vec<u8>) -> Result<Lower, E> {
                match String::from_utf8(b) {
                    Ok(s) => self.visit_string(s),
                    Err(e) => Err(E::invalid_value(
                        de::Unexpected::Bytes(&e.into_bytes()),
                        &self,
                    )),
                }
            }
        }
        d.deserialize_string(V)
    }
}

/// Headers to send; `headers:` with no value is none.
#[derive(Default)]
struct Headers(Vec<(String, String)>);

impl<'de> Deserialize<'de> for Headers {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Headers;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a mapping")
            }
            fn visit_unit<E: de::Error>(self) -> Result<Headers, E> {
                Ok(Headers::default())
            }
            fn visit_map<A: de::MapAccess<'de>>(self, map: A) -> Result<Headers, A::Error> {
                lowered_pairs(map, |v: String| v).map(Headers)
            }
        }
        d.deserialize_any(V)
    }
}

/// A header mapping's entries as `Pairs<Lower, V>` reads them, each value turned by `keep`
/// into what is kept: built in place (no second vector), the first push's capacity at once
/// (without `grow_one`'s generic path).
fn lowered_pairs<'de, A: de::MapAccess<'de>, V: Deserialize<'de>, T>(
    mut map: A,
    keep: impl Fn(V) -> T,
) -> Result<Vec<(String, T)>, A::Error> {
    let Some(name) = map.next_key::<Lower>()? else {
        return Ok(Vec::new());
    };
    let mut out = Vec::with_capacity(4);
    out.push((name.0, keep(map.next_value::<V>()?)));
    while let Some(name) = map.next_key::<Lower>()? {
        out.push((name.0, keep(map.next_value::<V>()?)));
    }
    Ok(out)
}

/// Expected headers: `Pairs<Lower, HeaderValue>` read straight into what `Expect` keeps.
struct HeaderWants(Vec<(String, Option<String>)>);

impl<'de> Deserialize<'de> for HeaderWants {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = HeaderWants;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a mapping")
            }
            fn visit_map<A: de::MapAccess<'de>>(self, map: A) -> Result<HeaderWants, A::Error> {
                lowered_pairs(map, |v: HeaderValue| v.0).map(HeaderWants)
            }
        }
        d.deserialize_map(V)
    }
}

/// An expected header value; null means the header must be absent.
struct HeaderValue(Option<String>);

impl<'de> Deserialize<'de> for HeaderValue {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = HeaderValue;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a string")
            }
            fn visit_unit<E: de::Error>(self) -> Result<HeaderValue, E> {
                Ok(HeaderValue(None))
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<HeaderValue, E> {
                Ok(HeaderValue(Some(s.to_string())))
            }
            fn visit_i64<E: de::Error>(self, i: i64) -> Result<HeaderValue, E> {
                Ok(HeaderValue(Some(i.to_string())))
            }
            fn visit_f64<E: de::Error>(self, f: f64) -> Result<HeaderValue, E> {
                Ok(HeaderValue(Some(f.to_string())))
            }
            fn visit_bool<E: de::Error>(self, b: bool) -> Result<HeaderValue, E> {
                Ok(HeaderValue(Some(b.to_string())))
            }
        }
        d.deserialize_any(V)
    }
}
