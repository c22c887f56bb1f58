//! Where a live session is recorded: `--record FILE`, or the state directory
//! (`$XDG_STATE_HOME/stackwatch/recordings/STACK-TIMESTAMP.jsonl`; the data directory where a
//! platform has no state directory). Recordings can hold secrets from logs, so they are readable
//! by their owner only, and the directory keeps the newest few.

use std::fs::{File, OpenOptions};
use std::io::BufWriter;
use std::path::{Path, PathBuf};

use super::recording::{Header, RecordingError, RecordingWriter};

/// Recordings kept in the state directory.
pub const KEEP_RECORDINGS: usize = 50;

/// stackwatch's own directory for state (recordings, its log).
pub fn state_dir() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("STACKWATCH_STATE_DIR") {
        return Some(PathBuf::from(dir));
    }
    let dirs = directories::ProjectDirs::from("", "", "stackwatch")?;
    Some(
        dirs.state_dir()
            .unwrap_or_else(|| dirs.data_local_dir())
            .to_path_buf(),
    )
}

/// The default recording path for a session named `name` (the stack, or "watch").
pub fn default_path(name: &str, stamp: &str) -> Option<PathBuf> {
    let safe: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .take(80)
        .collect();
    Some(
        state_dir()?
            .join("recordings")
            .join(format!("{safe}-{stamp}.jsonl")),
    )
}

/// Creates the recording, readable by its owner only, and writes its header.
pub fn create(
    path: &Path,
    header: &Header,
) -> Result<RecordingWriter<BufWriter<File>>, RecordingError> {
    let file = create_private(path)?;
    RecordingWriter::new(BufWriter::new(file), header).map_err(RecordingError::io(path.display()))
}

/// [`create`], with secrets masked in the header and in every observation written
/// (`watch --redact`, `stackwatch redact`).
pub fn create_redacted(
    path: &Path,
    header: &Header,
) -> Result<RecordingWriter<BufWriter<File>>, RecordingError> {
    let file = create_private(path)?;
    RecordingWriter::new_redacted(BufWriter::new(file), header)
        .map_err(RecordingError::io(path.display()))
}

/// A new (or truncated) file readable by its owner only, its directory created.
fn create_private(path: &Path) -> Result<File, RecordingError> {
    let io_err = |e| RecordingError::io(path.display())(e);
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(io_err)?;
    }
    let mut options = OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options.open(path).map_err(io_err)
}

/// Removes the oldest recordings in `dir` beyond the newest `keep`.
pub fn prune(dir: &Path, keep: usize) -> std::io::Result<usize> {
    let mut recordings: Vec<(std::time::SystemTime, PathBuf)> = std::fs::read_dir(dir)?
        .filter_map(Result::ok)
        .filter(|e| e.path().extension().is_some_and(|x| x == "jsonl"))
        .filter_map(|e| Some((e.metadata().ok()?.modified().ok()?, e.path())))
        .collect();
    recordings.sort();
    let excess = recordings.len().saturating_sub(keep);
    for (_, path) in recordings.iter().take(excess) {
        std::fs::remove_file(path)?;
    }
    Ok(excess)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Utc;

    #[test]
    fn a_redacted_recording_holds_no_secret() {
        use crate::model::{LogEvent, Observation};
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("redacted.jsonl");
        let at = Utc::now();
        let header = Header::new(
            vec![
                "stackwatch".into(),
                "--endpoint-url".into(),
                "http://admin:sup3rs3cret@localhost:5000".into(),
            ],
            at,
        );
        let line = |message: &str| {
            Observation::new(
                at,
                LogEvent {
                    group: "/ecs/api".into(),
                    stream: "ecs/app/0f6c0b3e9d8e4f0b9c1a2b3c4d5e6f70".into(),
                    timestamp: at,
                    message: message.into(),
                    event_id: None,
                },
            )
        };
        let observations = [
            line("boot with AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE"),
            line("AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"),
            line("db postgres://app:hunter2@db:5432/app up"),
            line("listening on :8080"),
        ];
        let mut writer = create_redacted(&path, &header).unwrap();
        writer.write_batch(&observations).unwrap();
        assert_eq!(writer.masked(), 4);
        drop(writer);
        let text = std::fs::read_to_string(&path).unwrap();
        for secret in [
            "sup3rs3cret",
            "IOSFODNN7EXAMPLE",
            "wJalrXUtnFEMI",
            "hunter2",
        ] {
            assert!(!text.contains(secret), "{secret} in {text}");
        }
        let (read_header, read) = super::super::recording::read_all(&path).unwrap();
        assert_eq!(
            read_header.args[2],
            "http://admin:[redacted]@localhost:5000"
        );
        assert_eq!(read.len(), 4);
        assert_eq!(read[3], observations[3]);
        assert!(text.contains("ecs/app/0f6c0b3e9d8e4f0b9c1a2b3c4d5e6f70"));
        // What the caller passed in (what the live screen shows) is untouched.
        assert!(matches!(&observations[2].kind,
            crate::model::ObservationKind::LogEvent(e) if e.message.contains("hunter2")));
    }

    #[test]
    fn recordings_are_private_and_the_directory_keeps_the_newest() {
        let dir = tempfile::tempdir().unwrap();
        for i in 0..5 {
            let path = dir.path().join(format!("app-{i}.jsonl"));
            create(&path, &Header::new(vec!["watch".into()], Utc::now())).unwrap();
            let modified =
                std::time::SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(i * 100);
            File::options()
                .write(true)
                .open(&path)
                .unwrap()
                .set_modified(modified)
                .unwrap();
        }
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.path().join("app-0.jsonl"))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        assert_eq!(prune(dir.path(), 3).unwrap(), 2);
        assert!(!dir.path().join("app-0.jsonl").exists());
        assert!(!dir.path().join("app-1.jsonl").exists());
        assert!(dir.path().join("app-4.jsonl").exists());
        assert_eq!(
            default_path("my app/../x", "20261130T000000Z")
                .unwrap()
                .file_name()
                .unwrap()
                .to_str()
                .unwrap(),
            "my_app____x-20261130T000000Z.jsonl"
        );
    }
}
