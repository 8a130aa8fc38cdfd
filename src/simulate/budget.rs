//! Totals over many calls: fuel per request / `advance` / run, log bytes per run, and linear
//! memory over every VM of the process. Per-call limits live in `vm::Limits`.

use super::limits;
use super::vm::Limits;
use std::cell::Cell;
use std::sync::atomic::{AtomicUsize, Ordering};

/// What a run is doing now: the scope whose fuel budget applies besides the run's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    Request,
    Advance,
}

/// The fuel and log budgets of one run, shared by its VMs (through `host::shared::Shared`).
#[derive(Debug)]
pub struct RunBudget {
    run_total: u64,
    run_left: Cell<u64>,
    scope: Cell<Option<(Scope, u64, u64)>>,
    per_request: u64,
    per_advance: u64,
    log_left: Cell<u64>,
    logs_dropped: Cell<u64>,
}

impl Default for RunBudget {
    fn default() -> Self {
        RunBudget::new(&Limits::default())
    }
}

/// Which budget bounded a call's fuel (it names the budget when the call runs out).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bound {
    Call,
    Scope(Scope, u64),
    Run(u64),
}

impl RunBudget {
    pub fn new(l: &Limits) -> RunBudget {
        RunBudget {
            run_total: l.fuel_per_run,
            run_left: Cell::new(l.fuel_per_run),
            scope: Cell::new(None),
            per_request: l.fuel_per_request,
            per_advance: l.fuel_per_advance,
            log_left: Cell::new(limits::max_run_log_bytes()),
            logs_dropped: Cell::new(0),
        }
    }

    /// Starts a request or an `advance` with a fresh scope budget.
    pub fn begin(&self, scope: Scope) {
        let total = match scope {
            Scope::Request => self.per_request,
            Scope::Advance => self.per_advance,
        };
        self.scope.set(Some((scope, total, total)));
    }

    pub fn end(&self) {
        self.scope.set(None);
    }

    /// The fuel a call may use: the least of `per_call` and what is left of the scope and
    /// the run, with the budget that bounds it.
    pub fn grant(&self, per_call: u64) -> (u64, Bound) {
        let mut best = (per_call, Bound::Call);
        if let Some((s, total, left)) = self.scope.get() {
            if left < best.0 {
                best = (left, Bound::Scope(s, total));
            }
        }
        if self.run_left.get() < best.0 {
            best = (self.run_left.get(), Bound::Run(self.run_total));
        }
        best
    }

    /// Records fuel a call used.
    pub fn spend(&self, used: u64) {
        self.run_left.set(self.run_left.get().saturating_sub(used));
        if let Some((s, total, left)) = self.scope.get() {
            self.scope.set(Some((s, total, left.saturating_sub(used))));
        }
    }

    /// Takes `bytes` from the run's log budget; false once it is spent (the line is dropped).
    pub fn take_log(&self, bytes: usize) -> bool {
        let left = self.log_left.get();
        if bytes as u64 > left {
            self.log_left.set(0);
            self.logs_dropped.set(self.logs_dropped.get() + 1);
            return false;
        }
        self.log_left.set(left - bytes as u64);
        true
    }

    pub fn logs_dropped(&self) -> u64 {
        self.logs_dropped.get()
    }

    /// What is left of every budget now, to go back to with [`RunBudget::restore`].
    pub fn mark(&self) -> BudgetMark {
        BudgetMark {
            run_left: self.run_left.get(),
            scope: self.scope.get(),
            log_left: self.log_left.get(),
            logs_dropped: self.logs_dropped.get(),
        }
    }

    pub fn restore(&self, m: BudgetMark) {
        self.run_left.set(m.run_left);
        self.scope.set(m.scope);
        self.log_left.set(m.log_left);
        self.logs_dropped.set(m.logs_dropped);
    }
}

/// A [`RunBudget`]'s counters at one moment.
#[derive(Debug, Clone, Copy)]
pub struct BudgetMark {
    run_left: u64,
    scope: Option<(Scope, u64, u64)>,
    log_left: u64,
    logs_dropped: u64,
}

impl Bound {
    /// Why a call that ran out of fuel stopped, naming the budget.
    pub fn describe(self, per_call: u64) -> String {
        let (what, n, raise) = match self {
            Bound::Call => (
                "fuel budget per call",
                per_call,
                "`--fuel N` or `simulate.fuel` in the configuration",
            ),
            Bound::Scope(Scope::Request, n) => {
                ("fuel budget per request", n, "`--limit fuel-per-request=N`")
            }
            Bound::Scope(Scope::Advance, n) => {
                ("fuel budget per advance", n, "`--limit fuel-per-advance=N`")
            }
            Bound::Run(n) => ("fuel budget per run", n, "`--limit fuel-per-run=N`"),
        };
        format!(
            "exhausted its {what} ({n} units, hostcalls included): an infinite loop or far too much work; if the work is meant, raise it with {raise}"
        )
    }
}

/// Linear memory reserved by every live VM of the process.
static MEMORY_IN_USE: AtomicUsize = AtomicUsize::new(0);

/// Bytes of linear memory all live VMs hold now.
pub fn memory_in_use() -> usize {
    MEMORY_IN_USE.load(Ordering::Relaxed)
}

/// Which memory limit refused a growth.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Denied {
    PerVm,
    Total,
}

/// One VM's resource limiter: wasmi's per-store limits plus a reservation against the
/// process-wide total, returned when the VM is dropped.
#[derive(Debug)]
pub struct MemoryLimiter {
    inner: wasmi::StoreLimits,
    per_vm: usize,
    total: usize,
    reserved: usize,
    /// Growth reserved but not yet confirmed (given back if the growth fails).
    pending: usize,
    pub denied: Option<Denied>,
}

impl MemoryLimiter {
    pub fn new(inner: wasmi::StoreLimits, per_vm: usize, total: usize) -> MemoryLimiter {
        MemoryLimiter {
            inner,
            per_vm,
            total,
            reserved: 0,
            pending: 0,
            denied: None,
        }
    }

    fn reserve(&mut self, bytes: usize) -> bool {
        let mut cur = MEMORY_IN_USE.load(Ordering::Relaxed);
        loop {
            let Some(next) = cur.checked_add(bytes).filter(|n| *n <= self.total) else {
                return false;
            };
            match MEMORY_IN_USE.compare_exchange_weak(
                cur,
                next,
                Ordering::AcqRel,
                Ordering::Relaxed,
            ) {
                Ok(_) => {
                    self.reserved += bytes;
                    return true;
                }
                Err(actual) => cur = actual,
            }
        }
    }

    fn release(&mut self, bytes: usize) {
        let bytes = bytes.min(self.reserved);
        self.reserved -= bytes;
        MEMORY_IN_USE.fetch_sub(bytes, Ordering::AcqRel);
    }
}

impl Drop for MemoryLimiter {
    fn drop(&mut self) {
        self.release(self.reserved);
    }
}

use wasmi_core::LimiterError;

impl wasmi::ResourceLimiter for MemoryLimiter {
    fn memory_growing(
        &mut self,
        current: usize,
        desired: usize,
        maximum: Option<usize>,
    ) -> Result<bool, LimiterError> {
        if desired > self.per_vm {
            self.denied = Some(Denied::PerVm);
        }
        let ok = self.inner.memory_growing(current, desired, maximum)?;
        if !ok {
            return Ok(false);
        }
        let delta = desired.saturating_sub(current);
        if !self.reserve(delta) {
            self.denied = Some(Denied::Total);
            return Err(LimiterError::ResourceLimiterDeniedAllocation);
        }
        self.pending = delta;
        Ok(true)
    }

    fn memory_grow_failed(
        &mut self,
        error: &wasmi::errors::MemoryError,
    ) -> Result<(), LimiterError> {
        let p = std::mem::take(&mut self.pending);
        self.release(p);
        self.inner.memory_grow_failed(error)
    }

    fn table_growing(
        &mut self,
        current: usize,
        desired: usize,
        maximum: Option<usize>,
    ) -> Result<bool, LimiterError> {
        self.inner.table_growing(current, desired, maximum)
    }

    fn table_grow_failed(&mut self, error: &wasmi::errors::TableError) -> Result<(), LimiterError> {
        self.inner.table_grow_failed(error)
    }

    fn instances(&self) -> usize {
        self.inner.instances()
    }

    fn tables(&self) -> usize {
        self.inner.tables()
    }

    fn memories(&self) -> usize {
        self.inner.memories()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grant_names_the_binding_budget() {
        let l = Limits {
            fuel_per_call: 100,
            fuel_per_request: 150,
            fuel_per_run: 1000,
            ..Limits::default()
        };
        let b = RunBudget::new(&l);
        assert_eq!(b.grant(100), (100, Bound::Call));
        b.begin(Scope::Request);
        b.spend(80);
        assert_eq!(b.grant(100), (70, Bound::Scope(Scope::Request, 150)));
        b.end();
        b.spend(850);
        assert_eq!(b.grant(100), (70, Bound::Run(1000)));
    }

    #[test]
    fn log_budget_drops_and_counts() {
        let b = RunBudget::default();
        assert!(b.take_log(10));
        assert!(!b.take_log(usize::MAX));
        assert_eq!(b.logs_dropped(), 1);
    }
}
