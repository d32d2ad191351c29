//! `sandtrace doctor`: the requirements of a run, checked one by one.

use std::process::ExitCode;

/// Prints each check; exit 1 when one fails.
pub async fn run() -> ExitCode {
    let checks = sandtrace::doctor::run_checks().await;
    let mut all = true;
    for c in &checks {
        all &= c.ok;
        println!(
            "{} {:<15} {}",
            if c.ok { "ok  " } else { "FAIL" },
            c.name,
            c.detail
        );
    }
    if all { ExitCode::SUCCESS } else { ExitCode::from(1) }
}
