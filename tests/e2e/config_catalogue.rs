//! The catalogue of options (`switchyard::config::catalogue`), the flags of
//! `switchyard run`, the config schema and `config/switchyard.toml` agree:
//! every option has a flag with its variable, every flag is an option,
//! every schema key is catalogued, and the example file documents each
//! option with its default, flag and variable.

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::path::Path;

use clap::CommandFactory;
use switchyard::cli::Cli;
use switchyard::config::catalogue::{OPTIONS, find};
use switchyard::config::{
    AuthLimits, AuthSection, FileConfig, GatewayConfig, KubernetesSection, LogConfig,
    MetricsConfig, PoolConfig, SchedulerConfig, ServerTls, StaticRuntime,
};
use switchyard::telemetry::logs::LogFormat;
use switchyard_access::AuthMode;
use switchyard_core::registry::ClientTls;

/// Flags of `switchyard run` that are not options, and why.
const NOT_OPTIONS: &[(&str, &str)] = &[
    ("--config", "names the file itself"),
    (
        "--print-config",
        "an action, not a setting; as a variable it would keep a pod from ever starting",
    ),
];

fn example() -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("config/switchyard.toml");
    std::fs::read_to_string(path).unwrap()
}

/// `--flag` -> its variable, for every argument of `switchyard run`.
fn run_flags() -> BTreeMap<String, Option<String>> {
    let cli = Cli::command();
    let run = cli.find_subcommand("run").expect("a run subcommand");
    run.get_arguments()
        .filter_map(|arg| {
            let long = arg.get_long()?;
            let env = arg.get_env().map(|e| e.to_string_lossy().into_owned());
            Some((format!("--{long}"), env))
        })
        .filter(|(flag, _)| flag != "--help")
        .collect()
}

#[test]
fn every_option_has_its_flag_and_variable_and_every_flag_is_an_option() {
    let flags = run_flags();
    for option in OPTIONS {
        let env = flags
            .get(option.flag)
            .unwrap_or_else(|| panic!("{}: switchyard run has no {}", option.key, option.flag));
        assert_eq!(
            env.as_deref(),
            Some(option.env),
            "{}: {} reads the wrong variable",
            option.key,
            option.flag
        );
        assert!(option.env.starts_with("SWITCHYARD_"), "{}", option.env);
    }
    for (flag, env) in &flags {
        if let Some((_, why)) = NOT_OPTIONS.iter().find(|(f, _)| f == flag) {
            assert!(!why.is_empty());
            continue;
        }
        assert!(env.is_some(), "{flag} has no environment variable");
        assert!(
            OPTIONS.iter().any(|o| o.flag == flag),
            "{flag} is missing from the catalogue"
        );
    }
    let keys: BTreeSet<_> = OPTIONS.iter().map(|o| o.key).collect();
    assert_eq!(keys.len(), OPTIONS.len(), "a key is catalogued twice");
}

/// A config with every key set. Exhaustive literals, no `..Default`: a new
/// field does not compile until it is added here, and then must be
/// catalogued.
fn everything() -> FileConfig {
    let addr: SocketAddr = "127.0.0.1:1".parse().unwrap();
    let client_tls = ClientTls {
        ca: "/ca".into(),
        cert: Some("/cert".into()),
        key: Some("/key".into()),
        server_name: Some("name".into()),
    };
    FileConfig {
        runtimes_poll_seconds: Some(1),
        gateway: GatewayConfig {
            listen: Some(addr),
            default_namespace: Some("ns".into()),
            authority_suffix: Some("seldon.example.com".into()),
            call_timeout_seconds: Some(1),
            max_connections: Some(1),
            max_concurrent_streams: Some(1),
            max_concurrent_requests: Some(1),
            max_request_bytes: Some(1),
            max_inflight_request_bytes: Some(1),
            max_repeated_entries: Some(1),
            subscriber_max_pending_keys: Some(1),
            subscriber_max_pending_bytes: Some(1),
            handshake_timeout_seconds: Some(1),
            idle_timeout_seconds: Some(1),
            request_read_timeout_seconds: Some(1),
            refuse_direct_writes: vec!["ns".into()],
            tls: Some(ServerTls {
                cert: "/cert".into(),
                key: "/key".into(),
                client_ca: Some("/ca".into()),
            }),
            auth: AuthSection {
                mode: Some(AuthMode::Policy),
                policy_file: Some("/policy".into()),
                token_cache_ttl_seconds: Some(1.0),
                allowed_cache_ttl_seconds: Some(1.0),
                denied_cache_ttl_seconds: Some(1.0),
                review_timeout_seconds: Some(1.0),
                limits: AuthLimits {
                    requests_per_second: Some(1),
                    burst: Some(1),
                    streams_per_identity: Some(1),
                },
            },
        },
        metrics: MetricsConfig {
            listen: Some(addr),
            max_connections: Some(1),
            handshake_timeout_seconds: Some(1),
            idle_timeout_seconds: Some(1),
        },
        log: LogConfig {
            level: Some("info".into()),
            format: Some(LogFormat::Json),
        },
        pool: PoolConfig {
            max_connections_per_runtime: Some(1),
        },
        scheduler: SchedulerConfig {
            address_template: Some("{namespace}:1".into()),
            tls: Some(client_tls.clone()),
        },
        runtimes: vec![StaticRuntime {
            namespace: "ns".into(),
            address: Some("h:1".into()),
            tls: Some(client_tls),
        }],
        kubernetes: KubernetesSection {
            enabled: Some(true),
            kubeconfig: Some("/k".into()),
            clusterwide: Some(true),
            watch_namespaces: vec!["ns".into()],
            namespace: Some("ns".into()),
            templates_namespace: Some("seldon-mesh".into()),
            use_deployments_for_servers: Some(false),
            leader_elect: Some(true),
            lease_name: Some("l".into()),
            lease_duration_seconds: Some(15),
            renew_deadline_seconds: Some(10),
            retry_period_seconds: Some(2),
            seldon_operator_guard: Some(true),
            reconcile_concurrency: Some(1),
            status_workers: Some(1),
            finalizer_recheck_seconds: Some(1),
            scheduler_addresses: [("ns".to_owned(), "h:1".to_owned())].into(),
        },
    }
}

/// Dotted paths of `table`'s leaves, stopping at catalogued keys (a
/// catalogued table, like `runtimes`, is one option).
fn leaf_keys(prefix: &str, table: &toml::Table, out: &mut BTreeSet<String>) {
    for (key, value) in table {
        let path = if prefix.is_empty() {
            key.clone()
        } else {
            format!("{prefix}.{key}")
        };
        match value {
            toml::Value::Table(inner) if find(&path).is_none() => leaf_keys(&path, inner, out),
            _ => {
                out.insert(path);
            }
        }
    }
}

#[test]
fn the_catalogue_is_the_schema() {
    let table = toml::Table::try_from(everything()).unwrap();
    let mut schema = BTreeSet::new();
    leaf_keys("", &table, &mut schema);
    let catalogue: BTreeSet<String> = OPTIONS.iter().map(|o| o.key.to_owned()).collect();
    assert_eq!(schema, catalogue);
}

/// The example with every `# key = value` and `# [table]` line uncommented.
fn uncommented(text: &str) -> String {
    text.lines()
        .map(|line| match line.strip_prefix("# ") {
            Some(rest) if is_setting(rest) || is_header(rest) => rest,
            _ => line,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// `[table]` or `[[array]]`.
fn is_header(line: &str) -> bool {
    let name = line.trim_start_matches('[').trim_end_matches(']');
    line.starts_with('[')
        && line.ends_with(']')
        && !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c == '_' || c == '.')
}

fn is_setting(line: &str) -> bool {
    line.split_once(" = ").is_some_and(|(key, _)| {
        !key.is_empty()
            && key
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    })
}

/// Each documented key (dotted) -> the comment lines since the previous
/// key or table header.
fn documented(text: &str) -> BTreeMap<String, String> {
    let mut docs = BTreeMap::new();
    let mut section = String::new();
    let mut doc = String::new();
    for line in text.lines() {
        let bare = line.strip_prefix("# ").unwrap_or(line).trim();
        if is_header(bare) {
            section = bare.trim_matches(|c| c == '[' || c == ']').to_owned();
            docs.entry(section.clone())
                .or_insert_with(|| std::mem::take(&mut doc));
            doc.clear();
        } else if is_setting(bare) {
            let key = bare.split_once(" = ").unwrap().0;
            let path = if section.is_empty() {
                key.to_owned()
            } else {
                format!("{section}.{key}")
            };
            docs.entry(path).or_insert_with(|| std::mem::take(&mut doc));
            doc.clear();
        } else if let Some(comment) = line.strip_prefix('#') {
            doc.push_str(comment.trim());
            doc.push('\n');
        }
    }
    docs
}

#[test]
fn the_example_documents_every_option_with_default_flag_and_variable() {
    let text = example();
    // Every documented setting, uncommented, is part of the schema.
    let all = uncommented(&text);
    let config = FileConfig::parse(Path::new("config/switchyard.toml (uncommented)"), &all)
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(config.gateway.tls.is_some() && config.scheduler.tls.is_some());
    // Top-level keys come before the first table, or TOML reads them into it.
    assert_eq!(config.runtimes_poll_seconds, Some(2));

    let docs = documented(&text);
    for option in OPTIONS {
        let doc = docs
            .get(option.key)
            .unwrap_or_else(|| panic!("config/switchyard.toml does not show {}", option.key));
        for needle in [
            format!("Flag: {}.", option.flag),
            format!("Env: {}.", option.env),
        ] {
            assert!(
                doc.contains(&needle),
                "{}: no {needle:?} in\n{doc}",
                option.key
            );
        }
        let default = format!("Default: {}", option.default.unwrap_or("none"));
        let documented_default = doc.find(&default).is_some_and(|at| {
            matches!(
                doc[at + default.len()..].chars().next(),
                Some('.' | ',' | ' ' | '\n')
            )
        });
        assert!(
            documented_default,
            "{}: no {default:?} in\n{doc}",
            option.key
        );
    }
}
