//! `meshext-lint man [COMMAND] [--dir DIR]`: manual pages generated from the clap definition
//! (every flag and value list appears without being listed here), one per subcommand
//! (`meshext-lint-lint(1)`, …), with the sections clap cannot know: EXIT STATUS, ENVIRONMENT,
//! FILES and SEE ALSO.

use clap::CommandFactory;

/// The built command tree without the `help` pseudo-command (it has no page), built once so
/// that subcommand names can be handed to clap as `'static` possible values.
fn root() -> &'static clap::Command {
    static ROOT: std::sync::OnceLock<clap::Command> = std::sync::OnceLock::new();
    ROOT.get_or_init(|| {
        let mut cmd = super::Cli::command().disable_help_subcommand(true);
        cmd.build();
        cmd
    })
}

/// Names of the subcommands that have a page, in the order `--help` lists them. Taken from
/// the unbuilt definition: building runs clap's debug checks, which ask [`PageParser`] for its
/// values, so going through [`root`] here would wait on itself.
pub fn subcommands() -> Vec<&'static str> {
    static NAMES: std::sync::OnceLock<Vec<String>> = std::sync::OnceLock::new();
    NAMES
        .get_or_init(|| {
            super::Cli::command()
                .get_subcommands()
                .filter(|c| !c.is_hide_set())
                .map(|c| c.get_name().to_string())
                .collect()
        })
        .iter()
        .map(String::as_str)
        .collect()
}

/// Every page: (file name, roff), the top page first.
pub fn pages() -> Result<Vec<(String, Vec<u8>)>, String> {
    std::iter::once(None)
        .chain(subcommands().into_iter().map(Some))
        .map(|sub| page(sub).map(|roff| (format!("{}.1", page_name(sub)), roff)))
        .collect()
}

/// `meshext-lint` or `meshext-lint-COMMAND`.
pub fn page_name(sub: Option<&str>) -> String {
    match sub {
        None => super::BIN.to_string(),
        Some(s) => format!("{}-{s}", super::BIN),
    }
}

/// The page of the top command (`None`) or of one subcommand.
pub fn page(sub: Option<&str>) -> Result<Vec<u8>, String> {
    let root = root();
    let cmd = match sub {
        None => root.clone(),
        Some(name) => root
            .find_subcommand(name)
            .cloned()
            .ok_or_else(|| format!("no command {name:?}"))?,
    };
    let man = clap_mangen::Man::new(cmd.clone())
        .title(page_name(sub))
        .source(format!("{} {}", super::BIN, env!("CARGO_PKG_VERSION")))
        .manual("meshext-lint manual");
    let mut out = Vec::new();
    let io = |e: std::io::Error| format!("rendering the man page: {e}");
    man.render_title(&mut out).map_err(io)?;
    man.render_name_section(&mut out).map_err(io)?;
    man.render_synopsis_section(&mut out).map_err(io)?;
    man.render_description_section(&mut out).map_err(io)?;
    if cmd.get_arguments().any(|a| !a.is_hide_set()) {
        man.render_options_section(&mut out).map_err(io)?;
    }
    if cmd.get_subcommands().any(|c| !c.is_hide_set()) {
        man.render_subcommands_section(&mut out).map_err(io)?;
    }
    out.extend(exit_status(sub).as_bytes());
    out.extend(ENVIRONMENT.as_bytes());
    out.extend(FILES.as_bytes());
    if sub.is_none() {
        man.render_version_section(&mut out).map_err(io)?;
    }
    out.extend(see_also(root, sub).as_bytes());
    Ok(out)
}

/// Codes from `super::exit`, with what 1 means for the command (commands without findings
/// never exit with 1).
fn exit_status(sub: Option<&str>) -> String {
    const LINT: &str = "findings at or above the \\fB\\-\\-fail\\-on\\fR severity (default: error, or the configuration's \\fBfail\\-on\\fR).";
    const SIMULATE: &str = "an expectation of the scenario failed.";
    const INSPECT: &str = "the image or module has errors, or loads on no mesh version.";
    let findings = match sub {
        None => Some(format!(
            "\\fBlint\\fR: {LINT} \\fBsimulate\\fR: {SIMULATE} \\fBinspect\\fR: {INSPECT}"
        )),
        Some("lint") => Some(LINT.to_string()),
        Some("simulate") => Some(SIMULATE.to_string()),
        Some("inspect") => Some(INSPECT.to_string()),
        Some(_) => None,
    };
    let mut s = format!(
        ".SH \"EXIT STATUS\"\n.TP\n\\fB{}\\fR\nSuccess.\n",
        super::exit::OK
    );
    if let Some(text) = findings {
        s.push_str(&format!(".TP\n\\fB{}\\fR\n{text}\n", super::exit::FINDINGS));
    }
    s.push_str(&format!(
        ".TP\n\\fB{}\\fR\nUsage error, unreadable input path or image source, or invalid configuration.\n",
        super::exit::USAGE
    ));
    s
}

/// The variables `use_color_for` reads.
const ENVIRONMENT: &str = r#".SH ENVIRONMENT
.TP
\fBNO_COLOR\fR
When set and not empty, \fB\-\-color auto\fR (the default) does not colour the output.
.TP
\fBCLICOLOR_FORCE\fR, \fBFORCE_COLOR\fR
When set to anything but empty or \fB0\fR, \fB\-\-color auto\fR colours the output even when it is not a terminal (\fBNO_COLOR\fR wins).
.TP
\fBTERM\fR
\fBdumb\fR turns colour off for \fB\-\-color auto\fR.
"#;

const FILES: &str = r#".SH FILES
.TP
\fB.meshext\-lint.yaml\fR, \fB.meshext\-lint.yml\fR
The configuration, found in the working directory or its parents up to the root of the git repository (\fB.yaml\fR wins); \fB\-\-config\fR names another, \fB\-\-no\-config\fR ignores it. Its JSON Schema is \fBschemas/meshext\-lint.schema.json\fR in the source repository.
.TP
\fB.meshext\-lint\-baseline.json\fR
The usual name of the baseline file (the configuration's \fBbaseline\fR, or \fB\-\-baseline\fR): findings recorded in it with \fB\-\-write\-baseline\fR are not reported.
.TP
\fIscenario\fR\fB.yaml\fR
\fBsimulate\fR's scenario: requests, mocked upstream and callouts, expectations (JSON Schema \fBschemas/scenario.schema.json\fR).
"#;

fn see_also(root: &clap::Command, sub: Option<&str>) -> String {
    let refs: Vec<String> = match sub {
        None => root
            .get_subcommands()
            .filter(|c| !c.is_hide_set())
            .map(|c| page_name(Some(c.get_name())))
            .collect(),
        Some(_) => vec![page_name(None)],
    };
    let list = refs
        .iter()
        .map(|r| format!("\\fB{}\\fR(1)", r.replace('-', "\\-")))
        .collect::<Vec<_>>()
        .join(",\n");
    format!(".SH \"SEE ALSO\"\n{list}\n")
}

/// `man COMMAND`: a subcommand that has a page; offers them to shell completion.
#[derive(Clone, Copy, Debug)]
pub struct PageParser;

impl clap::builder::TypedValueParser for PageParser {
    type Value = String;

    fn parse_ref(
        &self,
        cmd: &clap::Command,
        arg: Option<&clap::Arg>,
        value: &std::ffi::OsStr,
    ) -> Result<String, clap::Error> {
        let text = value.to_string_lossy().into_owned();
        if subcommands().contains(&text.as_str()) {
            return Ok(text);
        }
        let name = arg.map(|a| a.to_string()).unwrap_or_default();
        Err(clap::Error::raw(
            clap::error::ErrorKind::InvalidValue,
            format!(
                "invalid value '{text}' for '{name}': no such command (one of {})\n",
                subcommands().join(", ")
            ),
        )
        .with_cmd(cmd))
    }

    fn possible_values(
        &self,
    ) -> Option<Box<dyn Iterator<Item = clap::builder::PossibleValue> + '_>> {
        Some(Box::new(
            subcommands()
                .into_iter()
                .map(clap::builder::PossibleValue::new),
        ))
    }
}

/// `man [COMMAND] [--dir DIR]`.
pub fn run(sub: Option<&str>, dir: Option<&std::path::Path>) -> i32 {
    let Some(dir) = dir else {
        return match page(sub) {
            Ok(roff) => super::write_stdout(&roff),
            Err(e) => super::usage_error(e),
        };
    };
    let written = pages().and_then(|pages| {
        std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        pages.into_iter().try_for_each(|(name, roff)| {
            let path = dir.join(name);
            std::fs::write(&path, roff).map_err(|e| format!("{}: {e}", path.display()))
        })
    });
    match written {
        Ok(()) => super::exit::OK,
        Err(e) => super::usage_error(e),
    }
}
