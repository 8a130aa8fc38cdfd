//! State shared by the VMs of one workload (Envoy shares it by `vm_id`): the simulated
//! clock and timers, shared data with CAS, shared queues. Plus their hostcalls.

use super::mem::{self, finish, Fault};
use super::{status, Registrar, C};
use std::collections::{BTreeMap, VecDeque};
use std::rc::Rc;
use wasmi::Error;

/// Upper bound on bytes held in shared data plus queues (hostile modules).
pub fn max_shared_bytes() -> usize {
    crate::limits::get_usize(crate::limits::Limit::SharedDataBytes)
}

/// The simulated clock. Starts at a fixed instant so runs are reproducible.
#[derive(Debug, Clone)]
pub struct Clock {
    pub realtime_ns: u64,
    pub monotonic_ns: u64,
    /// (vm index, root context) → (period ns, next due monotonic ns).
    pub ticks: BTreeMap<(usize, u32), (u64, u64)>,
}

/// 2024-01-01T00:00:00Z.
pub const EPOCH_START_NS: u64 = 1_704_067_200_000_000_000;

impl Default for Clock {
    fn default() -> Self {
        Clock {
            realtime_ns: EPOCH_START_NS,
            monotonic_ns: 1_000_000_000,
            ticks: BTreeMap::new(),
        }
    }
}

impl Clock {
    pub fn schedule_tick(&mut self, vm: usize, root: u32, ms: u64, now: u64) {
        if ms == 0 {
            self.ticks.remove(&(vm, root));
        } else {
            let period = ms.saturating_mul(1_000_000);
            self.ticks
                .insert((vm, root), (period, now.saturating_add(period)));
        }
    }

    /// The earliest timer due at or before monotonic time `until`.
    pub fn next_due(&self, until: u64) -> Option<((usize, u32), u64)> {
        self.ticks
            .iter()
            .map(|(k, (_, due))| (*k, *due))
            .filter(|(_, due)| *due <= until)
            .min_by_key(|(k, due)| (*due, *k))
    }

    /// Moves both clocks to monotonic time `to` (never backwards).
    pub fn set_monotonic(&mut self, to: u64) {
        if to > self.monotonic_ns {
            self.realtime_ns = self.realtime_ns.saturating_add(to - self.monotonic_ns);
            self.monotonic_ns = to;
        }
    }
}

#[derive(Debug, Clone)]
pub struct Queue {
    pub vm_id: String,
    pub name: String,
    /// (vm index, root context) that receives `proxy_on_queue_ready`.
    pub owner: (usize, u32),
    pub items: VecDeque<Vec<u8>>,
}

/// Cloned only by [`Shared::mark`] (the clone shares the run budget, marked apart).
#[derive(Debug, Default, Clone)]
pub struct Shared {
    pub clock: Clock,
    /// (vm_id, key) → (value, cas).
    pub data: BTreeMap<(String, String), (Vec<u8>, u32)>,
    pub next_cas: u32,
    pub queues: BTreeMap<u32, Queue>,
    pub next_queue_token: u32,
    /// `proxy_on_queue_ready` events waiting to be delivered: (vm, root, token).
    pub ready: VecDeque<(usize, u32, u32)>,
    pub bytes: usize,
    /// The run's fuel and log budgets (`simulate::budget`).
    pub budget: Rc<crate::simulate::budget::RunBudget>,
}

/// Everything a start-up can change in [`Shared`], kept to undo the start-up of a module
/// found invalid after it ran (`Vm::load`).
pub struct SharedMark {
    state: Shared,
    budget: crate::simulate::budget::BudgetMark,
}

impl Shared {
    pub fn mark(&self) -> SharedMark {
        SharedMark {
            state: self.clone(),
            budget: self.budget.mark(),
        }
    }

    pub fn restore(&mut self, m: SharedMark) {
        self.budget.restore(m.budget);
        *self = m.state;
    }

    fn cas(&mut self) -> u32 {
        self.next_cas = self.next_cas.wrapping_add(1);
        if self.next_cas == 0 {
            self.next_cas = 1;
        }
        self.next_cas
    }

    fn charge(&mut self, add: usize, remove: usize) -> Result<(), Fault> {
        let next = self.bytes.saturating_sub(remove).saturating_add(add);
        if next > max_shared_bytes() {
            return Err(Fault::Trap(Error::new(format!(
                "simulator limit: shared data and queues exceed {} bytes (`shared-data-bytes`)",
                max_shared_bytes()
            ))));
        }
        self.bytes = next;
        Ok(())
    }
}

pub fn register(r: &mut Registrar<'_>) -> Result<(), Error> {
    shared_data(r)?;
    queues(r)
}

/// `proxy_get_shared_data` / `proxy_set_shared_data` (with CAS), per `vm_id`.
fn shared_data(r: &mut Registrar<'_>) -> Result<(), Error> {
    r.env(
        "proxy_get_shared_data",
        |mut c: C<'_>, kp: i32, kl: i32, vp: i32, vl: i32, cas_ptr: i32| -> Result<i32, Error> {
            finish((|| {
                let key = mem::read_string(&c, kp, kl)?;
                let vm_id = c.data().plugin.vm_id.clone();
                let found = c.data().shared.borrow().data.get(&(vm_id, key)).cloned();
                let Some((value, cas)) = found else {
                    return Ok(status::NOT_FOUND);
                };
                mem::copy_out(&mut c, &value, vp, vl)?;
                mem::write_u32(&mut c, cas_ptr, cas)?;
                Ok(status::OK)
            })())
        },
    )?;
    r.env(
        "proxy_set_shared_data",
        |c: C<'_>, kp: i32, kl: i32, vp: i32, vl: i32, cas: i32| -> Result<i32, Error> {
            finish((|| {
                let key = mem::read_string(&c, kp, kl)?;
                let value = mem::read(&c, vp, vl)?;
                let vm_id = c.data().plugin.vm_id.clone();
                let mut sh = c.data().shared.borrow_mut();
                let k = (vm_id, key);
                let old = sh.data.get(&k).map(|(v, c)| (v.len(), *c));
                if let Some((_, stored)) = old {
                    if cas != 0 && cas as u32 != stored {
                        return Ok(status::CAS_MISMATCH);
                    }
                }
                let add = value.len()
                    + if old.is_none() {
                        k.0.len() + k.1.len()
                    } else {
                        0
                    };
                sh.charge(add, old.map(|o| o.0).unwrap_or(0))?;
                let new_cas = sh.cas();
                sh.data.insert(k, (value, new_cas));
                Ok(status::OK)
            })())
        },
    )?;
    Ok(())
}

/// Shared queues: register, resolve, enqueue, dequeue.
fn queues(r: &mut Registrar<'_>) -> Result<(), Error> {
    r.env(
        "proxy_register_shared_queue",
        |mut c: C<'_>, np: i32, nl: i32, tp: i32| -> Result<i32, Error> {
            finish((|| {
                let name = mem::read_string(&c, np, nl)?;
                let s = c.data();
                let owner = (s.vm_index, s.root_of(s.effective));
                let vm_id = s.plugin.vm_id.clone();
                let token = {
                    let mut sh = s.shared.borrow_mut();
                    let existing = sh
                        .queues
                        .iter()
                        .find(|(_, q)| q.vm_id == vm_id && q.name == name)
                        .map(|(t, _)| *t);
                    match existing {
                        Some(t) => {
                            sh.queues.get_mut(&t).expect("found above").owner = owner;
                            t
                        }
                        None => {
                            sh.charge(name.len() + 64, 0)?;
                            sh.next_queue_token += 1;
                            let t = sh.next_queue_token;
                            sh.queues.insert(
                                t,
                                Queue {
                                    vm_id,
                                    name,
                                    owner,
                                    items: VecDeque::new(),
                                },
                            );
                            t
                        }
                    }
                };
                mem::write_u32(&mut c, tp, token)?;
                Ok(status::OK)
            })())
        },
    )?;
    r.env(
        "proxy_resolve_shared_queue",
        |mut c: C<'_>, vp: i32, vl: i32, np: i32, nl: i32, tp: i32| -> Result<i32, Error> {
            finish((|| {
                let mut vm_id = mem::read_string(&c, vp, vl)?;
                let name = mem::read_string(&c, np, nl)?;
                if vm_id.is_empty() {
                    vm_id = c.data().plugin.vm_id.clone();
                }
                let token = c
                    .data()
                    .shared
                    .borrow()
                    .queues
                    .iter()
                    .find(|(_, q)| q.vm_id == vm_id && q.name == name)
                    .map(|(t, _)| *t);
                match token {
                    Some(t) => {
                        mem::write_u32(&mut c, tp, t)?;
                        Ok(status::OK)
                    }
                    None => Ok(status::NOT_FOUND),
                }
            })())
        },
    )?;
    r.env(
        "proxy_dequeue_shared_queue",
        |mut c: C<'_>, token: i32, vp: i32, vl: i32| -> Result<i32, Error> {
            finish((|| {
                let item = {
                    let mut sh = c.data().shared.borrow_mut();
                    let Some(q) = sh.queues.get_mut(&(token as u32)) else {
                        return Ok(status::NOT_FOUND);
                    };
                    let Some(item) = q.items.pop_front() else {
                        return Ok(status::EMPTY);
                    };
                    sh.bytes = sh.bytes.saturating_sub(item.len() + 16);
                    item
                };
                mem::copy_out(&mut c, &item, vp, vl)?;
                Ok(status::OK)
            })())
        },
    )?;
    r.env(
        "proxy_enqueue_shared_queue",
        |c: C<'_>, token: i32, vp: i32, vl: i32| -> Result<i32, Error> {
            finish((|| {
                let value = mem::read(&c, vp, vl)?;
                let mut sh = c.data().shared.borrow_mut();
                let Some(owner) = sh.queues.get(&(token as u32)).map(|q| q.owner) else {
                    return Ok(status::NOT_FOUND);
                };
                sh.charge(value.len() + 16, 0)?;
                sh.queues
                    .get_mut(&(token as u32))
                    .expect("checked")
                    .items
                    .push_back(value);
                // Delivered later, never inside the enqueue (Envoy posts a task).
                sh.ready.push_back((owner.0, owner.1, token as u32));
                Ok(status::OK)
            })())
        },
    )?;
    Ok(())
}
