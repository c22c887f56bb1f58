//! The dashboard watching a live deploy in a real terminal: `stackwatch watch --stack` runs in
//! a 160x48 pseudo-terminal against the moto scenario driver, shows `LIVE` and its panes, shows
//! the flag of a failure the test injects, quits on `q` with status 0 and leaves the terminal
//! as it found it (as tests/pty.rs checks for the demo).

#[path = "support/moto.rs"]
mod moto;

#[path = "support/terminal.rs"]
mod terminal;

use std::io::Write;
use std::time::Duration;

use serde_json::{Value, json};
use terminal::{assert_restored, expect_clean_exit, read_screen, spawn_stackwatch, wait_for};

use moto::Moto;

const ROWS: u16 = 48;
const COLS: u16 = 160;
/// A few polls of every source.
const SCREEN_WAIT: Duration = Duration::from_secs(30);

/// Real wording (tests/data/signals-known.jsonl): NFS blocked between the task and EFS.
const EFS_REASON: &str = "ResourceInitializationError: failed to invoke EFS utils commands to set up EFS volumes: stderr: mount.nfs4: Connection reset by peer : unsuccessful EFS utils command execution; code: 32";

#[test]
fn the_dashboard_watches_a_live_deploy_shows_its_flag_and_quits_on_q() {
    let moto = Moto::start();
    let setup = moto.step("/setup", r#"{"stack": "tui-app"}"#);
    let setup: Value = serde_json::from_str(&setup).unwrap();
    let field = |key: &str| setup[key].as_str().unwrap().to_string();
    let (cluster, service) = (field("cluster_name"), field("service_name"));

    let mut env = moto.env();
    env.push((
        "STACKWATCH_STATE_DIR",
        std::env::temp_dir()
            .join("stackwatch-live-tests")
            .display()
            .to_string(),
    ));
    let (master, mut child) = spawn_stackwatch(
        ROWS,
        COLS,
        &["watch", "--stack", "tui-app", "--no-record"],
        env,
    );

    let (screen, reader_thread) = read_screen(&*master, ROWS, COLS);
    let mut writer = master.take_writer().unwrap();

    // Live, with every pane and the stack's first event.
    let panes = ["Resources", "Timeline", "ECS", "Targets", "Logs"];
    let shown = wait_for(&screen, SCREEN_WAIT, |s| {
        s.contains("LIVE")
            && s.contains("tui-app")
            && s.contains("User Initiated")
            && panes.iter().all(|p| s.contains(p))
    });
    let contents = shown.unwrap_or_else(|s| panic!("the live dashboard never showed:\n{s}"));
    assert!(
        screen.lock().unwrap().parser.screen().alternate_screen(),
        "the dashboard draws on the alternate screen"
    );
    assert!(!contents.contains("ecs.efs_mount_network"));

    // A task of the service cannot mount EFS.
    let task = moto.step(
        "/ecs/run-task",
        &json!({"cluster": cluster, "service": service, "last_status": "PENDING",
                "register": false})
        .to_string(),
    );
    let task: Value = serde_json::from_str(&task).unwrap();
    moto.step(
        "/ecs/stop-task",
        &json!({"cluster": cluster, "task": task["task_arn"],
                "stop_code": "TaskFailedToStart", "stopped_reason": EFS_REASON})
        .to_string(),
    );
    let flagged = wait_for(&screen, SCREEN_WAIT, |s| {
        s.contains("ecs.efs_mount_network") && s.contains("ERROR")
    });
    if let Err(s) = flagged {
        panic!("the flag never showed:\n{s}");
    }

    writer.write_all(b"q").unwrap();
    writer.flush().unwrap();
    expect_clean_exit(&mut child, "q");
    drop(writer);
    drop(master);
    let _ = reader_thread.join();

    assert_restored(&screen, "q");
}
