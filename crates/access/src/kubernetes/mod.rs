//! The Kubernetes engines: [`TokenReviewer`] authenticates bearer tokens
//! with a TokenReview (and client certificates by their subject) and
//! [`AccessReviewer`] authorizes with a SubjectAccessReview, both through
//! a `kube::Client` (switchyard's ServiceAccount needs `create` on
//! `tokenreviews` and `subjectaccessreviews`), both caching answers in a
//! bounded [`cache::TtlCache`].

mod access_review;
mod cache;
mod token_review;

pub use access_review::AccessReviewer;
pub use token_review::TokenReviewer;

use std::time::Duration;
use switchyard_core::metrics as m;
use tokio::time::Instant;

/// Runs one review with `timeout`, timing it in
/// `switchyard_access_review_duration_seconds{kind}`. A review that fails
/// or times out is an error text for UNAVAILABLE.
async fn review<T>(
    kind: &'static str,
    timeout: Duration,
    call: impl Future<Output = Result<T, kube::Error>>,
) -> Result<T, String> {
    let started = Instant::now();
    let outcome = tokio::time::timeout(timeout, call).await;
    metrics::histogram!(m::ACCESS_REVIEW_SECONDS, "kind" => kind)
        .record(started.elapsed().as_secs_f64());
    match outcome {
        Ok(Ok(answer)) => Ok(answer),
        Ok(Err(e)) => Err(format!("the API server refused the {kind}: {e}")),
        Err(_) => Err(format!(
            "the API server did not answer the {kind} within {timeout:?}"
        )),
    }
}
