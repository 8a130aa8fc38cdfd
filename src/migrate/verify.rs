//! `migrate --verify`: the same scenario through the source mesh (SMEs) and the result
//! (WasmPlugins) with the real modules, compared on what a client, the upstream and an
//! operator observe: responses, upstream requests, callouts, logs and metrics.

use crate::simulate::trace::{RequestReport, SimReport};
use serde::Serialize;
use serde_json::{json, Value};

/// One observable that differs.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Mismatch {
    /// The scenario file.
    pub scenario: String,
    /// The request (step) name, or `start-up`.
    pub step: String,
    /// What differs: `response`, `upstream request`, `callouts`, `logs`, `metrics`.
    pub what: String,
    pub before: Value,
    pub after: Value,
}

impl std::fmt::Display for Mismatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}, {}: {} differs: before {}; after {}",
            self.scenario, self.step, self.what, self.before, self.after
        )
    }
}

/// What a step shows to the outside, by aspect.
fn observed(r: &RequestReport) -> [(&'static str, Value); 5] {
    let logs: Vec<Value> = r
        .trace
        .iter()
        .flat_map(|e| e.logs.iter())
        .map(|l| json!([l.level, l.message]))
        .collect();
    let calls: Vec<Value> = r
        .http_calls
        .iter()
        .map(|c| serde_json::to_value(c).unwrap_or(Value::Null))
        .collect();
    [
        (
            "response",
            json!({"response": r.response, "reset": r.reset, "stalled": r.stalled}),
        ),
        ("upstream request", json!(r.upstream_request)),
        ("callouts", Value::Array(calls)),
        ("logs", Value::Array(logs)),
        ("metrics", json!(r.metrics_after)),
    ]
}

/// Every observable of `after` that differs from `before`, step by step.
pub fn compare(scenario: &str, before: &SimReport, after: &SimReport) -> Vec<Mismatch> {
    let mut out = Vec::new();
    let start = |r: &SimReport| -> Value {
        json!({
            "problems": r.startup_problems.iter().map(|p| serde_json::to_value(p).unwrap_or(Value::Null)).collect::<Vec<_>>(),
            "errors": r.errors,
        })
    };
    if start(before) != start(after) {
        out.push(Mismatch {
            scenario: scenario.into(),
            step: "start-up".into(),
            what: "start-up".into(),
            before: start(before),
            after: start(after),
        });
    }
    for (a, b) in before.requests.iter().zip(&after.requests) {
        for ((what, x), (_, y)) in observed(a).into_iter().zip(observed(b)) {
            if x != y {
                out.push(Mismatch {
                    scenario: scenario.into(),
                    step: a.name.clone(),
                    what: what.into(),
                    before: x,
                    after: y,
                });
            }
        }
    }
    if before.requests.len() != after.requests.len() {
        out.push(Mismatch {
            scenario: scenario.into(),
            step: "steps".into(),
            what: "number of steps run".into(),
            before: json!(before.requests.len()),
            after: json!(after.requests.len()),
        });
    }
    out
}
