//! The azpath command line: parses the arguments and runs one command (`cli`). Exit codes: 0 ok,
//! 1 findings (with `--fail-on-...`), 2 error.

mod cli;

use clap::Parser;
use std::process::ExitCode;

/// mimalloc: import allocates millions of small strings on two threads; the system allocator spent
/// a fifth of the import's CPU time there. See [`tune_allocator`].
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// mimalloc's `mi_option_purge_delay` (its place in `mi_option_e`, mimalloc.h v3, the version the
/// locked libmimalloc-sys builds; the crate names no constant for it).
const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

/// mimalloc's `mi_option_allow_thp`, at its place in the same enum.
const MI_OPTION_ALLOW_THP: libmimalloc_sys::mi_option_t = 43;

/// How long freed memory stays with the process before it goes back to the OS. mimalloc's default
/// (1 s) let the 1M-edge import peak at 3.5 GB; at once (0) the peak was 2.8 GB but every reuse
/// faulted fresh pages in (`fix` spent 2-4 s in the kernel). 100 ms: 2.7 GB, and `fix` 5.4 s
/// instead of 6.0 s (measured with `farm-bench`, 1M-edge synthetic tenant).
const PURGE_DELAY_MS: std::ffi::c_long = 100;

/// Tunes mimalloc: the purge delay above, and no transparent huge pages: with them, each page
/// fault after a purge zeroes 2 MiB, and the rules spent more than half their time in the kernel
/// clearing pages (derive on the 1M-edge tenant: 9.6 s of CPU with them, 7.1 s without). The
/// option covers only what mimalloc reserves after `main` starts; its first arena can still take
/// huge pages where the system's setting is `always`. Turning them off for the whole process
/// (`prctl(PR_SET_THP_DISABLE)`) was measured and left out: loading the 10M-edge graph took 0.88x
/// the time, but `reach pipeline` on the 1M-edge one 1.48x (more, smaller page faults).
fn tune_allocator() {
    // SAFETY: setting an option is a plain store in mimalloc, valid at any time.
    unsafe {
        libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, PURGE_DELAY_MS);
        libmimalloc_sys::mi_option_set(MI_OPTION_ALLOW_THP, 0);
    }
    sqlite_on_mimalloc();
}

/// SQLite allocates through mimalloc too (`SQLITE_CONFIG_MALLOC`): its page cache and buffers come
/// from the same memory as the graph, so what SQLite frees is reused instead of handed back to the
/// kernel and faulted in (zeroed) again. The graph blobs themselves no longer pass through SQLite's
/// buffers (`store::PartBlob`), but the details read for the paths shown do: at 10M edges `paths
/// --format json` runs in 0.68 s with this, 0.73 s without.
fn sqlite_on_mimalloc() {
    use libmimalloc_sys::{mi_free, mi_malloc, mi_realloc, mi_usable_size};
    use rusqlite::ffi;
    use std::ffi::{c_int, c_void};
    unsafe extern "C" fn malloc(n: c_int) -> *mut c_void {
        // SAFETY: any size is valid for mi_malloc; SQLite never asks for a negative one.
        unsafe { mi_malloc(n.max(0) as usize) }
    }
    unsafe extern "C" fn free(p: *mut c_void) {
        // SAFETY: SQLite frees only what `malloc` or `realloc` returned.
        unsafe { mi_free(p) }
    }
    unsafe extern "C" fn realloc(p: *mut c_void, n: c_int) -> *mut c_void {
        // SAFETY: as for `malloc` and `free`.
        unsafe { mi_realloc(p, n.max(0) as usize) }
    }
    unsafe extern "C" fn size(p: *mut c_void) -> c_int {
        // SAFETY: as for `free`; SQLite's allocations are under 2 GiB (their size is an int).
        c_int::try_from(unsafe { mi_usable_size(p) }).unwrap_or(c_int::MAX)
    }
    unsafe extern "C" fn roundup(n: c_int) -> c_int {
        n.checked_add(7).map_or(n, |m| m & !7)
    }
    unsafe extern "C" fn init(_: *mut c_void) -> c_int {
        ffi::SQLITE_OK
    }
    unsafe extern "C" fn shutdown(_: *mut c_void) {}
    let methods = ffi::sqlite3_mem_methods {
        xMalloc: Some(malloc),
        xFree: Some(free),
        xRealloc: Some(realloc),
        xSize: Some(size),
        xRoundup: Some(roundup),
        xInit: Some(init),
        xShutdown: Some(shutdown),
        pAppData: std::ptr::null_mut(),
    };
    // SAFETY: called before any connection is opened (SQLite is not yet initialised: the call is
    // refused, and nothing changes, otherwise); SQLite copies the methods before returning, and
    // each is valid for the life of the process.
    unsafe {
        ffi::sqlite3_config(ffi::SQLITE_CONFIG_MALLOC, &methods as *const ffi::sqlite3_mem_methods);
    }
}

fn main() -> ExitCode {
    tune_allocator();
    let args = cli::args::Cli::parse();
    match cli::run(args) {
        Ok(code) => code,
        Err(e) => {
            // Errors can quote tenant text; their own lines (a selector's caret) are kept.
            eprintln!("azpath: error: {}", azpath::escape::terminal_lines(&cli::error_text(&e)));
            ExitCode::from(2)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The option at that place is the purge delay: its default in mimalloc v3 (`options.c`) is
    /// 1000 ms, which no neighbouring option has, and setting it sticks.
    #[test]
    fn the_purge_delay_option_is_the_one_set() {
        // SAFETY: reading an option is a plain load in mimalloc.
        let before = unsafe { libmimalloc_sys::mi_option_get(MI_OPTION_PURGE_DELAY) };
        assert!(before == 1000 || before == PURGE_DELAY_MS, "{before}");
        tune_allocator();
        assert_eq!(unsafe { libmimalloc_sys::mi_option_get(MI_OPTION_PURGE_DELAY) }, PURGE_DELAY_MS);
    }

    /// The option at 43 is `allow_thp`: on by default (1) and off once set.
    #[test]
    fn the_huge_pages_option_is_the_one_set() {
        // SAFETY: reading an option is a plain load in mimalloc.
        let before = unsafe { libmimalloc_sys::mi_option_get(MI_OPTION_ALLOW_THP) };
        assert!(before == 1 || before == 0, "{before}");
        tune_allocator();
        assert_eq!(unsafe { libmimalloc_sys::mi_option_get(MI_OPTION_ALLOW_THP) }, 0);
    }
}
