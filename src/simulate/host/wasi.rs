//! The deterministic WASI subset Envoy provides (registered under both
//! `wasi_snapshot_preview1` and `wasi_unstable`) plus the `env` helpers for Emscripten.
//! Output goes to the captured log, clocks read the simulated clock, `random_get` is seeded.

use super::mem::{self, finish};
use super::{LogLevel, Registrar, C};
use crate::simulate::limits::max_iovecs;
use wasmi::Error;

const SUCCESS: i32 = 0;
const BADF: i32 = 8;
const NOTDIR: i32 = 20;
const INVAL: i32 = 28;
const NOENT: i32 = 44;
const NOSYS: i32 = 52;
const NOTSUP: i32 = 58;

const M: &str = "wasi_snapshot_preview1";

fn stdio(fd: i32) -> bool {
    fd == 1 || fd == 2
}

/// Gathers the iovecs of `fd_write`, bounded by the module's memory.
fn gather(c: &C<'_>, iovs: i32, n: i32) -> mem::MemResult<Vec<u8>> {
    let table = mem::read(
        c,
        iovs,
        (n as u32).saturating_mul(8).min(i32::MAX as u32) as i32,
    )?;
    let mut out = Vec::new();
    for e in table.chunks_exact(8) {
        let p = u32::from_le_bytes([e[0], e[1], e[2], e[3]]) as i32;
        let l = u32::from_le_bytes([e[4], e[5], e[6], e[7]]) as i32;
        out.extend(mem::read(c, p, l)?);
        if out.len() > 1 << 20 {
            out.truncate(1 << 20);
            break;
        }
    }
    Ok(out)
}

fn write_out(c: &mut C<'_>, fd: i32, iovs: i32, n: i32, nw: i32) -> Result<i32, Error> {
    if !stdio(fd) {
        return Ok(BADF);
    }
    // Linux refuses more than IOV_MAX iovecs (EINVAL); so does the simulator, which would
    // otherwise walk millions of empty ones per call.
    if n as u32 > max_iovecs() {
        return Ok(INVAL);
    }
    let r = (|| {
        let data = gather(c, iovs, n)?;
        let text = String::from_utf8_lossy(&data);
        let text = text.strip_suffix('\n').unwrap_or(&text).to_string();
        c.data_mut().log(
            if fd == 1 {
                LogLevel::Info
            } else {
                LogLevel::Error
            },
            text,
        );
        mem::write_u32(c, nw, data.len() as u32)?;
        Ok(SUCCESS)
    })();
    finish(r.map_err(|e| match e {
        mem::Fault::Status(_) => mem::Fault::Status(21),
        t => t,
    }))
}

/// `environ_sizes_get` / `args_sizes_get`: zero entries, zero bytes.
fn zero_sizes(mut c: C<'_>, count_ptr: i32, size_ptr: i32) -> Result<i32, Error> {
    finish((|| {
        mem::write_u32(&mut c, count_ptr, 0)?;
        mem::write_u32(&mut c, size_ptr, 0)?;
        Ok(SUCCESS)
    })())
}

/// Registers `$name` when the proxy has it (the tables decide, see [`Registrar`]).
macro_rules! wasi {
    ($r:expr, $module:expr, $name:literal, $f:expr) => {
        $r.func($module, $name, $f)?;
    };
}

/// Registers `$name` (when the proxy has it) as a function that ignores its arguments
/// (of the given types) and answers `$code`.
macro_rules! fixed {
    ($r:expr, $name:literal, ($($t:ty),*) => $code:expr) => {
        wasi!($r, M, $name, |_c: C<'_>, $(_: $t),*| -> i32 { $code });
    };
}

/// Registers `$name` as a function whose first argument is a descriptor: SUCCESS for
/// stdout/stderr, BADF for anything else; the other arguments are ignored.
macro_rules! stdio_only {
    ($r:expr, $name:literal, ($($t:ty),*)) => {
        wasi!($r, M, $name, |_c: C<'_>, fd: i32, $(_: $t),*| -> i32 {
            if stdio(fd) {
                SUCCESS
            } else {
                BADF
            }
        });
    };
}

/// Registers the WASI functions the proxy has under both module names, then the `env` helpers.
pub fn register(r: &mut Registrar<'_>) -> Result<(), Error> {
    output(r)?;
    descriptors(r)?;
    environment(r)?;
    clocks_and_random(r)?;
    process(r)?;
    files(r)?;
    sockets(r)?;
    r.alias_module(M, "wasi_unstable")?;
    emscripten(r)
}

/// stdout/stderr into the captured log.
fn output(r: &mut Registrar<'_>) -> Result<(), Error> {
    wasi!(r, M, "fd_write", |mut c: C<'_>,
                             fd: i32,
                             iovs: i32,
                             n: i32,
                             nw: i32|
     -> Result<i32, Error> {
        write_out(&mut c, fd, iovs, n, nw)
    });
    wasi!(r, M, "fd_pwrite", |mut c: C<'_>,
                              fd: i32,
                              iovs: i32,
                              n: i32,
                              _off: i64,
                              nw: i32|
     -> Result<i32, Error> {
        write_out(&mut c, fd, iovs, n, nw)
    });
    Ok(())
}

/// Reads, seeks and descriptor state: only stdout/stderr exist.
fn descriptors(r: &mut Registrar<'_>) -> Result<(), Error> {
    fixed!(r, "fd_read", (i32, i32, i32, i32) => NOSYS);
    fixed!(r, "fd_pread", (i32, i32, i32, i64, i32) => NOSYS);
    wasi!(r, M, "fd_seek", |mut c: C<'_>,
                            _fd: i32,
                            _o: i64,
                            _w: i32,
                            _r: i32|
     -> i32 {
        c.data_mut()
            .log(LogLevel::Error, "wasi fd_seek is not supported");
        SUCCESS
    });
    wasi!(r, M, "fd_close", |mut c: C<'_>, _fd: i32| -> i32 {
        c.data_mut()
            .log(LogLevel::Error, "wasi fd_close is not supported");
        SUCCESS
    });
    wasi!(r, M, "fd_fdstat_get", |mut c: C<'_>,
                                  fd: i32,
                                  ptr: i32|
     -> Result<i32, Error> {
        if !stdio(fd) {
            return Ok(BADF);
        }
        let mut stat = [0u8; 24];
        stat[8..16].copy_from_slice(&64u64.to_le_bytes()); // rights_base = FD_WRITE
        finish(mem::write(&mut c, ptr, &stat).map(|_| SUCCESS))
    });
    fixed!(r, "fd_fdstat_set_flags", (i32, i32) => NOSYS);
    stdio_only!(r, "fd_fdstat_set_rights", (i64, i64));
    Ok(())
}

/// The VM's `KEY=VALUE` strings (a WasmPlugin's inline `vmConfig.env`), when the proxy's
/// host serves them (cpp-host #126); never arguments.
fn env_strings(c: &C<'_>) -> Vec<Vec<u8>> {
    let d = c.data();
    if !d.profile.environ() {
        return Vec::new();
    }
    d.plugin
        .env
        .iter()
        .map(|(k, v)| {
            let mut s = format!("{k}={v}").into_bytes();
            s.push(0);
            s
        })
        .collect()
}

fn environment(r: &mut Registrar<'_>) -> Result<(), Error> {
    wasi!(r, M, "environ_get", |mut c: C<'_>,
                                environ: i32,
                                buf: i32|
     -> Result<i32, Error> {
        let strings = env_strings(&c);
        finish((|| {
            let mut at = buf;
            for (i, s) in strings.iter().enumerate() {
                mem::write_u32(&mut c, environ.wrapping_add(4 * i as i32), at as u32)?;
                mem::write(&mut c, at, s)?;
                at = at.wrapping_add(s.len() as i32);
            }
            Ok(SUCCESS)
        })())
    });
    wasi!(r, M, "environ_sizes_get", |mut c: C<'_>,
                                      count_ptr: i32,
                                      size_ptr: i32|
     -> Result<i32, Error> {
        let strings = env_strings(&c);
        let size: usize = strings.iter().map(Vec::len).sum();
        finish((|| {
            mem::write_u32(&mut c, count_ptr, strings.len() as u32)?;
            mem::write_u32(&mut c, size_ptr, size as u32)?;
            Ok(SUCCESS)
        })())
    });
    fixed!(r, "args_get", (i32, i32) => SUCCESS);
    wasi!(r, M, "args_sizes_get", zero_sizes);
    Ok(())
}

/// The simulated clock and the seeded random generator.
fn clocks_and_random(r: &mut Registrar<'_>) -> Result<(), Error> {
    wasi!(r, M, "clock_time_get", |mut c: C<'_>,
                                   id: i32,
                                   _prec: i64,
                                   ptr: i32|
     -> Result<i32, Error> {
        let clock = c.data().shared.borrow().clock.clone();
        let v = match id {
            0 => clock.realtime_ns,
            1 if c.data().profile.monotonic_clock() => clock.monotonic_ns,
            _ => return Ok(NOTSUP),
        };
        finish(mem::write_u64(&mut c, ptr, v).map(|_| SUCCESS))
    });
    wasi!(r, M, "clock_res_get", |mut c: C<'_>,
                                  id: i32,
                                  ptr: i32|
     -> Result<i32, Error> {
        if id != 0 && id != 1 {
            return Ok(NOTSUP);
        }
        finish(mem::write_u64(&mut c, ptr, 1).map(|_| SUCCESS))
    });
    wasi!(r, M, "random_get", |mut c: C<'_>,
                               ptr: i32,
                               len: i32|
     -> Result<i32, Error> {
        let len = len as u32 as usize;
        if len > 65536 {
            return Ok(INVAL);
        }
        let mut buf = vec![0u8; len];
        let s = c.data_mut();
        for b in buf.iter_mut() {
            // xorshift64: deterministic per VM seed.
            s.rng ^= s.rng << 13;
            s.rng ^= s.rng >> 7;
            s.rng ^= s.rng << 17;
            *b = s.rng as u8;
        }
        finish(mem::write(&mut c, ptr, &buf).map(|_| SUCCESS))
    });
    Ok(())
}

fn process(r: &mut Registrar<'_>) -> Result<(), Error> {
    fixed!(r, "sched_yield", () => SUCCESS);
    wasi!(r, M, "poll_oneoff", |mut c: C<'_>,
                                _i: i32,
                                _o: i32,
                                _n: i32,
                                np: i32|
     -> Result<i32, Error> {
        finish(mem::write_u32(&mut c, np, 0).map(|_| SUCCESS))
    });
    wasi!(r, M, "proc_exit", |mut c: C<'_>,
                              code: i32|
     -> Result<(), Error> {
        // Envoy logs and returns; the module then traps (`unreachable`). The simulator stops
        // right here so the report names the exit code.
        c.data_mut().exit_code = Some(code);
        c.data_mut()
            .log(LogLevel::Error, format!("wasi proc_exit({code})"));
        Err(Error::i32_exit(code))
    });
    Ok(())
}

/// There are no files: preopens, paths and the remaining descriptor calls fail or do nothing.
fn files(r: &mut Registrar<'_>) -> Result<(), Error> {
    fixed!(r, "path_open", (i32, i32, i32, i32, i32, i64, i64, i32, i32) => NOENT);
    fixed!(r, "fd_prestat_get", (i32, i32) => BADF);
    fixed!(r, "fd_prestat_dir_name", (i32, i32, i32) => NOSYS);
    fixed!(r, "fd_advise", (i32, i64, i64, i32) => SUCCESS);
    stdio_only!(r, "fd_allocate", (i64, i64));
    stdio_only!(r, "fd_datasync", ());
    stdio_only!(r, "fd_sync", ());
    stdio_only!(r, "fd_filestat_set_size", (i64));
    stdio_only!(r, "fd_filestat_set_times", (i64, i64, i32));
    fixed!(r, "fd_filestat_get", (i32, i32) => BADF);
    wasi!(r, M, "fd_readdir", |mut c: C<'_>,
                               _fd: i32,
                               _b: i32,
                               _l: i32,
                               _k: i64,
                               np: i32|
     -> Result<i32, Error> {
        finish(mem::write_u32(&mut c, np, 0).map(|_| NOTDIR))
    });
    fixed!(r, "fd_renumber", (i32, i32) => BADF);
    wasi!(r, M, "fd_tell", |mut c: C<'_>,
                            fd: i32,
                            ptr: i32|
     -> Result<i32, Error> {
        if !stdio(fd) {
            return Ok(BADF);
        }
        finish(mem::write_u64(&mut c, ptr, 0).map(|_| SUCCESS))
    });
    fixed!(r, "path_create_directory", (i32, i32, i32) => NOTSUP);
    fixed!(r, "path_remove_directory", (i32, i32, i32) => NOTSUP);
    fixed!(r, "path_unlink_file", (i32, i32, i32) => NOTSUP);
    fixed!(r, "path_filestat_get", (i32, i32, i32, i32, i32) => NOTSUP);
    fixed!(r, "path_filestat_set_times", (i32, i32, i32, i32, i64, i64, i32) => NOTSUP);
    // cpp-host's signatures for these two differ from WASI preview1 (6 and 4 params).
    fixed!(r, "path_link", (i32, i32, i32, i32, i32, i32) => NOTSUP);
    fixed!(r, "path_symlink", (i32, i32, i32, i32) => NOTSUP);
    wasi!(r, M, "path_readlink", |mut c: C<'_>,
                                  _a: i32,
                                  _b: i32,
                                  _d: i32,
                                  _e: i32,
                                  _f: i32,
                                  rp: i32|
     -> Result<i32, Error> {
        finish(mem::write_u32(&mut c, rp, 0).map(|_| NOTSUP))
    });
    fixed!(r, "path_rename", (i32, i32, i32, i32, i32, i32) => NOTSUP);
    Ok(())
}

fn sockets(r: &mut Registrar<'_>) -> Result<(), Error> {
    fixed!(r, "sock_accept", (i32, i32, i32) => NOTSUP);
    fixed!(r, "sock_recv", (i32, i32, i32, i32, i32, i32) => NOTSUP);
    fixed!(r, "sock_send", (i32, i32, i32, i32, i32) => NOTSUP);
    fixed!(r, "sock_shutdown", (i32, i32) => NOTSUP);
    Ok(())
}

/// The Emscripten helpers proxies register in `env`.
fn emscripten(r: &mut Registrar<'_>) -> Result<(), Error> {
    wasi!(r, "env", "pthread_equal", |_c: C<'_>,
                                      a: i32,
                                      b: i32|
     -> i32 { (a == b) as i32 });
    wasi!(
        r,
        "env",
        "emscripten_notify_memory_growth",
        |_c: C<'_>, _i: i32| {}
    );
    Ok(())
}
