//! The crate's tests: the policy file, certificates, limits and the audit
//! line in memory; TokenReview and SubjectAccessReview against the
//! Kubernetes API double over real HTTP.

mod audit;
mod certificate;
mod gatekeeper;
mod kubernetes;
mod limits;
mod policy;
