//! The end of a stream: `proxy_on_log`, `proxy_on_done` and `proxy_on_delete` for every Wasm
//! filter, in the proxy's order (some proxies create a context just for the log phase).

use super::super::host::Access;
use super::super::trace::TraceEvent;
use super::super::vm::{Failure, Vm};
use super::state::Run;
use super::FilterManager;
use std::rc::Rc;

/// A callback of the log phase.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tail {
    Log,
    Done,
    Delete,
}

impl Tail {
    fn name(self) -> &'static str {
        match self {
            Tail::Log => "proxy_on_log",
            Tail::Done => "proxy_on_done",
            Tail::Delete => "proxy_on_delete",
        }
    }

    /// Runs it on stream context `ctx`; None when the module does not export it.
    fn invoke(self, vm: &mut Vm, ctx: u32) -> Option<Result<(), Failure>> {
        let (name, p) = (self.name(), ctx as i32);
        match self {
            Tail::Log => vm.ex.on_log.map(|f| vm.invoke(f, p, ctx, name)),
            Tail::Done => vm
                .ex
                .on_done
                .map(|f| vm.invoke(f, p, ctx, name).map(|_| ())),
            Tail::Delete => vm.ex.on_delete.map(|f| vm.invoke(f, p, ctx, name)),
        }
    }
}

fn tail_event(
    label: &Rc<str>,
    callback: &'static str,
    r: Result<(), Failure>,
    vm: &mut Vm,
) -> TraceEvent {
    TraceEvent {
        filter: label.clone(),
        callback: callback.into(),
        result: if r.is_ok() { "done" } else { "trap" }.into(),
        logs: vm.take_logs(),
        failure: r.err().map(Box::new),
        ..Default::default()
    }
}

impl FilterManager {
    /// on_log / on_done / on_delete for every Wasm filter, in the proxy's order.
    pub(super) fn tail(&mut self, run: &mut Run<'_>) {
        {
            let mut st = run.st.borrow_mut();
            st.end_ns = Some(self.shared.borrow().clock.realtime_ns);
            st.log_req_headers = st.req_headers.clone();
        }
        let order = if self.profile.done_before_log() {
            [Tail::Done, Tail::Log, Tail::Delete]
        } else {
            [Tail::Log, Tail::Done, Tail::Delete]
        };
        for i in 0..self.stages.len() {
            let Some(vmi) = self.stages[i].vm else {
                continue;
            };
            if !self.live(vmi, self.stages[i].root) {
                continue;
            }
            if self.profile.log_creates_context() {
                self.log_context(run, i, vmi);
            }
            let label = self.stages[i].label.clone();
            let Some(vm) = self.vm(vmi) else { continue };
            let Some(ctx) = run.lanes.ctx[i] else {
                continue;
            };
            for cb in order {
                if vm.failed.is_some() {
                    break;
                }
                if let Some(c) = vm.store.data_mut().contexts.get_mut(&ctx) {
                    c.access = Access {
                        log: cb == Tail::Log,
                        ..Default::default()
                    };
                }
                let Some(r) = cb.invoke(vm, ctx) else {
                    continue;
                };
                let ev = tail_event(&label, cb.name(), r, vm);
                vm.store.data_mut().effects.clear();
                run.report.trace.push(ev);
            }
            vm.store.data_mut().contexts.remove(&ctx);
        }
    }

    /// A proxy that logs streams which never reached a filter creates its context for the
    /// log phase.
    fn log_context(&mut self, run: &mut Run<'_>, i: usize, vmi: usize) {
        if run.lanes.ctx[i].is_some() {
            return;
        }
        let label = self.stages[i].label.clone();
        let root = self.stages[i].root;
        let st = run.st.clone();
        let Some(vm) = self.vm(vmi) else { return };
        let ctx = vm.new_context(root, Some(st));
        run.lanes.ctx[i] = Some(ctx);
        if let Some(f) = vm.ex.on_context_create {
            let params = (ctx as i32, root as i32);
            let r = vm.invoke(f, params, ctx, "proxy_on_context_create");
            let ev = tail_event(&label, "proxy_on_context_create (log phase)", r, vm);
            run.report.trace.push(ev);
        }
    }
}
