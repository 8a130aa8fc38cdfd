//! Configuration file, suppressions and baselines through the command line, and the shell
//! niceties (completions, man page, version, NO_COLOR).

mod common;
use common::*;
use serde_json::Value;
use std::path::Path;
use std::process::Command;

const MX306: &str = "samples/broken/MX306.yaml";

fn lint_in(dir: &Path, args: &[&str]) -> (i32, Value, String) {
    let o = Command::new(env!("CARGO_BIN_EXE_meshext-lint"))
        .arg("lint")
        .args(["--format", "json"])
        .args(args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    let json = serde_json::from_slice(&o.stdout).unwrap_or(Value::Null);
    (
        o.status.code().unwrap(),
        json,
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

fn rules_of(json: &Value) -> Vec<(String, Option<String>)> {
    json["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            (
                d["rule"].as_str().unwrap().to_string(),
                d["suppressed"]["kind"].as_str().map(str::to_string),
            )
        })
        .collect()
}

fn copy_sample(dir: &Path) {
    let text = std::fs::read_to_string(root().join(MX306)).unwrap();
    write(dir, "m.yaml", &text);
}

#[test]
fn config_is_found_by_walking_up_and_applied() {
    let dir = tempfile::tempdir().unwrap();
    copy_sample(dir.path());
    let sub = dir.path().join("sub");
    std::fs::create_dir(&sub).unwrap();
    // Without config: MX306 is a warning, the run passes.
    let (code, json, _) = lint_in(dir.path(), &["m.yaml"]);
    assert_eq!((code, rules_of(&json)), (0, vec![("MX306".into(), None)]));
    write(dir.path(), ".meshext-lint.yaml", "rules:\n  MX306: error\n");
    let (code, json, _) = lint_in(&sub, &["../m.yaml"]);
    assert_eq!(code, 1, "raised to error by the config found in the parent");
    assert_eq!(json["diagnostics"][0]["severity"], "error");
    // fail-on from the config; the flag wins over it.
    write(dir.path(), ".meshext-lint.yaml", "fail-on: warning\n");
    assert_eq!(lint_in(dir.path(), &["m.yaml"]).0, 1);
    assert_eq!(lint_in(dir.path(), &["m.yaml", "--fail-on", "error"]).0, 0);
    assert_eq!(lint_in(dir.path(), &["m.yaml", "--no-config"]).0, 0);
    // Off: gone.
    write(
        dir.path(),
        ".meshext-lint.yaml",
        "rules: {MX306: off}\nfail-on: warning\n",
    );
    let (code, json, _) = lint_in(dir.path(), &["m.yaml"]);
    assert_eq!((code, rules_of(&json)), (0, vec![]));
    // ignore globs and --config.
    write(
        dir.path(),
        "other.yaml",
        "rules: {MX102: warning}\nignore: ['m.yaml']\n",
    );
    let (_, json, _) = lint_in(dir.path(), &["--config", "other.yaml", "."]);
    assert!(rules_of(&json).iter().all(|(r, _)| r != "MX306"), "{json}");
}

#[test]
fn invalid_config_exits_2_with_its_location() {
    let dir = tempfile::tempdir().unwrap();
    copy_sample(dir.path());
    write(
        dir.path(),
        ".meshext-lint.yaml",
        "fail-on: warning\nrules:\n  MX3O6: off\n",
    );
    let (code, _, stderr) = lint_in(dir.path(), &["m.yaml"]);
    assert_eq!(code, 2);
    assert!(
        stderr.contains(".meshext-lint.yaml:3:3: unknown rule \"MX3O6\""),
        "{stderr}"
    );
    write(dir.path(), ".meshext-lint.yaml", "fail_on: warning\n");
    let (code, _, stderr) = lint_in(dir.path(), &["m.yaml"]);
    assert_eq!(code, 2);
    assert!(stderr.contains(":1:1: unknown key `fail_on`"), "{stderr}");
    let (code, _, stderr) = lint_in(dir.path(), &["--config", "missing.yaml", "m.yaml"]);
    assert_eq!(code, 2);
    assert!(stderr.contains("missing.yaml"), "{stderr}");
}

#[test]
fn suppressions_from_every_source_mark_findings_and_do_not_count() {
    let dir = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(root().join(MX306)).unwrap();
    // Comment on the line above the flagged line (32: `labels: {app: web-deployment}`).
    let lines: Vec<&str> = text.lines().collect();
    let commented = format!(
        "{}\n    # meshext-lint: ignore[MX306] -- selector is set by the operator\n{}\n",
        lines[..31].join("\n"),
        lines[31..].join("\n")
    );
    write(dir.path(), "c.yaml", &commented);
    let (code, json, _) = lint_in(dir.path(), &["c.yaml", "--fail-on", "warning"]);
    assert_eq!(code, 0);
    assert_eq!(
        rules_of(&json),
        vec![("MX306".into(), Some("comment".into()))]
    );
    assert_eq!(
        json["diagnostics"][0]["suppressed"]["reason"],
        "selector is set by the operator"
    );
    assert_eq!(json["summary"]["suppressed"], 1);

    // Annotation, with an unknown rule reported as MX107.
    let annotated = text.replace(
        "metadata: {name: auth, namespace: shop}",
        "metadata:\n  name: auth\n  namespace: shop\n  annotations: {meshext-lint.io/ignore: \"MX306,MX399\"}",
    );
    write(dir.path(), "a.yaml", &annotated);
    let (code, json, _) = lint_in(dir.path(), &["a.yaml", "--fail-on", "warning"]);
    let rules = rules_of(&json);
    assert!(
        rules.contains(&("MX306".into(), Some("annotation".into()))),
        "{rules:?}"
    );
    assert!(rules.contains(&("MX107".into(), None)), "{rules:?}");
    assert_eq!(code, 1, "MX107 is a warning and counts");

    // Command line and config patterns glob the resource label.
    write(dir.path(), "m.yaml", &text);
    for (pattern, hit) in [
        ("MX306=ServiceMeshExtension shop/*", true),
        ("MX306=ServiceMeshExtension other/*", false),
        ("MX306", true),
    ] {
        let (code, json, _) = lint_in(
            dir.path(),
            &["m.yaml", "--fail-on", "warning", "--suppress", pattern],
        );
        assert_eq!(code, if hit { 0 } else { 1 }, "{pattern}");
        assert_eq!(
            json["diagnostics"][0]["suppressed"]["kind"]
                .as_str()
                .is_some(),
            hit,
            "{pattern}"
        );
    }
    write(
        dir.path(),
        ".meshext-lint.yaml",
        "suppress: ['MX306=* shop/auth']\n",
    );
    let (_, json, _) = lint_in(dir.path(), &["m.yaml"]);
    assert_eq!(
        rules_of(&json),
        vec![("MX306".into(), Some("config".into()))]
    );
}

#[test]
fn baseline_hides_recorded_findings_across_edits_above() {
    let dir = tempfile::tempdir().unwrap();
    copy_sample(dir.path());
    let (code, json, stderr) = lint_in(
        dir.path(),
        &[
            "m.yaml",
            "--fail-on",
            "warning",
            "--write-baseline",
            "base.json",
        ],
    );
    assert_eq!(code, 0, "recorded findings no longer fail");
    assert!(
        stderr.contains("recorded 1 finding in base.json"),
        "{stderr}"
    );
    assert_eq!(
        rules_of(&json),
        vec![("MX306".into(), Some("baseline".into()))]
    );
    // Lines added above: the finding moves but stays baselined.
    let text = std::fs::read_to_string(dir.path().join("m.yaml")).unwrap();
    write(dir.path(), "m.yaml", &format!("# moved\n\n{text}"));
    let (code, json, _) = lint_in(
        dir.path(),
        &["m.yaml", "--fail-on", "warning", "--baseline", "base.json"],
    );
    assert_eq!(code, 0);
    assert_eq!(json["diagnostics"][0]["line"], 34);
    assert_eq!(json["diagnostics"][0]["suppressed"]["kind"], "baseline");
    // A new finding is reported.
    write(
        dir.path(),
        "m.yaml",
        &text.replace("app: web-deployment", "app: web-deploy"),
    );
    let (code, json, _) = lint_in(
        dir.path(),
        &["m.yaml", "--fail-on", "warning", "--baseline", "base.json"],
    );
    assert_eq!(code, 1);
    assert_eq!(rules_of(&json), vec![("MX306".into(), None)]);
    // A broken baseline is a usage error with a position.
    write(
        dir.path(),
        "bad.json",
        "{\"version\": 1,\n \"findings\": [}\n",
    );
    let (code, _, stderr) = lint_in(dir.path(), &["m.yaml", "--baseline", "bad.json"]);
    assert_eq!(code, 2);
    assert!(stderr.contains("bad.json:2:"), "{stderr}");
}

#[test]
fn completions_and_man_page_render() {
    for (shell, marker) in [
        ("bash", "complete -F"),
        ("zsh", "#compdef meshext-lint"),
        ("fish", "complete -c meshext-lint"),
    ] {
        let o = run(&["completions", shell]);
        assert_eq!(o.status.code(), Some(0));
        let text = String::from_utf8(o.stdout).unwrap();
        assert!(text.contains(marker), "{shell}");
        assert!(
            text.contains("write-baseline"),
            "{shell}: completes lint flags"
        );
    }
    assert_eq!(run(&["completions", "tcsh"]).status.code(), Some(2));
    let o = run(&["man"]);
    assert_eq!(o.status.code(), Some(0));
    let roff = String::from_utf8(o.stdout).unwrap();
    assert!(
        roff.starts_with(".ie \\n(.g .ds Aq"),
        "{}",
        &roff[..80.min(roff.len())]
    );
    assert!(roff.contains(".TH meshext-lint 1"));
    assert!(roff.contains("completions"));
    assert!(roff.contains(".SH \"EXIT STATUS\""));
    // If man(1) is installed, the page renders to text.
    if Command::new("man")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
    {
        let dir = tempfile::tempdir().unwrap();
        let page = write(dir.path(), "meshext-lint.1", &roff);
        let o = Command::new("man")
            .arg("-l")
            .arg(&page)
            .env("MANPAGER", "cat")
            .env("MANWIDTH", "80")
            .output()
            .unwrap();
        assert!(String::from_utf8_lossy(&o.stdout).contains("meshext-lint"));
    }
}

#[test]
fn version_lists_mesh_versions() {
    let o = run(&["--version"]);
    let text = String::from_utf8(o.stdout).unwrap();
    assert!(text.contains("v2.0, v2.1, v2.2"), "{text}");
}

/// Colour only on a terminal, never with NO_COLOR. `script` gives the binary a terminal.
#[test]
fn no_color_is_honoured_on_a_terminal() {
    if Command::new("script").arg("--version").output().is_err() {
        eprintln!("skipped: script(1) is not installed");
        return;
    }
    let cmd = format!(
        "{} lint {}",
        env!("CARGO_BIN_EXE_meshext-lint"),
        root().join(MX306).display()
    );
    let tty = |no_color: bool| {
        let mut c = Command::new("script");
        c.args(["-qec", &cmd, "/dev/null"]).env_remove("NO_COLOR");
        if no_color {
            c.env("NO_COLOR", "1");
        }
        String::from_utf8_lossy(&c.output().unwrap().stdout).into_owned()
    };
    let coloured = tty(false);
    assert!(
        coloured.contains("MX306") && coloured.contains("\x1b["),
        "{coloured:?}"
    );
    let plain = tty(true);
    assert!(
        plain.contains("MX306") && !plain.contains("\x1b["),
        "{plain:?}"
    );
}

/// A long run on a terminal shows a progress note on stderr and erases it; piped, nothing.
#[test]
fn progress_shows_only_on_a_terminal_for_long_runs() {
    if Command::new("script").arg("--version").output().is_err() {
        eprintln!("skipped: script(1) is not installed");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    // Big enough to take well over a second in a test (debug) build: about 3 s for 30,000
    // documents (10,000 took 1.2 s once the YAML fast path landed, too close to the delay).
    let sme = "apiVersion: maistra.io/v1\nkind: ServiceMeshExtension\nmetadata: {name: e, namespace: shop}\nspec: {image: quay.io/a/b:1, phase: PostAuthZ, config: {k: v}}\n---\n";
    let big = dir.path().join("big.yaml");
    // A release build (`cargo test --release`) reads 30,000 in about 0.7 s: under the delay.
    let n = if cfg!(debug_assertions) {
        30_000
    } else {
        75_000
    };
    std::fs::write(&big, sme.repeat(n)).unwrap();
    let cmd = format!(
        "{} lint --fail-on none {} > /dev/null",
        env!("CARGO_BIN_EXE_meshext-lint"),
        big.display()
    );
    let out = Command::new("script")
        .args(["-qec", &cmd, "/dev/null"])
        .output()
        .unwrap();
    let tty = String::from_utf8_lossy(&out.stdout);
    assert!(
        tty.contains("meshext-lint: checking manifests") && tty.contains("\r\x1b[2K"),
        "{tty:?}"
    );
    // Not a terminal: no note.
    let out = Command::new(env!("CARGO_BIN_EXE_meshext-lint"))
        .args(["lint", "--fail-on", "none", big.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(!String::from_utf8_lossy(&out.stderr).contains("checking manifests"));
}
