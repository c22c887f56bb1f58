//! Sessions: the recording format, replay on a virtual clock, and the demo scenario.

pub mod demo;
pub mod recording;
pub mod replay;
