//! `switchyard run --print-config` as a user runs it: a config file, a
//! variable and a flag, merged and printed as a config file that reads
//! back to the same options, without starting anything.

use std::path::Path;
use std::process::Command;

use switchyard::config::FileConfig;

fn switchyard(args: &[&str], env: &[(&str, &str)]) -> std::process::Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_switchyard"));
    cmd.args(args);
    // Only the variables of the test: none from the environment running it.
    for (key, _) in std::env::vars() {
        if key.starts_with("SWITCHYARD_") || key == "POD_NAMESPACE" || key == "RUST_LOG" {
            cmd.env_remove(key);
        }
    }
    cmd.envs(env.iter().copied());
    cmd.output().expect("switchyard runs")
}

#[test]
fn flag_over_variable_over_file_over_default_and_the_output_reads_back() {
    let dir = std::env::temp_dir().join(format!("switchyard-print-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("in.toml");
    std::fs::write(
        &file,
        r#"
        [gateway]
        listen = "127.0.0.1:1001"
        default_namespace = "file"
        [metrics]
        listen = "127.0.0.1:1002"
        [scheduler]
        address_template = "file.{namespace}:9004"
        [[runtimes]]
        namespace = "a"
        [kubernetes]
        lease_name = "file-lease"
        retry_period_seconds = 3
        "#,
    )
    .unwrap();
    let out = switchyard(
        &[
            "run",
            "--config",
            file.to_str().unwrap(),
            "--print-config",
            "--gateway-listen",
            "127.0.0.1:3001",
            "--scheduler-address",
            "a=flag:1",
        ],
        &[
            // Loses to the flag.
            ("SWITCHYARD_GATEWAY_LISTEN", "127.0.0.1:2001"),
            // Wins over the file.
            ("SWITCHYARD_METRICS_LISTEN", "127.0.0.1:2002"),
            ("SWITCHYARD_LEADER_ELECT_LEASE_NAME", "env-lease"),
            // Comma-separated map and list.
            ("SWITCHYARD_SCHEDULER_ADDRESSES", "b=env:2,c=env:3"),
            ("SWITCHYARD_WATCH_NAMESPACES", "x,y"),
        ],
    );
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let printed = FileConfig::parse(Path::new("printed"), &stdout).unwrap();
    assert_eq!(
        printed.gateway.listen,
        Some("127.0.0.1:3001".parse().unwrap())
    );
    assert_eq!(
        printed.metrics.listen,
        Some("127.0.0.1:2002".parse().unwrap())
    );
    assert_eq!(printed.gateway.default_namespace.as_deref(), Some("file"));
    let k = &printed.kubernetes;
    assert_eq!(k.lease_name.as_deref(), Some("env-lease"));
    assert_eq!(k.retry_period_seconds, Some(3));
    // Defaults, filled.
    assert_eq!(k.lease_duration_seconds, Some(15));
    assert_eq!(k.enabled, Some(false));
    assert_eq!(printed.runtimes_poll_seconds, Some(2));
    assert_eq!(printed.gateway.call_timeout_seconds, Some(30));
    // The flag replaced the variable's map.
    assert_eq!(
        k.scheduler_addresses.iter().collect::<Vec<_>>(),
        [(&"a".to_owned(), &"flag:1".to_owned())]
    );
    assert_eq!(k.watch_namespaces, ["x", "y"]);
    assert_eq!(printed.runtimes[0].address.as_deref(), Some("file.a:9004"));

    // Saved and passed back, it prints the same again.
    let saved = dir.join("out.toml");
    std::fs::write(&saved, &stdout).unwrap();
    let again = switchyard(
        &["run", "--config", saved.to_str().unwrap(), "--print-config"],
        &[],
    );
    assert!(again.status.success());
    assert_eq!(String::from_utf8(again.stdout).unwrap(), stdout);
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn a_bad_setting_fails_naming_it() {
    let out = switchyard(
        &["run", "--print-config", "--kubernetes"],
        &[("SWITCHYARD_LEADER_ELECT_RENEW_DEADLINE", "99")],
    );
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    // No namespace for the Lease is the first problem found.
    assert!(
        stderr.contains("kubernetes.namespace (--namespace, SWITCHYARD_NAMESPACE)"),
        "{stderr}"
    );
    assert!(out.stdout.is_empty());
}

/// The value at dotted `key` of a printed config, as the catalogue spells
/// defaults (strings unquoted).
fn printed_value(config: &toml::Table, key: &str) -> Option<String> {
    let mut parts = key.split('.');
    let mut value = config.get(parts.next()?)?;
    for part in parts {
        value = value.as_table()?.get(part)?;
    }
    Some(match value {
        toml::Value::String(s) => s.clone(),
        // Seconds that may have decimals print as floats: 120.0 is "120".
        toml::Value::Float(f) if f.fract() == 0.0 => format!("{f:.0}"),
        other => other.to_string(),
    })
}

#[test]
fn with_nothing_given_the_printed_config_is_the_documented_defaults() {
    // A default of `$VAR` is that variable's value (the pod's namespace).
    let pod_namespace = "from-the-pod";
    let rust_log = "warn,switchyard=debug";
    let out = switchyard(
        &["run", "--print-config"],
        &[("POD_NAMESPACE", pod_namespace), ("RUST_LOG", rust_log)],
    );
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let printed: toml::Table = toml::from_str(&stdout).unwrap();
    let mut checked = 0;
    for option in switchyard::config::catalogue::OPTIONS {
        let default = match option.default {
            None => continue,
            Some("$POD_NAMESPACE") => pod_namespace,
            Some("$RUST_LOG") => rust_log,
            // Without --kubernetes (as here) the gateway's default is none.
            Some("kubernetes with --kubernetes, else none") => "none",
            Some(default) => default,
        };
        assert_eq!(
            printed_value(&printed, option.key).as_deref(),
            Some(default),
            "{}: the documented default is not what `run` uses\n{stdout}",
            option.key
        );
        checked += 1;
    }
    assert!(checked >= 10, "only {checked} options have defaults");
}
