//! Output of a simulation: `human` (a per-request trace) and `json` (the same data).

use super::trace::{Check, SimReport, TraceEvent};
use std::fmt::Write;

pub fn json(r: &SimReport) -> String {
    match crate::json_pretty::to_string(r) {
        Ok(s) => s,
        Err(e) => format!("{{\"error\": \"{e}\"}}"),
    }
}

/// Writes the JSON report to `w` as it is serialised (a 10,000-request trace is ~25 MB: no
/// intermediate string). Byte for byte what `serde_json::to_writer_pretty` writes.
pub fn write_json<W: std::io::Write>(r: &SimReport, w: W) -> std::io::Result<()> {
    crate::json_pretty::to_writer(w, r)
}

/// The JSON report written as the run goes ([`super::run_scenario_into`]): each request's
/// report is written out when it completes and then dropped, so a long scenario's traces are
/// never all in memory at once. The bytes are [`write_json`]'s for the whole report.
pub struct JsonStream<W: std::io::Write> {
    out: crate::json_pretty::Stream<W>,
    begun: bool,
    written: usize,
    passed: bool,
}

/// The report's `requests` key as the pretty layout writes it (one level deep; a line break
/// inside a string is always escaped, so this text occurs once).
const REQUESTS_KEY: &[u8] = b"\n  \"requests\": [";

/// Where the `requests` array of a report's JSON opens: the offset just after its `[`.
fn requests_open(text: &[u8]) -> usize {
    text.windows(REQUESTS_KEY.len())
        .position(|w| w == REQUESTS_KEY)
        .map_or(text.len(), |i| i + REQUESTS_KEY.len())
}

impl<W: std::io::Write> JsonStream<W> {
    pub fn new(w: W) -> Self {
        JsonStream {
            out: crate::json_pretty::Stream::new(w),
            begun: false,
            written: 0,
            passed: true,
        }
    }

    /// Whether every request written so far met its expectations.
    pub fn passed(&self) -> bool {
        self.passed
    }

    /// Writes what follows the requests; `report` is the run's report, its `requests`
    /// empty. The writer's first error, if any (the output after it was dropped).
    pub fn finish(mut self, report: &SimReport) -> std::io::Result<W> {
        let text = json(report);
        let text = text.as_bytes();
        if !self.begun {
            self.out.raw(text);
            return self.out.finish();
        }
        // `text` has `"requests": []`: continue after its `[`, past its `]`.
        let at = requests_open(text);
        self.out
            .raw(if self.written == 0 { b"]" } else { b"\n  ]" });
        self.out.raw(text.get(at + 1..).unwrap_or_default());
        self.out.finish()
    }
}

impl<W: std::io::Write> super::RequestSink for JsonStream<W> {
    fn begin(&mut self, head: &SimReport) {
        let text = json(head);
        let text = text.as_bytes();
        self.out.raw(&text[..requests_open(text)]);
        self.begun = true;
    }

    fn request(&mut self, r: super::RequestReport) {
        self.passed &= r.passed();
        self.out.raw(if self.written == 0 {
            b"\n    "
        } else {
            b",\n    "
        });
        self.out.value(&r, 2);
        self.written += 1;
    }
}

fn event(out: &mut String, e: &TraceEvent) {
    let _ = writeln!(out, "    {:<28} {} → {}", e.filter, e.callback, e.result);
    for c in &e.changes {
        let _ = writeln!(out, "        {c}");
    }
    for c in &e.calls {
        let _ = writeln!(
            out,
            "        http call #{} → {} {} {}",
            c.token,
            c.cluster,
            c.headers.get(":method").unwrap_or(""),
            c.headers.get(":path").unwrap_or("")
        );
    }
    if let Some(l) = &e.local_reply {
        let _ = writeln!(
            out,
            "        local reply {} {:?} body {:?}",
            l.status,
            l.details,
            String::from_utf8_lossy(&l.body)
        );
    }
    for l in &e.logs {
        let _ = writeln!(out, "        [{}] {}", l.level.as_str(), l.message);
    }
    if let Some(f) = &e.failure {
        let _ = writeln!(out, "        FAILED in {}: {}", f.callback, f.message);
        for l in f.last_logs.iter() {
            let _ = writeln!(
                out,
                "          last log [{}] {}",
                l.level.as_str(),
                l.message
            );
        }
    }
}

fn checks(out: &mut String, checks: &[Check]) {
    for c in checks {
        let mark = if c.ok { "ok  " } else { "FAIL" };
        if c.ok {
            let _ = writeln!(out, "  {mark} {} = {}", c.what, c.actual);
        } else {
            let _ = writeln!(
                out,
                "  {mark} {}: expected {}, got {}",
                c.what, c.expected, c.actual
            );
        }
    }
}

pub fn human(r: &SimReport) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "Simulating on the {}", r.proxy);
    let _ = writeln!(out, "Chain: {}", r.chain.join(" → "));
    if !r.services.is_empty() {
        let _ = writeln!(out, "Wasm services: {}", r.services.join(", "));
    }
    for n in &r.notes {
        let _ = writeln!(out, "note: {n}");
    }
    for e in &r.errors {
        let _ = writeln!(out, "error: {e}");
    }
    for p in &r.startup_problems {
        let _ = writeln!(out, "plugin {} failed to start: {}", p.filter, p.message);
    }
    if !r.startup.is_empty() {
        let _ = writeln!(out, "\nstartup");
        for e in &r.startup {
            event(&mut out, e);
        }
    }
    checks(&mut out, &r.startup_checks);
    for q in &r.requests {
        let _ = writeln!(
            out,
            "\n{}: {} [{}]",
            if q.time_only { "step" } else { "request" },
            q.name,
            if q.passed() { "pass" } else { "FAIL" }
        );
        for e in &q.trace {
            event(&mut out, e);
        }
        if q.time_only {
            checks(&mut out, &q.checks);
            continue;
        }
        if let Some(u) = &q.upstream_request {
            let _ = writeln!(
                out,
                "  upstream received {} {} ({} body bytes)",
                u.headers.get(":method").unwrap_or(""),
                u.headers.get(":path").unwrap_or(""),
                u.body.len()
            );
        } else {
            let _ = writeln!(out, "  upstream not called");
        }
        match (&q.response, &q.reset) {
            (Some(resp), _) => {
                let _ = writeln!(
                    out,
                    "  client got {} ({}) body {:?}",
                    resp.status,
                    resp.details,
                    super::trace::preview(&resp.body)
                );
            }
            (None, Some(reset)) => {
                let _ = writeln!(out, "  client got no response: {reset}");
            }
            (None, None) => {
                let _ = writeln!(
                    out,
                    "  client got no response: stalled (a filter paused and nothing resumed it)"
                );
            }
        }
        checks(&mut out, &q.checks);
    }
    for q in &r.connections {
        let _ = writeln!(
            out,
            "\nconnection: {} [{}]",
            q.name,
            if q.passed() { "pass" } else { "FAIL" }
        );
        for e in &q.trace {
            event(&mut out, e);
        }
        let _ = writeln!(
            out,
            "  upstream received {:?}, client received {:?}, closed by {}",
            super::trace::preview(&q.upstream_received),
            super::trace::preview(&q.downstream_received),
            q.closed_by
        );
        checks(&mut out, &q.checks);
    }
    if !r.metrics.is_empty() {
        let _ = writeln!(out, "\nmetrics");
        for (k, v) in &r.metrics {
            let _ = writeln!(out, "  {k} = {v}");
        }
    }
    if !r.shared_data.is_empty() {
        let _ = writeln!(out, "\nshared data");
        for (k, v) in &r.shared_data {
            let _ = writeln!(out, "  {k} = {v:?}");
        }
    }
    out
}

#[cfg(test)]
mod tests {
    /// The stream splits a report's JSON at its own `requests` key only: not at a deeper key
    /// of that name, and past the whole text when there is none.
    #[test]
    fn requests_open_finds_the_reports_own_key() {
        let text = b"{\n  \"startup\": [\n    {\n      \"requests\": []\n    }\n  ],\n  \"requests\": [],\n  \"errors\": []\n}";
        let at = super::requests_open(text);
        assert_eq!(&text[at..at + 2], b"],");
        assert_eq!(
            &text[..at],
            &b"{\n  \"startup\": [\n    {\n      \"requests\": []\n    }\n  ],\n  \"requests\": ["
                [..]
        );
        assert_eq!(super::requests_open(b"{}"), 2);
    }
}
