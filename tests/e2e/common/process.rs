//! Running the `switchyard` binary as a child process, as a user runs it,
//! and reading what it logs and serves.

use std::net::SocketAddr;
use std::process::Stdio;

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

use super::DEADLINE;

/// Starts the binary with `args` and returns it with its first log line
/// containing `marker` (which names the addresses it bound).
/// Children bind port 0 and report what they got, so concurrent test runs
/// never race for a port.
pub(crate) async fn switchyard(args: &[&str], marker: &str) -> (Child, String) {
    switchyard_with_env(args, &[], marker).await
}

/// [`switchyard`] with extra environment variables.
pub(crate) async fn switchyard_with_env(
    args: &[&str],
    env: &[(&str, &str)],
    marker: &str,
) -> (Child, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_switchyard"))
        .args(args)
        .envs(env.iter().copied())
        .env("RUST_LOG", "info")
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("switchyard binary starts");
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let found = tokio::time::timeout(DEADLINE, async {
        while let Some(line) = lines.next_line().await.unwrap() {
            let line = strip_ansi(&line);
            if line.contains(marker) {
                return line;
            }
        }
        panic!("switchyard {args:?} exited before logging {marker:?}");
    })
    .await
    .unwrap_or_else(|_| panic!("switchyard {args:?} did not log {marker:?} in time"));
    // Keep draining the log so the child never blocks on a full pipe.
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    (child, found)
}

/// `value` of `field=value` in a tracing log line.
pub(crate) fn field_value(line: &str, field: &str) -> Option<String> {
    let start = line.find(&format!("{field}="))? + field.len() + 1;
    let rest = &line[start..];
    let value: String = rest.chars().take_while(|c| !c.is_whitespace()).collect();
    Some(
        value
            .trim_matches(|c| c == '"' || c == ')')
            .trim_start_matches("Some(")
            .to_owned(),
    )
}

pub(crate) fn strip_ansi(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// A minimal HTTP/1.1 GET over a plain TCP stream.
pub(crate) async fn http_get(addr: SocketAddr, path: &str) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(addr)
        .await
        .expect("admin endpoint up");
    stream
        .write_all(
            format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n").as_bytes(),
        )
        .await
        .unwrap();
    let mut response = String::new();
    tokio::time::timeout(DEADLINE, stream.read_to_string(&mut response))
        .await
        .unwrap()
        .unwrap();
    response
}
