//! `sandtrace techniques`: the ATT&CK catalogue sandtrace knows.

use std::process::ExitCode;

use anyhow::Context as _;

/// Arguments of `techniques`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Only this tactic (e.g. credential-access).
    #[arg(long)]
    tactic: Option<String>,
}

/// Lists the techniques (of one tactic).
pub fn run(args: &Args) -> anyhow::Result<ExitCode> {
    let filter = match args.tactic.as_deref() {
        Some(t) => Some(mitre_mapping::Tactic::from_short_name(t).with_context(|| {
            let all: Vec<&str> = mitre_mapping::Tactic::ALL
                .iter()
                .map(|t| t.short_name())
                .collect();
            format!("unknown tactic {t} (one of: {})", all.join(", "))
        })?),
        None => None,
    };
    println!(
        "# MITRE ATT&CK v{} (Linux, Containers, IaaS)",
        mitre_mapping::ATTACK_VERSION
    );
    for t in mitre_mapping::TECHNIQUES
        .iter()
        .filter(|t| filter.is_none_or(|f| t.tactics.contains(&f)))
    {
        let tactics: Vec<&str> = t.tactics.iter().map(|x| x.short_name()).collect();
        println!("{:<10} {:<60} {}", t.id, t.full_name(), tactics.join(","));
    }
    Ok(ExitCode::SUCCESS)
}
