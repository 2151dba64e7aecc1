//! Settings of an API double. The defaults suit tests and the demo; the
//! load benchmark may want more history and bigger watch buffers.

use std::net::SocketAddr;
use std::sync::OnceLock;
use std::time::Duration;

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;

/// Changes kept per resource type for watch resumption. The real watch
/// cache keeps a time- and size-bounded window of the same order.
pub const DEFAULT_HISTORY_LIMIT: usize = 1024;

/// Events a watcher may have queued before it is closed as too slow.
pub const DEFAULT_WATCH_BUFFER: usize = 1024;

/// How often watchers that allow bookmarks get one. The real server sends
/// one about every minute; a shorter period lets tests see them.
pub const DEFAULT_BOOKMARK_INTERVAL: Duration = Duration::from_secs(5);

/// Watch duration when the client sends no `timeoutSeconds` (the real
/// server picks 30 to 60 minutes).
pub const DEFAULT_WATCH_TIMEOUT: Duration = Duration::from_secs(30 * 60);

/// Largest request body accepted (the real server's limit is 3 MiB).
pub const DEFAULT_MAX_BODY_BYTES: usize = 3 * 1024 * 1024;

/// How to start an `ApiDouble`.
#[derive(Clone, Debug)]
pub struct ApiDoubleConfig {
    /// Where to listen; port 0 picks a free port.
    pub listen: SocketAddr,
    /// Custom resources to serve besides the built-in kinds (default: the
    /// seven Seldon kinds).
    pub crds: Vec<CustomResourceDefinition>,
    /// Changes kept per resource type; a watch or continue token older
    /// than this window gets 410 Expired.
    pub history_limit: usize,
    /// Queue length per watcher before it is closed as slow.
    pub watch_buffer: usize,
    /// Period of BOOKMARK events for watches that allow them.
    pub bookmark_interval: Duration,
    /// Watch duration without `timeoutSeconds`.
    pub default_watch_timeout: Duration,
    /// Refuse objects in namespaces that do not exist (404), and new
    /// objects in namespaces being deleted (403), as the real server's
    /// NamespaceLifecycle admission does. Off by default so tests need not
    /// create namespaces first: the first write in a namespace creates it.
    pub require_namespaces: bool,
    /// Largest request body accepted (413 beyond).
    pub max_body_bytes: usize,
}

impl ApiDoubleConfig {
    /// Defaults, listening on `listen`.
    pub fn new(listen: SocketAddr) -> Self {
        Self {
            listen,
            crds: seldon_crds(),
            history_limit: DEFAULT_HISTORY_LIMIT,
            watch_buffer: DEFAULT_WATCH_BUFFER,
            bookmark_interval: DEFAULT_BOOKMARK_INTERVAL,
            default_watch_timeout: DEFAULT_WATCH_TIMEOUT,
            require_namespaces: false,
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
        }
    }

    /// Defaults on a free loopback port.
    pub fn loopback() -> Self {
        Self::new(SocketAddr::from(([127, 0, 0, 1], 0)))
    }
}

/// The seven Seldon CRDs, generated once per process: generating their
/// schemas is slow enough (about a second in debug builds) to matter to a
/// test suite that starts many doubles.
pub fn seldon_crds() -> Vec<CustomResourceDefinition> {
    static CRDS: OnceLock<Vec<CustomResourceDefinition>> = OnceLock::new();
    CRDS.get_or_init(switchyard_api::crd::all).clone()
}
