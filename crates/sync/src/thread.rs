//! The sync thread: pulls, uploads and lease passes run on one OS thread of
//! their own, in a single-threaded tokio runtime, not on the app's shared
//! workers.
//!
//! A pull is thousands of small HTTP exchanges, each decoded and handed on.
//! On a multi-threaded runtime every exchange wakes tasks across threads (the
//! connection's task, the pull's task, the writer); on one thread they are
//! polled where they are woken. Paired runs of `sync_bench`'s engine arm
//! (10,051 items) took about a tenth less client CPU this way. One thread is
//! enough for I/O of this shape; store writes still go to the runtime's
//! blocking pool, and the app's commands keep their workers while a long
//! pull runs.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use tokio::runtime::Handle;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

use crate::background::{spawn_background, BackgroundSync, SyncEvent};
use crate::engine::SyncEngine;

/// How long a stopping sync thread waits for its blocking store writes.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// A thread running a single-threaded tokio runtime for sync work. Dropping
/// it stops the runtime: tasks still running on it are cancelled at their
/// next await (a store write in progress finishes first, within a grace
/// period).
#[derive(Debug)]
pub struct SyncThread {
    handle: Handle,
    /// Dropped with the thread's handle: the runtime's `block_on` returns.
    _stop: oneshot::Sender<()>,
}

impl SyncThread {
    /// Starts the thread (named `name`) and its runtime.
    ///
    /// # Errors
    /// When the runtime or the thread cannot be created (out of resources).
    pub fn start(name: &str) -> std::io::Result<Self> {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let handle = rt.handle().clone();
        let (stop, stopped) = oneshot::channel::<()>();
        std::thread::Builder::new()
            .name(name.to_string())
            .spawn(move || {
                // Drives every task spawned through the handle until stopped
                // (the sender is sent to or dropped).
                rt.block_on(async {
                    let _ = stopped.await;
                });
                rt.shutdown_timeout(SHUTDOWN_GRACE);
            })?;
        Ok(Self {
            handle,
            _stop: stop,
        })
    }

    /// Runs `future` on the sync thread.
    pub fn spawn<F>(&self, future: F) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        self.handle.spawn(future)
    }

    /// [`spawn_background`] with its loops on the sync thread.
    pub fn spawn_background(
        &self,
        engine: Arc<SyncEngine>,
        interval: Duration,
        events: mpsc::UnboundedSender<SyncEvent>,
    ) -> BackgroundSync {
        let _on_this_thread = self.handle.enter();
        spawn_background(engine, interval, events)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn tasks_run_on_the_named_thread_and_stop_with_it() {
        let thread = SyncThread::start("assay-sync-test").unwrap();
        let names: Vec<_> = futures_util::future::join_all((0..4).map(|_| {
            thread.spawn(async {
                tokio::task::yield_now().await;
                std::thread::current().name().map(str::to_string)
            })
        }))
        .await
        .into_iter()
        .map(Result::unwrap)
        .collect();
        assert!(names
            .iter()
            .all(|n| n.as_deref() == Some("assay-sync-test")));
        // Blocking work goes to the runtime's pool, not the thread itself.
        let blocking = thread
            .spawn(async {
                tokio::task::spawn_blocking(|| std::thread::current().name().map(str::to_string))
                    .await
                    .unwrap()
            })
            .await
            .unwrap();
        assert_ne!(blocking.as_deref(), Some("assay-sync-test"));

        let never = thread.spawn(std::future::pending::<()>());
        drop(thread);
        let err = tokio::time::timeout(Duration::from_secs(10), never)
            .await
            .expect("a stopped thread cancels its tasks")
            .unwrap_err();
        assert!(err.is_cancelled());
    }
}
