//! Logging, stream control, local replies, HTTP/gRPC callouts, timers, time, metrics,
//! effective context, `proxy_done` and foreign functions.

use super::mem::{self, finish, Fault};
use super::{
    note_unsupported, status, Effect, GrpcCall, GrpcLive, HttpCall, LocalReply, LogLevel, Metric,
    MetricKind, Registrar, C,
};
use crate::simulate::headers::HeaderMap;
use crate::simulate::limits::{
    max_histogram_samples, max_metric_ids, max_metric_name_bytes, max_metrics,
};
use wasmi::Error;

/// Registers this area's host functions (the tables decide which exist, see [`Registrar`]).
pub fn register(r: &mut Registrar<'_>) -> Result<(), Error> {
    logging(r)?;
    stream_control(r)?;
    local_reply(r)?;
    http_call(r)?;
    grpc(r)?;
    timers(r)?;
    metrics(r)?;
    contexts(r)?;
    foreign(r)
}

/// `proxy_log`, `proxy_get_log_level` (ABI 0.2.1), `proxy_get_status`.
fn logging(r: &mut Registrar<'_>) -> Result<(), Error> {
    r.env(
        "proxy_log",
        |c: C<'_>, level: i32, ptr: i32, len: i32| -> Result<i32, Error> {
            let mut c = c;
            finish((|| {
                let Some(level) = LogLevel::from_i32(level) else {
                    return Ok(status::BAD_ARGUMENT);
                };
                let msg = mem::read_string(&c, ptr, len)?;
                c.data_mut().log(level, msg);
                Ok(status::OK)
            })())
        },
    )?;
    // Envoy reports the level of its `wasm` logger; the simulator captures everything.
    r.env(
        "proxy_get_log_level",
        |mut c: C<'_>, ptr: i32| -> Result<i32, Error> {
            finish(mem::write_u32(&mut c, ptr, 0).map(|_| status::OK))
        },
    )?;
    r.env(
        "proxy_get_status",
        |mut c: C<'_>, code_ptr: i32, msg_ptr: i32, msg_len: i32| -> Result<i32, Error> {
            let (code, msg) = c.data().last_status.clone();
            finish((|| {
                mem::write_u32(&mut c, code_ptr, code)?;
                mem::copy_out(&mut c, &msg, msg_ptr, msg_len)?;
                Ok(status::OK)
            })())
        },
    )?;
    Ok(())
}

/// Stream control, deferred until the callback returns (the filter manager applies it):
/// ABI 0.1.0's `continue_request`/`continue_response`/`clear_route_cache` and 0.2.x's
/// `continue_stream`/`close_stream`.
fn stream_control(r: &mut Registrar<'_>) -> Result<(), Error> {
    r.env(
        "proxy_continue_request",
        |mut c: C<'_>| -> Result<i32, Error> {
            let ctx = c.data().effective;
            c.data_mut().push_effect(Effect::Continue {
                ctx,
                response: false,
            })?;
            Ok(status::OK)
        },
    )?;
    r.env(
        "proxy_continue_response",
        |mut c: C<'_>| -> Result<i32, Error> {
            let ctx = c.data().effective;
            c.data_mut().push_effect(Effect::Continue {
                ctx,
                response: true,
            })?;
            Ok(status::OK)
        },
    )?;
    // Envoy clears the route cache; routing is not simulated, so this is a no-op.
    r.env(
        "proxy_clear_route_cache",
        |_c: C<'_>| -> Result<i32, Error> { Ok(status::OK) },
    )?;
    r.env(
        "proxy_continue_stream",
        |mut c: C<'_>, ty: i32| -> Result<i32, Error> {
            let ctx = c.data().effective;
            match ty {
                0 | 1 => {
                    c.data_mut().push_effect(Effect::Continue {
                        ctx,
                        response: ty == 1,
                    })?;
                    Ok(status::OK)
                }
                // Envoy `Context::continueStream`: continueReading(), deferred.
                2 => {
                    c.data_mut().push_effect(Effect::NetContinue { ctx })?;
                    Ok(status::OK)
                }
                3 => Ok(status::UNIMPLEMENTED),
                _ => Ok(status::BAD_ARGUMENT),
            }
        },
    )?;
    r.env(
        "proxy_close_stream",
        |mut c: C<'_>, ty: i32| -> Result<i32, Error> {
            let ctx = c.data().effective;
            match ty {
                0 | 1 => {
                    c.data_mut().push_effect(Effect::Close {
                        ctx,
                        response: ty == 1,
                    })?;
                    Ok(status::OK)
                }
                // Envoy `Context::closeStream`: both close the downstream connection
                // (FlushWrite), deferred until the callback returns.
                2 | 3 => {
                    c.data_mut().push_effect(Effect::NetClose { ctx })?;
                    Ok(status::OK)
                }
                _ => Ok(status::BAD_ARGUMENT),
            }
        },
    )?;

    Ok(())
}

/// `proxy_send_local_response`: only stream contexts can reply.
fn local_reply(r: &mut Registrar<'_>) -> Result<(), Error> {
    r.env(
        "proxy_send_local_response",
        |mut c: C<'_>,
         code: i32,
         dp: i32,
         dl: i32,
         bp: i32,
         bl: i32,
         hp: i32,
         hl: i32,
         grpc: i32|
         -> Result<i32, Error> {
            let r = (|| {
                let details = mem::read_string(&c, dp, dl)?;
                let body = mem::read(&c, bp, bl)?;
                let headers = mem::with_slice(&c, hp, hl, HeaderMap::from_pairs_bytes)?;
                Ok::<_, Fault>((details, body, headers))
            })();
            let (details, body, headers) = match r {
                Ok(v) => v,
                Err(e) => return finish(Err(e)),
            };
            let ctx = c.data().effective;
            // Only stream (decoder) contexts can reply; on a root context it is a no-op.
            if c.data()
                .contexts
                .get(&ctx)
                .is_some_and(|i| i.stream.is_some())
            {
                let bytes = details.len() + body.len() + headers.byte_size();
                let reply = LocalReply {
                    status: code as u32,
                    details: details.split_whitespace().collect::<Vec<_>>().join("_"),
                    body,
                    headers,
                    grpc_status: (0..=16).contains(&grpc).then_some(grpc as u32),
                };
                c.data_mut()
                    .push_effect_sized(Effect::LocalReply { ctx, reply }, bytes)?;
            }
            Ok(status::OK)
        },
    )?;

    Ok(())
}

fn http_call(r: &mut Registrar<'_>) -> Result<(), Error> {
    r.env(
        "proxy_http_call",
        |mut c: C<'_>,
         up: i32,
         ul: i32,
         hp: i32,
         hl: i32,
         bp: i32,
         bl: i32,
         tp: i32,
         tl: i32,
         timeout: i32,
         token_ptr: i32|
         -> Result<i32, Error> {
            finish((|| {
                let cluster = mem::read_string(&c, up, ul)?;
                let headers = mem::with_slice(&c, hp, hl, HeaderMap::from_pairs_bytes)?;
                let body = mem::read(&c, bp, bl)?;
                let trailers = mem::with_slice(&c, tp, tl, HeaderMap::from_pairs_bytes)?;
                if timeout < 0 || cluster.is_empty() {
                    return Ok(status::BAD_ARGUMENT);
                }
                if [":path", ":method", ":authority"]
                    .iter()
                    .any(|h| headers.get(h).is_none())
                {
                    return Ok(status::BAD_ARGUMENT);
                }
                let root = c.data().root_of(c.data().effective);
                let token = c.data_mut().next_token(0);
                mem::write_u32(&mut c, token_ptr, token)?;
                let bytes = cluster.len() + headers.byte_size() + body.len() + trailers.byte_size();
                let call = HttpCall {
                    token,
                    root,
                    cluster,
                    headers,
                    body,
                    trailers,
                    timeout_ms: timeout as u32,
                };
                c.data_mut()
                    .push_effect_sized(Effect::HttpCall(call), bytes)?;
                Ok(status::OK)
            })())
        },
    )?;

    Ok(())
}

/// gRPC calls and streams, answered by the filter manager from the scenario's `grpc_calls`
/// (Envoy's `Context::grpcCall/grpcStream/grpcSend/grpcClose/grpcCancel`).
fn grpc(r: &mut Registrar<'_>) -> Result<(), Error> {
    r.env(
        "proxy_grpc_call",
        |mut c: C<'_>,
         sp: i32,
         sl: i32,
         np: i32,
         nl: i32,
         mp: i32,
         ml: i32,
         _hp: i32,
         _hl: i32,
         gp: i32,
         gl: i32,
         timeout: i32,
         token_ptr: i32|
         -> Result<i32, Error> {
            if timeout < 0 {
                return Ok(status::BAD_ARGUMENT);
            }
            let msg = match mem::read(&c, gp, gl) {
                Ok(m) => m,
                Err(e) => return finish(Err(e)),
            };
            let msg = Some((msg, timeout as u32));
            grpc_start(&mut c, (sp, sl), (np, nl), (mp, ml), token_ptr, msg)
        },
    )?;
    r.env(
        "proxy_grpc_stream",
        |mut c: C<'_>,
         sp: i32,
         sl: i32,
         np: i32,
         nl: i32,
         mp: i32,
         ml: i32,
         _hp: i32,
         _hl: i32,
         token_ptr: i32|
         -> Result<i32, Error> {
            grpc_start(&mut c, (sp, sl), (np, nl), (mp, ml), token_ptr, None)
        },
    )?;
    // Cancel resets: nothing more is delivered for the token.
    r.env(
        "proxy_grpc_cancel",
        |mut c: C<'_>, t: i32| -> Result<i32, Error> {
            match c.data_mut().grpc_live.remove(&(t as u32)) {
                Some(_) => Ok(status::OK),
                None => Ok(status::NOT_FOUND),
            }
        },
    )?;
    // Close: a call is cancelled; a stream is half-closed (its answers keep coming).
    r.env(
        "proxy_grpc_close",
        |mut c: C<'_>, t: i32| -> Result<i32, Error> {
            let token = t as u32;
            let s = c.data_mut();
            let Some(live) = s.grpc_live.get_mut(&token) else {
                return Ok(status::NOT_FOUND);
            };
            if !live.stream {
                s.grpc_live.remove(&token);
                return Ok(status::OK);
            }
            if !live.local_closed {
                live.local_closed = true;
                s.push_effect(Effect::GrpcClose { token })?;
            }
            Ok(status::OK)
        },
    )?;
    r.env(
        "proxy_grpc_send",
        |mut c: C<'_>, t: i32, p: i32, l: i32, end: i32| -> Result<i32, Error> {
            let token = t as u32;
            match c.data().grpc_live.get(&token) {
                None => return Ok(status::NOT_FOUND),
                Some(g) if !g.stream => return Ok(status::BAD_ARGUMENT),
                Some(_) => {}
            }
            let message = match mem::read(&c, p, l) {
                Ok(m) => m,
                Err(e) => return finish(Err(e)),
            };
            let bytes = message.len();
            c.data_mut()
                .push_effect_sized(Effect::GrpcSend { token, message }, bytes)?;
            if end != 0 {
                let s = c.data_mut();
                if let Some(live) = s.grpc_live.get_mut(&token) {
                    if !live.local_closed {
                        live.local_closed = true;
                        s.push_effect(Effect::GrpcClose { token })?;
                    }
                }
            }
            Ok(status::OK)
        },
    )?;

    Ok(())
}

/// The tick timer and the (deprecated) realtime clock.
fn timers(r: &mut Registrar<'_>) -> Result<(), Error> {
    r.env(
        "proxy_set_tick_period_milliseconds",
        |mut c: C<'_>, ms: i32| -> Result<i32, Error> {
            let root = c.data().root_of(c.data().effective);
            let now = c.data().shared.borrow().clock.monotonic_ns;
            let ms = ms as u32 as u64;
            c.data_mut().tick_periods.insert(root, ms);
            c.data()
                .shared
                .borrow_mut()
                .clock
                .schedule_tick(c.data().vm_index, root, ms, now);
            Ok(status::OK)
        },
    )?;
    r.env(
        "proxy_get_current_time_nanoseconds",
        |mut c: C<'_>, ptr: i32| -> Result<i32, Error> {
            let now = c.data().shared.borrow().clock.realtime_ns;
            finish(mem::write_u64(&mut c, ptr, now).map(|_| status::OK))
        },
    )?;

    Ok(())
}

fn metrics(r: &mut Registrar<'_>) -> Result<(), Error> {
    r.env(
        "proxy_define_metric",
        |mut c: C<'_>, ty: i32, np: i32, nl: i32, id_ptr: i32| -> Result<i32, Error> {
            finish((|| {
                let kind = match ty {
                    0 => MetricKind::Counter,
                    1 => MetricKind::Gauge,
                    2 => MetricKind::Histogram,
                    _ => return Ok(status::BAD_ARGUMENT),
                };
                if nl as u32 as usize > max_metric_name_bytes() {
                    return Err(Fault::Trap(super::over_budget(
                        "a metric name is too long",
                        max_metric_name_bytes(),
                    )));
                }
                let name = mem::read_string(&c, np, nl)?;
                let s = c.data_mut();
                // Envoy hands out a new id for every definition, even of a known metric.
                if s.metric_ids.len() >= max_metric_ids() {
                    return Err(Fault::Trap(super::over_budget(
                        "too many metric definitions",
                        max_metric_ids(),
                    )));
                }
                let index = match s.metric_index.get(&(name.clone(), kind)) {
                    Some(&i) => i,
                    None => {
                        if s.metrics.len() >= max_metrics() {
                            return Err(Fault::Trap(super::over_budget(
                                "too many metrics defined",
                                max_metrics(),
                            )));
                        }
                        s.metric_index.insert((name.clone(), kind), s.metrics.len());
                        s.metrics.push(Metric {
                            name,
                            kind,
                            value: 0,
                            samples: Vec::new(),
                        });
                        s.metrics.len() - 1
                    }
                };
                s.next_metric_id += 1;
                let id = (s.next_metric_id << 2) | ty as u32;
                s.metric_ids.insert(id, index);
                mem::write_u32(&mut c, id_ptr, id)?;
                Ok(status::OK)
            })())
        },
    )?;
    r.env(
        "proxy_increment_metric",
        |mut c: C<'_>, id: i32, delta: i64| -> Result<i32, Error> {
            let s = c.data_mut();
            let Some(&i) = s.metric_ids.get(&(id as u32)) else {
                return Ok(status::NOT_FOUND);
            };
            let m = &mut s.metrics[i];
            match m.kind {
                MetricKind::Counter if delta <= 0 => Ok(status::BAD_ARGUMENT),
                MetricKind::Histogram => Ok(status::BAD_ARGUMENT),
                _ => {
                    m.value = m.value.wrapping_add(delta);
                    Ok(status::OK)
                }
            }
        },
    )?;
    r.env(
        "proxy_record_metric",
        |mut c: C<'_>, id: i32, value: i64| -> Result<i32, Error> {
            let s = c.data_mut();
            let Some(&i) = s.metric_ids.get(&(id as u32)) else {
                return Ok(status::NOT_FOUND);
            };
            let m = &mut s.metrics[i];
            match m.kind {
                MetricKind::Counter => m.value = m.value.wrapping_add(value),
                MetricKind::Gauge => m.value = value,
                MetricKind::Histogram => {
                    m.value = m.value.wrapping_add(1);
                    if m.samples.len() < max_histogram_samples() {
                        m.samples.push(value as u64);
                    }
                }
            }
            Ok(status::OK)
        },
    )?;
    r.env(
        "proxy_get_metric",
        |mut c: C<'_>, id: i32, ptr: i32| -> Result<i32, Error> {
            let Some(&i) = c.data().metric_ids.get(&(id as u32)) else {
                return Ok(status::NOT_FOUND);
            };
            let m = &c.data().metrics[i];
            if m.kind == MetricKind::Histogram {
                return Ok(status::BAD_ARGUMENT);
            }
            let v = m.value as u64;
            finish(mem::write_u64(&mut c, ptr, v).map(|_| status::OK))
        },
    )?;

    Ok(())
}

/// `proxy_set_effective_context` and `proxy_done`.
fn contexts(r: &mut Registrar<'_>) -> Result<(), Error> {
    r.env(
        "proxy_set_effective_context",
        |mut c: C<'_>, ctx: i32| -> Result<i32, Error> {
            let ctx = ctx as u32;
            if !c.data().contexts.contains_key(&ctx) {
                return Ok(status::BAD_ARGUMENT);
            }
            c.data_mut().effective = ctx;
            Ok(status::OK)
        },
    )?;
    r.env("proxy_done", |mut c: C<'_>| -> Result<i32, Error> {
        let ctx = c.data().effective;
        let is_root = c.data().contexts.get(&ctx).is_some_and(|i| i.parent == 0);
        if !is_root {
            return Ok(status::NOT_FOUND);
        }
        c.data_mut().push_effect(Effect::Done { ctx })?;
        Ok(status::OK)
    })?;
    Ok(())
}

/// Foreign functions (`foreign.rs`) and Envoy's DNS extension.
fn foreign(r: &mut Registrar<'_>) -> Result<(), Error> {
    r.env(
        "proxy_call_foreign_function",
        |mut c: C<'_>,
         np: i32,
         nl: i32,
         ap: i32,
         al: i32,
         rp: i32,
         rl: i32|
         -> Result<i32, Error> {
            super::foreign::call(&mut c, (np, nl), (ap, al), (rp, rl))
        },
    )?;
    // Upstream Envoy registers it from Envoy 1.17 (answer via `envoy_on_resolve_dns`); DNS is
    // not simulated, so the call is refused.
    r.env(
        "envoy_resolve_dns",
        |mut c: C<'_>, _dp: i32, _dl: i32, _token_ptr: i32| -> Result<i32, Error> {
            note_unsupported(&mut c, "envoy_resolve_dns");
            Ok(status::UNIMPLEMENTED)
        },
    )?;
    Ok(())
}

/// Opens a gRPC call (`message` and timeout given) or stream. As Envoy's
/// `Context::grpcCall`, the service argument is a serialized `GrpcService`, or else taken as
/// a cluster name.
fn grpc_start(
    c: &mut C<'_>,
    service: (i32, i32),
    name: (i32, i32),
    method: (i32, i32),
    token_ptr: i32,
    call: Option<(Vec<u8>, u32)>,
) -> Result<i32, Error> {
    let (message, timeout_ms) = match call {
        Some((m, t)) => (Some(m), t),
        None => (None, 0),
    };
    finish((|| {
        let service_bytes = mem::read(c, service.0, service.1)?;
        let svc = mem::read_string(c, name.0, name.1)?;
        let m = mem::read_string(c, method.0, method.1)?;
        if service_bytes.is_empty() {
            return Ok(status::PARSE_FAILURE);
        }
        let cluster = grpc_cluster(&service_bytes);
        let root = c.data().root_of(c.data().effective);
        let stream = message.is_none();
        let token = c.data_mut().next_token(if stream { 2 } else { 1 });
        mem::write_u32(c, token_ptr, token)?;
        let bytes = svc.len() + m.len() + cluster.len() + message.as_ref().map_or(0, Vec::len);
        c.data_mut().grpc_live.insert(
            token,
            GrpcLive {
                stream,
                local_closed: false,
            },
        );
        let call = GrpcCall {
            root,
            token,
            cluster,
            service: svc,
            method: m,
            message,
            stream,
            timeout_ms,
            google: grpc_is_google(&service_bytes),
        };
        c.data_mut()
            .push_effect_sized(Effect::GrpcCall(call), bytes)?;
        Ok(status::OK)
    })())
}

/// The cluster a `GrpcService` argument names: `envoy_grpc.cluster_name` (fields 1.1) of a
/// well-formed message; bytes that are not a protobuf message are the cluster name itself.
pub fn grpc_cluster(bytes: &[u8]) -> String {
    match proto_fields(bytes) {
        Some(fields) => (fields.iter())
            .find(|(n, _)| *n == 1)
            .and_then(|(_, v)| proto_fields(v)?.into_iter().find(|(n, _)| *n == 1))
            .map(|(_, v)| String::from_utf8_lossy(v).into_owned())
            .unwrap_or_default(),
        None => String::from_utf8_lossy(bytes).into_owned(),
    }
}

/// Whether a `GrpcService` argument configures `google_grpc` (field 2): that client reports
/// a timeout as DEADLINE_EXCEEDED, Envoy's own as a router timeout.
fn grpc_is_google(bytes: &[u8]) -> bool {
    proto_fields(bytes).is_some_and(|f| f.iter().any(|(n, _)| *n == 2))
}

/// The length-delimited fields of a protobuf message; None when it does not parse.
fn proto_fields(mut b: &[u8]) -> Option<Vec<(u64, &[u8])>> {
    fn varint(b: &mut &[u8]) -> Option<u64> {
        let mut v = 0u64;
        for shift in (0..64).step_by(7) {
            let (&x, rest) = b.split_first()?;
            *b = rest;
            v |= u64::from(x & 0x7f) << shift;
            if x & 0x80 == 0 {
                return Some(v);
            }
        }
        None
    }
    let mut out = Vec::new();
    while !b.is_empty() {
        let key = varint(&mut b)?;
        let field = key >> 3;
        if field == 0 {
            return None;
        }
        match key & 7 {
            0 => {
                varint(&mut b)?;
            }
            1 => b = b.get(8..)?,
            5 => b = b.get(4..)?,
            2 => {
                let n = usize::try_from(varint(&mut b)?).ok()?;
                let v = b.get(..n)?;
                b = &b[n..];
                out.push((field, v));
            }
            _ => return None,
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::grpc_cluster;

    #[test]
    fn grpc_service_cluster() {
        // GrpcService{envoy_grpc{cluster_name: "authz"}, timeout{seconds: 1}}
        let proto = b"\x0a\x07\x0a\x05authz\x1a\x02\x08\x01";
        assert_eq!(grpc_cluster(proto), "authz");
        assert_eq!(
            grpc_cluster(b"outbound|9000||authz.local"),
            "outbound|9000||authz.local"
        );
        // google_grpc only: no cluster.
        assert_eq!(grpc_cluster(b"\x12\x00"), "");
    }
}
