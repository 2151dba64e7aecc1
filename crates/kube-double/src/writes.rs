//! Write semantics, as the real API server applies them, on one locked
//! collection: create, update, the status and scale subresources, patch
//! (including server-side apply) and delete, with resourceVersion
//! preconditions, `metadata.generation`, `metadata.managedFields` and
//! finalizers.
//!
//! - Create sets uid, creationTimestamp, generation 1 (for kinds that
//!   have one: custom resources and apps/v1 workloads) and a new
//!   resourceVersion, drops `.status` for kinds with a status subresource,
//!   and answers 409 AlreadyExists for a taken name.
//! - Update (and patch, which is an update of the patched object) answers
//!   409 Conflict for a stale `metadata.resourceVersion`; custom resources
//!   require one on PUT (422), as the real server does. Server-owned
//!   metadata is kept, `.status` is kept for kinds with a status
//!   subresource, and generation goes up only when something outside
//!   `metadata` (and `status`, for those kinds) changed. A write that
//!   changes nothing is not a write: same resourceVersion, no event.
//! - Every write but a delete records its field manager in
//!   `managedFields` (`managed`): server-side apply as an `Apply` entry
//!   with conflicts and removal of fields no longer applied, the others as
//!   `Update` entries. `validate` refuses what the real server refuses
//!   for the workload and RBAC kinds (immutable fields, selectors).
//! - Custom resources are stored without null members, as the real server
//!   prunes them.
//! - `/status` writes change only `.status` and never the generation.
//! - Delete of an object with finalizers sets deletionTimestamp (bumping
//!   the generation where there is one) and leaves it in place; the write that removes the
//!   last finalizer deletes it (one DELETED event carrying that last
//!   state). No new finalizers may be added while deleting (422). Objects
//!   removed are listed in the `WriteReport`, and the handler has `gc`
//!   collect their dependents once the collection's lock is released.

use std::sync::Arc;

use serde_json::{Value, json};

use super::catalog::ResourceType;
use super::error::ApiError;
use super::fields::Scope;
use super::gc::Owner;
use super::managed;
use super::object;
use super::patch::PatchKind;
use super::route::Subresource;
use super::scale;
use super::store::{Change, ChangeKind, Collection, Key, Revision};
use super::validate;
use switchyard_api::stored::without_nulls;

/// Whether an update must carry `metadata.resourceVersion`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Precondition {
    /// PUT of a custom resource: a missing resourceVersion is 422.
    Required,
    /// Checked when present (PUT of built-ins, patches).
    IfPresent,
}

/// `DeleteOptions.preconditions`, and its `propagationPolicy`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct DeletePreconditions {
    pub uid: Option<String>,
    pub resource_version: Option<String>,
    pub propagation_policy: Option<String>,
}

impl DeletePreconditions {
    /// From a `DeleteOptions` body (empty or absent means none).
    pub(crate) fn from_body(body: &[u8]) -> Result<Self, ApiError> {
        if body.iter().all(u8::is_ascii_whitespace) {
            return Ok(Self::default());
        }
        let options: Value = serde_json::from_slice(body)
            .map_err(|e| ApiError::bad_request(format!("invalid DeleteOptions: {e}")))?;
        let pre = options.get("preconditions");
        let field = |name: &str| {
            pre.and_then(|p| p.get(name))
                .and_then(Value::as_str)
                .map(str::to_string)
        };
        Ok(Self {
            uid: field("uid"),
            resource_version: field("resourceVersion"),
            propagation_policy: options
                .get("propagationPolicy")
                .and_then(Value::as_str)
                .map(str::to_string),
        })
    }
}

/// One write, under the lock of the collection it writes to.
pub(crate) struct Writer<'a> {
    pub rt: &'a ResourceType,
    pub revision: &'a Revision,
    pub collection: &'a mut Collection,
    /// `dryRun=All`: validate and answer, store nothing.
    pub dry_run: bool,
    /// Who writes: `fieldManager`, or the first part of the User-Agent as
    /// the real server defaults it; `None` records no managedFields entry.
    pub manager: Option<&'a str>,
    /// `force=true`: an apply takes conflicting fields over.
    pub force: bool,
    /// What the write committed, filled as it commits.
    pub report: WriteReport,
}

/// What one write request committed.
#[derive(Debug, Default)]
pub(crate) struct WriteReport {
    /// The objects changed (one entry per committed change).
    pub changed: Vec<Key>,
    /// The objects removed from the store, whose dependents the garbage
    /// collector deletes once the lock is released.
    pub removed: Vec<Owner>,
}

impl Writer<'_> {
    fn current(&self, key: &Key) -> Result<Arc<Value>, ApiError> {
        self.collection
            .get(key)
            .cloned()
            .ok_or_else(|| ApiError::not_found(self.rt, &key.1))
    }

    fn by<'s>(&'s self, subresource: Option<&'s str>, scope: Scope) -> managed::Writer<'s> {
        managed::Writer {
            manager: self.manager,
            subresource,
            scope,
        }
    }

    /// Commits one change and notes it in the report.
    fn commit(&mut self, change: Change) {
        if change.kind == ChangeKind::Deleted {
            self.report.removed.push(Owner::of(self.rt, &change.object));
        }
        self.report.changed.push(change.key.clone());
        self.collection.commit(self.rt, change);
    }

    /// POST: creates an object in `namespace` (ignored for cluster-scoped
    /// kinds); the writer's manager owns every field it sets.
    pub(crate) fn create(&mut self, namespace: &str, body: Value) -> Result<Arc<Value>, ApiError> {
        let (key, mut body) = self.prepare_create(namespace, body)?;
        managed::track_update(self.rt, None, &mut body, self.by(None, Scope::Main));
        self.commit_new(key, body)
    }

    /// Validates a new object and fills what the server owns; the key it
    /// will be stored under.
    fn prepare_create(&self, namespace: &str, mut body: Value) -> Result<(Key, Value), ApiError> {
        let rt = self.rt;
        check_type(rt, &mut body)?;
        if rt.custom {
            body = without_nulls(body);
        }
        validate::defaults(rt, &mut body);
        if rt.namespaced {
            let body_ns = object::namespace(&body);
            if !body_ns.is_empty() && body_ns != namespace {
                return Err(ApiError::bad_request(
                    "the namespace of the provided object does not match the namespace sent on the request",
                ));
            }
            object::set_meta(&mut body, "namespace", Some(json!(namespace)));
        } else {
            object::set_meta(&mut body, "namespace", None);
        }
        let ns = if rt.namespaced { namespace } else { "" };
        let mut name = object::name(&body).to_string();
        if name.is_empty() {
            let prefix = object::meta(&body)
                .and_then(|m| m.get("generateName"))
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string();
            if prefix.is_empty() {
                return Err(ApiError::invalid(
                    rt,
                    "",
                    "metadata.name",
                    "Required value: name or generateName is required",
                ));
            }
            // Like the real server: a generated name that is taken is a
            // 409, with a retry or two first.
            name = format!("{prefix}{}", object::name_suffix());
            for _ in 0..3 {
                if !self.collection.contains(&(ns.to_string(), name.clone())) {
                    break;
                }
                name = format!("{prefix}{}", object::name_suffix());
            }
            object::set_meta(&mut body, "name", Some(json!(name)));
        }
        let dns_label = matches!(rt.plural.as_str(), "namespaces" | "services") && !rt.custom;
        object::check_name(&name, dns_label)
            .map_err(|why| ApiError::invalid(rt, &name, "metadata.name", &why))?;
        let key = (ns.to_string(), name);
        if self.collection.contains(&key) {
            return Err(ApiError::already_exists(rt, &key.1));
        }
        for owned in [
            "resourceVersion",
            "deletionTimestamp",
            "deletionGracePeriodSeconds",
            "selfLink",
            "managedFields",
        ] {
            object::set_meta(&mut body, owned, None);
        }
        object::set_meta(&mut body, "uid", Some(json!(object::new_uid())));
        object::set_meta(&mut body, "creationTimestamp", Some(object::now()));
        let generation = rt.has_generation().then(|| json!(1));
        object::set_meta(&mut body, "generation", generation);
        if rt.status {
            object::set_field(&mut body, "status", None);
        }
        if rt.plural == "namespaces" && !rt.custom {
            object::set_field(&mut body, "status", Some(json!({"phase": "Active"})));
            let mut labels = object::labels(&body).cloned().unwrap_or_default();
            labels.insert("kubernetes.io/metadata.name".into(), json!(key.1));
            object::set_meta(&mut body, "labels", Some(Value::Object(labels)));
        }
        validate::object(rt, &key.1, &body)?;
        Ok((key, body))
    }

    /// Stores a prepared new object.
    fn commit_new(&mut self, key: Key, mut body: Value) -> Result<Arc<Value>, ApiError> {
        if self.dry_run {
            return Ok(Arc::new(body));
        }
        let rv = self.revision.next();
        object::set_meta(&mut body, "resourceVersion", Some(json!(rv.to_string())));
        let body = Arc::new(body);
        self.commit(Change {
            rv,
            key,
            kind: ChangeKind::Added,
            prev: None,
            object: Arc::clone(&body),
        });
        Ok(body)
    }

    /// PUT of the main resource.
    pub(crate) fn update(
        &mut self,
        key: &Key,
        body: Value,
        precondition: Precondition,
    ) -> Result<Arc<Value>, ApiError> {
        self.update_from(key, body, precondition, None)
    }

    /// An update of the main resource, made through `subresource` (`scale`)
    /// or directly.
    fn update_from(
        &mut self,
        key: &Key,
        body: Value,
        precondition: Precondition,
        subresource: Option<&str>,
    ) -> Result<Arc<Value>, ApiError> {
        let current = self.current(key)?;
        let mut new = self.prepare_update(key, &current, body, precondition)?;
        managed::track_update(
            self.rt,
            Some(current.as_ref()),
            &mut new,
            self.by(subresource, Scope::Main),
        );
        self.finish(key, current, new)
    }

    /// Checks an update of the main resource and makes the object it
    /// stores: server-owned metadata and `.status` (for kinds with a
    /// status subresource) kept, generation bumped on a spec change.
    fn prepare_update(
        &self,
        key: &Key,
        current: &Value,
        mut body: Value,
        precondition: Precondition,
    ) -> Result<Value, ApiError> {
        let rt = self.rt;
        check_type(rt, &mut body)?;
        check_identity(rt, key, &mut body)?;
        check_preconditions(rt, key, current, &body, precondition)?;
        let mut new = body;
        validate::defaults(rt, &mut new);
        for owned in [
            "uid",
            "creationTimestamp",
            "deletionTimestamp",
            "deletionGracePeriodSeconds",
            "generation",
            "selfLink",
        ] {
            object::keep_meta(&mut new, current, owned);
        }
        // A client may replace managedFields (`[{}]` clears them); absent
        // or empty, the stored ones are kept, as the real server does.
        let sends_managed = object::meta(&new)
            .and_then(|m| m.get("managedFields"))
            .and_then(Value::as_array)
            .is_some_and(|entries| !entries.is_empty());
        if !sends_managed {
            object::keep_meta(&mut new, current, "managedFields");
        }
        if rt.status {
            object::set_field(&mut new, "status", current.get("status").cloned());
        }
        check_finalizers(rt, key, current, &new)?;
        validate::update(rt, &key.1, current, &new)?;
        if rt.has_generation() && object::spec_changed(current, &new, rt.status) {
            let generation = object::generation(current) + 1;
            object::set_meta(&mut new, "generation", Some(json!(generation)));
        }
        Ok(new)
    }

    /// PUT of `/status`: only `.status` is taken from the body.
    pub(crate) fn update_status(
        &mut self,
        key: &Key,
        body: Value,
        precondition: Precondition,
    ) -> Result<Arc<Value>, ApiError> {
        let current = self.current(key)?;
        let mut new = self.prepare_status(key, &current, body, precondition)?;
        managed::track_update(
            self.rt,
            Some(current.as_ref()),
            &mut new,
            self.by(Some("status"), Scope::Status),
        );
        self.finish(key, current, new)
    }

    /// Checks a status write and makes the object it stores: the current
    /// one with the body's `.status`.
    fn prepare_status(
        &self,
        key: &Key,
        current: &Value,
        mut body: Value,
        precondition: Precondition,
    ) -> Result<Value, ApiError> {
        let rt = self.rt;
        check_type(rt, &mut body)?;
        check_identity(rt, key, &mut body)?;
        check_preconditions(rt, key, current, &body, precondition)?;
        let mut new = current.clone();
        object::set_field(&mut new, "status", body.get("status").cloned());
        Ok(new)
    }

    /// GET of `/scale`.
    pub(crate) fn scale(&self, key: &Key) -> Result<Value, ApiError> {
        scale::scale_of(self.rt, self.current(key)?.as_ref())
    }

    /// PUT of `/scale`: sets the replicas (a spec change) and answers the
    /// new `Scale`.
    pub(crate) fn update_scale(&mut self, key: &Key, scale_body: Value) -> Result<Value, ApiError> {
        let rt = self.rt;
        let current = self.current(key)?;
        check_preconditions(rt, key, &current, &scale_body, Precondition::IfPresent)?;
        let mut new = (*current).clone();
        scale::set_replicas(rt, &key.1, &mut new, &scale_body)?;
        let updated = self.update_from(key, new, Precondition::IfPresent, Some("scale"))?;
        scale::scale_of(rt, &updated)
    }

    /// PATCH of the main resource or `/status` (see `patch_scale`).
    pub(crate) fn patch(
        &mut self,
        key: &Key,
        kind: PatchKind,
        patch: &Value,
        subresource: Option<Subresource>,
    ) -> Result<Arc<Value>, ApiError> {
        if kind == PatchKind::Apply {
            return self.apply(key, patch, subresource);
        }
        let current = self.current(key)?;
        let mut patched = (*current).clone();
        kind.apply(self.rt, &mut patched, patch)?;
        match subresource {
            Some(Subresource::Status) => self.update_status(key, patched, Precondition::IfPresent),
            _ => self.update(key, patched, Precondition::IfPresent),
        }
    }

    /// Server-side apply of the main resource (creating a missing object)
    /// or of `/status`, with the writer's manager (see `managed`).
    fn apply(
        &mut self,
        key: &Key,
        config: &Value,
        subresource: Option<Subresource>,
    ) -> Result<Arc<Value>, ApiError> {
        let rt = self.rt;
        check_applied(rt, key, config)?;
        let (scope, sub) = match subresource {
            Some(Subresource::Status) => (Scope::Status, Some("status")),
            _ => (Scope::Main, None),
        };
        let config = managed::applied_config(rt, config, scope);
        let Some(current) = self.collection.get(key).cloned() else {
            if subresource.is_some() {
                return Err(ApiError::not_found(rt, &key.1));
            }
            let (key, mut prepared) = self.prepare_create(&key.0, config.clone())?;
            let created = managed::apply(rt, &prepared, &config, self.by(None, scope), true)?;
            let managed_fields = object::meta(&created)
                .and_then(|m| m.get("managedFields"))
                .cloned();
            object::set_meta(&mut prepared, "managedFields", managed_fields);
            return self.commit_new(key, prepared);
        };
        let merged = managed::apply(rt, &current, &config, self.by(sub, scope), self.force)?;
        let managed_fields = object::meta(&merged)
            .and_then(|m| m.get("managedFields"))
            .cloned();
        let mut new = match scope {
            Scope::Status => self.prepare_status(key, &current, merged, Precondition::IfPresent)?,
            Scope::Main => self.prepare_update(key, &current, merged, Precondition::IfPresent)?,
        };
        object::set_meta(&mut new, "managedFields", managed_fields);
        self.finish(key, current, new)
    }

    /// PATCH of `/scale`: the patch applies to the `Scale` view.
    pub(crate) fn patch_scale(
        &mut self,
        key: &Key,
        kind: PatchKind,
        patch: &Value,
    ) -> Result<Value, ApiError> {
        let mut scale = self.scale(key)?;
        kind.apply(self.rt, &mut scale, patch)?;
        self.update_scale(key, scale)
    }

    /// DELETE of one object.
    pub(crate) fn delete(
        &mut self,
        key: &Key,
        pre: &DeletePreconditions,
    ) -> Result<Arc<Value>, ApiError> {
        let rt = self.rt;
        let current = self.current(key)?;
        if let Some(uid) = &pre.uid
            && uid != object::uid(&current)
        {
            return Err(ApiError::conflict(
                rt,
                &key.1,
                &format!(
                    "Precondition failed: UID in precondition: {uid}, UID in object meta: {}",
                    object::uid(&current)
                ),
            ));
        }
        if let Some(rv) = &pre.resource_version
            && rv != object::resource_version(&current)
        {
            return Err(ApiError::conflict(
                rt,
                &key.1,
                &format!(
                    "Precondition failed: ResourceVersion in precondition: {rv}, ResourceVersion in object meta: {}",
                    object::resource_version(&current)
                ),
            ));
        }
        if !object::finalizers(&current).is_empty() {
            if object::is_deleting(&current) {
                return Ok(current);
            }
            let mut new = (*current).clone();
            object::set_meta(&mut new, "deletionTimestamp", Some(object::now()));
            object::set_meta(&mut new, "deletionGracePeriodSeconds", Some(json!(0)));
            // As the real server: a generation, where the kind has one,
            // goes up when deletion starts.
            let generation = object::generation(&current);
            if generation > 0 {
                object::set_meta(&mut new, "generation", Some(json!(generation + 1)));
            }
            return self.finish(key, current, new);
        }
        if self.dry_run {
            return Ok(current);
        }
        let rv = self.revision.next();
        let mut last = (*current).clone();
        object::set_meta(&mut last, "resourceVersion", Some(json!(rv.to_string())));
        let last = Arc::new(last);
        self.commit(Change {
            rv,
            key: key.clone(),
            kind: ChangeKind::Deleted,
            prev: Some(current),
            object: Arc::clone(&last),
        });
        Ok(last)
    }

    /// Stores `new` in place of `current` unless nothing changed; deletes
    /// the object when it is being deleted and has no finalizers left.
    fn finish(
        &mut self,
        key: &Key,
        current: Arc<Value>,
        mut new: Value,
    ) -> Result<Arc<Value>, ApiError> {
        if self.rt.custom {
            new = without_nulls(new);
        }
        object::keep_meta(&mut new, &current, "resourceVersion");
        if new == *current {
            return Ok(current);
        }
        if self.dry_run {
            return Ok(Arc::new(new));
        }
        let rv = self.revision.next();
        object::set_meta(&mut new, "resourceVersion", Some(json!(rv.to_string())));
        let kind = if object::is_deleting(&new) && object::finalizers(&new).is_empty() {
            ChangeKind::Deleted
        } else {
            ChangeKind::Modified
        };
        let new = Arc::new(new);
        self.commit(Change {
            rv,
            key: key.clone(),
            kind,
            prev: Some(current),
            object: Arc::clone(&new),
        });
        Ok(new)
    }
}

/// The body is an object of this kind: `apiVersion` and `kind`, when
/// present, must match; they are filled in when absent.
fn check_type(rt: &ResourceType, body: &mut Value) -> Result<(), ApiError> {
    let Some(map) = body.as_object_mut() else {
        return Err(ApiError::bad_request(format!(
            "the object provided is unrecognized (must be of type {}): not a JSON object",
            rt.kind
        )));
    };
    let api_version = rt.api_version();
    if let Some(given) = map.get("apiVersion").and_then(Value::as_str)
        && !given.is_empty()
        && given != api_version
    {
        return Err(ApiError::bad_request(format!(
            "the API version in the data ({given}) does not match the expected API version ({api_version})"
        )));
    }
    if let Some(given) = map.get("kind").and_then(Value::as_str)
        && !given.is_empty()
        && given != rt.kind
    {
        return Err(ApiError::bad_request(format!(
            "the kind in the data ({given}) does not match the expected kind ({})",
            rt.kind
        )));
    }
    map.insert("apiVersion".into(), Value::String(api_version));
    map.insert("kind".into(), Value::String(rt.kind.clone()));
    Ok(())
}

/// An update names the object of its URL (filled in when absent).
fn check_identity(rt: &ResourceType, key: &Key, body: &mut Value) -> Result<(), ApiError> {
    let name = object::name(body);
    if name.is_empty() {
        object::set_meta(body, "name", Some(json!(key.1)));
    } else if name != key.1 {
        return Err(ApiError::bad_request(format!(
            "the name of the object ({name}) does not match the name on the URL ({})",
            key.1
        )));
    }
    if rt.namespaced {
        let ns = object::namespace(body);
        if ns.is_empty() {
            object::set_meta(body, "namespace", Some(json!(key.0)));
        } else if ns != key.0 {
            return Err(ApiError::bad_request(
                "the namespace of the provided object does not match the namespace sent on the request",
            ));
        }
    } else {
        object::set_meta(body, "namespace", None);
    }
    Ok(())
}

/// resourceVersion and uid preconditions of an update.
fn check_preconditions(
    rt: &ResourceType,
    key: &Key,
    current: &Value,
    body: &Value,
    precondition: Precondition,
) -> Result<(), ApiError> {
    let uid = object::uid(body);
    if !uid.is_empty() && uid != object::uid(current) {
        return Err(ApiError::conflict(
            rt,
            &key.1,
            &format!(
                "Precondition failed: UID in precondition: {uid}, UID in object meta: {}",
                object::uid(current)
            ),
        ));
    }
    let rv = object::resource_version(body);
    if rv.is_empty() {
        if precondition == Precondition::Required {
            return Err(ApiError::invalid(
                rt,
                &key.1,
                "metadata.resourceVersion",
                "Invalid value: 0x0: must be specified for an update",
            ));
        }
        return Ok(());
    }
    if rv != object::resource_version(current) {
        return Err(ApiError::stale(rt, &key.1));
    }
    Ok(())
}

/// While an object is being deleted, finalizers may only be removed.
fn check_finalizers(
    rt: &ResourceType,
    key: &Key,
    current: &Value,
    new: &Value,
) -> Result<(), ApiError> {
    if !object::is_deleting(current) {
        return Ok(());
    }
    let old = object::finalizers(current);
    let added: Vec<&str> = object::finalizers(new)
        .into_iter()
        .filter(|f| !old.contains(f))
        .collect();
    if added.is_empty() {
        Ok(())
    } else {
        Err(ApiError::invalid(
            rt,
            &key.1,
            "metadata.finalizers",
            &format!(
                "Forbidden: no new finalizers can be added if the object is being deleted, found new finalizers {added:?}"
            ),
        ))
    }
}

/// A server-side apply body names its type and object.
fn check_applied(rt: &ResourceType, key: &Key, applied: &Value) -> Result<(), ApiError> {
    let field = |name: &str| applied.get(name).and_then(Value::as_str).unwrap_or("");
    if field("apiVersion").is_empty() || field("kind").is_empty() {
        return Err(ApiError::bad_request(
            "apiVersion and kind must be set in a server-side apply request",
        ));
    }
    let name = object::name(applied);
    if name != key.1 {
        return Err(ApiError::bad_request(format!(
            "the name of the object ({name}) does not match the name on the URL ({})",
            key.1
        )));
    }
    if object::meta(applied).is_some_and(|m| m.get("managedFields").is_some_and(|f| !f.is_null())) {
        return Err(ApiError::bad_request(
            "metadata.managedFields must be nil in a server-side apply request",
        ));
    }
    let mut probe = json!({"apiVersion": field("apiVersion"), "kind": field("kind")});
    check_type(rt, &mut probe)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::Catalog;
    use crate::watch::WatcherSet;

    struct Fixture {
        catalog: Catalog,
        revision: Revision,
        collection: Collection,
        id: usize,
    }

    impl Fixture {
        fn new(plural: &str) -> Self {
            let catalog = Catalog::new(&crate::config::seldon_crds());
            let id = catalog
                .iter()
                .find(|(_, t)| t.plural == plural)
                .map(|(id, _)| id)
                .expect("served");
            Self {
                catalog,
                revision: Revision::default(),
                collection: Collection::new(100, WatcherSet::new(8)),
                id,
            }
        }

        fn writer(&mut self) -> Writer<'_> {
            Writer {
                rt: self.catalog.get(self.id),
                revision: &self.revision,
                collection: &mut self.collection,
                dry_run: false,
                manager: Some("test"),
                force: false,
                report: WriteReport::default(),
            }
        }
    }

    fn key(name: &str) -> Key {
        ("ns".into(), name.into())
    }

    #[test]
    fn generation_and_no_op_updates() {
        let mut f = Fixture::new("models");
        let created = f
            .writer()
            .create(
                "ns",
                json!({"metadata": {"name": "m"}, "spec": {"storageUri": "a"}, "status": {"x": 1}}),
            )
            .expect("creates");
        assert_eq!(object::generation(&created), 1);
        assert!(created.get("status").is_none(), "status dropped on create");
        let rv1 = object::resource_version(&created).to_string();

        let same = (*created).clone();
        let unchanged = f
            .writer()
            .update(&key("m"), same, Precondition::Required)
            .expect("no-op");
        assert_eq!(object::resource_version(&unchanged), rv1);

        let mut relabelled = (*created).clone();
        relabelled["metadata"]["labels"] = json!({"a": "b"});
        let relabelled = f
            .writer()
            .update(&key("m"), relabelled, Precondition::Required)
            .expect("updates");
        assert_eq!(object::generation(&relabelled), 1);
        assert_ne!(object::resource_version(&relabelled), rv1);

        let mut respecced = (*relabelled).clone();
        respecced["spec"]["storageUri"] = json!("b");
        respecced["status"] = json!({"ignored": true});
        let respecced = f
            .writer()
            .update(&key("m"), respecced, Precondition::Required)
            .expect("updates");
        assert_eq!(object::generation(&respecced), 2);
        assert!(respecced.get("status").is_none());

        let stale = f
            .writer()
            .update(&key("m"), (*created).clone(), Precondition::Required);
        assert_eq!(stale.map_err(|e| e.reason), Err("Conflict"));
        let mut unversioned = (*respecced).clone();
        object::set_meta(&mut unversioned, "resourceVersion", None);
        let refused = f
            .writer()
            .update(&key("m"), unversioned, Precondition::Required);
        assert_eq!(refused.map_err(|e| e.code), Err(422));
    }

    #[test]
    fn status_writes_touch_only_status() {
        let mut f = Fixture::new("models");
        f.writer()
            .create(
                "ns",
                json!({"metadata": {"name": "m"}, "spec": {"storageUri": "a"}}),
            )
            .expect("creates");
        let patch = json!({"metadata": {"labels": {"x": "y"}}, "spec": {"storageUri": "z"}, "status": {"ready": true}});
        let patched = f
            .writer()
            .patch(
                &key("m"),
                PatchKind::Merge,
                &patch,
                Some(Subresource::Status),
            )
            .expect("patches");
        assert_eq!(patched["status"]["ready"], true);
        assert_eq!(patched["spec"]["storageUri"], "a");
        assert!(object::labels(&patched).is_none());
        assert_eq!(object::generation(&patched), 1);
    }

    #[test]
    fn finalizers_hold_deletion() {
        let mut f = Fixture::new("models");
        f.writer()
            .create("ns", json!({"metadata": {"name": "m", "finalizers": ["a"]}, "spec": {"storageUri": "a"}}))
            .expect("creates");
        let deleting = f
            .writer()
            .delete(&key("m"), &DeletePreconditions::default())
            .expect("deletes");
        assert!(object::is_deleting(&deleting));
        assert_eq!(object::generation(&deleting), 2);
        assert!(f.collection.contains(&key("m")));

        let add = json!({"metadata": {"finalizers": ["a", "b"]}});
        let refused = f.writer().patch(&key("m"), PatchKind::Merge, &add, None);
        assert_eq!(refused.map_err(|e| e.code), Err(422));

        let clear = json!({"metadata": {"finalizers": null}});
        let gone = f
            .writer()
            .patch(&key("m"), PatchKind::Merge, &clear, None)
            .expect("patches");
        assert!(object::finalizers(&gone).is_empty());
        assert!(!f.collection.contains(&key("m")));
    }

    #[test]
    fn apply_creates_then_merges() {
        let mut f = Fixture::new("configmaps");
        let applied = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "data": {"a": "1"}});
        f.writer()
            .patch(&key("c"), PatchKind::Apply, &applied, None)
            .expect("creates");
        // Another manager's field stays; the applier's dropped field goes.
        let other = json!({"data": {"o": "x"}});
        let mut writer = f.writer();
        writer.manager = Some("other");
        writer
            .patch(&key("c"), PatchKind::Merge, &other, None)
            .expect("patches");
        let more = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "data": {"b": "2"}});
        let merged = f
            .writer()
            .patch(&key("c"), PatchKind::Apply, &more, None)
            .expect("merges");
        assert_eq!(merged["data"], json!({"o": "x", "b": "2"}));
        let nameless = json!({"apiVersion": "v1", "kind": "ConfigMap", "data": {}});
        assert_eq!(
            f.writer()
                .patch(&key("c"), PatchKind::Apply, &nameless, None)
                .map_err(|e| e.code),
            Err(400)
        );
    }

    #[test]
    fn managed_fields_are_tracked_and_can_be_cleared() {
        let mut f = Fixture::new("configmaps");
        let created = f
            .writer()
            .create("ns", json!({"metadata": {"name": "c"}, "data": {"a": "1"}}))
            .expect("creates");
        let entries = created["metadata"]["managedFields"].clone();
        assert_eq!(entries[0]["manager"], "test");
        assert_eq!(entries[0]["operation"], "Update");
        assert_eq!(entries[0]["fieldsV1"], json!({"f:data": {"f:a": {}}}));
        // Sent back as read, they stay; `[{}]` clears them.
        let mut cleared = (*created).clone();
        cleared["metadata"]["managedFields"] = json!([{}]);
        let mut writer = f.writer();
        writer.manager = None;
        let cleared = writer
            .update(&key("c"), cleared, Precondition::IfPresent)
            .expect("updates");
        assert!(
            object::meta(&cleared)
                .expect("meta")
                .get("managedFields")
                .is_none()
        );
        assert_ne!(
            object::resource_version(&cleared),
            object::resource_version(&created)
        );
    }

    #[test]
    fn create_validates() {
        let mut f = Fixture::new("configmaps");
        let bad = f
            .writer()
            .create("ns", json!({"metadata": {"name": "Bad_Name"}}));
        assert_eq!(bad.map_err(|e| e.code), Err(422));
        let generated = f
            .writer()
            .create("ns", json!({"metadata": {"generateName": "cm-"}}))
            .expect("creates");
        assert!(object::name(&generated).starts_with("cm-"));
        let wrong_kind = f
            .writer()
            .create("ns", json!({"kind": "Secret", "metadata": {"name": "x"}}));
        assert_eq!(wrong_kind.map_err(|e| e.code), Err(400));
        let again = f.writer().create("ns", (*generated).clone());
        assert_eq!(again.map_err(|e| e.reason), Err("AlreadyExists"));
    }

    #[test]
    fn custom_resources_are_stored_without_nulls() {
        let mut f = Fixture::new("models");
        let stored = f
            .writer()
            .create(
                "ns",
                json!({
                    "apiVersion": "mlops.seldon.io/v1alpha1",
                    "kind": "Model",
                    "metadata": {"name": "iris", "labels": null},
                    "spec": {"storageUri": "gs://m", "requirements": null},
                }),
            )
            .expect("creates");
        assert_eq!(stored["spec"], json!({"storageUri": "gs://m"}));
        assert!(object::meta(&stored).unwrap().get("labels").is_none());
    }
}
