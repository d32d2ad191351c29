//! sandtrace: detonate an untrusted container image in a hardened Docker sandbox, trace everything
//! it does with eBPF, and report it.
//!
//! Data flows forward through one module per stage: [`sandbox`] (Docker, cgroup) and [`capture`]
//! (eBPF probes, ring buffer) produce [`event::Event`]s, [`correlate`] rebuilds the process tree and
//! summaries, [`report`] renders the result; [`analyze`] runs the stages in order.

pub mod analyze;
pub mod capture;
pub mod correlate;
pub mod detect;
pub mod doctor;
pub mod event;
pub mod model;
pub mod report;
pub mod sandbox;
pub mod sinkhole;
pub mod store;
