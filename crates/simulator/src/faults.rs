//! Injected failures: which RPC (`Rpc`), which gRPC code (`FailRule`), and
//! parsing both from the names a user types on the command line.

use std::{fmt, str::FromStr};

use tonic::{Code, Status};

/// Every RPC the simulator serves, named as in the proto.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Rpc {
    ServerNotify,
    LoadModel,
    UnloadModel,
    LoadPipeline,
    UnloadPipeline,
    StartExperiment,
    StopExperiment,
    ServerStatus,
    ModelStatus,
    PipelineStatus,
    ExperimentStatus,
    SchedulerStatus,
    SubscribeServerStatus,
    SubscribeModelStatus,
    SubscribeExperimentStatus,
    SubscribePipelineStatus,
    PipelineStatusEvent,
    ModelStatusEvent,
    SubscribeControlPlane,
    /// `seldon.mlops.health.HealthCheckService/HealthCheck`.
    HealthCheck,
}

impl Rpc {
    /// All RPCs, in proto order.
    pub const ALL: [Rpc; 20] = [
        Rpc::ServerNotify,
        Rpc::LoadModel,
        Rpc::UnloadModel,
        Rpc::LoadPipeline,
        Rpc::UnloadPipeline,
        Rpc::StartExperiment,
        Rpc::StopExperiment,
        Rpc::ServerStatus,
        Rpc::ModelStatus,
        Rpc::PipelineStatus,
        Rpc::ExperimentStatus,
        Rpc::SchedulerStatus,
        Rpc::SubscribeServerStatus,
        Rpc::SubscribeModelStatus,
        Rpc::SubscribeExperimentStatus,
        Rpc::SubscribePipelineStatus,
        Rpc::PipelineStatusEvent,
        Rpc::ModelStatusEvent,
        Rpc::SubscribeControlPlane,
        Rpc::HealthCheck,
    ];

    /// The method name as it appears in the gRPC path.
    pub fn name(self) -> &'static str {
        match self {
            Rpc::ServerNotify => "ServerNotify",
            Rpc::LoadModel => "LoadModel",
            Rpc::UnloadModel => "UnloadModel",
            Rpc::LoadPipeline => "LoadPipeline",
            Rpc::UnloadPipeline => "UnloadPipeline",
            Rpc::StartExperiment => "StartExperiment",
            Rpc::StopExperiment => "StopExperiment",
            Rpc::ServerStatus => "ServerStatus",
            Rpc::ModelStatus => "ModelStatus",
            Rpc::PipelineStatus => "PipelineStatus",
            Rpc::ExperimentStatus => "ExperimentStatus",
            Rpc::SchedulerStatus => "SchedulerStatus",
            Rpc::SubscribeServerStatus => "SubscribeServerStatus",
            Rpc::SubscribeModelStatus => "SubscribeModelStatus",
            Rpc::SubscribeExperimentStatus => "SubscribeExperimentStatus",
            Rpc::SubscribePipelineStatus => "SubscribePipelineStatus",
            Rpc::PipelineStatusEvent => "PipelineStatusEvent",
            Rpc::ModelStatusEvent => "ModelStatusEvent",
            Rpc::SubscribeControlPlane => "SubscribeControlPlane",
            Rpc::HealthCheck => "HealthCheck",
        }
    }
}

impl fmt::Display for Rpc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A name that is not an RPC or not a gRPC code.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ParseFaultError {
    #[error("unknown RPC {0:?}: use a method name of the Scheduler service, e.g. LoadModel")]
    UnknownRpc(String),
    #[error("unknown gRPC code {0:?}: use a name like unavailable or a number 1-16")]
    UnknownCode(String),
}

impl FromStr for Rpc {
    type Err = ParseFaultError;

    /// Case-insensitive method name (`LoadModel`, `loadmodel`).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Rpc::ALL
            .into_iter()
            .find(|rpc| rpc.name().eq_ignore_ascii_case(s.trim()))
            .ok_or_else(|| ParseFaultError::UnknownRpc(s.to_string()))
    }
}

/// Parses a gRPC code from its name (`unavailable`, `FAILED_PRECONDITION`,
/// `FailedPrecondition`) or its number (`14`). `OK` is refused: a failure
/// rule that does not fail is a mistake.
pub fn parse_code(s: &str) -> Result<Code, ParseFaultError> {
    let unknown = || ParseFaultError::UnknownCode(s.to_string());
    if let Ok(n) = s.trim().parse::<i32>() {
        let code = Code::from_i32(n);
        return if (1..=16).contains(&n) {
            Ok(code)
        } else {
            Err(unknown())
        };
    }
    let wanted: String = s
        .chars()
        .filter(|c| *c != '_' && *c != '-')
        .collect::<String>()
        .to_ascii_lowercase();
    (1..=16)
        .map(Code::from_i32)
        .find(|code| {
            let name: String = format!("{code:?}").to_ascii_lowercase();
            name == wanted
        })
        .ok_or_else(unknown)
}

/// Fail calls with `code`, either every call or only calls of `rpc`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FailRule {
    /// The status code returned.
    pub code: Code,
    /// Only this RPC fails; `None` fails every RPC.
    pub rpc: Option<Rpc>,
}

impl FailRule {
    /// The status to return for a call of `rpc`, if this rule matches it.
    pub fn check(&self, rpc: Rpc) -> Result<(), Status> {
        match self.rpc {
            Some(only) if only != rpc => Ok(()),
            _ => Err(Status::new(
                self.code,
                format!(
                    "injected failure: {rpc} fails with {:?} (simulator fault knob)",
                    self.code
                ),
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rpc_names_round_trip() {
        for rpc in Rpc::ALL {
            assert_eq!(rpc.name().parse::<Rpc>(), Ok(rpc));
            assert_eq!(rpc.name().to_lowercase().parse::<Rpc>(), Ok(rpc));
        }
        assert!("Nope".parse::<Rpc>().is_err());
    }

    #[test]
    fn codes_parse_from_names_and_numbers() {
        assert_eq!(parse_code("unavailable"), Ok(Code::Unavailable));
        assert_eq!(
            parse_code("FAILED_PRECONDITION"),
            Ok(Code::FailedPrecondition)
        );
        assert_eq!(parse_code("ResourceExhausted"), Ok(Code::ResourceExhausted));
        assert_eq!(parse_code("14"), Ok(Code::Unavailable));
        assert!(parse_code("0").is_err());
        assert!(parse_code("ok").is_err());
        assert!(parse_code("17").is_err());
        assert!(parse_code("bogus").is_err());
    }

    #[test]
    fn rule_matches_only_its_rpc() {
        let rule = FailRule {
            code: Code::Internal,
            rpc: Some(Rpc::LoadModel),
        };
        assert_eq!(
            rule.check(Rpc::LoadModel).map_err(|s| s.code()),
            Err(Code::Internal)
        );
        assert!(rule.check(Rpc::UnloadModel).is_ok());
        let all = FailRule {
            code: Code::Unavailable,
            rpc: None,
        };
        assert!(all.check(Rpc::HealthCheck).is_err());
    }
}
