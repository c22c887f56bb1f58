//! A recording parsed on a thread of its own, a few batches ahead of the pipeline. Parsing JSON
//! is a fifth of a replay; on two cores it overlaps applying the observations instead of
//! adding to it. The thread also works out what it can of each observation from it alone
//! ([`Prepared`]: most log lines match no rule). The channels are bounded, so at most `DEPTH`
//! batches wait in memory each way: read batches go back to be freed and filled again.

use std::io::BufRead;
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::thread;

use super::recording::{RecordingError, RecordingReader};
use crate::model::Observation;
use crate::pipeline::Prepared;

/// Observations per batch: large enough that the channel costs nothing per observation, small
/// enough that the first screen of a replay does not wait for it.
const BATCH: usize = 512;

/// Batches parsed ahead of the pipeline.
const DEPTH: usize = 4;

/// One batch, and how the reader stands after it.
struct Batch {
    observations: Spent,
    truncated_tail: bool,
    skipped_unknown_kinds: u64,
    /// Set on the last batch: the end of the recording, or the error that stopped it.
    end: Option<Result<(), RecordingError>>,
}

/// A batch's observations. Once read they go back to the thread, which frees them where
/// they were made (a free from another thread costs more) and fills the same `Vec` again.
type Spent = Vec<(Observation, Prepared)>;

/// Reads observations parsed by a background thread, in order.
pub struct ReadAhead {
    batches: Receiver<Batch>,
    /// Read batches going back to the thread (bounded: a full channel drops them here).
    spent: SyncSender<Spent>,
    /// The batch being read, and the position of the next observation in it. Observations
    /// are lent where they lie, not moved out (each is a few hundred bytes).
    current: Spent,
    next: usize,
    end: Option<Result<(), RecordingError>>,
    finished: bool,
    path: String,
    /// True once a cut-short last line was skipped.
    pub truncated_tail: bool,
    /// Observations skipped because their kind is unknown to this version.
    pub skipped_unknown_kinds: u64,
}

impl ReadAhead {
    /// Starts parsing `reader` (its header already read) on a thread. Dropping the
    /// `ReadAhead` stops the thread at its next batch.
    pub fn spawn<R: BufRead + Send + 'static>(reader: RecordingReader<R>) -> Self {
        let path = reader.path().to_string();
        let (tx, rx) = sync_channel(DEPTH);
        let (spent_tx, spent_rx) = sync_channel(DEPTH);
        let spawned = thread::Builder::new()
            .name("recording-reader".into())
            .spawn(move || parse_into(reader, &tx, &spent_rx));
        let mut ahead = ReadAhead {
            batches: rx,
            spent: spent_tx,
            current: Vec::new(),
            next: 0,
            end: None,
            finished: false,
            path,
            truncated_tail: false,
            skipped_unknown_kinds: 0,
        };
        if let Err(e) = spawned {
            ahead.end = Some(Err(RecordingError::io(&ahead.path)(e)));
        }
        ahead
    }

    /// The next observation with what the thread settled about it, or `None` at the end
    /// (call [`ReadAhead::load`] first).
    pub fn peek(&self) -> Option<&(Observation, Prepared)> {
        self.current.get(self.next)
    }

    /// Moves past the observation [`ReadAhead::peek`] shows, and loads the one after.
    pub fn advance(&mut self) -> Result<(), RecordingError> {
        self.next += 1;
        self.load()
    }

    /// Waits until the next observation is there, or the end, or an error (returned once,
    /// after every observation before it).
    pub fn load(&mut self) -> Result<(), RecordingError> {
        loop {
            if self.next < self.current.len() || self.finished {
                return Ok(());
            }
            if let Some(end) = self.end.take() {
                self.finished = true;
                self.current.clear();
                self.next = 0;
                return end;
            }
            match self.batches.recv() {
                Ok(batch) => {
                    self.truncated_tail = batch.truncated_tail;
                    self.skipped_unknown_kinds = batch.skipped_unknown_kinds;
                    let spent = std::mem::replace(&mut self.current, batch.observations);
                    // Dropped here instead when the thread is gone or has enough.
                    let _ = self.spent.try_send(spent);
                    self.next = 0;
                    self.end = batch.end;
                }
                // The thread ended without saying why: it panicked.
                Err(_) => {
                    self.end = Some(Err(RecordingError::io(&self.path)(std::io::Error::other(
                        "the reader thread stopped",
                    ))));
                }
            }
        }
    }
}

/// The thread: parse batch after batch until the end, an error, or a receiver gone away.
fn parse_into<R: BufRead>(
    mut reader: RecordingReader<R>,
    tx: &SyncSender<Batch>,
    spent: &Receiver<Spent>,
) {
    loop {
        let mut observations = match spent.try_recv() {
            Ok(mut used) => {
                used.clear();
                used
            }
            Err(_) => Vec::with_capacity(BATCH),
        };
        let mut end = None;
        while observations.len() < BATCH {
            match reader.next_observation() {
                Ok(Some(obs)) => {
                    let prepared = Prepared::of(&obs);
                    observations.push((obs, prepared));
                }
                Ok(None) => {
                    end = Some(Ok(()));
                    break;
                }
                Err(e) => {
                    end = Some(Err(e));
                    break;
                }
            }
        }
        let last = end.is_some();
        let batch = Batch {
            observations,
            truncated_tail: reader.truncated_tail,
            skipped_unknown_kinds: reader.skipped_unknown_kinds,
            end,
        };
        if tx.send(batch).is_err() || last {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{LogEvent, ObservationKind};
    use crate::session::recording::{Header, RecordingWriter};
    use chrono::{TimeDelta, TimeZone, Utc};
    use std::io::Cursor;

    fn recording(n: usize, tail: &str) -> Vec<u8> {
        let start = Utc.with_ymd_and_hms(2026, 11, 23, 12, 0, 0).unwrap();
        let header = Header::new(vec!["test".into()], start);
        let observations: Vec<Observation> = (0..n)
            .map(|i| {
                let at = start + TimeDelta::seconds(i as i64);
                Observation::new(
                    at,
                    ObservationKind::LogEvent(LogEvent {
                        group: "/ecs/app".into(),
                        stream: "app/web/1".into(),
                        timestamp: at,
                        message: format!("line {i}"),
                        event_id: Some(format!("e{i}")),
                    }),
                )
            })
            .collect();
        let mut writer = RecordingWriter::new(Vec::new(), &header).unwrap();
        writer.write_batch(observations.iter()).unwrap();
        let mut bytes = writer.into_inner();
        bytes.extend_from_slice(tail.as_bytes());
        bytes
    }

    fn read(bytes: Vec<u8>) -> (Vec<Observation>, Option<RecordingError>, ReadAhead) {
        let reader = RecordingReader::new(Cursor::new(bytes), "test").unwrap();
        let mut ahead = ReadAhead::spawn(reader);
        let mut got = Vec::new();
        let mut loaded = ahead.load();
        let error = loop {
            if let Err(e) = loaded {
                break Some(e);
            }
            match ahead.peek() {
                Some((obs, _)) => got.push(obs.clone()),
                None => break None,
            }
            loaded = ahead.advance();
        };
        (got, error, ahead)
    }

    #[test]
    fn every_observation_comes_once_in_order_across_batches() {
        // Enough batches that read ones go back to the thread and are filled again.
        let n = BATCH * (2 * DEPTH + 3) + 7;
        let (got, error, mut ahead) = read(recording(n, ""));
        assert!(error.is_none());
        assert_eq!(got.len(), n);
        assert!(got.windows(2).all(|w| w[0].at < w[1].at));
        assert!(!ahead.truncated_tail);
        ahead.load().unwrap();
        assert!(ahead.peek().is_none(), "the end stays the end");
    }

    #[test]
    fn a_bad_line_comes_after_the_observations_before_it_and_only_once() {
        let (got, error, mut ahead) = read(recording(BATCH + 3, "garbage\n"));
        assert_eq!(got.len(), BATCH + 3);
        assert!(
            matches!(error, Some(RecordingError::BadLine { line, .. }) if line == BATCH as u64 + 5)
        );
        ahead.load().unwrap();
        assert!(ahead.peek().is_none());
    }

    #[test]
    fn a_cut_short_last_line_is_reported() {
        let (got, error, ahead) = read(recording(3, "{\"at\":\"2026-11-"));
        assert_eq!(got.len(), 3);
        assert!(error.is_none());
        assert!(ahead.truncated_tail);
    }
}
