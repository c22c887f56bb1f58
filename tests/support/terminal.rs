//! The dashboard in a pseudo-terminal: the parsed screen, and the checks that it quit and left
//! the terminal as it found it. Shared by the replay and the live pty tests.

use std::io::Read;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// The stackwatch binary in a `rows` x `cols` pty with `args` and `env`, as a user's terminal
/// runs it (xterm-256color, colour on, the default theme): the pty's master side and the child.
pub fn spawn_stackwatch<'a>(
    rows: u16,
    cols: u16,
    args: &[&str],
    env: impl IntoIterator<Item = (&'a str, String)>,
) -> (
    Box<dyn portable_pty::MasterPty + Send>,
    Box<dyn portable_pty::Child + Send + Sync>,
) {
    use portable_pty::{CommandBuilder, PtySize, native_pty_system};
    let pty = native_pty_system()
        .openpty(PtySize {
            rows,
            cols,
            pixel_width: 0,
            pixel_height: 0,
        })
        .expect("open a pty");
    let mut cmd = CommandBuilder::new(env!("CARGO_BIN_EXE_stackwatch"));
    cmd.args(args);
    for (key, value) in env {
        cmd.env(key, value);
    }
    cmd.env("TERM", "xterm-256color");
    cmd.env_remove("NO_COLOR");
    cmd.env_remove("STACKWATCH_THEME");
    let child = pty.slave.spawn_command(cmd).expect("spawn stackwatch");
    // The child holds the slave side: the reader sees the pty close when it exits.
    drop(pty.slave);
    (pty.master, child)
}

/// What the program drew: the parsed screen and every byte it wrote.
pub struct Screen {
    pub parser: vt100::Parser,
    pub raw: Vec<u8>,
}

/// Parses everything the program writes to the pty into a `rows` x `cols` screen, on a thread
/// that ends once the child has exited and the pty closes.
pub fn read_screen(
    master: &dyn portable_pty::MasterPty,
    rows: u16,
    cols: u16,
) -> (Arc<Mutex<Screen>>, JoinHandle<()>) {
    let screen = Arc::new(Mutex::new(Screen {
        parser: vt100::Parser::new(rows, cols, 0),
        raw: Vec::new(),
    }));
    let mut reader = master.try_clone_reader().unwrap();
    let sink = Arc::clone(&screen);
    let reader_thread = std::thread::spawn(move || {
        let mut buf = [0u8; 8192];
        // Ends with EOF or EIO once the child has exited and the pty closes.
        while let Ok(n) = reader.read(&mut buf) {
            if n == 0 {
                break;
            }
            let mut s = sink.lock().unwrap();
            s.parser.process(&buf[..n]);
            s.raw.extend_from_slice(&buf[..n]);
        }
    });
    (screen, reader_thread)
}

/// Polls the parsed screen until `check` holds or `deadline` passes; the screen's text either
/// way (`Err` when it never held).
pub fn wait_for(
    screen: &Mutex<Screen>,
    deadline: Duration,
    check: impl Fn(&str) -> bool,
) -> Result<String, String> {
    let until = Instant::now() + deadline;
    loop {
        let contents = screen.lock().unwrap().parser.screen().contents();
        if check(&contents) {
            return Ok(contents);
        }
        if Instant::now() >= until {
            return Err(contents);
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Waits up to ten seconds for the child to exit after `what` asked it to, and checks it
/// exited with success.
pub fn expect_clean_exit(child: &mut Box<dyn portable_pty::Child + Send + Sync>, what: &str) {
    let until = Instant::now() + Duration::from_secs(10);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > until {
            let _ = child.kill();
            panic!("stackwatch did not quit on {what}");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(status.success(), "{what}: exit status {status:?}");
}

/// The terminal is restored: the main screen, the cursor shown, mouse capture off.
pub fn assert_restored(screen: &Mutex<Screen>, what: &str) {
    let s = screen.lock().unwrap();
    assert!(
        !s.parser.screen().alternate_screen(),
        "{what}: still on the alternate screen"
    );
    assert!(
        !s.parser.screen().hide_cursor(),
        "{what}: the cursor is still hidden"
    );
    let raw = String::from_utf8_lossy(&s.raw);
    assert!(
        raw.contains("\x1b[?1049l"),
        "{what}: never left the alternate screen"
    );
    assert!(
        raw.contains("\x1b[?1000l"),
        "{what}: never turned mouse capture off"
    );
}
