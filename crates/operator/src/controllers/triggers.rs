//! What the controllers watch besides their own kind, kept small: only the
//! workloads switchyard builds (a label selector, so the cluster's other
//! Deployments and StatefulSets are neither listed nor watched) and only
//! their metadata (every mapping from a watched object to the object to
//! reconcile needs no more than names, namespaces and owner references:
//! an `Api<PartialObjectMeta<K>>` asks for metadata only).

use std::collections::HashSet;

use futures_util::{Stream, StreamExt};
use kube::core::PartialObjectMeta;
use kube::runtime::watcher;
use kube::{Api, Resource};
use switchyard_workloads::NAME_LABEL;
use switchyard_workloads::server::SERVER_LABEL_VALUE;

/// The workloads of Servers, as switchyard and Seldon's operator label
/// them (`app.kubernetes.io/name=seldon-server`).
pub(crate) fn server_workloads() -> watcher::Config {
    watcher::Config::default().labels(&format!("{NAME_LABEL}={SERVER_LABEL_VALUE}"))
}

/// The workloads and Services of runtime components: every one carries
/// `app.kubernetes.io/name=<component>` (switchyard's and Seldon's
/// builders both set it); Servers' workloads are left to their controller.
pub(crate) fn runtime_components() -> watcher::Config {
    watcher::Config::default().labels(&format!("{NAME_LABEL},{NAME_LABEL}!={SERVER_LABEL_VALUE}"))
}

/// Objects of `api` appearing (first seen, by uid) and going (deleted),
/// metadata only: what changes a count. Their status and spec updates,
/// which do not, are left out. (Objects deleted while the watch is down
/// are not reported; the next appearance or deletion in their namespace
/// counts again.)
pub(crate) fn arrivals_and_departures<K>(
    api: Api<PartialObjectMeta<K>>,
) -> impl Stream<Item = Result<PartialObjectMeta<K>, watcher::Error>> + Send + 'static
where
    K: Resource<DynamicType = ()>
        + Clone
        + std::fmt::Debug
        + serde::de::DeserializeOwned
        + Send
        + Sync
        + 'static,
{
    let mut seen: HashSet<String> = HashSet::new();
    watcher(api, watcher::Config::default()).filter_map(move |event| {
        let item = match event {
            Ok(watcher::Event::Apply(obj) | watcher::Event::InitApply(obj)) => {
                let uid = obj.meta().uid.clone().unwrap_or_default();
                seen.insert(uid).then_some(Ok(obj))
            }
            Ok(watcher::Event::Delete(obj)) => {
                seen.remove(obj.meta().uid.as_deref().unwrap_or_default());
                Some(Ok(obj))
            }
            Ok(watcher::Event::Init | watcher::Event::InitDone) => None,
            Err(error) => Some(Err(error)),
        };
        std::future::ready(item)
    })
}
