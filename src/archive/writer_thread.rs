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
    #[cfg(feature = "testing")]
    gate: Arc<Gate>,
}

/// Holds the writer before its next group while closed: how a test makes a commit take as long
/// as it likes, as a slow disk would.
#[cfg(feature = "testing")]
#[derive(Default)]
pub(super) struct Gate {
    closed: std::sync::Mutex<bool>,
    opened: std::sync::Condvar,
    waiting: std::sync::atomic::AtomicUsize,
}

#[cfg(feature = "testing")]
impl Gate {
    pub(super) fn set(&self, closed: bool) {
        *self.closed.lock().unwrap_or_else(|e| e.into_inner()) = closed;
        self.opened.notify_all();
    }

    /// Groups waiting at the gate now.
    pub(super) fn waiting(&self) -> usize {
        self.waiting.load(std::sync::atomic::Ordering::SeqCst)
    }

    fn pass(&self) {
        use std::sync::atomic::Ordering;
        let mut closed = self.closed.lock().unwrap_or_else(|e| e.into_inner());
        self.waiting.fetch_add(1, Ordering::SeqCst);
        while *closed {
            closed = self.opened.wait(closed).unwrap_or_else(|e| e.into_inner());
        }
        self.waiting.fetch_sub(1, Ordering::SeqCst);
    }
}

impl WriterThread {
    pub fn start(writer: Writer, stall_timeout: Duration) -> Result<WriterThread, ArchiveError> {
        let heartbeat = Arc::new(Heartbeat::new(stall_timeout));
        let (sender, receiver) = mpsc::channel();
        let beat = heartbeat.clone();
        let root = writer.root.clone();
        #[cfg(feature = "testing")]
        let gate = Arc::new(Gate::default());
        #[cfg(feature = "testing")]
        let held = gate.clone();
        watchdog::watch(&heartbeat).map_err(|source| ArchiveError::Io {
            path: root.clone(),
            source,
        })?;
        let thread = std::thread::Builder::new()
            .name("archive-writer".into())
            .spawn(move || {
                run(writer, &receiver, &beat, &|| {
                    #[cfg(feature = "testing")]
                    held.pass();
                })
            })
            .map_err(|source| ArchiveError::Io { path: root, source })?;
        Ok(WriterThread {
            sender: Some(sender),
            thread: Some(thread),
            heartbeat,
            #[cfg(feature = "testing")]
            gate,
        })
    }

    /// The writer's gate: closed, the next group waits before it is written.
    #[cfg(feature = "testing")]
    pub fn gate(&self) -> &Gate {
        &self.gate
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
fn run(
    mut writer: Writer,
    receiver: &mpsc::Receiver<Request>,
    heartbeat: &Heartbeat,
    before_group: &dyn Fn(),
) {
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
        before_group();
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
