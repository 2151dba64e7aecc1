//! Routing one call to one namespace's scheduler: unary calls, and the
//! control-plane stream, which is passed through as it is.
//!
//! In: a client request. It is validated, its namespace resolved
//! (metadata, message, default), the namespace looked up in the pool
//! (lock-free), and the message forwarded on that namespace's shared
//! channel with the client's custom metadata and a deadline. Out: the
//! scheduler's response, or its status unchanged, or a status from
//! [`status`] for what went wrong on our side. Nothing here holds a lock
//! or waits on any other namespace.

use std::future::Future;
use std::sync::Arc;

use bytes::Bytes;
use futures_util::StreamExt;
use http::uri::PathAndQuery;
use switchyard_scheduler::UpstreamChannel as Channel;
use tonic::client::Grpc;
use tonic::metadata::MetadataMap;
use tonic::{Request, Response, Status, Streaming};
use tracing::Instrument;

use super::guard::hold;
use super::locate::{ambiguous, authority_namespace, holders};
use super::namespace::{NamespaceError, NamespacedMessage};
use super::raw_codec::RawCodec;
use super::scheduler::Shared;
use super::sparse::Sparse;
use super::status::unknown_namespace;
use super::streams::{ResponseStream, until_shutdown};
use super::unary::{Method, checked};
use super::validate::Validate;
use super::{forward, status};
use switchyard_core::access::Rpc;
use switchyard_core::bus::StatusKind;
use switchyard_proto::scheduler::scheduler_client::SchedulerClient;
use switchyard_scheduler::MAX_MESSAGE_BYTES;

/// One namespace's scheduler, ready to call.
pub(super) struct Target {
    pub namespace: Arc<str>,
    pub address: Arc<str>,
    pub client: SchedulerClient<Channel>,
}

impl Target {
    /// Maps a failed call's status (see [`status::from_upstream`]).
    pub(crate) fn upstream_error(&self, status: Status) -> Status {
        status::from_upstream(&self.namespace, &self.address, status)
    }
}

impl Shared {
    /// The scheduler of `namespace`, or NOT_FOUND.
    pub(super) fn target(&self, namespace: &str) -> Result<Target, Status> {
        let entry = self.pool.get(namespace).map_err(unknown_namespace)?;
        Ok(Target {
            namespace: Arc::from(namespace),
            address: Arc::from(entry.spec.address.as_str()),
            client: SchedulerClient::new(entry.channel.clone())
                .max_decoding_message_size(MAX_MESSAGE_BYTES)
                .max_encoding_message_size(self.options.max_request_bytes),
        })
    }

    /// The namespace of a routed call: the one the request names
    /// (metadata, authority, message), else, for a call naming only an
    /// object (UnloadModel, UnloadPipeline, StopExperiment), the one
    /// namespace holding an object of that name, else the default.
    async fn namespace<Req>(&self, rpc: Rpc, request: &Request<Req>) -> Result<String, Status>
    where
        Req: Validate + NamespacedMessage,
    {
        let authority = authority_namespace(request.extensions(), self.authority_suffix.as_deref());
        let message = request.get_ref();
        if let Some(namespace) = self
            .resolver
            .given(request.metadata(), authority, message)?
        {
            return Ok(namespace);
        }
        let kind = match rpc {
            Rpc::UnloadModel => Some(StatusKind::Model),
            Rpc::UnloadPipeline => Some(StatusKind::Pipeline),
            Rpc::StopExperiment => Some(StatusKind::Experiment),
            _ => None,
        };
        if let (Some(kind), Some(name)) = (kind, message.object()) {
            let found = holders(&self.bus, kind, name);
            let mut found = self.visible(rpc, request, found).await?;
            match found.len() {
                0 => {}
                1 => return Ok(found.remove(0)),
                _ => return Err(ambiguous(kind, name, &found)),
            }
        }
        self.resolver
            .default_namespace()
            .map(str::to_owned)
            .ok_or_else(|| NamespaceError::Missing.into())
    }

    /// Checks a unary call (validation, namespace, gatekeeper, source of
    /// truth) on the fields it needs and forwards the client's message
    /// bytes, as they came, to its namespace's scheduler.
    pub(super) async fn unary<Req>(
        &self,
        method: &'static Method,
        request: Request<Bytes>,
    ) -> Result<Response<Bytes>, Status>
    where
        Req: Sparse + Validate + NamespacedMessage,
    {
        let rpc = method.rpc;
        let (metadata, extensions, body) = request.into_parts();
        let request = Request::from_parts(metadata, extensions, checked::<Req>(&body)?);
        let namespace = self.namespace(rpc, &request).await?;
        let object = request.get_ref().object();
        let pass = self
            .admit(rpc, &request, Some(&namespace), object, false)
            .await?;
        if let Some(truth) = &self.access.truth
            && let Err(refused) = truth.check(rpc, &namespace, object)
        {
            pass.refused(&self.access.keeper, &refused);
            return Err(refused);
        }
        let answer = self
            .forward(method, &namespace, request.metadata(), body)
            .await;
        pass.finished(&self.access.keeper, answer.as_ref().map(|_| ()));
        answer
    }

    /// Sends an admitted unary call's bytes to `namespace`'s scheduler.
    async fn forward(
        &self,
        method: &'static Method,
        namespace: &str,
        metadata: &MetadataMap,
        body: Bytes,
    ) -> Result<Response<Bytes>, Status> {
        let rpc = method.rpc.method();
        let entry = self.pool.get(namespace).map_err(unknown_namespace)?;
        let timeout = forward::call_timeout(metadata, self.options.call_timeout);
        let upstream = forward::upstream_request(metadata, body, Some(timeout));
        let mut grpc = Grpc::new(entry.channel.clone())
            .max_decoding_message_size(MAX_MESSAGE_BYTES)
            .max_encoding_message_size(self.options.max_request_bytes);
        let call = async {
            grpc.ready()
                .await
                .map_err(|e| Status::unknown(format!("Service was not ready: {e}")))?;
            grpc.unary(upstream, PathAndQuery::from_static(method.path), RawCodec)
                .await
        };
        let span = tracing::debug_span!("route", rpc, namespace = %namespace);
        match tokio::time::timeout(timeout, call).instrument(span).await {
            Ok(Ok(response)) => Ok(Response::new(response.into_inner())),
            Ok(Err(upstream)) => {
                tracing::debug!(rpc, namespace = %namespace, code = ?upstream.code(), upstream_message = upstream.message(), "scheduler call failed");
                Err(status::from_upstream(
                    namespace,
                    &entry.spec.address,
                    upstream,
                ))
            }
            Err(_) => Err(status::deadline_exceeded(namespace, rpc, timeout)),
        }
    }

    /// Opens `open` on the resolved namespace's scheduler and relays the
    /// stream as it is until either side ends it (or the gateway stops).
    /// One upstream stream per client: only for streams that are per
    /// client by nature (the control plane).
    pub(super) async fn passthrough<Req, Resp, F, Fut>(
        &self,
        rpc: Rpc,
        request: Request<Req>,
        open: F,
    ) -> Result<Response<ResponseStream<Resp>>, Status>
    where
        Req: Validate + NamespacedMessage,
        Resp: Send + 'static,
        F: FnOnce(SchedulerClient<Channel>, Request<Req>) -> Fut,
        Fut: Future<Output = Result<Response<Streaming<Resp>>, Status>>,
    {
        request.get_ref().validate()?;
        let namespace = self.namespace(rpc, &request).await?;
        let pass = self
            .admit(rpc, &request, Some(&namespace), None, true)
            .await?;
        let opened = self.open(rpc, &namespace, request, open).await;
        pass.finished(&self.access.keeper, opened.as_ref().map(|_| ()));
        let (target, opened) = opened?;
        tracing::debug!(rpc = rpc.method(), namespace = %target.namespace, "relaying upstream stream");
        let relayed = opened.map(move |item| item.map_err(|s| target.upstream_error(s)));
        Ok(Response::new(until_shutdown(
            hold(relayed, pass),
            self.shutdown.clone(),
        )))
    }

    /// Opens an admitted stream on `namespace`'s scheduler.
    async fn open<Req, Resp, F, Fut>(
        &self,
        rpc: Rpc,
        namespace: &str,
        request: Request<Req>,
        open: F,
    ) -> Result<(Target, Streaming<Resp>), Status>
    where
        F: FnOnce(SchedulerClient<Channel>, Request<Req>) -> Fut,
        Fut: Future<Output = Result<Response<Streaming<Resp>>, Status>>,
    {
        let rpc = rpc.method();
        let target = self.target(namespace)?;
        let open_timeout = forward::call_timeout(request.metadata(), self.options.call_timeout);
        // A long-lived stream carries the client's own deadline, if any,
        // never ours.
        let client_deadline = forward::client_timeout(request.metadata());
        let (metadata, _, message) = request.into_parts();
        let upstream = forward::upstream_request(&metadata, message, client_deadline);
        let opened =
            match tokio::time::timeout(open_timeout, open(target.client.clone(), upstream)).await {
                Ok(Ok(response)) => response.into_inner(),
                Ok(Err(upstream)) => return Err(target.upstream_error(upstream)),
                Err(_) => {
                    return Err(status::deadline_exceeded(
                        &target.namespace,
                        rpc,
                        open_timeout,
                    ));
                }
            };
        Ok((target, opened))
    }
}
