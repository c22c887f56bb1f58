//! Sessions: the recording format, replay on a virtual clock, the feed the loop plays (a
//! replay or live sources), and the demo scenario.

pub mod demo;
pub mod feed;
mod read_ahead;
pub mod recorder;
pub mod recording;
pub mod replay;
pub mod until;
