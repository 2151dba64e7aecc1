//! The real kubectl against the Kubernetes API double, as a user of
//! `switchyard demo` runs it: with switchyard's operator and a simulated
//! scheduler behind the double, `kubectl apply -f` (no flags) creates a
//! Model and kubectl's validation refuses a misspelt field, `kubectl get
//! models -A` shows the CRD's printer columns with the operator's status,
//! `kubectl get events -A` and `kubectl describe` show the events the
//! operator recorded, and a missing Model or namespace is reported as a
//! real server reports it; `kubectl auth can-i --as` follows the
//! RoleBindings kubectl applies and deletes (and `auth whoami` answers). kubectl must be installed:
//! without it the tests fail.

use crate::common;

use std::path::{Path, PathBuf};
use std::process::Stdio;

use common::{DEADLINE, Operator, until};
use k8s_openapi::api::events::v1::Event;
use kube::Api;
use kube::api::ListParams;
use switchyard_api::{ConditionStatus, Model};

const NS: &str = "fraud";

const MODEL: &str = "apiVersion: mlops.seldon.io/v1alpha1
kind: Model
metadata:
  name: iris
  namespace: fraud
spec:
  storageUri: gs://seldon-models/scv2/samples/mlserver_1.5.0/iris-sklearn
  requirements: [sklearn]
  replicas: 1
";

/// The same Model with `storageUri` misspelt.
const MISSPELT: &str = "apiVersion: mlops.seldon.io/v1alpha1
kind: Model
metadata:
  name: iris-typo
  namespace: fraud
spec:
  storageURI: gs://seldon-models/scv2/samples/mlserver_1.5.0/iris-sklearn
";

/// A Model the operator cannot translate (more replicas at least than at
/// most): it records a Warning event naming the field.
const INVALID: &str = "apiVersion: mlops.seldon.io/v1alpha1
kind: Model
metadata:
  name: lopsided
  namespace: fraud
spec:
  storageUri: gs://seldon-models/scv2/samples/mlserver_1.5.0/iris-sklearn
  minReplicas: 5
  maxReplicas: 2
";

/// Read access to Models for the ServiceAccount `fraud/bot`.
const GRANT: &str = "apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata:
  name: model-reader
  namespace: fraud
rules:
- apiGroups: [mlops.seldon.io]
  resources: [models]
  verbs: [get, list, watch]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata:
  name: bot-reads-models
  namespace: fraud
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: Role
  name: model-reader
subjects:
- kind: ServiceAccount
  name: bot
  namespace: fraud
";

struct Kubectl {
    server: String,
    dir: PathBuf,
}

/// What one kubectl run printed.
struct Output {
    ok: bool,
    stdout: String,
    stderr: String,
}

impl Kubectl {
    fn new(server: String) -> Self {
        let port = server.rsplit(':').next().unwrap_or("0").to_string();
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
            .join(format!("kubectl-{}-{port}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        Self { server, dir }
    }

    /// A file in this test's directory with `contents`.
    fn file(&self, name: &str, contents: &str) -> String {
        let path = self.dir.join(name);
        std::fs::write(&path, contents).unwrap();
        path.to_string_lossy().into_owned()
    }

    /// Runs `kubectl --server URL ARGS` with no kubeconfig and its own
    /// cache, bounded by the test deadline.
    async fn run(&self, args: &[&str]) -> Output {
        let child = tokio::process::Command::new("kubectl")
            .arg("--server")
            .arg(&self.server)
            .arg("--cache-dir")
            .arg(self.dir.join("cache"))
            .args(args)
            .env("KUBECONFIG", self.dir.join("no-kubeconfig"))
            .env("HOME", &self.dir)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("kubectl must be installed (it is on CI's machines): cannot run it");
        let output = tokio::time::timeout(DEADLINE, child.wait_with_output())
            .await
            .unwrap_or_else(|_| panic!("kubectl {args:?} did not finish in time"))
            .unwrap();
        Output {
            ok: output.status.success(),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }

    /// Runs kubectl and returns what it printed, failing on an error.
    async fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args).await;
        assert!(out.ok, "kubectl {args:?} failed: {}", out.stderr);
        out.stdout
    }
}

impl Drop for Kubectl {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// The words of the line of `table` whose columns include all of `words`.
fn row<'a>(table: &'a str, words: &[&str]) -> Option<Vec<&'a str>> {
    table
        .lines()
        .map(|l| l.split_whitespace().collect::<Vec<_>>())
        .find(|cells| words.iter().all(|w| cells.contains(w)))
}

#[tokio::test]
async fn kubectl_applies_lists_with_printer_columns_and_shows_events() {
    let op = Operator::start(&[NS], |_| {}).await;
    op.double.create_runtime(NS).await.unwrap();
    let kubectl = Kubectl::new(op.double.url());

    // `kubectl apply -f` validates against the served OpenAPI, no flags.
    let applied = kubectl
        .ok(&["apply", "-f", &kubectl.file("model.yaml", MODEL)])
        .await;
    assert!(
        applied.contains("model.mlops.seldon.io/iris created"),
        "{applied}"
    );
    let misspelt = kubectl
        .run(&["apply", "-f", &kubectl.file("typo.yaml", MISSPELT)])
        .await;
    assert!(!misspelt.ok, "a misspelt field must be refused");
    assert!(
        misspelt
            .stderr
            .contains("unknown field \"spec.storageURI\""),
        "{}",
        misspelt.stderr
    );

    // The operator loads it through the simulated scheduler.
    let models: Api<Model> = Api::namespaced(op.client.clone(), NS);
    until("the Model ready with 1 available replica", async || {
        let status = models.get("iris").await.ok()?.status?;
        let ready = status
            .duck
            .conditions
            .iter()
            .any(|c| c.type_ == "ModelReady" && c.status == ConditionStatus::True);
        (ready && status.available_replicas == 1).then_some(())
    })
    .await;
    // The operator records events for what goes wrong (a Model it loads
    // as asked needs none): one it cannot translate.
    kubectl
        .ok(&["apply", "-f", &kubectl.file("invalid.yaml", INVALID)])
        .await;
    let events: Api<Event> = Api::namespaced(op.client.clone(), NS);
    until("the operator's InvalidSpec event", async || {
        let list = events.list(&ListParams::default()).await.ok()?;
        list.items
            .iter()
            .any(|e| e.reason.as_deref() == Some("InvalidSpec"))
            .then_some(())
    })
    .await;

    // Printer columns, from the Table the double serves.
    let listed = kubectl.ok(&["get", "models", "-A"]).await;
    let header = listed.lines().next().unwrap_or_default();
    for column in [
        "NAMESPACE",
        "NAME",
        "READY",
        "DESIRED REPLICAS",
        "AVAILABLE REPLICAS",
        "AGE",
    ] {
        assert!(header.contains(column), "{column} in {listed}");
    }
    let iris = row(&listed, &[NS, "iris"]).unwrap_or_else(|| panic!("iris in {listed}"));
    assert_eq!(iris[..5], [NS, "iris", "True", "1", "1"], "{listed}");

    // Events, as core/v1 Events: listed, and in describe.
    let all_events = kubectl.ok(&["get", "events", "-A"]).await;
    assert!(
        row(
            &all_events,
            &[NS, "Warning", "InvalidSpec", "model/lopsided"]
        )
        .is_some(),
        "{all_events}"
    );
    let described = kubectl
        .ok(&["describe", "model", "lopsided", "-n", NS])
        .await;
    let (_, events_part) = described
        .split_once("Events:")
        .unwrap_or_else(|| panic!("an Events section in {described}"));
    assert!(
        row(events_part, &["Warning", "InvalidSpec"]).is_some()
            && events_part.contains("spec.minReplicas"),
        "{described}"
    );

    // What is missing is reported as a real server reports it.
    let nope = kubectl.run(&["get", "model", "nope", "-n", NS]).await;
    assert!(!nope.ok);
    assert!(
        nope.stderr
            .contains("models.mlops.seldon.io \"nope\" not found"),
        "{}",
        nope.stderr
    );
    let nowhere = kubectl
        .run(&["get", "model", "nope", "-n", "nowhere"])
        .await;
    assert!(
        nowhere.stderr.contains("namespaces \"nowhere\" not found"),
        "{}",
        nowhere.stderr
    );
    let namespaces = kubectl.ok(&["get", "namespaces"]).await;
    assert!(row(&namespaces, &[NS, "Active"]).is_some(), "{namespaces}");
    op.stop().await;
}

/// `kubectl auth can-i --as` follows the RBAC objects kubectl applies and
/// deletes; `kubectl auth whoami --as` names the impersonated user.
#[tokio::test]
async fn kubectl_auth_can_i_follows_role_bindings() {
    let double = switchyard_kube_double::ApiDouble::start("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let kubectl = Kubectl::new(double.url());
    let can_i = async || {
        let out = kubectl
            .run(&[
                "auth",
                "can-i",
                "get",
                "models.mlops.seldon.io",
                "-n",
                NS,
                "--as",
                "system:serviceaccount:fraud:bot",
            ])
            .await;
        // kubectl exits 0 for yes and 1 for no.
        (out.ok, out.stdout.trim().to_string())
    };
    assert_eq!(can_i().await, (false, "no".to_string()));
    let whoami = kubectl
        .ok(&["auth", "whoami", "--as", "system:serviceaccount:fraud:bot"])
        .await;
    assert!(
        row(&whoami, &["Username", "system:serviceaccount:fraud:bot"]).is_some(),
        "{whoami}"
    );
    let grant = kubectl.file("grant.yaml", GRANT);
    let applied = kubectl.ok(&["apply", "-f", &grant]).await;
    assert!(
        applied.contains("rolebinding.rbac.authorization.k8s.io/bot-reads-models created"),
        "{applied}"
    );
    assert_eq!(can_i().await, (true, "yes".to_string()));
    kubectl
        .ok(&["delete", "rolebinding", "bot-reads-models", "-n", NS])
        .await;
    assert_eq!(can_i().await, (false, "no".to_string()));
    double.shutdown().await.unwrap();
}
