//! The dashboard in a pseudo-terminal: the parsed screen, and the checks that it quit and left
//! the terminal as it found it. Shared by the replay and the live pty tests.

use std::sync::Mutex;
use std::time::{Duration, Instant};

/// What the program drew: the parsed screen and every byte it wrote.
pub struct Screen {
    pub parser: vt100::Parser,
    pub raw: Vec<u8>,
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
