//! Request validation: the one place that decides whether a request is
//! well-formed enough to forward, before any routing happens.
//!
//! In: every request message the gateway serves. Out: `Ok(())` or an
//! INVALID_ARGUMENT status naming the field (as a proto3 JSON path) and,
//! for enums, the value. Checked: the names the scheduler needs to find an
//! object, by Kubernetes' rules (`names`: a subdomain of at most 253
//! characters, quoted short in errors), replica counts within the CRDs'
//! `int32`, and enum values this build knows. Everything else is the
//! scheduler's to judge, and its verdict is passed through unchanged.

use std::fmt::Display;

use tonic::Status;

use super::names;

use switchyard_proto::chainer::{
    PipelineUpdateStatusMessage, pipeline_step_update::PipelineJoinType,
    pipeline_update_message::PipelineOperation,
};
use switchyard_proto::scheduler::{
    ControlPlaneSubscriptionRequest, ExperimentStatusRequest, ExperimentSubscriptionRequest,
    LoadModelRequest, LoadPipelineRequest, ModelStatusRequest, ModelSubscriptionRequest,
    ModelUpdateStatusMessage, PipelineStatusRequest, PipelineSubscriptionRequest, ResourceType,
    SchedulerStatusRequest, ServerNotifyRequest, ServerStatusRequest, ServerSubscriptionRequest,
    StartExperimentRequest, StopExperimentRequest, UnloadModelRequest, UnloadPipelineRequest,
    model_update_message::ModelOperation, pipeline_input, pipeline_output, pipeline_step,
};

/// A request the gateway can check before forwarding.
pub trait Validate {
    /// `Err` is always INVALID_ARGUMENT, naming the offending field.
    fn validate(&self) -> Result<(), Status>;

    /// The model, pipeline, experiment or server a write names (for the
    /// audit log).
    fn object(&self) -> Option<&str> {
        None
    }
}

fn missing(field: impl Display) -> Status {
    Status::invalid_argument(format!("{field} is required"))
}

/// `Some` and non-empty, else INVALID_ARGUMENT naming `field`.
fn required<T>(field: &str, value: Option<T>) -> Result<T, Status> {
    value.ok_or_else(|| missing(field))
}

/// A required object name, by Kubernetes' rules (`names`).
fn name(field: impl Display, value: &str) -> Result<(), Status> {
    if value.trim().is_empty() {
        return Err(missing(field));
    }
    names::object_name(field, value)
}

/// An optional object name: empty, or by Kubernetes' rules.
fn optional_name(field: impl Display, value: &str) -> Result<(), Status> {
    if value.is_empty() {
        return Ok(());
    }
    names::object_name(field, value)
}

/// A known value of enum `E`, else INVALID_ARGUMENT naming field and value.
fn known<E: TryFrom<i32>>(field: impl Display, value: i32) -> Result<(), Status> {
    E::try_from(value)
        .map(|_| ())
        .map_err(|_| Status::invalid_argument(format!("{field} has unknown enum value {value}")))
}

impl Validate for LoadModelRequest {
    fn validate(&self) -> Result<(), Status> {
        let model = required("model", self.model.as_ref())?;
        let meta = required("model.meta", model.meta.as_ref())?;
        name("model.meta.name", &meta.name)?;
        if let Some(spec) = &model.model_spec {
            optional_name(
                "model.modelSpec.server",
                spec.server.as_deref().unwrap_or(""),
            )?;
        }
        if let Some(deployment) = &model.deployment_spec {
            names::replicas("model.deploymentSpec.replicas", deployment.replicas)?;
            names::replicas("model.deploymentSpec.minReplicas", deployment.min_replicas)?;
            names::max_replicas("model.deploymentSpec.maxReplicas", deployment.max_replicas)?;
        }
        Ok(())
    }

    fn object(&self) -> Option<&str> {
        let meta = self.model.as_ref()?.meta.as_ref()?;
        Some(&meta.name)
    }
}

impl Validate for UnloadModelRequest {
    fn validate(&self) -> Result<(), Status> {
        let model = required("model", self.model.as_ref())?;
        name("model.name", &model.name)
    }

    fn object(&self) -> Option<&str> {
        self.model.as_ref().map(|m| m.name.as_str())
    }
}

impl Validate for LoadPipelineRequest {
    fn validate(&self) -> Result<(), Status> {
        let pipeline = required("pipeline", self.pipeline.as_ref())?;
        name("pipeline.name", &pipeline.name)?;
        for (i, step) in pipeline.steps.iter().enumerate() {
            name(format_args!("pipeline.steps[{i}].name"), &step.name)?;
            known::<pipeline_step::JoinOp>(
                format_args!("pipeline.steps[{i}].inputsJoin"),
                step.inputs_join,
            )?;
            known::<pipeline_step::JoinOp>(
                format_args!("pipeline.steps[{i}].triggersJoin"),
                step.triggers_join,
            )?;
        }
        if let Some(input) = &pipeline.input {
            known::<pipeline_input::JoinOp>("pipeline.input.joinType", input.join_type)?;
            known::<pipeline_input::JoinOp>("pipeline.input.triggersJoin", input.triggers_join)?;
        }
        if let Some(output) = &pipeline.output {
            known::<pipeline_output::JoinOp>("pipeline.output.stepsJoin", output.steps_join)?;
        }
        Ok(())
    }

    fn object(&self) -> Option<&str> {
        self.pipeline.as_ref().map(|p| p.name.as_str())
    }
}

impl Validate for UnloadPipelineRequest {
    fn validate(&self) -> Result<(), Status> {
        name("name", &self.name)
    }

    fn object(&self) -> Option<&str> {
        Some(&self.name)
    }
}

impl Validate for StartExperimentRequest {
    fn validate(&self) -> Result<(), Status> {
        let experiment = required("experiment", self.experiment.as_ref())?;
        name("experiment.name", &experiment.name)?;
        optional_name(
            "experiment.default",
            experiment.default.as_deref().unwrap_or(""),
        )?;
        known::<ResourceType>("experiment.resourceType", experiment.resource_type)?;
        for (i, candidate) in experiment.candidates.iter().enumerate() {
            name(
                format_args!("experiment.candidates[{i}].name"),
                &candidate.name,
            )?;
        }
        if let Some(mirror) = &experiment.mirror {
            name("experiment.mirror.name", &mirror.name)?;
        }
        Ok(())
    }

    fn object(&self) -> Option<&str> {
        self.experiment.as_ref().map(|e| e.name.as_str())
    }
}

impl Validate for StopExperimentRequest {
    fn validate(&self) -> Result<(), Status> {
        name("name", &self.name)
    }

    fn object(&self) -> Option<&str> {
        Some(&self.name)
    }
}

impl Validate for ServerNotifyRequest {
    fn validate(&self) -> Result<(), Status> {
        for (i, server) in self.servers.iter().enumerate() {
            name(format_args!("servers[{i}].name"), &server.name)?;
            names::replicas(
                format_args!("servers[{i}].expectedReplicas"),
                server.expected_replicas,
            )?;
            names::replicas(
                format_args!("servers[{i}].minReplicas"),
                server.min_replicas,
            )?;
            names::max_replicas(
                format_args!("servers[{i}].maxReplicas"),
                server.max_replicas,
            )?;
        }
        Ok(())
    }

    fn object(&self) -> Option<&str> {
        self.servers.first().map(|s| s.name.as_str())
    }
}

impl Validate for ModelStatusRequest {
    fn validate(&self) -> Result<(), Status> {
        if let Some(model) = &self.model {
            name("model.name", &model.name)?;
        }
        Ok(())
    }
}

impl Validate for ModelUpdateStatusMessage {
    fn validate(&self) -> Result<(), Status> {
        let update = required("update", self.update.as_ref())?;
        name("update.model", &update.model)?;
        known::<ModelOperation>("update.op", update.op)
    }
}

impl Validate for PipelineUpdateStatusMessage {
    fn validate(&self) -> Result<(), Status> {
        let update = required("update", self.update.as_ref())?;
        name("update.pipeline", &update.pipeline)?;
        known::<PipelineOperation>("update.op", update.op)?;
        for (i, step) in update.updates.iter().enumerate() {
            known::<PipelineJoinType>(
                format_args!("update.updates[{i}].inputJoinTy"),
                step.input_join_ty,
            )?;
            known::<PipelineJoinType>(
                format_args!("update.updates[{i}].triggersJoinTy"),
                step.triggers_join_ty,
            )?;
        }
        Ok(())
    }
}

macro_rules! always_valid {
    ($($ty:ty),* $(,)?) => {$(
        impl Validate for $ty {
            fn validate(&self) -> Result<(), Status> {
                Ok(())
            }
        }
    )*};
}

impl Validate for ServerStatusRequest {
    fn validate(&self) -> Result<(), Status> {
        optional_name("name", self.name.as_deref().unwrap_or(""))
    }
}

impl Validate for PipelineStatusRequest {
    fn validate(&self) -> Result<(), Status> {
        optional_name("name", self.name.as_deref().unwrap_or(""))
    }
}

impl Validate for ExperimentStatusRequest {
    fn validate(&self) -> Result<(), Status> {
        optional_name("name", self.name.as_deref().unwrap_or(""))
    }
}

// Every field of these is optional and names nothing the scheduler looks up.
always_valid!(
    SchedulerStatusRequest,
    ModelSubscriptionRequest,
    ServerSubscriptionRequest,
    PipelineSubscriptionRequest,
    ExperimentSubscriptionRequest,
    ControlPlaneSubscriptionRequest,
);

#[cfg(test)]
mod tests {
    use tonic::Code;

    use super::*;
    use switchyard_proto::scheduler::{
        Experiment, MetaData, Model, ModelReference, ModelUpdateMessage, Pipeline, PipelineStep,
        ServerNotify,
    };

    fn invalid(result: Result<(), Status>) -> String {
        let status = result.expect_err("should be rejected");
        assert_eq!(status.code(), Code::InvalidArgument);
        status.message().to_owned()
    }

    #[test]
    fn load_model_needs_model_meta_and_name() {
        assert_eq!(
            invalid(LoadModelRequest { model: None }.validate()),
            "model is required"
        );
        let no_meta = LoadModelRequest {
            model: Some(Model::default()),
        };
        assert_eq!(invalid(no_meta.validate()), "model.meta is required");
        let no_name = LoadModelRequest {
            model: Some(Model {
                meta: Some(MetaData::default()),
                ..Default::default()
            }),
        };
        assert_eq!(invalid(no_name.validate()), "model.meta.name is required");
        let ok = LoadModelRequest {
            model: Some(Model {
                meta: Some(MetaData {
                    name: "iris".into(),
                    ..Default::default()
                }),
                ..Default::default()
            }),
        };
        assert!(ok.validate().is_ok());
    }

    #[test]
    fn names_are_required_for_unload_and_stop() {
        assert_eq!(
            invalid(UnloadModelRequest::default().validate()),
            "model is required"
        );
        let unnamed = UnloadModelRequest {
            model: Some(ModelReference::default()),
            kubernetes_meta: None,
        };
        assert_eq!(invalid(unnamed.validate()), "model.name is required");
        assert_eq!(
            invalid(UnloadPipelineRequest::default().validate()),
            "name is required"
        );
        assert_eq!(
            invalid(StopExperimentRequest { name: " ".into() }.validate()),
            "name is required"
        );
        assert_eq!(
            invalid(StartExperimentRequest::default().validate()),
            "experiment is required"
        );
        assert_eq!(
            invalid(LoadPipelineRequest::default().validate()),
            "pipeline is required"
        );
    }

    #[test]
    fn unknown_enum_values_name_field_and_value() {
        let pipeline = LoadPipelineRequest {
            pipeline: Some(Pipeline {
                name: "p".into(),
                steps: vec![
                    PipelineStep {
                        name: "a".into(),
                        ..Default::default()
                    },
                    PipelineStep {
                        name: "b".into(),
                        inputs_join: 7,
                        ..Default::default()
                    },
                ],
                ..Default::default()
            }),
        };
        let msg = invalid(pipeline.validate());
        assert!(
            msg.contains("pipeline.steps[1].inputsJoin") && msg.ends_with("value 7"),
            "{msg}"
        );
        let experiment = StartExperimentRequest {
            experiment: Some(Experiment {
                name: "e".into(),
                resource_type: 9,
                ..Default::default()
            }),
        };
        let msg = invalid(experiment.validate());
        assert!(
            msg.contains("experiment.resourceType") && msg.contains("value 9"),
            "{msg}"
        );
        let update = ModelUpdateStatusMessage {
            update: Some(ModelUpdateMessage {
                model: "m".into(),
                op: -1,
                ..Default::default()
            }),
            ..Default::default()
        };
        assert!(invalid(update.validate()).contains("update.op"));
    }

    #[test]
    fn server_notify_entries_need_names() {
        let req = ServerNotifyRequest {
            servers: vec![
                ServerNotify {
                    name: "mlserver".into(),
                    ..Default::default()
                },
                ServerNotify::default(),
            ],
            is_first_sync: true,
        };
        assert_eq!(invalid(req.validate()), "servers[1].name is required");
        assert!(ServerNotifyRequest::default().validate().is_ok());
    }
}
