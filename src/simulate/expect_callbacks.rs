//! `expect.callbacks`: which callbacks a step (or connection) made, on which filter, and what
//! they returned — what SDK unit tests assert as `Action::Pause` / `types.ActionContinue`.

use super::filter_manager::ClusterPatterns;
use super::scenario::CallbackWant;
use super::trace::{Check, TraceEvent};
use std::fmt::Write;

/// One check per entry: how many events of `trace` match it.
pub(super) fn check(want: &[CallbackWant], trace: &[TraceEvent], out: &mut Vec<Check>) {
    let mut patterns = ClusterPatterns::default();
    for w in want {
        let mut filter_ok = |label: &str| {
            w.filter
                .as_deref()
                .is_none_or(|f| patterns.is_match(f, label) || label.rsplit('/').next() == Some(f))
        };
        let mut n = 0;
        // What the callback returned where it ran on the filter: the message for a miss.
        let mut seen = Vec::new();
        for e in trace {
            if !is_callback(&e.callback, &w.callback) || !filter_ok(&e.filter) {
                continue;
            }
            if w.result
                .as_deref()
                .is_none_or(|r| result_matches(&e.result, r))
            {
                n += 1;
            } else {
                seen.push(format!("{} → {}", e.filter, e.result));
            }
        }
        let mut what = format!("callback {}", w.callback);
        if let Some(f) = &w.filter {
            let _ = write!(what, " of {f:?}");
        }
        if let Some(r) = &w.result {
            let _ = write!(what, " returning {r}");
        }
        let miss = || {
            if seen.is_empty() {
                n.to_string()
            } else {
                format!("{n} (other results: {})", seen.join(", "))
            }
        };
        out.push(Check::count(what, w.count, n, miss));
    }
}

/// The trace names some callbacks with their argument (`proxy_on_queue_ready(token 1)`) or a
/// note (`proxy_on_tick (request waiting, +1000 ms)`, `proxy_on_context_create (log phase)`).
fn is_callback(event: &str, name: &str) -> bool {
    event
        .strip_prefix(name)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with('(') || rest.starts_with(" ("))
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
        let mut out = Vec::new();
        check(&[w], trace, &mut out);
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
        assert_eq!(c.actual, "0 (other results: default/hdr → Continue)");
        let c = run(
            want("proxy_on_http_call_response", Some("auth"), None, Some(1)),
            &trace,
        );
        assert!(c.ok, "an argument in the trace's name still matches: {c:?}");
        let c = run(want("proxy_on_tick", None, None, Some(1)), &trace);
        assert!(c.ok, "a note after the name still matches: {c:?}");
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
