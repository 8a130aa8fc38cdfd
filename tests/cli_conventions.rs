//! CLI conventions of `lint` (issue 15, point 7): several formats in one run, `--stdin-filename`,
//! `--quiet`, `--no-exit-codes`, rule names wherever rule IDs are taken, `docs-url` in the
//! configuration, and an empty input directory giving valid empty output in every format.

mod common;
use common::*;
use serde_json::Value;
use std::io::Write;
use std::path::Path;
use std::process::{Output, Stdio};

const MX102: &str = "samples/broken/MX102.yaml";

fn code(o: &Output) -> i32 {
    o.status.code().expect("exit code, not a signal")
}

fn stdout(o: &Output) -> String {
    String::from_utf8(o.stdout.clone()).expect("UTF-8 stdout")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Runs `meshext-lint` in `dir` with `input` on stdin.
fn run_in(dir: &Path, args: &[&str], input: Option<&str>) -> Output {
    let mut cmd = bin();
    cmd.current_dir(dir)
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if input.is_some() {
        cmd.stdin(Stdio::piped());
    }
    let mut child = cmd.spawn().expect("run meshext-lint");
    if let Some(text) = input {
        let mut stdin = child.stdin.take().unwrap();
        stdin.write_all(text.as_bytes()).unwrap();
    }
    child.wait_with_output().unwrap()
}

fn json(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("not JSON ({e}):\n{text}"))
}

fn rules_and_files(doc: &Value) -> Vec<(String, String)> {
    let mut v: Vec<(String, String)> = doc["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            (
                d["rule"].as_str().unwrap().to_string(),
                d["file"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect();
    v.sort();
    v
}

#[test]
fn several_formats_in_one_run() {
    let dir = tempfile::tempdir().unwrap();
    let sarif = dir.path().join("results.sarif");
    let json_file = dir.path().join("r.json");
    let o = run(&[
        "lint",
        MX102,
        "--format",
        &format!("sarif={}", sarif.display()),
        "--format",
        &format!("JSON={}", json_file.display()),
        "--format",
        "human",
    ]);
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    let human = stdout(&o);
    assert!(human.contains("MX102"), "{human}");
    assert!(human.contains("✘ 1 error"), "{human}");
    let s = json(&std::fs::read_to_string(&sarif).unwrap());
    assert_eq!(s["runs"][0]["results"][0]["ruleId"], "MX102");
    let j = json(&std::fs::read_to_string(&json_file).unwrap());
    assert_eq!(j["diagnostics"][0]["rule"], "MX102");

    // `-o FILE` takes the one format without a file of its own.
    let out = dir.path().join("out.md");
    let o = run(&[
        "lint",
        MX102,
        "-o",
        out.to_str().unwrap(),
        "--format",
        "markdown",
        "--format",
        &format!("rdjson={}", dir.path().join("r.rdjson").display()),
    ]);
    assert_eq!(code(&o), 1);
    assert!(stdout(&o).is_empty());
    assert!(std::fs::read_to_string(&out)
        .unwrap()
        .starts_with("<!-- meshext-lint -->"));
    let r = json(&std::fs::read_to_string(dir.path().join("r.rdjson")).unwrap());
    assert_eq!(r["diagnostics"][0]["code"]["value"], "MX102");

    // Two formats cannot share stdout or a file; unknown formats and empty files are usage errors.
    for args in [
        vec!["--format", "json", "--format", "sarif"],
        vec!["--format", "json=x.out", "--format", "sarif=x.out"],
        vec!["--format", "jsn"],
        vec!["--format", "sarif="],
    ] {
        let mut all = vec!["lint", MX102];
        all.extend(args.iter().copied());
        let o = run(&all);
        assert_eq!(code(&o), 2, "{args:?}: {}", stderr(&o));
        assert!(stdout(&o).is_empty(), "{args:?}: nothing is written");
        assert!(!root().join("x.out").exists());
    }
}

#[test]
fn quiet_prints_findings_only() {
    let o = run(&["lint", "--quiet", "samples/mesh"]);
    assert_eq!(code(&o), 0);
    assert_eq!(stdout(&o), "", "nothing on success");
    assert_eq!(stderr(&o), "");
    let o = run(&["lint", "-q", MX102]);
    assert_eq!(code(&o), 1);
    let text = stdout(&o);
    assert!(text.contains("error[MX102]"), "{text}");
    assert!(!text.contains("1 error"), "no summary line: {text}");
    let o = run(&["lint", "-q", "--format", "github", MX102]);
    let text = stdout(&o);
    assert_eq!(text.lines().count(), 1, "{text}");
    assert!(text.starts_with("::error "), "{text}");
    // Without --quiet the summary is there.
    let o = run(&["lint", MX102]);
    assert!(stdout(&o).contains("✘ 1 error"));
}

#[test]
fn no_exit_codes_exits_0_on_findings_but_2_on_usage_errors() {
    let o = run(&["lint", "--no-exit-codes", "--format", "sarif", MX102]);
    assert_eq!(code(&o), 0);
    assert_eq!(
        json(&stdout(&o))["runs"][0]["results"][0]["ruleId"],
        "MX102"
    );
    let o = run(&["lint", "--no-exit-codes", MX102, "--fail-on", "info"]);
    assert_eq!(code(&o), 0);
    for args in [
        vec!["lint", "--no-exit-codes", "no/such/file.yaml"],
        vec!["lint", "--no-exit-codes", "--images", "no/such/dir", MX102],
        vec!["lint", "--no-exit-codes", "--format", "nope", MX102],
        vec![
            "lint",
            "--no-exit-codes",
            "--config",
            "no/such/config.yaml",
            MX102,
        ],
    ] {
        let o = run(&args);
        assert_eq!(code(&o), 2, "{args:?}");
    }
}

/// The sample mesh in a temporary directory.
fn mesh_copy() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for entry in walkdir::WalkDir::new(root().join("samples/mesh")) {
        let entry = entry.unwrap();
        let rel = entry
            .path()
            .strip_prefix(root().join("samples/mesh"))
            .unwrap();
        if entry.file_type().is_file() {
            let text = std::fs::read_to_string(entry.path()).unwrap();
            write(dir.path(), rel.to_str().unwrap(), &text);
        }
    }
    dir
}

const BILLING_SME: &str = "apiVersion: maistra.io/v1\nkind: ServiceMeshExtension\nmetadata: {name: auth, namespace: billing}\nspec:\n  image: quay.io/acme/auth:1.0\n  phase: PostAuthZ\n  workloadSelector: {labels: {app: web}}\n";

#[test]
fn stdin_filename_lints_the_buffer_in_the_context_of_the_given_paths() {
    let mesh = mesh_copy();
    // A new, unsaved file inside the given directory: judged against the mesh (billing is not
    // a member: MX202), reported under its name; the mesh's own files are not reported.
    let o = run_in(
        mesh.path(),
        &[
            "lint",
            "--format",
            "json",
            ".",
            "--stdin-filename",
            "shop/new.yaml",
        ],
        Some(BILLING_SME),
    );
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    let doc = json(&stdout(&o));
    let found = rules_and_files(&doc);
    assert!(
        found.contains(&("MX202".into(), "shop/new.yaml".into())),
        "{found:?}"
    );
    assert!(found.iter().all(|(_, f)| f == "shop/new.yaml"), "{found:?}");
    assert_eq!(doc["summary"]["files"], 1);

    // Outside the given paths: linted alone (no control plane is known, so no MX202).
    let other = tempfile::tempdir().unwrap();
    write(
        other.path(),
        "unrelated.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n",
    );
    let o = run_in(
        mesh.path(),
        &[
            "lint",
            "--format",
            "json",
            other.path().to_str().unwrap(),
            "--stdin-filename",
            "shop/new.yaml",
        ],
        Some(BILLING_SME),
    );
    let found = rules_and_files(&json(&stdout(&o)));
    assert!(!found.iter().any(|(r, _)| r == "MX202"), "{found:?}");
    assert!(found.iter().all(|(_, f)| f == "shop/new.yaml"), "{found:?}");
}

#[test]
fn stdin_filename_replaces_the_file_on_disk() {
    let mesh = mesh_copy();
    let on_disk = std::fs::read_to_string(mesh.path().join("shop/extensions.yaml")).unwrap();
    // The buffer renames an extension; with the file on disk loaded too, the old and new names
    // would tie in one phase and priority (MX601).
    let buffer = on_disk.replace("name: oob-auth\n", "name: oob-auth2\n");
    assert_ne!(buffer, on_disk);
    let o = run_in(
        mesh.path(),
        &[
            "lint",
            "--format",
            "json",
            ".",
            "--stdin-filename",
            "shop/extensions.yaml",
        ],
        Some(&buffer),
    );
    assert_eq!(code(&o), 0, "{}", stdout(&o));
    assert_eq!(rules_and_files(&json(&stdout(&o))), vec![]);
    // The control: the same text as a second file does tie.
    write(mesh.path(), "shop/copy.yaml", &buffer);
    let o = run_in(mesh.path(), &["lint", "--format", "json", "."], None);
    let found = rules_and_files(&json(&stdout(&o)));
    assert!(found.iter().any(|(r, _)| r == "MX601"), "{found:?}");
    std::fs::remove_file(mesh.path().join("shop/copy.yaml")).unwrap();

    // A problem in the buffer is located in it, with `-` accepted as the same stdin.
    let broken = on_disk.replace(
        "  phase: PreAuthZ\n",
        "  phase: PreAuthZ\n  phase: PostAuthZ\n",
    );
    let o = run_in(
        mesh.path(),
        &[
            "lint",
            "--format",
            "json",
            ".",
            "-",
            "--stdin-filename",
            "shop/extensions.yaml",
        ],
        Some(&broken),
    );
    assert_eq!(code(&o), 1);
    assert_eq!(
        rules_and_files(&json(&stdout(&o))),
        vec![("MX102".into(), "shop/extensions.yaml".into())]
    );
}

/// MX102 as a duplicate key in the sample, as used below.
fn mx102_text() -> String {
    std::fs::read_to_string(root().join(MX102)).unwrap()
}

#[test]
fn rule_names_are_accepted_wherever_ids_are() {
    let dir = tempfile::tempdir().unwrap();
    let text = mx102_text();
    write(dir.path(), "m.yaml", &text);
    let lint = |args: &[&str]| {
        let mut all = vec!["lint", "--format", "json", "m.yaml"];
        all.extend_from_slice(args);
        let o = run_in(dir.path(), &all, None);
        let out = stdout(&o);
        let doc = if out.is_empty() {
            Value::Null
        } else {
            json(&out)
        };
        (code(&o), doc, stderr(&o))
    };
    // --suppress
    let (c, doc, _) = lint(&["--suppress", "MX101,duplicate-key=*"]);
    assert_eq!(c, 0);
    assert_eq!(doc["diagnostics"][0]["suppressed"]["kind"], "command-line");
    let (c, _, err) = lint(&["--suppress", "no-such-rule-name"]);
    assert_eq!(c, 2, "a word that is neither an ID nor a name is malformed");
    assert!(err.contains("not a rule ID or name"), "{err}");

    // A suppression comment, any case.
    let commented = text.replace(
        "  phase: PostAuthZ\n",
        "  phase: PostAuthZ # meshext-lint: ignore[Duplicate-Key] -- on purpose\n",
    );
    write(dir.path(), "m.yaml", &commented);
    let (c, doc, _) = lint(&[]);
    assert_eq!(c, 0, "{doc}");
    assert_eq!(doc["diagnostics"][0]["suppressed"]["kind"], "comment");
    assert_eq!(
        doc["diagnostics"].as_array().unwrap().len(),
        1,
        "no MX107/MX108"
    );

    // An annotation.
    let annotated = text.replace(
        "metadata: {name: auth, namespace: shop}",
        "metadata:\n  name: auth\n  namespace: shop\n  annotations: {meshext-lint.io/ignore: \"duplicate-key\"}",
    );
    write(dir.path(), "m.yaml", &annotated);
    let (c, doc, _) = lint(&[]);
    assert_eq!(c, 0, "{doc}");
    assert_eq!(doc["diagnostics"][0]["suppressed"]["kind"], "annotation");

    // Config `rules:` (severity and off) and `suppress:`.
    write(dir.path(), "m.yaml", &text);
    write(
        dir.path(),
        ".meshext-lint.yaml",
        "rules: {duplicate-key: warning}\n",
    );
    let (c, doc, _) = lint(&[]);
    assert_eq!(
        (c, doc["diagnostics"][0]["severity"].as_str()),
        (0, Some("warning"))
    );
    write(
        dir.path(),
        ".meshext-lint.yaml",
        "rules: {duplicate-key: off}\n",
    );
    let (c, doc, _) = lint(&[]);
    assert_eq!((c, doc["diagnostics"].as_array().unwrap().len()), (0, 0));
    write(
        dir.path(),
        ".meshext-lint.yaml",
        "rules: {duplicate-kee: off}\n",
    );
    let (c, _, err) = lint(&[]);
    assert_eq!(c, 2);
    assert!(
        err.contains(":1:9: unknown rule \"DUPLICATE-KEE\""),
        "{err}"
    );
    write(
        dir.path(),
        ".meshext-lint.yaml",
        "suppress: ['duplicate-key']\n",
    );
    let (c, doc, _) = lint(&[]);
    assert_eq!(c, 0);
    assert_eq!(doc["diagnostics"][0]["suppressed"]["kind"], "config");
    std::fs::remove_file(dir.path().join(".meshext-lint.yaml")).unwrap();

    // A hand-written baseline entry may name the rule.
    let o = run_in(
        dir.path(),
        &["lint", "--write-baseline", "b.json", "m.yaml"],
        None,
    );
    assert_eq!(code(&o), 0);
    let b = std::fs::read_to_string(dir.path().join("b.json")).unwrap();
    assert!(b.contains("\"MX102\""), "{b}");
    write(
        dir.path(),
        "b.json",
        &b.replace("\"MX102\"", "\"duplicate-key\""),
    );
    let (c, doc, _) = lint(&["--baseline", "b.json"]);
    assert_eq!(c, 0, "{doc}");
    assert_eq!(doc["diagnostics"][0]["suppressed"]["kind"], "baseline");

    // explain
    let o = run(&["explain", "duplicate-key"]);
    assert_eq!(code(&o), 0);
    assert!(stdout(&o).starts_with("MX102 duplicate-key"));
}

#[test]
fn docs_url_flag_overrides_config_overrides_default() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "m.yaml", &mx102_text());
    let url = |extra: &[&str]| {
        let mut all = vec!["lint", "--format", "sarif", "m.yaml"];
        all.extend_from_slice(extra);
        let o = run_in(dir.path(), &all, None);
        assert_eq!(code(&o), 1, "{}", stderr(&o));
        json(&stdout(&o))["runs"][0]["tool"]["driver"]["rules"][1]["helpUri"]
            .as_str()
            .unwrap()
            .to_string()
    };
    assert_eq!(
        url(&[]),
        "https://github.com/meshext-lint/meshext-lint/blob/main/docs/rules/MX102.md"
    );
    write(
        dir.path(),
        ".meshext-lint.yml",
        "docs-url: https://docs.example.org/meshext/v1\n",
    );
    assert_eq!(url(&[]), "https://docs.example.org/meshext/v1/MX102.md");
    assert_eq!(
        url(&["--docs-url", "https://flag.example.org/r/"]),
        "https://flag.example.org/r/MX102.md"
    );
    write(dir.path(), ".meshext-lint.yml", "docs-url: docs/rules\n");
    let o = run_in(dir.path(), &["lint", "m.yaml"], None);
    assert_eq!(code(&o), 2);
    assert!(
        stderr(&o)
            .contains(".meshext-lint.yml:1:11: docs-url \"docs/rules\": expected an absolute"),
        "{}",
        stderr(&o)
    );
}

/// Parses JUnit XML with Python's standard library (the crate has no XML parser); `None` when
/// python3 is not installed.
fn junit_testcases(xml: &str) -> Option<usize> {
    let mut child = std::process::Command::new("python3")
        .args([
            "-c",
            "import sys, xml.etree.ElementTree as E\nr = E.fromstring(sys.stdin.read())\nassert r.tag == 'testsuites', r.tag\nprint(len(r.findall('.//testcase')))",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .ok()?;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(xml.as_bytes())
        .unwrap();
    let o = child.wait_with_output().unwrap();
    assert!(
        o.status.success(),
        "JUnit XML does not parse:\n{xml}\n{}",
        stderr(&o)
    );
    Some(String::from_utf8_lossy(&o.stdout).trim().parse().unwrap())
}

#[test]
fn an_empty_directory_gives_valid_empty_output_in_every_format() {
    let dir = tempfile::tempdir().unwrap();
    let empty = dir.path().join("manifests");
    std::fs::create_dir(&empty).unwrap();
    // Something that is not a manifest does not make it non-empty.
    write(&empty, "README.md", "# nothing here\n");
    let path = empty.to_str().unwrap();
    let formats = [
        "human", "json", "sarif", "rdjson", "rdjsonl", "github", "junit", "markdown", "gitlab",
    ];
    for format in formats {
        let o = run_in(dir.path(), &["lint", "--format", format, path], None);
        assert_eq!(code(&o), 0, "{format}: {}", stderr(&o));
        assert!(
            stderr(&o).contains("warning: no .yaml, .yml or .json files"),
            "{format}: {}",
            stderr(&o)
        );
        let text = stdout(&o);
        match format {
            "human" => assert!(text.starts_with("✔ no problems found in 0 files"), "{text}"),
            "json" => {
                let d = json(&text);
                assert_eq!(d["diagnostics"], Value::Array(vec![]));
                assert_eq!(d["summary"]["files"], 0);
            }
            "sarif" => {
                let d = json(&text);
                assert_eq!(d["version"], "2.1.0");
                assert_eq!(d["runs"][0]["results"], Value::Array(vec![]));
                if let Some(v) = sarif_schema_validator("an empty directory") {
                    let errors: Vec<String> = v.iter_errors(&d).map(|e| e.to_string()).collect();
                    assert!(errors.is_empty(), "SARIF schema: {errors:?}");
                }
            }
            "rdjson" => assert_eq!(json(&text)["diagnostics"], Value::Array(vec![])),
            "rdjsonl" => assert_eq!(text, ""),
            "github" => {
                assert!(text.lines().all(|l| !l.starts_with("::error")), "{text}");
                assert!(text.contains("0 errors"), "{text}");
            }
            "junit" => {
                if let Some(n) = junit_testcases(&text) {
                    assert!(n <= 1, "{text}");
                } else {
                    eprintln!("python3 not installed: JUnit XML not parsed");
                    assert!(text.starts_with("<?xml"));
                }
            }
            "markdown" => assert!(text.starts_with("<!-- meshext-lint -->"), "{text}"),
            "gitlab" => assert_eq!(json(&text), Value::Array(vec![])),
            _ => unreachable!(),
        }
    }
    // --quiet: nothing at all.
    let o = run_in(dir.path(), &["lint", "--quiet", path], None);
    assert_eq!(
        (code(&o), stdout(&o).as_str(), stderr(&o).as_str()),
        (0, "", "")
    );
    // Other commands still need manifests.
    let o = run_in(dir.path(), &["chain", path], None);
    assert_eq!(code(&o), 2);
}
