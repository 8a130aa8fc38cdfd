//! `meshext-lint completions SHELL`: completion scripts generated from the clap definition,
//! so every flag, value list (formats, mesh versions, rule IDs) and subcommand that exists
//! is completed without listing it here.

use clap::CommandFactory;

/// The completion script for `shell`, for the binary `meshext-lint`.
pub fn script(shell: clap_complete::Shell) -> Vec<u8> {
    let mut out = Vec::new();
    clap_complete::generate(shell, &mut super::Cli::command(), super::BIN, &mut out);
    if shell == clap_complete::Shell::Bash {
        out = fix_bash_hyphenated_bin(&String::from_utf8_lossy(&out), super::BIN).into_bytes();
    }
    out
}

/// Works around clap_complete's bash generator for binaries with a hyphen in their name
/// (clap-rs/clap#6421): its dispatch loop spells the state of `meshext-lint lint` as
/// `meshext__lint__subcmd__lint` (bin-name hyphens become `__`), but the `case` arms that
/// complete each subcommand escape the whole path in one pass and come out as
/// `meshext__subcmd__lint__subcmd__lint`, so no arm matched and nothing after the subcommand
/// was completed. Renaming the arms to the loop's spelling fixes it; once clap_complete emits
/// matching names, the replacement finds nothing to replace. `tests/cli_completions.rs` drives
/// the sourced script to prove the subcommands' flags complete.
fn fix_bash_hyphenated_bin(script: &str, bin: &str) -> String {
    let broken = bin.replace('-', "__subcmd__");
    let loop_spelling = bin.replace('-', "__");
    if broken == loop_spelling {
        return script.to_string();
    }
    script
        .lines()
        .map(|line| {
            let trimmed = line.trim_start();
            // Only the arm labels: `        meshext__subcmd__lint__subcmd__chain)`.
            if trimmed.starts_with(&broken) && trimmed.ends_with(')') {
                line.replacen(&broken, &loop_spelling, 1)
            } else {
                line.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
        + "\n"
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bash_arms_use_the_loop_spelling() {
        let script = String::from_utf8(script(clap_complete::Shell::Bash)).unwrap();
        assert!(!script.contains("meshext__subcmd__lint"), "{script}");
        // Every state the loop can reach has an arm.
        for line in script.lines() {
            let line = line.trim();
            if let Some(state) = line
                .strip_prefix("cmd=\"")
                .and_then(|s| s.strip_suffix('"'))
                .filter(|s| !s.is_empty())
            {
                assert!(
                    script.contains(&format!("\n        {state})")),
                    "no case arm for {state}"
                );
            }
        }
    }

    #[test]
    fn the_fix_leaves_plain_names_alone() {
        let text = "        foo__subcmd__bar)\n";
        assert_eq!(fix_bash_hyphenated_bin(text, "foo"), text);
    }
}
