//! SQLite's memory, given back. SQLite allocates with the C library's malloc (the Rust code
//! uses mimalloc); glibc keeps what SQLite frees on its arenas' free lists, one arena per
//! thread that allocated, and returns little of it: page caches refilled after every commit,
//! sorter buffers and the statements of multi-row inserts left ~140 MiB resident and free at
//! 200,000 persons, half the process's RSS (BENCHMARKS.md, "Memory (#18)"). Lower fixed
//! mmap and trim thresholds did not stop that growth and fewer arenas made SQLite's threads
//! contend; `malloc_trim` returns the free pages inside the arenas too, so the store calls it
//! periodically instead.

use std::time::Duration;

/// How often the free memory is returned: often enough that what SQLite frees does not pile
/// up between two calls, rarely enough that the walk over the arenas (each locked in turn)
/// showed no cost above the benchmarks' noise (BENCHMARKS.md, "Memory (#18)").
pub(super) const TRIM_INTERVAL: Duration = Duration::from_secs(2);

/// Returns the C heap's free pages to the system; says how long it took.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[allow(unsafe_code)]
pub(super) fn trim() -> Duration {
    let started = std::time::Instant::now();
    // SAFETY: malloc_trim takes no pointer and has no precondition; glibc locks each arena
    // while it walks it, so it is safe to call while other threads allocate.
    unsafe {
        libc::malloc_trim(0);
    }
    started.elapsed()
}

/// Other C libraries (musl, macOS, Windows) do not keep freed memory the way glibc does.
#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
pub(super) fn trim() -> Duration {
    Duration::ZERO
}
