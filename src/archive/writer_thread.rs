//! The writer on its own thread: callers send changes over a channel and wait for the answer;
//! the thread drains what is queued and writes it as one group, under the watchdog's eye.

use std::panic::AssertUnwindSafe;
use std::sync::{Arc, mpsc};
use std::time::Duration;

use super::ArchiveError;
use super::watchdog::{self, Heartbeat};
use super::write::{Change, Outcome, Writer};

/// Most changes written in one group: a bound on the memory a burst of callers can pin.
const MAX_GROUP: usize = 4096;

/// Changes sent to the writer thread, with where to answer.
struct Request {
    changes: Vec<Change>,
    reply: mpsc::SyncSender<Vec<Result<Outcome, ArchiveError>>>,
}

/// The writer on its own thread: callers send changes and wait for the answers; readers never
/// wait for it.
pub(super) struct WriterThread {
    sender: Option<mpsc::Sender<Request>>,
    thread: Option<std::thread::JoinHandle<()>>,
    heartbeat: Arc<Heartbeat>,
}

impl WriterThread {
    pub fn start(writer: Writer, stall_timeout: Duration) -> Result<WriterThread, ArchiveError> {
        let heartbeat = Arc::new(Heartbeat::new(stall_timeout));
        let (sender, receiver) = mpsc::channel();
        let beat = heartbeat.clone();
        let root = writer.root.clone();
        watchdog::watch(&heartbeat).map_err(|source| ArchiveError::Io {
            path: root.clone(),
            source,
        })?;
        let thread = std::thread::Builder::new()
            .name("archive-writer".into())
            .spawn(move || run(writer, &receiver, &beat))
            .map_err(|source| ArchiveError::Io { path: root, source })?;
        Ok(WriterThread {
            sender: Some(sender),
            thread: Some(thread),
            heartbeat,
        })
    }

    /// Writes `changes` and waits until they are on disk.
    pub fn commit(&self, changes: Vec<Change>) -> Vec<Result<Outcome, ArchiveError>> {
        let count = changes.len();
        let (reply, answer) = mpsc::sync_channel(1);
        let sent = self
            .sender
            .as_ref()
            .map(|sender| sender.send(Request { changes, reply }).is_ok());
        let answers = match sent {
            Some(true) => answer.recv().ok(),
            _ => None,
        };
        answers.unwrap_or_else(|| {
            (0..count)
                .map(|_| {
                    Err(ArchiveError::Writer(
                        "the archive writer has stopped".into(),
                    ))
                })
                .collect()
        })
    }

    /// Why the writer is stalled, once it has been.
    pub fn stalled(&self) -> Option<String> {
        self.heartbeat.stalled()
    }
}

impl Drop for WriterThread {
    fn drop(&mut self) {
        // Closing the channel ends the thread once the queue is written; then the index closes.
        self.sender.take();
        if self.heartbeat.stalled().is_some() {
            // A stuck writer may never end: leave it to the process exit.
            return;
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// The writer thread: takes what is queued (up to [`MAX_GROUP`] changes), writes it as one
/// group, answers every caller.
fn run(mut writer: Writer, receiver: &mpsc::Receiver<Request>, heartbeat: &Heartbeat) {
    while let Ok(first) = receiver.recv() {
        let mut queued = first.changes.len();
        let mut requests = vec![first];
        while queued < MAX_GROUP {
            match receiver.try_recv() {
                Ok(request) => {
                    queued += request.changes.len();
                    requests.push(request);
                }
                Err(_) => break,
            }
        }
        let mut replies = Vec::with_capacity(requests.len());
        let mut changes = Vec::with_capacity(queued);
        for request in requests {
            replies.push((request.reply, request.changes.len()));
            changes.extend(request.changes);
        }
        heartbeat.begin();
        let answers = std::panic::catch_unwind(AssertUnwindSafe(|| writer.commit(changes)));
        heartbeat.end();
        let mut answers = match answers {
            Ok(answers) => answers.into_iter(),
            Err(_) => {
                tracing::error!("the archive writer panicked; the group is not written");
                (0..queued)
                    .map(|_| Err(ArchiveError::Writer("the write failed unexpectedly".into())))
                    .collect::<Vec<_>>()
                    .into_iter()
            }
        };
        for (reply, count) in replies {
            let _ = reply.send(answers.by_ref().take(count).collect());
        }
    }
}
