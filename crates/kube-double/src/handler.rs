//! One HTTP request, start to finish: injected latency, routing, the verb
//! (get, list, watch, create, update, patch, delete, deletecollection),
//! counters and injected faults, then the read or write on the locked
//! collection, and the response (an object, a list, a watch stream or a
//! `Status`). Bodies are parsed before a lock is taken and rendered after
//! it is released; no lock is held across an `.await`. After a write, with
//! the lock released, its outcome is counted (changed or no-op) and `gc`
//! collects the dependents of what it removed.

use std::collections::VecDeque;
use std::sync::Arc;

use http_body_util::{BodyExt, Either, Full, LengthLimitError, Limited};
use hyper::body::{Bytes, Incoming};
use hyper::header::{ACCEPT, CONTENT_TYPE, HeaderValue, USER_AGENT};
use hyper::{Method, Request, Response, StatusCode};
use serde_json::Value;

use super::catalog::ResourceType;
use super::discovery;
use super::error::ApiError;
use super::gc::{self, Owner, Propagation};
use super::mirror;
use super::object;
use super::patch::PatchKind;
use super::render::{self, Projection};
use super::review::{self, Requester};
use super::route::{self, Query, ResourcePath, Route, Subresource};
use super::selector::{FieldSelector, Filter, LabelSelector};
use super::shared::Shared;
use super::stats::Verb;
use super::store::Key;
use super::strict;
use super::table::{self, IncludeObject, TableVersion};
use super::watch::{self, WatchBody, WatchRequest, WatchStart};
use super::writes::{DeletePreconditions, Precondition, WriteReport, Writer};

/// A response body: whole, or a watch stream.
pub(crate) type ApiBody = Either<Full<Bytes>, WatchBody>;

const JSON: &str = "application/json";

/// Serves one request; every failure becomes a `Status` response.
pub(crate) async fn serve(shared: Arc<Shared>, req: Request<Incoming>) -> Response<ApiBody> {
    let latency = shared.faults.latency();
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    let method = req.method().clone();
    let path = req.uri().path().to_string();
    match dispatch(&shared, req).await {
        Ok(response) => {
            tracing::trace!(%method, %path, status = response.status().as_u16(), "API double");
            response
        }
        Err(error) => {
            tracing::debug!(%method, %path, %error, "API double: request failed");
            respond(
                error.code,
                render::value(&error.to_status()),
                HeaderValue::from_static(JSON),
            )
        }
    }
}

fn respond(code: u16, body: Bytes, content_type: HeaderValue) -> Response<ApiBody> {
    let mut response = Response::new(Either::Left(Full::new(body)));
    *response.status_mut() =
        StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    response.headers_mut().insert(CONTENT_TYPE, content_type);
    response
}

fn ok(code: u16, body: Bytes) -> Response<ApiBody> {
    respond(code, body, HeaderValue::from_static(JSON))
}

fn watch_response(
    replay: VecDeque<Bytes>,
    live: Option<tokio::sync::mpsc::Receiver<Bytes>>,
    timeout: Option<std::time::Duration>,
) -> Response<ApiBody> {
    let mut response = Response::new(Either::Right(WatchBody::new(replay, live, timeout)));
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(JSON));
    response
}

fn header(req: &Request<Incoming>, name: hyper::header::HeaderName) -> Option<&str> {
    req.headers().get(name).and_then(|v| v.to_str().ok())
}

async fn dispatch(shared: &Shared, req: Request<Incoming>) -> Result<Response<ApiBody>, ApiError> {
    let route = route::parse_path(&shared.catalog, req.uri().path())?;
    if let Route::Resource(path) = route {
        return resource(shared, req, path).await;
    }
    if req.method() != Method::GET {
        return Err(ApiError::method_not_allowed(
            "the server does not allow this method on the requested resource",
        ));
    }
    let aggregated = discovery::wants_aggregated(header(&req, ACCEPT));
    let catalog = &shared.catalog;
    let is_aggregatable = matches!(route, Route::CoreVersions | Route::Groups);
    let document = match route {
        Route::Version => discovery::version(),
        Route::CoreVersions if aggregated => discovery::aggregated(catalog, true),
        Route::CoreVersions => discovery::core_versions(&shared.local_addr.to_string()),
        Route::CoreResources => discovery::resource_list(catalog, "", "v1"),
        Route::Groups if aggregated => discovery::aggregated(catalog, false),
        Route::Groups => discovery::groups(catalog),
        Route::Group(group) => discovery::group(catalog, &group),
        Route::GroupResources(group, version) => {
            discovery::resource_list(catalog, &group, &version)
        }
        Route::OpenApiRoot => shared.openapi().root(),
        Route::OpenApiGroupVersion(group, version) => shared
            .openapi()
            .document(&group, &version)
            .cloned()
            .ok_or_else(ApiError::no_route)?,
        Route::Resource(_) => return Err(ApiError::no_route()),
    };
    let content_type = if aggregated && is_aggregatable {
        HeaderValue::from_static(discovery::AGGREGATED_CONTENT_TYPE)
    } else {
        HeaderValue::from_static(JSON)
    };
    Ok(respond(200, render::value(&document), content_type))
}

fn verb_of(
    method: &Method,
    rt: &ResourceType,
    path: &ResourcePath,
    query: &Query,
) -> Result<Verb, ApiError> {
    let named = path.name.is_some();
    let sub = path.subresource.is_some();
    let verb = match *method {
        Method::GET if query.watch && !sub => Verb::Watch,
        Method::GET if named => Verb::Get,
        Method::GET => Verb::List,
        Method::POST if !named => Verb::Create,
        Method::PUT if named => Verb::Update,
        Method::PATCH if named => Verb::Patch,
        Method::DELETE if named && !sub => Verb::Delete,
        Method::DELETE if !named => Verb::DeleteCollection,
        _ => {
            return Err(ApiError::method_not_allowed(
                "the server does not allow this method on the requested resource",
            ));
        }
    };
    // Namespaced kinds are written inside a namespace.
    if rt.namespaced
        && path.namespace.is_none()
        && matches!(verb, Verb::Create | Verb::DeleteCollection)
    {
        return Err(ApiError::method_not_allowed(format!(
            "{} of {} needs a namespace in the path",
            verb.as_str(),
            rt.plural
        )));
    }
    Ok(verb)
}

/// Everything a resource request needs once its body is read.
struct Call<'a> {
    shared: &'a Shared,
    rt: &'a ResourceType,
    path: ResourcePath,
    query: Query,
    projection: Projection,
    /// The Table `kubectl get` asks for, if any.
    table: Option<TableVersion>,
    content_type: Option<String>,
    /// The field manager a write without `fieldManager` gets: the
    /// User-Agent up to its first `/`, as the real server defaults it.
    agent_manager: Option<String>,
    body: Bytes,
}

/// The longest field manager name the real server accepts.
const MAX_FIELD_MANAGER: usize = 128;

fn manager_from_user_agent(user_agent: Option<&str>) -> Option<String> {
    let prefix = user_agent?.split('/').next()?.trim();
    (!prefix.is_empty()).then(|| prefix.chars().take(MAX_FIELD_MANAGER).collect())
}

impl Call<'_> {
    fn key(&self) -> Key {
        (
            self.path.namespace.clone().unwrap_or_default(),
            self.path.name.clone().unwrap_or_default(),
        )
    }

    /// The field manager of a write: `fieldManager`, else from the
    /// User-Agent.
    fn manager(&self) -> Option<&str> {
        self.query
            .field_manager
            .as_deref()
            .or(self.agent_manager.as_deref())
    }

    fn writer<'c>(&'c self, collection: &'c mut super::store::Collection) -> Writer<'c> {
        Writer {
            rt: self.rt,
            revision: &self.shared.revision,
            collection,
            dry_run: self.query.dry_run,
            manager: self.manager(),
            force: self.query.force,
            report: WriteReport::default(),
        }
    }

    /// After a write, with no lock held: counts what it did (changed the
    /// store or not) and collects the dependents of what it removed. A dry
    /// run did neither, and is not an outcome.
    fn settle(&self, verb: &'static str, report: WriteReport, propagation: Propagation) {
        if self.query.dry_run {
            return;
        }
        let resource = self
            .rt
            .resource_label(self.path.subresource.map(Subresource::as_str));
        self.shared.stats.record_outcome(
            verb,
            &resource,
            self.manager().unwrap_or(""),
            &report.changed,
        );
        if !matches!(verb, "delete" | "deletecollection") {
            gc::collect_dangling(self.shared, self.path.id, self.rt, &report.changed);
        }
        mirror::mirror_events(self.shared, self.rt, &report.changed);
        if !report.removed.is_empty() && propagation != Propagation::Orphan {
            gc::collect(self.shared, report.removed, propagation);
        }
    }
}

async fn resource(
    shared: &Shared,
    req: Request<Incoming>,
    path: ResourcePath,
) -> Result<Response<ApiBody>, ApiError> {
    let rt = shared.catalog.get(path.id);
    let query = Query::parse(req.uri().query())?;
    let verb = verb_of(req.method(), rt, &path, &query)?;
    let sub = path.subresource.map(Subresource::as_str);
    shared.stats.record(
        verb,
        &rt.group,
        &rt.resource_label(sub),
        header(&req, USER_AGENT).unwrap_or(""),
        query.field_manager.as_deref(),
    );
    if verb.is_write()
        && let Some(error) =
            shared
                .faults
                .take_write_failure(rt, sub, path.name.as_deref().unwrap_or(""))
    {
        shared.stats.add(|s| s.injected_write_failures += 1);
        return Err(error);
    }
    let projection = Projection::from_accept(header(&req, ACCEPT));
    let table = table::wanted(header(&req, ACCEPT));
    let content_type = header(&req, CONTENT_TYPE).map(str::to_string);
    let agent_manager = manager_from_user_agent(header(&req, USER_AGENT));
    let requester = rt
        .review
        .map(|_| Requester::from_headers(req.headers()))
        .unwrap_or_default();
    let body = if verb.is_write() {
        read_body(req.into_body(), shared.config.max_body_bytes).await?
    } else {
        Bytes::new()
    };
    if let Some(review) = rt.review {
        // Created and answered, never stored.
        if verb != Verb::Create {
            return Err(ApiError::method_not_allowed(format!(
                "{} of {} is not supported: it is only created",
                verb.as_str(),
                rt.group_resource()
            )));
        }
        let body = match content_type.as_deref() {
            Some(c) if c.starts_with(review::protobuf::CONTENT_TYPE) => {
                review::protobuf::decode(&body)?
            }
            c => json_body(rt, c, &body)?,
        };
        let namespace = path.namespace.as_deref();
        let answered = review::answer(shared, rt, review, namespace, &requester, body)?;
        return Ok(ok(201, render::value(&answered)));
    }
    let call = Call {
        shared,
        rt,
        path,
        query,
        projection,
        table,
        content_type,
        agent_manager,
        body,
    };
    match verb {
        Verb::Get => get(&call),
        Verb::List => list(&call),
        Verb::Watch => watch(&call),
        Verb::Create => create(&call),
        Verb::Update => update(&call),
        Verb::Patch => patch(&call),
        Verb::Delete => delete(&call),
        Verb::DeleteCollection => delete_collection(&call),
    }
}

async fn read_body(body: Incoming, limit: usize) -> Result<Bytes, ApiError> {
    match Limited::new(body, limit).collect().await {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(error) if error.downcast_ref::<LengthLimitError>().is_some() => {
            Err(ApiError::too_large(limit))
        }
        Err(error) => Err(ApiError::bad_request(format!(
            "reading the request body failed: {error}"
        ))),
    }
}

fn parse_json(call: &Call<'_>) -> Result<Value, ApiError> {
    json_body(call.rt, call.content_type.as_deref(), &call.body)
}

/// A JSON request body.
fn json_body(
    rt: &ResourceType,
    content_type: Option<&str>,
    body: &Bytes,
) -> Result<Value, ApiError> {
    let mime = content_type
        .and_then(|c| c.split(';').next())
        .map(str::trim)
        .unwrap_or(JSON);
    if mime != JSON {
        return Err(ApiError::unsupported_media_type(format!(
            "the body of the request was in an unknown format ({mime}) - accepted media types include: application/json"
        )));
    }
    if body.is_empty() {
        return Err(ApiError::bad_request("the request body is empty"));
    }
    serde_json::from_slice(body).map_err(|e| {
        ApiError::bad_request(format!(
            "the object provided is unrecognized (must be of type {}): {e}",
            rt.kind
        ))
    })
}

fn filter(call: &Call<'_>) -> Result<Filter, ApiError> {
    let query = &call.query;
    let labels = LabelSelector::parse(query.label_selector.as_deref().unwrap_or(""))
        .map_err(|e| ApiError::bad_request(format!("unable to parse requirement: {e}")))?;
    let mut fields = query.field_selector.clone().unwrap_or_default();
    // A watch on one object (`GET .../name?watch=true`).
    if let Some(name) = &call.path.name {
        if !fields.is_empty() {
            fields.push(',');
        }
        fields.push_str("metadata.name=");
        fields.push_str(name);
    }
    let fields = FieldSelector::parse(&fields, call.rt.custom).map_err(ApiError::bad_request)?;
    Ok(Filter {
        namespace: call.path.namespace.clone(),
        labels,
        fields,
    })
}

fn parse_rv(rv: &str) -> Result<u64, ApiError> {
    rv.parse().map_err(|_| {
        ApiError::bad_request(format!(
            "resourceVersion: Invalid value: {rv:?}: must be a non-negative integer"
        ))
    })
}

fn get(call: &Call<'_>) -> Result<Response<ApiBody>, ApiError> {
    let key = call.key();
    let obj = call
        .shared
        .lock(call.path.id)
        .get(&key)
        .cloned()
        .ok_or_else(|| ApiError::not_found(call.rt, &key.1))?;
    if call.path.subresource == Some(Subresource::Scale) {
        let scale = super::scale::scale_of(call.rt, &obj)?;
        return Ok(ok(200, render::value(&scale)));
    }
    if let Some(version) = call.table {
        let include = IncludeObject::parse(call.query.include_object.as_deref())?;
        let rv = object::resource_version(&obj).to_string();
        let rendered = table::table(
            call.rt,
            version,
            std::iter::once(obj.as_ref()),
            rv,
            None,
            include,
        );
        return Ok(ok(200, render::value(&rendered)));
    }
    Ok(ok(200, render::object(call.rt, &obj, call.projection)))
}

/// Which state a list reads.
enum ReadAt {
    Latest,
    NotOlderThan(u64),
    Exact(u64),
}

/// `{rv}/{namespace}/{name}` of the last object of a page.
fn continue_token(rv: u64, key: &Key) -> String {
    format!("{rv}/{}/{}", key.0, key.1)
}

fn parse_continue(token: &str) -> Result<(u64, Key), ApiError> {
    let mut parts = token.splitn(3, '/');
    let parsed = match (parts.next(), parts.next(), parts.next()) {
        (Some(rv), Some(ns), Some(name)) => {
            rv.parse().ok().map(|rv| (rv, (ns.into(), name.into())))
        }
        _ => None,
    };
    parsed.ok_or_else(|| ApiError::bad_request(format!("continue key is not valid: {token:?}")))
}

fn list(call: &Call<'_>) -> Result<Response<ApiBody>, ApiError> {
    let filter = filter(call)?;
    let query = &call.query;
    let rv = query.rv();
    let (read_at, after) = match &query.continue_token {
        Some(token) => {
            if !rv.is_empty() && rv != "0" {
                return Err(ApiError::bad_request(
                    "specifying resource version is not allowed when using continue",
                ));
            }
            let (at, key) = parse_continue(token)?;
            (ReadAt::Exact(at), Some(key))
        }
        None => {
            let read_at = match (query.resource_version_match.as_deref().unwrap_or(""), rv) {
                ("", "" | "0") => ReadAt::Latest,
                ("" | "NotOlderThan", rv) if !rv.is_empty() => ReadAt::NotOlderThan(parse_rv(rv)?),
                ("Exact", rv) if !rv.is_empty() && rv != "0" => ReadAt::Exact(parse_rv(rv)?),
                (matching, rv) => {
                    return Err(ApiError::bad_request(format!(
                        "resourceVersionMatch {matching:?} is not allowed with resourceVersion {rv:?}"
                    )));
                }
            };
            (read_at, None)
        }
    };
    let (page, at) = {
        let collection = call.shared.lock(call.path.id);
        let current = call.shared.revision.current();
        let at = match read_at {
            ReadAt::Latest => current,
            ReadAt::NotOlderThan(n) | ReadAt::Exact(n) if n > current => {
                return Err(ApiError::too_large_resource_version(n, current));
            }
            ReadAt::NotOlderThan(_) => current,
            ReadAt::Exact(n) => n,
        };
        let page = collection
            .page(at, &filter, after.as_ref(), query.limit)
            .ok_or_else(|| {
                if after.is_some() {
                    ApiError::expired(
                        "The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter.",
                    )
                } else {
                    ApiError::expired(format!(
                        "too old resource version: {at} ({})",
                        collection.compacted()
                    ))
                }
            })?;
        (page, at)
    };
    let token = page.next.as_ref().map(|key| continue_token(at, key));
    if let Some(version) = call.table {
        let include = IncludeObject::parse(call.query.include_object.as_deref())?;
        let items = page.items.iter().map(AsRef::as_ref);
        let rendered = table::table(call.rt, version, items, at.to_string(), token, include);
        return Ok(ok(200, render::value(&rendered)));
    }
    Ok(ok(
        200,
        render::list(
            call.rt,
            page.items.iter().map(AsRef::as_ref),
            at,
            token,
            call.projection,
        ),
    ))
}

fn watch(call: &Call<'_>) -> Result<Response<ApiBody>, ApiError> {
    let filter = filter(call)?;
    let query = &call.query;
    if query.send_initial_events && !query.allow_watch_bookmarks {
        return Err(ApiError::bad_request(
            "sendInitialEvents is forbidden for watch unless allowWatchBookmarks=true",
        ));
    }
    let shared = call.shared;
    if shared.faults.take_watch_expiry() {
        shared.stats.add(|s| s.injected_watch_expiries += 1);
        let error = ApiError::expired(format!(
            "too old resource version: {} (injected by the API double)",
            query.rv()
        ));
        return Ok(watch_response(
            VecDeque::from([render::error_line(&error)]),
            None,
            None,
        ));
    }
    let start = match query.rv() {
        _ if query.send_initial_events => WatchStart::Snapshot {
            initial_events_end: true,
        },
        "" | "0" => WatchStart::Snapshot {
            initial_events_end: false,
        },
        rv => WatchStart::After(parse_rv(rv)?),
    };
    let projection = match call.table {
        Some(version) => Projection::Table(
            version,
            IncludeObject::parse(query.include_object.as_deref())?,
        ),
        None => call.projection,
    };
    let request = WatchRequest {
        filter,
        projection,
        bookmarks: query.allow_watch_bookmarks,
        start,
    };
    let opened = {
        let mut collection = shared.lock(call.path.id);
        let current = shared.revision.current();
        watch::open(&mut collection, call.rt, request, current)
    };
    let timeout = query.timeout.unwrap_or(shared.config.default_watch_timeout);
    match opened {
        Ok((replay, live)) => Ok(watch_response(replay, Some(live), Some(timeout))),
        Err(error) => {
            shared.stats.add(|s| s.expired_watches += 1);
            Ok(watch_response(
                VecDeque::from([render::error_line(&error)]),
                None,
                None,
            ))
        }
    }
}

/// Before a write that may create an object: with `require_namespaces`,
/// the namespace must exist and not be going; without, it is created if
/// missing (not by a dry run).
fn check_namespace(call: &Call<'_>) -> Result<(), ApiError> {
    let shared = call.shared;
    let Some(ns) = call.path.namespace.as_deref() else {
        return Ok(());
    };
    if !shared.config.require_namespaces {
        if !call.query.dry_run {
            mirror::ensure_namespace(shared, ns);
        }
        return Ok(());
    }
    let Some(id) = shared.catalog.find("", "v1", "namespaces") else {
        return Ok(());
    };
    let namespaces = shared.catalog.get(id);
    let deleting = match shared.lock(id).get(&(String::new(), ns.to_string())) {
        None => return Err(ApiError::not_found(namespaces, ns)),
        Some(found) => object::is_deleting(found),
    };
    if deleting {
        return Err(ApiError::forbidden(format!(
            "{} \"{}\" is forbidden: unable to create new content in namespace {ns} because it is being terminated",
            call.rt.group_resource(),
            call.path.name.as_deref().unwrap_or("")
        )));
    }
    Ok(())
}

impl Call<'_> {
    /// Field validation of this write's body; the warnings to send.
    fn check_fields(&self, kind: strict::Body, body: &Value) -> Result<Vec<String>, ApiError> {
        if self.path.subresource == Some(Subresource::Scale) {
            return Ok(Vec::new());
        }
        let name = self
            .path
            .name
            .as_deref()
            .unwrap_or_else(|| object::name(body));
        let validation = self.query.field_validation.as_deref();
        strict::check(self.shared, self.rt, name, validation, kind, body)
    }
}

fn create(call: &Call<'_>) -> Result<Response<ApiBody>, ApiError> {
    let obj = parse_json(call)?;
    let warnings = call.check_fields(strict::Body::Object, &obj)?;
    check_namespace(call)?;
    let ns = call.path.namespace.as_deref().unwrap_or("");
    let (created, report) = {
        let mut collection = call.shared.lock(call.path.id);
        let mut writer = call.writer(&mut collection);
        let created = writer.create(ns, obj)?;
        (created, writer.report)
    };
    call.settle("create", report, Propagation::Background);
    let response = ok(201, render::object(call.rt, &created, call.projection));
    Ok(strict::warn(response, &warnings))
}

/// What an update or patch returns, rendered after the lock is released.
enum Written {
    Object(Arc<Value>),
    Scale(Value),
}

impl Written {
    fn respond(self, rt: &ResourceType, projection: Projection) -> Response<ApiBody> {
        match self {
            Written::Object(obj) => ok(200, render::object(rt, &obj, projection)),
            Written::Scale(scale) => ok(200, render::value(&scale)),
        }
    }
}

fn update(call: &Call<'_>) -> Result<Response<ApiBody>, ApiError> {
    let obj = parse_json(call)?;
    let warnings = call.check_fields(strict::Body::Object, &obj)?;
    let key = call.key();
    let precondition = if call.rt.custom {
        Precondition::Required
    } else {
        Precondition::IfPresent
    };
    let (written, report) = {
        let mut collection = call.shared.lock(call.path.id);
        let mut writer = call.writer(&mut collection);
        let written = match call.path.subresource {
            None => Written::Object(writer.update(&key, obj, precondition)?),
            Some(Subresource::Status) => {
                Written::Object(writer.update_status(&key, obj, precondition)?)
            }
            Some(Subresource::Scale) => Written::Scale(writer.update_scale(&key, obj)?),
        };
        (written, writer.report)
    };
    call.settle("update", report, Propagation::Background);
    Ok(strict::warn(
        written.respond(call.rt, call.projection),
        &warnings,
    ))
}

fn patch(call: &Call<'_>) -> Result<Response<ApiBody>, ApiError> {
    let kind = PatchKind::from_content_type(call.content_type.as_deref(), call.rt.custom)?;
    let patch = kind.parse(&call.body)?;
    let warnings = call.check_fields(strict::Body::Patch(kind), &patch)?;
    if kind == PatchKind::Apply && call.query.field_manager.is_none() {
        return Err(ApiError::unprocessable(
            "PatchOptions.meta.k8s.io \"\" is invalid: fieldManager: Required value: is required for apply patch",
        ));
    }
    if kind == PatchKind::Apply && call.path.subresource.is_none() {
        check_namespace(call)?;
    }
    let key = call.key();
    let (written, report) = {
        let mut collection = call.shared.lock(call.path.id);
        let mut writer = call.writer(&mut collection);
        let written = match call.path.subresource {
            Some(Subresource::Scale) => Written::Scale(writer.patch_scale(&key, kind, &patch)?),
            sub => Written::Object(writer.patch(&key, kind, &patch, sub)?),
        };
        (written, writer.report)
    };
    let verb = if kind == PatchKind::Apply {
        "apply"
    } else {
        "patch"
    };
    call.settle(verb, report, Propagation::Background);
    Ok(strict::warn(
        written.respond(call.rt, call.projection),
        &warnings,
    ))
}

/// The propagation policy of a delete: the query's, else the body's.
fn propagation(call: &Call<'_>, options: &DeletePreconditions) -> Result<Propagation, ApiError> {
    match call
        .query
        .propagation_policy
        .as_deref()
        .or(options.propagation_policy.as_deref())
    {
        None | Some("") => Ok(Propagation::default()),
        Some(policy) => Propagation::parse(policy).ok_or_else(|| {
            ApiError::unprocessable(format!(
                "DeleteOptions.meta.k8s.io \"\" is invalid: propagationPolicy: Unsupported value: {policy:?}: supported values: \"Foreground\", \"Background\", \"Orphan\""
            ))
        }),
    }
}

fn delete(call: &Call<'_>) -> Result<Response<ApiBody>, ApiError> {
    let pre = DeletePreconditions::from_body(&call.body)?;
    let propagation = propagation(call, &pre)?;
    let key = call.key();
    let (deleted, still_there, report) = {
        let mut collection = call.shared.lock(call.path.id);
        let mut writer = call.writer(&mut collection);
        let deleted = writer.delete(&key, &pre)?;
        let report = writer.report;
        (deleted, collection.contains(&key), report)
    };
    if propagation == Propagation::Orphan && !call.query.dry_run {
        let owner = Owner::of(call.rt, &deleted);
        gc::collect(call.shared, vec![owner], Propagation::Orphan);
    }
    call.settle("delete", report, propagation);
    // 202 while finalizers hold the object, as the real server answers.
    let code = if still_there && !call.query.dry_run {
        202
    } else {
        200
    };
    Ok(ok(code, render::object(call.rt, &deleted, call.projection)))
}

fn delete_collection(call: &Call<'_>) -> Result<Response<ApiBody>, ApiError> {
    let filter = filter(call)?;
    let options = DeletePreconditions::from_body(&call.body)?;
    let propagation = propagation(call, &options)?;
    let (deleted, at, report) = {
        let mut collection = call.shared.lock(call.path.id);
        let keys: Vec<Key> = collection
            .matching(&filter)
            .map(|o| {
                (
                    object::namespace(o).to_string(),
                    object::name(o).to_string(),
                )
            })
            .collect();
        let mut writer = call.writer(&mut collection);
        let mut deleted = Vec::with_capacity(keys.len());
        for key in &keys {
            deleted.push(writer.delete(key, &DeletePreconditions::default())?);
        }
        (deleted, call.shared.revision.current(), writer.report)
    };
    if propagation == Propagation::Orphan && !call.query.dry_run {
        let owners = deleted.iter().map(|o| Owner::of(call.rt, o)).collect();
        gc::collect(call.shared, owners, Propagation::Orphan);
    }
    call.settle("deletecollection", report, propagation);
    Ok(ok(
        200,
        render::list(
            call.rt,
            deleted.iter().map(AsRef::as_ref),
            at,
            None,
            call.projection,
        ),
    ))
}
