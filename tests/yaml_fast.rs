//! The YAML loader's fast path against the saphyr-parser path: on every YAML file of the
//! repository, on the benchmark generators' streams and on thousands of deterministic
//! mutations of the samples, the fast path builds exactly the same documents (values, byte
//! spans, duplicate keys) or declines. It must also really handle the sample meshes and
//! scenarios rather than decline everything.

use meshext_lint::load::yaml::{parse_events, parse_fast, Limits};
use std::path::{Path, PathBuf};

#[allow(dead_code)]
#[path = "../benches/yaml.rs"]
mod bench_yaml;

/// `benches/ratio.rs`'s scenario (flow mappings nested in flow mappings).
fn ratio_scenario() -> String {
    let mut s = String::from("requests:\n");
    for i in 0..2_000 {
        s.push_str(&format!(
            "  - name: request {i}\n    request: {{method: GET, path: /orders/{i}, headers: {{x-id: \"{i}\"}}}}\n    upstream: {{status: 200, headers: {{content-type: application/json}}, body: \"[]\"}}\n    expect:\n      status: 200\n      response_headers: {{x-team: payments}}\n"
        ));
    }
    s
}

#[derive(Debug, PartialEq)]
enum Outcome {
    Handled,
    Declined,
}

/// Both paths on `text`: equal results, or the fast path declined.
fn check(name: &str, text: &str) -> Outcome {
    let limits = Limits::default();
    let Some(fast) = parse_fast(text, limits) else {
        return Outcome::Declined;
    };
    let slow = parse_events(text, limits);
    assert!(
        slow.error.is_none(),
        "{name}: the fast path accepted what saphyr rejects: {:?}\n--- text ---\n{text}",
        slow.error
    );
    assert!(fast.error.is_none());
    let (f, s) = (format!("{:#?}", fast.docs), format!("{:#?}", slow.docs));
    if f != s {
        let at = f
            .lines()
            .zip(s.lines())
            .position(|(a, b)| a != b)
            .unwrap_or(0);
        let ctx = |x: &str| {
            x.lines()
                .skip(at.saturating_sub(12))
                .take(16)
                .collect::<Vec<_>>()
                .join("\n")
        };
        panic!(
            "{name}: fast path differs (line {at} of the dump)\n--- fast ---\n{}\n--- saphyr ---\n{}\n--- text ---\n{text}",
            ctx(&f),
            ctx(&s)
        );
    }
    Outcome::Handled
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Every .yaml/.yml file of the repository (not `target/`, not hidden directories).
fn yaml_files() -> Vec<PathBuf> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        let mut entries: Vec<_> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        entries.sort();
        for p in entries {
            let name = p.file_name().unwrap().to_string_lossy().to_string();
            if p.is_dir() {
                if !name.starts_with('.') && name != "target" {
                    walk(&p, out);
                }
            } else if name.ends_with(".yaml") || name.ends_with(".yml") {
                out.push(p);
            }
        }
    }
    let mut out = Vec::new();
    walk(&root(), &mut out);
    out
}

#[test]
fn every_yaml_file_of_the_repository_parses_the_same_or_declines() {
    let files = yaml_files();
    assert!(files.len() > 150, "{} files", files.len());
    let mut handled = Vec::new();
    for f in &files {
        let Ok(text) = std::fs::read_to_string(f) else {
            continue;
        };
        let name = f.strip_prefix(root()).unwrap().display().to_string();
        if check(&name, &text) == Outcome::Handled {
            handled.push(name);
        }
    }
    // The fast path must carry the real inputs: the sample meshes and scenarios.
    for must in [
        "samples/mesh/shop/",
        "samples/mesh/istio-system/",
        "samples/mesh-v2.6/shop/",
        "samples/mesh-v3.0/shop/",
        "samples/scenarios/shop-web.yaml",
        "samples/scenarios/header-append.yaml",
    ] {
        assert!(
            handled.iter().any(|h| h.starts_with(must)),
            "the fast path declines every file under {must}"
        );
    }
    eprintln!("fast path: {} of {} files", handled.len(), files.len());
    for f in &files {
        let name = f.strip_prefix(root()).unwrap().display().to_string();
        if !handled.contains(&name) {
            eprintln!("declined: {name}");
        }
    }
    assert!(
        handled.len() * 2 > files.len(),
        "the fast path handles only {} of {} files",
        handled.len(),
        files.len()
    );
}

#[test]
fn the_benchmark_streams_are_handled_by_the_fast_path() {
    // A prefix of each (cut at a document or a request): the saphyr path is slow unoptimised.
    let cut = |t: String, at: &str| {
        let end = t[..400_000.min(t.len())].rfind(at).unwrap_or(t.len());
        t[..end + 1].to_string()
    };
    for (name, text) in [
        ("manifests", cut(bench_yaml::manifests(), "\n---\n")),
        ("scenario", cut(bench_yaml::scenario(), "\n  - name")),
        ("ratio scenario", cut(ratio_scenario(), "\n  - name")),
    ] {
        assert_eq!(check(name, &text), Outcome::Handled, "{name}");
    }
}

/// A small deterministic generator (no dependency; the same cases on every run).
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 33
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// What the mutations insert: YAML's indicators, blanks, breaks and non-ASCII text.
const INSERTS: &[&str] = &[
    ":", "-", "\"", "'", "{", "}", "[", "]", ",", "#", " ", "\n", "\t", "é", "- ", ": ", "\n-",
    "\n  ", "---\n", "...\n", "\\", "\\x", "''", "\r", "&a ", "*a", "!", "|", "?", "~", "0x1",
];

/// One mutation of `text`: an insertion or a deletion at a character boundary.
fn mutate(text: &str, rng: &mut Lcg) -> String {
    let bounds: Vec<usize> = text
        .char_indices()
        .map(|(i, _)| i)
        .chain([text.len()])
        .collect();
    let at = bounds[rng.below(bounds.len())];
    let mut out = String::with_capacity(text.len() + 8);
    out.push_str(&text[..at]);
    match rng.below(3) {
        0 => {
            // Delete the character at `at` (if any).
            let rest = &text[at..];
            let skip = rest.chars().next().map_or(0, char::len_utf8);
            out.push_str(&rest[skip..]);
        }
        _ => {
            out.push_str(INSERTS[rng.below(INSERTS.len())]);
            out.push_str(&text[at..]);
        }
    }
    out
}

#[test]
fn mutations_of_the_samples_parse_the_same_or_decline() {
    let files: Vec<PathBuf> = yaml_files()
        .into_iter()
        .filter(|f| {
            let rel = f.strip_prefix(root()).unwrap();
            rel.starts_with("samples") || rel.starts_with("tests/fixtures")
        })
        .collect();
    let mut rng = Lcg(0x5eed);
    let (mut cases, mut handled) = (0, 0);
    for f in &files {
        let Ok(text) = std::fs::read_to_string(f) else {
            continue;
        };
        let name = f.strip_prefix(root()).unwrap().display().to_string();
        for i in 0..60 {
            let mut m = mutate(&text, &mut rng);
            if i % 3 == 0 {
                m = mutate(&m, &mut rng);
            }
            cases += 1;
            if check(&format!("{name} (mutation {i})"), &m) == Outcome::Handled {
                handled += 1;
            }
        }
    }
    eprintln!("mutations: {handled} of {cases} handled by the fast path");
    assert!(cases > 5_000, "{cases} cases");
    assert!(handled * 10 > cases, "{handled} of {cases} handled");
}
