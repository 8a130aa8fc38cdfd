//! Issue 16, "proof": under `strace -f`, `lint`, `chain`, `simulate`, `inspect` and `pack`
//! on the samples make no network syscall and write nothing outside the output paths they
//! were given. Skipped (with a message) where `strace` is absent or not permitted (`.ci/run`
//! installs it).
#![cfg(target_os = "linux")]

mod common;
use common::*;
use std::path::{Path, PathBuf};
use std::process::Command;

const TRACED: &str = "trace=network,open,openat,openat2,creat,rename,renameat,renameat2,\
unlink,unlinkat,rmdir,mkdir,mkdirat,link,linkat,symlink,symlinkat,truncate,chmod,fchmodat,\
chown,fchownat,utimensat,mknod,mknodat";

/// Whether strace runs here (installed, and ptrace allowed).
fn strace_works() -> bool {
    match Command::new("strace")
        .args(["-f", "-qq", "-o", "/dev/null", "true"])
        .status()
    {
        Ok(s) if s.success() => true,
        _ => {
            eprintln!(
                "skipped: strace is not installed or cannot trace here (apt-get install strace)"
            );
            false
        }
    }
}

/// Runs the binary under strace; returns (exit code, the syscall lines).
fn traced(args: &[&str], dir: &Path) -> (i32, Vec<String>) {
    let log = dir.join(format!("strace-{}.txt", args[0]));
    let status = Command::new("strace")
        .args(["-f", "-qq", "-s", "4096", "-e", TRACED, "-o"])
        .arg(&log)
        .arg(env!("CARGO_BIN_EXE_meshext-lint"))
        .args(args)
        .current_dir(root())
        .env("NO_COLOR", "1")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .unwrap();
    let text = std::fs::read_to_string(&log).unwrap();
    (
        status.code().unwrap_or(-1),
        text.lines().map(str::to_string).collect(),
    )
}

/// The first quoted string of a syscall line (the path), absolute.
fn paths(line: &str) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut rest = line;
    while let Some(start) = rest.find('"') {
        let after = &rest[start + 1..];
        let Some(end) = after.find('"') else { break };
        let p = &after[..end];
        let p = Path::new(p);
        out.push(if p.is_absolute() {
            p.to_path_buf()
        } else {
            root().join(p)
        });
        rest = &after[end + 1..];
    }
    out
}

/// Whether a syscall line writes (creates, changes or removes) something.
fn writes(line: &str) -> bool {
    let call = line
        .split_whitespace()
        .nth(1)
        .unwrap_or("")
        .split('(')
        .next()
        .unwrap_or("");
    match call {
        "open" | "openat" | "openat2" => {
            line.contains("O_WRONLY")
                || line.contains("O_RDWR")
                || line.contains("O_CREAT")
                || line.contains("O_TRUNC")
        }
        "" => false,
        _ => !line.contains("= -1 ") || line.contains("EEXIST"),
    }
}

/// Asserts that no line is a network call and every write is under one of `outputs`.
fn assert_confined(what: &str, lines: &[String], outputs: &[&Path]) {
    for l in lines {
        let call = l.split_whitespace().nth(1).unwrap_or("");
        for net in [
            "socket(", "connect(", "bind(", "sendto(", "sendmsg(", "listen(",
        ] {
            assert!(!call.starts_with(net), "{what}: network syscall: {l}");
        }
        if !writes(l) {
            continue;
        }
        // A failed call wrote nothing.
        if l.contains("= -1 ") {
            continue;
        }
        let ps = paths(l);
        let ok = ps.iter().all(|p| {
            p.starts_with("/dev/null")
                || p.starts_with("/dev/tty")
                || outputs.iter().any(|o| p.starts_with(o))
        });
        assert!(ok, "{what}: write outside {outputs:?}: {l}");
    }
}

#[test]
fn commands_make_no_network_calls_and_write_only_their_outputs() {
    if !strace_works() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let logs = tmp.path().join("logs");
    std::fs::create_dir(&logs).unwrap();
    let out = tmp.path().join("out");
    std::fs::create_dir(&out).unwrap();
    let report = out.join("report.txt");
    let layout = out.join("layout");
    let archive = out.join("image.tar");
    let cases: Vec<(Vec<&str>, Vec<&Path>)> = vec![
        (
            vec![
                "lint",
                "samples/mesh",
                "--images",
                "samples/images",
                "-o",
                report.to_str().unwrap(),
            ],
            vec![&report],
        ),
        (
            vec!["lint", "samples/broken", "--images", "samples/images"],
            vec![],
        ),
        (
            vec!["chain", "samples/mesh", "--images", "samples/images"],
            vec![],
        ),
        (
            vec![
                "simulate",
                "samples/mesh",
                "--images",
                "samples/images",
                "--scenario",
                "samples/scenarios/shop-web.yaml",
            ],
            vec![],
        ),
        (
            vec![
                "simulate",
                "--module",
                "samples/extensions/build/header-append.wasm",
                "--config",
                r#"{"x-team":"payments"}"#,
                "--scenario",
                "samples/scenarios/header-append.yaml",
            ],
            vec![],
        ),
        (
            vec![
                "inspect",
                "quay.io/meshext-samples/oob-auth:1.0",
                "--images",
                "samples/images",
            ],
            vec![],
        ),
        (
            vec!["inspect", "samples/extensions/build/c-add-header.wasm"],
            vec![],
        ),
        (
            vec![
                "pack",
                "--manifest",
                "samples/extensions/rust/header-append/manifest.yaml",
                "--module",
                "samples/extensions/build/header-append.wasm",
                "--ref",
                "quay.io/acme/packed:1.0",
                "--out",
                layout.to_str().unwrap(),
            ],
            vec![&layout],
        ),
        (
            vec![
                "pack",
                "--manifest",
                "samples/extensions/rust/header-append/manifest.yaml",
                "--module",
                "samples/extensions/build/header-append.wasm",
                "--ref",
                "quay.io/acme/packed:1.0",
                "--out",
                archive.to_str().unwrap(),
            ],
            // The archive is written as a temporary file next to it, renamed into place.
            vec![&out],
        ),
    ];
    for (args, outputs) in &cases {
        let what = args.join(" ");
        let (code, lines) = traced(args, &logs);
        assert!(code == 0 || code == 1, "{what}: exit {code}");
        assert!(
            lines.iter().any(|l| l.contains("openat(")),
            "{what}: strace recorded nothing"
        );
        assert_confined(&what, &lines, outputs);
    }
    assert!(report.exists() && layout.join("index.json").exists() && archive.exists());
}

#[test]
fn the_checker_sees_a_write_outside_and_a_socket() {
    // The assertion itself can fail: a made-up trace with a stray write and a socket.
    let stray = vec![
        r#"123 openat(AT_FDCWD, "/tmp/elsewhere", O_WRONLY|O_CREAT|O_CLOEXEC, 0666) = 3"#
            .to_string(),
    ];
    let r = std::panic::catch_unwind(|| assert_confined("t", &stray, &[Path::new("/out")]));
    assert!(r.is_err());
    let net = vec!["123 socket(AF_INET, SOCK_STREAM, 0) = 3".to_string()];
    let r = std::panic::catch_unwind(|| assert_confined("t", &net, &[]));
    assert!(r.is_err());
    let read = vec![r#"123 openat(AT_FDCWD, "samples/mesh", O_RDONLY|O_CLOEXEC) = 3"#.to_string()];
    assert_confined("t", &read, &[]);
}
