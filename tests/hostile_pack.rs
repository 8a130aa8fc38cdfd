//! Issue 16, "writes outside the output": `pack --out` never writes through a symbolic link
//! planted in the output (to a file outside, dangling, or a linked subdirectory); it refuses the
//! output with exit 2 and names the link, and the link's target is left untouched.
#![cfg(unix)]

mod common;
use common::*;
use std::os::unix::fs::symlink;
use std::path::Path;

const MANIFEST: &str = "samples/extensions/rust/header-append/manifest.yaml";
const MODULE: &str = "samples/extensions/build/header-append.wasm";

/// `pack` into `out`: (exit code, stderr).
fn pack(out: &Path) -> (i32, String) {
    let o = run(&[
        "pack",
        "--manifest",
        MANIFEST,
        "--module",
        MODULE,
        "--ref",
        "quay.io/acme/packed:2.0",
        "--out",
        out.to_str().unwrap(),
    ]);
    (
        o.status.code().expect("exit code"),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

fn assert_refused(out: &Path, link: &Path) {
    let (code, err) = pack(out);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("symbolic link"), "{err}");
    assert!(err.contains(&link.display().to_string()), "{err}");
}

#[test]
fn symlink_to_a_file_outside_is_not_overwritten() {
    let tmp = tempfile::tempdir().unwrap();
    let victim = tmp.path().join("victim.txt");
    std::fs::write(&victim, "keep me").unwrap();
    let out = tmp.path().join("out");
    std::fs::create_dir(&out).unwrap();
    let link = out.join("index.json");
    symlink(&victim, &link).unwrap();
    assert_refused(&out, &link);
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "keep me");
}

#[test]
fn dangling_symlink_is_not_created_through() {
    let tmp = tempfile::tempdir().unwrap();
    let target = tmp.path().join("created-elsewhere");
    let out = tmp.path().join("out");
    std::fs::create_dir(&out).unwrap();
    let link = out.join("oci-layout");
    symlink(&target, &link).unwrap();
    assert_refused(&out, &link);
    assert!(
        !target.exists(),
        "a file was created through a dangling link"
    );
}

#[test]
fn symlinked_subdirectory_is_not_written_into() {
    let tmp = tempfile::tempdir().unwrap();
    let elsewhere = tmp.path().join("elsewhere");
    std::fs::create_dir(&elsewhere).unwrap();
    let out = tmp.path().join("out");
    std::fs::create_dir(&out).unwrap();
    let link = out.join("blobs");
    symlink(&elsewhere, &link).unwrap();
    assert_refused(&out, &link);
    assert_eq!(std::fs::read_dir(&elsewhere).unwrap().count(), 0);

    // Deeper: `blobs/sha256` is the link.
    let out2 = tmp.path().join("out2");
    std::fs::create_dir_all(out2.join("blobs")).unwrap();
    let link2 = out2.join("blobs/sha256");
    symlink(&elsewhere, &link2).unwrap();
    assert_refused(&out2, &link2);
    assert_eq!(std::fs::read_dir(&elsewhere).unwrap().count(), 0);
}

#[test]
fn archive_output_that_is_a_symlink_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let victim = tmp.path().join("victim.txt");
    std::fs::write(&victim, "keep me").unwrap();
    let link = tmp.path().join("image.tar");
    symlink(&victim, &link).unwrap();
    assert_refused(&link, &link);
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "keep me");
}

#[test]
fn clean_output_is_written_and_rewritten() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    assert_eq!(pack(&out).0, 0);
    // A second pack into the existing layout replaces the files in place; no temp files remain.
    assert_eq!(pack(&out).0, 0);
    let names: Vec<String> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(names.iter().all(|n| !n.contains(".tmp-")), "{names:?}");
}

#[test]
fn an_existing_index_that_cannot_be_read_is_not_replaced() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    std::fs::create_dir(&out).unwrap();
    // Over the 4 MiB JSON limit (sparse): refused, and left as it was.
    let index = out.join("index.json");
    std::fs::File::create(&index)
        .unwrap()
        .set_len(5 << 20)
        .unwrap();
    let (code, err) = pack(&out);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("index.json") && err.contains("larger than"),
        "{err}"
    );
    assert_eq!(std::fs::metadata(&index).unwrap().len(), 5 << 20);
}
