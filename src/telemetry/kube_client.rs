//! Metrics of the Kubernetes API client, as client-go exports them:
//! `rest_client_requests_total{code,method,host}` and
//! `rest_client_request_duration_seconds{verb,host}` (time until the
//! response headers; a watch counts until its stream opens). A tower layer
//! on the kube `Client`'s service stack ([`client`]).

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Instant;

use http::{Request, Response};
use switchyard_core::metrics as m;
use tower::{Layer, Service};

/// Builds the kube client of `config` with [`RestMetricsLayer`] on its
/// default stack (auth, TLS, timeouts, tracing: kube's own).
pub fn client(config: kube::Config) -> Result<kube::Client, kube::Error> {
    let host = host_label(&config.cluster_url);
    Ok(kube::client::ClientBuilder::try_from(config)?
        .with_layer(&RestMetricsLayer { host })
        .build())
}

/// `host[:port]` of the API server, the `host` label.
fn host_label(url: &http::Uri) -> String {
    url.authority()
        .map_or_else(|| url.to_string(), |a| a.as_str().to_owned())
}

/// Counts and times every request the wrapped service sends.
#[derive(Clone, Debug)]
pub struct RestMetricsLayer {
    host: String,
}

impl<S> Layer<S> for RestMetricsLayer {
    type Service = RestMetrics<S>;

    fn layer(&self, inner: S) -> RestMetrics<S> {
        RestMetrics {
            inner,
            host: self.host.clone(),
        }
    }
}

#[derive(Clone, Debug)]
pub struct RestMetrics<S> {
    inner: S,
    host: String,
}

impl<S, B, R> Service<Request<B>> for RestMetrics<S>
where
    S: Service<Request<B>, Response = Response<R>>,
    S::Future: Send + 'static,
    S::Error: 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Self::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<B>) -> Self::Future {
        let method = req.method().as_str().to_owned();
        let verb = verb(&req);
        let host = self.host.clone();
        let started = Instant::now();
        let response = self.inner.call(req);
        Box::pin(async move {
            let result = response.await;
            let code = match &result {
                Ok(response) => response.status().as_str().to_owned(),
                // client-go's label when no response came back.
                Err(_) => "<error>".to_owned(),
            };
            metrics::histogram!(
                m::REST_CLIENT_REQUEST_DURATION_SECONDS,
                "verb" => verb,
                "host" => host.clone()
            )
            .record(started.elapsed().as_secs_f64());
            metrics::counter!(
                m::REST_CLIENT_REQUESTS_TOTAL,
                "code" => code,
                "method" => method,
                "host" => host
            )
            .increment(1);
            result
        })
    }
}

/// The `verb` label: the HTTP method, as client-go's, except that watches
/// are `WATCH`, so the time until a watch opens is not mixed with GETs.
fn verb<B>(req: &Request<B>) -> &'static str {
    let watch = req
        .uri()
        .query()
        .is_some_and(|q| q.split('&').any(|p| p == "watch=true" || p == "watch=1"));
    match req.method().as_str() {
        "GET" if watch => "WATCH",
        "GET" => "GET",
        "POST" => "POST",
        "PUT" => "PUT",
        "PATCH" => "PATCH",
        "DELETE" => "DELETE",
        _ => "OTHER",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn watches_are_their_own_verb_and_the_host_keeps_its_port() {
        let get = |uri: &str| Request::get(uri).body(()).unwrap();
        assert_eq!(
            verb(&get("/api/v1/pods?watch=true&resourceVersion=1")),
            "WATCH"
        );
        assert_eq!(verb(&get("/api/v1/pods?limit=500")), "GET");
        assert_eq!(verb(&Request::patch("/x").body(()).unwrap()), "PATCH");
        assert_eq!(
            host_label(&"https://10.0.0.1:6443/".parse().unwrap()),
            "10.0.0.1:6443"
        );
    }
}
