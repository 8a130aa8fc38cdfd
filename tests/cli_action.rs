//! The composite GitHub Action (`action.yml`, issue 15 point 6), run locally: the file is read
//! with the project's own YAML loader, and its steps are executed in order the way the runner
//! does (`bash --noprofile --norc -eo pipefail`, inputs and step outputs through `env:`,
//! `$GITHUB_OUTPUT` files, `if:` conditions), against the built binary. `uses:` steps (the
//! SARIF upload) are recorded with their resolved `with:` instead of run.
//!
//! Also: what `cargo install --locked --path .` needs from a clean checkout is in the package.

mod common;
use common::*;
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

fn action() -> Value {
    let text = std::fs::read_to_string(root().join("action.yml")).unwrap();
    let parsed = meshext_lint::load::yaml::parse(&text, Default::default());
    assert!(parsed.error.is_none(), "action.yml: {:?}", parsed.error);
    assert!(parsed.docs.iter().all(|d| d.duplicates.is_empty()));
    parsed.docs[0].root.as_ref().unwrap().to_json()
}

fn bash() -> &'static str {
    ["/bin/bash", "/usr/bin/bash"]
        .into_iter()
        .find(|p| Path::new(p).exists())
        .expect("bash")
}

/// What a job running the action did.
#[derive(Debug, Default)]
struct Job {
    /// Step names that ran, with their exit codes.
    ran: Vec<(String, i32)>,
    /// `uses:` steps that would have run: (uses, resolved `with:`).
    used: Vec<(String, BTreeMap<String, String>)>,
    /// The log: every step's stdout and stderr.
    log: String,
    /// Outputs of steps with an `id`.
    outputs: BTreeMap<String, BTreeMap<String, String>>,
    failed: bool,
}

struct Runner {
    inputs: BTreeMap<String, String>,
    temp: PathBuf,
    /// PATH of the steps.
    path: String,
    extra_env: Vec<(String, String)>,
}

impl Runner {
    fn new(temp: &Path, given: &[(&str, &str)]) -> Runner {
        let a = action();
        let mut inputs = BTreeMap::new();
        for (name, spec) in a["inputs"].as_object().unwrap() {
            inputs.insert(
                name.clone(),
                spec["default"].as_str().unwrap_or("").to_string(),
            );
        }
        for (k, v) in given {
            assert!(inputs.contains_key(*k), "action.yml has no input {k}");
            inputs.insert(k.to_string(), v.to_string());
        }
        Runner {
            inputs,
            temp: temp.to_path_buf(),
            path: std::env::var("PATH").unwrap_or_default(),
            extra_env: Vec::new(),
        }
    }

    /// The value of a context expression (`inputs.paths`, `steps.run.outputs.exit-code`).
    fn value(&self, job: &Job, expr: &str) -> String {
        let expr = expr.trim();
        if let Some(name) = expr.strip_prefix("inputs.") {
            return self.inputs[name].clone();
        }
        if let Some(rest) = expr.strip_prefix("steps.") {
            let (id, output) = rest.split_once(".outputs.").expect("steps.ID.outputs.NAME");
            return job
                .outputs
                .get(id)
                .and_then(|o| o.get(output))
                .cloned()
                .unwrap_or_default();
        }
        match expr {
            "github.action_path" => root().to_string_lossy().into_owned(),
            "runner.temp" => self.temp.to_string_lossy().into_owned(),
            _ => panic!("expression the test does not know: {expr}"),
        }
    }

    /// Replaces every `${{ expr }}` in `s`.
    fn resolve(&self, job: &Job, s: &str) -> String {
        let mut out = String::new();
        let mut rest = s;
        while let Some(i) = rest.find("${{") {
            out.push_str(&rest[..i]);
            let end = rest[i..].find("}}").expect("closing }}") + i;
            out.push_str(&self.value(job, &rest[i + 3..end]));
            rest = &rest[end + 2..];
        }
        out.push_str(rest);
        out
    }

    /// `if:` as the action writes it: terms joined by `&&`, each `always()`, `A == 'x'` or
    /// `A != 'x'`. Without `if:`, a step runs when no earlier one failed.
    fn condition(&self, job: &Job, cond: Option<&str>) -> bool {
        let Some(cond) = cond else {
            return !job.failed;
        };
        let mut always = false;
        let mut ok = true;
        for term in cond.split("&&").map(str::trim) {
            if term == "always()" {
                always = true;
            } else if let Some((a, b)) = term.split_once("==") {
                ok &= self.value(job, a) == b.trim().trim_matches('\'');
            } else if let Some((a, b)) = term.split_once("!=") {
                ok &= self.value(job, a) != b.trim().trim_matches('\'');
            } else {
                panic!("condition the test does not know: {term}");
            }
        }
        ok && (always || !job.failed)
    }

    fn run(&self, workspace: &Path) -> Job {
        let a = action();
        assert_eq!(a["runs"]["using"], "composite");
        let mut job = Job::default();
        for (i, step) in a["runs"]["steps"].as_array().unwrap().iter().enumerate() {
            let name = step["name"].as_str().unwrap().to_string();
            if !self.condition(&job, step["if"].as_str()) {
                continue;
            }
            if let Some(uses) = step["uses"].as_str() {
                let with = step["with"]
                    .as_object()
                    .map(|w| {
                        w.iter()
                            .map(|(k, v)| (k.clone(), self.resolve(&job, v.as_str().unwrap())))
                            .collect()
                    })
                    .unwrap_or_default();
                job.used.push((uses.to_string(), with));
                job.ran.push((name, 0));
                continue;
            }
            assert_eq!(
                step["shell"], "bash",
                "{name}: composite run steps need a shell"
            );
            let script = self.temp.join(format!("step{i}.sh"));
            std::fs::write(&script, step["run"].as_str().unwrap()).unwrap();
            let output_file = self.temp.join(format!("output{i}"));
            std::fs::write(&output_file, "").unwrap();
            let mut cmd = Command::new(bash());
            cmd.args(["--noprofile", "--norc", "-eo", "pipefail"])
                .arg(&script)
                .current_dir(workspace)
                .env_clear()
                .env("PATH", &self.path)
                .env("HOME", &self.temp)
                .env("GITHUB_OUTPUT", &output_file)
                .env("GITHUB_ACTION_PATH", root())
                .env("RUNNER_TEMP", &self.temp)
                .env("NO_COLOR", "1");
            for (k, v) in &self.extra_env {
                cmd.env(k, v);
            }
            if let Some(env) = step["env"].as_object() {
                for (k, v) in env {
                    cmd.env(k, self.resolve(&job, v.as_str().unwrap()));
                }
            }
            let out = cmd.output().unwrap();
            job.log.push_str(&String::from_utf8_lossy(&out.stdout));
            job.log.push_str(&String::from_utf8_lossy(&out.stderr));
            let code = out.status.code().unwrap_or(-1);
            if let Some(id) = step["id"].as_str() {
                let text = std::fs::read_to_string(&output_file).unwrap();
                let outputs = text
                    .lines()
                    .filter_map(|l| l.split_once('='))
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect();
                job.outputs.insert(id.to_string(), outputs);
            }
            job.failed |= code != 0;
            job.ran.push((name, code));
        }
        job
    }
}

fn ran(job: &Job) -> Vec<(&str, i32)> {
    job.ran.iter().map(|(n, c)| (n.as_str(), *c)).collect()
}

const BIN: &str = env!("CARGO_BIN_EXE_meshext-lint");

#[test]
fn the_action_declares_its_inputs_and_never_interpolates_into_scripts() {
    let a = action();
    for input in [
        "paths",
        "images",
        "format",
        "mesh-version",
        "upload-sarif",
        "binary",
    ] {
        assert!(a["inputs"][input]["description"].is_string(), "{input}");
    }
    let steps = a["runs"]["steps"].as_array().unwrap();
    for step in steps {
        if let Some(run) = step["run"].as_str() {
            assert!(
                !run.contains("${{"),
                "{}: use env:, not ${{{{ }}}} in run:",
                step["name"]
            );
        }
    }
    let upload = steps
        .iter()
        .find(|s| s["uses"].as_str().is_some())
        .expect("an upload step");
    assert_eq!(upload["uses"], "github/codeql-action/upload-sarif@v3");
}

#[test]
fn findings_are_annotated_uploaded_and_fail_the_job() {
    let temp = tempfile::tempdir().unwrap();
    let sarif = temp.path().join("out.sarif");
    let runner = Runner::new(
        temp.path(),
        &[
            ("binary", BIN),
            (
                "paths",
                "samples/broken/MX102.yaml samples/broken/MX306.yaml",
            ),
            ("sarif-file", sarif.to_str().unwrap()),
        ],
    );
    let job = runner.run(&root());
    assert_eq!(
        ran(&job),
        vec![
            ("Install meshext-lint", 0),
            ("Run meshext-lint", 0),
            ("Upload SARIF", 0),
            ("Fail on findings", 1)
        ],
        "{}",
        job.log
    );
    assert!(job.failed);
    assert!(
        job.log
            .contains("::error file=samples/broken/MX102.yaml,line=31"),
        "{}",
        job.log
    );
    assert_eq!(job.outputs["run"]["exit-code"], "1");
    let (uses, with) = &job.used[0];
    assert_eq!(uses, "github/codeql-action/upload-sarif@v3");
    assert_eq!(with["sarif_file"], sarif.to_str().unwrap());
    assert_eq!(with["category"], "meshext-lint");
    let doc: Value = serde_json::from_str(&std::fs::read_to_string(&sarif).unwrap()).unwrap();
    let rules: Vec<&str> = doc["runs"][0]["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["ruleId"].as_str().unwrap())
        .collect();
    assert!(
        rules.contains(&"MX102") && rules.contains(&"MX306"),
        "{rules:?}"
    );
}

#[test]
fn a_clean_mesh_with_images_and_a_mesh_version_passes() {
    let temp = tempfile::tempdir().unwrap();
    let runner = Runner::new(
        temp.path(),
        &[
            ("binary", BIN),
            ("paths", "samples/mesh"),
            ("images", "samples/images"),
            ("mesh-version", "v2.1"),
            ("format", "human"),
            ("upload-sarif", "false"),
            ("args", "--no-runtime --output-threshold warning"),
        ],
    );
    let job = runner.run(&root());
    assert_eq!(
        ran(&job),
        vec![("Install meshext-lint", 0), ("Run meshext-lint", 0)],
        "{}",
        job.log
    );
    assert!(
        job.log.contains("no problems found in 7 files (mesh v2.1)"),
        "{}",
        job.log
    );
    assert!(!job.outputs["run"].contains_key("sarif-file"));
}

#[test]
fn a_usage_error_fails_the_run_step_and_uploads_nothing() {
    let temp = tempfile::tempdir().unwrap();
    let runner = Runner::new(
        temp.path(),
        &[
            ("binary", BIN),
            ("paths", "samples/mesh"),
            ("images", "no/such/images"),
            ("sarif-file", temp.path().join("x.sarif").to_str().unwrap()),
        ],
    );
    let job = runner.run(&root());
    assert_eq!(
        ran(&job),
        vec![("Install meshext-lint", 0), ("Run meshext-lint", 2)],
        "{}",
        job.log
    );
    assert!(job.used.is_empty());
    assert!(job.log.contains("no/such/images"), "{}", job.log);
}

/// Without `binary`, the action installs from its own checkout with `cargo install --locked
/// --path`. A stand-in `cargo` records its arguments and installs a wrapper of the built binary
/// (a real build takes minutes).
#[test]
fn without_a_binary_the_action_cargo_installs_its_checkout() {
    let temp = tempfile::tempdir().unwrap();
    let fake = temp.path().join("fakebin");
    std::fs::create_dir(&fake).unwrap();
    let log = temp.path().join("cargo-args");
    write(
        &fake,
        "cargo",
        "#!/bin/sh\nprintf '%s\\n' \"$@\" > \"$FAKE_CARGO_LOG\"\nroot=\nwhile [ $# -gt 0 ]; do\n  if [ \"$1\" = --root ]; then root=$2; fi\n  shift\ndone\nmkdir -p \"$root/bin\"\nprintf '#!/bin/sh\\nexec \"%s\" \"$@\"\\n' \"$REAL_BIN\" > \"$root/bin/meshext-lint\"\nchmod +x \"$root/bin/meshext-lint\"\n",
    );
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(fake.join("cargo"), std::fs::Permissions::from_mode(0o755)).unwrap();
    let mut runner = Runner::new(
        temp.path(),
        &[("paths", "samples/mesh"), ("upload-sarif", "false")],
    );
    runner.path = format!("{}:/usr/bin:/bin", fake.display());
    runner.extra_env = vec![
        ("FAKE_CARGO_LOG".into(), log.to_string_lossy().into_owned()),
        ("REAL_BIN".into(), BIN.into()),
    ];
    let job = runner.run(&root());
    assert_eq!(
        ran(&job),
        vec![("Install meshext-lint", 0), ("Run meshext-lint", 0)],
        "{}",
        job.log
    );
    let args = std::fs::read_to_string(&log).unwrap();
    let expected = format!(
        "install\n--locked\n--path\n{}\n--root\n{}/meshext-lint\n",
        root().display(),
        temp.path().display()
    );
    assert_eq!(args, expected);
    assert_eq!(
        job.outputs["install"]["bin"],
        format!("{}/meshext-lint/bin/meshext-lint", temp.path().display())
    );
    assert!(
        job.log
            .contains(concat!("meshext-lint ", env!("CARGO_PKG_VERSION"))),
        "{}",
        job.log
    );

    // No cargo and no binary: a clear error, exit 2.
    let empty = temp.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    runner.path = empty.to_string_lossy().into_owned();
    let job = runner.run(&root());
    assert_eq!(ran(&job), vec![("Install meshext-lint", 2)], "{}", job.log);
    assert!(job.log.contains("cargo is not installed"), "{}", job.log);
}

/// `cargo install --locked --path .` builds from the package's files: everything `build.rs`
/// embeds (rules/) and every source file must be in `include`. Listing the package takes a
/// second; building it would take minutes (checked by hand: docs/ci.md, "Release tags").
#[test]
fn the_package_holds_what_the_build_needs() {
    let out = Command::new(env!("CARGO"))
        .args(["package", "--list", "--allow-dirty", "--offline"])
        .current_dir(root())
        .output()
        .unwrap();
    if !out.status.success() {
        // `cargo package --list` needs a git checkout or a registry index in some setups.
        panic!(
            "cargo package --list failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let listed: std::collections::HashSet<String> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect();
    for must in [
        "Cargo.toml",
        "Cargo.lock",
        "build.rs",
        "src/main.rs",
        "src/lib.rs",
    ] {
        assert!(listed.contains(must), "{must} is not packaged");
    }
    // Every file under rules/ and src/ in the working tree.
    for dir in ["rules", "src"] {
        for entry in walkdir::WalkDir::new(root().join(dir)) {
            let entry = entry.unwrap();
            if entry.file_type().is_file() {
                let rel = entry
                    .path()
                    .strip_prefix(root())
                    .unwrap()
                    .to_string_lossy()
                    .replace('\\', "/");
                assert!(
                    listed.contains(&rel),
                    "{rel} is not packaged: add it to `include`"
                );
            }
        }
    }
    // Files the build reads with include_str!/include_bytes! outside src/ and rules/.
    for entry in walkdir::WalkDir::new(root().join("src")) {
        let entry = entry.unwrap();
        if !entry.file_type().is_file() {
            continue;
        }
        let text = std::fs::read_to_string(entry.path()).unwrap_or_default();
        for (i, _) in text.match_indices("include_str!(\"") {
            let rest = &text[i + "include_str!(\"".len()..];
            let arg = &rest[..rest.find('"').unwrap()];
            let file = entry.path().parent().unwrap().join(arg);
            if let Ok(file) = file.canonicalize() {
                let rel = file
                    .strip_prefix(root())
                    .unwrap()
                    .to_string_lossy()
                    .into_owned();
                assert!(
                    listed.contains(&rel),
                    "{rel} (include_str!) is not packaged"
                );
            }
        }
    }
}

/// The install instructions name only revisions that exist: a release tag of this repository
/// (`git tag`), or the COMMIT_SHA placeholder that docs/ci.md ("Release tags") explains; no
/// `OWNER/` or `ORG/` placeholder repositories.
#[test]
fn docs_name_only_existing_tags() {
    let tags: Vec<String> = Command::new("git")
        .args(["tag", "--list"])
        .current_dir(root())
        .output()
        .map(|o| {
            String::from_utf8_lossy(&o.stdout)
                .lines()
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default();
    let ok = |rev: &str| rev == "COMMIT_SHA" || tags.iter().any(|t| t == rev);
    for file in ["README.md", "docs/ci.md", "docs/configuration.md"] {
        let text = std::fs::read_to_string(root().join(file)).unwrap();
        for placeholder in ["github.com/OWNER/", "github.com/ORG/"] {
            assert!(!text.contains(placeholder), "{file}: {placeholder}");
        }
        for marker in ["rev: ", "meshext-lint/meshext-lint@", "--rev ", "--tag "] {
            for (i, _) in text.match_indices(marker) {
                let rev: String = text[i + marker.len()..]
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
                    .collect();
                if rev.is_empty() || (marker == "--tag " && rev == "vX") {
                    continue;
                }
                assert!(ok(&rev), "{file}: `{marker}{rev}` names no existing tag");
            }
        }
    }
}
