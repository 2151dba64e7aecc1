//! The crates' dependency arrows, as ARCHITECTURE.md draws them: each crate
//! reaches only the crates below it, the gateway knows no Kubernetes, the
//! operator no gRPC transport, and the product binary no test double.
//! Read from `cargo tree`, with each crate resolved on its own (its own
//! features, as `cargo build -p` would).

use std::collections::BTreeSet;
use std::process::Command;

/// Every package in the normal (non-dev) dependency tree of `package`.
fn tree(package: &str, extra: &[&str]) -> BTreeSet<String> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let output = Command::new(cargo)
        .args([
            "tree",
            "--offline",
            "-q",
            "-e",
            "normal",
            "--prefix",
            "none",
        ])
        .args(["--format", "{p}", "-p", package])
        .args(extra)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("cargo runs");
    assert!(
        output.status.success(),
        "cargo tree -p {package}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|line| line.split_whitespace().next())
        .map(str::to_owned)
        .collect()
}

/// `package`'s tree holds, of switchyard's crates, exactly `ours`, and
/// none of `forbidden`.
fn check(package: &str, extra: &[&str], ours: &[&str], forbidden: &[&str]) {
    let found = tree(package, extra);
    let mine: BTreeSet<&str> = found
        .iter()
        .map(String::as_str)
        .filter(|p| p.starts_with("switchyard") && *p != package)
        .collect();
    let want: BTreeSet<&str> = ours.iter().copied().collect();
    assert_eq!(mine, want, "switchyard crates under {package}");
    for name in forbidden {
        assert!(
            !found.contains(*name),
            "{package} must not depend on {name} (cargo tree -p {package} -i {name})"
        );
    }
}

const KUBE: [&str; 5] = [
    "kube",
    "kube-client",
    "kube-core",
    "kube-runtime",
    "k8s-openapi",
];

#[test]
fn the_wire_contract_alone_is_messages() {
    check("switchyard-proto", &[], &[], &["tonic", "kube-client"]);
}

#[test]
fn the_resource_types_have_no_client() {
    check(
        "switchyard-api",
        &[],
        &[],
        &["kube-client", "tonic", "hyper"],
    );
}

#[test]
fn core_knows_neither_kubernetes_nor_the_transport() {
    let mut forbidden = vec!["tonic", "hyper"];
    forbidden.extend(KUBE);
    check("switchyard-core", &[], &["switchyard-proto"], &forbidden);
}

#[test]
fn translation_is_pure() {
    check(
        "switchyard-translate",
        &[],
        &["switchyard-api", "switchyard-proto"],
        &["tonic", "kube-client", "hyper"],
    );
}

#[test]
fn workload_building_is_pure() {
    check(
        "switchyard-workloads",
        &[],
        &["switchyard-api"],
        &["tonic", "kube-client", "hyper", "switchyard-proto"],
    );
}

#[test]
fn the_pool_knows_no_kubernetes() {
    check(
        "switchyard-scheduler",
        &[],
        &["switchyard-core", "switchyard-proto", "switchyard-tasks"],
        &KUBE,
    );
}

#[test]
fn the_gateway_knows_no_kubernetes() {
    check(
        "switchyard-gateway",
        &[],
        &[
            "switchyard-access",
            "switchyard-core",
            "switchyard-net",
            "switchyard-proto",
            "switchyard-scheduler",
            "switchyard-tasks",
        ],
        &KUBE,
    );
}

#[test]
fn access_knows_kubernetes_only_with_its_feature_and_never_the_transport() {
    // As the gateway sees it (default-features = false).
    let mut forbidden = vec!["tonic", "hyper"];
    forbidden.extend(KUBE);
    check(
        "switchyard-access",
        &["--no-default-features"],
        &["switchyard-core", "switchyard-proto"],
        &forbidden,
    );
    // As the binary builds it: TokenReview and SubjectAccessReview.
    check(
        "switchyard-access",
        &[],
        &["switchyard-core", "switchyard-proto"],
        &["tonic", "switchyard-gateway", "switchyard-scheduler"],
    );
}

#[test]
fn the_listeners_know_neither_http_nor_kubernetes() {
    let mut forbidden = vec!["tonic", "hyper"];
    forbidden.extend(KUBE);
    check(
        "switchyard-net",
        &[],
        &["switchyard-core", "switchyard-proto"],
        &forbidden,
    );
}

#[test]
fn the_operator_has_no_grpc_transport_and_no_gateway() {
    check(
        "switchyard-operator",
        &[],
        &[
            "switchyard-api",
            "switchyard-core",
            "switchyard-proto",
            "switchyard-tasks",
            "switchyard-translate",
            "switchyard-workloads",
        ],
        &["tonic", "switchyard-gateway", "switchyard-scheduler"],
    );
}

#[test]
fn the_test_doubles_depend_only_on_what_they_imitate() {
    check(
        "switchyard-simulator",
        &[],
        &["switchyard-proto", "switchyard-tasks"],
        &KUBE,
    );
    check(
        "switchyard-kube-double",
        &[],
        &["switchyard-api", "switchyard-tasks"],
        &["tonic"],
    );
}

#[test]
fn the_image_binary_has_no_test_double() {
    // As the Dockerfile builds it.
    let found = tree("switchyard", &["--no-default-features"]);
    for double in [
        "switchyard-kube-double",
        "switchyard-simulator",
        "switchyard-testkit",
    ] {
        assert!(!found.contains(double), "the image would ship {double}");
    }
}
