//! The finite status RPCs (ModelStatus, PipelineStatus, ExperimentStatus,
//! ServerStatus): a listing that ends.
//!
//! With `seldon-namespace` metadata the call goes to that namespace's
//! scheduler and its stream is relayed. Without, it is sent to every
//! namespace at once and the answers are merged as they come, so one slow
//! scheduler delays only its own part. Every message is tagged with its
//! namespace (`tagging`). A namespace that fails does not cut the others
//! short. Partial failure is partial: namespaces whose scheduler cannot be
//! reached (UNAVAILABLE, DEADLINE_EXCEEDED) are left out and named in the
//! trailing metadata [`UNREACHABLE_METADATA`] of an OK end (and in a log
//! line); only when no namespace could be reached does the listing fail.
//! Any other error is reported, labelled with its namespace, after every
//! other namespace has finished. A listing by name that some namespaces do
//! not know (FAILED_PRECONDITION, the scheduler's "not found") succeeds if
//! any namespace knew it.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use futures_util::stream::SelectAll;
use futures_util::{Stream, StreamExt};
use switchyard_scheduler::UpstreamChannel as Channel;
use tonic::metadata::MetadataValue;
use tonic::{Code, Request, Response, Status, Streaming};

use super::guard::{hold, permitted};
use super::locate::{ambiguous, authority_namespace, holders};
use super::route::Target;
use super::scheduler::Shared;
use super::streams::{ResponseStream, until_shutdown};
use super::tagging::TagNamespace;
use super::validate::Validate;
use super::{forward, namespace, status};
use switchyard_core::access::Rpc;
use switchyard_core::bus::StatusKind;
use switchyard_core::metrics as m;
use switchyard_proto::scheduler::scheduler_client::SchedulerClient;

/// An error of one namespace's part of a listing.
type Failure = (Arc<str>, Status);

/// Trailing metadata of a cross-namespace listing that left namespaces
/// out: their names, comma-separated.
pub const UNREACHABLE_METADATA: &str = "switchyard-unreachable-namespaces";

impl Shared {
    /// Serves a finite status RPC: `open` starts the listing on one
    /// scheduler; `asked` is the kind of object listed and the name the
    /// request asks for, if any. A request naming no namespace (metadata,
    /// authority) but a name held in one namespace goes there; held in
    /// several, it is INVALID_ARGUMENT naming them.
    pub(super) async fn finite<Req, Resp, F, Fut>(
        &self,
        rpc: Rpc,
        request: Request<Req>,
        asked: (StatusKind, Option<String>),
        open: F,
    ) -> Result<Response<ResponseStream<Resp>>, Status>
    where
        Req: Validate + Clone + Send + 'static,
        Resp: TagNamespace + Send + 'static,
        F: Fn(SchedulerClient<Channel>, Request<Req>) -> Fut,
        Fut: Future<Output = Result<Response<Streaming<Resp>>, Status>> + Send + 'static,
    {
        request.get_ref().validate()?;
        let (kind, name) = asked;
        let named = name.is_some();
        let authority = authority_namespace(request.extensions(), self.authority_suffix.as_deref());
        let mut one = namespace::from_metadata(request.metadata())?.or(authority);
        if let (None, Some(name)) = (&one, &name) {
            let found = holders(&self.bus, kind, name);
            let mut found = self.visible(rpc, &request, found).await?;
            match found.len() {
                0 => {}
                1 => one = Some(found.remove(0)),
                _ => return Err(ambiguous(kind, name, &found)),
            }
        }
        let pass = self
            .admit(rpc, &request, one.as_deref(), None, true)
            .await?;
        let idle = self.options.call_timeout;
        let deadline = forward::client_timeout(request.metadata());
        let (metadata, _, message) = request.into_parts();
        let start = |target: Target| {
            let upstream = forward::upstream_request(&metadata, message.clone(), deadline);
            let opening = open(target.client.clone(), upstream);
            Box::pin(namespace_listing(target, opening, idle, rpc.method()))
        };
        if let Some(namespace) = one {
            let one = start(self.target(&namespace)?).map(|item| item.map_err(|(_, s)| s));
            return Ok(Response::new(until_shutdown(
                hold(one, pass),
                self.shutdown.clone(),
            )));
        }
        // Only the namespaces the caller may list. A namespace removed
        // between listing and lookup is simply not part of the answer any
        // more.
        let namespaces = self.pool.namespaces();
        let permitted = permitted(&self.access.keeper, &pass, namespaces).await;
        let parts = permitted
            .iter()
            .filter_map(|ns| self.target(ns).ok())
            .map(start);
        let parts: Vec<_> = parts.collect();
        let merged = FanIn {
            asked: parts.len(),
            parts: futures_util::stream::select_all(parts),
            failures: Vec::new(),
            sent: false,
            named,
            finished: false,
            rpc: rpc.method(),
        };
        Ok(Response::new(until_shutdown(
            hold(merged, pass),
            self.shutdown.clone(),
        )))
    }
}

enum Phase<Fut, Resp> {
    Opening(Pin<Box<Fut>>),
    Reading(Box<Streaming<Resp>>),
    Done,
}

/// One namespace's listing: opens it, then reads it to the end, tagging
/// each message. Each step must make progress within `idle`.
fn namespace_listing<Resp, Fut>(
    target: Target,
    opening: Fut,
    idle: Duration,
    rpc: &'static str,
) -> impl Stream<Item = Result<Resp, Failure>> + Send + 'static
where
    Resp: TagNamespace + Send + 'static,
    Fut: Future<Output = Result<Response<Streaming<Resp>>, Status>> + Send + 'static,
{
    let target = Arc::new(target);
    futures_util::stream::unfold(Phase::Opening(Box::pin(opening)), move |phase| {
        let target = target.clone();
        async move {
            let fail = |s: Status| Some((Err((target.namespace.clone(), s)), Phase::Done));
            let mut stream = match phase {
                Phase::Done => return None,
                Phase::Reading(stream) => stream,
                Phase::Opening(opening) => match tokio::time::timeout(idle, opening).await {
                    Ok(Ok(response)) => Box::new(response.into_inner()),
                    Ok(Err(s)) => return fail(target.upstream_error(s)),
                    Err(_) => return fail(status::deadline_exceeded(&target.namespace, rpc, idle)),
                },
            };
            match tokio::time::timeout(idle, stream.message()).await {
                Ok(Ok(Some(mut message))) => {
                    message.tag_namespace(&target.namespace);
                    Some((Ok(message), Phase::Reading(stream)))
                }
                Ok(Ok(None)) => None,
                Ok(Err(s)) => fail(target.upstream_error(s)),
                Err(_) => fail(status::deadline_exceeded(&target.namespace, rpc, idle)),
            }
        }
    })
}

/// Every namespace's listing, merged; failures reported at the end.
struct FanIn<S> {
    parts: SelectAll<S>,
    asked: usize,
    failures: Vec<Failure>,
    sent: bool,
    named: bool,
    finished: bool,
    rpc: &'static str,
}

impl<Resp, S> Stream for FanIn<S>
where
    S: Stream<Item = Result<Resp, Failure>> + Unpin,
{
    type Item = Result<Resp, Status>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        if this.finished {
            return Poll::Ready(None);
        }
        loop {
            match this.parts.poll_next_unpin(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(Some(Ok(message))) => {
                    this.sent = true;
                    return Poll::Ready(Some(Ok(message)));
                }
                Poll::Ready(Some(Err(failure))) => this.failures.push(failure),
                Poll::Ready(None) => {
                    this.finished = true;
                    let (unreachable, failures): (Vec<Failure>, Vec<Failure>) =
                        std::mem::take(&mut this.failures)
                            .into_iter()
                            .partition(|(_, s)| is_unreachable(s));
                    if !unreachable.is_empty() && unreachable.len() == this.asked {
                        return Poll::Ready(verdict(&unreachable, this.named, false).map(Err));
                    }
                    let end = verdict(&failures, this.named, this.sent);
                    if unreachable.is_empty() {
                        return Poll::Ready(end.map(Err));
                    }
                    return Poll::Ready(Some(Err(partial(this.rpc, end, &unreachable))));
                }
            }
        }
    }
}

/// A scheduler that could not answer (down, or too slow), as opposed to
/// one that answered with an error.
fn is_unreachable(status: &Status) -> bool {
    matches!(status.code(), Code::Unavailable | Code::DeadlineExceeded)
}

/// The end of a listing that left `unreachable` out: `end` (OK when
/// `None`) with their names in the trailing metadata.
fn partial(rpc: &'static str, end: Option<Status>, unreachable: &[Failure]) -> Status {
    let names: Vec<&str> = unreachable.iter().map(|(ns, _)| &**ns).collect();
    let list = names.join(",");
    metrics::counter!(m::GATEWAY_PARTIAL_LISTINGS_TOTAL, "grpc_method" => rpc).increment(1);
    tracing::warn!(rpc, unreachable = %list, first_error = unreachable[0].1.message(), "listing answered without unreachable namespaces");
    let mut status = end.unwrap_or_else(|| Status::ok(""));
    match MetadataValue::try_from(list.as_str()) {
        Ok(value) => {
            status.metadata_mut().insert(UNREACHABLE_METADATA, value);
        }
        Err(error) => tracing::warn!(%error, "namespace names do not fit in metadata"),
    }
    status
}

/// The status that ends a fanned-out listing, if it does not end OK.
fn verdict(failures: &[Failure], named: bool, sent: bool) -> Option<Status> {
    let not_found = |(_, s): &Failure| s.code() == Code::FailedPrecondition;
    if failures.is_empty() || (named && sent && failures.iter().all(not_found)) {
        return None;
    }
    if named && failures.iter().all(not_found) {
        let (namespace, first) = &failures[0];
        return Some(Status::failed_precondition(format!(
            "not found in any of the {} namespaces asked (namespace {namespace:?}: {})",
            failures.len(),
            first.message()
        )));
    }
    let (namespace, first) = failures
        .iter()
        .find(|f| !not_found(f))
        .unwrap_or(&failures[0]);
    let mut out = status::in_namespace(namespace, first);
    if failures.len() > 1 {
        out = Status::new(
            out.code(),
            format!(
                "{} (and {} more namespaces failed)",
                out.message(),
                failures.len() - 1
            ),
        );
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fail(ns: &str, status: Status) -> Failure {
        (Arc::from(ns), status)
    }

    #[test]
    fn no_failures_is_ok() {
        assert!(verdict(&[], false, false).is_none());
    }

    #[test]
    fn a_name_found_somewhere_is_ok() {
        let failures = [fail("b", Status::failed_precondition("no model m"))];
        assert!(verdict(&failures, true, true).is_none());
        let none = verdict(&failures, true, false).unwrap();
        assert_eq!(none.code(), Code::FailedPrecondition);
        assert!(none.message().contains("no model m"), "{}", none.message());
    }

    #[test]
    fn unreachable_namespaces_are_named_in_trailing_metadata() {
        let unreachable = [
            fail("b", Status::unavailable("connection refused")),
            fail("c", Status::deadline_exceeded("slow")),
        ];
        let end = partial("ModelStatus", None, &unreachable);
        assert_eq!(end.code(), Code::Ok);
        assert_eq!(end.metadata().get(UNREACHABLE_METADATA).unwrap(), "b,c");
        assert!(is_unreachable(&unreachable[1].1));
        assert!(!is_unreachable(&Status::failed_precondition("no model")));
    }

    #[test]
    fn other_failures_are_reported_with_their_namespace() {
        let failures = [
            fail("a", Status::failed_precondition("no model m")),
            fail("b", Status::unavailable("connection refused")),
        ];
        let out = verdict(&failures, true, true).unwrap();
        assert_eq!(out.code(), Code::Unavailable);
        assert!(
            out.message()
                .starts_with("namespace \"b\": connection refused")
                && out.message().contains("1 more"),
            "{}",
            out.message()
        );
    }
}
