use super::{usage_error, write_stdout};
use crate::rules;
use clap::Args;

#[derive(Args, Debug)]
pub struct RulesArgs {
    /// Print the catalogue as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Args, Debug)]
pub struct ExplainArgs {
    /// Rule ID or name, e.g. MX301 or unknown-phase.
    #[arg(value_parser = RuleParser, hide_possible_values = true)]
    pub rule: String,
    /// Print the rule's documentation page (Markdown), as in docs/rules/.
    #[arg(long)]
    pub markdown: bool,
}

/// A rule ID or name. Parsing is left to the command (its error names `meshext-lint rules`);
/// the parser exists to offer every ID and name to shell completion (clap takes possible
/// values only from the value parser). Use it for any argument that takes a rule.
#[derive(Clone, Copy, Debug)]
pub struct RuleParser;

impl clap::builder::TypedValueParser for RuleParser {
    type Value = String;

    fn parse_ref(
        &self,
        cmd: &clap::Command,
        arg: Option<&clap::Arg>,
        value: &std::ffi::OsStr,
    ) -> Result<String, clap::Error> {
        clap::builder::StringValueParser::new().parse_ref(cmd, arg, value)
    }

    fn possible_values(
        &self,
    ) -> Option<Box<dyn Iterator<Item = clap::builder::PossibleValue> + '_>> {
        use clap::builder::PossibleValue;
        let ids = rules::all()
            .iter()
            .map(|r| PossibleValue::new(r.id.as_str()).help(r.summary.as_str()));
        let names = rules::all()
            .iter()
            .map(|r| PossibleValue::new(r.name.as_str()).help(r.id.as_str()));
        Some(Box::new(ids.chain(names)))
    }
}

pub fn rules(args: RulesArgs) -> i32 {
    let all = rules::all();
    if args.json {
        let v: Vec<_> = all
            .iter()
            .map(|r| serde_json::json!({"id": r.id, "name": r.name, "severity": r.severity, "summary": r.summary}))
            .collect();
        let text = serde_json::to_string_pretty(&v).unwrap_or_default();
        write_stdout(format!("{text}\n").as_bytes())
    } else {
        let text: String = all
            .iter()
            .map(|r| {
                format!(
                    "{:<6} {:<8} {:<28} {}\n",
                    r.id, r.severity, r.name, r.summary
                )
            })
            .collect();
        write_stdout(text.as_bytes())
    }
}

pub fn explain(args: ExplainArgs) -> i32 {
    let Some(rule) = rules::find(&args.rule) else {
        return usage_error(format!(
            "unknown rule {:?}; `meshext-lint rules` lists them",
            args.rule
        ));
    };
    let text = if args.markdown {
        rule.markdown()
    } else {
        rule.text()
    };
    write_stdout(text.as_bytes())
}
