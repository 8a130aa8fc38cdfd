//! Scenario files (YAML): requests to send, answers for callouts and the upstream, and
//! expectations. Parsed with the span-carrying YAML tree so errors point at the file.

use super::filter_manager::{HttpMock, RequestInput, Response};
use crate::diag::Location;
use crate::load::yaml::{self, Node, Value};
use crate::source::SourceFile;
use std::collections::BTreeMap;
use std::sync::Arc;

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

#[derive(Debug, Clone, PartialEq)]
pub struct ScenarioError {
    pub message: String,
    pub location: Location,
}

struct Ctx {
    src: Arc<SourceFile>,
}

impl Ctx {
    fn err(&self, node: &Node, msg: impl Into<String>) -> ScenarioError {
        ScenarioError {
            message: msg.into(),
            location: self.src.location(node.span.start, node.span.end),
        }
    }

    fn map<'a>(&self, n: &'a Node, what: &str) -> Result<&'a [(Node, Node)], ScenarioError> {
        n.as_map()
            .ok_or_else(|| self.err(n, format!("{what} must be a mapping")))
    }

    fn keys(&self, n: &Node, what: &str, allowed: &[&str]) -> Result<(), ScenarioError> {
        for (k, _) in self.map(n, what)? {
            let key = k.key_text().unwrap_or_default();
            if !allowed.contains(&key.as_str()) {
                return Err(self.err(
                    k,
                    format!(
                        "unknown key {key:?} in {what} (expected one of: {})",
                        allowed.join(", ")
                    ),
                ));
            }
        }
        Ok(())
    }

    fn string(&self, n: &Node, what: &str) -> Result<String, ScenarioError> {
        match &n.value {
            Value::Str(s) => Ok(s.clone()),
            Value::Int(i) => Ok(i.to_string()),
            Value::Float(f) => Ok(f.to_string()),
            Value::Bool(b) => Ok(b.to_string()),
            _ => Err(self.err(n, format!("{what} must be a string"))),
        }
    }

    fn int(&self, n: &Node, what: &str) -> Result<i64, ScenarioError> {
        match &n.value {
            Value::Int(i) => Ok(*i),
            Value::Str(s) => s
                .trim()
                .parse()
                .map_err(|_| self.err(n, format!("{what} must be an integer"))),
            _ => Err(self.err(n, format!("{what} must be an integer"))),
        }
    }

    fn headers(&self, n: &Node, what: &str) -> Result<Vec<(String, String)>, ScenarioError> {
        if matches!(n.value, Value::Null) {
            return Ok(Vec::new());
        }
        self.map(n, what)?
            .iter()
            .map(|(k, v)| {
                Ok((
                    k.key_text().unwrap_or_default().to_ascii_lowercase(),
                    self.string(v, &format!("{what} value"))?,
                ))
            })
            .collect()
    }

    fn header_expect(
        &self,
        n: &Node,
        what: &str,
    ) -> Result<Vec<(String, Option<String>)>, ScenarioError> {
        self.map(n, what)?
            .iter()
            .map(|(k, v)| {
                let name = k.key_text().unwrap_or_default().to_ascii_lowercase();
                Ok((
                    name,
                    if matches!(v.value, Value::Null) {
                        None
                    } else {
                        Some(self.string(v, what)?)
                    },
                ))
            })
            .collect()
    }

    fn response(&self, n: &Node, what: &str) -> Result<Response, ScenarioError> {
        self.keys(n, what, &["status", "headers", "body", "trailers"])?;
        let status = match n.get("status") {
            Some(s) => {
                let v = self.int(s, "status")?;
                if !(100..=999).contains(&v) {
                    return Err(self.err(s, "status must be between 100 and 999"));
                }
                v as u32
            }
            None => 200,
        };
        Ok(Response {
            status,
            headers: n
                .get("headers")
                .map(|h| self.headers(h, "headers"))
                .transpose()?
                .unwrap_or_default(),
            body: n
                .get("body")
                .map(|b| self.string(b, "body"))
                .transpose()?
                .unwrap_or_default()
                .into_bytes(),
            trailers: n
                .get("trailers")
                .map(|h| self.headers(h, "trailers"))
                .transpose()?
                .unwrap_or_default(),
        })
    }
}

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
    let cx = Ctx { src: src.clone() };
    let parsed = yaml::parse(
        text,
        yaml::Limits {
            max_depth: 64,
            max_nodes: 200_000,
        },
    );
    if let Some(e) = parsed.error {
        return Err(ScenarioError {
            message: format!("invalid YAML: {}", e.message),
            location: src.location(e.span.start, e.span.end),
        });
    }
    let Some(root) = parsed.docs.into_iter().next().and_then(|d| d.root) else {
        return Err(ScenarioError {
            message: "the scenario file is empty".into(),
            location: Location::file_only(name),
        });
    };
    cx.keys(
        &root,
        "the scenario",
        &["workload", "properties", "requests"],
    )?;
    let mut sc = Scenario {
        workload: root
            .get("workload")
            .map(|w| cx.string(w, "workload"))
            .transpose()?,
        ..Default::default()
    };
    if let Some(p) = root.get("properties") {
        for (k, v) in cx.map(p, "properties")? {
            sc.properties.insert(
                k.key_text().unwrap_or_default(),
                cx.string(v, "property value")?,
            );
        }
    }
    let Some(reqs) = root.get("requests") else {
        return Err(cx.err(&root, "the scenario needs a `requests` list"));
    };
    let items = reqs
        .as_seq()
        .ok_or_else(|| cx.err(reqs, "requests must be a list"))?;
    for (i, r) in items.iter().enumerate() {
        cx.keys(
            r,
            "a request entry",
            &[
                "name",
                "advance",
                "request",
                "http_calls",
                "upstream",
                "expect",
            ],
        )?;
        let mut spec = RequestSpec {
            name: r
                .get("name")
                .map(|n| cx.string(n, "name"))
                .transpose()?
                .unwrap_or_else(|| format!("request {}", i + 1)),
            ..Default::default()
        };
        if let Some(a) = r.get("advance") {
            let t = cx.string(a, "advance")?;
            spec.advance_ns = parse_duration(&t).ok_or_else(|| {
                cx.err(
                    a,
                    format!("cannot read duration {t:?} (use e.g. 5s, 250ms, 1m)"),
                )
            })?;
        }
        if let Some(q) = r.get("request") {
            cx.keys(
                q,
                "request",
                &[
                    "method",
                    "path",
                    "authority",
                    "headers",
                    "body",
                    "chunks",
                    "trailers",
                ],
            )?;
            spec.method = q
                .get("method")
                .map(|v| cx.string(v, "method"))
                .transpose()?;
            spec.path = q.get("path").map(|v| cx.string(v, "path")).transpose()?;
            spec.authority = q
                .get("authority")
                .map(|v| cx.string(v, "authority"))
                .transpose()?;
            spec.headers = q
                .get("headers")
                .map(|h| cx.headers(h, "headers"))
                .transpose()?
                .unwrap_or_default();
            spec.trailers = q
                .get("trailers")
                .map(|h| cx.headers(h, "trailers"))
                .transpose()?
                .unwrap_or_default();
            match (q.get("body"), q.get("chunks")) {
                (Some(b), Some(_)) => return Err(cx.err(b, "give either body or chunks, not both")),
                (Some(b), None) => spec.chunks = vec![cx.string(b, "body")?.into_bytes()],
                (None, Some(c)) => {
                    let seq = c
                        .as_seq()
                        .ok_or_else(|| cx.err(c, "chunks must be a list of strings"))?;
                    spec.chunks = seq
                        .iter()
                        .map(|x| cx.string(x, "chunk").map(String::into_bytes))
                        .collect::<Result<_, _>>()?;
                }
                (None, None) => {}
            }
        }
        if let Some(calls) = r.get("http_calls") {
            let seq = calls
                .as_seq()
                .ok_or_else(|| cx.err(calls, "http_calls must be a list"))?;
            for c in seq {
                cx.keys(c, "an http_calls entry", &["cluster", "path", "response"])?;
                let cluster = c
                    .get("cluster")
                    .ok_or_else(|| cx.err(c, "an http_calls entry needs `cluster`"))?;
                spec.http_calls.push(HttpMock {
                    cluster: cx.string(cluster, "cluster")?,
                    path: c.get("path").map(|p| cx.string(p, "path")).transpose()?,
                    response: c
                        .get("response")
                        .map(|x| cx.response(x, "response"))
                        .transpose()?
                        .unwrap_or(Response {
                            status: 200,
                            ..Default::default()
                        }),
                });
            }
        }
        spec.upstream = r
            .get("upstream")
            .map(|u| cx.response(u, "upstream"))
            .transpose()?;
        if let Some(e) = r.get("expect") {
            cx.keys(
                e,
                "expect",
                &[
                    "status",
                    "response_headers",
                    "response_body",
                    "upstream_called",
                    "upstream_request_headers",
                    "upstream_request_body",
                    "http_calls",
                    "logs",
                    "metrics",
                ],
            )?;
            let x = &mut spec.expect;
            x.status = e
                .get("status")
                .map(|s| cx.int(s, "status").map(|v| v as u32))
                .transpose()?;
            x.response_headers = e
                .get("response_headers")
                .map(|h| cx.header_expect(h, "response_headers"))
                .transpose()?
                .unwrap_or_default();
            x.response_body = e
                .get("response_body")
                .map(|b| cx.string(b, "response_body"))
                .transpose()?;
            x.upstream_called = match e.get("upstream_called") {
                Some(Node {
                    value: Value::Bool(b),
                    ..
                }) => Some(*b),
                Some(n) => return Err(cx.err(n, "upstream_called must be true or false")),
                None => None,
            };
            x.upstream_request_headers = e
                .get("upstream_request_headers")
                .map(|h| cx.header_expect(h, "upstream_request_headers"))
                .transpose()?
                .unwrap_or_default();
            x.upstream_request_body = e
                .get("upstream_request_body")
                .map(|b| cx.string(b, "upstream_request_body"))
                .transpose()?;
            x.http_calls = e
                .get("http_calls")
                .map(|n| cx.int(n, "http_calls").map(|v| v.max(0) as usize))
                .transpose()?;
            if let Some(l) = e.get("logs") {
                let seq = l
                    .as_seq()
                    .ok_or_else(|| cx.err(l, "logs must be a list of substrings"))?;
                x.logs = seq
                    .iter()
                    .map(|s| cx.string(s, "log substring"))
                    .collect::<Result<_, _>>()?;
            }
            if let Some(m) = e.get("metrics") {
                for (k, v) in cx.map(m, "metrics")? {
                    x.metrics
                        .push((k.key_text().unwrap_or_default(), cx.int(v, "metric value")?));
                }
            }
        }
        sc.requests.push(spec);
    }
    Ok(sc)
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
}
