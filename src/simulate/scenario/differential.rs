//! The direct path (`load::direct`) against the tree path on every scenario of the
//! repository, on mutations of them and on generated scenarios: where the direct path reads
//! a file it must give the tree path's `Scenario`, and `parse_scenario` must always give what
//! the tree path gives (the same value, or the same error at the same position).

use super::tests::DIRECT;
use super::{parse_direct, parse_scenario, parse_tree, scenario_limits};
use std::path::Path;

/// Compares both paths on `text`; whether the direct path read it.
fn check(text: &str) -> bool {
    check_ok(text).0
}

/// `check`, and whether the tree path reads `text` without error. `SHOW_DECLINED=1` prints
/// the valid texts the direct path declined (to see what the subset misses).
fn check_ok(text: &str) -> (bool, bool) {
    let limits = scenario_limits();
    let show = |r: Result<super::Scenario, super::ScenarioError>| {
        r.map(|s| format!("{s:#?}")).map_err(|e| e.to_string())
    };
    let tree = show(parse_tree("s.yaml", text, limits, false));
    let direct = parse_direct(text, limits).map(|s| format!("{s:#?}"));
    if let Some(d) = &direct {
        assert_eq!(Ok(d), tree.as_ref(), "the direct path differs on:\n{text}");
    }
    let public = show(parse_scenario("s.yaml", text));
    assert_eq!(public, tree, "parse_scenario differs on:\n{text}");
    if std::env::var("SHOW_DECLINED").is_ok() && direct.is_none() && tree.is_ok() {
        eprintln!("---- declined:\n{text}");
    }
    (direct.is_some(), tree.is_ok())
}

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// Scenario files, the YAML blocks of the docs and the raw-string scenarios of the
/// integration tests.
fn corpus() -> Vec<(String, String)> {
    let mut out = Vec::new();
    for dir in ["samples/scenarios", "tests/fixtures/scenarios"] {
        let mut paths: Vec<_> = std::fs::read_dir(root().join(dir))
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
            .collect();
        paths.sort();
        for p in paths {
            out.push((
                p.display().to_string(),
                std::fs::read_to_string(&p).unwrap(),
            ));
        }
    }
    let is_scenario = |t: &str| {
        ["requests:", "connections:", "startup:"]
            .iter()
            .any(|k| t.contains(k))
    };
    for dir in ["docs", "tests"] {
        let mut paths: Vec<_> = std::fs::read_dir(root().join(dir))
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "md" || e == "rs"))
            .collect();
        paths.sort();
        for p in paths {
            let text = std::fs::read_to_string(&p).unwrap();
            let (open, close) = if dir == "docs" {
                ("```yaml\n", "```")
            } else {
                ("r#\"", "\"#")
            };
            let mut rest = text.as_str();
            while let Some(i) = rest.find(open) {
                let body = &rest[i + open.len()..];
                let Some(j) = body.find(close) else { break };
                if is_scenario(&body[..j]) {
                    out.push((p.display().to_string(), body[..j].to_string()));
                }
                rest = &body[j..];
            }
        }
    }
    out
}

#[test]
fn every_scenario_of_the_repository_reads_the_same_both_ways() {
    let corpus = corpus();
    assert!(corpus.len() > 20, "{} scenarios", corpus.len());
    let mut direct = 0;
    for (name, text) in &corpus {
        let (taken, ok) = check_ok(text);
        direct += usize::from(taken);
        // Every valid one is within the subset, but for connections (their locations
        // come from the tree).
        if ok && !text.contains("connections:") {
            assert!(taken, "{name}: the direct path declined:\n{text}");
        }
    }
    assert!(direct > 10, "{direct} of {}", corpus.len());
}

/// Values a mutation puts in place of a line's value.
const VALUES: &[&str] = &[
    "~",
    "",
    "''",
    "\"\"",
    "1",
    "-5",
    "0x1F",
    "0o17",
    "1.50",
    "1e3",
    ".inf",
    "true",
    "False",
    "yes",
    "null",
    "[a, b]",
    "[]",
    "{a: 1}",
    "{}",
    "{a: 1, a: 2}",
    "[{a: 1}, [b]]",
    "\"a\\tb\\u00e9\"",
    "'it''s'",
    "\"x\" # c",
    "a # c",
    "a#b",
    "&x v",
    "*x",
    "!!str 5",
    "|\n  text",
    ">-\n  folded",
    "\"\\q\"",
    "'open",
    "[a,",
    "{a: 1,}",
    "a: b",
    "- x",
    "{<<: {a: 1}}",
    "\"1\"",
    " 5 ",
    "'  7 '",
    "inbound",
    "outbound",
    "8080",
    "0",
    "debug",
    "counter",
    "never",
    "5s",
    "{base64: aGk=}",
    "{type: gauge, value: '3'}",
    "{level: info, regex: '^a'}",
    "\t1",
];

/// Keys a mutation puts in place of a line's key.
const KEYS: &[&str] = &[
    "bogus",
    "\"name\"",
    "'status'",
    "<<",
    "1",
    "? x",
    "Name",
    "na me",
    "\"a\\u0041\"",
];

/// Every mutation of `text`: lines deleted, repeated, re-indented; values and keys
/// replaced; unknown and repeated keys, comments and blank lines inserted.
fn mutations(text: &str) -> Vec<String> {
    let lines: Vec<&str> = text.lines().collect();
    let join = |v: Vec<String>| v.join("\n") + "\n";
    let mut out = Vec::new();
    for i in 0..lines.len() {
        let edit = |f: &dyn Fn(&str) -> Vec<String>| {
            let mut v: Vec<String> = lines[..i].iter().map(|s| s.to_string()).collect();
            v.extend(f(lines[i]));
            v.extend(lines[i + 1..].iter().map(|s| s.to_string()));
            join(v)
        };
        out.push(edit(&|_| vec![]));
        out.push(edit(&|l| vec![l.into(), l.into()]));
        out.push(edit(&|l| vec![format!("  {l}")]));
        out.push(edit(&|l| vec![l.strip_prefix("  ").unwrap_or(l).into()]));
        let indent = lines[i].len() - lines[i].trim_start().len();
        let pad = " ".repeat(indent);
        out.push(edit(&|l| vec![format!("{pad}bogus: 1"), l.into()]));
        out.push(edit(&|l| {
            vec![format!("{pad}# note"), l.into(), String::new()]
        }));
        out.push(edit(&|l| vec![format!("{l}  # trailing")]));
        let body = lines[i].trim_start();
        let dash = if body.starts_with("- ") { "- " } else { "" };
        let Some((key, value)) = body[dash.len()..].split_once(':') else {
            continue;
        };
        let value = value.trim();
        out.push(edit(&|l| {
            vec![l.into(), format!("{pad}{}{key}: x", " ".repeat(dash.len()))]
        }));
        for v in VALUES {
            out.push(edit(&|_| vec![format!("{pad}{dash}{key}: {v}")]));
        }
        for k in KEYS {
            out.push(edit(&|_| vec![format!("{pad}{dash}{k}: {value}")]));
        }
        // Compact `- key: v` written out, and a key's value moved to its own line.
        if !value.is_empty() {
            out.push(edit(&|_| {
                vec![
                    format!("{pad}{dash}{key}:"),
                    format!("{pad}{}  {value}", " ".repeat(dash.len())),
                ]
            }));
        }
    }
    out
}

#[test]
fn mutations_read_the_same_both_ways() {
    let (mut total, mut valid, mut direct) = (0, 0, 0);
    for (_, text) in corpus().iter().filter(|(_, t)| !t.contains("connections:")) {
        for m in mutations(text) {
            let (taken, ok) = check_ok(&m);
            total += 1;
            valid += usize::from(ok);
            direct += usize::from(taken);
        }
    }
    assert!(total > 5000, "{total} mutations");
    // The valid mutations are mostly within the subset: the comparison is not vacuous.
    assert!(
        direct * 10 > valid * 8,
        "{direct} of {valid} valid read directly"
    );
}

/// A small deterministic generator (xorshift).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[(self.next() % items.len() as u64) as usize]
    }

    fn chance(&mut self, in_8: u64) -> bool {
        self.next() % 8 < in_8
    }
}

/// A scenario of `n` requests in varied styles (quoting, flow or block, empty values,
/// comments, indentless or indented lists).
fn generated(seed: u64, n: usize) -> String {
    let mut g = Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
    let mut s = String::new();
    if g.chance(2) {
        s.push_str("# generated\n---\n");
    }
    if g.chance(3) {
        s.push_str(g.pick(&["workload: shop/web\n", "workload: 'shop/web'  # w\n"]));
    }
    if g.chance(2) {
        s.push_str(g.pick(&[
            "properties: {a.b: 1, c: true, d: 'x'}\n",
            "properties:\n  a.b: 1.50\n  e: \"\\u00e9\"\n",
            "vm_config: {b: [1, 2], a: {c: ~}}\n",
            "vm_config:\n  z: 0x10\n  y:\n    - 1\n    - two\n",
            "vm_config: plain text\n",
            "direction: outbound\nport: 8080\n",
            "startup:\n  result: ok\n  logs: [started]\n  metrics: {m: 1}\n  tick_period: 1s\n",
        ]));
    }
    let seq_indent = if g.chance(4) { "" } else { "  " };
    s.push_str("requests:\n");
    for i in 0..n {
        let p = seq_indent;
        if g.chance(1) {
            s.push_str(&format!("{p}# request {i}\n\n"));
        }
        let name = match g.next() % 4 {
            0 => format!("request {i}"),
            1 => format!("'request {i}'"),
            2 => format!("\"request \\\"{i}\\\"\""),
            _ => String::new(),
        };
        if name.is_empty() {
            s.push_str(&format!(
                "{p}- advance: {}\n",
                g.pick(&["1s", "250ms", "'2'"])
            ));
        } else {
            s.push_str(&format!("{p}- name: {name}\n"));
        }
        let headers = g.pick(&[
            "{x-id: \"1\"}",
            "{X-Id: 1, X-B: true}",
            "{}",
            "{x-a: 'a''b', x-b: \"c\\td\"}",
        ]);
        if g.chance(4) {
            s.push_str(&format!(
                "{p}  request: {{method: GET, path: /orders/{i}, headers: {headers}}}\n"
            ));
        } else if g.chance(6) {
            s.push_str(&format!(
                "{p}  request:\n{p}    method: POST\n{p}    path: \"/orders/{i}\"  # p\n{p}    headers:\n{p}      X-Id: {i}\n{p}      x-empty: ''\n{p}    chunks:\n{p}    - a\n{p}    - 'b'\n"
            ));
        } else {
            s.push_str(&format!("{p}  request:\n"));
        }
        if g.chance(2) {
            let list_pad = if g.chance(4) { "" } else { "  " };
            s.push_str(&format!(
                "{p}  http_calls:\n{p}  {list_pad}- cluster: \"auth*\"\n{p}  {list_pad}  response: {{status: 200, body: ok}}\n{p}  {list_pad}- {{cluster: b, delay: never}}\n"
            ));
        }
        if g.chance(5) {
            s.push_str(&format!(
                "{p}  upstream: {{status: {}, headers: {{content-type: application/json}}, body: \"[]\"}}\n",
                g.pick(&["200", "'404'", "\"503\""])
            ));
        }
        if g.chance(6) {
            s.push_str(&format!("{p}  expect:\n"));
            if g.chance(6) {
                s.push_str(&format!(
                    "{p}    status: {}\n",
                    g.pick(&["200", "'200'", "404"])
                ));
            }
            if g.chance(4) {
                s.push_str(&format!(
                    "{p}    response_headers: {}\n",
                    g.pick(&["{x-team: payments}", "{X-Gone: ~, x-n: 1}", "{x-e: }"])
                ));
            }
            if g.chance(3) {
                s.push_str(&format!(
                    "{p}    logs:\n{p}      - hello\n{p}      - {{level: info, message: hi}}\n{p}      -\n{p}        level: warn\n"
                ));
            }
            if g.chance(3) {
                s.push_str(&format!(
                    "{p}    metrics:\n{p}      m: 2\n{p}      n: {{type: counter, value: '1'}}\n{p}    upstream_called: {}\n",
                    g.pick(&["true", "false", "True"])
                ));
            }
        }
    }
    s
}

#[test]
fn generated_scenarios_read_the_same_both_ways() {
    let mut valid = 0;
    for seed in 1..=300 {
        let text = generated(seed, 1 + (seed as usize % 7));
        let (taken, ok) = check_ok(&text);
        // All within the subset: every valid one is read directly.
        assert_eq!(taken, ok, "{text}");
        valid += usize::from(ok);
    }
    assert!(valid > 100, "{valid} of 300 valid");
}

/// The bench's scenario (`benches/ratio.rs`).
fn bench_scenario(requests: usize) -> String {
    let mut s = String::from("requests:\n");
    for i in 0..requests {
        s.push_str(&format!(
            "  - name: request {i}\n    request: {{method: GET, path: /orders/{i}, headers: {{x-id: \"{i}\"}}}}\n    upstream: {{status: 200, headers: {{content-type: application/json}}, body: \"[]\"}}\n    expect:\n      status: 200\n      response_headers: {{x-team: payments}}\n"
        ));
    }
    s
}

#[test]
fn the_bench_scenario_takes_the_direct_path() {
    let text = bench_scenario(500);
    assert!(check(&text));
    let before = DIRECT.with(|n| n.get());
    let sc = parse_scenario("s.yaml", &text).unwrap();
    assert_eq!(DIRECT.with(|n| n.get()), before + 1, "parse fell back");
    assert_eq!(sc.requests.len(), 500);
    assert_eq!(
        sc.requests[7].headers,
        [("x-id".to_string(), "7".to_string())]
    );
}

#[test]
fn it_declines_what_only_the_tree_path_reports_or_reads() {
    for text in [
        // Duplicate keys, in a struct (also quoted, also in flow), a free-form mapping and
        // a flow mapping; a struct's key that is no string.
        "requests:\n  - name: a\n    name: b\n",
        "requests:\n  - name: a\n    'name': b\n",
        "requests: [{name: a, \"name\": b}]\n",
        "requests:\n  - 1: a\n",
        "requests: [{request: {headers: {a: 1, a: 2}}}]\n",
        "properties:\n  a: 1\n  a: 2\nrequests: []\n",
        "properties: {'1': a, 1: b}\nrequests: []\n",
        // Merge keys, anchors, tags, block scalars, a second document.
        "requests:\n  - <<: {name: a}\n",
        "requests:\n  - name: &n a\n",
        "requests:\n  - name: !!str a\n",
        "requests:\n  - name: |\n      a\n",
        "requests: []\n---\nrequests: []\n",
        // Typing and resolving errors.
        "requests:\n  - bogus: 1\n",
        "requests:\n  - advance: soon\n",
        "requests: [{expect: {status: 200}, advance: 1s}]\n",
        "direction: sideways\nrequests: []\n",
        // A connection's location comes from the tree.
        "connections:\n  - events: [{downstream: hi}]\n",
        "",
        "~\n",
    ] {
        assert!(!check(text), "read directly: {text:?}");
    }
}

#[test]
fn free_form_mappings_keep_their_order_and_names() {
    // Not duplicates as YAML keys: both header entries stay, lower-cased, in order.
    let text =
        "requests: [{request: {headers: {b: 1, A: x, a: y}}}]\nproperties: {1.50: a, ~: b}\n";
    assert!(check(text));
    let sc = parse_scenario("s.yaml", text).unwrap();
    let names: Vec<&str> = sc.requests[0]
        .headers
        .iter()
        .map(|h| h.0.as_str())
        .collect();
    assert_eq!(names, ["b", "a", "a"]);
    let keys: Vec<&str> = sc.properties.keys().map(String::as_str).collect();
    assert_eq!(keys, ["1.5", "null"]);
}

#[test]
fn budgets_decline_so_the_tree_path_reports_them() {
    let limits = crate::load::yaml::Limits {
        max_depth: 3,
        max_nodes: 12,
        max_file_nodes: 12,
        max_file_bytes: 40,
    };
    let deep = "requests:\n  - request:\n      headers: {a: b}\n";
    let long = "requests:\n  - name: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n";
    let many = "requests: [{name: a}, {name: b}, {name: c}, {name: d}, {name: e}]\n";
    for text in [deep, long, many] {
        assert!(parse_direct(text, limits).is_none(), "{text}");
        assert!(parse_tree("s.yaml", text, limits, false).is_err(), "{text}");
        assert!(parse_direct(text, scenario_limits()).is_some(), "{text}");
    }
}

#[test]
fn byte_level_mutations_read_the_same_both_ways() {
    // Characters that matter to the scanner, put in, swapped in or taken out anywhere.
    const BYTES: &[u8] = b" \n\t\r-:,#[]{}'\"\\&*!|>?%@`~0x.e+A\xc3\xa9";
    let base = generated(7, 3);
    let mut g = Rng(0x5eed);
    let mut direct = 0;
    for _ in 0..6000 {
        let mut t = base.clone().into_bytes();
        for _ in 0..1 + g.next() % 3 {
            let at = (g.next() % t.len() as u64) as usize;
            let b = BYTES[(g.next() % BYTES.len() as u64) as usize];
            match g.next() % 3 {
                0 => t.insert(at, b),
                1 => t[at] = b,
                _ => {
                    t.remove(at);
                }
            }
        }
        // Only text: the loader reads UTF-8 (a broken sequence is a read error before YAML).
        let Ok(text) = String::from_utf8(t) else {
            continue;
        };
        direct += usize::from(check(&text));
    }
    assert!(direct > 400, "{direct} read directly");
}

/// Scalars and flow mappings of every shape a token scanner treats apart, in the places a
/// request entry reads them (flow keys and values, block keys and values, free-form
/// mappings): each scenario must read the same both ways, and most valid ones directly.
#[test]
fn scanner_edge_cases_read_the_same_both_ways() {
    const SCALARS: &[&str] = &[
        "a",
        "GET",
        "/orders/1",
        "x-id",
        "x_id",
        "X-Id",
        "a.b",
        "a-",
        "-a",
        "a-b-",
        "1",
        "01",
        "-1",
        "+1",
        "200",
        "999999999999999999",
        "9999999999999999999",
        "0x1F",
        "0x",
        "0o17",
        "0o9",
        "1.5",
        "1e3",
        "1e",
        ".5",
        "1.",
        "-.inf",
        ".Inf",
        "+.INF",
        ".nan",
        ".NaN",
        "~",
        "null",
        "Null",
        "NULL",
        "nulls",
        "true",
        "True",
        "TRUE",
        "tRue",
        "false",
        "FALSE",
        "n",
        "t",
        "f",
        "name",
        "no",
        "yes",
        "é",
        "aé",
        "a:b",
        "a::b",
        "a:",
        "a :b",
        "a  b",
        "a#b",
        "a #b",
        "a-,",
        "a?",
        "?a",
        "a!",
        "'q'",
        "\"q\"",
        "'a''b'",
        "\"\\u00e9\"",
        "\"\"",
        "''",
        "a\tb",
        "a\rb",
        "a]",
        "a}",
        "[a]",
        "{a: b}",
        "{}",
        "[]",
        "-",
        "--",
        "a -",
        "a - b",
        "a, b",
        "a,b",
        ":",
        "::",
        "a: ",
        "%a",
        "@a",
        "`a",
        "*a",
        "&a",
        "!a",
        "|",
        ">",
    ];
    let mut direct = 0;
    let mut n = 0;
    for s in SCALARS {
        let texts = [
            // Flow value, flow key, free-form flow key and value, block value and key.
            format!("requests:\n  - request: {{method: {s}, path: /p}}\n"),
            format!("requests:\n  - request: {{{s}: GET}}\n"),
            format!("requests:\n  - request: {{headers: {{{s}: {s}}}}}\n"),
            format!("requests:\n  - request: {{headers: {{x: {s} }}, path: {s}}}\n"),
            format!("requests:\n  - name: {s}\n    expect: {{status: {s}}}\n"),
            format!("requests:\n  - expect:\n      {s}: 1\n"),
            format!("requests:\n  - expect:\n      response_headers:\n        {s}: {s}\n"),
            format!("requests:\n  - upstream: {{status: {s}, body: {s}}}\n"),
            format!("properties: {{{s}: {s}}}\nrequests: []\n"),
            format!("properties:\n  {s}: {s}\nrequests: [{{name: {s}}}]\n"),
            format!("requests: [{{name: {s}}}, {{name: {s},}}]\n"),
            format!("requests: [{s}]\n"),
        ];
        for t in &texts {
            n += 1;
            direct += usize::from(check(t));
            // The same with CRLF line ends, tabs and trailing comments.
            check(&t.replace('\n', "\r\n"));
            check(&t.replace(": ", ":\t"));
            check(&t.replace('\n', " # c\n"));
        }
    }
    for t in [
        "requests:\n  - request: {method: GET, path: /orders/1, headers: {x-id: \"1\"}}\n",
        "requests:\n  - request: {method: GET , path: /a , headers: { x-id: '1' } }\n",
        "requests:\n  - request: { }\n",
        "requests:\n  - request: {}\n",
        "requests:\n  - request: {method: GET,}\n",
        "requests:\n  - request: {method: GET, method: POST}\n",
        "requests:\n  - request: {headers: {a: 1, a: 2}}\n",
        "requests:\n  - request: {headers: {a: 1, 'a': 2}}\n",
        "requests:\n  - request: {headers: {1: a, '1': b}}\n",
        "requests:\n  - request: {headers: {1.0: a, 1: b, ~: c, null: d}}\n",
        "requests:\n  - request: {headers: {\"x-a\": 1, 'x-b': \"2\"}}\n",
        "requests:\n  - request: {headers: {x-a:1}}\n",
        "requests:\n  - request: {headers: {x-a: }}\n",
        "requests:\n  - request: {headers: {x-a}}\n",
        "requests:\n  - request: {headers: {x-a: [1]}}\n",
        "requests:\n  - request: {headers: {x-a: {b: c}}}\n",
        "requests:\n  - request: {method: GET} # c\n",
        "requests:\n  - request: {method: GET}# c\n",
        "requests:\n  - request: {method: GET} x\n",
        "requests:\n  - request: {method: GET # c\n      }\n",
        "requests:\n  - request: {method: GET,\n      path: /a}\n",
        "requests:\n  - request: {method: \"GET\"}   \n",
        "requests:\n  - request: {method: GET}\t\n",
        "requests:\n  - request: {method: GÉT, path: /é/ü}\n",
        "requests:\n  - {name: a, request: {method: GET}, expect: {status: 200}}\n",
        "requests:\n  - name: a\n    upstream: {status: 200, headers: {content-type: application/json}, body: \"[]\"}\n",
        "requests:\n  - name: a\n    upstream: {status: '200', body: []}\n",
        "requests:\n  - name: a\n    expect:\n      status: 0x1F4\n",
        "requests:\n  - name: a\n    expect:\n      status: 2e2\n",
        "requests:\n  - name: a\n    expect:\n      status: -200\n",
        "requests:\n  - name: a\n    expect:\n      upstream_called: True\n      http_calls: 1\n",
        "requests:\n  - expect:\n      callbacks:\n        - {callback: on_tick, filter: \"a/*\", result: Pause, count: 2}\n        - callback: proxy_on_log\n",
        "requests:\n  - expect:\n      callbacks: [{callback: on_tik}]\n",
        "requests:\n  - expect:\n      callbacks: [{callback: on_log, result: Stop}]\n",
        "requests:\n  - name: a\n    expect:\n      response_headers: {x-a: ~, x-b: null, x-c: , x-d: 1.50}\n",
        // What the in-place readers check: text after a value, a key's length, the
        // separators between flow items, repeats past the indexed count.
        "requests:\n  - name: \"a\" x\n",
        "requests:\n  - name: 'a': b\n",
        "requests:\n  - name: \"a\"  # c\n",
        "requests:\n  - name: a: b\n",
        "requests:\n  - name: a #c\n    expect: {status: 200}\n",
        "requests:\n  - request: {method: GET} junk\n",
        "requests:\n  - request: [a]\n",
        "requests:\n  - request: {method: GET, , path: /}\n",
        "requests:\n  - request: {method: GET,  path: /}\n",
        "requests:\n  - request: {method: GET,\tpath: /}\n",
        "requests:\n  - request: {method: GET,#c\n      }\n",
        "requests:\n  - request: {method: GET, }\n",
        "requests:\n  - request: {method: GET,}\n",
        "requests:\n  - request: {method: GET ,path: /}\n",
        "requests:\n  - request: {headers: {X-A: 1, x-a: 2}}\n",
        "requests:\n  - request:\n      method: GET\n      method: PUT\n",
        "requests:\n  - request:\n      method : GET\n",
        "requests:\n  - request:\n      'method': GET\n      path: \"/a\"\n",
    ] {
        n += 1;
        direct += usize::from(check(t));
        check(&t.replace('\n', "\r\n"));
    }
    // A block key at and past the longest one read directly (`MAX_KEY`).
    for len in [998, 999, 1000, 1001] {
        let key = "k".repeat(len);
        check(&format!("requests:\n  - request:\n      {key}: GET\n"));
        check(&format!(
            "requests:\n  - request:\n      headers:\n        {key}: a\n"
        ));
    }
    // Flow header mappings around the count past which keys are hashed, with and without
    // a repeat of the first key last.
    for count in [15, 16, 17, 18] {
        let keys: Vec<String> = (0..count).map(|k| format!("x-{k}: {k}")).collect();
        let plain = keys.join(", ");
        for last in ["", ", x-0: again", ", 'x-0': again", ", x-1x: b"] {
            n += 1;
            let t = format!("requests:\n  - request: {{headers: {{{plain}{last}}}}}\n");
            direct += usize::from(check(&t));
        }
    }
    // The comparison is not vacuous.
    assert!(direct * 3 > n, "{direct} of {n} read directly");
}
