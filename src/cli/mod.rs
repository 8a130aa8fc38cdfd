//! Command-line interface: argument definitions and dispatch. Each command's logic lives in
//! the library; these functions only translate arguments and exit codes.

mod chain_cmd;
mod completions;
mod inspect_cmd;
mod lint_cmd;
mod man;
mod mesh_args;
mod migrate_cmd;
mod pack_cmd;
mod rules_cmd;
mod simulate_cmd;

use clap::{Parser, Subcommand};
use std::io::Write;

/// The binary's name, as completion scripts and manual pages call it.
const BIN: &str = "meshext-lint";

/// Exit codes, independent of the output format.
pub mod exit {
    /// Nothing at or above the `--fail-on` threshold.
    pub const OK: i32 = 0;
    /// Findings at or above the threshold (or failed expectations in `simulate`).
    pub const FINDINGS: i32 = 1;
    /// Usage error, unreadable input path or invalid configuration.
    pub const USAGE: i32 = 2;
}

const LONG_VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    "\nmesh versions: v2.0, v2.1, v2.2 (ServiceMeshExtension); v2.3+ reported as unsupported for ServiceMeshExtension",
    "\nOSSM 3.x (Sail Istio resource): v3.0 to v3.4; upstream Istio (--istio-version): 1.6 to 1.31",
    "\nproxy-wasm ABI: 0.1.0, 0.2.0, 0.2.1"
);

#[derive(Parser, Debug)]
#[command(
    name = "meshext-lint",
    version,
    long_version = LONG_VERSION,
    about = "Offline linter and simulator for OpenShift Service Mesh WebAssembly extensions",
    after_help = "Exit codes: 0 nothing at or above --fail-on; 1 findings at or above it; 2 usage error, unreadable input or invalid configuration."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
    /// Override a resource budget (repeatable), e.g. `--limit yaml-depth=64`,
    /// `--limit image-uncompressed-bytes=1GiB`; docs/limits.md lists them.
    #[arg(long = "limit", global = true, value_name = "NAME=VALUE", value_parser = crate::limits::parse_assignment)]
    pub limits: Vec<(crate::limits::Limit, u64)>,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Check mesh resources (and pulled extension images) for problems.
    Lint(lint_cmd::LintArgs),
    /// Show the effective HTTP filter chain of every workload, as istiod builds it.
    Chain(chain_cmd::ChainArgs),
    /// Run requests through a workload's filter chain (or one module) with the real modules.
    Simulate(simulate_cmd::SimulateArgs),
    /// Show what an extension image or module holds and how each mesh version judges it.
    Inspect(inspect_cmd::InspectArgs),
    /// Write an extension image (manifest.yaml + module) as an OCI layout or OCI archive.
    Pack(pack_cmd::PackArgs),
    /// Convert ServiceMeshExtensions to WasmPlugins and report what that changes.
    Migrate(migrate_cmd::MigrateArgs),
    /// List the rules.
    Rules(rules_cmd::RulesArgs),
    /// Explain one rule: what it checks, why, how to fix it, with examples.
    Explain(rules_cmd::ExplainArgs),
    /// Print a shell completion script, e.g. `meshext-lint completions bash > /etc/bash_completion.d/meshext-lint`.
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print a manual page (roff), e.g. `meshext-lint man lint | man -l -`, or write them all
    /// with `--dir`.
    Man {
        /// The subcommand whose page to print (meshext-lint-COMMAND(1)) [default: the top page].
        #[arg(value_parser = man::PageParser)]
        command: Option<String>,
        /// Write every page (meshext-lint.1, meshext-lint-lint.1, …) into DIR instead.
        #[arg(long, value_name = "DIR", value_hint = clap::ValueHint::DirPath, conflicts_with = "command")]
        dir: Option<std::path::PathBuf>,
    },
}

/// `--context` takes an optional directory. pre-commit appends changed *files* after the hook's
/// `--context`, so a following argument is taken as the context only when it is an existing
/// directory: `--context DIR` and `--context=DIR` both work, and `--context a.yaml` does not
/// swallow the file.
fn join_context_dir(args: impl Iterator<Item = std::ffi::OsString>) -> Vec<std::ffi::OsString> {
    let mut out: Vec<std::ffi::OsString> = Vec::new();
    let mut args = args.peekable();
    while let Some(a) = args.next() {
        if a == "--context" {
            if let Some(next) = args.peek() {
                if !next.to_string_lossy().starts_with('-') && std::path::Path::new(next).is_dir() {
                    let mut joined = std::ffi::OsString::from("--context=");
                    joined.push(args.next().unwrap_or_default());
                    out.push(joined);
                    continue;
                }
            }
        }
        out.push(a);
    }
    out
}

/// Runs the CLI and returns the process exit code.
pub fn main() -> i32 {
    // The matches too: `simulate` groups its per-module options by position.
    let parsed = <Cli as clap::CommandFactory>::command()
        .try_get_matches_from(join_context_dir(std::env::args_os()))
        .and_then(|m| <Cli as clap::FromArgMatches>::from_arg_matches(&m).map(|c| (c, m)));
    let (cli, matches) = match parsed {
        Ok(c) => c,
        Err(e) => {
            let code = if e.use_stderr() {
                exit::USAGE
            } else {
                exit::OK
            };
            let _ = e.print();
            return code;
        }
    };
    crate::load::yaml::enable_run_budget();
    for (l, v) in &cli.limits {
        crate::limits::set_from_flag(*l, *v);
    }
    match cli.command {
        Command::Lint(a) => lint_cmd::run(a),
        Command::Chain(a) => chain_cmd::run(a),
        Command::Simulate(a) => {
            let m = matches.subcommand_matches("simulate").cloned();
            simulate_cmd::run(a, &m.unwrap_or_default())
        }
        Command::Inspect(a) => inspect_cmd::run(a),
        Command::Pack(a) => pack_cmd::run(a),
        Command::Migrate(a) => migrate_cmd::run(a),
        Command::Rules(a) => rules_cmd::rules(a),
        Command::Explain(a) => rules_cmd::explain(a),
        Command::Completions { shell } => write_stdout(&completions::script(shell)),
        Command::Man { command, dir } => man::run(command.as_deref(), dir.as_deref()),
    }
}

/// Writes text meant for a terminal: control characters from the inputs (names, labels,
/// annotations, log lines) are rendered visibly, never sent raw.
fn write_text(text: &str) -> i32 {
    write_stdout(crate::report::escape_controls(text, true).as_bytes())
}

/// Writes output as is (JSON, which escapes control characters itself).
fn write_stdout(bytes: &[u8]) -> i32 {
    let mut stdout = std::io::stdout().lock();
    output_written(stdout.write_all(bytes).and_then(|()| stdout.flush()))
}

/// The exit code for how writing the output went. A closed pipe (`| head`) is not worth
/// reporting; any other failure (a full disk) is: the output was cut short, and a review bot
/// must not read half a SARIF file as a clean run.
pub(crate) fn output_written(r: std::io::Result<()>) -> i32 {
    match r {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
            usage_error(format!("cannot write the output to standard output: {e}"))
        }
        _ => exit::OK,
    }
}

/// A finding that stops a command (an image that cannot be read, say): its message, rule and
/// help, as a usage-level error (exit code 2).
pub(crate) fn finding_error(d: &crate::diag::Diagnostic) -> i32 {
    usage_error(finding_text(d))
}

/// `message [RULE]` and the help on a second line.
pub(crate) fn finding_text(d: &crate::diag::Diagnostic) -> String {
    let mut msg = format!("{} [{}]", d.message, d.rule);
    if let Some(h) = &d.help {
        msg.push_str(&format!("\n  help: {h}"));
    }
    msg
}

/// Prints a usage-level error the way every command does, and returns exit code 2.
pub(crate) fn usage_error(msg: impl std::fmt::Display) -> i32 {
    let msg = msg.to_string();
    eprintln!(
        "meshext-lint: error: {}",
        crate::report::escape_controls(&msg, true)
    );
    exit::USAGE
}

/// `--color`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum ColorChoice {
    /// Colour on a terminal, unless `NO_COLOR` or `TERM=dumb` says no; `CLICOLOR_FORCE` or
    /// `FORCE_COLOR` force it.
    #[default]
    Auto,
    Always,
    Never,
}

/// Whether to colour output written to stdout (`to_terminal`: stdout is a terminal and no
/// `--output` file was given).
pub(crate) fn use_color_for(choice: ColorChoice, to_terminal: bool) -> bool {
    let set = |name: &str| std::env::var_os(name).is_some_and(|v| !v.is_empty() && v != "0");
    match choice {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto if set("NO_COLOR") => false,
        ColorChoice::Auto if set("CLICOLOR_FORCE") || set("FORCE_COLOR") => true,
        ColorChoice::Auto => to_terminal && std::env::var_os("TERM").is_none_or(|t| t != "dumb"),
    }
}

/// A progress note on stderr for long runs: printed only when stderr is a terminal and the
/// work takes longer than a second, and erased when done, so pipes and CI logs never see it.
pub struct Progress {
    done: Option<std::sync::mpsc::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Progress {
    pub const DELAY: std::time::Duration = std::time::Duration::from_secs(1);

    pub fn start(what: &str) -> Progress {
        use std::io::IsTerminal;
        if !std::io::stderr().is_terminal() {
            return Progress {
                done: None,
                thread: None,
            };
        }
        let (tx, rx) = std::sync::mpsc::channel::<()>();
        let msg = format!("meshext-lint: {what}…");
        let thread = std::thread::spawn(move || {
            use std::sync::mpsc::RecvTimeoutError;
            if let Err(RecvTimeoutError::Timeout) = rx.recv_timeout(Progress::DELAY) {
                eprint!("{msg}");
                // Wait for the end (or the sender to go away), then erase the line.
                let _ = rx.recv();
                eprint!("\r\x1b[2K");
            }
        });
        Progress {
            done: Some(tx),
            thread: Some(thread),
        }
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        drop(self.done.take());
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
