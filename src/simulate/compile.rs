//! Compiling a module: wasmi's whole-module verdict, reached on a second thread while the
//! module starts on the first.
//!
//! Validating every function body of a 3.5 MB Go module takes 20–30 ms on one core, as long
//! as the Go runtime's own start-up, and the cold start target is 50 ms (issue 12). The
//! engine therefore compiles lazily (`CompilationMode::Lazy`): the module's sections are
//! validated at once, each function body is validated and translated by wasmi on its first
//! call, so nothing unvalidated ever runs. That alone would accept a module whose broken
//! function is never called, which Envoy rejects when it loads the module; so
//! [`Validation`] runs `wasmi::Module::validate` over the whole module on its own thread,
//! and `Vm::load` does not hand out a VM (or report a start-up result) before that verdict
//! is in. An invalid module reports the same first error as an eager `Module::new`.
//! Modules under [`BACKGROUND_FROM`] keep wasmi's default (`LazyTranslation`: validated
//! whole, translated on first call); the engine is per module (`vm::compile`).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock};
use std::thread::JoinHandle;
use wasmi::{Engine, Module};

/// Smaller modules are compiled as before, validated whole by `Module::new`: a new thread and
/// a second core woken from idle cost 1–2 ms, as much as validating 512 KiB (the 0.22 MB Rust
/// samples waited 1–2 ms for a thread that started after their whole start-up was done), and
/// lazy validation would validate the bodies they call twice.
pub const BACKGROUND_FROM: usize = 512 << 10;

/// wasmi's verdict on a whole module: pending on a thread, then kept.
pub struct Validation {
    pending: Mutex<Option<JoinHandle<Result<(), String>>>>,
    verdict: OnceLock<Result<(), String>>,
}

impl Validation {
    /// Starts validating `bytes` with `engine`'s features on a new thread, or at once when
    /// as many validations as there are cores already run (`lint` compiles every image at
    /// once: threads and copies of the bytes stay bounded) or no thread can be started.
    /// Not on rayon's pool: `lint` compiles from the pool's workers and waits for the verdict
    /// there, so a job queued behind them might never run.
    pub fn start(engine: &Engine, bytes: &[u8]) -> Validation {
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get().max(2));
        // A thread that cannot be started drops its closure, and the slot with it.
        let spawned = Slot::take(cores).and_then(|slot| {
            let (engine, owned) = (engine.clone(), bytes.to_vec());
            std::thread::Builder::new()
                .name("validate".into())
                .spawn(move || {
                    let _slot = slot;
                    check(&engine, &owned)
                })
                .ok()
        });
        match spawned {
            Some(handle) => Validation {
                pending: Mutex::new(Some(handle)),
                verdict: OnceLock::new(),
            },
            None => Validation {
                pending: Mutex::new(None),
                verdict: OnceLock::from(check(engine, bytes)),
            },
        }
    }

    /// The verdict if it is in, without waiting.
    pub fn known(&self) -> Option<Result<(), String>> {
        if let Some(v) = self.verdict.get() {
            return Some(v.clone());
        }
        let finished = (self.pending.lock().unwrap_or_else(|e| e.into_inner()))
            .as_ref()
            .is_some_and(JoinHandle::is_finished);
        finished.then(|| self.wait())
    }

    /// Waits for the verdict: `Err` carries wasmi's first validation error.
    pub fn wait(&self) -> Result<(), String> {
        self.verdict
            .get_or_init(|| {
                let handle = self
                    .pending
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .take();
                match handle.map(JoinHandle::join) {
                    Some(Ok(verdict)) => verdict,
                    // A panic in wasmi's validator: the module is refused with a reason
                    // rather than taking the process down (an eager compile would have).
                    Some(Err(_)) => Err("the module's validation stopped unexpectedly".into()),
                    None => Err("the module's validation was not started".into()),
                }
            })
            .clone()
    }
}

/// Validations running on their own threads, over the whole process.
static RUNNING: AtomicUsize = AtomicUsize::new(0);

/// One of at most `cores` validation threads; freed when dropped (also on a panic).
struct Slot;

impl Slot {
    fn take(cores: usize) -> Option<Slot> {
        RUNNING
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < cores).then_some(n + 1)
            })
            .ok()
            .map(|_| Slot)
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        RUNNING.fetch_sub(1, Ordering::AcqRel);
    }
}

fn check(engine: &Engine, bytes: &[u8]) -> Result<(), String> {
    Module::validate(engine, bytes).map_err(|e| e.to_string())
}
