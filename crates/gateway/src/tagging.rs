//! Every status message the gateway sends names its namespace.
//!
//! A scheduler serves one namespace and may leave `kubernetesMeta` out of
//! its status messages; behind the gateway, names are unique only per
//! namespace, so a message without one is ambiguous (and Seldon's operator
//! drops it, docs/seldon-compat.md#status-tagging). The gateway knows which scheduler sent each
//! message and fills the namespace in where it is missing or empty. A
//! namespace the scheduler did set is left alone.

use switchyard_proto::scheduler::{
    ExperimentStatusResponse, KubernetesMeta, ModelStatusResponse, Pipeline,
    PipelineStatusResponse, ServerStatusResponse,
};

/// A status message that can carry its namespace.
pub trait TagNamespace {
    /// Fills in `namespace` wherever the message should carry it and
    /// does not.
    fn tag_namespace(&mut self, namespace: &str);
}

fn fill(meta: &mut Option<KubernetesMeta>, namespace: &str) {
    let meta = meta.get_or_insert_with(KubernetesMeta::default);
    if meta.namespace.is_empty() {
        meta.namespace = namespace.to_owned();
    }
}

impl TagNamespace for ModelStatusResponse {
    fn tag_namespace(&mut self, namespace: &str) {
        for version in &mut self.versions {
            fill(&mut version.kubernetes_meta, namespace);
        }
    }
}

impl TagNamespace for PipelineStatusResponse {
    fn tag_namespace(&mut self, namespace: &str) {
        let name = &self.pipeline_name;
        for version in &mut self.versions {
            let pipeline = version.pipeline.get_or_insert_with(|| Pipeline {
                name: name.clone(),
                ..Default::default()
            });
            fill(&mut pipeline.kubernetes_meta, namespace);
        }
    }
}

impl TagNamespace for ExperimentStatusResponse {
    fn tag_namespace(&mut self, namespace: &str) {
        fill(&mut self.kubernetes_meta, namespace);
    }
}

impl TagNamespace for ServerStatusResponse {
    fn tag_namespace(&mut self, namespace: &str) {
        fill(&mut self.kubernetes_meta, namespace);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use switchyard_proto::scheduler::{ModelVersionStatus, PipelineWithState};

    #[test]
    fn fills_missing_namespaces_and_keeps_present_ones() {
        let mut model = ModelStatusResponse {
            model_name: "m".into(),
            versions: vec![
                ModelVersionStatus::default(),
                ModelVersionStatus {
                    kubernetes_meta: Some(KubernetesMeta {
                        namespace: "other".into(),
                        generation: 3,
                    }),
                    ..Default::default()
                },
            ],
            ..Default::default()
        };
        model.tag_namespace("a");
        assert_eq!(
            model.versions[0]
                .kubernetes_meta
                .as_ref()
                .unwrap()
                .namespace,
            "a"
        );
        assert_eq!(
            model.versions[1].kubernetes_meta,
            Some(KubernetesMeta {
                namespace: "other".into(),
                generation: 3
            })
        );

        let mut pipeline = PipelineStatusResponse {
            pipeline_name: "p".into(),
            versions: vec![PipelineWithState::default()],
            ..Default::default()
        };
        pipeline.tag_namespace("a");
        let p = pipeline.versions[0].pipeline.as_ref().unwrap();
        assert_eq!(p.name, "p");
        assert_eq!(p.kubernetes_meta.as_ref().unwrap().namespace, "a");

        let mut server = ServerStatusResponse {
            kubernetes_meta: Some(KubernetesMeta {
                namespace: String::new(),
                generation: 2,
            }),
            ..Default::default()
        };
        server.tag_namespace("b");
        assert_eq!(
            server.kubernetes_meta,
            Some(KubernetesMeta {
                namespace: "b".into(),
                generation: 2
            })
        );
    }
}
