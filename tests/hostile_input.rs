//! Issue 16, the input side: one hostile input per class, generated here (nothing large is
//! committed). Each case runs the binary and asserts the exit code, the located error, and
//! that its peak resident memory stays under the budget of docs/limits.md ("Memory"). Where the
//! class is quadratic work, the proof is a ratio of CPU time (user + system, from `wait4`, so
//! neither the machine's speed nor its load matters much): 4× the input must cost well under
//! 16× the time.
#![cfg(unix)]

mod common;
use common::*;
use sha2::{Digest, Sha256};
use std::io::Write;
use std::path::{Path, PathBuf};

/// docs/limits.md, "Memory": peak RSS of one run at the default limits.
const BUDGET_KIB: u64 = 1 << 20;

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
    /// Peak resident set, KiB.
    rss_kib: u64,
    /// User + system CPU seconds.
    cpu: f64,
}

/// Runs the binary with output to files and reaps it with `wait4`, which reports its peak RSS
/// and CPU time. A child spawned from this (multi-threaded, sometimes large) test process
/// inherits the test's own peak RSS across `exec`, so when GNU time is installed it starts the
/// binary from its own small process and reports the binary's figures instead.
fn measure(args: &[&str]) -> Run {
    let dir = tempfile::tempdir().unwrap();
    let out = std::fs::File::create(dir.path().join("out")).unwrap();
    let err = std::fs::File::create(dir.path().join("err")).unwrap();
    let time = Path::new("/usr/bin/time");
    let report = dir.path().join("time");
    let mut cmd = bin();
    if time.exists() {
        let exe = cmd.get_program().to_owned();
        cmd = std::process::Command::new(time);
        cmd.current_dir(root())
            .env("NO_COLOR", "1")
            .stdin(std::process::Stdio::null())
            .arg("-f")
            .arg("%M %U %S")
            .arg("-o")
            .arg(&report)
            .arg(exe);
    }
    // Reaped by `wait4` below (which `Child::wait` would not give the usage of).
    #[allow(clippy::zombie_processes)]
    let child = cmd.args(args).stdout(out).stderr(err).spawn().unwrap();
    let mut status = 0;
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let pid = child.id() as libc::pid_t;
    let r = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    assert_eq!(r, pid, "wait4");
    assert!(libc::WIFEXITED(status), "{args:?} did not exit (signal)");
    let secs = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    let read =
        |n: &str| String::from_utf8_lossy(&std::fs::read(dir.path().join(n)).unwrap()).into_owned();
    // Linux reports ru_maxrss in KiB, as GNU time's %M.
    let (mut rss_kib, mut cpu) = (
        usage.ru_maxrss as u64,
        secs(usage.ru_utime) + secs(usage.ru_stime),
    );
    if let Ok(t) = std::fs::read_to_string(&report) {
        // The last line (GNU time puts "Command exited with non-zero status N" first).
        let f: Vec<&str> = t.lines().last().unwrap_or("").split_whitespace().collect();
        if let [m, u, s] = f[..] {
            rss_kib = m.parse().unwrap();
            cpu = u.parse::<f64>().unwrap() + s.parse::<f64>().unwrap();
        }
    }
    Run {
        code: libc::WEXITSTATUS(status),
        stdout: read("out"),
        stderr: read("err"),
        rss_kib,
        cpu,
    }
}

fn under_budget(r: &Run, what: &str) {
    assert!(
        r.rss_kib < BUDGET_KIB,
        "{what}: peak RSS {} KiB, budget {BUDGET_KIB} KiB",
        r.rss_kib
    );
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

// ---- YAML -------------------------------------------------------------------------------

#[test]
fn aliases_re_nesting_collections_stop_at_the_depth_bound() {
    // The text is 3 levels deep; each alias adds 2 levels to the tree that `to_json` walks.
    let dir = tempfile::tempdir().unwrap();
    let mut text = String::from("a0: &a0 [[[x]]]\n");
    for i in 1..5000 {
        text.push_str(&format!("a{i}: &a{i} [[*a{}]]\n", i - 1));
    }
    let f = write(dir.path(), "deep.yaml", &text);
    let r = measure(&["lint", "--format", "json", s(&f)]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(
        r.stdout
            .contains("alias nests collections deeper than 200 levels"),
        "{}",
        r.stdout
    );
    // a99 is the first alias whose copy passes 200 levels: line 100, at the alias.
    assert!(r.stdout.contains("\"line\": 100"), "{}", r.stdout);
    under_budget(&r, "alias depth");
}

#[test]
fn a_large_scalar_multiplied_by_aliases_is_bounded_by_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let mut text = format!("s: &s {}\nl:\n", "x".repeat(1 << 20));
    text.push_str(&"- *s\n".repeat(5000)); // 5 GB expanded, 2,500 nodes: under any node bound
    let f = write(dir.path(), "bomb.yaml", &text);
    let r = measure(&["lint", s(&f)]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(
        r.stdout
            .contains("file expands to more than 67108864 bytes of scalars (alias bomb?)"),
        "{}",
        r.stdout
    );
    assert!(r.stdout.contains("bomb.yaml:"), "{}", r.stdout);
    under_budget(&r, "scalar bomb");
}

/// A document of about 111,000 nodes built from 50 bytes of aliases.
fn laughs(n: usize) -> String {
    let mut t = String::new();
    for d in 0..n {
        t.push_str(&format!(
            "---\na: &a{d} [x, x, x, x, x, x, x, x, x, x]\nb: &b{d} [{a}]\nc: &c{d} [{b}]\nd: &d{d} [{c}]\ne: [{dd}]\n",
            a = vec![format!("*a{d}"); 10].join(", "),
            b = vec![format!("*b{d}"); 10].join(", "),
            c = vec![format!("*c{d}"); 10].join(", "),
            dd = vec![format!("*d{d}"); 10].join(", "),
        ));
    }
    t
}

#[test]
fn many_documents_each_under_the_document_budget_hit_the_file_budget() {
    let dir = tempfile::tempdir().unwrap();
    let f = write(dir.path(), "docs.yaml", &laughs(40)); // 40 × 111k = 4.4M nodes
    let r = measure(&["lint", s(&f)]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(
        r.stdout.contains("file expands to more than 2000000 nodes"),
        "{}",
        r.stdout
    );
    under_budget(&r, "documents");
}

#[test]
fn many_files_each_under_the_file_budget_hit_the_run_budget() {
    let dir = tempfile::tempdir().unwrap();
    let mut args = vec!["lint".to_string()];
    for i in 0..6 {
        // 17 × 111k = 1.9M nodes each, 11M in all
        let f = write(dir.path(), &format!("f{i}.yaml"), &laughs(17));
        args.push(f.to_string_lossy().into_owned());
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let r = measure(&args);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(
        r.stdout.contains(
            "the YAML of this run expands to more than 4000000 nodes (limit yaml-run-nodes)"
        ),
        "{}",
        r.stdout
    );
    under_budget(&r, "run");
}

/// Files the loader's fast path reads (no aliases): the run budget counts them once each, and
/// the file that crosses it is reported (by the saphyr path, which the fast path leaves it to).
#[test]
fn plain_files_count_once_against_the_run_budget() {
    let dir = tempfile::tempdir().unwrap();
    let mut text = String::from("apiVersion: v1\nkind: ConfigMap\ndata:\n");
    for i in 0..50_000 {
        text.push_str(&format!("  k{i}: v\n"));
    }
    let files: Vec<String> = (0..3)
        .map(|i| {
            let f = write(dir.path(), &format!("f{i}.yaml"), &text);
            f.to_string_lossy().into_owned()
        })
        .collect();
    let message = "the YAML of this run expands to more than 250000 nodes (limit yaml-run-nodes)";
    // ~100,000 nodes a file: two fit in 250,000, three do not.
    for (n, errors) in [(2, 0), (3, 1)] {
        let mut args = vec!["lint", "--limit", "yaml-run-nodes=250000"];
        args.extend(files[..n].iter().map(String::as_str));
        let r = measure(&args);
        assert_eq!(
            r.stdout.matches(message).count(),
            errors,
            "{n} files: {}",
            r.stdout
        );
        under_budget(&r, "run");
    }
}

#[test]
fn an_image_manifest_with_many_documents_is_bounded_and_reported() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("img");
    std::fs::create_dir(&root).unwrap();
    let manifest = format!(
        "schemaVersion: 1\nname: ext\nphase: PostAuthZ\nmodule: ext.wasm\n{}",
        laughs(30)
    );
    std::fs::write(root.join("manifest.yaml"), manifest).unwrap();
    std::fs::write(root.join("ext.wasm"), b"\0asm\x01\0\0\0").unwrap();
    let r = measure(&["inspect", s(&root)]);
    assert!(
        r.stdout.contains("file expands to more than 2000000 nodes"),
        "{}\n{}",
        r.stdout,
        r.stderr
    );
    under_budget(&r, "manifest documents");
    // Under the budget, the extra documents are a finding, not silently ignored.
    std::fs::write(
        root.join("manifest.yaml"),
        "schemaVersion: 1\nname: ext\nphase: PostAuthZ\nmodule: ext.wasm\n---\nname: other\n",
    )
    .unwrap();
    let r = measure(&["inspect", s(&root)]);
    assert!(
        r.stdout
            .contains("holds 2 documents; only the first is read"),
        "{}\n{}",
        r.stdout,
        r.stderr
    );
    assert!(r.stdout.contains("manifest.yaml:5:1"), "{}", r.stdout);
}

/// CPU seconds of `lint` on a file of `n` keys written by `make`.
fn cpu_for(
    args_for: impl Fn(&Path) -> Vec<String>,
    make: impl Fn(usize) -> String,
    n: usize,
) -> (f64, Run) {
    let dir = tempfile::tempdir().unwrap();
    let f = write(dir.path(), "keys.yaml", &make(n));
    let mut args = args_for(&f);
    args.iter_mut()
        .for_each(|a| *a = a.replace("{}", &f.to_string_lossy()));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let r = measure(&args);
    (r.cpu, r)
}

/// Work for 4n must not be quadratic: linear is about 4×, quadratic 16×.
fn assert_linear(
    what: &str,
    args_for: impl Fn(&Path) -> Vec<String> + Copy,
    make: impl Fn(usize) -> String + Copy,
) -> Run {
    let (small, _) = cpu_for(args_for, make, 10_000);
    let (large, r) = cpu_for(args_for, make, 40_000);
    assert!(
        large < 8.0 * small + 0.3,
        "{what}: 10k keys {small:.3}s CPU, 40k keys {large:.3}s (quadratic?)"
    );
    under_budget(&r, what);
    r
}

fn many_keys(n: usize) -> String {
    let mut t = String::from("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\ndata:\n");
    for i in 0..n {
        t.push_str(&format!("  k{i}: v\n"));
    }
    t.push_str("  k0: again\n");
    t
}

#[test]
fn forty_thousand_keys_are_linear_in_lint_inputs() {
    let r = assert_linear("lint", |_| vec!["lint".into(), "{}".into()], many_keys);
    assert!(r.stdout.contains("duplicate key"), "{}", r.stdout);
    assert!(r.stdout.contains("keys.yaml:40006:3"), "{}", r.stdout);
}

#[test]
fn forty_thousand_keys_are_linear_in_scenarios() {
    let make = |n: usize| {
        let mut t = String::from("requests:\n- name: a\n  headers:\n");
        for i in 0..n {
            t.push_str(&format!("    h{i}: v\n"));
        }
        t.push_str("    h0: again\n");
        t
    };
    let r = assert_linear(
        "scenario",
        |_| {
            [
                "simulate",
                "--module",
                "samples/extensions/build/header-append.wasm",
                "--scenario",
                "{}",
            ]
            .map(String::from)
            .to_vec()
        },
        make,
    );
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("duplicate key `h0`"), "{}", r.stderr);
}

#[test]
fn forty_thousand_merged_keys_are_linear() {
    let make = |n: usize| {
        let mut t = String::from("x: &b\n");
        for i in 0..n {
            t.push_str(&format!("  k{i}: v\n"));
        }
        t.push_str(
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\ndata:\n  <<: *b\n  k1: own\n",
        );
        t
    };
    assert_linear("merge", |_| vec!["lint".into(), "{}".into()], make);
}

#[test]
fn forty_thousand_keys_are_linear_in_an_image_manifest() {
    let run = |n: usize| {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("img");
        std::fs::create_dir(&root).unwrap();
        let mut t =
            String::from("schemaVersion: 1\nname: ext\nphase: PostAuthZ\nmodule: ext.wasm\n");
        for i in 0..n {
            t.push_str(&format!("k{i}: v\n"));
        }
        t.push_str("k0: again\n");
        std::fs::write(root.join("manifest.yaml"), t).unwrap();
        std::fs::write(root.join("ext.wasm"), b"\0asm\x01\0\0\0").unwrap();
        measure(&["inspect", s(&root)])
    };
    let small = run(10_000);
    let large = run(40_000);
    assert!(
        large.cpu < 8.0 * small.cpu + 0.3,
        "10k keys {:.3}s CPU, 40k keys {:.3}s (quadratic?)",
        small.cpu,
        large.cpu
    );
    assert!(
        large
            .stdout
            .contains("manifest.yaml:40005:1: error[MX403]: duplicate key `k0`"),
        "{}",
        large.stdout
    );
    under_budget(&large, "manifest keys");
}

// ---- human output ---------------------------------------------------------------------

#[test]
fn snippets_of_a_one_line_file_are_clipped_around_the_column() {
    let dir = tempfile::tempdir().unwrap();
    let items: Vec<String> = (0..1000)
        .map(|i| {
            format!(
                r#"{{"apiVersion":"maistra.io/v1","kind":"ServiceMeshExtension","metadata":{{"name":"e{i}","namespace":"x"}},"spec":{{"image":"quay.io/a/b:1","phase":"Bogus","config":{{}}}}}}"#
            )
        })
        .collect();
    let text = format!(
        r#"{{"apiVersion":"v1","kind":"List","items":[{}]}}"#,
        items.join(",")
    );
    let f = write(dir.path(), "list.json", &text);
    let r = measure(&["lint", s(&f)]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    let findings = r.stdout.matches("error[MX301]").count();
    assert_eq!(findings, 1000);
    // Each snippet line is at most snippet-width (160) characters plus two ellipses and the
    // gutter: the whole 160 KB line was printed for each finding before.
    let longest = r.stdout.lines().map(|l| l.chars().count()).max().unwrap();
    assert!(longest <= 160 + 2 + 12, "a line of {longest} characters");
    assert!(
        r.stdout.len() < 2_000_000,
        "{} bytes of output",
        r.stdout.len()
    );
    // The column shown is the column in the file, and the window holds the label.
    assert!(r.stdout.contains("┌─ "), "{}", &r.stdout[..2000]);
    let last = text.rfind("\"Bogus\"").unwrap() + 1;
    assert!(
        r.stdout.contains(&format!("list.json:1:{last}")),
        "no location 1:{last}"
    );
    under_budget(&r, "snippets");
    // `--limit snippet-width` narrows the window.
    let r = measure(&["lint", "--limit", "snippet-width=40", s(&f)]);
    let longest = r
        .stdout
        .lines()
        .filter(|l| l.starts_with("1 │"))
        .map(|l| l.chars().count())
        .max()
        .unwrap();
    assert!(longest <= 40 + 2 + 4, "a line of {longest} characters");
}

// ---- images ---------------------------------------------------------------------------

/// The image was read (findings about its trivial module are fine; MX402 is not).
fn read_ok(r: &Run) {
    assert_ne!(r.code, 2, "{}", r.stderr);
    assert!(!r.stdout.contains("MX402"), "{}", r.stdout);
}

fn sha(b: &[u8]) -> String {
    format!("sha256:{:x}", Sha256::digest(b))
}

fn gz(b: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(b).unwrap();
    e.finish().unwrap()
}

fn header(name: &[u8], kind: u8, size: u64) -> [u8; 512] {
    let mut h = tar::Header::new_gnu();
    h.as_gnu_mut().unwrap().name[..name.len()].copy_from_slice(name);
    h.set_entry_type(tar::EntryType::new(kind));
    h.set_size(size);
    h.set_mode(0o644);
    h.set_cksum();
    *h.as_bytes()
}

/// A tar of (name, type, data) entries, names as raw header bytes.
fn tar_of(entries: &[(&[u8], u8, &[u8])]) -> Vec<u8> {
    let mut out = Vec::new();
    for (name, kind, data) in entries {
        out.extend_from_slice(&header(name, *kind, data.len() as u64));
        out.extend_from_slice(data);
        out.resize(out.len().div_ceil(512) * 512, 0);
    }
    out.resize(out.len() + 1024, 0);
    out
}

/// An OCI layout with one image per entry of `images` (each a list of gzip layers).
fn layout(dir: &Path, images: &[Vec<Vec<u8>>]) -> PathBuf {
    let root = dir.join("layout");
    std::fs::create_dir_all(root.join("blobs/sha256")).unwrap();
    let blob = |b: &[u8]| {
        let d = sha(b);
        std::fs::write(root.join("blobs/sha256").join(&d[7..]), b).unwrap();
        d
    };
    let mut manifests = Vec::new();
    // (compressed digest, diff_id) of each distinct layer, computed once.
    let mut known: std::collections::HashMap<&[u8], (String, String)> = Default::default();
    for (n, layers) in images.iter().enumerate() {
        let mut descs = Vec::new();
        let mut diff_ids = Vec::new();
        for l in layers {
            let (digest, diff_id) = known.entry(&l[..]).or_insert_with(|| {
                let mut h = Sha256::new();
                let _ = std::io::copy(&mut flate2::read::GzDecoder::new(&l[..]), &mut h);
                (blob(l), format!("sha256:{:x}", h.finalize()))
            });
            diff_ids.push(diff_id.clone());
            descs.push(
                serde_json::json!({"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                "digest": digest, "size": l.len()}),
            );
        }
        let config =
            serde_json::to_vec(&serde_json::json!({"architecture": "amd64", "os": "linux",
            "created": format!("image {n}"), "rootfs": {"type": "layers", "diff_ids": diff_ids}}))
            .unwrap();
        let manifest = serde_json::to_vec(&serde_json::json!({"schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": blob(&config), "size": config.len()},
            "layers": descs}))
        .unwrap();
        manifests.push(serde_json::json!({"mediaType": "application/vnd.oci.image.manifest.v1+json",
            "digest": blob(&manifest), "size": manifest.len(),
            "annotations": {"org.opencontainers.image.ref.name": format!("quay.io/acme/ext{n}:1.0")}}));
    }
    std::fs::write(
        root.join("index.json"),
        serde_json::to_vec(&serde_json::json!({"schemaVersion": 2, "manifests": manifests}))
            .unwrap(),
    )
    .unwrap();
    std::fs::write(root.join("oci-layout"), r#"{"imageLayoutVersion":"1.0.0"}"#).unwrap();
    root
}

const MANIFEST: &[u8] = b"schemaVersion: 1\nname: ext\nphase: PostAuthZ\nmodule: ext.wasm\n";
const WASM: &[u8] = b"\0asm\x01\0\0\0";

#[test]
fn a_gnu_long_name_of_a_gigabyte_is_refused_before_it_is_buffered() {
    let dir = tempfile::tempdir().unwrap();
    // The header claims 1 GiB; the data is zeros, which gzip makes 1 MB of.
    let mut t = header(b"././@LongLink", b'L', 1 << 30).to_vec();
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    enc.write_all(&t).unwrap();
    let zeros = vec![0u8; 1 << 20];
    for _ in 0..48 {
        enc.write_all(&zeros).unwrap(); // 48 MiB of name: under the uncompressed bound
    }
    t.clear();
    let layer = enc.finish().unwrap();
    let img = layout(dir.path(), &[vec![layer]]);
    let r = measure(&["inspect", s(&img)]);
    assert_ne!(r.code, 0);
    let all = format!("{}{}", r.stdout, r.stderr);
    assert!(
        all.contains(
            "a tar extension header (type `L`) of 1073741824 bytes, more than the bound 1048576"
        ),
        "{all}"
    );
    assert!(all.contains("quay.io/acme/ext0:1.0"), "{all}");
    // 48 MiB would have been buffered before.
    assert!(r.rss_kib < 40 << 10, "peak RSS {} KiB", r.rss_kib);
}

#[test]
fn a_path_100000_levels_deep_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let deep = "a/".repeat(100_000) + "f";
    let layer = gz(&tar_of(&[
        (b"././@LongLink", b'L', deep.as_bytes()),
        (b"placeholder", b'0', b"x"),
    ]));
    let img = layout(dir.path(), &[vec![layer]]);
    let r = measure(&["inspect", s(&img)]);
    let all = format!("{}{}", r.stdout, r.stderr);
    assert_ne!(r.code, 0);
    assert!(
        all.contains("a path of 200001 bytes in a layer, more than the bound 4096"),
        "{all}"
    );
    under_budget(&r, "deep path");
}

#[test]
fn repeated_opaque_whiteouts_are_linear() {
    let make = |n: usize| {
        let dir = tempfile::tempdir().unwrap();
        let names: Vec<String> = (0..n).map(|i| format!("d/f{i}")).collect();
        let mut lower: Vec<(&[u8], u8, &[u8])> = names
            .iter()
            .map(|f| (f.as_bytes(), b'0', &b"x"[..]))
            .collect();
        lower.push((b"manifest.yaml", b'0', MANIFEST));
        lower.push((b"ext.wasm", b'0', WASM));
        let mut upper: Vec<(&[u8], u8, &[u8])> = names
            .iter()
            .map(|f| (f.as_bytes(), b'0', &b"y"[..]))
            .collect();
        upper.extend(std::iter::repeat_n(
            (&b"d/.wh..wh..opq"[..], b'0', &b""[..]),
            n,
        ));
        let img = layout(
            dir.path(),
            &[vec![gz(&tar_of(&lower)), gz(&tar_of(&upper))]],
        );
        let r = measure(&["inspect", "--format", "json", s(&img)]);
        (dir, r)
    };
    let (_d1, small) = make(5_000);
    let (_d2, large) = make(20_000);
    read_ok(&large);
    assert!(
        large.cpu < 8.0 * small.cpu + 0.3,
        "5k whiteouts {:.3}s, 20k {:.3}s (quadratic?)",
        small.cpu,
        large.cpu
    );
    under_budget(&large, "whiteouts");
}

#[test]
fn a_blob_listed_27000_times_is_refused_by_the_layer_bound() {
    let dir = tempfile::tempdir().unwrap();
    let layer = gz(&tar_of(&[
        (b"manifest.yaml", b'0', MANIFEST),
        (b"ext.wasm", b'0', WASM),
    ]));
    let img = layout(dir.path(), &[vec![layer; 27_000]]);
    let r = measure(&["inspect", s(&img)]);
    let all = format!("{}{}", r.stdout, r.stderr);
    assert_ne!(r.code, 0);
    assert!(
        all.contains(
            "the manifest lists 27000 layers, more than the bound 128 (limit image-layers)"
        ),
        "{all}"
    );
    under_budget(&r, "layers");
    // Under the bound, a repeated blob is accepted (and read once).
    let dir = tempfile::tempdir().unwrap();
    let layer = gz(&tar_of(&[
        (b"manifest.yaml", b'0', MANIFEST),
        (b"ext.wasm", b'0', WASM),
    ]));
    let img = layout(dir.path(), &[vec![layer; 100]]);
    let r = measure(&["inspect", "--format", "json", s(&img)]);
    read_ok(&r);
}

#[test]
fn images_sharing_a_large_layer_share_its_memory() {
    let dir = tempfile::tempdir().unwrap();
    // 24 images (distinct configs) over one layer holding a 24 MiB file: 576 MiB if each
    // image kept its own copy.
    const BIG: u64 = 24 << 20;
    // Streamed, so that this test process stays small.
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    enc.write_all(&header(b"big", b'0', BIG)).unwrap();
    let chunk = vec![7u8; 1 << 20];
    for _ in 0..BIG >> 20 {
        enc.write_all(&chunk).unwrap();
    }
    enc.write_all(&tar_of(&[
        (b"manifest.yaml", b'0', MANIFEST),
        (b"ext.wasm", b'0', WASM),
    ]))
    .unwrap();
    let shared = enc.finish().unwrap();
    let images: Vec<Vec<Vec<u8>>> = (0..24).map(|_| vec![shared.clone()]).collect();
    let img = layout(dir.path(), &images);
    let r = measure(&["inspect", "--format", "json", s(&img)]);
    read_ok(&r);
    // One copy held, plus the one being read by each of the (at most 2) threads (each read
    // into a buffer of exactly the file's size: growing one by doubling held up to 1.5×).
    assert!(
        r.rss_kib < ((3 * BIG) >> 10) + (40 << 10),
        "peak RSS {} KiB",
        r.rss_kib
    );
    // And the total is bounded: with room for one copy only, distinct contents are refused.
    let r = measure(&["inspect", "--limit", "images-total-bytes=1MiB", s(&img)]);
    let all = format!("{}{}", r.stdout, r.stderr);
    assert!(all.contains("limit images-total-bytes"), "{all}");
}

// ---- limits ---------------------------------------------------------------------------

#[test]
fn limits_are_set_by_flag_and_config_and_unknown_names_are_errors() {
    let dir = tempfile::tempdir().unwrap();
    let f = write(dir.path(), "x.yaml", "a: [[[[1]]]]\n");
    let cfg = write(dir.path(), "c.yaml", "limits:\n  yaml-depth: 3\n");
    let r = measure(&["lint", "--config", s(&cfg), s(&f)]);
    assert_eq!(r.code, 1);
    assert!(
        r.stdout.contains("nesting deeper than 3 levels"),
        "{}",
        r.stdout
    );
    assert!(r.stdout.contains("x.yaml:1:6"), "{}", r.stdout);
    // The flag wins over the config.
    let r = measure(&[
        "lint",
        "--config",
        s(&cfg),
        "--limit",
        "yaml-depth=10",
        s(&f),
    ]);
    assert!(!r.stdout.contains("nesting deeper"), "{}", r.stdout);
    let r = measure(&["lint", "--limit", "yaml-depth=2", s(&f)]);
    assert!(
        r.stdout.contains("nesting deeper than 2 levels"),
        "{}",
        r.stdout
    );
    // Unknown names and bad values: a usage error, or a located config error.
    let r = measure(&["lint", "--limit", "yaml-deep=2", s(&f)]);
    assert_eq!(r.code, 2);
    assert!(
        r.stderr.contains("unknown limit `yaml-deep`"),
        "{}",
        r.stderr
    );
    let r = measure(&["lint", "--limit", "yaml-depth=0", s(&f)]);
    assert_eq!(r.code, 2);
    let cfg = write(
        dir.path(),
        "c.yaml",
        "limits:\n  yaml-depth: 3\n  bogus: 1MiB\n",
    );
    let r = measure(&["lint", "--config", s(&cfg), s(&f)]);
    assert_eq!(r.code, 2);
    assert!(
        r.stderr.contains("c.yaml:3:3: unknown limit `bogus`"),
        "{}",
        r.stderr
    );
    let cfg = write(dir.path(), "c.yaml", "limits:\n  input-bytes: lots\n");
    let r = measure(&["lint", "--config", s(&cfg), s(&f)]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("c.yaml:2:16"), "{}", r.stderr);
    // A byte limit with a unit: the input is now too large (MX101).
    let r = measure(&["lint", "--limit", "input-bytes=8", s(&f)]);
    assert_eq!(r.code, 1);
    assert!(r.stdout.contains("MX101"), "{}", r.stdout);
}

#[test]
fn every_documented_limit_is_in_the_registry_and_the_docs() {
    let doc = std::fs::read_to_string(root().join("docs/limits.md")).unwrap();
    for name in meshext_lint::limits::names() {
        assert!(
            doc.contains(&format!("`{name}`")),
            "docs/limits.md does not list `{name}`"
        );
    }
}
