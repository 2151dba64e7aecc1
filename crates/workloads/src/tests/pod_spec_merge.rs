//! Seldon's pod-spec merge, rule by rule, on small pods written as YAML.

use k8s_openapi::api::core::v1::PodSpec;

use crate::pod_spec::{MergeError, merge};

fn pod(yaml: &str) -> PodSpec {
    serde_saphyr::from_str(yaml).unwrap()
}

fn merged(template: &str, over: &str) -> PodSpec {
    merge(&pod(template), Some(&pod(over))).unwrap()
}

const TEMPLATE: &str = r#"
serviceAccountName: seldon-server
terminationGracePeriodSeconds: 120
automountServiceAccountToken: true
nodeSelector: {zone: a, disk: ssd}
securityContext: {runAsUser: 1000, runAsNonRoot: true}
tolerations:
  - {key: a, operator: Exists}
volumes:
  - {name: config, configMap: {name: seldon-agent}}
containers:
  - name: rclone
    image: rclone:1
  - name: agent
    image: agent:1
    args: [--one]
    env:
      - {name: A, value: "1"}
    resources:
      requests: {cpu: 500m, memory: 500M}
      limits: {memory: 1G}
    readinessProbe:
      httpGet: {path: /ready, port: http}
      periodSeconds: 5
  - name: server
    image: server:1
"#;

#[test]
fn no_override_is_the_template() {
    assert_eq!(merge(&pod(TEMPLATE), None).unwrap(), pod(TEMPLATE));
}

#[test]
fn set_values_win_empty_ones_do_not() {
    let result = merged(
        TEMPLATE,
        r#"
serviceAccountName: other
terminationGracePeriodSeconds: 0
automountServiceAccountToken: false
priorityClassName: high
securityContext: {runAsUser: 2000, runAsNonRoot: false, fsGroup: 3}
containers: []
"#,
    );
    assert_eq!(result.service_account_name.as_deref(), Some("other"));
    // Zero and false never override a value the template has...
    assert_eq!(result.termination_grace_period_seconds, Some(120));
    assert_eq!(result.automount_service_account_token, Some(true));
    // ...structs merge field by field, and absent fields are taken.
    let security = result.security_context.unwrap();
    assert_eq!(security.run_as_user, Some(2000));
    assert_eq!(security.run_as_non_root, Some(true));
    assert_eq!(security.fs_group, Some(3));
    assert_eq!(result.priority_class_name.as_deref(), Some("high"));
    // An empty container list leaves the template's in its order.
    let names: Vec<_> = result.containers.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["rclone", "agent", "server"]);
}

#[test]
fn a_zero_the_template_lacks_is_taken() {
    let result = merged(
        "containers: [{name: a, image: a}]",
        "terminationGracePeriodSeconds: 0\nenableServiceLinks: false\ncontainers: []",
    );
    assert_eq!(result.termination_grace_period_seconds, Some(0));
    assert_eq!(result.enable_service_links, Some(false));
}

#[test]
fn maps_take_every_override_key_lists_are_appended() {
    let result = merged(
        TEMPLATE,
        r#"
nodeSelector: {zone: b, gpu: ""}
tolerations:
  - {key: b, operator: Exists}
volumes:
  - {name: extra, emptyDir: {}}
containers: []
"#,
    );
    let selector = result.node_selector.unwrap();
    assert_eq!(selector["zone"], "b");
    assert_eq!(selector["disk"], "ssd");
    assert_eq!(selector["gpu"], "", "a map key wins even when empty");
    let tolerations: Vec<_> = result
        .tolerations
        .unwrap()
        .into_iter()
        .map(|t| t.key.unwrap())
        .collect();
    assert_eq!(tolerations, ["a", "b"]);
    let volumes: Vec<_> = result
        .volumes
        .unwrap()
        .into_iter()
        .map(|v| v.name)
        .collect();
    assert_eq!(volumes, ["config", "extra"]);
}

#[test]
fn containers_merge_by_name_override_order_first() {
    let result = merged(
        TEMPLATE,
        r#"
containers:
  - name: sidecar
    image: sidecar:1
  - name: agent
    image: agent:2
    args: [--two]
    env:
      - {name: B, value: "2"}
    resources:
      requests: {memory: 2G}
    readinessProbe:
      httpGet: {port: 9008}
"#,
    );
    let names: Vec<_> = result.containers.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["sidecar", "agent", "rclone", "server"]);
    let agent = &result.containers[1];
    assert_eq!(agent.image.as_deref(), Some("agent:2"));
    assert_eq!(agent.args.as_deref().unwrap(), ["--one", "--two"]);
    let env: Vec<_> = agent
        .env
        .iter()
        .flatten()
        .map(|e| e.name.as_str())
        .collect();
    assert_eq!(env, ["A", "B"]);
    let resources = agent.resources.as_ref().unwrap();
    let requests = resources.requests.as_ref().unwrap();
    assert_eq!(requests["memory"].0, "2G");
    assert_eq!(requests["cpu"].0, "500m");
    assert_eq!(resources.limits.as_ref().unwrap()["memory"].0, "1G");
    // A number overrides a named port (Go's field-wise merge would keep
    // the name: we do better), and the probe's other fields stay.
    let probe = agent.readiness_probe.as_ref().unwrap();
    let get = probe.http_get.as_ref().unwrap();
    assert_eq!(
        get.port,
        k8s_openapi::apimachinery::pkg::util::intstr::IntOrString::Int(9008)
    );
    assert_eq!(get.path.as_deref(), Some("/ready"));
    assert_eq!(probe.period_seconds, Some(5));
}

fn error(template: &str, over: &str) -> MergeError {
    merge(&pod(template), Some(&pod(over))).unwrap_err()
}

#[test]
fn overrides_that_make_an_invalid_pod_are_errors() {
    let e = error(TEMPLATE, "containers: [{name: new}]");
    assert_eq!(e.field, "containers[0].image");
    let e = error(TEMPLATE, "containers: [{name: \"\", image: x}]");
    assert_eq!(e.field, "containers[0].name");
    let e = error(
        TEMPLATE,
        "volumes: [{name: config, emptyDir: {}}]\ncontainers: []",
    );
    assert_eq!(e.field, "volumes[0].name");
    assert!(e.reason.contains("\"config\""), "{}", e.reason);
    let e = error(
        TEMPLATE,
        "volumes: [{name: x, emptyDir: {}}, {name: x, emptyDir: {}}]\ncontainers: []",
    );
    assert_eq!(e.field, "volumes[1].name");
    let e = error(
        "containers: [{name: a, image: a, volumeMounts: [{name: v, mountPath: /m}]}]",
        "containers: [{name: a, volumeMounts: [{name: w, mountPath: /m}]}]",
    );
    assert_eq!(e.field, "containers[0].volumeMounts[0].mountPath");
}
