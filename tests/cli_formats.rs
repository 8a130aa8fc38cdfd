//! Output formats for bots and CI: SARIF (validated against the OASIS schema), rdjson/rdjsonl,
//! GitHub annotations, JUnit, Markdown and GitLab; output threshold vs. exit code.

mod common;
use common::*;
use serde_json::Value;
use std::sync::OnceLock;

fn out(args: &[&str]) -> (i32, String) {
    let o = run(args);
    (
        o.status.code().expect("exit code"),
        String::from_utf8(o.stdout).expect("UTF-8 output"),
    )
}

fn sarif_validator() -> Option<&'static jsonschema::Validator> {
    static V: OnceLock<Option<jsonschema::Validator>> = OnceLock::new();
    V.get_or_init(|| sarif_schema_validator("tests/cli_formats.rs"))
        .as_ref()
}

/// Checks `doc` against the OASIS schema when it was fetched (`.ci/format-schemas.sh`).
fn assert_valid_sarif(doc: &Value) {
    let Some(v) = sarif_validator() else { return };
    let errors: Vec<String> = v
        .iter_errors(doc)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(
        errors.is_empty(),
        "SARIF schema violations:\n{}",
        errors.join("\n")
    );
}

/// A file with a suppressed finding, a non-ASCII line and a finding with related locations.
fn mixed_input(dir: &std::path::Path) -> String {
    write(
        dir,
        "mixed.yaml",
        "apiVersion: maistra.io/v1\nkind: ServiceMeshExtension\nmetadata: {name: ext, namespace: shop}\nspec:\n  phase: PostAuthZ\n  phase: PreAuthN # meshext-lint: ignore[MX102] -- kept on purpose\n  image: quay.io/é/x:latest\n  config: {}\n---\napiVersion: maistra.io/v1\nkind: ServiceMeshExtension\nmetadata: {name: two, namespace: shop}\nspec:\n  image: quay.io/a/b:1\n  image: quay.io/a/b:2\n  phase: PostAuthZ\n",
    )
    .to_string_lossy()
    .into_owned()
}

#[test]
fn sarif_is_valid_and_complete() {
    let dir = tempfile::tempdir().unwrap();
    let input = mixed_input(dir.path());
    let (code, text) = out(&[
        "lint",
        "--format",
        "sarif",
        "--suppress",
        "MX999=*",
        &input,
        "samples/broken",
    ]);
    assert_eq!(code, 1);
    let doc: Value = serde_json::from_str(&text).unwrap();
    assert_valid_sarif(&doc);
    // The validator really checks: a wrong level and a missing message are caught.
    let mut broken = doc.clone();
    broken["runs"][0]["results"][0]["level"] = "fatal".into();
    broken["runs"][0]["results"][1]
        .as_object_mut()
        .unwrap()
        .remove("message");
    if let Some(v) = sarif_validator() {
        assert_eq!(v.iter_errors(&broken).count(), 2);
    }
    let run = &doc["runs"][0];
    let rules = run["tool"]["driver"]["rules"].as_array().unwrap();
    assert_eq!(rules.len(), meshext_lint::rules::all().len());
    for r in rules {
        let id = r["id"].as_str().unwrap();
        let url =
            format!("https://github.com/meshext-lint/meshext-lint/blob/main/docs/rules/{id}.md");
        assert_eq!(r["helpUri"], url.as_str());
        assert!(r["help"]["markdown"].as_str().unwrap().contains(&url));
        for k in ["shortDescription", "fullDescription", "help"] {
            let t = r[k]["text"].as_str().unwrap();
            assert!(!t.is_empty() && t.len() <= 1024, "{id}.{k}");
        }
    }
    let results = run["results"].as_array().unwrap();
    // Repository-relative URIs, ruleIndex consistent with the rules array.
    for res in results {
        if let Some(uri) =
            res["locations"][0]["physicalLocation"]["artifactLocation"]["uri"].as_str()
        {
            // Files outside the repository (the temporary input) get absolute file URIs.
            assert!(!uri.starts_with('/'), "{uri}");
            assert!(
                !uri.starts_with("file:") || uri.contains("mixed.yaml"),
                "{uri}"
            );
        }
        let i = res["ruleIndex"].as_u64().unwrap() as usize;
        assert_eq!(rules[i]["id"], res["ruleId"]);
        assert!(res["partialFingerprints"]["primaryLocationLineHash"].is_string());
    }
    let suppressed: Vec<_> = results
        .iter()
        .filter(|r| r.get("suppressions").is_some())
        .collect();
    assert_eq!(suppressed.len(), 1);
    assert_eq!(suppressed[0]["ruleId"], "MX102");
    assert_eq!(suppressed[0]["suppressions"][0]["kind"], "inSource");
    assert_eq!(
        suppressed[0]["suppressions"][0]["justification"],
        "kept on purpose"
    );
    // The unknown rule in --suppress has no place in a file: a tool notification.
    assert!(
        run["invocations"][0]["toolExecutionNotifications"]
            .as_array()
            .unwrap()
            .iter()
            .any(|n| n["descriptor"]["id"] == "MX107"),
        "unknown rule in --suppress"
    );
    assert!(results.iter().any(|r| r.get("relatedLocations").is_some()));
    let uris: Vec<_> = results
        .iter()
        .filter_map(|r| r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"].as_str())
        .collect();
    assert!(uris.contains(&"samples/broken/MX306.yaml"), "{uris:?}");
}

#[test]
fn sarif_uris_are_relative_to_the_repository_not_the_working_directory() {
    let o = bin()
        .current_dir(root().join("tests"))
        .args(["lint", "--format", "sarif", "../samples/broken/MX306.yaml"])
        .output()
        .unwrap();
    let doc: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_valid_sarif(&doc);
    let loc = &doc["runs"][0]["results"][0]["locations"][0]["physicalLocation"];
    assert_eq!(loc["artifactLocation"]["uri"], "samples/broken/MX306.yaml");
    assert_eq!(loc["region"]["startLine"], 32);
    assert_eq!(loc["region"]["startColumn"], 13);
}

#[test]
fn sarif_fingerprints_survive_edits_above() {
    let dir = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(root().join("samples/broken/MX306.yaml")).unwrap();
    let a = write(dir.path(), "a.yaml", &text);
    let fp = |p: &std::path::Path| {
        let (_, s) = out(&["lint", "--format", "sarif", p.to_str().unwrap()]);
        let doc: Value = serde_json::from_str(&s).unwrap();
        let r = &doc["runs"][0]["results"][0];
        (
            r["partialFingerprints"].clone(),
            r["locations"][0]["physicalLocation"]["region"]["startLine"].clone(),
        )
    };
    let (before, line_before) = fp(&a);
    write(
        dir.path(),
        "a.yaml",
        &format!("# a new comment\n# and another\n{text}"),
    );
    let (after, line_after) = fp(&a);
    assert_eq!(before, after);
    assert_ne!(line_before, line_after);
}

#[test]
fn rdjson_columns_are_utf8_bytes_with_exclusive_end() {
    let dir = tempfile::tempdir().unwrap();
    let input = mixed_input(dir.path());
    let (_, text) = out(&["lint", "--format", "rdjson", &input]);
    let doc: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(doc["source"]["name"], "meshext-lint");
    let diags = doc["diagnostics"].as_array().unwrap();
    assert!(
        diags
            .iter()
            .all(|d| d["location"]["range"]["start"]["line"] != 6),
        "the suppressed MX102 on line 6 is left out"
    );
    assert!(
        diags.iter().any(|d| d["code"]["value"] == "MX102"),
        "the other MX102 is there"
    );
    let latest = diags
        .iter()
        .find(|d| d["code"]["value"] == "MX304")
        .expect("MX304");
    // `  image: quay.io/é/x:latest`: the value starts at byte column 10 and is 18 characters
    // but 19 bytes (`é`), so the exclusive end is byte column 29 (character column 28).
    let range = &latest["location"]["range"];
    assert_eq!(range["start"], serde_json::json!({"line": 7, "column": 10}));
    assert_eq!(range["end"], serde_json::json!({"line": 7, "column": 29}));
    let (_, json) = lint_json(&[&input]);
    let d = json["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["rule"] == "MX304")
        .unwrap();
    assert_eq!(
        (&d["column"], &d["end_column"]),
        (&serde_json::json!(10), &serde_json::json!(28))
    );
    assert_eq!(latest["severity"], "WARNING");
    // rdjsonl: the same diagnostics, one per line.
    let (_, lines) = out(&["lint", "--format", "rdjsonl", &input]);
    let parsed: Vec<Value> = lines
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(parsed.len(), diags.len());
}

#[test]
fn github_annotations_are_capped_with_a_summary() {
    let dir = tempfile::tempdir().unwrap();
    let mut text = String::new();
    for i in 0..12 {
        text.push_str(&format!("apiVersion: maistra.io/v1\nkind: ServiceMeshExtension\nmetadata: {{name: e{i}, namespace: shop}}\nspec:\n  phase: PostAuthZ\n  phase: PostAuthZ\n  image: quay.io/a/b:1\n  config: {{}}\n---\n"));
    }
    let p = write(dir.path(), "many.yaml", &text);
    let (code, out_text) = out(&["lint", "--format", "github", p.to_str().unwrap()]);
    assert_eq!(code, 1);
    let errors = out_text
        .lines()
        .filter(|l| l.starts_with("::error "))
        .count();
    assert_eq!(errors, 10);
    assert!(out_text.contains("::error file=") && out_text.contains("title=MX102 duplicate-key::"));
    let last = out_text.lines().last().unwrap();
    assert!(last.contains("12 errors"), "{last}");
    assert!(
        last.contains("2 findings not shown as annotations"),
        "{last}"
    );
}

#[test]
fn junit_and_gitlab_and_markdown() {
    let dir = tempfile::tempdir().unwrap();
    let input = mixed_input(dir.path());
    let (code, xml) = out(&["lint", "--format", "junit", &input]);
    assert_eq!(code, 1);
    assert!(xml.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites"));
    assert!(xml.contains("<failure type=\"error\""));
    assert!(xml.contains("<skipped message=\"kept on purpose\"/>"));
    assert_eq!(
        xml.matches("<testcase ").count(),
        xml.matches("</testcase>").count()
    );
    let (_, clean) = out(&["lint", "--format", "junit", "samples/mesh"]);
    assert!(clean.contains("failures=\"0\""), "{clean}");

    let (_, gl) = out(&["lint", "--format", "gitlab", &input]);
    let issues: Vec<Value> = serde_json::from_str(&gl).unwrap();
    assert!(!issues.is_empty());
    let mut fps: Vec<_> = issues
        .iter()
        .map(|i| i["fingerprint"].as_str().unwrap())
        .collect();
    let n = fps.len();
    fps.dedup();
    assert_eq!(fps.len(), n, "fingerprints must be unique");
    assert!(issues
        .iter()
        .all(|i| i["location"]["lines"]["begin"].as_u64().unwrap() >= 1));

    let (_, md) = out(&[
        "lint",
        "--format",
        "markdown",
        &input,
        "samples/broken/MX306.yaml",
    ]);
    assert!(
        md.starts_with("<!-- meshext-lint -->\n### ❌ meshext-lint:"),
        "{md}"
    );
    assert!(md.contains("| Severity | Findings |"));
    assert!(
        md.contains(
            "<details open>\n<summary><code>samples/broken/MX306.yaml</code> — 1 warning</summary>"
        ) || md.contains(
            "<details>\n<summary><code>samples/broken/MX306.yaml</code> — 1 warning</summary>"
        ),
        "{md}"
    );
    assert!(md.contains("[`MX306`][MX306]"));
    assert!(md.contains(
        "\n[MX306]: https://github.com/meshext-lint/meshext-lint/blob/main/docs/rules/MX306.md\n"
    ));
    assert!(md.contains("_(suppressed by comment: kept on purpose)_"));
    assert!(md.len() < 65_536);
    let (_, ok) = out(&["lint", "--format", "markdown", "samples/mesh"]);
    assert!(ok.contains("no problems found"), "{ok}");
}

#[test]
fn exit_codes_do_not_depend_on_format_or_output_threshold() {
    let dir = tempfile::tempdir().unwrap();
    let input = mixed_input(dir.path());
    let formats = [
        "human", "json", "sarif", "rdjson", "rdjsonl", "github", "junit", "markdown", "gitlab",
    ];
    for f in formats {
        assert_eq!(out(&["lint", "--format", f, &input]).0, 1, "{f}");
        assert_eq!(
            out(&[
                "lint",
                "--format",
                f,
                "--output-threshold",
                "error",
                "--fail-on",
                "none",
                &input
            ])
            .0,
            0,
            "{f}"
        );
        // Showing only errors does not hide warnings from --fail-on warning.
        let w = "samples/broken/MX306.yaml";
        assert_eq!(
            out(&[
                "lint",
                "--format",
                f,
                "--output-threshold",
                "error",
                "--fail-on",
                "warning",
                w
            ])
            .0,
            1,
            "{f}"
        );
    }
    let (_, json) = lint_json(&["--output-threshold", "error", "samples/broken/MX306.yaml"]);
    assert_eq!(json["diagnostics"].as_array().unwrap().len(), 0);
}

/// GitHub code scanning rejects SARIF results without a location: findings about the run
/// itself go to `toolExecutionNotifications`, and the document stays valid.
#[test]
fn sarif_findings_without_a_location_are_notifications() {
    let (code, text) = out(&[
        "lint",
        "--format",
        "sarif",
        "--suppress",
        "MX777",
        "samples/mesh",
    ]);
    assert_eq!(code, 0, "{text}");
    let doc: Value = serde_json::from_str(&text).unwrap();
    assert_valid_sarif(&doc);
    let run = &doc["runs"][0];
    for r in run["results"].as_array().unwrap() {
        assert!(!r["locations"].as_array().unwrap().is_empty(), "{r}");
    }
    let notes = run["invocations"][0]["toolExecutionNotifications"]
        .as_array()
        .unwrap();
    assert_eq!(notes.len(), 1, "{notes:?}");
    assert_eq!(notes[0]["descriptor"]["id"], "MX107");
    assert!(notes[0]["message"]["text"]
        .as_str()
        .unwrap()
        .contains("MX777"));
}

#[test]
fn malformed_suppressions_are_usage_errors() {
    for bad in ["garbage==", "=shop/*", "MX30x=*"] {
        let (code, _) = out(&["lint", "--suppress", bad, "samples/mesh"]);
        assert_eq!(code, 2, "{bad}");
    }
}

/// Every format's summary counts what decides the exit code, hidden findings included.
#[test]
fn summaries_agree_with_the_exit_code() {
    let w = "samples/broken/MX306.yaml";
    let args = |f: &'static str| {
        [
            "lint",
            "--format",
            f,
            "--output-threshold",
            "error",
            "--fail-on",
            "warning",
            w,
        ]
    };
    let (code, human) = out(&args("human"));
    assert_eq!(code, 1);
    assert!(!human.contains("no problems found"), "{human}");
    assert!(human.starts_with("✘ 0 errors, 1 warning"), "{human}");
    assert!(human.contains("1 hidden by --output-threshold"), "{human}");
    let (_, json) = out(&args("json"));
    let json: Value = serde_json::from_str(&json).unwrap();
    assert_eq!(json["summary"]["warnings"], 1);
    assert_eq!(json["summary"]["hidden"], 1);
    assert_eq!(json["summary"]["failed"], true);
    let (_, sarif) = out(&args("sarif"));
    let sarif: Value = serde_json::from_str(&sarif).unwrap();
    assert_valid_sarif(&sarif);
    assert_eq!(sarif["runs"][0]["properties"]["summary"]["hidden"], 1);
    let (_, md) = out(&args("markdown"));
    assert!(md.contains("meshext-lint: 0 errors, 1 warning"), "{md}");
    assert!(
        md.contains("| Hidden by `--output-threshold` | 1 |"),
        "{md}"
    );
    let (_, junit) = out(&args("junit"));
    assert!(junit.contains("failures=\"1\""), "{junit}");
    assert!(
        junit.contains("1 finding hidden by --output-threshold"),
        "{junit}"
    );
    let (_, gh) = out(&args("github"));
    assert!(gh.contains("1 warning") && gh.contains("1 hidden"), "{gh}");
    // Passing with findings: not ✘.
    let (code, human) = out(&["lint", "--fail-on", "error", w]);
    assert_eq!(code, 0);
    assert!(human.contains("✔ 0 errors, 1 warning"), "{human}");
}

/// Control characters from manifests (ESC, BEL, CR, NUL in a value; raw ESC in a comment
/// on a CRLF line; ESC in the file name) never reach a text format raw: they are rendered `\u{1b}`.
#[test]
fn control_characters_are_escaped_in_text_formats() {
    let dir = tempfile::tempdir().unwrap();
    let name = "c\u{1b}x.yaml";
    let file = write(
        dir.path(),
        name,
        "apiVersion: maistra.io/v1\nkind: ServiceMeshExtension\nmetadata: {name: ext, namespace: shop}\nspec:\n  phase: \"P\\e]0;x\\a\\r\\0Z\" # \u{1b}[2J!\r\n  image: quay.io/a/b:1\n  config: {}\n",
    );
    let file = file.to_str().unwrap();
    let shown = file.replace('\u{1b}', "\\u{1b}");
    let bytes = |f: &str| run(&["lint", "--no-config", "--format", f, file]).stdout;
    let clean = |out: &[u8]| {
        assert!(
            !out.iter().any(|&b| b < 0x20 && b != b'\n'),
            "raw control byte in {}",
            String::from_utf8_lossy(out)
        )
    };
    let msg = "phase `P\\u{1b}]0;x\\u{7}\\u{d}\\u{0}Z` is not one of the six phases";
    let human = bytes("human");
    clean(&human);
    let human = String::from_utf8(human).unwrap();
    assert!(human.contains(&format!("error[MX301]: {msg}: ")), "{human}");
    assert!(human.contains(&format!("  ┌─ {shown}:5:10\n")), "{human}");
    assert!(
        human.contains(
            "5 │   phase: \"P\\e]0;x\\a\\r\\0Z\" # \\u{1b}[2J!\n  │          ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^\n"
        ),
        "{human}"
    );
    let gh = bytes("github");
    clean(&gh);
    let gh = String::from_utf8(gh).unwrap();
    let prop = shown.replace(':', "%3A").replace(',', "%2C");
    assert!(
        gh.contains(&format!(
            "::error file={prop},line=5,endLine=5,col=10,endColumn=34,title=MX301 unknown-phase::{msg}: "
        )),
        "{gh}"
    );
    let junit = bytes("junit");
    clean(&junit);
    let junit = String::from_utf8(junit).unwrap();
    assert!(
        junit.contains("message=\"phase `P\\u{1b}]0;x\\u{7}&#13;\\u{0}Z` is not"),
        "{junit}"
    );
    let md = bytes("markdown");
    clean(&md);
    let md = String::from_utf8(md).unwrap();
    assert!(md.contains(&format!(" line 5: {msg}: ")), "{md}");
    assert!(md.contains(&format!("<code>{shown}</code>")), "{md}");
}

/// Rule links are absolute, built from `--docs-url` (default: the project's repository), in
/// SARIF (`helpUri`, `informationUri`), rdjson (`code.url`, with `related_locations`),
/// Markdown and JSON.
#[test]
fn rule_links_follow_docs_url() {
    let dir = tempfile::tempdir().unwrap();
    let input = mixed_input(dir.path());
    let base = "https://docs.example.com/meshext/rules";
    let (_, text) = out(&["lint", "--format", "sarif", "--docs-url", base, &input]);
    let doc: Value = serde_json::from_str(&text).unwrap();
    assert_valid_sarif(&doc);
    let driver = &doc["runs"][0]["tool"]["driver"];
    assert_eq!(
        driver["informationUri"],
        "https://github.com/meshext-lint/meshext-lint"
    );
    let first = &driver["rules"][0];
    assert_eq!(
        first["helpUri"],
        format!("{base}/{}.md", first["id"].as_str().unwrap())
    );
    let (_, text) = out(&["lint", "--format", "rdjson", "--docs-url", base, &input]);
    let doc: Value = serde_json::from_str(&text).unwrap();
    let diags = doc["diagnostics"].as_array().unwrap();
    for d in diags {
        assert_eq!(
            d["code"]["url"],
            format!("{base}/{}.md", d["code"]["value"].as_str().unwrap())
        );
    }
    let related = diags
        .iter()
        .find(|d| d["related_locations"].is_array())
        .expect("a finding with related locations");
    let r = &related["related_locations"][0];
    assert!(
        r["message"].is_string() && r["location"]["path"].is_string(),
        "{r}"
    );
    assert!(r["location"]["range"]["start"]["line"].is_u64(), "{r}");
    let (_, md) = out(&["lint", "--format", "markdown", "--docs-url", base, &input]);
    assert!(
        md.contains(&format!("\n[MX102]: {base}/MX102.md\n")),
        "{md}"
    );
    let (_, json) = lint_json(&["--docs-url", "file:///srv/rules/", &input]);
    assert_eq!(json["tool"]["docs_url"], "file:///srv/rules/");
    let bad = run(&["lint", "--docs-url", "docs/rules", &input]);
    assert_eq!(bad.status.code(), Some(2));
}

/// `chain`'s text formats and usage errors never pass control characters from the inputs to
/// the terminal raw (JSON escapes them itself).
#[test]
fn chain_text_formats_and_errors_escape_control_characters() {
    let dir = tempfile::tempdir().unwrap();
    let mesh = write(
        dir.path(),
        "mesh.yaml",
        "apiVersion: maistra.io/v1\nkind: ServiceMeshExtension\nmetadata:\n  name: \"a\\e[2Jb\"\n  namespace: shop\nspec:\n  image: quay.io/x/y:1\n  phase: PostAuthZ\n  workloadSelector:\n    labels:\n      app: web\n---\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: \"web\\e]0;title\\a\"\n  namespace: shop\nspec:\n  template:\n    metadata:\n      labels:\n        app: web\n",
    );
    let mesh = mesh.to_str().unwrap();
    for format in ["human", "dot", "mermaid", "markdown", "json"] {
        let out = run(&["chain", mesh, "--format", format]);
        assert_eq!(out.status.code(), Some(0), "{format}");
        let text = String::from_utf8(out.stdout).unwrap();
        assert!(text.contains("web"), "{format}: {text}");
        assert!(
            !text.chars().any(|c| c == '\u{1b}' || c == '\u{7}'),
            "{format}: raw control character in {text:?}"
        );
        if format != "json" {
            assert!(
                text.contains("web\\u{1b}]0;title\\u{7}"),
                "{format}: {text}"
            );
        }
    }
    let out = run(&["chain", "no-such-\u{1b}[31m-dir"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(
        !err.contains('\u{1b}') && err.contains("\\u{1b}"),
        "{err:?}"
    );
}
