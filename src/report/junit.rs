//! JUnit XML (`--format junit`) for CI test tabs: one test suite, one failing test case per
//! finding (named by rule and resource, grouped by file as the class name), suppressed
//! findings as skipped test cases, and a passing test case when there is nothing to report.

use super::Report;
use crate::diag::Diagnostic;

pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            // Characters XML 1.0 cannot carry at all.
            c if (c as u32) < 0x20 && !matches!(c, '\t' | '\n' | '\r') => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out
}

fn case_name(d: &Diagnostic) -> String {
    let at = d
        .location
        .as_ref()
        .map(|l| format!(" (line {})", l.line))
        .unwrap_or_default();
    match &d.resource {
        Some(r) => format!("{} {r}{at}", d.rule),
        None => format!("{}{at}", d.rule),
    }
}

fn class_name(d: &Diagnostic) -> String {
    d.location
        .as_ref()
        .map_or_else(|| "meshext-lint".to_string(), |l| l.file.clone())
}

pub fn render(report: &Report) -> String {
    let mut cases = String::new();
    let (mut failures, mut skipped) = (0, 0);
    for d in report.diagnostics {
        let head = format!(
            "    <testcase classname=\"{}\" name=\"{}\">\n",
            escape(&class_name(d)),
            escape(&case_name(d))
        );
        cases.push_str(&head);
        match &d.suppressed {
            Some(s) => {
                skipped += 1;
                let why = s
                    .reason
                    .clone()
                    .unwrap_or_else(|| format!("suppressed by {}", s.kind));
                cases.push_str(&format!("      <skipped message=\"{}\"/>\n", escape(&why)));
            }
            None => {
                failures += 1;
                let mut body = match &d.location {
                    Some(l) => format!("{l}: {}[{}]: {}", d.severity, d.rule, d.message),
                    None => format!("{}[{}]: {}", d.severity, d.rule, d.message),
                };
                if let Some(h) = &d.help {
                    body.push_str(&format!("\nhelp: {h}"));
                }
                body.push_str(&format!("\nsee: meshext-lint explain {}", d.rule));
                cases.push_str(&format!(
                    "      <failure type=\"{}\" message=\"{}\">{}</failure>\n",
                    d.severity,
                    escape(&d.message),
                    escape(&body)
                ));
            }
        }
        cases.push_str("    </testcase>\n");
    }
    let mut tests = report.diagnostics.len();
    let t = report.tally;
    // Findings below --output-threshold still decide the exit code: one test case stands for
    // them, failing when they alone fail the run.
    if t.hidden > 0 {
        tests += 1;
        let name = format!(
            "{} hidden by --output-threshold",
            super::plural(t.hidden, "finding")
        );
        if t.hidden_fail {
            failures += 1;
            cases.push_str(&format!(
                "    <testcase classname=\"meshext-lint\" name=\"{name}\">\n      <failure type=\"hidden\" message=\"{name}\">rerun without --output-threshold to see them</failure>\n    </testcase>\n"
            ));
        } else {
            skipped += 1;
            cases.push_str(&format!(
                "    <testcase classname=\"meshext-lint\" name=\"{name}\">\n      <skipped message=\"{name}\"/>\n    </testcase>\n"
            ));
        }
    }
    if tests == 0 {
        tests = 1;
        cases.push_str(&format!(
            "    <testcase classname=\"meshext-lint\" name=\"no problems found in {} files\"/>\n",
            report.files
        ));
    }
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"meshext-lint\" tests=\"{tests}\" failures=\"{failures}\" errors=\"0\" skipped=\"{skipped}\">\n  <testsuite name=\"meshext-lint (mesh {})\" tests=\"{tests}\" failures=\"{failures}\" errors=\"0\" skipped=\"{skipped}\">\n{cases}  </testsuite>\n</testsuites>\n",
        escape(&report.mesh_version)
    )
}
