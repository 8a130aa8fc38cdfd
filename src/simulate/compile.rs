//! Compiling a module: wasmi's whole-module verdict, reached on a second thread while the
//! module starts on the first.
//!
//! Validating every function body of a 3.5 MB Go module takes 20–30 ms on one core, as long
//! as the Go runtime's own start-up, and the cold start target is 50 ms (issue 12). The
//! engine therefore compiles lazily (`CompilationMode::Lazy`): the module's sections are
//! validated at once, each function body is validated and translated by wasmi on its first
//! call, so nothing unvalidated ever runs. That alone would accept a module whose broken
//! function is never called, which Envoy rejects when it loads the module; so
//! [`Validation`] validates the whole module as `wasmi::Module::validate` does, on its own
//! thread, and `Vm::load` does not hand out a VM (or report a start-up result) before that
//! verdict is in. The thread that waits for it validates function bodies too, so the two
//! cores share what is left. An invalid module reports the same first error as an eager
//! `Module::new`. Modules under [`BACKGROUND_FROM`] keep wasmi's default (`LazyTranslation`:
//! validated whole, translated on first call); the engine is per module (`vm::compile`).

use std::borrow::Cow;
use std::collections::VecDeque;
use std::ops::Range;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, OnceLock};
use wasmi::{AsContextMut, Error, Memory};
use wasmparser::{
    BinaryReader, BinaryReaderError, FuncToValidate, FuncValidatorAllocations, FunctionBody,
    Parser, ValidPayload, Validator, ValidatorResources, WasmFeatures,
};

/// Smaller modules are compiled as before, validated whole by `Module::new`: a new thread and
/// a second core woken from idle cost 1–2 ms, as much as validating 512 KiB (the 0.22 MB Rust
/// samples waited 1–2 ms for a thread that started after their whole start-up was done), and
/// lazy validation would validate the bodies they call twice.
pub const BACKGROUND_FROM: usize = 512 << 10;

/// The proposals wasmi's default `Config` enables, with this build's wasmi features
/// (`memory64` on, `simd` off): `wasmi::Config::default_features`, which wasmi does not
/// export. `tests/simulate_compile.rs` holds both verdicts equal over a module per proposal.
pub fn features() -> WasmFeatures {
    WasmFeatures::MUTABLE_GLOBAL
        | WasmFeatures::MULTI_VALUE
        | WasmFeatures::MULTI_MEMORY
        | WasmFeatures::SATURATING_FLOAT_TO_INT
        | WasmFeatures::SIGN_EXTENSION
        | WasmFeatures::BULK_MEMORY
        | WasmFeatures::REFERENCE_TYPES
        | WasmFeatures::GC_TYPES
        | WasmFeatures::TAIL_CALL
        | WasmFeatures::EXTENDED_CONST
        | WasmFeatures::FLOATS
        | WasmFeatures::MEMORY64
}

/// The whole-module verdict: module-level validation in file order on a thread of its own,
/// function bodies by whichever thread is free (that thread, then also the one waiting).
pub struct Validation {
    work: Arc<Work>,
    verdict: OnceLock<Result<(), String>>,
}

/// What the validating threads share.
struct Work {
    module: Arc<[u8]>,
    state: Mutex<State>,
    changed: Condvar,
}

#[derive(Default)]
struct State {
    /// Bodies read and not yet taken, in module order.
    bodies: VecDeque<Body>,
    /// Bodies read so far: the rank of the next one, and of an error met after them.
    read: usize,
    /// Bodies being validated now.
    busy: usize,
    /// The module-level pass is over (finished, failed or crashed).
    done: bool,
    /// The first error in module order: its rank, and wasmi's message.
    first: Option<(usize, String)>,
    /// The most bodies ever queued at once (at most [`QUEUED_BODIES`] + 1).
    peak: usize,
}

/// Bodies queued before the reading thread validates one itself: a module of a million tiny
/// functions read while nobody else helps (the start-up runs meanwhile) would otherwise queue
/// them all, ~50 bytes each.
const QUEUED_BODIES: usize = 4096;

struct Body {
    rank: usize,
    func: FuncToValidate<ValidatorResources>,
    range: Range<usize>,
}

impl State {
    /// Keeps the error that comes first in the module, as sequential validation would.
    fn fail(&mut self, rank: usize, message: String) {
        if self.first.as_ref().is_none_or(|(r, _)| rank < *r) {
            self.first = Some((rank, message));
        }
    }

    fn over(&self) -> bool {
        self.done && self.bodies.is_empty() && self.busy == 0
    }
}

/// A panic inside wasmparser refuses the module with a reason instead of taking the process
/// down (an eager compile would have).
const CRASHED: &str = "the module's validation stopped unexpectedly";

impl Validation {
    /// Starts validating `module` on a new thread, or at once when as many validations as
    /// there are cores already run (`lint` compiles every image at once: threads stay
    /// bounded) or no thread can be started. Not on rayon's pool: `lint` compiles from the
    /// pool's workers and waits for the verdict there, so a job queued behind them might
    /// never run.
    pub fn start(module: &Arc<[u8]>) -> Validation {
        let work = Arc::new(Work {
            module: Arc::clone(module),
            state: Mutex::default(),
            changed: Condvar::new(),
        });
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get().max(2));
        // A thread that cannot be started drops its closure, and the slot with it.
        let spawned = Slot::take(cores).and_then(|slot| {
            let work = Arc::clone(&work);
            std::thread::Builder::new()
                .name("validate".into())
                .spawn(move || {
                    let _slot = slot;
                    work.read_module();
                    work.help();
                })
                .ok()
        });
        if spawned.is_none() {
            work.read_module();
            work.help();
        }
        Validation {
            work,
            verdict: OnceLock::new(),
        }
    }

    /// The verdict if it is in, without waiting.
    pub fn known(&self) -> Option<Result<(), String>> {
        if self.verdict.get().is_none() && !self.work.lock().over() {
            return None;
        }
        Some(self.wait())
    }

    /// Waits for the verdict, validating bodies meanwhile: `Err` carries wasmi's first error.
    pub fn wait(&self) -> Result<(), String> {
        self.verdict
            .get_or_init(|| {
                self.work.help();
                let mut state = self.work.lock();
                while !state.over() {
                    state = (self.work.changed.wait(state)).unwrap_or_else(|e| e.into_inner());
                }
                state.first.as_ref().map_or(Ok(()), |(_, m)| Err(m.clone()))
            })
            .clone()
    }
}

impl Work {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Validates the module in file order as `wasmi::Module::validate` does, except that
    /// function bodies are queued for [`Work::help`]; stops at the first error.
    fn read_module(&self) {
        let outcome = catch_unwind(AssertUnwindSafe(|| self.read_sections()));
        let mut state = self.lock();
        if outcome.is_err() {
            let rank = state.read;
            state.fail(rank, CRASHED.into());
        }
        state.done = true;
        drop(state);
        self.changed.notify_all();
    }

    fn read_sections(&self) {
        let mut validator = Validator::new_with_features(features());
        let mut allocations = FuncValidatorAllocations::default();
        for payload in Parser::new(0).parse_all(&self.module) {
            let valid = payload.and_then(|p| validator.payload(&p));
            let mut state = self.lock();
            // A body failed: nothing further in the module can come before it.
            if state.first.is_some() {
                return;
            }
            let rank = state.read;
            match valid {
                Ok(ValidPayload::Func(func, body)) => {
                    state.read += 1;
                    let range = body.range();
                    state.bodies.push_back(Body { rank, func, range });
                    state.peak = state.peak.max(state.bodies.len());
                    if state.bodies.len() > QUEUED_BODIES {
                        drop(self.validate_next(state, &mut allocations));
                    } else {
                        drop(state);
                        self.changed.notify_all();
                    }
                }
                Ok(ValidPayload::End(_)) => return,
                Ok(_) => {}
                Err(e) => return state.fail(rank, message(e)),
            }
        }
    }

    /// Validates queued bodies until none is left and the module-level pass is over.
    fn help(&self) {
        let mut allocations = FuncValidatorAllocations::default();
        let mut state = self.lock();
        loop {
            state = match self.validate_next(state, &mut allocations) {
                Ok(state) => state,
                Err(state) if state.done => return,
                Err(state) => (self.changed.wait(state)).unwrap_or_else(|e| e.into_inner()),
            };
        }
    }

    /// Takes the first queued body and validates it (or drops it when a body before it already
    /// failed): `Err` gives the lock back when none is queued.
    fn validate_next<'a>(
        &'a self,
        mut state: MutexGuard<'a, State>,
        allocations: &mut FuncValidatorAllocations,
    ) -> Result<MutexGuard<'a, State>, MutexGuard<'a, State>> {
        let Some(body) = state.bodies.pop_front() else {
            return Err(state);
        };
        // Bodies after a known error cannot change the verdict.
        if state.first.as_ref().is_some_and(|(r, _)| *r < body.rank) {
            return Ok(state);
        }
        state.busy += 1;
        drop(state);
        // Everything between `busy` up and down is caught: a waiter counts on it.
        let result = catch_unwind(AssertUnwindSafe(|| {
            let range = body.range;
            let reader = BinaryReader::new(&self.module[range.clone()], range.start);
            let mut validator = body.func.into_validator(std::mem::take(allocations));
            let result = validator.validate(&FunctionBody::new(reader));
            *allocations = validator.into_allocations();
            result
        }));
        let mut state = self.lock();
        state.busy -= 1;
        match result {
            Ok(Ok(())) => {}
            Ok(Err(e)) => state.fail(body.rank, message(e)),
            Err(_) => state.fail(body.rank, CRASHED.into()),
        }
        self.changed.notify_all();
        Ok(state)
    }
}

/// wasmi's text for a wasmparser error (what `Module::validate` returns).
fn message(e: BinaryReaderError) -> String {
    Error::from(e).to_string()
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

/// The data segments of a large module, kept out of wasmi's parse and written into its memory
/// at instantiation, as wasmi would.
///
/// A 3.4 MB Go module has about 38,000 data segments. wasmi validates and copies each one in
/// `Module::new` (10–12 ms of the main thread's start-up) although [`Validation`] checks the
/// same section again on the other thread. So, only where that verdict is awaited before the
/// module counts as loaded, wasmi gets the module without its data section and we write the
/// segments after instantiation. That is only done where nothing can tell the difference:
/// every segment active, into the module's one memory, which it defines and exports, at an
/// `i32.const` offset; no start section (it would run before the data is written); no
/// data-count section (no instruction can name a segment). Anything else, including any
/// section this reader cannot read, keeps the whole module for wasmi.
pub struct Detached {
    /// The whole module, shared with the [`Validation`] thread.
    module: Arc<[u8]>,
    /// Per segment, in module order: its offset in linear memory, where its bytes start in
    /// `module`, and their length.
    segments: Vec<(u32, u32, u32)>,
}

impl Detached {
    /// Splits the data section off `module`: the module without it (a prefix when only
    /// custom sections follow it, as in Go builds), and the segments.
    pub fn split(module: &Arc<[u8]>) -> Option<(Cow<'_, [u8]>, Detached)> {
        use wasmparser::{Chunk, ExternalKind, Parser, Payload, TypeRef};
        let mut parser = Parser::new(0);
        let (mut at, mut section) = (0, None::<Range<usize>>);
        let (mut memories, mut exported, mut custom_after) = (0u32, false, true);
        let mut segments = Vec::new();
        loop {
            let Ok(Chunk::Parsed { consumed, payload }) = parser.parse(&module[at..], true) else {
                return None;
            };
            let range = at..at + consumed;
            at += consumed;
            if section.is_some() {
                custom_after &= matches!(payload, Payload::CustomSection(_) | Payload::End(_));
            }
            match payload {
                Payload::ImportSection(r) => {
                    for import in r {
                        if matches!(import.ok()?.ty, TypeRef::Memory(_)) {
                            return None;
                        }
                    }
                }
                Payload::MemorySection(r) => {
                    for memory in r {
                        if memory.ok()?.memory64 {
                            return None;
                        }
                        memories += 1;
                    }
                }
                Payload::ExportSection(r) => {
                    for export in r {
                        exported |= export.ok()?.kind == ExternalKind::Memory;
                    }
                }
                Payload::StartSection { .. } | Payload::DataCountSection { .. } => return None,
                Payload::CodeSectionStart { size, .. } => {
                    parser.skip_section();
                    // A top-level parser does not check the size against the bytes.
                    at = at
                        .checked_add(size as usize)
                        .filter(|&e| e <= module.len())?;
                }
                Payload::DataSection(r) => {
                    if section.is_some() {
                        return None;
                    }
                    let body = r.range();
                    segments = read(BinaryReader::new(&module[body.clone()], body.start))?;
                    section = Some(range);
                }
                Payload::End(_) => break,
                _ => {}
            }
        }
        let section = section?;
        if memories != 1 || !exported {
            return None;
        }
        let rest = if custom_after {
            // Custom sections mean nothing to the interpreter; the verdict still covers them.
            Cow::Borrowed(&module[..section.start])
        } else {
            Cow::Owned([&module[..section.start], &module[section.end..]].concat())
        };
        let module = Arc::clone(module);
        Some((rest, Detached { module, segments }))
    }

    /// Writes the segments in module order, as wasmi's instantiation does: the first that
    /// does not fit fails it with wasmi's own error.
    pub fn write(&self, store: &mut impl AsContextMut, memory: Memory) -> Result<(), Error> {
        for &(offset, start, len) in &self.segments {
            let bytes = &self.module[start as usize..][..len as usize];
            memory.write(&mut *store, offset as usize, bytes)?;
        }
        Ok(())
    }
}

/// Reads a data section body, segment by segment: `0x00` (active, memory 0), `i32.const`
/// offset, `end`, then the bytes. wasmparser's `Data` reader decodes each offset expression
/// twice, which took two thirds of the time this saves; the encoding is fixed by the spec.
fn read(mut r: BinaryReader) -> Option<Vec<(u32, u32, u32)>> {
    const ACTIVE_MEMORY_0: u8 = 0x00;
    const I32_CONST: u8 = 0x41;
    const END: u8 = 0x0b;
    let count = r.read_var_u32().ok()?;
    // A segment takes at least 5 bytes: a lying count cannot reserve more than the section.
    let mut segments = Vec::with_capacity((count as usize).min(r.bytes_remaining() / 5));
    for _ in 0..count {
        if r.read_u8().ok()? != ACTIVE_MEMORY_0 || r.read_u8().ok()? != I32_CONST {
            return None;
        }
        let offset = r.read_var_i32().ok()? as u32;
        if r.read_u8().ok()? != END {
            return None;
        }
        let len = r.read_var_u32().ok()?;
        let start = u32::try_from(r.original_position()).ok()?;
        r.read_bytes(len as usize).ok()?;
        segments.push((offset, start, len));
    }
    r.eof().then_some(segments)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A module with one exported memory, `extra` inside it and one active data segment.
    fn module(extra: &str) -> Arc<[u8]> {
        let wat = format!(
            r#"(module (memory (export "memory") 1) {extra} (data (i32.const 8) "bytes"))"#
        );
        wat::parse_str(wat).unwrap().into()
    }

    #[test]
    fn the_data_section_is_detached_where_nothing_can_tell() {
        let bytes = module(
            r#"(func (export "f") (result i32) i32.const 7) (@custom "after" (after data) "x")"#,
        );
        let (rest, data) = Detached::split(&bytes).expect("detached");
        // Only custom sections follow the data section: the rest is a prefix, not a copy.
        assert!(matches!(rest, Cow::Borrowed(_)));
        assert!(rest.len() < bytes.len() - 5);
        assert_eq!(data.segments.len(), 1);
        let (offset, start, len) = data.segments[0];
        assert_eq!(offset, 8);
        assert_eq!(&bytes[start as usize..][..len as usize], b"bytes");
        wasmi::Module::new(&wasmi::Engine::default(), &rest).expect("the rest is a module");
    }

    #[test]
    fn anything_that_could_tell_keeps_the_data_section() {
        let kept = [
            // wasmi would run the start function before the data is written.
            r#"(func $s) (start $s)"#,
            // Passive segments (and the data count section they bring) can be named by code.
            r#"(data "passive") (func (data.drop 1))"#,
            // A second memory, a segment into it.
            r#"(memory 1) (data (memory 1) (i32.const 0) "x")"#,
            // An offset that is not an `i32.const`.
            r#"(global $g i32 (i32.const 0)) (data (global.get $g) "x")"#,
        ];
        for extra in kept {
            assert!(Detached::split(&module(extra)).is_none(), "{extra}");
        }
        let wasm = |wat: &str| -> Arc<[u8]> { wat::parse_str(wat).unwrap().into() };
        let modules = [
            // Memory 0 is not the exported one: the segments would be written elsewhere.
            r#"(module (import "env" "memory" (memory 1)) (memory (export "m") 1)
                 (data (i32.const 0) "x"))"#,
            r#"(module (memory 1) (memory (export "m") 1) (data (i32.const 0) "x"))"#,
            // No memory to write into.
            r#"(module (memory 1) (data (i32.const 0) "x"))"#,
            // (An `i32.const` offset into a 64-bit memory is invalid; the verdict says so.)
            r#"(module (memory (export "memory") i64 1) (data (i32.const 0) "x"))"#,
            // Nothing to gain.
            r#"(module (memory (export "m") 1))"#,
        ];
        for wat in modules {
            assert!(Detached::split(&wasm(wat)).is_none(), "{wat}");
        }
        // Bytes that are not a module: a data section cut short, a code section declaring
        // more bytes than there are.
        for bytes in [
            &b"\0asm\x01\0\0\0\x0b\xff"[..],
            b"\0asm\x01\0\0\0\x0a\xe8\x07\x00",
        ] {
            assert!(Detached::split(&Arc::from(bytes)).is_none());
        }
    }

    /// A module of `n` one-instruction functions, the last one `last`.
    fn many_functions(n: usize, last: &str) -> Arc<[u8]> {
        let mut wat = String::from("(module");
        for _ in 1..n {
            wat.push_str(" (func nop)");
        }
        wat.push_str(&format!(" (func {last}))"));
        wat::parse_str(wat).unwrap().into()
    }

    /// Waits for the verdict without helping, as a start-up that takes long does.
    fn verdict_alone(v: &Validation) -> Result<(), String> {
        loop {
            if let Some(verdict) = v.known() {
                return verdict;
            }
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
    }

    #[test]
    fn the_queue_of_bodies_stays_bounded_while_nobody_helps() {
        let n = 3 * QUEUED_BODIES;
        let good = many_functions(n, "nop");
        let v = Validation::start(&good);
        assert_eq!(verdict_alone(&v), Ok(()));
        let peak = v.work.lock().peak;
        assert!(peak <= QUEUED_BODIES + 1, "peak {peak}");
        // The last body is validated (and its error reported) all the same.
        let bad = many_functions(n, "i32.add");
        let v = Validation::start(&bad);
        let want = wasmi::Module::validate(&wasmi::Engine::default(), &bad).unwrap_err();
        assert_eq!(verdict_alone(&v), Err(want.to_string()));
    }
}
