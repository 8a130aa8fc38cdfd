//! The editor schemas in `schemas/` (for yaml-language-server and VS Code): every configuration
//! and scenario in the repository validates, files the loaders reject are rejected by the
//! schemas too, and the schemas name exactly the keys the typed loaders accept (taken from
//! the loaders' own "unknown key … expected one of" errors, so a new field fails this test
//! until the schema has it).

mod common;

use common::root;
use meshext_lint::load::yaml;
use serde_json::Value;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

fn schema(name: &str) -> Value {
    let path = root().join("schemas").join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{name}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn validator(name: &str) -> jsonschema::Validator {
    jsonschema::options()
        .build(&schema(name))
        .unwrap_or_else(|e| panic!("{name} does not compile: {e}"))
}

fn config_schema() -> jsonschema::Validator {
    validator("meshext-lint.schema.json")
}

fn scenario_schema() -> jsonschema::Validator {
    validator("scenario.schema.json")
}

/// YAML as JSON, the way the loaders see its types.
fn to_json(what: &str, text: &str) -> Value {
    let parsed = yaml::parse(text, yaml::Limits::default());
    if let Some(e) = parsed.error {
        panic!("{what}: invalid YAML: {}", e.message);
    }
    parsed
        .docs
        .into_iter()
        .next()
        .and_then(|d| d.root)
        .map_or(Value::Null, |r| r.to_json())
}

fn errors(v: &jsonschema::Validator, doc: &Value) -> Vec<String> {
    v.iter_errors(doc)
        .map(|e| format!("{}: {}", e.instance_path(), e))
        .collect()
}

fn config_accepted(text: &str) -> Result<(), String> {
    meshext_lint::config::parse(".meshext-lint.yaml", text, Path::new("."))
        .map(|_| ())
        .map_err(|e| e.to_string())
}

fn scenario_accepted(text: &str) -> Result<(), String> {
    meshext_lint::simulate::scenario::parse_scenario("scenario.yaml", text)
        .map(|_| ())
        .map_err(|e| e.to_string())
}

/// Fenced ```yaml blocks of a Markdown file.
fn yaml_blocks(markdown: &str) -> Vec<String> {
    let mut blocks = Vec::new();
    let mut current: Option<String> = None;
    for line in markdown.lines() {
        match &mut current {
            None if line.trim_start().starts_with("```yaml") => current = Some(String::new()),
            Some(b) if line.trim_start().starts_with("```") => {
                blocks.push(std::mem::take(b));
                current = None;
            }
            Some(b) => {
                b.push_str(line);
                b.push('\n');
            }
            None => {}
        }
    }
    blocks
}

/// Every YAML file under the repository (outside target/ and .git/).
fn repo_yaml_files() -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![root()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            if path.is_dir() {
                if !matches!(name.as_str(), "target" | ".git" | "node_modules" | "vendor") {
                    stack.push(path);
                }
            } else if name.ends_with(".yaml") || name.ends_with(".yml") {
                out.push(path);
            }
        }
    }
    out.sort();
    out
}

/// The scenarios in the repository: files under a `scenarios` or `scenario` directory.
fn scenario_files() -> Vec<PathBuf> {
    repo_yaml_files()
        .into_iter()
        .filter(|p| {
            p.parent()
                .and_then(Path::file_name)
                .is_some_and(|d| d == "scenarios" || d == "scenario")
        })
        .collect()
}

/// Configurations in the repository: `.meshext-lint.y*ml` files and fixtures under
/// `tests/fixtures/config/`.
fn config_files() -> Vec<PathBuf> {
    repo_yaml_files()
        .into_iter()
        .filter(|p| {
            let name = p.file_name().unwrap().to_string_lossy();
            name.starts_with(".meshext-lint.")
                || p.parent()
                    .is_some_and(|d| d.ends_with("tests/fixtures/config"))
        })
        .collect()
}

fn rel(p: &Path) -> String {
    p.strip_prefix(root()).unwrap_or(p).display().to_string()
}

#[test]
fn every_configuration_in_the_repository_validates() {
    let v = config_schema();
    let mut checked = 0;
    let mut docs: Vec<(String, String)> = config_files()
        .iter()
        .map(|p| (rel(p), std::fs::read_to_string(p).unwrap()))
        .collect();
    let guide = std::fs::read_to_string(root().join("docs/configuration.md")).unwrap();
    docs.extend(
        yaml_blocks(&guide)
            .into_iter()
            .enumerate()
            .map(|(i, b)| (format!("docs/configuration.md block {}", i + 1), b)),
    );
    let mut from_docs = 0;
    for (name, text) in docs {
        // Only what the loader takes is a configuration (the docs also show other YAML).
        if let Err(e) = config_accepted(&text) {
            assert!(
                name.starts_with("docs/"),
                "{name} is rejected by the loader: {e}"
            );
            continue;
        }
        let errs = errors(&v, &to_json(&name, &text));
        assert!(errs.is_empty(), "{name}: {errs:#?}");
        checked += 1;
        from_docs += usize::from(name.starts_with("docs/"));
    }
    assert!(checked >= 3, "only {checked} configurations found");
    assert!(
        from_docs >= 1,
        "the example in docs/configuration.md is not a valid configuration"
    );
}

#[test]
fn every_scenario_in_the_repository_validates() {
    let v = scenario_schema();
    let files = scenario_files();
    assert!(files.len() >= 4, "{files:?}");
    for path in files {
        let name = rel(&path);
        let text = std::fs::read_to_string(&path).unwrap();
        scenario_accepted(&text).unwrap_or_else(|e| panic!("{name}: loader: {e}"));
        let errs = errors(&v, &to_json(&name, &text));
        assert!(errs.is_empty(), "{name}: {errs:#?}");
    }
    let doc = std::fs::read_to_string(root().join("docs/scenarios.md")).unwrap();
    let blocks = yaml_blocks(&doc);
    assert!(!blocks.is_empty());
    // The first block is the reference example: the reader must take it.
    scenario_accepted(&blocks[0]).unwrap_or_else(|e| panic!("docs/scenarios.md example: {e}"));
    for (i, b) in blocks.iter().enumerate() {
        if scenario_accepted(b).is_ok() {
            let errs = errors(&v, &to_json("docs/scenarios.md", b));
            assert!(
                errs.is_empty(),
                "docs/scenarios.md block {}: {errs:#?}",
                i + 1
            );
        }
    }
}

/// Files the loaders reject are flagged in the editor too.
#[test]
fn invalid_configurations_are_rejected_by_schema_and_loader() {
    let v = config_schema();
    for text in [
        "fail-on: warn\n",
        "bogus: 1\n",
        "rules: {MX301: loud}\n",
        "rules: {MX301: true}\n",
        "rules: {not-an-id: off}\n",
        "simulate: {memory-mib: 5000}\n",
        "simulate: {fuel: 0}\n",
        "simulate: {threads: 2}\n",
        "images: images/\n",
        "mesh-version: 2.1\n",
        "mesh-version: latest\n",
        "output-threshold: none\n",
        "- a list\n",
    ] {
        assert!(
            config_accepted(text).is_err(),
            "the loader accepts {text:?}"
        );
        let errs = errors(&v, &to_json(text, text));
        assert!(!errs.is_empty(), "the schema accepts {text:?}");
    }
}

#[test]
fn invalid_scenarios_are_rejected_by_schema_and_loader() {
    let v = scenario_schema();
    for text in [
        "workload: shop/web\n",
        "requests: [{bogus: 1}]\n",
        "requests: [{request: {body: a, chunks: [b]}}]\n",
        "requests: [{upstream: {status: 42}}]\n",
        "requests: [{advance: soon}]\n",
        "requests: [{http_calls: [{path: /x}]}]\n",
        "requests: [{expect: {stauts: 200}}]\n",
        "requests: [{request: {headers: [a, b]}}]\n",
        "requests: {name: a}\n",
        "requests: [{advance: 1s, expect: {status: 200}}]\n",
        "requests: [{expect: {logs: [{level: loud}]}}]\n",
        "requests: [{expect: {no_logs: [{message: a, regex: b}]}}]\n",
        "requests: [{expect: {logs_exact: [{lvl: info}]}}]\n",
        "startup: {zzz: 1}\nrequests: []\n",
        "startup: {tick_period: soon}\nrequests: []\n",
        "requests: [{expect: {calls: [{count: -1}]}}]\n",
        "requests: [{expect: {metrics: {m: {type: meter}}}}]\n",
        "requests: [{upstream: {body: a, chunks: [b]}}]\n",
        "requests: [{advance: 1s, expect: {response_trailers: {a: b}}}]\n",
        "vm_config: ~\nrequests: []\n",
        "vm_id: [a]\nrequests: []\n",
        "requests: [{grpc_calls: [{method: m}]}]\n",
        "requests: [{grpc_calls: [{service: s, response: {status: 17}}]}]\n",
        "requests: [{grpc_calls: [{service: s, response: {close: later}}]}]\n",
        "requests: [{grpc_calls: [{service: s, response: {messages: [{base64: '!!'}]}}]}]\n",
        "requests: [{expect: {grpc_calls: [{count: -1}]}}]\n",
        "requests: [{expect: {callbacks: [{callback: on_reqest_headers}]}}]\n",
        "requests: [{expect: {callbacks: [{callback: on_log, result: Paused}]}}]\n",
        "requests: [{expect: {callbacks: [{filter: f}]}}]\n",
        "connections: [{events: [{}]}]\n",
        "connections: [{events: [{downstream: a, upstream: b}]}]\n",
        "connections: [{events: [{close: left}]}]\n",
        "connections: [{expect: {closed_by: me}}]\n",
        "connections: {name: a}\n",
        "requests: [{grpc_calls: [{service: s, delay: soon}]}]\n",
        "connections: [{events: [{close: upstream, end_stream: true}]}]\n",
        "connections: [{events: [{advance: soon}]}]\n",
        "startup: {grpc_calls_made: [{count: -1}]}\nrequests: []\n",
        "requests: [{http_calls: [{cluster: c, delay: soon}]}]\n",
        "startup: {http_calls_made: [{count: -1}]}\nrequests: []\n",
    ] {
        assert!(
            scenario_accepted(text).is_err(),
            "the loader accepts {text:?}"
        );
        let errs = errors(&v, &to_json(text, text));
        assert!(!errs.is_empty(), "the schema accepts {text:?}");
    }
}

/// The keys listed in a loader's `unknown key` error: "(expected one of: a, b)" or
/// "(expected a, b)".
fn expected_keys(message: &str) -> BTreeSet<String> {
    let start = message
        .rfind("(expected ")
        .unwrap_or_else(|| panic!("no key list in {message:?}"));
    let list = &message[start + "(expected ".len()..];
    let list = list.strip_prefix("one of: ").unwrap_or(list);
    let list = &list[..list.rfind(')').unwrap()];
    list.split(", ").map(str::to_string).collect()
}

/// The `properties` of the schema node at a JSON pointer (following local `$ref`s).
fn schema_keys(schema: &Value, pointer: &str) -> BTreeSet<String> {
    let mut node = schema
        .pointer(pointer)
        .unwrap_or_else(|| panic!("no {pointer}"));
    while let Some(r) = node.get("$ref").and_then(Value::as_str) {
        node = schema.pointer(r.trim_start_matches('#')).unwrap();
    }
    node["properties"]
        .as_object()
        .unwrap_or_else(|| panic!("{pointer} has no properties"))
        .keys()
        .cloned()
        .collect()
}

#[test]
fn config_schema_names_every_key_the_loader_accepts() {
    let schema = schema("meshext-lint.schema.json");
    for (probe, pointer) in [
        ("zzz-unknown: 1\n", ""),
        ("simulate: {zzz-unknown: 1}\n", "/properties/simulate"),
    ] {
        let err = config_accepted(probe).expect_err(probe);
        assert_eq!(
            expected_keys(&err),
            schema_keys(&schema, pointer),
            "schemas/meshext-lint.schema.json{pointer} vs the loader ({err})"
        );
    }
    // Closed objects, so a typo is flagged in the editor as the loader flags it.
    assert_eq!(schema["additionalProperties"], Value::Bool(false));
    assert_eq!(
        schema["properties"]["simulate"]["additionalProperties"],
        Value::Bool(false)
    );
}

/// One probe per mapping of the scenario format: a scenario with an unknown key there, and the
/// schema node that lists that mapping's keys.
const SCENARIO_PROBES: &[(&str, &str)] = &[
    ("zzz: 1\nrequests: []\n", ""),
    ("requests: [{zzz: 1}]\n", "/definitions/entry"),
    (
        "requests: [{request: {zzz: 1}}]\n",
        "/definitions/entry/properties/request",
    ),
    (
        "requests: [{http_calls: [{cluster: c, zzz: 1}]}]\n",
        "/definitions/http-answers/items",
    ),
    (
        "startup: {http_calls: [{cluster: c, zzz: 1}]}\nrequests: []\n",
        "/definitions/http-answers/items",
    ),
    (
        "startup: {http_calls_made: [{zzz: 1}]}\nrequests: []\n",
        "/definitions/call",
    ),
    (
        "requests: [{upstream: {zzz: 1}}]\n",
        "/definitions/response",
    ),
    (
        "requests: [{expect: {zzz: 1}}]\n",
        "/definitions/entry/properties/expect",
    ),
    ("startup: {zzz: 1}\nrequests: []\n", "/properties/startup"),
    (
        "requests: [{expect: {logs: [{zzz: 1}]}}]\n",
        "/definitions/log-pattern/anyOf/1",
    ),
    (
        "requests: [{expect: {calls: [{zzz: 1}]}}]\n",
        "/definitions/call",
    ),
    (
        "requests: [{expect: {callbacks: [{callback: on_log, zzz: 1}]}}]\n",
        "/definitions/callback",
    ),
    (
        "requests: [{expect: {metrics: {m: {zzz: 1}}}}]\n",
        "/definitions/metric/anyOf/1",
    ),
    (
        "requests: [{grpc_calls: [{service: s, zzz: 1}]}]\n",
        "/definitions/grpc-answers/items",
    ),
    (
        "requests: [{grpc_calls: [{service: s, response: {zzz: 1}}]}]\n",
        "/definitions/grpc-answers/items/properties/response",
    ),
    (
        "requests: [{expect: {grpc_calls: [{zzz: 1}]}}]\n",
        "/definitions/grpc-call",
    ),
    (
        "requests: [{grpc_calls: [{service: s, response: {messages: [{zzz: 1}]}}]}]\n",
        "/definitions/grpc-message/anyOf/1",
    ),
    ("connections: [{zzz: 1}]\n", "/definitions/connection"),
    (
        "connections: [{events: [{zzz: 1}]}]\n",
        "/definitions/net-event",
    ),
    (
        "connections: [{expect: {zzz: 1}}]\n",
        "/definitions/connection/properties/expect",
    ),
];

#[test]
fn scenario_schema_names_every_key_the_loader_accepts() {
    let schema = schema("scenario.schema.json");
    for &(probe, pointer) in SCENARIO_PROBES {
        let err = scenario_accepted(probe).expect_err(probe);
        assert_eq!(
            expected_keys(&err),
            schema_keys(&schema, pointer),
            "schemas/scenario.schema.json{pointer} vs the loader ({err})"
        );
    }
}

/// `expect.callbacks`: the editor offers exactly the callbacks of `rules/abi/functions.tsv`
/// (with and without `proxy_`) and the results the loader takes; the loader takes each.
#[test]
fn scenario_callback_enumerations_match_the_abi_table_and_the_loader() {
    let schema = schema("scenario.schema.json");
    let listed = |key: &str| -> BTreeSet<String> {
        schema["definitions"]["callback"]["properties"][key]["enum"]
            .as_array()
            .unwrap_or_else(|| panic!("no enum for {key}"))
            .iter()
            .map(|v| v.as_str().unwrap().to_string())
            .collect()
    };
    let ok = |cb: &str, result: &str| {
        scenario_accepted(&format!(
            "requests: [{{expect: {{callbacks: [{{callback: {cb}, result: {result}}}]}}}}]\n"
        ))
    };
    // The table's callbacks, with and without `proxy_`, that the loader takes (it refuses
    // those a step's trace never lists) are exactly the ones the editor offers.
    let table = std::fs::read_to_string(root().join("rules/abi/functions.tsv")).unwrap();
    let mut names = BTreeSet::new();
    for line in table.lines().filter(|l| !l.starts_with('#')) {
        let cols: Vec<&str> = line.split('\t').collect();
        if cols.first() == Some(&"export") && cols[2].starts_with("proxy_on_") {
            for n in [cols[2], cols[2].trim_start_matches("proxy_")] {
                if ok(n, "done").is_ok() {
                    names.insert(n.to_string());
                }
            }
        }
    }
    assert!(names.len() > 30, "{names:?}");
    for traced in [
        "on_request_headers",
        "proxy_on_tick",
        "on_log",
        "on_downstream_data",
    ] {
        assert!(names.contains(traced), "{traced}");
    }
    assert_eq!(listed("callback"), names);
    for r in listed("result") {
        ok("on_log", &r).unwrap();
    }
    assert!(ok("on_memory_allocate", "done").is_err(), "the allocator");
    let e = ok("on_context_create", "done").unwrap_err();
    assert!(
        e.contains("\"on_context_create\" cannot be expected here"),
        "{e}"
    );
    assert!(ok("on_nothing", "done").is_err());
}

/// The enumerations the editor offers are the loader's.
#[test]
fn config_schema_enumerations_match_the_loader() {
    let schema = schema("meshext-lint.schema.json");
    for (key, values) in [
        ("fail-on", &["error", "warning", "info", "none"][..]),
        ("output-threshold", &["error", "warning", "info"][..]),
    ] {
        let listed: Vec<&str> = schema["properties"][key]["enum"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap())
            .collect();
        assert_eq!(listed, values, "{key}");
        for v in values {
            config_accepted(&format!("{key}: {v}\n")).unwrap();
        }
    }
    // Every mesh version offered is one the loader takes.
    for v in schema["properties"]["mesh-version"]["examples"]
        .as_array()
        .unwrap()
    {
        let v = v.as_str().unwrap();
        config_accepted(&format!("mesh-version: {v}\n")).unwrap();
    }
    let offered: Vec<&str> = schema["properties"]["mesh-version"]["examples"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert_eq!(offered, meshext_lint::model::MeshVersion::KNOWN);
}

/// A `# yaml-language-server: $schema=…` modeline with a relative path points at the schema.
#[test]
fn modelines_point_at_the_schemas() {
    let mut seen = 0;
    for path in repo_yaml_files() {
        let text = std::fs::read_to_string(&path).unwrap();
        let Some(line) = text
            .lines()
            .find(|l| l.contains("yaml-language-server: $schema="))
        else {
            continue;
        };
        let target = line.split("$schema=").nth(1).unwrap().trim();
        if target.starts_with("http") {
            assert!(
                target.ends_with("/schemas/meshext-lint.schema.json")
                    || target.ends_with("/schemas/scenario.schema.json"),
                "{}: {target}",
                rel(&path)
            );
        } else {
            let resolved = path.parent().unwrap().join(target);
            assert!(
                resolved.is_file(),
                "{}: {target} does not exist",
                rel(&path)
            );
        }
        seen += 1;
    }
    assert!(seen >= 2, "no modelines found");
}

#[test]
fn config_schema_knows_every_rule_name() {
    let schema = schema("meshext-lint.schema.json");
    let listed: BTreeSet<String> = schema["definitions"]["rule-name"]["enum"]
        .as_array()
        .expect("definitions/rule-name/enum")
        .iter()
        .map(|v| v.as_str().unwrap().to_string())
        .collect();
    let catalogue: BTreeSet<String> = meshext_lint::rules::catalogue::all()
        .iter()
        .map(|r| r.name.to_string())
        .collect();
    assert_eq!(
        listed, catalogue,
        "schemas/meshext-lint.schema.json rule names vs rules/catalogue"
    );
}

#[test]
fn config_schema_knows_every_limit() {
    let schema = schema("meshext-lint.schema.json");
    let listed: BTreeSet<String> = schema["properties"]["limits"]["propertyNames"]["enum"]
        .as_array()
        .expect("properties/limits/propertyNames/enum")
        .iter()
        .map(|v| v.as_str().unwrap().to_string())
        .collect();
    let known: BTreeSet<String> = meshext_lint::limits::names()
        .into_iter()
        .map(String::from)
        .collect();
    assert_eq!(
        listed, known,
        "schemas/meshext-lint.schema.json limits vs src/limits.rs"
    );
}

/// Every key the scenario reader accepts is documented in docs/scenarios.md and used by at least
/// one behaviour test (a scenario in a test other than this file, a fixture or a sample), so a
/// key cannot be added, or kept, without both.
#[test]
fn every_scenario_key_is_documented_and_exercised_by_a_test() {
    let doc = std::fs::read_to_string(root().join("docs/scenarios.md")).unwrap();
    let mut corpus = String::new();
    let mut stack = vec![root().join("tests"), root().join("samples/scenarios")];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                if path.file_name().is_some_and(|n| n != "golden") {
                    stack.push(path);
                }
            } else if path.file_name().is_some_and(|n| n != "editor_schemas.rs")
                && path
                    .extension()
                    .is_some_and(|e| e == "rs" || e == "yaml" || e == "yml")
            {
                corpus.push_str(&std::fs::read_to_string(&path).unwrap());
                corpus.push('\n');
            }
        }
    }
    // `key:` as a whole word (YAML in any of the files), or `"key"` (JSON-built scenarios).
    let used = |text: &str, key: &str| {
        text.match_indices(key).any(|(i, _)| {
            let before = text[..i].chars().next_back();
            let after = &text[i + key.len()..];
            let word_start = !before.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_');
            word_start
                && (after.starts_with(':') || (before == Some('"') && after.starts_with('"')))
        })
    };
    let mut missing = Vec::new();
    let mut keys = BTreeSet::new();
    for &(probe, _) in SCENARIO_PROBES {
        keys.extend(expected_keys(&scenario_accepted(probe).expect_err(probe)));
    }
    assert!(keys.len() >= 50, "{keys:?}");
    for key in &keys {
        if !doc.contains(&format!("{key}:")) && !doc.contains(&format!("`{key}`")) {
            missing.push(format!("{key}: not in docs/scenarios.md"));
        }
        if !used(&corpus, key) {
            missing.push(format!("{key}: no test or sample scenario uses it"));
        }
    }
    assert!(missing.is_empty(), "{missing:#?}");
}

/// Every sample scenario (the Java SDK suite's included, whose modules are not in the
/// repository) is read by the loader and valid for the editor; each of the suite's files says
/// which Java test it restates and runs itself.
#[test]
fn sample_scenarios_are_valid_for_loader_and_schema() {
    let v = scenario_schema();
    let mut stack = vec![root().join("samples/scenarios")];
    let mut suite = 0;
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            if path.extension().is_none_or(|e| e != "yaml") {
                continue;
            }
            let what = path.display().to_string();
            let text = std::fs::read_to_string(&path).unwrap();
            scenario_accepted(&text).unwrap_or_else(|e| panic!("{what}: {e}"));
            let errs = errors(&v, &to_json(&what, &text));
            assert!(errs.is_empty(), "{what}: {errs:#?}");
            if path.parent().unwrap().ends_with("java-sdk-examples") {
                suite += 1;
                let name = path.file_name().unwrap().to_str().unwrap();
                let class = name.split('.').next().unwrap();
                let mut lines = text.lines();
                assert!(
                    lines.next().unwrap().starts_with(
                        "# yaml-language-server: $schema=../../../schemas/scenario.schema.json"
                    ),
                    "{what}"
                );
                assert!(
                    lines
                        .next()
                        .unwrap()
                        .contains(&format!("examples/{class}.java")),
                    "{what}"
                );
                let run = lines.next().unwrap();
                assert!(
                    run.starts_with("# Run: meshext-lint simulate ")
                        && run.ends_with(&format!("--scenario {name}")),
                    "{what}: {run}"
                );
            }
        }
    }
    assert_eq!(suite, 46, "one file per test method of the Java suite");
}
