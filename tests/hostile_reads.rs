//! Issue 16, "unbounded reads": every file the CLI reads whole must be a regular file (a FIFO
//! would block, `/dev/zero` never ends) and under its limit (docs/limits.md); otherwise exit 2
//! with the path and the reason, before reading it.
#![cfg(unix)]

mod common;
use common::*;
use std::path::{Path, PathBuf};

const MODULE: &str = "samples/extensions/build/header-append.wasm";
const SCENARIO: &str = "samples/scenarios/header-append.yaml";
const MANIFEST: &str = "samples/extensions/rust/header-append/manifest.yaml";

/// Runs the binary with a watchdog: a read that blocks (FIFO) or never ends fails the test
/// instead of hanging it. (exit code, stderr)
fn sh(args: &[&str]) -> (i32, String) {
    let mut child = bin()
        .args(args)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let start = std::time::Instant::now();
    loop {
        if child.try_wait().unwrap().is_some() {
            break;
        }
        if start.elapsed() > std::time::Duration::from_secs(60) {
            child.kill().unwrap();
            panic!("`{}` did not finish", args.join(" "));
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let out = child.wait_with_output().unwrap();
    (
        out.status.code().expect("exit code"),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn assert_refused(args: &[&str], path: &str, why: &str) {
    let (code, err) = sh(args);
    assert_eq!(code, 2, "{args:?}: {err}");
    assert!(err.contains(path), "{args:?}: {err}");
    assert!(err.contains(why), "{args:?}: {err}");
}

/// A FIFO with no writer (opening it for reading would block forever); None without `mkfifo`.
fn fifo(dir: &Path) -> Option<PathBuf> {
    let p = dir.join("fifo.yaml");
    match std::process::Command::new("mkfifo").arg(&p).status() {
        Ok(s) if s.success() => Some(p),
        _ => {
            eprintln!("skipped: mkfifo is not available");
            None
        }
    }
}

/// A sparse file of `len` bytes (no disk used).
fn sparse(dir: &Path, name: &str, len: u64) -> PathBuf {
    let p = dir.join(name);
    std::fs::File::create(&p).unwrap().set_len(len).unwrap();
    p
}

/// Every whole-file read of the CLI, with `path` in the place of that file.
fn reads(path: &str) -> Vec<Vec<String>> {
    let cfg = format!("@{path}");
    [
        vec!["simulate", "--module", MODULE, "--scenario", path],
        vec!["simulate", "--module", path, "--scenario", SCENARIO],
        vec![
            "simulate",
            "--module",
            MODULE,
            "--config",
            &cfg,
            "--scenario",
            SCENARIO,
        ],
        vec![
            "simulate",
            "--config-file",
            path,
            "--module",
            MODULE,
            "--scenario",
            SCENARIO,
        ],
        vec!["lint", "--config", path, "samples/mesh"],
        vec!["lint", "--no-config", path],
        vec!["lint", "--no-config", "--baseline", path, "samples/mesh"],
        vec![
            "pack",
            "--manifest",
            path,
            "--module",
            MODULE,
            "--ref",
            "q.io/a/b:1",
            "--out",
            "/nonexistent-out",
        ],
        vec![
            "pack",
            "--manifest",
            MANIFEST,
            "--module",
            path,
            "--ref",
            "q.io/a/b:1",
            "--out",
            "/nonexistent-out",
        ],
    ]
    .into_iter()
    .map(|v| v.into_iter().map(String::from).collect())
    .collect()
}

#[test]
fn dev_zero_is_not_a_regular_file() {
    for args in reads("/dev/zero") {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        assert_refused(&args, "/dev/zero", "not a regular file");
    }
}

#[test]
fn a_fifo_is_refused_without_blocking() {
    let tmp = tempfile::tempdir().unwrap();
    let Some(f) = fifo(tmp.path()) else { return };
    let f = f.to_str().unwrap();
    for args in reads(f) {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        assert_refused(&args, f, "not a regular file");
    }
}

#[test]
fn a_sparse_file_over_the_limit_is_refused_unread() {
    let tmp = tempfile::tempdir().unwrap();
    // Over every limit (the largest is 256 MiB), without using disk.
    let big = sparse(tmp.path(), "big.yaml", 300 << 20);
    let big = big.to_str().unwrap();
    for args in reads(big) {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        if args.len() == 3 && args[..2] == ["lint", "--no-config"] {
            // A lint input over its limit is a finding (MX101, exit 1), not an error.
            assert_eq!(sh(&args).0, 1, "{args:?}");
            continue;
        }
        let (code, err) = sh(&args);
        assert_eq!(code, 2, "{args:?}: {err}");
        assert!(err.contains(big), "{args:?}: {err}");
        assert!(err.contains("larger than"), "{args:?}: {err}");
    }
}
