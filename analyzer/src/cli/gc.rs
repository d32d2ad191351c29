//! `sandtrace gc`: remove what runs whose analyzer died left behind.

use std::process::ExitCode;

use sandtrace::sandbox::Sandbox;

/// Removes leftover containers, networks and cgroups.
pub async fn run() -> anyhow::Result<ExitCode> {
    let sandbox = Sandbox::connect().await?;
    let removed = sandbox.gc().await?;
    if removed.is_empty() {
        println!("nothing to remove");
    }
    for r in removed {
        println!("removed {r}");
    }
    Ok(ExitCode::SUCCESS)
}
