//! The machine formats validate against the schemas of the tools that read them: reviewdog's
//! Diagnostic Format (rdjson, rdjsonl) and the JUnit XSD (SARIF is validated against the OASIS
//! schema in tests/cli_formats.rs). The third-party schemas are not committed: `.ci/run` puts
//! them in `target/format-schemas/` (`.ci/format-schemas.sh`; `MESHEXT_FORMAT_SCHEMAS` names
//! another directory), and without them these tests print what they skipped.
//!
//! Files used when present:
//! - `DiagnosticResult.json` / `DiagnosticResult.jsonschema` and `Diagnostic.json` /
//!   `Diagnostic.jsonschema`: reviewdog's own (proto/rdf/jsonschema/), placed by hand;
//! - `rdformat-validator.schema.json`: the npm package @umbrelladocs/rdformat-validator's schema
//!   (whole results and single diagnostics), fetched by `.ci/format-schemas.sh`;
//! - `junit-10.xsd`: the Jenkins/Ant JUnit XSD, from pytest's sdist; validated with `xmllint`.

mod common;

use common::*;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

fn schema_dir() -> PathBuf {
    format_schema_dir()
}

fn first_present(names: &[&str]) -> Option<PathBuf> {
    names
        .iter()
        .map(|n| schema_dir().join(n))
        .find(|p| p.is_file())
}

fn validator(path: &Path) -> jsonschema::Validator {
    let text = std::fs::read_to_string(path).unwrap();
    let schema: Value =
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: not JSON: {e}", path.display()));
    jsonschema::options()
        .build(&schema)
        .unwrap_or_else(|e| panic!("{} does not compile: {e}", path.display()))
}

fn skipped(test: &str, what: &str) {
    eprintln!(
        "skipped {test}: {what} not found in {} (run .ci/format-schemas.sh)",
        schema_dir().display()
    );
}

/// Inputs that exercise every part of the formats: many rules, a clean mesh, an empty file,
/// and a suppressed finding with related locations and non-ASCII text.
fn inputs(dir: &Path) -> Vec<String> {
    // (An empty directory is issue 15 point 7's, pending: a usage error today.)
    let empty = write(dir, "empty.yaml", "# nothing here\n");
    let mixed = write(
        dir,
        "mixed.yaml",
        "apiVersion: maistra.io/v1\nkind: ServiceMeshExtension\nmetadata: {name: ext, namespace: shop}\nspec:\n  phase: PostAuthZ\n  phase: PreAuthN # meshext-lint: ignore[MX102] -- kept on purpose\n  image: quay.io/é/x:latest\n  config: {}\n---\napiVersion: maistra.io/v1\nkind: ServiceMeshExtension\nmetadata: {name: two, namespace: shop}\nspec:\n  image: quay.io/a/b:1\n  image: quay.io/a/b:2\n  phase: PostAuthZ\n",
    );
    vec![
        "samples/broken".into(),
        "samples/mesh".into(),
        empty.to_string_lossy().into_owned(),
        mixed.to_string_lossy().into_owned(),
    ]
}

fn lint(format: &str, input: &str) -> String {
    let out = run(&["lint", "--format", format, "--no-config", input]);
    assert!(
        matches!(out.status.code(), Some(0 | 1)),
        "lint --format {format} {input}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn violations(v: &jsonschema::Validator, doc: &Value) -> Vec<String> {
    v.iter_errors(doc)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect()
}

#[test]
fn rdjson_matches_the_reviewdog_schema() {
    let schemas: Vec<PathBuf> = [
        first_present(&["DiagnosticResult.json", "DiagnosticResult.jsonschema"]),
        first_present(&["rdformat-validator.schema.json"]),
    ]
    .into_iter()
    .flatten()
    .collect();
    if schemas.is_empty() {
        return skipped("rdjson_matches_the_reviewdog_schema", "an rdjson schema");
    }
    let dir = tempfile::tempdir().unwrap();
    let docs: Vec<(String, Value)> = inputs(dir.path())
        .iter()
        .map(|i| (i.clone(), serde_json::from_str(&lint("rdjson", i)).unwrap()))
        .collect();
    assert!(docs[0].1["diagnostics"].as_array().unwrap().len() > 20);
    for schema in schemas {
        let v = validator(&schema);
        for (input, doc) in &docs {
            let errs = violations(&v, doc);
            assert!(
                errs.is_empty(),
                "{} on rdjson of {input}:\n{}",
                schema.display(),
                errs.join("\n")
            );
        }
    }
}

#[test]
fn rdjsonl_lines_match_the_reviewdog_schema() {
    let schemas: Vec<PathBuf> = [
        first_present(&["Diagnostic.json", "Diagnostic.jsonschema"]),
        first_present(&["rdformat-validator.schema.json"]),
    ]
    .into_iter()
    .flatten()
    .collect();
    if schemas.is_empty() {
        return skipped(
            "rdjsonl_lines_match_the_reviewdog_schema",
            "an rdjson diagnostic schema",
        );
    }
    let dir = tempfile::tempdir().unwrap();
    let mut lines = Vec::new();
    for input in inputs(dir.path()) {
        for line in lint("rdjsonl", &input).lines() {
            lines.push((input.clone(), serde_json::from_str::<Value>(line).unwrap()));
        }
    }
    assert!(lines.len() > 20);
    for schema in schemas {
        let v = validator(&schema);
        for (input, doc) in &lines {
            let errs = violations(&v, doc);
            assert!(
                errs.is_empty(),
                "{} on an rdjsonl line of {input}:\n{}\n{doc}",
                schema.display(),
                errs.join("\n")
            );
        }
    }
}

/// The schemas are not vacuous: output with a broken shape is rejected by each.
#[test]
fn the_rdjson_schemas_reject_a_broken_document() {
    let schemas: Vec<PathBuf> = [
        first_present(&["DiagnosticResult.json", "DiagnosticResult.jsonschema"]),
        first_present(&["rdformat-validator.schema.json"]),
    ]
    .into_iter()
    .flatten()
    .collect();
    if schemas.is_empty() {
        return skipped(
            "the_rdjson_schemas_reject_a_broken_document",
            "an rdjson schema",
        );
    }
    let mut doc: Value = serde_json::from_str(&lint("rdjson", "samples/broken")).unwrap();
    doc["diagnostics"][0]["location"]["range"]["start"]["line"] = Value::from("one");
    for schema in schemas {
        let v = validator(&schema);
        assert!(
            !violations(&v, &doc).is_empty(),
            "{} accepts a string line",
            schema.display()
        );
    }
}

fn xmllint() -> bool {
    Command::new("xmllint")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

#[test]
fn junit_matches_the_junit_xsd() {
    let Some(xsd) = first_present(&["junit-10.xsd"]) else {
        return skipped("junit_matches_the_junit_xsd", "junit-10.xsd");
    };
    if !xmllint() {
        eprintln!("skipped junit_matches_the_junit_xsd: xmllint is not installed (libxml2-utils)");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    for (i, input) in inputs(dir.path()).iter().enumerate() {
        let path = dir.path().join(format!("junit-{i}.xml"));
        std::fs::write(&path, lint("junit", input)).unwrap();
        let out = Command::new("xmllint")
            .arg("--noout")
            .arg("--schema")
            .arg(&xsd)
            .arg(&path)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "JUnit of {input} does not validate:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    // And the XSD is not vacuous.
    let bad = dir.path().join("bad.xml");
    std::fs::write(&bad, "<testsuites><testcase/></testsuites>").unwrap();
    let out = Command::new("xmllint")
        .args(["--noout", "--schema"])
        .arg(&xsd)
        .arg(&bad)
        .output()
        .unwrap();
    assert!(
        !out.status.success(),
        "the XSD accepts a testcase outside a testsuite"
    );
}
