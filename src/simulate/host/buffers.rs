//! Buffers: `proxy_get_buffer_status`, `proxy_get_buffer_bytes`, `proxy_set_buffer_bytes`
//! and the ABI 0.1.0 `proxy_get_configuration`.

use super::mem::{self, finish};
use super::{status, HostState, HttpState, Registrar, C};
use crate::simulate::limits::max_body_bytes;
use std::cell::Ref;
use wasmi::Error;

/// A buffer borrowed from the host state (no copy per hostcall).
enum Buf<'a> {
    /// The stream's request (`false`) or response (`true`) body.
    Body(Ref<'a, HttpState>, bool),
    Bytes(&'a [u8]),
}

impl std::ops::Deref for Buf<'_> {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        match self {
            Buf::Body(st, false) => &st.req_body,
            Buf::Body(st, true) => &st.resp_body,
            Buf::Bytes(b) => b,
        }
    }
}

/// Buffer `ty` as the effective context sees it, or the status for "unavailable".
fn buffer(s: &HostState, ty: i32) -> Result<Buf<'_>, i32> {
    let body = |response: bool| -> Result<Buf<'_>, i32> {
        let info = s.contexts.get(&s.effective).ok_or(status::NOT_FOUND)?;
        let stream = info.stream.as_ref().ok_or(status::NOT_FOUND)?;
        let live = if ty >= 2 {
            if response {
                info.access.up_data
            } else {
                info.access.down_data
            }
        } else if response {
            info.access.resp_body
        } else {
            info.access.req_body
        };
        if !live {
            return Err(status::NOT_FOUND);
        }
        Ok(Buf::Body(stream.borrow(), response))
    };
    match ty {
        0 => body(false),
        1 => body(true),
        // A network filter's DownstreamData / UpstreamData (the connection's buffers).
        2 => body(false),
        3 => body(true),
        4 => s
            .callout
            .as_ref()
            .map(|r| Buf::Bytes(&r.body))
            .ok_or(status::NOT_FOUND),
        5 => (s.grpc_in.as_ref())
            .and_then(|g| g.message.as_ref())
            .map(|m| Buf::Bytes(m))
            .ok_or(status::NOT_FOUND),
        6 => Ok(Buf::Bytes(&s.plugin.vm_configuration)),
        7 if s.in_configure => Ok(Buf::Bytes(&s.plugin_of_effective().configuration)),
        7 | 8 => Err(status::NOT_FOUND),
        _ => Err(status::BAD_ARGUMENT),
    }
}

/// Envoy's body-buffer edit rules: prepend (`0,0`), replace all (`0, >= size`), append
/// (`start >= size`); anything else is BAD_ARGUMENT.
pub fn splice(buf: &mut Vec<u8>, start: u32, len: u32, data: &[u8]) -> i32 {
    let size = buf.len() as u64;
    let (start, len) = (start as u64, len as u64);
    if start == 0 && len == 0 {
        buf.splice(0..0, data.iter().copied());
    } else if start == 0 && len >= size {
        buf.clear();
        buf.extend_from_slice(data);
    } else if start >= size {
        buf.extend_from_slice(data);
    } else {
        return status::BAD_ARGUMENT;
    }
    status::OK
}

pub fn register(r: &mut Registrar<'_>) -> Result<(), Error> {
    r.env(
        "proxy_get_buffer_status",
        |mut c: C<'_>, ty: i32, lp: i32, fp: i32| -> Result<i32, Error> {
            let len = buffer(c.data(), ty).map(|b| b.len());
            match len {
                Ok(len) => finish((|| {
                    mem::write_u32(&mut c, lp, len as u32)?;
                    mem::write_u32(&mut c, fp, 0)?;
                    Ok(status::OK)
                })()),
                Err(s) => Ok(s),
            }
        },
    )?;
    r.env(
        "proxy_get_buffer_bytes",
        |mut c: C<'_>, ty: i32, start: i32, max: i32, pp: i32, lp: i32| -> Result<i32, Error> {
            let (start, max) = (start as u32, max as u32);
            if start.checked_add(max).is_none() {
                return Ok(status::BAD_ARGUMENT);
            }
            // Copies only the requested range (the module's allocator runs while we write).
            let part = buffer(c.data(), ty).map(|b| {
                let from = (start as usize).min(b.len());
                let to = (start as usize + max as usize).min(b.len());
                b[from..to].to_vec()
            });
            match part {
                // Before cpp-host #303 an empty read left the module's out slots untouched, so
                // an SDK that reads them anyway sees what an earlier call left there.
                Ok(b) if b.is_empty() && !c.data().profile.empty_read_writes_null() => {
                    Ok(status::OK)
                }
                Ok(b) => finish(mem::copy_out(&mut c, &b, pp, lp).map(|_| status::OK)),
                Err(s) => Ok(s),
            }
        },
    )?;
    r.env(
        "proxy_set_buffer_bytes",
        |c: C<'_>, ty: i32, start: i32, len: i32, dp: i32, dl: i32| -> Result<i32, Error> {
            let data = match mem::read(&c, dp, dl) {
                Ok(d) => d,
                Err(e) => return finish(Err(e)),
            };
            if !(0..=3).contains(&ty) {
                return Ok(match buffer(c.data(), ty) {
                    Ok(_) => status::BAD_ARGUMENT,
                    Err(s) => s,
                });
            }
            if let Err(s) = buffer(c.data(), ty).map(drop) {
                return Ok(s);
            }
            let s = c.data();
            let stream = s
                .contexts
                .get(&s.effective)
                .and_then(|i| i.stream.clone())
                .expect("checked by buffer");
            let mut st = stream.borrow_mut();
            let st = &mut *st;
            let (before, buf) = if ty % 2 == 0 {
                (&mut st.body_before_write[0], &mut st.req_body)
            } else {
                (&mut st.body_before_write[1], &mut st.resp_body)
            };
            // What the splice can grow the buffer to (a replaced range shrinks it).
            let kept = buf.len() - (len as u32 as usize).min(buf.len());
            if kept.saturating_add(data.len()) > max_body_bytes() {
                return Err(super::over_budget(
                    "a body buffer grew past its byte limit",
                    max_body_bytes(),
                ));
            }
            if before.is_none() {
                *before = Some(buf.clone());
            }
            Ok(splice(buf, start as u32, len as u32, &data))
        },
    )?;
    // ABI 0.1.0 only (0.2.x reads configuration as buffers 6 and 7).
    r.env(
        "proxy_get_configuration",
        |mut c: C<'_>, pp: i32, lp: i32| -> Result<i32, Error> {
            // Plugin configuration inside on_configure, VM configuration otherwise.
            let s = c.data();
            let plugin = s.plugin_of_effective().clone(); // an Rc: the bytes are not copied
            let cfg = if s.in_configure {
                &plugin.configuration
            } else {
                &plugin.vm_configuration
            };
            finish(mem::copy_out(&mut c, cfg, pp, lp).map(|_| status::OK))
        },
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn envoy_splice_rules() {
        let mut b = b"hello".to_vec();
        assert_eq!(splice(&mut b, 0, 0, b">"), status::OK);
        assert_eq!(b, b">hello");
        assert_eq!(splice(&mut b, 6, 0, b"<"), status::OK);
        assert_eq!(b, b">hello<");
        assert_eq!(splice(&mut b, 0, 100, b"x"), status::OK);
        assert_eq!(b, b"x");
        assert_eq!(splice(&mut b, 0, 0, b""), status::OK);
        let mut b = b"hello".to_vec();
        assert_eq!(splice(&mut b, 1, 2, b"zz"), status::BAD_ARGUMENT);
        assert_eq!(b, b"hello");
    }
}
