//! Inputs shared by the benchmarks: the committed sample modules, OCI layouts packed from
//! them, a generated 3.5 MB proxy-wasm module, and timing/memory helpers.
#![allow(dead_code)] // each bench uses a different part

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Real Rust SDK modules that start with any JSON object configuration.
pub const RUST_SAMPLES: [&str; 5] = [
    "header-append",
    "counter",
    "body-rewrite",
    "oob-auth",
    "wasi-logger",
];

pub fn sample_module(name: &str) -> Vec<u8> {
    let p = root().join(format!("samples/extensions/build/{name}.wasm"));
    std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// Packs `count` distinct images named `{prefix}{i}:1.0` into the OCI layout `out`, cycling
/// over the Rust sample modules (each manifest differs, so every image has its own digest).
/// Returns the references.
pub fn pack_images(out: &Path, prefix: &str, count: usize) -> Vec<String> {
    let work = out.with_extension("src");
    std::fs::create_dir_all(&work).unwrap();
    let mut refs = Vec::new();
    for i in 0..count {
        let name = RUST_SAMPLES[i % RUST_SAMPLES.len()];
        let manifest = work.join(format!("manifest{i}.yaml"));
        std::fs::write(
            &manifest,
            format!("schemaVersion: 1\nname: {name}\ndescription: bench image {i}\nversion: 1.0.{i}\nphase: PostAuthZ\npriority: {}\nmodule: {name}.wasm\n", i % 100),
        )
        .unwrap();
        let module = root().join(format!("samples/extensions/build/{name}.wasm"));
        let reference = format!("{prefix}{i}:1.0");
        meshext_lint::image::pack::pack(&manifest, &module, &reference, out).expect("pack");
        refs.push(reference);
    }
    refs
}

/// A valid proxy-wasm (ABI 0.2.1) module of at least `target` bytes, shaped like a large
/// SDK build: thousands of functions with loops and arithmetic, one large data segment, and
/// start-up callbacks that call into a slice of that code. It needs no imports.
pub fn big_module(target: usize) -> Vec<u8> {
    const DATA: usize = 1 << 20; // 1 MiB of "rodata"
    const PER_FUNC: usize = 420; // approximate encoded bytes per filler function
    let funcs = (target.saturating_sub(DATA) / PER_FUNC).max(16);
    let mut w = String::with_capacity(funcs * 1200 + 3 * DATA);
    w.push_str(
        "(module\n(memory (export \"memory\") 40)\n(global $heap (mut i32) (i32.const 1114112))\n",
    );
    w.push_str("(func (export \"proxy_abi_version_0_2_1\"))\n");
    w.push_str("(func (export \"malloc\") (param i32) (result i32) (local i32) global.get $heap local.set 1 global.get $heap local.get 0 i32.add i32.const 7 i32.add i32.const -8 i32.and global.set $heap local.get 1)\n");
    w.push_str("(func (export \"proxy_on_context_create\") (param i32 i32))\n");
    w.push_str("(func (export \"proxy_on_vm_start\") (param i32 i32) (result i32) (drop (call $f0 (i32.const 3))) i32.const 1)\n");
    // on_configure runs 64 of the filler functions (a realistic start-up: parse, set up).
    w.push_str(
        "(func (export \"proxy_on_configure\") (param i32 i32) (result i32) (local i32 i32)\n",
    );
    for k in 0..64.min(funcs) {
        let _ = write!(
            w,
            " (local.set 3 (i32.add (local.get 3) (call $f{} (local.get 1))))",
            k * (funcs / 64).max(1)
        );
    }
    w.push_str(" i32.const 1)\n");
    w.push_str("(func (export \"proxy_on_request_headers\") (param i32 i32 i32) (result i32) (drop (call $f1 (local.get 1))) i32.const 0)\n");
    for f in 0..funcs {
        // ~20 bytes per unit, 20 units, inside a counted loop.
        let _ = writeln!(
            w,
            "(func $f{f} (param i32) (result i32) (local i32 i32)\n (local.set 2 (i32.const 4))\n (loop $l"
        );
        for u in 0..20 {
            let _ = writeln!(
                w,
                "  (local.set 1 (i32.xor (i32.mul (local.get 0) (i32.const {})) (local.get 1))) (local.set 0 (i32.add (i32.shr_u (local.get 1) (i32.const 3)) (local.get 0)))",
                (f + u) % 61 + 2
            );
        }
        w.push_str("  (local.set 2 (i32.sub (local.get 2) (i32.const 1)))\n  (br_if $l (local.get 2)))\n (local.get 0))\n");
    }
    w.push_str("(data (i32.const 65536) \"");
    for i in 0..DATA {
        let _ = write!(w, "\\{:02x}", (i * 31 % 251) as u8);
    }
    w.push_str("\")\n)\n");
    let bytes = wat::parse_str(&w).expect("generated WAT is valid");
    assert!(bytes.len() >= target * 9 / 10, "{} bytes", bytes.len());
    bytes
}

/// Peak resident set size of this process, MiB.
pub fn peak_rss_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            let line = s.lines().find(|l| l.starts_with("VmHWM:"))?;
            line.split_whitespace().nth(1)?.parse::<f64>().ok()
        })
        .map_or(f64::NAN, |kb| kb / 1024.0)
}

/// Runs `f` `n` times; returns (mean, min, max).
pub fn time_n<T>(n: usize, mut f: impl FnMut() -> T) -> (Duration, Duration, Duration) {
    let mut all = Vec::with_capacity(n);
    for _ in 0..n {
        let start = Instant::now();
        std::hint::black_box(f());
        all.push(start.elapsed());
    }
    let sum: Duration = all.iter().sum();
    (
        sum / n as u32,
        *all.iter().min().unwrap(),
        *all.iter().max().unwrap(),
    )
}

pub fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1e3)
}

/// The 1-minute load average (benchmarks on a shared machine say how busy it was).
pub fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|s| s.split_whitespace().next().map(str::to_string))
        .unwrap_or_else(|| "?".into())
}

/// CPU time this thread has spent running (from the scheduler), so figures can be given per
/// CPU-second as well as per wall-clock second on a busy machine.
pub fn thread_cpu() -> Duration {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse::<u64>().ok())
        .map_or(Duration::ZERO, Duration::from_nanos)
}
