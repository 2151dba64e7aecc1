//! `switchyard translate` over the manifests in `tests/fixtures/`.
//!
//! * `tests/fixtures/{model,pipeline,experiment,server}/*.yaml` are valid
//!   manifests; next to each is its golden output, `<name>.json`, exactly what
//!   `switchyard translate <name>.yaml` prints.
//! * `tests/fixtures/invalid/*.yaml` whose first line is
//!   `# translate-error: <text>` must fail with an error starting with
//!   `<text>` (other files in that folder belong to other tests).
//!
//! After an intended change of the output, regenerate the goldens with
//!
//! ```sh
//! UPDATE_GOLDEN=1 cargo test --test e2e translate_fixtures
//! ```
//!
//! and review the diff before committing it.

use std::fs;
use std::path::{Path, PathBuf};

use prost::Message;
use serde_json::Value;
use switchyard::cmd::translate::{SchedulerRequest, Summary, run};
use switchyard_api::{Experiment, Model, Pipeline, Server};
use switchyard_proto::json::from_json;
use switchyard_proto::scheduler::{
    LoadModelRequest, LoadPipelineRequest, ServerNotifyRequest, StartExperimentRequest,
    StopExperimentRequest, UnloadModelRequest, UnloadPipelineRequest,
};
use switchyard_translate as translate;

const KINDS: [&str; 4] = ["model", "pipeline", "experiment", "server"];
const ERROR_HEADER: &str = "# translate-error: ";

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

fn files(dir: &Path, extension: &str) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()))
        .map(|entry| entry.expect("directory entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == extension))
        .collect();
    files.sort();
    files
}

/// Every valid fixture, at least three per kind.
fn valid_fixtures() -> Vec<PathBuf> {
    let mut all = Vec::new();
    for kind in KINDS {
        let yaml = files(&fixtures().join(kind), "yaml");
        assert!(yaml.len() >= 3, "fewer than three {kind} fixtures");
        all.extend(yaml);
    }
    all
}

fn golden_path(fixture: &Path) -> PathBuf {
    fixture.with_extension("json")
}

fn translate_file(fixture: &Path, binary_dir: Option<&Path>) -> (String, Summary) {
    let mut out = Vec::new();
    let summary = run(fixture, binary_dir, &mut out)
        .unwrap_or_else(|e| panic!("{}: {e:#}", fixture.display()));
    (String::from_utf8(out).expect("output is UTF-8"), summary)
}

/// The JSON objects of an output, in order.
fn objects(output: &str) -> Vec<Value> {
    serde_json::Deserializer::from_str(output)
        .into_iter::<Value>()
        .map(|v| v.expect("the output is a stream of JSON objects"))
        .collect()
}

fn text<'a>(object: &'a Value, field: &str) -> &'a str {
    object
        .get(field)
        .and_then(Value::as_str)
        .unwrap_or_else(|| panic!("no string {field:?} in {object}"))
}

/// The request a printed object carries, parsed back from proto3 JSON.
fn from_printed(object: &Value) -> SchedulerRequest {
    let request = object.get("request").expect("a request");
    let parsed = match text(object, "rpc") {
        "LoadModel" => from_json(request).map(SchedulerRequest::LoadModel),
        "UnloadModel" => from_json(request).map(SchedulerRequest::UnloadModel),
        "LoadPipeline" => from_json(request).map(SchedulerRequest::LoadPipeline),
        "UnloadPipeline" => from_json(request).map(SchedulerRequest::UnloadPipeline),
        "StartExperiment" => from_json(request).map(SchedulerRequest::StartExperiment),
        "StopExperiment" => from_json(request).map(SchedulerRequest::StopExperiment),
        "ServerNotify" => from_json(request).map(SchedulerRequest::ServerNotify),
        other => panic!("unexpected rpc {other}"),
    };
    parsed.unwrap_or_else(|e| panic!("{object}: {e}"))
}

/// The request encoded in `bytes`, decoded as the message of `rpc`.
fn from_bytes(rpc: &str, bytes: &[u8]) -> SchedulerRequest {
    let decoded = match rpc {
        "LoadModel" => LoadModelRequest::decode(bytes).map(SchedulerRequest::LoadModel),
        "UnloadModel" => UnloadModelRequest::decode(bytes).map(SchedulerRequest::UnloadModel),
        "LoadPipeline" => LoadPipelineRequest::decode(bytes).map(SchedulerRequest::LoadPipeline),
        "UnloadPipeline" => {
            UnloadPipelineRequest::decode(bytes).map(SchedulerRequest::UnloadPipeline)
        }
        "StartExperiment" => {
            StartExperimentRequest::decode(bytes).map(SchedulerRequest::StartExperiment)
        }
        "StopExperiment" => {
            StopExperimentRequest::decode(bytes).map(SchedulerRequest::StopExperiment)
        }
        "ServerNotify" => ServerNotifyRequest::decode(bytes).map(SchedulerRequest::ServerNotify),
        other => panic!("unexpected rpc {other}"),
    };
    decoded.unwrap_or_else(|e| panic!("decoding {rpc}: {e}"))
}

/// The request the translation functions make of one YAML document, read
/// here independently of the command (no deletion timestamps in fixtures),
/// as the API server would store it.
fn translated(document: Value) -> SchedulerRequest {
    let mut document = switchyard_api::stored::without_nulls(document);
    if let Some(metadata) = document.get_mut("metadata").and_then(Value::as_object_mut) {
        metadata
            .entry("namespace")
            .or_insert_with(|| Value::from("default"));
    }
    let kind = text(&document, "kind").to_string();
    match kind.as_str() {
        "Model" => {
            let model: Model = serde_json::from_value(document).expect("a Model");
            SchedulerRequest::LoadModel(
                translate::model::load_model_request(&model).expect("a valid Model"),
            )
        }
        "Pipeline" => {
            let pipeline: Pipeline = serde_json::from_value(document).expect("a Pipeline");
            SchedulerRequest::LoadPipeline(
                translate::pipeline::load_pipeline_request(&pipeline).expect("a valid Pipeline"),
            )
        }
        "Experiment" => {
            let experiment: Experiment = serde_json::from_value(document).expect("an Experiment");
            SchedulerRequest::StartExperiment(
                translate::experiment::start_experiment_request(&experiment)
                    .expect("a valid Experiment"),
            )
        }
        "Server" => {
            let server: Server = serde_json::from_value(document).expect("a Server");
            let batch = translate::server::server_notify_request([&server], false);
            assert!(batch.failures.is_empty(), "{:?}", batch.failures);
            SchedulerRequest::ServerNotify(batch.request.expect("one server to notify"))
        }
        other => panic!("no fixture of kind {other} expected"),
    }
}

/// (a) `translate` prints exactly the golden output for every fixture.
#[test]
fn output_matches_the_goldens() {
    let update = std::env::var_os("UPDATE_GOLDEN").is_some_and(|v| v == "1");
    for fixture in valid_fixtures() {
        let (output, summary) = translate_file(&fixture, None);
        assert!(summary.is_success(), "{}: {output}", fixture.display());
        assert_eq!(
            summary.translated,
            summary.documents,
            "{}",
            fixture.display()
        );
        let golden = golden_path(&fixture);
        if update {
            fs::write(&golden, &output).expect("writing a golden file");
            continue;
        }
        let expected = fs::read_to_string(&golden).unwrap_or_else(|e| {
            panic!(
                "{}: {e} (run UPDATE_GOLDEN=1 cargo test --test e2e translate_fixtures)",
                golden.display()
            )
        });
        if let Some((n, (got, want))) = output
            .lines()
            .zip(expected.lines())
            .enumerate()
            .find(|(_, (got, want))| got != want)
        {
            panic!(
                "{} differs from its golden at output line {}:\n  got  {got}\n  want {want}",
                fixture.display(),
                n + 1
            );
        }
        assert_eq!(
            output,
            expected,
            "{} differs from its golden",
            fixture.display()
        );
    }
}

/// No golden outlives its fixture.
#[test]
fn every_golden_has_a_fixture() {
    for kind in KINDS {
        for golden in files(&fixtures().join(kind), "json") {
            assert!(
                golden.with_extension("yaml").exists(),
                "{} has no fixture",
                golden.display()
            );
        }
    }
}

/// (b) Each golden's requests parse back to the messages the translation
/// functions make of the fixture's documents.
#[test]
fn goldens_decode_to_the_translated_messages() {
    for fixture in valid_fixtures() {
        let yaml = fs::read_to_string(&fixture).expect("reading a fixture");
        let documents: Vec<Value> = serde_saphyr::from_multiple::<Value>(&yaml)
            .unwrap_or_else(|e| panic!("{}: {e}", fixture.display()))
            .into_iter()
            .filter(|d| !d.is_null())
            .collect();
        let golden = fs::read_to_string(golden_path(&fixture)).expect("reading a golden file");
        let printed = objects(&golden);
        assert_eq!(printed.len(), documents.len(), "{}", fixture.display());
        for (document, object) in documents.into_iter().zip(&printed) {
            let expected = translated(document);
            assert_eq!(text(object, "rpc"), expected.rpc());
            assert_eq!(text(object, "message"), expected.message_name());
            assert_eq!(from_printed(object), expected, "{}", fixture.display());
        }
    }
}

/// (c) Every invalid fixture fails, with an error naming the field.
#[test]
fn invalid_fixtures_fail_naming_the_field() {
    let (mut checked, mut mismatches) = (0, Vec::new());
    for fixture in files(&fixtures().join("invalid"), "yaml") {
        let yaml = fs::read_to_string(&fixture).expect("reading a fixture");
        let Some(expected) = yaml
            .lines()
            .next()
            .and_then(|l| l.strip_prefix(ERROR_HEADER))
        else {
            continue;
        };
        let (output, summary) = translate_file(&fixture, None);
        assert_eq!(
            summary,
            Summary {
                documents: 1,
                translated: 0,
                without_request: 0,
                failed: 1
            },
            "{}: {output}",
            fixture.display()
        );
        let printed = objects(&output);
        let error = text(&printed[0], "error");
        if !error.starts_with(expected) {
            mismatches.push(format!(
                "{}:\n  expected an error starting with {expected:?}\n  got {error:?}",
                fixture.display()
            ));
        }
        assert!(printed[0].get("request").is_none());
        checked += 1;
    }
    assert!(mismatches.is_empty(), "{}", mismatches.join("\n"));
    assert!(checked >= 20, "only {checked} invalid fixtures checked");
}

/// (d) `--binary` writes one file per resource that decodes to the request
/// printed as JSON (and in the golden).
#[test]
fn binary_output_decodes_to_the_same_messages() {
    let dir = std::env::temp_dir().join(format!("switchyard-binary-{}", std::process::id()));
    for fixture in valid_fixtures() {
        if dir.exists() {
            fs::remove_dir_all(&dir).expect("cleaning the binary directory");
        }
        let (output, summary) = translate_file(&fixture, Some(&dir));
        let golden = objects(&fs::read_to_string(golden_path(&fixture)).expect("golden"));
        let printed = objects(&output);
        assert_eq!(printed.len(), golden.len());
        for (object, golden) in printed.iter().zip(&golden) {
            let file = text(object, "binaryFile");
            assert_eq!(
                file,
                format!(
                    "{}_{}_{}.bin",
                    text(object, "namespace"),
                    text(object, "kind").to_ascii_lowercase(),
                    text(object, "name")
                )
            );
            let bytes = fs::read(dir.join(file)).expect("reading a binary request");
            let decoded = from_bytes(text(object, "rpc"), &bytes);
            assert_eq!(
                decoded,
                from_printed(object),
                "{}: {file}",
                fixture.display()
            );
            assert_eq!(
                decoded,
                from_printed(golden),
                "{}: {file}",
                fixture.display()
            );
            // Apart from the file name, the output is the golden's.
            let mut without_file = object.clone();
            without_file
                .as_object_mut()
                .expect("an object")
                .remove("binaryFile");
            assert_eq!(&without_file, golden);
        }
        assert_eq!(
            files(&dir, "bin").len(),
            summary.translated,
            "{}",
            fixture.display()
        );
    }
    fs::remove_dir_all(&dir).expect("cleaning the binary directory");
}
