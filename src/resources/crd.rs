//! The CustomResourceDefinitions of the seven kinds, as `switchyard crds`
//! prints them and `deploy/crds/` holds them.

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::CustomResourceExt;

use super::{Experiment, Model, Pipeline, SeldonConfig, SeldonRuntime, Server, ServerConfig};

/// Every CRD, in a stable order.
pub fn all() -> Vec<CustomResourceDefinition> {
    vec![
        Model::crd(),
        Pipeline::crd(),
        Experiment::crd(),
        Server::crd(),
        ServerConfig::crd(),
        SeldonRuntime::crd(),
        SeldonConfig::crd(),
    ]
}
