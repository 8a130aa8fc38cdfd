//! Manual pages: one per subcommand, each with every flag clap defines and the sections clap
//! cannot know (EXIT STATUS, ENVIRONMENT, FILES, SEE ALSO), linked from the top page; each
//! renders with groff (warnings are failures) when it is installed, and is checked
//! structurally always.

mod common;

use clap::CommandFactory;
use common::run;
use meshext_lint::cli::Cli;
use std::process::Command;

fn subcommands() -> Vec<clap::Command> {
    let mut cmd = Cli::command();
    cmd.build();
    cmd.get_subcommands()
        .filter(|c| c.get_name() != "help" && !c.is_hide_set())
        .cloned()
        .collect()
}

/// `--mesh-version` as roff writes it.
fn roff_flag(long: &str) -> String {
    format!("\\fB\\-\\-{}\\fR", long.replace('-', "\\-"))
}

/// Every page `man --dir` writes: (name without `.1`, text).
fn pages() -> Vec<(String, String)> {
    let dir = tempfile::tempdir().unwrap();
    let out = run(&["man", "--dir", dir.path().to_str().unwrap()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut pages: Vec<(String, String)> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| {
            let p = e.unwrap().path();
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            let stem = name
                .strip_suffix(".1")
                .expect("pages end in .1")
                .to_string();
            (stem, std::fs::read_to_string(&p).unwrap())
        })
        .collect();
    pages.sort();
    pages
}

#[test]
fn one_page_per_subcommand_with_every_flag() {
    let pages = pages();
    let names: Vec<&str> = pages.iter().map(|(n, _)| n.as_str()).collect();
    assert!(names.contains(&"meshext-lint"), "{names:?}");
    let subs = subcommands();
    assert_eq!(pages.len(), subs.len() + 1, "{names:?}");
    for sub in &subs {
        let name = format!("meshext-lint-{}", sub.get_name());
        let (_, text) = pages
            .iter()
            .find(|(n, _)| *n == name)
            .unwrap_or_else(|| panic!("no page {name}"));
        assert!(text.contains(&format!(".TH {name} 1")), "{name}: title");
        for arg in sub.get_arguments().filter(|a| !a.is_hide_set()) {
            if let Some(long) = arg.get_long() {
                assert!(text.contains(&roff_flag(long)), "{name}: no --{long}");
            }
        }
        // Value lists are spelled out (formats, mesh versions).
        if sub.get_name() == "lint" {
            for v in ["sarif", "rdjson", "junit", "v2.1", "v2.6"] {
                assert!(text.contains(v), "{name}: no {v}");
            }
        }
        // `man lint` prints the same page.
        let out = run(&["man", sub.get_name()]);
        assert!(out.status.success());
        assert_eq!(
            String::from_utf8_lossy(&out.stdout),
            *text,
            "man {}",
            sub.get_name()
        );
    }
}

#[test]
fn every_page_has_exit_status_environment_files_and_see_also() {
    for (name, text) in pages() {
        for section in [
            ".SH NAME",
            ".SH SYNOPSIS",
            ".SH DESCRIPTION",
            ".SH \"EXIT STATUS\"",
            ".SH ENVIRONMENT",
            ".SH FILES",
            ".SH \"SEE ALSO\"",
        ] {
            assert!(text.contains(section), "{name}: no {section}");
        }
        for var in ["NO_COLOR", "FORCE_COLOR", "CLICOLOR_FORCE", "TERM"] {
            assert!(text.contains(&format!("\\fB{var}\\fR")), "{name}: no {var}");
        }
        for file in [".meshext\\-lint.yaml", ".meshext\\-lint.yml", "baseline"] {
            assert!(text.contains(file), "{name}: no {file}");
        }
        let exit = section(&text, "\"EXIT STATUS\"");
        assert!(
            exit.contains("\\fB0\\fR") && exit.contains("\\fB2\\fR"),
            "{name}"
        );
        // Only commands that report findings exit with 1.
        let has_one = [
            "meshext-lint",
            "meshext-lint-lint",
            "meshext-lint-simulate",
            "meshext-lint-inspect",
        ]
        .contains(&name.as_str());
        assert_eq!(exit.contains("\\fB1\\fR"), has_one, "{name}: {exit}");
        let see_also = section(&text, "\"SEE ALSO\"");
        if name == "meshext-lint" {
            for sub in subcommands() {
                let link = format!(
                    "\\fBmeshext\\-lint\\-{}\\fR(1)",
                    sub.get_name().replace('-', "\\-")
                );
                assert!(see_also.contains(&link), "top page does not link {link}");
            }
        } else {
            assert!(
                see_also.contains("\\fBmeshext\\-lint\\fR(1)"),
                "{name}: {see_also}"
            );
        }
        structurally_valid(&name, &text);
    }
}

/// The text of one `.SH` section.
fn section<'a>(text: &'a str, heading: &str) -> &'a str {
    let start = text
        .find(&format!(".SH {heading}\n"))
        .unwrap_or_else(|| panic!("no section {heading}"));
    let rest = &text[start + 4..];
    &rest[..rest.find("\n.SH ").map_or(rest.len(), |i| i + 1)]
}

/// What holds without a formatter: one `.TH` first, requests from the man macro set, no text
/// line that roff would take for a request, font changes closed.
fn structurally_valid(name: &str, text: &str) {
    const REQUESTS: &[&str] = &[
        "TH", "SH", "SS", "TP", "PP", "P", "LP", "IP", "RS", "RE", "br", "sp", "ie", "el", "ds",
        "B", "I", "BR", "IR", "RB", "nf", "fi", "EX", "EE",
    ];
    let first_request = text
        .lines()
        .find(|l| l.starts_with(".TH") || l.starts_with(".SH"))
        .unwrap_or_default();
    assert!(
        first_request.starts_with(".TH "),
        "{name}: .TH is not first"
    );
    assert_eq!(
        text.matches("\n.TH ").count() + usize::from(text.starts_with(".TH ")),
        1
    );
    for (i, line) in text.lines().enumerate() {
        if let Some(req) = line.strip_prefix('.') {
            let req = req.split_whitespace().next().unwrap_or("");
            assert!(
                REQUESTS.contains(&req),
                "{name}:{}: unknown request {line:?}",
                i + 1
            );
        }
        assert!(!line.starts_with('\''), "{name}:{}: {line:?}", i + 1);
        let opened = line.matches("\\fB").count() + line.matches("\\fI").count();
        let closed = line.matches("\\fR").count() + line.matches("\\fP").count();
        assert!(opened <= closed, "{name}:{}: unclosed font {line:?}", i + 1);
    }
}

/// groff formats each page without a warning (`-ww`), and the output has the sections.
#[test]
fn every_page_renders_with_groff() {
    let works = Command::new("groff")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !works {
        eprintln!("skipped every_page_renders_with_groff: groff is not installed");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    for (name, text) in pages() {
        let path = dir.path().join(format!("{name}.1"));
        std::fs::write(&path, &text).unwrap();
        // -k: input is UTF-8, as man(1) feeds it through preconv.
        let out = Command::new("groff")
            .args(["-k", "-man", "-Tutf8", "-ww"])
            .arg(&path)
            .env("LC_ALL", "C.UTF-8")
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            out.status.success() && stderr.trim().is_empty(),
            "{name}: {stderr}"
        );
        let rendered = String::from_utf8_lossy(&out.stdout);
        // Strip overstriking (bold is X\bX) before looking.
        let plain: String = strip_overstrike(&rendered);
        for s in [
            "NAME",
            "SYNOPSIS",
            "EXIT STATUS",
            "ENVIRONMENT",
            "FILES",
            "SEE ALSO",
            "NO_COLOR",
        ] {
            assert!(
                plain.contains(s),
                "{name}: rendered page lacks {s}:\n{plain}"
            );
        }
    }
}

fn strip_overstrike(s: &str) -> String {
    let mut out: Vec<char> = Vec::new();
    for c in s.chars() {
        if c == '\u{8}' {
            out.pop();
        } else {
            out.push(c);
        }
    }
    // Also drop SGR sequences, which some groff builds emit instead.
    let text: String = out.into_iter().collect();
    let mut plain = String::new();
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            for d in chars.by_ref() {
                if d.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            plain.push(c);
        }
    }
    plain
}

#[test]
fn unknown_page_is_a_usage_error() {
    let out = run(&["man", "no-such-command"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no such command"));
}
