//! The moto scenario driver (tests/moto/scenario.py) as a test fixture. std only.
//!
//! ```ignore
//! #[path = "support/moto.rs"]
//! mod moto;
//!
//! let m = moto::Moto::start();
//! let setup = m.post("/setup", r#"{"stack":"demo-app"}"#).unwrap();
//! // point stackwatch at m.endpoint (the fault/counting proxy in front of moto)
//! m.post("/cfn/event", r#"{"stack":"demo-app","logical_id":"Service","status":"CREATE_FAILED"}"#)
//!     .unwrap();
//! ```
//!
//! `Moto::start` runs `scripts/moto-venv.sh` (a no-op of about 0.15 s once the venv matches
//! tests/moto/requirements.txt; the first install takes about 25–35 s and needs PyPI), then spawns
//! the driver with a piped stdin that it keeps open: the driver exits when that pipe closes, so it
//! dies with the test process even when the test is killed. `Drop` kills it too.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// How long the driver may take to print its ready line (moto's imports take about 1 s).
const READY_TIMEOUT: Duration = Duration::from_secs(60);
/// Control calls: /setup pays moto's CloudFormation imports on its first call (about 1–2 s).
const CONTROL_TIMEOUT: Duration = Duration::from_secs(60);

/// A running moto server with the scenario driver's control endpoints.
pub struct Moto {
    /// The AWS endpoint to give stackwatch (`AWS_ENDPOINT_URL`): the proxy that counts calls and
    /// plays faults, in front of moto.
    pub endpoint: String,
    /// moto itself, bypassing the proxy.
    pub direct: String,
    /// The control server (`post`/`get` paths are relative to it).
    pub control: String,
    /// The driver's process id.
    pub pid: u32,
    child: Child,
    // Kept open: the driver exits when its stdin reaches EOF.
    stdin: Option<ChildStdin>,
}

/// The repository root (where Cargo.toml is): `CARGO_MANIFEST_DIR` as cargo set it at build time,
/// else at run time, else the current directory.
pub fn repo_root() -> PathBuf {
    match option_env!("CARGO_MANIFEST_DIR") {
        Some(dir) => PathBuf::from(dir),
        None => std::env::var_os("CARGO_MANIFEST_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| std::env::current_dir().expect("current dir")),
    }
}

/// Runs scripts/moto-venv.sh and returns the venv's python. Panics with the script's reason.
pub fn venv_python() -> PathBuf {
    let root = repo_root();
    let script = root.join("scripts/moto-venv.sh");
    let out = Command::new("bash")
        .arg(&script)
        .current_dir(&root)
        .stdin(Stdio::null())
        .stderr(Stdio::inherit())
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", script.display()));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let python = stdout.lines().last().unwrap_or("").trim();
    if !out.status.success() || python.is_empty() {
        panic!(
            "{} failed ({}): the moto tests need python3 and PyPI for the first install; \
             run `scripts/moto-venv.sh` by hand to see why",
            script.display(),
            out.status
        );
    }
    PathBuf::from(python)
}

impl Moto {
    /// Starts the driver and waits for its ready line. Panics on any failure.
    pub fn start() -> Moto {
        let root = repo_root();
        let python = venv_python();
        let mut child = Command::new(&python)
            .arg(root.join("tests/moto/scenario.py"))
            .current_dir(&root)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", python.display()));
        let stdin = child.stdin.take();
        let stdout = child.stdout.take().expect("piped stdout");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut reader = BufReader::new(stdout);
            let mut line = String::new();
            let read = reader.read_line(&mut line).map(|_| line);
            let _ = tx.send(read);
            // Drain whatever else the driver prints so it never blocks on a full pipe.
            let mut sink = Vec::new();
            let _ = reader.read_to_end(&mut sink);
        });
        let line = match rx.recv_timeout(READY_TIMEOUT) {
            Ok(Ok(line)) if !line.trim().is_empty() => line,
            other => {
                let _ = child.kill();
                let status = child.wait().ok();
                panic!(
                    "moto scenario driver did not get ready within {READY_TIMEOUT:?} \
                     ({other:?}, exit {status:?}); its stderr is above"
                );
            }
        };
        let field = |key: &str| {
            json_field(&line, key).unwrap_or_else(|| panic!("no {key:?} in ready line {line:?}"))
        };
        Moto {
            endpoint: field("moto"),
            direct: field("moto_direct"),
            control: field("control"),
            pid: field("pid").parse().expect("pid is a number"),
            child,
            stdin,
        }
    }

    /// POST a JSON body to a control endpoint; Ok(answer body) on 2xx, Err(status and body).
    pub fn post(&self, path: &str, body: &str) -> Result<String, String> {
        http_request(&self.control, "POST", path, body)
    }

    /// GET a control endpoint; Ok(answer body) on 2xx, Err(status and body).
    pub fn get(&self, path: &str) -> Result<String, String> {
        http_request(&self.control, "GET", path, "")
    }

    /// `post` that panics on an error answer, for test steps that must work.
    pub fn step(&self, path: &str, body: &str) -> String {
        self.post(path, body)
            .unwrap_or_else(|e| panic!("moto control {path} {body}: {e}"))
    }

    /// Environment for a stackwatch child process aimed at this moto (proxy endpoint).
    pub fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("AWS_ENDPOINT_URL", self.endpoint.clone()),
            ("AWS_ACCESS_KEY_ID", "testing".into()),
            ("AWS_SECRET_ACCESS_KEY", "testing".into()),
            ("AWS_REGION", "us-east-1".into()),
            ("AWS_DEFAULT_REGION", "us-east-1".into()),
            ("AWS_EC2_METADATA_DISABLED", "true".into()),
            // A minute of stackwatch's pace takes PACE_SCALE minutes: the same calls per poll
            // and the same budget per poll, without waiting out real minutes.
            ("STACKWATCH_PACE_SCALE", PACE_SCALE.to_string()),
        ]
    }
}

/// The pace stackwatch runs at against moto (see `Pace` in src/aws/budget.rs).
pub const PACE_SCALE: f64 = 0.2;

impl Drop for Moto {
    fn drop(&mut self) {
        drop(self.stdin.take());
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One HTTP/1.0 request to `base` (`http://host:port`) with raw std networking.
pub fn http_request(base: &str, method: &str, path: &str, body: &str) -> Result<String, String> {
    let hostport = base
        .strip_prefix("http://")
        .ok_or_else(|| format!("not an http:// URL: {base}"))?
        .trim_end_matches('/');
    let addr = hostport
        .to_socket_addrs()
        .map_err(|e| format!("{hostport}: {e}"))?
        .next()
        .ok_or_else(|| format!("{hostport}: no address"))?;
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_secs(5))
        .map_err(|e| format!("connect {hostport}: {e}"))?;
    stream.set_read_timeout(Some(CONTROL_TIMEOUT)).ok();
    stream.set_write_timeout(Some(CONTROL_TIMEOUT)).ok();
    let request = format!(
        "{method} {path} HTTP/1.0\r\nHost: {hostport}\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\n\r\n{body}",
        body.len()
    );
    stream
        .write_all(request.as_bytes())
        .map_err(|e| format!("send {method} {path}: {e}"))?;
    let mut raw = Vec::new();
    stream
        .read_to_end(&mut raw)
        .map_err(|e| format!("read {method} {path}: {e}"))?;
    let text = String::from_utf8_lossy(&raw);
    let (head, answer) = text
        .split_once("\r\n\r\n")
        .ok_or_else(|| format!("{method} {path}: malformed answer {text:?}"))?;
    let status: u16 = head
        .lines()
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| format!("{method} {path}: no status line in {head:?}"))?;
    if (200..300).contains(&status) {
        Ok(answer.to_string())
    } else {
        Err(format!("HTTP {status}: {answer}"))
    }
}

/// The value of `"key": "string"` or `"key": number` in a flat JSON object line. Enough for the
/// driver's ready line; use serde_json for the control answers.
pub fn json_field(line: &str, key: &str) -> Option<String> {
    let pattern = format!("\"{key}\"");
    let at = line.find(&pattern)? + pattern.len();
    let rest = line[at..].trim_start().strip_prefix(':')?.trim_start();
    if let Some(s) = rest.strip_prefix('"') {
        Some(s[..s.find('"')?].to_string())
    } else {
        let end = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '-' || c == '.'))
            .unwrap_or(rest.len());
        (end > 0).then(|| rest[..end].to_string())
    }
}
