//! The little `lint` asks of git, through the `git` command (no network): which files a work
//! tree tracks (`--context` leaves untracked ones out) and the tree of a revision
//! (`--new-since REV`).

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

fn git(dir: &Path) -> Command {
    let mut c = Command::new("git");
    c.arg("-C").arg(dir).stdin(Stdio::null());
    c
}

/// The top directory of the work tree holding `dir`, or `None` outside one (or without git).
pub fn toplevel(dir: &Path) -> Option<PathBuf> {
    let out = git(dir)
        .args(["rev-parse", "--show-toplevel"])
        .stderr(Stdio::null())
        .output()
        .ok()?;
    if !out.status.success() {
        return None;
    }
    let top = String::from_utf8(out.stdout).ok()?;
    Some(PathBuf::from(top.trim_end_matches(['\n', '\r'])))
}

/// The files under `dir` that git tracks (in the index, so staged new files count), as
/// canonical paths; `None` when `dir` is not in a git work tree, or holds no tracked file at
/// all (a directory given on purpose, such as a revision's tree unpacked under a work tree).
pub fn tracked(dir: &Path) -> Option<HashSet<PathBuf>> {
    toplevel(dir)?;
    let base = dir.canonicalize().ok()?;
    let out = git(dir)
        .args(["ls-files", "-z", "--cached", "--", "."])
        .stderr(Stdio::null())
        .output()
        .ok()?;
    if !out.status.success() {
        return None;
    }
    let files: HashSet<PathBuf> = out
        .stdout
        .split(|b| *b == 0)
        .filter(|p| !p.is_empty())
        .map(|p| base.join(path_from_bytes(p)))
        .collect();
    (!files.is_empty()).then_some(files)
}

/// The files under `dir` that the index deletes (relative to `dir`): staged for the next
/// commit. Empty outside a work tree.
pub fn staged_deletions(dir: &Path) -> Vec<PathBuf> {
    let out = git(dir)
        .args([
            "diff",
            "--cached",
            "--name-only",
            "--relative",
            "--diff-filter=D",
            "-z",
            "--",
            ".",
        ])
        .stderr(Stdio::null())
        .output();
    match out {
        Ok(o) if o.status.success() => o
            .stdout
            .split(|b| *b == 0)
            .filter(|p| !p.is_empty())
            .map(path_from_bytes)
            .collect(),
        _ => Vec::new(),
    }
}

/// A path as git prints it with `-z` (raw bytes, not quoted).
fn path_from_bytes(b: &[u8]) -> PathBuf {
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStrExt;
        PathBuf::from(std::ffi::OsStr::from_bytes(b))
    }
    #[cfg(not(unix))]
    {
        PathBuf::from(String::from_utf8_lossy(b).as_ref())
    }
}

/// A directory removed when dropped.
pub struct TempTree(pub PathBuf);

impl Drop for TempTree {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Writes the tree of revision `rev` of the repository at `top` into a new temporary directory
/// (`git archive`, unpacked in-process).
pub fn checkout_tree(top: &Path, rev: &str) -> Result<TempTree, String> {
    let verify = git(top)
        .args(["rev-parse", "--verify", "--quiet", "--end-of-options"])
        .arg(format!("{rev}^{{tree}}"))
        .output()
        .map_err(|e| format!("--new-since: cannot run git: {e}"))?;
    if !verify.status.success() {
        return Err(format!(
            "--new-since {rev}: not a revision of {}",
            top.display()
        ));
    }
    let tree = String::from_utf8_lossy(&verify.stdout).trim().to_string();
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    let dir = std::env::temp_dir().join(format!("meshext-lint-{}-{nanos}", std::process::id()));
    std::fs::create_dir(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let temp = TempTree(dir);
    let mut child = git(top)
        .args(["archive", "--format=tar", &tree])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("--new-since: cannot run git: {e}"))?;
    let unpacked = match child.stdout.take() {
        Some(stdout) => tar::Archive::new(stdout).unpack(&temp.0),
        None => Ok(()),
    };
    let done = child
        .wait_with_output()
        .map_err(|e| format!("--new-since: git archive: {e}"))?;
    if !done.status.success() {
        return Err(format!(
            "--new-since {rev}: git archive failed: {}",
            String::from_utf8_lossy(&done.stderr).trim()
        ));
    }
    unpacked.map_err(|e| format!("--new-since {rev}: unpacking the tree: {e}"))?;
    Ok(temp)
}
