//! What `switchyard run` writes to stderr, as a log pipeline reads it: with
//! `--log-format json` every line is one JSON object (start-up, warnings of
//! an unreachable scheduler, a log-level change, a config error); plain
//! text has no colour into a pipe and one line per event; `/log-level` on
//! the admin port reads and changes the filter while running.

use std::net::SocketAddr;
use std::process::Stdio;
use std::time::Duration;

use serde_json::Value;
use switchyard_testkit::within;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader, Lines};
use tokio::process::{Child, ChildStderr, Command};

/// The binary with `args`, stderr piped, no `NO_COLOR` (colour must be off
/// because stderr is not a terminal), `RUST_LOG` as given and `env`.
fn spawn(
    args: &[&str],
    rust_log: &str,
    env: &[(&str, &str)],
) -> (Child, Lines<BufReader<ChildStderr>>) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_switchyard"))
        .args(args)
        .env("RUST_LOG", rust_log)
        .envs(env.iter().copied())
        .env_remove("NO_COLOR")
        .env_remove("SWITCHYARD_LOG_LEVEL")
        .env_remove("SWITCHYARD_LOG_FORMAT")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("switchyard binary starts");
    let lines = BufReader::new(child.stderr.take().unwrap()).lines();
    (child, lines)
}

/// A port nothing listens on (bound, then released).
fn closed_port() -> SocketAddr {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
}

/// `switchyard run` on ports of its own, serving namespace `team-a` whose
/// scheduler is unreachable, with `extra` flags.
pub(crate) fn run_static(extra: &[&str], rust_log: &str) -> (Child, Lines<BufReader<ChildStderr>>) {
    let runtime = format!("team-a={}", closed_port());
    let mut args = vec!["run", "--runtime", &runtime];
    args.extend([
        "--gateway-listen",
        "127.0.0.1:0",
        "--metrics-listen",
        "127.0.0.1:0",
    ]);
    args.extend(extra);
    spawn(&args, rust_log, &[])
}

/// One HTTP/1.1 request over a fresh connection: status code and body.
pub(crate) async fn request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    body: &str,
) -> (u16, String) {
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    let mut response = String::new();
    within(
        "the admin endpoint answers",
        stream.read_to_string(&mut response),
    )
    .await
    .unwrap();
    let status = response
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no status line in {response:?}"));
    let body = response
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    (status, body)
}

/// `line` as a JSON log event: an object with a timestamp, a level and a
/// message.
pub(crate) fn event(line: &str) -> Value {
    let json: Value =
        serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line:?}"));
    assert!(json["timestamp"].is_string(), "no timestamp: {line}");
    assert!(json["level"].is_string(), "no level: {line}");
    assert!(json["fields"]["message"].is_string(), "no message: {line}");
    json
}

#[tokio::test]
async fn every_line_of_a_json_run_is_a_json_event_and_the_level_changes_while_running() {
    let (mut child, mut lines) = run_static(
        &["--log-format", "json"],
        // Everything, from every crate: hyper's, tonic's and ours.
        "trace",
    );
    let mut seen = 0;
    let mut next = async || {
        let line = within("a log line", lines.next_line())
            .await
            .unwrap()
            .expect("switchyard is still running");
        seen += 1;
        event(&line)
    };
    // The start-up line names the version and the addresses bound.
    let running = loop {
        let event = next().await;
        if event["fields"]["message"] == "switchyard running" {
            break event;
        }
    };
    assert_eq!(
        running["fields"]["version"],
        env!("CARGO_PKG_VERSION"),
        "{running}"
    );
    let metrics: SocketAddr = running["fields"]["metrics"]
        .as_str()
        .and_then(|m| m.strip_prefix("Some(")?.strip_suffix(')')?.parse().ok())
        .unwrap_or_else(|| panic!("no metrics address in {running}"));
    // The unreachable scheduler is warned about, as JSON too.
    loop {
        let event = next().await;
        if event["level"] == "WARN" && event.to_string().contains("team-a") {
            break;
        }
    }

    // /log-level: the filter in force, a bad one refused naming it, a good
    // one in force at once.
    assert_eq!(
        request(metrics, "GET", "/log-level", "").await,
        (200, "trace\n".into())
    );
    let (status, body) = request(metrics, "PUT", "/log-level", "switchyard=loud").await;
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("switchyard=loud"), "{body}");
    let (status, body) = request(metrics, "PUT", "/log-level", "warn,switchyard=info").await;
    assert_eq!((status, body.as_str()), (200, "warn,switchyard=info\n"));
    assert_eq!(
        request(metrics, "GET", "/log-level", "").await.1,
        "warn,switchyard=info\n"
    );
    let (status, _) = request(metrics, "POST", "/log-level", "debug").await;
    assert_eq!(status, 405);
    loop {
        let event = next().await;
        if event["fields"]["message"] == "log level changed" {
            assert_eq!(event["fields"]["filter"], "warn,switchyard=info", "{event}");
            break;
        }
    }
    child.kill().await.unwrap();
    // And whatever was still buffered.
    while let Ok(Ok(Some(line))) =
        tokio::time::timeout(Duration::from_secs(5), lines.next_line()).await
    {
        event(&line);
        seen += 1;
    }
    assert!(seen > 10, "only {seen} lines");
}

#[tokio::test]
async fn a_config_error_is_one_line_with_its_cause_once_in_either_format() {
    let dir = std::env::temp_dir().join(format!("switchyard-logs-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let config = dir.join("bad.toml");
    std::fs::write(&config, "[gateway]\nlisen = \"127.0.0.1:1\"\n").unwrap();
    let config = config.to_str().unwrap().to_owned();
    for format in ["plain", "json"] {
        let (mut child, mut lines) = spawn(
            &["run", "--config", &config, "--log-format", format],
            "info",
            &[],
        );
        let mut printed = Vec::new();
        while let Some(line) = within("stderr closes", lines.next_line()).await.unwrap() {
            printed.push(line);
        }
        let status = within("switchyard exits", child.wait()).await.unwrap();
        assert!(!status.success(), "{format}: a bad config file must fail");
        assert_eq!(printed.len(), 1, "{format}: {printed:#?}");
        let line = &printed[0];
        assert!(
            !line.contains('\u{1b}'),
            "{format}: colour into a pipe: {line}"
        );
        assert_eq!(
            line.matches("unknown field `lisen`").count(),
            1,
            "{format}: the cause once: {line}"
        );
        if format == "json" {
            let event = event(line);
            assert_eq!(event["level"], "ERROR", "{line}");
        } else {
            assert!(line.starts_with("error: config file "), "{line}");
        }
    }
    std::fs::remove_dir_all(&dir).ok();
}

#[tokio::test]
async fn plain_logs_have_no_colour_into_a_pipe() {
    let (_child, mut lines) = run_static(&[], "info");
    loop {
        let line = within("a log line", lines.next_line())
            .await
            .unwrap()
            .expect("switchyard is still running");
        assert!(!line.contains('\u{1b}'), "colour into a pipe: {line:?}");
        if line.contains("switchyard running") {
            assert!(line.contains(" INFO "), "{line}");
            break;
        }
    }
}

#[test]
fn the_readme_shows_a_json_line_as_the_binary_writes_it() {
    let readme =
        std::fs::read_to_string(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md"))
            .unwrap();
    let line = readme
        .lines()
        .find(|l| l.starts_with("{\"timestamp\""))
        .expect("README.md shows a JSON log line");
    let event = event(line);
    assert!(event["target"].is_string(), "{line}");
}

#[tokio::test]
async fn the_operator_logs_its_start_up_and_counts_its_api_requests() {
    let double = switchyard_kube_double::ApiDouble::start(SocketAddr::from(([127, 0, 0, 1], 0)))
        .await
        .unwrap();
    let dir = std::env::temp_dir().join(format!("switchyard-logs-kube-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let kubeconfig = crate::operator_handover::kubeconfig(&dir, &double.url());
    let (mut child, mut lines) = spawn(
        &[
            "run",
            "--kubernetes",
            "--clusterwide",
            "--kubeconfig",
            kubeconfig.to_str().unwrap(),
            "--namespace",
            "switchyard-system",
            "--log-format",
            "json",
            "--gateway-listen",
            "127.0.0.1:0",
            "--metrics-listen",
            "127.0.0.1:0",
        ],
        "info",
        &[("POD_NAME", "switchyard-0")],
    );
    let (mut starting, mut running) = (None, None);
    while starting.is_none() || running.is_none() {
        let line = within("a log line", lines.next_line())
            .await
            .unwrap()
            .expect("switchyard is still running");
        let event = event(&line);
        match event["fields"]["message"].as_str() {
            Some("operator starting") => starting = Some(event),
            Some("switchyard running") => running = Some(event),
            _ => {}
        }
    }
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    let fields = &starting.unwrap()["fields"];
    let api_server = double.url();
    for (field, want) in [
        ("version", env!("CARGO_PKG_VERSION")),
        ("scope", "cluster-wide"),
        ("identity", "switchyard-0"),
        ("lease", "switchyard-system/switchyard-leader"),
        ("api_server", api_server.trim_end_matches('/')),
    ] {
        assert_eq!(
            fields[field].as_str().map(|v| v.trim_end_matches('/')),
            Some(want),
            "{field}: {fields}"
        );
    }
    let metrics: SocketAddr = running.unwrap()["fields"]["metrics"]
        .as_str()
        .and_then(|m| m.strip_prefix("Some(")?.strip_suffix(')')?.parse().ok())
        .expect("metrics address");
    let host = api_server
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .to_owned();
    let wanted = [
        format!("rest_client_requests_total{{code=\"200\",method=\"GET\",host=\"{host}\"}}"),
        format!("rest_client_request_duration_seconds_count{{verb=\"WATCH\",host=\"{host}\"}}"),
        format!(
            "switchyard_build_info{{version=\"{}\"}} 1",
            env!("CARGO_PKG_VERSION")
        ),
    ];
    switchyard_testkit::eventually("the API requests are counted", async || {
        let (_, body) = request(metrics, "GET", "/metrics", "").await;
        wanted.iter().all(|w| body.contains(w.as_str()))
    })
    .await;
    child.kill().await.unwrap();
    std::fs::remove_dir_all(&dir).ok();
}
