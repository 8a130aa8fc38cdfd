//! The pre-commit hooks work as declared: `.pre-commit-hooks.yaml` is read, and its `entry` +
//! `args` are run exactly as pre-commit would (from the repository root, changed files
//! appended) against a temporary git repository. pre-commit itself is not needed.

mod common;
use common::*;
use meshext_lint::load::yaml::{self, Limits, Node};
use std::path::Path;
use std::process::{Command, Output};

struct Hook {
    id: String,
    entry: String,
    args: Vec<String>,
    language: String,
    types_or: Vec<String>,
}

fn hooks() -> Vec<Hook> {
    let text = std::fs::read_to_string(root().join(".pre-commit-hooks.yaml")).unwrap();
    let parsed = yaml::parse(&text, Limits::default());
    assert!(parsed.error.is_none(), "{:?}", parsed.error);
    let doc = parsed.docs.into_iter().next().unwrap().root.unwrap();
    let s = |n: &Node, k: &str| n.get(k).and_then(Node::as_str).unwrap_or("").to_string();
    let list = |n: &Node, k: &str| -> Vec<String> {
        n.get(k)
            .and_then(Node::as_seq)
            .unwrap_or(&[])
            .iter()
            .filter_map(|x| x.as_str().map(str::to_string))
            .collect()
    };
    doc.as_seq()
        .expect("a list of hooks")
        .iter()
        .map(|h| Hook {
            id: s(h, "id"),
            entry: s(h, "entry"),
            args: list(h, "args"),
            language: s(h, "language"),
            types_or: list(h, "types_or"),
        })
        .collect()
}

/// Runs a hook the way pre-commit does: `entry` split on spaces, then `args`, then the files,
/// in the repository root.
fn run_hook(hook: &Hook, repo: &Path, files: &[&str]) -> Output {
    let mut words = hook.entry.split_whitespace();
    assert_eq!(
        words.next(),
        Some("meshext-lint"),
        "entry must start with the binary"
    );
    Command::new(env!("CARGO_BIN_EXE_meshext-lint"))
        .args(words)
        .args(&hook.args)
        .args(files)
        .current_dir(repo)
        .env("NO_COLOR", "1")
        .output()
        .unwrap()
}

fn git(repo: &Path, args: &[&str]) {
    let st = Command::new("git")
        .args(["-c", "user.name=t", "-c", "user.email=t@example.com"])
        .args(args)
        .current_dir(repo)
        .output()
        .unwrap();
    assert!(
        st.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&st.stderr)
    );
}

fn copy_dir(from: &Path, to: &Path) {
    for e in walkdir::WalkDir::new(from).into_iter().flatten() {
        let dest = to.join(e.path().strip_prefix(from).unwrap());
        if e.file_type().is_dir() {
            std::fs::create_dir_all(&dest).unwrap();
        } else {
            std::fs::copy(e.path(), &dest).unwrap();
        }
    }
}

/// A git repository holding the fixture mesh, committed.
fn repo() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    copy_dir(&root().join("tests/fixtures/ci/repo"), dir.path());
    git(dir.path(), &["init", "-q"]);
    git(dir.path(), &["add", "-A"]);
    git(dir.path(), &["commit", "-qm", "mesh"]);
    dir
}

#[test]
fn hooks_are_declared_as_documented() {
    let hooks = hooks();
    let ids: Vec<_> = hooks.iter().map(|h| h.id.as_str()).collect();
    assert_eq!(ids, ["meshext-lint", "meshext-lint-system"]);
    assert_eq!(hooks[0].language, "rust");
    assert_eq!(hooks[1].language, "system");
    for h in &hooks {
        assert!(h.types_or.contains(&"yaml".to_string()), "{}", h.id);
        assert!(
            h.entry.contains("--context"),
            "{}: the hook must load the context",
            h.id
        );
    }
    // `language: rust` runs `cargo install --path .`: the root manifest must be a package
    // that produces the entry's binary.
    let manifest = std::fs::read_to_string(root().join("Cargo.toml")).unwrap();
    assert!(manifest.contains("[package]") && manifest.contains("name = \"meshext-lint\""));
}

#[test]
fn changed_files_are_judged_against_the_whole_repository() {
    let repo = repo();
    for hook in hooks() {
        // Only extensions.yaml changed: its selectors match the Deployment in web.yaml, which
        // pre-commit does not pass; the typo in selector-typo.yaml is not reported.
        let out = run_hook(&hook, repo.path(), &["mesh/shop/extensions.yaml"]);
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert_eq!(out.status.code(), Some(0), "{}: {stdout}", hook.id);
        assert!(stdout.contains("MX304"), "{stdout}");
        assert!(
            stdout.contains("mesh/shop/extensions.yaml:18:10"),
            "{stdout}"
        );
        assert!(
            !stdout.contains("MX306"),
            "context must supply the workload: {stdout}"
        );
        assert!(
            !stdout.contains("selector-typo"),
            "unchanged files are not reported: {stdout}"
        );
        assert!(stdout.contains("in 1 file"), "{stdout}");
    }
}

#[test]
fn an_error_in_a_changed_file_fails_the_commit() {
    let repo = repo();
    write(
        repo.path(),
        "mesh/billing/ext.yaml",
        "apiVersion: maistra.io/v1\nkind: ServiceMeshExtension\nmetadata: {name: auth, namespace: billing}\nspec:\n  image: quay.io/acme/auth:1.0\n  phase: PostAuthZ\n  config: {}\n",
    );
    let hook = &hooks()[1];
    let out = run_hook(
        hook,
        repo.path(),
        &["mesh/billing/ext.yaml", "mesh/shop/selector-typo.yaml"],
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("error[MX202]"), "{stdout}");
    assert!(stdout.contains("mesh/billing/ext.yaml:3:"), "{stdout}");
    assert!(stdout.contains("warning[MX306]"), "{stdout}");
    assert!(stdout.contains("in 2 files"), "{stdout}");
}

#[test]
fn the_config_file_sets_context_and_rules() {
    let repo = repo();
    // Unrelated broken YAML outside the configured context is neither loaded nor reported.
    write(repo.path(), "other/broken.yaml", "a: [\n");
    write(
        repo.path(),
        ".meshext-lint.yaml",
        "context: mesh\nrules:\n  MX304: off\n",
    );
    let hook = &hooks()[1];
    let out = run_hook(hook, repo.path(), &["mesh/shop/extensions.yaml"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(stdout.contains("no problems found in 1 file"), "{stdout}");
    // A hook run from a subdirectory still finds the config and the context.
    let sub = repo.path().join("mesh/shop");
    let out = Command::new(env!("CARGO_BIN_EXE_meshext-lint"))
        .args(["lint", "--context", "extensions.yaml", "selector-typo.yaml"])
        .current_dir(&sub)
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("selector-typo.yaml:8:13"), "{stdout}");
    assert!(!stdout.contains("extensions.yaml:"), "{stdout}");
}

#[test]
fn context_needs_a_repository_or_a_setting() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "a.yaml", "kind: X\n");
    let out = Command::new(env!("CARGO_BIN_EXE_meshext-lint"))
        .args(["lint", "--no-config", "--context", "a.yaml"])
        .current_dir(dir.path())
        .output()
        .unwrap();
    // tempdirs are not inside a git repository (unless TMPDIR is): then exit 2 with advice.
    if meshext_lint::config::repo_root(dir.path()).is_none() {
        assert_eq!(out.status.code(), Some(2));
        assert!(String::from_utf8_lossy(&out.stderr).contains("--context without DIR"));
    }
    let out = Command::new(env!("CARGO_BIN_EXE_meshext-lint"))
        .args(["lint", "--no-config", "--context=nope", "a.yaml"])
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not a directory"));
}

/// `--context DIR` (space-separated, as the issue writes it) works like `--context=DIR`, and a
/// file after a bare `--context` is still a file to lint.
#[test]
fn context_accepts_a_space_separated_directory() {
    let dir = tempfile::tempdir().unwrap();
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let mesh = dir.path().join("mesh");
    std::fs::create_dir_all(mesh.join("shop")).unwrap();
    for f in [
        "istio-system/control-plane.yaml",
        "shop/web.yaml",
        "shop/extensions.yaml",
    ] {
        let to = mesh.join(f);
        std::fs::create_dir_all(to.parent().unwrap()).unwrap();
        std::fs::copy(root.join("samples/mesh").join(f), &to).unwrap();
    }
    let run = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_meshext-lint"))
            .current_dir(dir.path())
            .args(args)
            .env("NO_COLOR", "1")
            .output()
            .unwrap()
    };
    // Alone, the SMEs file has no control plane (MX205) and its selectors match nothing (MX306).
    let alone = run(&[
        "lint",
        "--no-config",
        "--format",
        "json",
        "mesh/shop/extensions.yaml",
    ]);
    let alone = String::from_utf8_lossy(&alone.stdout).into_owned();
    assert!(alone.contains("MX205"), "{alone}");
    for form in [vec!["--context", "mesh"], vec!["--context=mesh"]] {
        let mut args = vec!["lint", "--no-config", "--format", "json"];
        args.extend(form.iter().copied());
        args.push("mesh/shop/extensions.yaml");
        let out = run(&args);
        let text = String::from_utf8_lossy(&out.stdout);
        let json: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(
            json["diagnostics"],
            serde_json::json!([]),
            "{form:?}: {text}"
        );
        assert_eq!(out.status.code(), Some(0));
    }
}

/// With `--context`, a finding inside an image (here MX502 in the module) is reported when a
/// resource that uses the image is in the given files, and not otherwise.
#[test]
fn image_findings_follow_the_resources_that_use_the_image() {
    let dir = tempfile::tempdir().unwrap();
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    for f in [
        "istio-system/control-plane.yaml",
        "istio-system/extensions.yaml",
        "shop/web.yaml",
    ] {
        let to = dir.path().join("mesh").join(f);
        std::fs::create_dir_all(to.parent().unwrap()).unwrap();
        std::fs::copy(root.join("samples/mesh").join(f), &to).unwrap();
    }
    let images = root.join("samples/images");
    let lint = |file: &str| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_meshext-lint"))
            .current_dir(dir.path())
            .args([
                "lint",
                "--no-config",
                "--no-runtime",
                "--mesh-version",
                "v2.0",
                "--format",
                "json",
                "--context",
                "mesh",
                "--images",
            ])
            .arg(&images)
            .arg(file)
            .output()
            .unwrap();
        let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        json["diagnostics"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d["rule"].as_str().unwrap().to_string())
            .collect::<Vec<_>>()
    };
    assert!(lint("mesh/istio-system/extensions.yaml").contains(&"MX502".to_string()));
    assert!(!lint("mesh/shop/web.yaml").contains(&"MX502".to_string()));
}

/// The fixture repository plus an untracked edit helper: runs the binary in `repo`.
fn lint_in(repo: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_meshext-lint"))
        .args(args)
        .current_dir(repo)
        .env("NO_COLOR", "1")
        .output()
        .unwrap()
}

fn rules_of(out: &Output) -> Vec<String> {
    let json: serde_json::Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stdout)));
    json["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            format!(
                "{} {}",
                d["rule"].as_str().unwrap(),
                d["file"].as_str().unwrap()
            )
        })
        .collect()
}

const CP: &str = "mesh/istio-system/control-plane.yaml";

fn edit(repo: &Path, file: &str, from: &str, to: &str) {
    let p = repo.join(file);
    let text = std::fs::read_to_string(&p).unwrap();
    assert!(text.contains(from), "{file} has no {from:?}");
    std::fs::write(&p, text.replace(from, to)).unwrap();
}

/// Changing only the control plane reports the findings it causes in unchanged files, with the
/// control plane as a related location.
#[test]
fn a_control_plane_that_disables_extensions_fails_the_hook() {
    let repo = repo();
    edit(
        repo.path(),
        CP,
        "  telemetry: {type: Istiod}\n",
        "  telemetry: {type: Istiod}\n  techPreview: {wasmExtensions: {enabled: false}}\n",
    );
    let out = lint_in(repo.path(), &["lint", "--context", "--format", "json", CP]);
    assert_eq!(out.status.code(), Some(1));
    let rules = rules_of(&out);
    assert!(
        rules.contains(&"MX201 mesh/shop/extensions.yaml".to_string()),
        "{rules:?}"
    );
    assert!(
        rules.contains(&"MX201 mesh/shop/selector-typo.yaml".to_string()),
        "{rules:?}"
    );
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let mx201 = &json["diagnostics"].as_array().unwrap()[0];
    assert!(
        mx201["related"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["file"] == CP),
        "{mx201}"
    );
    // Findings that do not depend on the control plane stay out (MX304: the `latest` tag).
    assert!(!rules.iter().any(|r| r.starts_with("MX304")), "{rules:?}");
}

/// A chain or selector finding depends on the workloads in scope: changing a workload's labels
/// reports the SME's finding, with the workload as the changed related resource.
#[test]
fn a_workload_change_reports_the_selector_findings_it_causes() {
    let repo = repo();
    edit(
        repo.path(),
        "mesh/shop/web.yaml",
        "labels: {app: web}",
        "labels: {app: shop-web}",
    );
    let out = lint_in(
        repo.path(),
        &[
            "lint",
            "--context",
            "--format",
            "json",
            "mesh/shop/web.yaml",
        ],
    );
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let rules = rules_of(&out);
    assert!(
        rules.contains(&"MX306 mesh/shop/extensions.yaml".to_string()),
        "{text}"
    );
    assert!(
        text.contains("changed: Deployment shop/web, which this finding depends on"),
        "{text}"
    );
}

/// Untracked files in the work tree are not part of the context.
#[test]
fn context_leaves_untracked_files_out() {
    let repo = repo();
    // A workload the typo'd selector would match, not added to git.
    write(
        repo.path(),
        "mesh/shop/wbe.yaml",
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: wbe, namespace: shop}\nspec:\n  template:\n    metadata:\n      labels: {app: wbe}\n",
    );
    let args = [
        "lint",
        "--context",
        "--format",
        "json",
        "mesh/shop/selector-typo.yaml",
    ];
    let rules = rules_of(&lint_in(repo.path(), &args));
    assert!(
        rules.contains(&"MX306 mesh/shop/selector-typo.yaml".to_string()),
        "{rules:?}"
    );
    git(repo.path(), &["add", "mesh/shop/wbe.yaml"]);
    let rules = rules_of(&lint_in(repo.path(), &args));
    assert!(
        !rules.iter().any(|r| r.starts_with("MX306")),
        "staged files count: {rules:?}"
    );
}

#[test]
fn new_since_reports_only_new_findings() {
    let repo = repo();
    edit(repo.path(), CP, "members: [shop]", "members: []");
    let out = lint_in(
        repo.path(),
        &["lint", "--format", "json", "--new-since", "HEAD", "mesh"],
    );
    assert_eq!(out.status.code(), Some(1));
    let rules = rules_of(&out);
    // MX202 for the three SMEs is new; MX304 and MX306 were there at HEAD.
    assert_eq!(rules.len(), 3, "{rules:?}");
    assert!(rules.iter().all(|r| r.starts_with("MX202")), "{rules:?}");
    // Run from a subdirectory, with --context, only the given file's findings and causes.
    let out = lint_in(
        &repo.path().join("mesh"),
        &[
            "lint",
            "--format",
            "json",
            "--new-since",
            "HEAD",
            "--context",
            "istio-system/control-plane.yaml",
        ],
    );
    assert_eq!(
        rules_of(&out).len(),
        3,
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    // Nothing changed since HEAD: nothing new.
    git(repo.path(), &["stash", "-q"]);
    let out = lint_in(
        repo.path(),
        &["lint", "--format", "json", "--new-since", "HEAD", "mesh"],
    );
    assert_eq!(out.status.code(), Some(0));
    assert!(rules_of(&out).is_empty());
    // A new file is all new.
    write(repo.path(), "mesh/shop/more.yaml", "apiVersion: maistra.io/v1\nkind: ServiceMeshExtension\nmetadata: {name: more, namespace: shop}\nspec:\n  image: quay.io/acme/more:latest\n  phase: PostAuthZ\n  workloadSelector: {labels: {app: web}}\n  config: {}\n");
    let out = lint_in(
        repo.path(),
        &[
            "lint",
            "--format",
            "json",
            "--new-since",
            "HEAD",
            "mesh/shop/more.yaml",
        ],
    );
    assert!(rules_of(&out).iter().any(|r| r.starts_with("MX304")));
    let out = lint_in(repo.path(), &["lint", "--new-since", "no-such-rev", "mesh"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not a revision"));
}

/// Files named explicitly (as pre-commit names them) obey `ignore:`, and YAML that is not
/// manifests is skipped rather than reported; `--verbose` says so.
#[test]
fn explicit_files_obey_ignore_and_non_manifests_are_skipped() {
    let repo = repo();
    write(repo.path(), ".meshext-lint.yaml", "ignore: ['vendor/**']\n");
    write(repo.path(), "vendor/broken.yaml", "a: [\n");
    write(
        repo.path(),
        "charts/web/Chart.yaml",
        "apiVersion: v2\nname: web\nversion: 1.0.0\n",
    );
    write(repo.path(), "charts/web/values.yaml", "replicas: 1\n");
    write(
        repo.path(),
        "charts/web/templates/deploy.yaml",
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {{ .Release.Name }}\n",
    );
    write(
        repo.path(),
        "deploy/tmpl.yaml",
        "{{- if .Values.on }}\nkind: ConfigMap\n{{- end }}\n",
    );
    write(repo.path(), ".gitlab-ci.yml", "lint:\n  script: [make]\n");
    write(
        repo.path(),
        ".github/workflows/ci.yml",
        "on: push\njobs: {}\n",
    );
    write(repo.path(), "app/settings.yaml", "server: {port: 8080}\n");
    write(
        repo.path(),
        "baseline.json",
        "{\"version\": 1, \"tool\": \"meshext-lint\", \"findings\": []}\n",
    );
    let files = [
        ".meshext-lint.yaml",
        "vendor/broken.yaml",
        "charts/web/Chart.yaml",
        "charts/web/values.yaml",
        "charts/web/templates/deploy.yaml",
        "deploy/tmpl.yaml",
        ".gitlab-ci.yml",
        ".github/workflows/ci.yml",
        "app/settings.yaml",
        "baseline.json",
    ];
    let mut args = vec!["lint", "--verbose"];
    args.extend(files);
    let out = lint_in(repo.path(), &args);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stdout}{stderr}");
    assert!(stdout.contains("no problems found in 0 files"), "{stdout}");
    for f in files {
        assert!(stderr.contains(&format!("{f}: skipped, ")), "{f}: {stderr}");
    }
    assert!(
        stderr.contains("vendor/broken.yaml: skipped, matches an `ignore:` pattern"),
        "{stderr}"
    );
    assert!(stderr.contains("a Helm template"), "{stderr}");
    // Without --verbose, nothing on stderr.
    let out = lint_in(repo.path(), &["lint", "deploy/tmpl.yaml"]);
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Under a directory given as input, YAML without apiVersion/kind is still reported (MX106);
    // named one by one it is not.
    let out = lint_in(repo.path(), &["lint", "--format", "json", "app"]);
    assert!(rules_of(&out).iter().any(|r| r.starts_with("MX106")));
    // A kind without apiVersion is a broken manifest, reported wherever it is.
    write(
        repo.path(),
        "app/half.yaml",
        "kind: ConfigMap\nmetadata: {name: x}\n",
    );
    let out = lint_in(repo.path(), &["lint", "--format", "json", "app/half.yaml"]);
    assert!(rules_of(&out).iter().any(|r| r.starts_with("MX106")));
}

// ---- Through the real pre-commit framework ----

/// How to run pre-commit (`python3 -m pre_commit`), installing it from PyPI when absent;
/// `None` (and a printed reason) when it cannot be had.
fn pre_commit() -> Option<Vec<String>> {
    let works = |cmd: &[&str]| {
        Command::new(cmd[0])
            .args(&cmd[1..])
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success())
    };
    for py in ["python3", "python"] {
        let cmd = [py, "-m", "pre_commit"];
        if works(&cmd) {
            return Some(cmd.iter().map(|s| s.to_string()).collect());
        }
    }
    eprintln!("pre-commit is not installed: installing it with pip");
    for py in ["python3", "python"] {
        let installed = Command::new(py)
            .args(["-m", "pip", "install", "--quiet", "pre-commit"])
            .output()
            .is_ok_and(|o| o.status.success())
            || Command::new(py)
                .args(["-m", "pip", "install", "--quiet", "--user", "pre-commit"])
                .output()
                .is_ok_and(|o| o.status.success());
        let cmd = [py, "-m", "pre_commit"];
        if installed && works(&cmd) {
            return Some(cmd.iter().map(|s| s.to_string()).collect());
        }
    }
    eprintln!("SKIPPED: pre-commit is not installed and could not be installed from PyPI");
    None
}

/// A repository using this project's `.pre-commit-hooks.yaml` through pre-commit: the hooks
/// file is committed to a local hook repository (pre-commit clones it by path, offline) and
/// the `meshext-lint-system` hook runs the binary under test from PATH. Returns the repository
/// and the environment `git commit` needs.
struct PreCommitRepo {
    repo: tempfile::TempDir,
    _hooks: tempfile::TempDir,
    home: tempfile::TempDir,
    path: std::ffi::OsString,
}

impl PreCommitRepo {
    fn new(pre_commit: &[String], config: Option<&str>) -> PreCommitRepo {
        let hooks = tempfile::tempdir().unwrap();
        let file = root().join(".pre-commit-hooks.yaml");
        assert!(
            file.is_file(),
            "the project must ship .pre-commit-hooks.yaml"
        );
        std::fs::copy(&file, hooks.path().join(".pre-commit-hooks.yaml")).unwrap();
        git(hooks.path(), &["init", "-q"]);
        git(hooks.path(), &["add", "-A"]);
        git(hooks.path(), &["commit", "-qm", "hooks"]);
        let rev = Command::new("git")
            .args(["rev-parse", "HEAD"])
            .current_dir(hooks.path())
            .output()
            .unwrap();
        let rev = String::from_utf8(rev.stdout).unwrap();
        let repo = tempfile::tempdir().unwrap();
        copy_dir(&root().join("tests/fixtures/ci/repo"), repo.path());
        write(
            repo.path(),
            ".pre-commit-config.yaml",
            &format!(
                "repos:\n  - repo: {}\n    rev: {}\n    hooks:\n      - id: meshext-lint-system\n",
                hooks.path().display(),
                rev.trim()
            ),
        );
        if let Some(c) = config {
            write(repo.path(), ".meshext-lint.yaml", c);
        }
        let bin_dir = Path::new(env!("CARGO_BIN_EXE_meshext-lint"))
            .parent()
            .unwrap();
        let mut path = std::ffi::OsString::from(bin_dir);
        path.push(":");
        path.push(std::env::var_os("PATH").unwrap_or_default());
        let r = PreCommitRepo {
            repo,
            _hooks: hooks,
            home: tempfile::tempdir().unwrap(),
            path,
        };
        git(r.repo.path(), &["init", "-q"]);
        let install = Command::new(&pre_commit[0])
            .args(&pre_commit[1..])
            .arg("install")
            .current_dir(r.repo.path())
            .env("PRE_COMMIT_HOME", r.home.path())
            .output()
            .unwrap();
        assert!(
            install.status.success(),
            "{}",
            String::from_utf8_lossy(&install.stderr)
        );
        // The first commit goes through the hook too: every file is "changed", and the
        // pre-commit and meshext-lint configurations are not linted as manifests.
        let first = r.commit("mesh");
        assert!(first.status.success(), "{}", text(&first));
        r
    }

    fn path(&self) -> &Path {
        self.repo.path()
    }

    /// `git add -A && git commit`, running the installed pre-commit hook.
    fn commit(&self, msg: &str) -> Output {
        git(self.path(), &["add", "-A"]);
        Command::new("git")
            .args(["-c", "user.name=t", "-c", "user.email=t@example.com"])
            .args(["commit", "-qm", msg])
            .current_dir(self.path())
            .env("PATH", &self.path)
            .env("PRE_COMMIT_HOME", self.home.path())
            .env("NO_COLOR", "1")
            .env_remove("GIT_DIR")
            .env_remove("GIT_INDEX_FILE")
            .output()
            .unwrap()
    }
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

#[test]
fn pre_commit_fails_a_commit_that_disables_extensions() {
    let Some(pc) = pre_commit() else { return };
    let r = PreCommitRepo::new(&pc, None);
    edit(
        r.path(),
        CP,
        "  telemetry: {type: Istiod}\n",
        "  telemetry: {type: Istiod}\n  techPreview: {wasmExtensions: {enabled: false}}\n",
    );
    let out = r.commit("disable extensions");
    let all = text(&out);
    assert!(!out.status.success(), "the commit must be refused: {all}");
    assert!(all.contains("error[MX201]"), "{all}");
    assert!(all.contains("mesh/shop/extensions.yaml"), "{all}");
}

#[test]
fn pre_commit_fails_a_commit_that_removes_a_member() {
    let Some(pc) = pre_commit() else { return };
    let r = PreCommitRepo::new(&pc, None);
    edit(r.path(), CP, "members: [shop]", "members: []");
    let out = r.commit("drop shop from the mesh");
    let all = text(&out);
    assert!(!out.status.success(), "the commit must be refused: {all}");
    assert!(all.contains("error[MX202]"), "{all}");
    assert!(all.contains("the member roll"), "{all}");
}

#[test]
fn pre_commit_passes_helm_templates_and_ignored_files() {
    let Some(pc) = pre_commit() else { return };
    let r = PreCommitRepo::new(&pc, Some("ignore: ['legacy/**']\n"));
    // Ignored by the configuration: broken YAML.
    write(r.path(), "legacy/old.yaml", "a: [\n");
    // Recognised as a Helm chart (templates, values, Chart.yaml), not listed in `ignore:`.
    write(
        r.path(),
        "charts/web/Chart.yaml",
        "apiVersion: v2\nname: web\nversion: 1.0.0\n",
    );
    write(r.path(), "charts/web/values.yaml", "replicas: 1\n");
    write(
        r.path(),
        "charts/web/templates/deploy.yaml",
        "{{- if .Values.enabled }}\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {{ .Release.Name }}\n{{- end }}\n",
    );
    write(r.path(), ".gitlab-ci.yml", "lint:\n  script: [make]\n");
    let out = r.commit("chart");
    assert!(out.status.success(), "{}", text(&out));
    // A broken manifest still fails: the hook is live.
    write(
        r.path(),
        "mesh/shop/broken.yaml",
        "apiVersion: v1\nkind: [\n",
    );
    let out = r.commit("broken");
    assert!(!out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("MX101"), "{}", text(&out));
}

/// A commit that deletes a file (here the member roll, split into its own file) and changes
/// another fails on what the deletion causes in files it did not touch.
#[test]
fn pre_commit_fails_a_commit_that_deletes_the_member_roll() {
    let Some(pc) = pre_commit() else { return };
    let r = PreCommitRepo::new(&pc, None);
    let both = std::fs::read_to_string(r.path().join(CP)).unwrap();
    let (cp, roll) = both.split_once("---\n").unwrap();
    write(r.path(), CP, cp);
    write(r.path(), "mesh/istio-system/member-roll.yaml", roll);
    let out = r.commit("split the member roll");
    assert!(out.status.success(), "{}", text(&out));
    std::fs::remove_file(r.path().join("mesh/istio-system/member-roll.yaml")).unwrap();
    // pre-commit runs the hook only when some YAML file is committed.
    edit(
        r.path(),
        "mesh/shop/web.yaml",
        "kind: Service\n",
        "kind: Service\n# reviewed\n",
    );
    let out = r.commit("drop the member roll");
    let all = text(&out);
    assert!(!out.status.success(), "the commit must be refused: {all}");
    assert!(all.contains("error[MX202]"), "{all}");
    assert!(all.contains("mesh/shop/selector-typo.yaml"), "{all}");
}
