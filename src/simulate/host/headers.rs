//! Header maps: `proxy_{get,add,replace,remove}_header_map_value`,
//! `proxy_{get,set}_header_map_pairs`, `proxy_get_header_map_size`.
//!
//! Map types 0–3 are the stream's request/response headers and trailers, 6/7 the HTTP
//! callout response. Availability follows Envoy: a map is usable only while the context
//! holds it ([`Access`]); access-log copies are read-only.

use super::mem::{self, finish};
use super::{status, Registrar, C};
use crate::abi::AbiVersion;
use crate::simulate::headers::HeaderMap;
use crate::simulate::limits::{max_header_map_bytes, max_header_map_entries};
use std::rc::Rc;
use wasmi::Error;

#[derive(Clone, Copy, PartialEq)]
enum Mode {
    Read,
    Write,
}

/// Runs `f` on map `ty` of the effective context, or returns the status Envoy gives when
/// the map is not available (`Err`). The map's entries are charged to the call's fuel (every
/// map operation scans it).
fn with_map<R>(
    c: &mut C<'_>,
    ty: i32,
    mode: Mode,
    f: impl FnOnce(&mut HeaderMap) -> R,
) -> Result<R, i32> {
    let mut entries = 0;
    let r = with_map_uncharged(c, ty, mode, |m| {
        entries = m.len();
        f(m)
    });
    // Owed only: the hostcall's next memory access (every one makes one) traps when spent.
    super::owe(c, entries as u64, 0);
    r
}

fn with_map_uncharged<R>(
    c: &mut C<'_>,
    ty: i32,
    mode: Mode,
    f: impl FnOnce(&mut HeaderMap) -> R,
) -> Result<R, i32> {
    let s = c.data_mut();
    if !(0..=7).contains(&ty) {
        return Err(status::BAD_ARGUMENT);
    }
    if ty == 6 || ty == 7 {
        if mode == Mode::Write {
            return Err(status::BAD_ARGUMENT);
        }
        let Some(resp) = s.callout.as_mut() else {
            return Err(status::BAD_ARGUMENT);
        };
        let m = if ty == 6 {
            &mut resp.headers
        } else {
            &mut resp.trailers
        };
        return Ok(f(m));
    }
    if ty == 4 || ty == 5 {
        // gRPC metadata: readable only in its own callback, as Envoy keeps it only then.
        if mode == Mode::Write {
            return Err(status::BAD_ARGUMENT);
        }
        let m = s.grpc_in.as_mut().and_then(|g| {
            if ty == 4 {
                g.initial.as_mut()
            } else {
                g.trailing.as_mut()
            }
        });
        return m.map(f).ok_or(status::BAD_ARGUMENT);
    }
    let Some(info) = s.contexts.get(&s.effective) else {
        return Err(status::BAD_ARGUMENT);
    };
    let Some(stream) = info.stream.clone() else {
        return Err(status::BAD_ARGUMENT);
    };
    let a = info.access;
    let live = match ty {
        0 => a.req_headers,
        1 => a.req_trailers,
        2 => a.resp_headers,
        _ => a.resp_trailers,
    };
    let mut st = stream.borrow_mut();
    if live {
        if mode == Mode::Write && (ty == 0 || ty == 2) {
            let st = &mut *st;
            let (slot, m) = if ty == 0 {
                (&mut st.headers_before_write[0], &st.req_headers)
            } else {
                (&mut st.headers_before_write[1], &st.resp_headers)
            };
            if slot.is_none() {
                *slot = Some(m.clone());
            }
        }
        let m = match ty {
            0 => &mut st.req_headers,
            1 => &mut st.req_trailers,
            2 => &mut st.resp_headers,
            _ => &mut st.resp_trailers,
        };
        return Ok(f(m));
    }
    if a.log && ty != 1 {
        if mode == Mode::Write {
            return Err(status::BAD_ARGUMENT);
        }
        // Read-only (writes were refused above), so the maps themselves can be lent.
        let m = match ty {
            0 => &mut st.log_req_headers,
            2 => &mut st.resp_headers,
            _ => &mut st.resp_trailers,
        };
        return Ok(f(m));
    }
    Err(status::BAD_ARGUMENT)
}

/// `proxy_add_header_map_value` / `proxy_replace_header_map_value`: reads the key and the
/// value (straight into a shared string) and applies `edit` to map `ty`.
fn write_value(
    c: &mut C<'_>,
    ty: i32,
    (kp, kl): (i32, i32),
    (vp, vl): (i32, i32),
    edit: fn(&mut HeaderMap, &str, Rc<str>),
) -> Result<i32, Error> {
    let (k, v) = match (mem::read_string(c, kp, kl), mem::read_shared(c, vp, vl)) {
        (Ok(k), Ok(v)) => (k, v),
        (Err(e), _) | (_, Err(e)) => return finish(Err(e)),
    };
    let r = with_map(c, ty, Mode::Write, |m| {
        if m.len() >= max_header_map_entries() {
            return Err(super::over_budget(
                "a header map grew past its entry limit",
                max_header_map_entries(),
            ));
        }
        if m.byte_size() + k.len() + v.len() > max_header_map_bytes() {
            return Err(super::over_budget(
                "a header map grew past its byte limit",
                max_header_map_bytes(),
            ));
        }
        edit(m, &k, v);
        Ok(())
    });
    match r {
        Ok(Ok(())) => Ok(status::OK),
        Ok(Err(e)) => Err(e),
        Err(s) => Ok(s),
    }
}

pub fn register(r: &mut Registrar<'_>) -> Result<(), Error> {
    r.env(
        "proxy_get_header_map_value",
        |mut c: C<'_>, ty: i32, kp: i32, kl: i32, vp: i32, vl: i32| -> Result<i32, Error> {
            let key = match mem::read_string(&c, kp, kl) {
                Ok(k) => k,
                Err(e) => return finish(Err(e)),
            };
            let abi = c.data().abi;
            let value = match with_map(&mut c, ty, Mode::Read, |m| m.get_shared(&key)) {
                Ok(v) => v,
                Err(s) => return Ok(s),
            };
            match value {
                Some(v) => finish(mem::copy_out(&mut c, v.as_bytes(), vp, vl).map(|_| status::OK)),
                // ABI 0.1.0 hosts answer OK with an empty value for a missing header.
                None if abi == AbiVersion::V0_1_0 => {
                    finish(mem::copy_out(&mut c, b"", vp, vl).map(|_| status::OK))
                }
                None => Ok(status::NOT_FOUND),
            }
        },
    )?;
    r.env(
        "proxy_add_header_map_value",
        |mut c: C<'_>, ty: i32, kp: i32, kl: i32, vp: i32, vl: i32| -> Result<i32, Error> {
            write_value(&mut c, ty, (kp, kl), (vp, vl), HeaderMap::add_shared)
        },
    )?;
    r.env(
        "proxy_replace_header_map_value",
        |mut c: C<'_>, ty: i32, kp: i32, kl: i32, vp: i32, vl: i32| -> Result<i32, Error> {
            write_value(&mut c, ty, (kp, kl), (vp, vl), HeaderMap::replace_shared)
        },
    )?;
    r.env(
        "proxy_remove_header_map_value",
        |mut c: C<'_>, ty: i32, kp: i32, kl: i32| -> Result<i32, Error> {
            let k = match mem::read_string(&c, kp, kl) {
                Ok(k) => k,
                Err(e) => return finish(Err(e)),
            };
            Ok(with_map(&mut c, ty, Mode::Write, |m| m.remove(&k))
                .map(|_| status::OK)
                .unwrap_or_else(|s| s))
        },
    )?;
    r.env(
        "proxy_get_header_map_pairs",
        |mut c: C<'_>, ty: i32, pp: i32, lp: i32| -> Result<i32, Error> {
            if !(0..=7).contains(&ty) {
                return Ok(status::BAD_ARGUMENT);
            }
            // Envoy answers an unavailable map with OK and an empty result.
            let bytes = with_map(&mut c, ty, Mode::Read, |m| m.to_pairs()).unwrap_or_default();
            finish(mem::copy_out(&mut c, &bytes, pp, lp).map(|_| status::OK))
        },
    )?;
    r.env(
        "proxy_set_header_map_pairs",
        |mut c: C<'_>, ty: i32, pp: i32, pl: i32| -> Result<i32, Error> {
            let new = match mem::with_slice(&c, pp, pl, HeaderMap::from_pairs_bytes) {
                Ok(m) => m,
                Err(e) => return finish(Err(e)),
            };
            Ok(with_map(&mut c, ty, Mode::Write, |m| *m = new)
                .map(|_| status::OK)
                .unwrap_or_else(|s| s))
        },
    )?;
    r.env(
        "proxy_get_header_map_size",
        |mut c: C<'_>, ty: i32, sp: i32| -> Result<i32, Error> {
            match with_map(&mut c, ty, Mode::Read, |m| m.byte_size()) {
                Ok(n) => finish(mem::write_u32(&mut c, sp, n as u32).map(|_| status::OK)),
                Err(s) => Ok(s),
            }
        },
    )?;
    Ok(())
}
