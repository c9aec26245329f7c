//! The thread sync runs on: one OS thread driving a current-thread tokio
//! runtime, so a pull's thousands of requests, responses and store hand-offs
//! wake one thread instead of bouncing between the workers of a
//! multi-threaded runtime (the app's, Tauri's). Blocking store writes still
//! go to the runtime's blocking pool, in parallel with the downloads.
//!
//! Measured on a 10,000-item pull (`sync_bench engine`, eight alternating
//! pairs against the same pull as a task on a multi-threaded runtime):
//! client CPU per-pair median 0.91x, wall 0.97x (README, "Sync").

use std::future::Future;

use tokio::runtime::{Builder, Handle};
use tokio::sync::oneshot;

/// A running sync thread; stopped when dropped (its unfinished tasks are
/// cancelled, blocking store writes in flight complete first).
#[derive(Debug)]
pub struct SyncThread {
    handle: Handle,
    stop: Option<oneshot::Sender<()>>,
}

impl SyncThread {
    /// Starts the thread and its runtime.
    ///
    /// # Errors
    /// The runtime or the thread could not be created (out of resources).
    pub fn start() -> std::io::Result<Self> {
        let rt = Builder::new_current_thread().enable_all().build()?;
        let handle = rt.handle().clone();
        let (stop, stopped) = oneshot::channel::<()>();
        std::thread::Builder::new()
            .name("assay-sync".into())
            // While it waits to be stopped, `block_on` also runs every task
            // spawned on the runtime.
            .spawn(move || rt.block_on(async move { stopped.await.unwrap_or(()) }))?;
        Ok(Self {
            handle,
            stop: Some(stop),
        })
    }

    /// The runtime's handle.
    #[must_use]
    pub fn handle(&self) -> &Handle {
        &self.handle
    }

    /// Runs `work` on the sync thread; the handle can be awaited from any
    /// runtime.
    pub fn spawn<F>(&self, work: F) -> tokio::task::JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        self.handle.spawn(work)
    }
}

impl Drop for SyncThread {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn work_runs_on_the_sync_thread_and_can_be_awaited_elsewhere() {
        let t = SyncThread::start().unwrap();
        let other = Builder::new_current_thread().enable_all().build().unwrap();
        let name = other
            .block_on(t.spawn(async {
                // Timers and blocking work run on the sync thread's runtime.
                tokio::time::sleep(std::time::Duration::from_millis(5)).await;
                let blocking = tokio::task::spawn_blocking(|| 2 + 2).await.unwrap();
                assert_eq!(blocking, 4);
                std::thread::current().name().map(str::to_owned)
            }))
            .unwrap();
        assert_eq!(name.as_deref(), Some("assay-sync"));
    }

    #[test]
    fn dropping_it_stops_its_tasks() {
        let t = SyncThread::start().unwrap();
        let pending = t.spawn(std::future::pending::<()>());
        drop(t);
        let other = Builder::new_current_thread().enable_all().build().unwrap();
        let joined = other.block_on(pending);
        assert!(joined.unwrap_err().is_cancelled());
    }
}
