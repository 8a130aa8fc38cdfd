//! Scenario files (YAML): requests to send, answers for callouts and the upstream, and
//! expectations. Parsed with the span-carrying YAML tree so errors point at the file.

use super::filter_manager::{HttpMock, RequestInput, Response};
pub use crate::load::typed::InputError;
use crate::load::typed::{self, Dialect, Expected, Pairs, PairsVisitor, Problem};
use crate::load::yaml;
use crate::source::SourceFile;
use serde::de::{self, Error as _, Visitor};
use serde::{Deserialize, Deserializer};
use std::collections::BTreeMap;

#[derive(Debug, Clone, Default)]
pub struct Scenario {
    /// `namespace/name` of a workload from the inputs; absent with `--module`.
    pub workload: Option<String>,
    /// Property overrides (dotted path → string value) for every VM.
    pub properties: BTreeMap<String, String>,
    pub requests: Vec<RequestSpec>,
}

#[derive(Debug, Clone, Default)]
pub struct RequestSpec {
    pub name: String,
    /// Nanoseconds to move the clock before the request.
    pub advance_ns: u64,
    pub method: Option<String>,
    pub path: Option<String>,
    pub authority: Option<String>,
    pub headers: Vec<(String, String)>,
    pub chunks: Vec<Vec<u8>>,
    pub trailers: Vec<(String, String)>,
    pub http_calls: Vec<HttpMock>,
    pub upstream: Option<Response>,
    pub expect: Expect,
}

impl RequestSpec {
    /// The request with defaults: GET, `/`, the workload's service host.
    pub fn input(&self, default_authority: &str) -> RequestInput {
        RequestInput {
            method: self.method.clone().unwrap_or_else(|| "GET".into()),
            path: self.path.clone().unwrap_or_else(|| "/".into()),
            authority: self
                .authority
                .clone()
                .unwrap_or_else(|| default_authority.to_string()),
            headers: self.headers.clone(),
            chunks: self.chunks.clone(),
            trailers: self.trailers.clone(),
        }
    }
}

/// `None` value in a header expectation = the header must be absent.
#[derive(Debug, Clone, Default)]
pub struct Expect {
    pub status: Option<u32>,
    pub response_headers: Vec<(String, Option<String>)>,
    pub response_body: Option<String>,
    pub upstream_called: Option<bool>,
    pub upstream_request_headers: Vec<(String, Option<String>)>,
    pub upstream_request_body: Option<String>,
    pub http_calls: Option<usize>,
    pub logs: Vec<String>,
    pub metrics: Vec<(String, i64)>,
}

/// An invalid scenario file (the error type of every input file).
pub type ScenarioError = InputError;

/// Parses `5s`, `250ms`, `1m`, `2h`, `1.5s` or a number of seconds into nanoseconds.
pub fn parse_duration(s: &str) -> Option<u64> {
    let s = s.trim();
    let (num, mult) = [
        ("ms", 1e6),
        ("us", 1e3),
        ("ns", 1.0),
        ("s", 1e9),
        ("m", 60e9),
        ("h", 3600e9),
    ]
    .iter()
    .find_map(|(suf, m)| s.strip_suffix(suf).map(|n| (n, *m)))
    .unwrap_or((s, 1e9));
    let v: f64 = num.trim().parse().ok()?;
    if !(0.0..=1e7 * 3600.0).contains(&v) {
        return None;
    }
    Some((v * mult) as u64)
}

/// Parses a scenario file. `name` is used in locations.
pub fn parse_scenario(name: &str, text: &str) -> Result<Scenario, ScenarioError> {
    let src = SourceFile::new(name, text);
    let limits = yaml::Limits {
        max_depth: 64,
        max_nodes: 200_000,
    };
    let Some(doc) = typed::parse_yaml(&src, limits)?.into_iter().next() else {
        return Err(ScenarioError::file(name, "the scenario file is empty"));
    };
    typed::reject_duplicates(&src, &doc)?;
    let Some(root) = doc.root else {
        return Err(ScenarioError::file(name, "the scenario file is empty"));
    };
    let file: ScenarioFile = typed::from_node(&src, &root, DIALECT, describe)?;
    file.resolve(|ptr, msg| ScenarioError::at_pointer(&src, &root, ptr, msg))
}

/// Any scalar reads as text and keys as their text; unknown keys are reported first and
/// fields read in declared order (as the hand-written reader did).
const DIALECT: Dialect = Dialect {
    string_keys: false,
    scalars_as_text: true,
    null_is_empty: false,
    struct_order: true,
};

/// The file as written. Field order is the order `unknown key` lists them in.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ScenarioFile {
    workload: Option<String>,
    properties: Option<BTreeMap<String, String>>,
    requests: Vec<RequestEntry>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RequestEntry {
    name: Option<String>,
    advance: Option<Duration>,
    request: Option<RequestIn>,
    http_calls: Option<Vec<HttpCallIn>>,
    upstream: Option<ResponseIn>,
    expect: Option<ExpectIn>,
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
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ResponseIn {
    status: Option<Status>,
    #[serde(default)]
    headers: Headers,
    body: Option<String>,
    #[serde(default)]
    trailers: Headers,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ExpectIn {
    status: Option<i64>,
    response_headers: Option<Pairs<Lower, HeaderValue>>,
    response_body: Option<String>,
    upstream_called: Option<bool>,
    upstream_request_headers: Option<Pairs<Lower, HeaderValue>>,
    upstream_request_body: Option<String>,
    http_calls: Option<i64>,
    logs: Option<Vec<String>>,
    metrics: Option<Pairs<String, i64>>,
}

impl ScenarioFile {
    /// The scenario; `err` makes an error at a JSON pointer (checks across fields).
    fn resolve(self, err: impl Fn(&str, &str) -> ScenarioError) -> Result<Scenario, ScenarioError> {
        let requests = (self.requests.into_iter().enumerate())
            .map(|(i, r)| r.resolve(i, &err))
            .collect::<Result<_, _>>()?;
        Ok(Scenario {
            workload: self.workload,
            properties: self.properties.unwrap_or_default(),
            requests,
        })
    }
}

impl RequestEntry {
    fn resolve(
        self,
        index: usize,
        err: impl Fn(&str, &str) -> ScenarioError,
    ) -> Result<RequestSpec, ScenarioError> {
        let mut spec = RequestSpec {
            name: self
                .name
                .unwrap_or_else(|| format!("request {}", index + 1)),
            advance_ns: self.advance.map_or(0, |d| d.0),
            http_calls: (self.http_calls.unwrap_or_default().into_iter())
                .map(HttpCallIn::resolve)
                .collect(),
            upstream: self.upstream.map(ResponseIn::resolve),
            expect: self.expect.map(ExpectIn::resolve).unwrap_or_default(),
            ..Default::default()
        };
        if let Some(q) = self.request {
            spec.chunks = match (q.body, q.chunks) {
                (Some(_), Some(_)) => {
                    let ptr = format!("/requests/{index}/request/body");
                    return Err(err(&ptr, "give either body or chunks, not both"));
                }
                (Some(b), None) => vec![b.into_bytes()],
                (None, Some(c)) => c.into_iter().map(String::into_bytes).collect(),
                (None, None) => Vec::new(),
            };
            spec.method = q.method;
            spec.path = q.path;
            spec.authority = q.authority;
            spec.headers = q.headers.0;
            spec.trailers = q.trailers.0;
        }
        Ok(spec)
    }
}

impl HttpCallIn {
    fn resolve(self) -> HttpMock {
        HttpMock {
            cluster: self.cluster,
            path: self.path,
            response: self.response.map_or(
                Response {
                    status: 200,
                    ..Default::default()
                },
                ResponseIn::resolve,
            ),
        }
    }
}

impl ResponseIn {
    fn resolve(self) -> Response {
        Response {
            status: self.status.map_or(200, |s| s.0),
            headers: self.headers.0,
            body: self.body.unwrap_or_default().into_bytes(),
            trailers: self.trailers.0,
        }
    }
}

impl ExpectIn {
    fn resolve(self) -> Expect {
        let headers = |h: Option<Pairs<Lower, HeaderValue>>| {
            (h.unwrap_or_default().0.into_iter())
                .map(|(k, v)| (k.0, v.0))
                .collect()
        };
        Expect {
            status: self.status.map(|v| v as u32),
            response_headers: headers(self.response_headers),
            response_body: self.response_body,
            upstream_called: self.upstream_called,
            upstream_request_headers: headers(self.upstream_request_headers),
            upstream_request_body: self.upstream_request_body,
            http_calls: self.http_calls.map(|v| v.max(0) as usize),
            logs: self.logs.unwrap_or_default(),
            metrics: self.metrics.unwrap_or_default().0,
        }
    }
}

/// The wording of a problem at `path`.
fn describe(path: &[&str], problem: &Problem) -> String {
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
                (Some(&"logs"), Expected::List) => "a list of substrings".to_string(),
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
        [.., parent @ ("headers" | "trailers"), _] => format!("{parent} value"),
        [.., parent @ ("response_headers" | "upstream_request_headers"), _] => parent.to_string(),
        [.., "metrics", _] => "metric value".into(),
        [.., "http_calls", _] => "an http_calls entry".into(),
        [.., "chunks", _] => "chunk".into(),
        [.., "logs", _] => "log substring".into(),
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
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(Lower(String::deserialize(d)?.to_ascii_lowercase()))
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
                let pairs: Pairs<Lower, String> =
                    PairsVisitor(std::marker::PhantomData).visit_map(map)?;
                Ok(Headers(
                    pairs.0.into_iter().map(|(k, v)| (k.0, v)).collect(),
                ))
            }
        }
        d.deserialize_any(V)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("5s"), Some(5_000_000_000));
        assert_eq!(parse_duration("250ms"), Some(250_000_000));
        assert_eq!(parse_duration("1m"), Some(60_000_000_000));
        assert_eq!(parse_duration("2"), Some(2_000_000_000));
        assert_eq!(parse_duration("-1s"), None);
        assert_eq!(parse_duration("soon"), None);
    }

    #[test]
    fn errors_have_positions() {
        let e = parse_scenario("s.yaml", "requests:\n  - name: a\n    bogus: 1\n").unwrap_err();
        assert_eq!(e.location.line, 3);
        assert!(e.message.contains("bogus"));
        let e = parse_scenario("s.yaml", "requests:\n  - advance: later\n").unwrap_err();
        assert!(e.message.contains("duration"));
    }

    fn err(text: &str) -> String {
        parse_scenario("s.yaml", text).unwrap_err().to_string()
    }

    #[test]
    fn messages_and_positions_are_those_of_the_hand_written_reader() {
        let cases = [
            ("~\n", "s.yaml:1:1: the scenario must be a mapping"),
            ("\n", "s.yaml:1:1: the scenario file is empty"),
            ("workload: x\n", "s.yaml:1:1: the scenario needs a `requests` list"),
            ("properties: {a: [1]}\nrequests: []\n", "s.yaml:1:17: property value must be a string"),
            ("requests: [1]\n", "s.yaml:1:12: a request entry must be a mapping"),
            ("requests: [{request: {headers: {A: [x]}}}]\n", "s.yaml:1:36: headers value must be a string"),
            ("requests: [{request: {chunks: a}}]\n", "s.yaml:1:31: chunks must be a list of strings"),
            ("requests: [{request: {body: a, chunks: [b]}}]\n", "s.yaml:1:29: give either body or chunks, not both"),
            ("requests: [{http_calls: [{path: x}]}]\n", "s.yaml:1:26: an http_calls entry needs `cluster`"),
            ("requests: [{upstream: {status: 1000}}]\n", "s.yaml:1:32: status must be between 100 and 999"),
            ("requests: [{upstream: {bogus: 1}}]\n", "s.yaml:1:24: unknown key \"bogus\" in upstream (expected one of: status, headers, body, trailers)"),
            ("requests: [{expect: {upstream_called: yes}}]\n", "s.yaml:1:39: upstream_called must be true or false"),
            ("requests: [{expect: {response_headers: {a: [1]}}}]\n", "s.yaml:1:44: response_headers must be a string"),
            ("requests: [{expect: {logs: [[a]]}}]\n", "s.yaml:1:29: log substring must be a string"),
            ("requests: [{expect: {metrics: {chunks: x}}}]\n", "s.yaml:1:40: metric value must be an integer"),
        ];
        for (text, want) in cases {
            assert_eq!(err(text), want, "{text}");
        }
    }

    #[test]
    fn duplicate_keys_are_errors() {
        let e = parse_scenario("s.yaml", "requests:\n  - name: a\n    name: b\n").unwrap_err();
        assert_eq!(e.message, "duplicate key `name`");
        assert_eq!((e.location.line, e.location.column), (3, 5));
        assert!(e.help.unwrap().contains("line 2, column 5"));
    }

    #[test]
    fn reads_a_full_request() {
        let sc = parse_scenario(
            "s.yaml",
            "workload: shop/web\nproperties: {a.b: 1}\nrequests:\n  - advance: 1s\n    request: {path: /x, headers: {X-A: 1}, chunks: [a, b]}\n    http_calls: [{cluster: 'auth*'}]\n    upstream: {status: '404'}\n    expect: {status: 404, response_headers: {X-Gone: ~}, metrics: {m: '2'}}\n",
        )
        .unwrap();
        let r = &sc.requests[0];
        assert_eq!(sc.properties["a.b"], "1");
        assert_eq!(
            (r.name.as_str(), r.advance_ns),
            ("request 1", 1_000_000_000)
        );
        assert_eq!(r.headers, vec![("x-a".to_string(), "1".to_string())]);
        assert_eq!(r.chunks, vec![b"a".to_vec(), b"b".to_vec()]);
        assert_eq!(r.http_calls[0].response.status, 200);
        assert_eq!(r.upstream.as_ref().unwrap().status, 404);
        assert_eq!(
            r.expect.response_headers,
            vec![("x-gone".to_string(), None)]
        );
        assert_eq!(r.expect.metrics, vec![("m".to_string(), 2)]);
    }
}
