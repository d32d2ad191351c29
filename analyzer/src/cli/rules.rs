//! `sandtrace rules list|lint|test`: the detection rules.

use std::{path::PathBuf, process::ExitCode};

use clap::Subcommand;

/// Arguments of `rules`.
#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(subcommand)]
    action: Action,
    /// Load rules from this directory instead of the shipped set.
    #[arg(long, global = true, value_name = "DIR")]
    rules: Option<PathBuf>,
}

#[derive(Subcommand, Debug)]
/// What `rules` does.
pub enum Action {
    /// One line per rule: id, severity, techniques, tactic folder, name.
    List,
    /// Load and compile every rule (file, line and field on error).
    Lint,
    /// Run every rule's fixtures (each must match its `match` and not its `no_match` sequences).
    Test,
}

/// Lists, lints or tests the rules.
pub fn run(args: &Args) -> anyhow::Result<ExitCode> {
    let rules = std::sync::Arc::new(super::load_rules(args.rules.as_deref())?);
    match &args.action {
        Action::List => {
            for r in rules.rules() {
                println!(
                    "{:<40} {:<9} {:<24} {:<22} {}",
                    r.id,
                    format!("{:?}", r.severity).to_lowercase(),
                    r.techniques.join(","),
                    r.folder,
                    r.name
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        Action::Lint => {
            let techniques: std::collections::BTreeSet<&str> = rules
                .rules()
                .iter()
                .flat_map(|r| r.techniques.iter().map(String::as_str))
                .collect();
            println!(
                "{} rules OK, {} techniques (ATT&CK v{})",
                rules.rules().len(),
                techniques.len(),
                mitre_mapping::ATTACK_VERSION
            );
            Ok(ExitCode::SUCCESS)
        }
        Action::Test => {
            let results = sandtrace::correlate::fixtures::run_all(&rules);
            let failed: Vec<_> = results.iter().filter(|r| !r.passed).collect();
            for f in &failed {
                println!("FAIL {} / {}: {}", f.rule, f.name, f.detail);
            }
            println!("{} passed, {} failed", results.len() - failed.len(), failed.len());
            Ok(if failed.is_empty() {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            })
        }
    }
}
