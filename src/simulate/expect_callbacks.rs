//! `expect.callbacks`: which callbacks a step (or connection) made, on which filter, and what
//! they returned — what SDK unit tests assert as `Action::Pause` / `types.ActionContinue`.

use super::filter_manager::ClusterPatterns;
use super::scenario::CallbackWant;
use super::trace::{Check, TraceEvent};
use std::fmt::Write;

/// One check per entry: how many events of `trace` match it. `labels`: the chain's filters
/// and services as the trace names them, so that a `filter` naming none of them fails
/// instead of matching nothing (which `count: 0` would pass).
pub(super) fn check(
    want: &[CallbackWant],
    trace: &[TraceEvent],
    labels: &[String],
    out: &mut Vec<Check>,
) {
    let mut patterns = ClusterPatterns::default();
    for w in want {
        let mut what = format!("callback {}", w.callback);
        if let Some(f) = &w.filter {
            let _ = write!(what, " of {f:?}");
        }
        if let Some(r) = &w.result {
            let _ = write!(what, " returning {r}");
        }
        let mut filter_ok = |label: &str| {
            w.filter
                .as_deref()
                .is_none_or(|f| names_filter(&mut patterns, f, label))
        };
        if !labels.iter().any(|l| filter_ok(l)) {
            out.push(Check {
                what,
                expected: "a filter of the chain".into(),
                actual: format!("no filter is named so (filters: {})", labels.join(", ")),
                ok: false,
            });
            continue;
        }
        let mut n = 0;
        // What the callback returned where it ran on the filter, with how often: the
        // message for a miss (a thousand ticks are one entry).
        let mut seen: Vec<(String, usize)> = Vec::new();
        for e in trace {
            if !is_callback(&e.callback, &w.callback) || !filter_ok(&e.filter) {
                continue;
            }
            if w.result
                .as_deref()
                .is_none_or(|r| result_matches(&e.result, r))
            {
                n += 1;
                continue;
            }
            let other = format!("{}: {}", e.filter, e.result);
            match seen.iter_mut().find(|(s, _)| *s == other) {
                Some((_, k)) => *k += 1,
                None => seen.push((other, 1)),
            }
        }
        let miss = || {
            if seen.is_empty() {
                return n.to_string();
            }
            let others: Vec<String> = (seen.iter())
                .map(|(s, k)| {
                    if *k == 1 {
                        s.clone()
                    } else {
                        format!("{k}× {s}")
                    }
                })
                .collect();
            format!("{n} (other results: {})", others.join("; "))
        };
        out.push(Check::count(what, w.count, n, miss));
    }
}

/// Whether `filter` names the filter labelled `label`: the label (`default/auth`), its name
/// after the `/` (`auth`), or a pattern over the whole label; a service (`service
/// default/x`) also by `default/x`, as the report lists it.
fn names_filter(patterns: &mut ClusterPatterns, filter: &str, label: &str) -> bool {
    let bare = label.strip_prefix("service ").unwrap_or(label);
    [label, bare]
        .into_iter()
        .any(|l| patterns.is_match(filter, l) || l.rsplit('/').next() == Some(filter))
}

/// The trace names some callbacks with their argument (`proxy_on_queue_ready(token 1)`) or a
/// note (`proxy_on_tick (request waiting, +1000 ms)`, `proxy_on_context_create (log phase)`).
fn is_callback(event: &str, name: &str) -> bool {
    event
        .strip_prefix(name)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with('(') || rest.starts_with(" ("))
}

/// A stream callback's status (`Continue`, `Stop…`, or a code Envoy does not know).
fn is_status(result: &str) -> bool {
    let first = result.split(" → ").next().unwrap_or("");
    first == "Continue" || first.starts_with("Stop") || first.contains("(not a Filter")
}

/// `want` is the whole result, one side of its `→` (`StopIteration → StopAllIterationAndWatermark`),
/// that side's first word (`Continue, as Envoy treats unknown values`), or `Pause`: any
/// `Stop…` status, what the SDKs' pause becomes in each callback's status type.
fn result_matches(result: &str, want: &str) -> bool {
    if result == want {
        return true;
    }
    let mut sides = result.split(" → ").map(str::trim);
    if want == "Pause" {
        return sides.next().is_some_and(|s| s.starts_with("Stop"));
    }
    if want == "done" {
        // A callback without a status that returned: the trace may say more than `done`
        // (`timed out after 5000 ms: 504 …` for a callout answered by its timeout).
        return result != "trap" && !is_status(result);
    }
    sides.any(|s| s == want || s.split([' ', ',']).next() == Some(want))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::borrow::Cow;
    use std::rc::Rc;

    fn ev(filter: &str, callback: &'static str, result: &'static str) -> TraceEvent {
        TraceEvent {
            filter: Rc::from(filter),
            callback: Cow::Borrowed(callback),
            result: Cow::Borrowed(result),
            ..Default::default()
        }
    }

    fn want(
        cb: &str,
        filter: Option<&str>,
        result: Option<&str>,
        count: Option<usize>,
    ) -> CallbackWant {
        CallbackWant {
            callback: cb.into(),
            filter: filter.map(Into::into),
            result: result.map(Into::into),
            count,
        }
    }

    fn run(w: CallbackWant, trace: &[TraceEvent]) -> Check {
        let labels = ["default/auth", "default/hdr", "service default/svc"].map(String::from);
        let mut out = Vec::new();
        check(&[w], trace, &labels, &mut out);
        out.pop().unwrap()
    }

    #[test]
    fn results_match_either_side_of_the_arrow_or_pause() {
        let t = "StopIteration → StopAllIterationAndWatermark";
        assert!(result_matches(t, "StopIteration"));
        assert!(result_matches(t, "StopAllIterationAndWatermark"));
        assert!(result_matches(t, "Pause"));
        assert!(!result_matches(t, "Continue"));
        assert!(result_matches("StopIterationAndBuffer", "Pause"));
        assert!(!result_matches("Continue", "Pause"));
        assert!(!result_matches("done", "Pause"));
        let unknown = "7 (not a FilterHeadersStatus) → Continue, as Envoy treats unknown values";
        assert!(result_matches(unknown, "Continue"));
        assert!(
            !result_matches(unknown, "Pause"),
            "Envoy continues on unknown codes"
        );
        assert!(!result_matches("Continue", "Cont"));
        assert!(result_matches("done", "done"));
        assert!(result_matches(
            "timed out after 5000 ms: 504 upstream request timeout",
            "done"
        ));
        assert!(!result_matches("trap", "done"));
        assert!(!result_matches("Continue", "done"));
        assert!(!result_matches(t, "done"));
        assert!(!result_matches(unknown, "done"));
    }

    #[test]
    fn callbacks_are_counted_per_filter_and_result() {
        let trace = [
            ev(
                "default/auth",
                "proxy_on_request_headers",
                "StopIteration → StopAllIterationAndWatermark",
            ),
            ev("default/hdr", "proxy_on_request_headers", "Continue"),
            ev(
                "default/auth",
                "proxy_on_http_call_response(token 1)",
                "done",
            ),
            ev("default/auth", "proxy_on_request_body", "Continue"),
            ev(
                "default/auth",
                "proxy_on_tick (request waiting, +1000 ms)",
                "done",
            ),
            ev("service default/svc", "proxy_on_tick", "done"),
            ev("service default/svc", "proxy_on_tick", "done"),
        ];
        let c = run(want("proxy_on_request_headers", None, None, None), &trace);
        assert!(c.ok && c.actual == "2", "{c:?}");
        let c = run(
            want(
                "proxy_on_request_headers",
                Some("auth"),
                Some("Pause"),
                Some(1),
            ),
            &trace,
        );
        assert!(c.ok, "{c:?}");
        let c = run(
            want(
                "proxy_on_request_headers",
                Some("default/h*"),
                Some("Pause"),
                None,
            ),
            &trace,
        );
        assert!(!c.ok, "{c:?}");
        assert_eq!(c.actual, "0 (other results: default/hdr: Continue)");
        let c = run(
            want("proxy_on_http_call_response", Some("auth"), None, Some(1)),
            &trace,
        );
        assert!(c.ok, "an argument in the trace's name still matches: {c:?}");
        let c = run(want("proxy_on_tick", Some("auth"), None, Some(1)), &trace);
        assert!(c.ok, "a note after the name still matches: {c:?}");
        let c = run(want("proxy_on_tick", None, Some("trap"), None), &trace);
        assert_eq!(
            c.actual,
            "0 (other results: default/auth: done; 2× service default/svc: done)"
        );
        let c = run(want("proxy_on_request", None, None, None), &trace);
        assert!(
            !c.ok,
            "a prefix of another callback's name is not that callback: {c:?}"
        );
        let c = run(
            want("proxy_on_request_trailers", None, None, Some(0)),
            &trace,
        );
        assert!(c.ok, "count 0: must not run: {c:?}");
        let c = run(
            want("proxy_on_request_body", Some("auth"), None, Some(2)),
            &trace,
        );
        assert!(!c.ok && c.actual == "1", "{c:?}");
    }
}
