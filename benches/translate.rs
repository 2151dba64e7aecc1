//! Micro-benchmarks of translation: one Model, Pipeline, Experiment and
//! Server resource (the manifests of `tests/fixtures/`) into the scheduler
//! request the operator sends. `cargo bench --bench translate`.

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use kube::Resource;
use serde::de::DeserializeOwned;
use switchyard_api::{Experiment, Model, Pipeline, Server};
use switchyard_translate as translate;

/// The first document of a fixture, as kind `K`, in namespace `bench`.
fn fixture<K: Resource + DeserializeOwned>(yaml: &str) -> K {
    let documents: Vec<serde_json::Value> =
        serde_saphyr::from_multiple(yaml).expect("fixture parses");
    let mut resource: K = serde_json::from_value(documents[0].clone()).expect("fixture is valid");
    resource
        .meta_mut()
        .namespace
        .get_or_insert_with(|| "bench".into());
    resource
}

fn translation(c: &mut Criterion) {
    let model: Model = fixture(include_str!(
        "../tests/fixtures/model/scaling-and-memory.yaml"
    ));
    let pipeline: Pipeline = fixture(include_str!("../tests/fixtures/pipeline/every-option.yaml"));
    let experiment: Experiment = fixture(include_str!(
        "../tests/fixtures/experiment/model-ab-mirror.yaml"
    ));
    let server: Server = fixture(include_str!("../tests/fixtures/server/triton-custom.yaml"));
    // Each must translate, or the benchmark would time the error path.
    translate::model::load_model_request(&model).expect("model translates");
    translate::pipeline::load_pipeline_request(&pipeline).expect("pipeline translates");
    translate::experiment::start_experiment_request(&experiment).expect("experiment translates");
    assert!(
        translate::server::server_notify_request([&server], false)
            .request
            .is_some()
    );

    let mut group = c.benchmark_group("translate");
    group.bench_function("model/load_model_request", |b| {
        b.iter(|| translate::model::load_model_request(black_box(&model)))
    });
    group.bench_function("pipeline/load_pipeline_request", |b| {
        b.iter(|| translate::pipeline::load_pipeline_request(black_box(&pipeline)))
    });
    group.bench_function("experiment/start_experiment_request", |b| {
        b.iter(|| translate::experiment::start_experiment_request(black_box(&experiment)))
    });
    group.bench_function("server/server_notify_request", |b| {
        b.iter(|| translate::server::server_notify_request([black_box(&server)], false))
    });
    group.finish();
}

criterion_group!(benches, translation);
criterion_main!(benches);
