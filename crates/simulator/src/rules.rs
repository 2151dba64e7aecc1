//! What a request may hold, checked before the store sees it: names (as
//! Kubernetes names them), replica counts (the CRDs' int32 bound, and the
//! most replicas this simulator materialises), and Seldon's pipeline rules
//! (a step named like its pipeline, an input or output naming no step).
//!
//! A namespace or replica count no Kubernetes object can hold is
//! INVALID_ARGUMENT; a name or pipeline Seldon's scheduler refuses, and a
//! replica count past what the simulator simulates, are
//! FAILED_PRECONDITION, with the scheduler's kind of message. An error
//! never echoes more than a short, escaped prefix of a client's string, so
//! a 1 MiB name comes back as a few dozen bytes.

use std::collections::HashSet;

use tonic::Status;

use switchyard_proto::scheduler::{Experiment, KubernetesMeta, Model, Pipeline, ServerNotify};

/// Longest object name: a Kubernetes object name (a DNS-1123 subdomain).
pub const MAX_NAME_BYTES: usize = 253;
/// Longest namespace: a DNS-1123 label.
pub const MAX_NAMESPACE_BYTES: usize = 63;
/// Replica counts are int32 in Seldon's CRDs; anything above cannot come
/// from a Kubernetes object.
pub const MAX_REPLICAS: u32 = i32::MAX as u32;
/// The most replicas one model or server gets here. The simulator keeps a
/// record per replica (its agents "connect" at once), so this bounds its
/// memory whatever a client asks for.
pub const MAX_SIMULATED_REPLICAS: u32 = 1000;
/// How much of a client's string an error message quotes.
const QUOTED_BYTES: usize = 64;

/// `value` as an error quotes it: escaped, and cut after [`QUOTED_BYTES`].
pub(crate) fn quote(value: &str) -> String {
    if value.len() <= QUOTED_BYTES {
        return format!("{value:?}");
    }
    let mut end = QUOTED_BYTES;
    while !value.is_char_boundary(end) {
        end -= 1;
    }
    format!("{:?}... ({} bytes)", &value[..end], value.len())
}

/// An object name: 1..=253 bytes of letters, digits, '-' and '_' (the
/// scheduler's rule; Kafka topics and Kubernetes names are built from it).
/// FAILED_PRECONDITION, as the scheduler answers a name its store refuses.
pub(crate) fn name(field: &str, rpc: &str, value: &str) -> Result<(), Status> {
    let chars_ok = value
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if value.is_empty() || value.len() > MAX_NAME_BYTES || !chars_ok {
        return Err(Status::failed_precondition(format!(
            "{rpc}: `{field}` {} is not a valid name: 1 to {MAX_NAME_BYTES} letters, digits, '-' or '_'",
            quote(value)
        )));
    }
    Ok(())
}

/// The namespace of a `kubernetesMeta`, when set: a DNS-1123 label.
pub(crate) fn meta(field: &str, rpc: &str, meta: Option<&KubernetesMeta>) -> Result<(), Status> {
    let Some(ns) = meta
        .map(|m| m.namespace.as_str())
        .filter(|ns| !ns.is_empty())
    else {
        return Ok(());
    };
    let bytes = ns.as_bytes();
    let label = ns.len() <= MAX_NAMESPACE_BYTES
        && bytes
            .iter()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'-')
        && bytes.first().is_some_and(u8::is_ascii_alphanumeric)
        && bytes.last().is_some_and(u8::is_ascii_alphanumeric);
    if label {
        Ok(())
    } else {
        Err(Status::invalid_argument(format!(
            "{rpc}: `{field}.namespace` {} is not a DNS-1123 label (at most {MAX_NAMESPACE_BYTES} lower-case letters, digits or '-')",
            quote(ns)
        )))
    }
}

/// `{prefix}.name` and `{prefix}.kubernetesMeta` of one object.
fn identity(
    prefix: &str,
    rpc: &str,
    value: &str,
    kubernetes_meta: Option<&KubernetesMeta>,
) -> Result<(), Status> {
    name(&format!("{prefix}.name"), rpc, value)?;
    meta(&format!("{prefix}.kubernetesMeta"), rpc, kubernetes_meta)
}

/// A replica count: within the CRDs' bound, and within what is simulated.
fn replicas(field: &str, rpc: &str, what: &str, value: u32) -> Result<(), Status> {
    if value > MAX_REPLICAS {
        return Err(Status::invalid_argument(format!(
            "{rpc}: `{field}` {value} is above {MAX_REPLICAS}, the largest replica count a Seldon resource can hold"
        )));
    }
    if value > MAX_SIMULATED_REPLICAS {
        return Err(Status::failed_precondition(format!(
            "{what}: {value} replicas requested; this simulated scheduler simulates at most {MAX_SIMULATED_REPLICAS}"
        )));
    }
    Ok(())
}

/// A LoadModel's model: its name, namespace and replica counts.
pub(crate) fn model(model: &Model) -> Result<(), Status> {
    let rpc = "LoadModel";
    let meta_data = model.meta.as_ref();
    let model_name = meta_data.map_or("", |m| m.name.as_str());
    identity(
        "model.meta",
        rpc,
        model_name,
        meta_data.and_then(|m| m.kubernetes_meta.as_ref()),
    )?;
    if let Some(spec) = &model.deployment_spec {
        let what = format!("model {model_name}");
        replicas("model.deploymentSpec.replicas", rpc, &what, spec.replicas)?;
        replicas(
            "model.deploymentSpec.minReplicas",
            rpc,
            &what,
            spec.min_replicas,
        )?;
        // maxReplicas only caps autoscaling (u32::MAX: unbounded, as the
        // operator sends it); nothing is allocated for it.
    }
    Ok(())
}

/// A ServerNotify's servers: names, namespaces and replica counts.
pub(crate) fn servers(servers: &[ServerNotify]) -> Result<(), Status> {
    let rpc = "ServerNotify";
    for (idx, server) in servers.iter().enumerate() {
        identity(
            &format!("servers[{idx}]"),
            rpc,
            &server.name,
            server.kubernetes_meta.as_ref(),
        )?;
        let what = format!("server {}", server.name);
        replicas(
            &format!("servers[{idx}].expectedReplicas"),
            rpc,
            &what,
            server.expected_replicas,
        )?;
        replicas(
            &format!("servers[{idx}].minReplicas"),
            rpc,
            &what,
            server.min_replicas,
        )?;
    }
    Ok(())
}

/// An experiment's name, namespace and the names it routes to.
pub(crate) fn experiment(experiment: &Experiment) -> Result<(), Status> {
    let rpc = "StartExperiment";
    identity(
        "experiment",
        rpc,
        &experiment.name,
        experiment.kubernetes_meta.as_ref(),
    )?;
    for (idx, candidate) in experiment.candidates.iter().enumerate() {
        name(
            &format!("experiment.candidates[{idx}].name"),
            rpc,
            &candidate.name,
        )?;
    }
    if let Some(mirror) = &experiment.mirror {
        name("experiment.mirror.name", rpc, &mirror.name)?;
    }
    Ok(())
}

/// The step an input or output reference names (`step`, `step.outputs`,
/// `step.outputs.tensor`).
fn step_of(reference: &str) -> &str {
    reference.split('.').next().unwrap_or(reference)
}

/// A pipeline as Seldon's scheduler checks it: names, no step named like
/// the pipeline, every input and output naming a step (an input may name
/// the pipeline itself: its request).
pub(crate) fn pipeline(pipeline: &Pipeline) -> Result<(), Status> {
    let rpc = "LoadPipeline";
    identity(
        "pipeline",
        rpc,
        &pipeline.name,
        pipeline.kubernetes_meta.as_ref(),
    )?;
    let pipeline_name = quote(&pipeline.name);
    let mut steps = HashSet::with_capacity(pipeline.steps.len());
    for (idx, step) in pipeline.steps.iter().enumerate() {
        name(&format!("pipeline.steps[{idx}].name"), rpc, &step.name)?;
        if step.name == pipeline.name {
            return Err(Status::failed_precondition(format!(
                "pipeline {pipeline_name} must not have a step name with the same name"
            )));
        }
        if !steps.insert(step.name.as_str()) {
            return Err(Status::failed_precondition(format!(
                "pipeline {pipeline_name} has repeated step {}",
                quote(&step.name)
            )));
        }
    }
    for step in &pipeline.steps {
        for input in step.inputs.iter().chain(&step.triggers) {
            let target = step_of(input);
            if target != pipeline.name && !steps.contains(target) {
                return Err(Status::failed_precondition(format!(
                    "pipeline {pipeline_name} step {} has input {} for step that does not exist",
                    quote(&step.name),
                    quote(target)
                )));
            }
        }
    }
    for output in pipeline.output.iter().flat_map(|o| &o.steps) {
        let target = step_of(output);
        if !steps.contains(target) {
            return Err(Status::failed_precondition(format!(
                "pipeline {pipeline_name} output step {} not found",
                quote(target)
            )));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use switchyard_proto::scheduler::{DeploymentSpec, MetaData, PipelineOutput, PipelineStep};
    use tonic::Code;

    fn step(name: &str, inputs: &[&str]) -> PipelineStep {
        PipelineStep {
            name: name.into(),
            inputs: inputs.iter().map(|s| s.to_string()).collect(),
            ..Default::default()
        }
    }

    fn pipe(name: &str, steps: Vec<PipelineStep>, output: &[&str]) -> Pipeline {
        Pipeline {
            name: name.into(),
            steps,
            output: Some(PipelineOutput {
                steps: output.iter().map(|s| s.to_string()).collect(),
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    fn refused(result: Result<(), Status>) -> (Code, String) {
        let status = result.expect_err("refused");
        (status.code(), status.message().to_owned())
    }

    #[test]
    fn pipelines_follow_the_schedulers_rules() {
        let ok = pipe(
            "chain",
            vec![step("a", &["chain.inputs"]), step("b", &["a.outputs.OUT"])],
            &["b"],
        );
        assert!(pipeline(&ok).is_ok());
        assert_eq!(
            refused(pipeline(&pipe("p", vec![step("p", &[])], &["p"]))),
            (
                Code::FailedPrecondition,
                "pipeline \"p\" must not have a step name with the same name".into()
            )
        );
        assert_eq!(
            refused(pipeline(&pipe(
                "p",
                vec![step("a", &["ghost.outputs"])],
                &["a"]
            ))),
            (
                Code::FailedPrecondition,
                "pipeline \"p\" step \"a\" has input \"ghost\" for step that does not exist".into()
            )
        );
        let (code, message) = refused(pipeline(&pipe("p", vec![step("a", &[])], &["b"])));
        assert_eq!(code, Code::FailedPrecondition);
        assert!(message.contains("output step \"b\" not found"), "{message}");
        let (code, _) = refused(pipeline(&pipe(
            "p",
            vec![step("a", &[]), step("a", &[])],
            &["a"],
        )));
        assert_eq!(code, Code::FailedPrecondition);
    }

    #[test]
    fn long_and_malformed_names_are_refused_with_a_short_quote() {
        let long = "m".repeat(1 << 20);
        let (code, message) = refused(name("model.meta.name", "LoadModel", &long));
        assert_eq!(code, Code::FailedPrecondition);
        assert!(message.len() < 300, "{} bytes echoed", message.len());
        assert!(message.contains("(1048576 bytes)"), "{message}");
        assert!(name("f", "R", &"m".repeat(MAX_NAME_BYTES)).is_ok());
        assert!(name("f", "R", "a.b").is_err());
        assert!(name("f", "R", "").is_err());
        let bad_ns = KubernetesMeta {
            namespace: "Team_A".into(),
            generation: 1,
        };
        assert_eq!(
            refused(meta("m", "R", Some(&bad_ns))).0,
            Code::InvalidArgument
        );
        let long_ns = KubernetesMeta {
            namespace: "a".repeat(64),
            generation: 1,
        };
        assert!(meta("m", "R", Some(&long_ns)).is_err());
        assert_eq!(
            quote("é".repeat(40).as_str())
                .chars()
                .filter(|c| *c == 'é')
                .count(),
            32
        );
    }

    #[test]
    fn replica_counts_are_bounded() {
        let with = |replicas| Model {
            meta: Some(MetaData {
                name: "m".into(),
                ..Default::default()
            }),
            deployment_spec: Some(DeploymentSpec {
                replicas,
                ..Default::default()
            }),
            ..Default::default()
        };
        assert_eq!(refused(model(&with(u32::MAX))).0, Code::InvalidArgument);
        assert_eq!(
            refused(model(&with(100_000_000))).0,
            Code::FailedPrecondition
        );
        assert!(model(&with(MAX_SIMULATED_REPLICAS)).is_ok());
        let server = |expected_replicas| ServerNotify {
            name: "mlserver".into(),
            expected_replicas,
            ..Default::default()
        };
        assert_eq!(
            refused(servers(&[server(u32::MAX)])).0,
            Code::InvalidArgument
        );
        assert_eq!(
            refused(servers(&[server(100_000_000)])).0,
            Code::FailedPrecondition
        );
        assert!(servers(&[server(3)]).is_ok());
    }
}
