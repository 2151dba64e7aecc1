//! `switchyard translate FILE [--binary DIR]`: a user's dry run of "what
//! would the operator send to the scheduler?".
//!
//! Reads a YAML file of one or more documents (`---`), and for each Seldon
//! resource prints one JSON object: which resource, which scheduler RPC, the
//! request in proto3 JSON (or the error naming the field to fix, and for
//! syntax and schema errors the line and column in the file). Documents
//! are independent: a document with a syntax error, a type error or an
//! invalid spec is reported and the others are still translated. A resource
//! being deleted (`metadata.deletionTimestamp`) prints the request its
//! deletion sends (UnloadModel, UnloadPipeline, StopExperiment, or a
//! ServerNotify with 0 replicas). With `--binary DIR` each request is also
//! written encoded, to `DIR/<namespace>_<kind>_<name>.bin` (a later
//! document for the same resource overwrites an earlier one, as a later
//! `kubectl apply` would), so other tools can decode it.
//!
//! Output, one pretty-printed object per document, in file order:
//!
//! ```json
//! {
//!   "document": 1,
//!   "line": 1,
//!   "kind": "Model",
//!   "namespace": "default",
//!   "name": "iris",
//!   "rpc": "LoadModel",
//!   "message": "seldon.mlops.scheduler.LoadModelRequest",
//!   "request": { "model": { "deploymentSpec": { ... }, "meta": { ... }, "modelSpec": { ... } } }
//! }
//! ```
//!
//! (Inside `request`, keys are in alphabetical order and proto3 defaults
//! are omitted, as the proto3 JSON mapping allows; 64-bit integers such as
//! `memoryBytes` and `generation` are strings.)
//!
//! or `"error": "spec.memory: Can't convert model memory quantity to
//! bytes. 100m: not a whole number of bytes"` instead of `rpc`, `message`
//! and `request`, or `"note"` for Seldon kinds that never reach the
//! scheduler (ServerConfig, SeldonRuntime, SeldonConfig).

use std::fs;
use std::io::Write;
use std::path::Path;

use anyhow::Context;
use kube::Resource;
use prost::{Message, Name};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use switchyard_api::stored::without_nulls;
use switchyard_api::{
    Experiment, GROUP, Model, Pipeline, SeldonConfig, SeldonRuntime, Server, ServerConfig, VERSION,
};
use switchyard_proto::json::{JsonError, to_json};
use switchyard_proto::scheduler::{
    LoadModelRequest, LoadPipelineRequest, ServerNotifyRequest, StartExperimentRequest,
    StopExperimentRequest, UnloadModelRequest, UnloadPipelineRequest,
};
use switchyard_translate::{self as translate, TranslateError};

/// The namespace of a manifest that names none (kubectl's default).
pub const DEFAULT_NAMESPACE: &str = "default";

/// What a run did, so the CLI can exit non-zero when a document failed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Summary {
    /// Non-empty documents read.
    pub documents: usize,
    /// Documents that became a scheduler request.
    pub translated: usize,
    /// Seldon resources that never reach the scheduler (ServerConfig, ...).
    pub without_request: usize,
    /// Documents reported as errors.
    pub failed: usize,
}

impl Summary {
    /// True when no document failed.
    pub fn is_success(&self) -> bool {
        self.failed == 0
    }
}

/// Translates every document of `file`, printing one JSON object per
/// document to `out` (and, with `binary_dir`, writing the encoded requests).
/// Manifests without `metadata.namespace` are taken to be in `default`.
///
/// Returns an error only when the file cannot be read or the output cannot
/// be written; a bad document is reported in the output and counted in
/// [`Summary::failed`].
pub fn run(
    file: &Path,
    binary_dir: Option<&Path>,
    out: &mut impl Write,
) -> anyhow::Result<Summary> {
    run_in_namespace(file, binary_dir, DEFAULT_NAMESPACE, out)
}

/// [`run`], with the namespace for manifests that name none (`--namespace`).
pub fn run_in_namespace(
    file: &Path,
    binary_dir: Option<&Path>,
    default_namespace: &str,
    out: &mut impl Write,
) -> anyhow::Result<Summary> {
    let text = fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))?;
    if let Some(dir) = binary_dir {
        fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    let mut summary = Summary::default();
    for report in translate_documents(&text, default_namespace) {
        summary.documents += 1;
        let mut binary_file = None;
        match &report.result {
            Ok(Outcome::Request(request)) => {
                summary.translated += 1;
                if let Some(dir) = binary_dir {
                    let name = binary_file_name(&report);
                    let path = dir.join(&name);
                    fs::write(&path, request.encode_to_vec())
                        .with_context(|| format!("writing {}", path.display()))?;
                    binary_file = Some(name);
                }
            }
            Ok(Outcome::NoRequest(_)) => summary.without_request += 1,
            Err(_) => summary.failed += 1,
        }
        let json = report
            .to_json(binary_file)
            .context("printing a request as proto3 JSON")?;
        serde_json::to_writer_pretty(&mut *out, &json).context("writing the output")?;
        writeln!(out).context("writing the output")?;
    }
    out.flush().context("writing the output")?;
    Ok(summary)
}

/// The result of one document.
#[derive(Clone, Debug, PartialEq)]
pub struct DocumentReport {
    /// 1-based position among the file's non-empty documents.
    pub document: usize,
    /// 1-based line where the document starts.
    pub line: usize,
    /// `kind`, when the document has one.
    pub kind: Option<String>,
    /// `metadata.namespace`, or the default namespace.
    pub namespace: Option<String>,
    /// `metadata.name`, when the document has one.
    pub name: Option<String>,
    /// The request, or why there is none.
    pub result: Result<Outcome, DocumentError>,
}

/// What a valid document turns into.
#[derive(Clone, Debug, PartialEq)]
pub enum Outcome {
    /// The request the operator would send.
    Request(Box<SchedulerRequest>),
    /// A Seldon kind the scheduler never sees; the text says why.
    NoRequest(&'static str),
}

/// One scheduler request, of any of the RPCs the operator calls.
#[derive(Clone, Debug, PartialEq)]
pub enum SchedulerRequest {
    LoadModel(LoadModelRequest),
    UnloadModel(UnloadModelRequest),
    LoadPipeline(LoadPipelineRequest),
    UnloadPipeline(UnloadPipelineRequest),
    StartExperiment(StartExperimentRequest),
    StopExperiment(StopExperimentRequest),
    ServerNotify(ServerNotifyRequest),
}

impl SchedulerRequest {
    /// The RPC of service `seldon.mlops.scheduler.Scheduler` it is sent with.
    pub fn rpc(&self) -> &'static str {
        match self {
            SchedulerRequest::LoadModel(_) => "LoadModel",
            SchedulerRequest::UnloadModel(_) => "UnloadModel",
            SchedulerRequest::LoadPipeline(_) => "LoadPipeline",
            SchedulerRequest::UnloadPipeline(_) => "UnloadPipeline",
            SchedulerRequest::StartExperiment(_) => "StartExperiment",
            SchedulerRequest::StopExperiment(_) => "StopExperiment",
            SchedulerRequest::ServerNotify(_) => "ServerNotify",
        }
    }

    /// The full protobuf name of the request message.
    pub fn message_name(&self) -> String {
        match self {
            SchedulerRequest::LoadModel(_) => LoadModelRequest::full_name(),
            SchedulerRequest::UnloadModel(_) => UnloadModelRequest::full_name(),
            SchedulerRequest::LoadPipeline(_) => LoadPipelineRequest::full_name(),
            SchedulerRequest::UnloadPipeline(_) => UnloadPipelineRequest::full_name(),
            SchedulerRequest::StartExperiment(_) => StartExperimentRequest::full_name(),
            SchedulerRequest::StopExperiment(_) => StopExperimentRequest::full_name(),
            SchedulerRequest::ServerNotify(_) => ServerNotifyRequest::full_name(),
        }
    }

    /// The request in proto3 JSON.
    pub fn to_json(&self) -> Result<Value, JsonError> {
        match self {
            SchedulerRequest::LoadModel(m) => to_json(m),
            SchedulerRequest::UnloadModel(m) => to_json(m),
            SchedulerRequest::LoadPipeline(m) => to_json(m),
            SchedulerRequest::UnloadPipeline(m) => to_json(m),
            SchedulerRequest::StartExperiment(m) => to_json(m),
            SchedulerRequest::StopExperiment(m) => to_json(m),
            SchedulerRequest::ServerNotify(m) => to_json(m),
        }
    }

    /// The request encoded as protobuf bytes.
    pub fn encode_to_vec(&self) -> Vec<u8> {
        match self {
            SchedulerRequest::LoadModel(m) => m.encode_to_vec(),
            SchedulerRequest::UnloadModel(m) => m.encode_to_vec(),
            SchedulerRequest::LoadPipeline(m) => m.encode_to_vec(),
            SchedulerRequest::UnloadPipeline(m) => m.encode_to_vec(),
            SchedulerRequest::StartExperiment(m) => m.encode_to_vec(),
            SchedulerRequest::StopExperiment(m) => m.encode_to_vec(),
            SchedulerRequest::ServerNotify(m) => m.encode_to_vec(),
        }
    }
}

/// Why a document has no request.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum DocumentError {
    /// The document is not valid YAML.
    #[error("YAML syntax: {0}")]
    Syntax(String),
    /// The document is valid YAML but not a mapping.
    #[error("the document is not a mapping with apiVersion and kind")]
    NotAMapping,
    /// `apiVersion` or `kind` is missing or not a string.
    #[error("{0}: missing (every Kubernetes resource names its apiVersion and kind)")]
    MissingTypeField(&'static str),
    /// A resource that is not a Seldon kind.
    #[error(
        "apiVersion/kind: {api_version} {kind} is not a Seldon resource (expected {GROUP}/{VERSION} \
         Model, Pipeline, Experiment, Server, ServerConfig, SeldonRuntime or SeldonConfig)"
    )]
    UnknownKind {
        /// `apiVersion` as written.
        api_version: String,
        /// `kind` as written.
        kind: String,
    },
    /// The document does not fit the kind's schema, e.g.
    /// `spec.steps[0].inputsJoinType: line 8 column 21: unknown variant ...`
    /// (lines count from the top of the file).
    #[error("{}{message}", if path.is_empty() { String::new() } else { format!("{path}: ") })]
    Schema {
        /// Where, e.g. `spec.steps[0].inputsJoinType` (empty: the document itself).
        path: String,
        /// Where in the file and what is wrong there.
        message: String,
    },
    /// The resource fits the schema but cannot be translated.
    #[error(transparent)]
    Translate(#[from] TranslateError),
}

/// Translates every document of a YAML text (no I/O).
pub fn translate_documents(text: &str, default_namespace: &str) -> Vec<DocumentReport> {
    let mut reports = Vec::new();
    for chunk in split_documents(text) {
        // Pad with the lines before the chunk so parser errors carry
        // line numbers of the whole file.
        let padded = format!("{}{}", "\n".repeat(chunk.first_line - 1), chunk.text);
        let parsed: Result<Option<Value>, _> = serde_saphyr::from_str(&padded);
        let value = match parsed {
            Ok(None) | Ok(Some(Value::Null)) => continue,
            Ok(Some(value)) => Ok(value),
            Err(e) => Err(DocumentError::Syntax(first_line_of(&e.to_string()))),
        };
        let document = reports.len() + 1;
        let report = match value {
            Ok(value) => translate_value(
                value,
                &padded,
                document,
                chunk.first_line,
                default_namespace,
            ),
            Err(error) => DocumentReport {
                document,
                line: chunk.first_line,
                kind: None,
                namespace: None,
                name: None,
                result: Err(error),
            },
        };
        reports.push(report);
    }
    reports
}

fn translate_value(
    mut value: Value,
    yaml: &str,
    document: usize,
    line: usize,
    default_namespace: &str,
) -> DocumentReport {
    let text_at = |value: &Value, pointer: &str| {
        value
            .pointer(pointer)
            .and_then(Value::as_str)
            .map(str::to_string)
    };
    // Like kubectl: a manifest without a namespace lands in the default one.
    if let Some(metadata) = value.get_mut("metadata").and_then(Value::as_object_mut)
        && metadata
            .get("namespace")
            .is_none_or(|ns| ns.is_null() || ns.as_str() == Some(""))
    {
        metadata.insert("namespace".into(), Value::from(default_namespace));
    }
    let kind = text_at(&value, "/kind");
    let result = dispatch(&value, yaml, default_namespace);
    DocumentReport {
        document,
        line,
        kind,
        namespace: text_at(&value, "/metadata/namespace"),
        name: text_at(&value, "/metadata/name"),
        result,
    }
}

/// Reads the document as its kind and translates it. `value` (the document
/// as JSON) decides the kind; the typed resource is read from the YAML text
/// itself so that schema errors carry a line and column.
fn dispatch(value: &Value, yaml: &str, namespace: &str) -> Result<Outcome, DocumentError> {
    if !value.is_object() {
        return Err(DocumentError::NotAMapping);
    }
    let field = |name: &'static str| {
        value
            .get(name)
            .and_then(Value::as_str)
            .ok_or(DocumentError::MissingTypeField(name))
    };
    let (api_version, kind) = (field("apiVersion")?, field("kind")?);
    let request = |r| Ok(Outcome::Request(Box::new(r)));
    if api_version != format!("{GROUP}/{VERSION}") {
        return Err(DocumentError::UnknownKind {
            api_version: api_version.into(),
            kind: kind.into(),
        });
    }
    match kind {
        "Model" => {
            let model: Model = typed(value, yaml, namespace)?;
            if model.metadata.deletion_timestamp.is_some() {
                request(SchedulerRequest::UnloadModel(
                    translate::model::unload_model_request(&model)?,
                ))
            } else {
                request(SchedulerRequest::LoadModel(
                    translate::model::load_model_request(&model)?,
                ))
            }
        }
        "Pipeline" => {
            let pipeline: Pipeline = typed(value, yaml, namespace)?;
            if pipeline.metadata.deletion_timestamp.is_some() {
                request(SchedulerRequest::UnloadPipeline(
                    translate::pipeline::unload_pipeline_request(&pipeline)?,
                ))
            } else {
                request(SchedulerRequest::LoadPipeline(
                    translate::pipeline::load_pipeline_request(&pipeline)?,
                ))
            }
        }
        "Experiment" => {
            let experiment: Experiment = typed(value, yaml, namespace)?;
            if experiment.metadata.deletion_timestamp.is_some() {
                request(SchedulerRequest::StopExperiment(
                    translate::experiment::stop_experiment_request(&experiment)?,
                ))
            } else {
                request(SchedulerRequest::StartExperiment(
                    translate::experiment::start_experiment_request(&experiment)?,
                ))
            }
        }
        "Server" => {
            // The Server reconciler's call: one server, not a first sync.
            let server: Server = typed(value, yaml, namespace)?;
            let entry = translate::server::server_notify(&server)?;
            request(SchedulerRequest::ServerNotify(ServerNotifyRequest {
                servers: vec![entry],
                is_first_sync: false,
            }))
        }
        "ServerConfig" => {
            typed::<ServerConfig>(value, yaml, namespace)?;
            Ok(Outcome::NoRequest(
                "ServerConfig has no scheduler request: it is the pod template Servers are built from",
            ))
        }
        "SeldonRuntime" => {
            typed::<SeldonRuntime>(value, yaml, namespace)?;
            Ok(Outcome::NoRequest(
                "SeldonRuntime has no scheduler request: it deploys the namespace's scheduler and gateways",
            ))
        }
        "SeldonConfig" => {
            typed::<SeldonConfig>(value, yaml, namespace)?;
            Ok(Outcome::NoRequest(
                "SeldonConfig has no scheduler request: it is the template SeldonRuntimes are built from",
            ))
        }
        _ => Err(DocumentError::UnknownKind {
            api_version: api_version.into(),
            kind: kind.into(),
        }),
    }
}

/// Deserializes a document into its resource type, naming the path of the
/// first field that does not fit and where it is in the file. A resource
/// without a namespace lands in `namespace`, as kubectl would put it.
fn typed<T>(value: &Value, yaml: &str, namespace: &str) -> Result<T, DocumentError>
where
    T: DeserializeOwned + Resource,
{
    let mut path = String::new();
    let read: Result<T, _> = serde_saphyr::with_deserializer_from_str(yaml, |de| {
        serde_path_to_error::deserialize(de).map_err(|e| {
            path = e.path().to_string();
            e.into_inner()
        })
    });
    let mut resource = match read {
        Ok(resource) => resource,
        // An empty key (`requirements:`, as Helm templates often leave)
        // is null, which the API server prunes from custom resources: read
        // the document as it would be stored before calling it wrong.
        Err(error) => serde_json::from_value(without_nulls(value.clone())).map_err(|_| {
            DocumentError::Schema {
                // serde_path_to_error prints the document root as ".".
                path: if path == "." { String::new() } else { path },
                message: first_line_of(&error.to_string()),
            }
        })?,
    };
    let meta = resource.meta_mut();
    if meta.namespace.as_deref().is_none_or(str::is_empty) {
        meta.namespace = Some(namespace.to_string());
    }
    Ok(resource)
}

/// `<namespace>_<kind>_<name>.bin`, with anything but `[A-Za-z0-9.-]`
/// replaced by `_` so a name can never leave the directory.
fn binary_file_name(report: &DocumentReport) -> String {
    let part = |s: &Option<String>| -> String {
        s.as_deref()
            .unwrap_or("")
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '.' || c == '-' {
                    c
                } else {
                    '_'
                }
            })
            .collect()
    };
    format!(
        "{}_{}_{}.bin",
        part(&report.namespace),
        part(&report.kind).to_ascii_lowercase(),
        part(&report.name)
    )
}

/// One document's text and the line it starts on.
struct Chunk<'a> {
    first_line: usize,
    text: &'a str,
}

/// Splits a YAML stream at its document markers (`---` at the start of a
/// line), keeping each marker and any directives (`%YAML`) with the document
/// they introduce. A `---` in column 0 always starts a document in YAML, even
/// inside a block scalar, so this split is exact.
fn split_documents(text: &str) -> Vec<Chunk<'_>> {
    let mut chunks = Vec::new();
    let (mut start, mut first_line) = (0, 1);
    let mut only_directives = true;
    let mut offset = 0;
    for (index, line) in text.split_inclusive('\n').enumerate() {
        let trimmed = line.trim_end_matches(['\n', '\r']);
        let is_marker =
            trimmed == "---" || trimmed.starts_with("--- ") || trimmed.starts_with("---\t");
        if is_marker && !only_directives {
            chunks.push(Chunk {
                first_line,
                text: &text[start..offset],
            });
            start = offset;
            first_line = index + 1;
            only_directives = true;
        }
        let content = trimmed.trim_start();
        if !(content.is_empty() || content.starts_with('#') || content.starts_with('%')) {
            only_directives = false;
        }
        offset += line.len();
    }
    if start < text.len() {
        chunks.push(Chunk {
            first_line,
            text: &text[start..],
        });
    }
    chunks
}

fn first_line_of(message: &str) -> String {
    let first = message.lines().next().unwrap_or_default();
    first.strip_prefix("error: ").unwrap_or(first).to_string()
}

/// The printed form of a report (field order as documented above).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ReportJson<'a> {
    document: usize,
    line: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    kind: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    namespace: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    rpc: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    message: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    request: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    binary_file: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    note: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
}

impl DocumentReport {
    fn to_json(&self, binary_file: Option<String>) -> Result<ReportJson<'_>, JsonError> {
        let mut json = ReportJson {
            document: self.document,
            line: self.line,
            kind: self.kind.as_deref(),
            namespace: self.namespace.as_deref(),
            name: self.name.as_deref(),
            rpc: None,
            message: None,
            request: None,
            binary_file,
            note: None,
            error: None,
        };
        match &self.result {
            Ok(Outcome::Request(request)) => {
                json.rpc = Some(request.rpc());
                json.message = Some(request.message_name());
                json.request = Some(request.to_json()?);
            }
            Ok(Outcome::NoRequest(note)) => json.note = Some(note),
            Err(error) => json.error = Some(error.to_string()),
        }
        Ok(json)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use switchyard_proto::scheduler::{KubernetesMeta, ServerNotify};

    fn outcomes(text: &str) -> Vec<(usize, usize, Result<String, String>)> {
        translate_documents(text, "fallback")
            .into_iter()
            .map(|r| {
                let result = match r.result {
                    Ok(Outcome::Request(req)) => Ok(req.rpc().to_string()),
                    Ok(Outcome::NoRequest(note)) => Ok(note.to_string()),
                    Err(e) => Err(e.to_string()),
                };
                (r.document, r.line, result)
            })
            .collect()
    }

    const MODEL: &str = "apiVersion: mlops.seldon.io/v1alpha1\nkind: Model\nmetadata:\n  name: iris\nspec:\n  storageUri: gs://x\n";

    #[test]
    fn splits_at_document_markers_only() {
        let text =
            "%YAML 1.2\n---\na: 1\n--- # second\nb: |\n  --- not a marker\n---\n\n---\nc: 3\n";
        let chunks: Vec<(usize, &str)> = split_documents(text)
            .iter()
            .map(|c| (c.first_line, c.text))
            .collect();
        assert_eq!(
            chunks,
            [
                (1, "%YAML 1.2\n---\na: 1\n"),
                (4, "--- # second\nb: |\n  --- not a marker\n"),
                (7, "---\n\n"),
                (9, "---\nc: 3\n"),
            ]
        );
        assert!(split_documents("").is_empty());
    }

    #[test]
    fn one_bad_document_does_not_stop_the_others() {
        let text = format!(
            "{MODEL}---\napiVersion: mlops.seldon.io/v1alpha1\nkind: Model\nspec: [unclosed\n---\n{MODEL}---\n# only a comment\n"
        );
        assert_eq!(
            outcomes(&text),
            [
                (1, 1, Ok("LoadModel".to_string())),
                (
                    2,
                    7,
                    Err("YAML syntax: line 10 column 7: unclosed bracket '['".to_string())
                ),
                (3, 11, Ok("LoadModel".to_string())),
            ]
        );
    }

    #[test]
    fn type_errors_name_the_field_path() {
        let text = "apiVersion: mlops.seldon.io/v1alpha1\nkind: Pipeline\nmetadata:\n  name: p\nspec:\n  steps:\n  - name: a\n    inputsJoinType: outter\n";
        assert_eq!(
            outcomes(text),
            [(
                1,
                1,
                Err("spec.steps[0].inputsJoinType: line 8 column 21: unknown variant `outter`, expected one of inner, outer, any".to_string())
            )]
        );
        let text = "apiVersion: mlops.seldon.io/v1alpha1\nkind: Server\nmetadata:\n  name: s\nspec:\n  serverConfig: mlserver\n  replicas: two\n";
        let result = &outcomes(text)[0].2;
        assert!(
            result
                .as_ref()
                .is_err_and(|e| e == "spec.replicas: line 7 column 13: invalid i32"),
            "{result:?}"
        );
    }

    #[test]
    fn schema_errors_keep_path_and_message_apart() {
        let text = "apiVersion: mlops.seldon.io/v1alpha1\nkind: Experiment\nmetadata:\n  name: e\n";
        let reports = translate_documents(text, "default");
        assert_eq!(
            reports[0].result,
            Err(DocumentError::Schema {
                path: String::new(),
                message: "line 3 column 1: missing field `spec`".into()
            })
        );
        let error = reports[0].result.as_ref().expect_err("no spec");
        assert_eq!(error.to_string(), "line 3 column 1: missing field `spec`");
    }

    #[test]
    fn kinds() {
        let text = "apiVersion: v1\nkind: ConfigMap\n---\napiVersion: mlops.seldon.io/v1\nkind: Model\n---\nkind: Model\n---\n- a\n---\napiVersion: mlops.seldon.io/v1alpha1\nkind: ServerConfig\nmetadata:\n  name: mlserver\nspec:\n  podSpec:\n    containers: []\n";
        let got = outcomes(text);
        assert_eq!(got.len(), 5);
        assert_eq!(
            got[0].2,
            Err("apiVersion/kind: v1 ConfigMap is not a Seldon resource (expected mlops.seldon.io/v1alpha1 Model, Pipeline, Experiment, Server, ServerConfig, SeldonRuntime or SeldonConfig)".to_string())
        );
        assert!(
            got[1]
                .2
                .as_ref()
                .is_err_and(|e| e.starts_with("apiVersion/kind: mlops.seldon.io/v1 Model is not"))
        );
        assert_eq!(
            got[2].2,
            Err(
                "apiVersion: missing (every Kubernetes resource names its apiVersion and kind)"
                    .to_string()
            )
        );
        assert_eq!(
            got[3].2,
            Err("the document is not a mapping with apiVersion and kind".to_string())
        );
        assert_eq!(
            got[4].2,
            Ok("ServerConfig has no scheduler request: it is the pod template Servers are built from".to_string())
        );
    }

    #[test]
    fn default_namespace_and_deletion() {
        let deleting = "apiVersion: mlops.seldon.io/v1alpha1\nkind: Server\nmetadata:\n  name: s\n  generation: 4\n  deletionTimestamp: \"2025-01-01T00:00:00Z\"\nspec:\n  serverConfig: mlserver\n  replicas: 3\n";
        let reports = translate_documents(deleting, "team-a");
        assert_eq!(reports[0].namespace.as_deref(), Some("team-a"));
        assert_eq!(
            reports[0].result,
            Ok(Outcome::Request(Box::new(SchedulerRequest::ServerNotify(
                ServerNotifyRequest {
                    servers: vec![ServerNotify {
                        name: "s".into(),
                        expected_replicas: 0,
                        min_replicas: 0,
                        max_replicas: 0,
                        shared: false,
                        kubernetes_meta: Some(KubernetesMeta {
                            namespace: "team-a".into(),
                            generation: 4
                        }),
                    }],
                    is_first_sync: false,
                }
            ))))
        );
        let deleting_model = MODEL.replace(
            "  name: iris\n",
            "  name: iris\n  namespace: prod\n  deletionTimestamp: \"2025-01-01T00:00:00Z\"\n",
        );
        let reports = translate_documents(&deleting_model, "team-a");
        assert_eq!(reports[0].namespace.as_deref(), Some("prod"));
        assert_eq!(
            reports[0].result,
            Ok(Outcome::Request(Box::new(SchedulerRequest::UnloadModel(
                UnloadModelRequest {
                    model: Some(switchyard_proto::scheduler::ModelReference {
                        name: "iris".into(),
                        version: None
                    }),
                    kubernetes_meta: Some(KubernetesMeta {
                        namespace: "prod".into(),
                        generation: 0
                    }),
                }
            ))))
        );
    }

    #[test]
    fn binary_file_names_stay_in_the_directory() {
        let report = DocumentReport {
            document: 1,
            line: 1,
            kind: Some("Model".into()),
            namespace: Some("../etc".into()),
            name: Some("a/b c".into()),
            result: Err(DocumentError::NotAMapping),
        };
        assert_eq!(binary_file_name(&report), ".._etc_model_a_b_c.bin");
    }

    #[test]
    fn summary_counts_and_output() {
        let dir = std::env::temp_dir().join(format!("switchyard-translate-{}", std::process::id()));
        fs::create_dir_all(&dir).expect("temp dir");
        let file = dir.join("in.yaml");
        let text = format!(
            "{MODEL}---\napiVersion: v1\nkind: Secret\n---\napiVersion: mlops.seldon.io/v1alpha1\nkind: SeldonConfig\nmetadata:\n  name: default\nspec: {{}}\n"
        );
        fs::write(&file, text).expect("write input");
        let mut out = Vec::new();
        let summary = run(&file, None, &mut out).expect("run");
        assert_eq!(
            summary,
            Summary {
                documents: 3,
                translated: 1,
                without_request: 1,
                failed: 1
            }
        );
        assert!(!summary.is_success());
        let printed = String::from_utf8(out).expect("utf-8");
        assert!(printed.starts_with("{\n  \"document\": 1,\n  \"line\": 1,\n  \"kind\": \"Model\",\n  \"namespace\": \"default\",\n  \"name\": \"iris\",\n  \"rpc\": \"LoadModel\",\n  \"message\": \"seldon.mlops.scheduler.LoadModelRequest\",\n"), "{printed}");
        assert!(run(&dir.join("missing.yaml"), None, &mut Vec::new()).is_err());
        fs::remove_dir_all(&dir).expect("clean up");
    }
}
