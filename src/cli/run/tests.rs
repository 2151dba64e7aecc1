//! Flags over the file over defaults, and the errors that name options.
//! (Variables are clap's business, checked on the real binary in
//! `tests/e2e/print_config.rs`.)

use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::Parser;

use super::*;
use crate::app::{KubeConnection, StaticRuntimes};
use crate::config::FileConfig;
use switchyard_operator::WatchScope;
use switchyard_operator::leader;

#[derive(Parser)]
struct Cli {
    #[command(flatten)]
    run: RunArgs,
}

fn args(list: &[&str]) -> RunArgs {
    Cli::try_parse_from(std::iter::once("run").chain(list.iter().copied()))
        .unwrap()
        .run
}

fn parse(list: &[&str]) -> AppConfig {
    try_parse(list).unwrap()
}

fn try_parse(list: &[&str]) -> anyhow::Result<AppConfig> {
    app_config_in(args(list), None, &mut Vec::new()).map(|c| c.expect("not printing"))
}

/// A config file with `text`, removed on drop.
struct TempFile(PathBuf);

impl TempFile {
    fn new(name: &str, text: &str) -> TempFile {
        let path =
            std::env::temp_dir().join(format!("switchyard-run-{}-{name}.toml", std::process::id()));
        std::fs::write(&path, text).unwrap();
        TempFile(path)
    }
    fn arg(&self) -> &str {
        self.0.to_str().unwrap()
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        std::fs::remove_file(&self.0).ok();
    }
}

#[test]
fn kubernetes_is_off_unless_asked_for() {
    assert!(parse(&[]).kubernetes.is_none());
    assert!(parse(&["--kubernetes=false"]).kubernetes.is_none());
}

#[test]
fn kubernetes_flags_shape_the_operator() {
    let config = parse(&[
        "--kubernetes",
        "--namespace",
        "seldon-system",
        "--watch-namespaces",
        "a,b",
        "--leader-elect-lease-name",
        "mine",
        "--leader-elect-lease-duration",
        "30",
        "--scheduler-address-template",
        "127.0.0.1:{namespace}",
        "--scheduler-address",
        "b=10.0.0.2:1",
        "--reconcile-concurrency",
        "3",
        "--status-workers",
        "2",
        "--finalizer-recheck",
        "9",
    ]);
    let kube = config.kubernetes.unwrap();
    assert_eq!(
        kube.scope,
        WatchScope::Namespaces(["a", "b", "seldon-system"].map(String::from).into())
    );
    let election = kube.leader_election.unwrap();
    assert_eq!(election.lease_name, "mine");
    assert_eq!(election.namespace, "seldon-system");
    assert_eq!(election.lease_duration, Duration::from_secs(30));
    assert_eq!(election.renew_deadline, leader::DEFAULT_RENEW_DEADLINE);
    assert_eq!(kube.addressing.spec_for("x").address, "127.0.0.1:x");
    assert_eq!(kube.addressing.spec_for("b").address, "10.0.0.2:1");
    assert_eq!(kube.tuning.reconcile_concurrency, 3);
    assert_eq!(kube.tuning.status_workers, 2);
    assert_eq!(kube.finalizer_recheck, Duration::from_secs(9));
    assert!(matches!(kube.connection, KubeConnection::Infer));

    let config = parse(&[
        "--kubernetes",
        "--leader-elect=false",
        "--clusterwide",
        "--kubeconfig",
        "/k",
    ]);
    let kube = config.kubernetes.unwrap();
    assert!(kube.leader_election.is_none());
    assert_eq!(kube.scope, WatchScope::AllNamespaces);
    assert!(matches!(kube.connection, KubeConnection::Kubeconfig(p) if p == Path::new("/k")));
}

#[test]
fn flags_win_over_the_file_which_wins_over_defaults() {
    let file = TempFile::new(
        "layers",
        r#"
        runtimes_poll_seconds = 7
        [gateway]
        listen = "127.0.0.1:1"
        default_namespace = "from-file"
        call_timeout_seconds = 8
        [gateway.tls]
        cert = "/file/cert"
        key = "/file/key"
        [scheduler]
        address_template = "file.{namespace}:1"
        [scheduler.tls]
        ca = "/file/ca"
        [[runtimes]]
        namespace = "a"
        [kubernetes]
        scheduler_addresses = { a = "file:1", b = "file:2" }
        "#,
    );
    let config = parse(&[
        "--config",
        file.arg(),
        "--gateway-listen",
        "127.0.0.1:2",
        "--gateway-tls-key",
        "/flag/key",
        "--scheduler-tls-server-name",
        "flag-name",
    ]);
    // Flag over file.
    assert_eq!(config.gateway_listen, "127.0.0.1:2".parse().unwrap());
    let tls = config.gateway.tls.as_ref().unwrap();
    assert_eq!(tls.key, Path::new("/flag/key"));
    // File over default.
    assert_eq!(tls.cert, Path::new("/file/cert"));
    assert_eq!(
        config.gateway.default_namespace.as_deref(),
        Some("from-file")
    );
    assert_eq!(config.gateway.call_timeout_seconds, Some(8));
    // Default where neither says.
    assert_eq!(
        config.metrics_listen,
        Some(crate::config::DEFAULT_METRICS_LISTEN)
    );
    let StaticRuntimes::File {
        path,
        poll,
        overrides,
    } = config.runtimes
    else {
        panic!("the file's runtimes are followed");
    };
    assert_eq!(path, file.0);
    assert_eq!(poll, Duration::from_secs(7));
    // The poller re-applies the flag to every read of the file.
    let mut reread = FileConfig::load(&path).unwrap();
    overrides.apply(&mut reread.scheduler).unwrap();
    let spec = &reread.runtime_specs()[0];
    assert_eq!(spec.address, "file.a:1");
    let tls = spec.tls.as_ref().unwrap();
    assert_eq!(tls.ca, Path::new("/file/ca"));
    assert_eq!(tls.server_name.as_deref(), Some("flag-name"));

    // A repeated flag replaces the file's map as a whole.
    let config = parse(&[
        "--config",
        file.arg(),
        "--kubernetes",
        "--leader-elect=false",
        "--scheduler-address",
        "c=flag:3",
    ]);
    let overrides = config.kubernetes.unwrap().addressing.overrides;
    assert_eq!(
        overrides.into_iter().collect::<Vec<_>>(),
        [("c".to_owned(), "flag:3".to_owned())]
    );
}

#[test]
fn runtime_flags_replace_the_files_runtimes() {
    let config = parse(&[
        "--runtime",
        "a=127.0.0.1:5",
        "--runtime",
        "b",
        "--scheduler-address-template",
        "h-{namespace}:9",
    ]);
    let StaticRuntimes::Fixed(specs) = config.runtimes else {
        panic!("runtimes from flags are fixed");
    };
    let addresses: Vec<_> = specs.iter().map(|s| s.address.as_str()).collect();
    assert_eq!(addresses, ["127.0.0.1:5", "h-b:9"]);
}

#[test]
fn errors_name_the_option() {
    let cases: &[(&[&str], &str)] = &[
        (
            &[
                "--kubernetes",
                "--namespace",
                "ns",
                "--leader-elect-renew-deadline",
                "20",
            ],
            "kubernetes.renew_deadline_seconds (--leader-elect-renew-deadline",
        ),
        (
            &[
                "--kubernetes",
                "--namespace",
                "ns",
                "--leader-elect-lease-name",
                "",
            ],
            "kubernetes.lease_name (--leader-elect-lease-name",
        ),
        (&["--kubernetes"], "--namespace"),
        (&["--gateway-tls-cert", "/c"], "--gateway-tls-key"),
        (&["--scheduler-tls-cert", "/c"], "--scheduler-tls-ca"),
        (&["--runtimes-poll", "0"], "--runtimes-poll"),
        (
            &["--reconcile-concurrency", "0"],
            "kubernetes.reconcile_concurrency",
        ),
        (&["--runtime", "a", "--runtime", "a"], "--runtime"),
    ];
    for (list, needle) in cases {
        let err = format!("{:#}", try_parse(list).unwrap_err());
        assert!(err.contains(needle), "{list:?}: {err}");
    }
    let err = Cli::try_parse_from(["run", "--scheduler-address", "nope"])
        .err()
        .unwrap()
        .to_string();
    assert!(err.contains("NS=HOST:PORT"), "{err}");
}

#[test]
fn print_config_prints_the_merged_options_and_starts_nothing() {
    let mut out = Vec::new();
    let printed = app_config_in(
        args(&[
            "--print-config",
            "--runtime",
            "a=127.0.0.1:5",
            "--gateway-call-timeout",
            "4",
        ]),
        None,
        &mut out,
    )
    .unwrap();
    assert!(printed.is_none());
    let text = String::from_utf8(out).unwrap();
    let reread = FileConfig::parse(Path::new("printed"), &text).unwrap();
    assert_eq!(reread.gateway.call_timeout_seconds, Some(4));
    assert_eq!(
        reread.gateway.listen,
        Some(crate::config::DEFAULT_GATEWAY_LISTEN)
    );
    assert_eq!(reread.runtimes[0].address.as_deref(), Some("127.0.0.1:5"));
    assert_eq!(reread.kubernetes.leader_elect, Some(true));
    // Printed, the defaults are a fixed point.
    assert_eq!(reread.clone().with_defaults(None), reread);
}

#[test]
fn log_settings_come_from_flags_then_the_file_then_rust_log() {
    use crate::telemetry::logs::{LogFormat, LogSettings};
    let log = |list: &[&str], rust_log: Option<&str>| {
        configure(args(list), None, rust_log, &mut Vec::new())
            .unwrap()
            .expect("not printing")
            .1
    };
    assert_eq!(
        log(&[], None),
        LogSettings {
            filter: "info".into(),
            format: LogFormat::Plain
        }
    );
    assert_eq!(log(&[], Some("warn")).filter, "warn");
    let file = TempFile::new("log", "[log]\nlevel = \"debug\"\nformat = \"json\"\n");
    let from_file = log(&["--config", file.arg()], Some("warn"));
    assert_eq!(
        from_file,
        LogSettings {
            filter: "debug".into(),
            format: LogFormat::Json
        }
    );
    let flags = log(
        &[
            "--config",
            file.arg(),
            "--log-level",
            "switchyard=trace",
            "--log-format",
            "plain",
        ],
        Some("warn"),
    );
    assert_eq!(
        flags,
        LogSettings {
            filter: "switchyard=trace".into(),
            format: LogFormat::Plain
        }
    );
    let err = try_parse(&["--log-level", "switchyard=loud"])
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("log.level (--log-level, SWITCHYARD_LOG_LEVEL)") && err.contains("loud"),
        "{err}"
    );
}

#[test]
fn pool_connections_per_runtime_reach_the_pool_and_zero_is_refused() {
    assert_eq!(parse(&[]).spread.max_connections, 4);
    let config = parse(&["--pool-max-connections-per-runtime", "1"]);
    assert_eq!(config.spread.max_connections, 1);
    let error = try_parse(&["--pool-max-connections-per-runtime", "0"]).unwrap_err();
    assert!(
        error
            .to_string()
            .contains("pool.max_connections_per_runtime"),
        "{error}"
    );
}

#[test]
fn admin_port_bounds_reach_the_app_and_zero_is_refused() {
    use crate::telemetry::admin::ADMIN_LIMITS;
    assert_eq!(parse(&[]).admin_limits, ADMIN_LIMITS);
    let config = parse(&[
        "--metrics-max-connections",
        "8",
        "--metrics-handshake-timeout",
        "3",
        "--metrics-idle-timeout",
        "4",
    ]);
    assert_eq!(config.admin_limits.max_connections, 8);
    assert_eq!(
        config.admin_limits.handshake_timeout,
        Duration::from_secs(3)
    );
    assert_eq!(config.admin_limits.idle_timeout, Duration::from_secs(4));
    for flag in [
        "--metrics-max-connections",
        "--metrics-handshake-timeout",
        "--metrics-idle-timeout",
    ] {
        let error = try_parse(&[flag, "0"]).unwrap_err().to_string();
        assert!(
            error.contains(flag) && error.contains("must be at least 1"),
            "{error}"
        );
    }
}

#[test]
fn gateway_auth_defaults_to_kubernetes_with_the_operator_and_needs_what_its_mode_needs() {
    use switchyard_access::AuthMode;
    let mode = |list: &[&str]| {
        let config = parse(list);
        let kubernetes = config.kubernetes.is_some();
        config.gateway.auth.engine(kubernetes).mode
    };
    assert_eq!(mode(&[]), AuthMode::None);
    let operator = ["--kubernetes", "--leader-elect=false"];
    assert_eq!(mode(&operator), AuthMode::Kubernetes);
    assert_eq!(
        mode(&[
            "--kubernetes",
            "--leader-elect=false",
            "--gateway-auth=none"
        ]),
        AuthMode::None
    );
    let err = |list: &[&str]| format!("{:#}", try_parse(list).unwrap_err());
    let without = err(&["--gateway-auth=kubernetes"]);
    assert!(
        without.contains("gateway.auth.mode") && without.contains("--kubernetes"),
        "{without}"
    );
    let no_file = err(&["--gateway-auth=policy"]);
    assert!(no_file.contains("gateway.auth.policy_file"), "{no_file}");
    let bad = err(&[
        "--gateway-auth=policy",
        "--gateway-auth-policy-file=/p",
        "--gateway-auth-allowed-cache-ttl=-1",
    ]);
    assert!(bad.contains("allowed_cache_ttl_seconds"), "{bad}");
    assert!(
        Cli::try_parse_from(["run", "--gateway-auth=open"]).is_err(),
        "an unknown mode is refused"
    );
}
