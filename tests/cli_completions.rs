//! Shell completion, tested the way a shell uses it: the script `meshext-lint completions SHELL`
//! prints is loaded into a real bash (sourced, then its completion function is called with
//! COMP_WORDS/COMP_CWORD as bash's `complete -F` calls it) and a real interactive zsh (under a
//! pseudo-terminal, TAB pressed, candidates captured at `compadd`). What must complete is taken
//! from the clap definition, so a new flag or value list is tested without being listed here.
//! zsh is optional (`.ci/run` installs it): without it, the zsh tests say they were skipped.

mod common;

use clap::CommandFactory;
use common::run;
use meshext_lint::cli::Cli;
use meshext_lint::model::MeshVersion;
use std::collections::BTreeSet;
use std::path::PathBuf;
use std::process::Command;

/// Calls the registered completion function on `words` (the last is the word being completed).
const BASH_DRIVER: &str = r#"
source "$1" || exit 3
fn=$(complete -p meshext-lint | sed -n 's/.*-F \([^ ]*\) .*/\1/p')
[ -n "$fn" ] || { echo "no completion function registered for meshext-lint" >&2; exit 3; }
shift
COMP_WORDS=("$@")
COMP_CWORD=$(( $# - 1 ))
COMP_LINE="$*"
COMP_POINT=${#COMP_LINE}
cur=${COMP_WORDS[COMP_CWORD]}
prev=${COMP_WORDS[COMP_CWORD-1]}
# compopt only works while bash itself is completing; its complaint is not a result.
"$fn" meshext-lint "$cur" "$prev" 2>/dev/null
printf '%s\n' "${COMPREPLY[@]}"
"#;

/// Completes the line in `$2` (TAB at its end) in an interactive zsh whose `fpath` has `$1`,
/// and prints every candidate the completion system adds, one a line.
const ZSH_DRIVER: &str = r#"
zmodload zsh/zpty || exit 3
zpty comp zsh -f -i
zpty -w comp "fpath=(${(q)1} \$fpath); autoload -Uz compinit; compinit -u -D"
zpty -w comp "unsetopt autolist listbeep beep; bindkey '^I' complete-word"
# Report what is added; calls that only ask (-O/-A/-D) pass through.
zpty -w comp 'compadd() { if (( ${@[(I)-[OAD]]} )); then builtin compadd "$@"; return; fi; local -a m; builtin compadd -O m "$@"; local x; for x in $m; do print -r -- "<<$x>>"; done; builtin compadd "$@"; }'
zpty -w comp 'print -r -- __REA""DY__'
wait_for() {
  local line
  integer deadline=$(( SECONDS + 30 ))
  while (( SECONDS < deadline )); do
    if zpty -r -t comp line; then
      out+=$line
      [[ $line == $1* ]] && return 0
    else
      sleep 0.02
    fi
  done
  print -u2 "zsh did not print $1"; zpty -d comp; exit 4
}
local out
wait_for __READY__
out=
zpty -w -n comp "$2"$'\t'
zpty -w comp $'\x15print -r -- __FIN""ISHED__'
wait_for __FINISHED__
zpty -d comp
print -r -- "$out" | tr -d '\r' | grep -o '<<.*>>' | sed 's/^<<//; s/>>$//'
exit 0
"#;

/// A scratch directory holding the scripts; completion runs in it, so file-name fallbacks
/// find nothing from the repository.
struct Scratch {
    dir: tempfile::TempDir,
}

impl Scratch {
    fn new() -> Scratch {
        let dir = tempfile::tempdir().unwrap();
        for (shell, file) in [("bash", "meshext-lint.bash"), ("zsh", "_meshext-lint")] {
            let out = run(&["completions", shell]);
            assert!(out.status.success(), "completions {shell}");
            std::fs::write(dir.path().join(file), &out.stdout).unwrap();
        }
        std::fs::write(dir.path().join("driver.bash"), BASH_DRIVER).unwrap();
        std::fs::write(dir.path().join("driver.zsh"), ZSH_DRIVER).unwrap();
        Scratch { dir }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn bash(&self, words: &[&str]) -> BTreeSet<String> {
        let out = Command::new("bash")
            .arg("--norc")
            .arg("--noprofile")
            .arg(self.path("driver.bash"))
            .arg(self.path("meshext-lint.bash"))
            .args(words)
            .current_dir(self.dir.path())
            .output()
            .expect("run bash");
        assert!(
            out.status.success(),
            "bash {words:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        lines(&out.stdout)
    }

    fn zsh(&self, line: &str) -> BTreeSet<String> {
        let out = Command::new("zsh")
            .arg("-f")
            .arg(self.path("driver.zsh"))
            .arg(self.dir.path())
            .arg(line)
            .current_dir(self.dir.path())
            .env("TERM", "xterm")
            .output()
            .expect("run zsh");
        assert!(
            out.status.success(),
            "zsh {line:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        lines(&out.stdout)
    }
}

fn lines(bytes: &[u8]) -> BTreeSet<String> {
    String::from_utf8_lossy(bytes)
        .lines()
        .filter(|l| !l.is_empty())
        .map(str::to_string)
        .collect()
}

fn have(program: &str) -> bool {
    Command::new(program)
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

fn zsh_or_skip(test: &str) -> bool {
    if have("zsh") {
        return true;
    }
    eprintln!("skipped {test}: zsh is not installed (.ci/run installs it)");
    false
}

/// The subcommands (the `help` pseudo-command aside) as clap defines them.
fn subcommands() -> Vec<clap::Command> {
    let mut cmd = Cli::command();
    cmd.build();
    cmd.get_subcommands()
        .filter(|c| c.get_name() != "help" && !c.is_hide_set())
        .cloned()
        .collect()
}

fn long_flags(cmd: &clap::Command) -> BTreeSet<String> {
    cmd.get_arguments()
        .filter(|a| !a.is_hide_set())
        .filter_map(|a| a.get_long())
        .map(|l| format!("--{l}"))
        .collect()
}

/// (subcommand, `--flag`, its possible values) for every option that has a value list.
fn value_lists() -> Vec<(String, String, BTreeSet<String>)> {
    let mut v = Vec::new();
    for sub in subcommands() {
        for arg in sub.get_arguments().filter(|a| !a.is_positional()) {
            let (Some(long), values) = (arg.get_long(), arg.get_possible_values()) else {
                continue;
            };
            let values: BTreeSet<String> = values
                .iter()
                .filter(|p| !p.is_hide_set())
                .map(|p| p.get_name().to_string())
                .collect();
            if !values.is_empty() {
                v.push((sub.get_name().to_string(), format!("--{long}"), values));
            }
        }
    }
    v
}

fn missing(expected: &BTreeSet<String>, got: &BTreeSet<String>) -> Vec<String> {
    expected.difference(got).cloned().collect()
}

fn rule_ids(prefix: &str) -> BTreeSet<String> {
    meshext_lint::rules::all()
        .iter()
        .map(|r| r.id.clone())
        .filter(|id| id.starts_with(prefix))
        .collect()
}

/// The known mesh versions starting with `prefix`.
fn mesh_versions(prefix: &str) -> BTreeSet<String> {
    MeshVersion::KNOWN
        .iter()
        .filter(|v| v.starts_with(prefix))
        .map(|v| v.to_string())
        .collect()
}

#[test]
fn bash_completes_subcommands_and_top_level_flags() {
    let s = Scratch::new();
    let got = s.bash(&["meshext-lint", ""]);
    for sub in subcommands() {
        assert!(
            got.contains(sub.get_name()),
            "{} not in {got:?}",
            sub.get_name()
        );
    }
    let got = s.bash(&["meshext-lint", "--"]);
    assert!(
        got.contains("--help") && got.contains("--version"),
        "{got:?}"
    );
}

/// clap-rs/clap#6421: with a hyphen in the binary name, nothing after the subcommand completed.
#[test]
fn bash_completes_every_flag_of_every_subcommand() {
    let s = Scratch::new();
    for sub in subcommands() {
        let got = s.bash(&["meshext-lint", sub.get_name(), "--"]);
        let expected = long_flags(&sub);
        assert!(!expected.is_empty());
        assert_eq!(
            missing(&expected, &got),
            Vec::<String>::new(),
            "meshext-lint {} --<TAB> gave {got:?}",
            sub.get_name()
        );
        // Only this subcommand's flags: the top level's --version is not one of them.
        assert!(!got.contains("--version"), "{got:?}");
    }
    // After a path, and with a prefix.
    let got = s.bash(&["meshext-lint", "lint", "samples", "--fo"]);
    assert_eq!(got, BTreeSet::from(["--format".to_string()]));
}

#[test]
fn bash_completes_the_values_of_every_option_with_a_value_list() {
    let s = Scratch::new();
    let lists = value_lists();
    // The lists the issue names are among them.
    for (sub, flag) in [
        ("lint", "--format"),
        ("lint", "--mesh-version"),
        ("chain", "--mesh-version"),
        ("inspect", "--mesh-version"),
    ] {
        assert!(
            lists.iter().any(|(s, f, _)| s == sub && f == flag),
            "{sub} {flag} has no value list"
        );
    }
    for (sub, flag, values) in &lists {
        let got = s.bash(&["meshext-lint", sub, flag, ""]);
        assert_eq!(&got, values, "meshext-lint {sub} {flag} <TAB>");
    }
    let got = s.bash(&["meshext-lint", "lint", "--mesh-version", "v2."]);
    assert_eq!(got, mesh_versions("v2."));
    let got = s.bash(&["meshext-lint", "lint", "--mesh-version", "v3."]);
    assert_eq!(got, mesh_versions("v3."));
    let got = s.bash(&["meshext-lint", "lint", "--format", "rd"]);
    assert_eq!(got, BTreeSet::from(["rdjson".into(), "rdjsonl".into()]));
}

#[test]
fn bash_completes_rule_ids_and_names_for_explain() {
    let s = Scratch::new();
    let expected = rule_ids("MX3");
    assert!(expected.len() > 3);
    assert_eq!(s.bash(&["meshext-lint", "explain", "MX3"]), expected);
    let all = s.bash(&["meshext-lint", "explain", ""]);
    assert_eq!(missing(&rule_ids("MX"), &all), Vec::<String>::new());
    assert!(all.contains("unknown-phase"), "{all:?}");
    assert_eq!(
        s.bash(&["meshext-lint", "explain", "unknown-ph"]),
        BTreeSet::from(["unknown-phase".to_string()])
    );
}

#[test]
fn bash_completes_shells_and_man_pages() {
    let s = Scratch::new();
    let got = s.bash(&["meshext-lint", "completions", ""]);
    assert!(got.contains("bash") && got.contains("zsh"), "{got:?}");
    let got = s.bash(&["meshext-lint", "man", ""]);
    for sub in subcommands() {
        assert!(got.contains(sub.get_name()), "{got:?}");
    }
}

#[test]
fn zsh_completes_flags_of_every_subcommand() {
    if !zsh_or_skip("zsh_completes_flags_of_every_subcommand") {
        return;
    }
    let s = Scratch::new();
    let got = s.zsh("meshext-lint ");
    for sub in subcommands() {
        assert!(
            got.contains(sub.get_name()),
            "{} not in {got:?}",
            sub.get_name()
        );
    }
    for sub in subcommands() {
        let line = format!("meshext-lint {} --", sub.get_name());
        let got = s.zsh(&line);
        assert_eq!(
            missing(&long_flags(&sub), &got),
            Vec::<String>::new(),
            "{line}<TAB> gave {got:?}"
        );
    }
}

#[test]
fn zsh_completes_values_rule_ids_and_mesh_versions() {
    if !zsh_or_skip("zsh_completes_values_rule_ids_and_mesh_versions") {
        return;
    }
    let s = Scratch::new();
    for (sub, flag, values) in value_lists() {
        let line = format!("meshext-lint {sub} {flag} ");
        let got = s.zsh(&line);
        assert_eq!(
            missing(&values, &got),
            Vec::<String>::new(),
            "{line}<TAB> gave {got:?}"
        );
    }
    assert_eq!(
        s.zsh("meshext-lint lint --mesh-version v2."),
        mesh_versions("v2.")
    );
    assert_eq!(s.zsh("meshext-lint explain MX3"), rule_ids("MX3"));
    assert_eq!(
        s.zsh("meshext-lint explain unknown-ph"),
        BTreeSet::from(["unknown-phase".to_string()])
    );
}

/// The scripts load in a shell without errors (a syntax error would break every completion).
#[test]
fn scripts_load_cleanly() {
    let s = Scratch::new();
    let out = Command::new("bash")
        .args(["--norc", "--noprofile", "-n"])
        .arg(s.path("meshext-lint.bash"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    if have("zsh") {
        let out = Command::new("zsh")
            .args(["-n"])
            .arg(s.path("_meshext-lint"))
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}
