//! The binary's global allocator: mimalloc, called the way its own C API is fastest.
//!
//! The `mimalloc` crate's `GlobalAlloc` sends every request through `mi_malloc_aligned`, even
//! at alignment 1 to 8. mimalloc's aligned entry only has a fast path for blocks of at most
//! 1 KiB whose free block happens to be aligned; any larger block that is not a power of two
//! (a growing `Vec` of trace events, a request's report) goes through `…_aligned_at_generic`
//! and is over-allocated by the alignment, at about 250 instructions instead of 40
//! (docs/performance.md §8). Every mimalloc block is a multiple of 8 bytes in an aligned page,
//! so up to that alignment the plain entry points are correct; larger alignments keep the
//! aligned ones.

use libmimalloc_sys as mi;
use std::alloc::{GlobalAlloc, Layout};
use std::ffi::c_void;

/// Alignment every block of `mi_malloc` has (`MI_INTPTR_SIZE`: block sizes are whole words).
const PLAIN_ALIGN: usize = std::mem::size_of::<usize>();

/// mimalloc as a Rust global allocator; see the module docs for why not `mimalloc::MiMalloc`.
pub struct MiAlloc;

// SAFETY: mimalloc is a thread-safe C allocator. Blocks from the plain entries are aligned
// to `PLAIN_ALIGN`, checked before each is used; `mi_free` frees both kinds.
unsafe impl GlobalAlloc for MiAlloc {
    #[inline]
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        unsafe {
            if layout.align() <= PLAIN_ALIGN {
                mi::mi_malloc(layout.size()) as *mut u8
            } else {
                mi::mi_malloc_aligned(layout.size(), layout.align()) as *mut u8
            }
        }
    }

    #[inline]
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        unsafe {
            if layout.align() <= PLAIN_ALIGN {
                mi::mi_zalloc(layout.size()) as *mut u8
            } else {
                mi::mi_zalloc_aligned(layout.size(), layout.align()) as *mut u8
            }
        }
    }

    #[inline]
    unsafe fn dealloc(&self, ptr: *mut u8, _layout: Layout) {
        unsafe { mi::mi_free(ptr as *mut c_void) }
    }

    #[inline]
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        unsafe {
            if layout.align() <= PLAIN_ALIGN {
                mi::mi_realloc(ptr as *mut c_void, new_size) as *mut u8
            } else {
                mi::mi_realloc_aligned(ptr as *mut c_void, new_size, layout.align()) as *mut u8
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every size class and the large sizes the plain entries serve keep the alignment the
    /// layout asks for, through allocation, zeroed allocation and growth.
    #[test]
    fn blocks_have_the_layouts_alignment() {
        let sizes = (1..=4096).chain([5000, 65_536, 100_000, 1 << 20, (1 << 22) + 24]);
        for size in sizes {
            for align in [1, 2, 4, 8, 16, 32, 64, 4096] {
                let layout = Layout::from_size_align(size, align).unwrap();
                unsafe {
                    let p = MiAlloc.alloc(layout);
                    assert!(!p.is_null() && p as usize % align == 0, "{size} {align}");
                    p.write_bytes(0xa5, size);
                    let p = MiAlloc.realloc(p, layout, size * 3 + 1);
                    assert!(
                        !p.is_null() && p as usize % align == 0,
                        "grown {size} {align}"
                    );
                    assert_eq!(*p.add(size - 1), 0xa5, "kept {size} {align}");
                    MiAlloc.dealloc(p, Layout::from_size_align(size * 3 + 1, align).unwrap());
                    let z = MiAlloc.alloc_zeroed(layout);
                    assert!(
                        !z.is_null() && z as usize % align == 0,
                        "zeroed {size} {align}"
                    );
                    assert!(std::slice::from_raw_parts(z, size).iter().all(|b| *b == 0));
                    MiAlloc.dealloc(z, layout);
                }
            }
        }
    }
}
