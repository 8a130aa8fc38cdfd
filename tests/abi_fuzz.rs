//! Hostile modules: truncated and mutated bytes must never panic (analysis either fails with
//! MX405 or yields a ModuleInfo that the checks and `inspect` handle), and analysis stays linear.

use meshext_lint::abi;
use meshext_lint::diag::Location;
use meshext_lint::model::MeshVersion;
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// Valid modules to start from: every WAT fixture plus any built SDK sample.
fn seeds() -> Vec<Vec<u8>> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let mut out = Vec::new();
    for e in std::fs::read_dir(root.join("tests/fixtures/wat"))
        .unwrap()
        .flatten()
    {
        let text = std::fs::read_to_string(e.path()).unwrap();
        out.push(wat::parse_str(&text).unwrap());
    }
    if let Ok(dir) = std::fs::read_dir(root.join("samples/extensions/build")) {
        for e in dir
            .flatten()
            .filter(|e| e.path().extension().is_some_and(|x| x == "wasm"))
        {
            out.push(std::fs::read(e.path()).unwrap());
        }
    }
    out
}

/// Everything downstream of `analyze`, so that a panic anywhere shows up.
fn exercise(bytes: &[u8]) {
    let at = Location::file_only("fuzz.wasm");
    match abi::analyze(bytes) {
        Ok(info) => {
            for v in ["v1.1", "v2.0", "v2.1", "v2.2", "v2.3", "v2.9", "v3.0"] {
                let v = MeshVersion::parse(v).unwrap();
                let _ = meshext_lint::rules::abi::judge(&info, v, &at, "fuzz");
                let _ = abi::inspect::render(&info, v);
            }
        }
        Err(e) => {
            assert!(
                e.offset <= bytes.len() + 16,
                "offset {} beyond {} bytes",
                e.offset,
                bytes.len()
            );
            let _ = meshext_lint::rules::images::invalid_module(&e, &at, "fuzz");
        }
    }
}

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

#[test]
fn truncated_modules_do_not_panic() {
    for seed in seeds() {
        // Every prefix of small modules; ~150 evenly spread prefixes of big ones.
        let step = (seed.len() / 150).max(1);
        for len in (0..seed.len()).step_by(step) {
            // A cut at a section boundary can still be a valid (smaller) module.
            exercise(&seed[..len]);
        }
    }
}

#[test]
fn mutated_modules_do_not_panic() {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    for seed in seeds() {
        let rounds = if seed.len() > 50_000 { 40 } else { 400 };
        for _ in 0..rounds {
            let mut m = seed.clone();
            for _ in 0..=rng.below(4) {
                let i = rng.below(m.len());
                match rng.below(4) {
                    0 => m[i] ^= 1 << rng.below(8),
                    1 => m[i] = 0xff,
                    2 => m[i] = rng.next() as u8,
                    _ => {
                        // Duplicate a slice: repeated sections, names, counts.
                        let j = (i + rng.below(32)).min(m.len());
                        let piece = m[i..j].to_vec();
                        m.splice(i..i, piece);
                    }
                }
            }
            exercise(&m);
        }
    }
}

#[test]
fn absurd_counts_do_not_allocate_or_panic() {
    // Header + import section claiming 2^32-1 entries in 5 bytes of payload.
    let mut m = b"\0asm\x01\0\0\0".to_vec();
    m.extend_from_slice(&[0x02, 0x05, 0xff, 0xff, 0xff, 0xff, 0x0f]);
    exercise(&m);
    // Type section with a huge declared size.
    let mut m = b"\0asm\x01\0\0\0".to_vec();
    m.extend_from_slice(&[0x01, 0xff, 0xff, 0xff, 0xff, 0x0f, 0x01]);
    exercise(&m);
}

fn leb(mut n: usize, out: &mut Vec<u8>) {
    loop {
        let b = (n & 0x7f) as u8;
        n >>= 7;
        if n == 0 {
            out.push(b);
            break;
        }
        out.push(b | 0x80);
    }
}

fn section(id: u8, body: &[u8], out: &mut Vec<u8>) {
    out.push(id);
    leb(body.len(), out);
    out.extend_from_slice(body);
}

/// A valid proxy-wasm-looking module of about `target` bytes: `funcs` functions whose bodies are
/// long runs of `i32.const 1; drop`.
fn big_module(target: usize) -> Vec<u8> {
    let funcs = 2000;
    let per_body = target / funcs;
    let mut m = b"\0asm\x01\0\0\0".to_vec();
    // Types: 0 = () -> (), 1 = (i32) -> i32, 2 = (i32 i32) -> (), 3 = (i32 i32 i32) -> i32
    let types: &[u8] = &[
        4, 0x60, 0, 0, 0x60, 1, 0x7f, 1, 0x7f, 0x60, 2, 0x7f, 0x7f, 0, 0x60, 3, 0x7f, 0x7f, 0x7f,
        1, 0x7f,
    ];
    section(1, types, &mut m);
    let mut fs = Vec::new();
    leb(funcs, &mut fs);
    fs.extend_from_slice(&[0, 1, 2, 3]);
    fs.extend(std::iter::repeat_n(0u8, funcs - 4));
    section(3, &fs, &mut m);
    section(5, &[1, 0, 17], &mut m); // one memory, min 17 pages
    let mut ex = Vec::new();
    let exports: [(&str, u8, u8); 5] = [
        ("proxy_abi_version_0_2_1", 0, 0),
        ("malloc", 0, 1),
        ("proxy_on_context_create", 0, 2),
        ("proxy_on_request_headers", 0, 3),
        ("memory", 2, 0),
    ];
    leb(exports.len(), &mut ex);
    for (name, kind, idx) in exports {
        leb(name.len(), &mut ex);
        ex.extend_from_slice(name.as_bytes());
        ex.push(kind);
        ex.push(idx);
    }
    section(7, &ex, &mut m);
    let mut code = Vec::new();
    leb(funcs, &mut code);
    for f in 0..funcs {
        let mut body = vec![0u8]; // no locals
        let ops = per_body / 3;
        for _ in 0..ops {
            body.extend_from_slice(&[0x41, 0x01, 0x1a]); // i32.const 1; drop
        }
        match f {
            1 => body.extend_from_slice(&[0x41, 0x00]),
            3 => body.extend_from_slice(&[0x41, 0x00]),
            _ => {}
        }
        body.push(0x0b);
        leb(body.len(), &mut code);
        code.extend_from_slice(&body);
    }
    section(10, &code, &mut m);
    m
}

fn time_analysis(bytes: &[u8]) -> Duration {
    let start = Instant::now();
    let info = abi::analyze(bytes).expect("valid");
    let found = abi::check(&info, MeshVersion::V2_2, "big");
    assert!(found.is_empty(), "{found:#?}");
    start.elapsed()
}

#[test]
fn a_3_5_mb_module_is_analysed_quickly_and_linearly() {
    let small = big_module(350_000);
    let big = big_module(3_500_000);
    assert!(big.len() >= 3_400_000, "{}", big.len());
    let t_small = time_analysis(&small).max(Duration::from_millis(1));
    let t_big = time_analysis(&big);
    eprintln!(
        "analysis: {} bytes {:?}, {} bytes {:?}",
        small.len(),
        t_small,
        big.len(),
        t_big
    );
    // Generous bounds for an unoptimised build on a shared machine; they catch quadratic work.
    assert!(t_big < Duration::from_secs(10), "{t_big:?}");
    assert!(
        t_big < t_small * 40 + Duration::from_millis(500),
        "{t_small:?} vs {t_big:?}"
    );
}
