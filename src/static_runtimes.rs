//! The config file as a source of runtimes: loaded at start, then polled so
//! that adding or removing a `[[runtimes]]` entry takes effect with no
//! restart. A file that fails to parse is logged and the last good set of
//! runtimes stays in force.

use std::path::PathBuf;
use std::time::{Duration, SystemTime};

use tokio_util::sync::CancellationToken;

use crate::config::{FileConfig, SchedulerOverrides};
use switchyard_core::registry::RuntimeRegistry;

/// How often the file is checked for changes.
pub const DEFAULT_POLL_INTERVAL: Duration = Duration::from_secs(2);

/// Keeps `registry` in step with the `[[runtimes]]` of `path` until
/// `cancel` fires; `overrides` (the command line's) are laid over the
/// file's `[scheduler]` on every read.
pub async fn follow(
    path: PathBuf,
    registry: RuntimeRegistry,
    interval: Duration,
    overrides: SchedulerOverrides,
    cancel: CancellationToken,
) {
    let mut last_seen: Option<(SystemTime, u64)> = None;
    loop {
        let stamp = std::fs::metadata(&path)
            .ok()
            .and_then(|m| Some((m.modified().ok()?, m.len())));
        if stamp.is_some() && stamp != last_seen {
            last_seen = stamp;
            let loaded = FileConfig::load(&path).and_then(|mut config| {
                overrides.apply(&mut config.scheduler)?;
                Ok(config)
            });
            match loaded {
                Ok(config) => {
                    if registry.reset(config.runtime_specs()) {
                        tracing::info!(path = %path.display(), runtimes = registry.snapshot().len(), "runtimes reloaded from config file");
                    }
                }
                Err(error) => {
                    tracing::warn!(%error, "keeping the previous runtimes");
                }
            }
        }
        tokio::select! {
            _ = cancel.cancelled() => return,
            _ = tokio::time::sleep(interval) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn file_changes_reach_the_registry_and_bad_files_change_nothing() {
        let dir = std::env::temp_dir().join(format!("switchyard-static-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("runtimes.toml");
        std::fs::write(
            &path,
            "[[runtimes]]\nnamespace = \"a\"\naddress = \"127.0.0.1:1\"\n",
        )
        .unwrap();

        let registry = RuntimeRegistry::new();
        let mut rx = registry.watch();
        let cancel = CancellationToken::new();
        let task = tokio::spawn(follow(
            path.clone(),
            registry.clone(),
            Duration::from_millis(20),
            SchedulerOverrides::default(),
            cancel.clone(),
        ));
        let wait = |rx: &mut tokio::sync::watch::Receiver<_>| {
            let mut rx = rx.clone();
            async move {
                tokio::time::timeout(Duration::from_secs(5), rx.changed())
                    .await
                    .expect("registry changed within 5 s")
                    .unwrap();
            }
        };
        wait(&mut rx).await;
        rx.mark_unchanged();
        assert!(registry.get("a").is_some());

        std::fs::write(
            &path,
            "[[runtimes]]\nnamespace = \"b\"\naddress = \"127.0.0.1:22\"\n",
        )
        .unwrap();
        wait(&mut rx).await;
        rx.mark_unchanged();
        assert!(registry.get("a").is_none());
        assert_eq!(registry.get("b").unwrap().address, "127.0.0.1:22");

        std::fs::write(&path, "[[runtimes]]\nnamespace = \n").unwrap();
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert!(
            registry.get("b").is_some(),
            "a broken file keeps the last good runtimes"
        );

        cancel.cancel();
        task.await.unwrap();
        std::fs::remove_dir_all(&dir).ok();
    }
}
