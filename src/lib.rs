//! stackwatch: a terminal dashboard that watches an AWS deployment live.
//!
//! Data flows one way: sources (replay, the demo, later live AWS) produce observations; the
//! pure core (`model`, `detect`, `pipeline`) turns them into state and flags; the outputs (`ui`,
//! `headless`) read that state.

pub mod app;
pub mod aws;
pub mod cli;
pub mod clock;
pub mod config;
pub mod detect;
pub mod explain;
pub mod headless;
pub mod logging;
pub mod model;
pub mod pipeline;
pub mod redact;
pub mod report;
pub mod sanitize;
pub mod session;
pub mod status;
pub mod text;
pub mod ui;
