//! The global allocator and how it gives memory back to the system.
//!
//! mimalloc: many small, short-lived allocations on several threads (frames, JSON, actor
//! messages), on which it spends a fraction of glibc malloc's time (measured: see
//! bench/HISTORY.md). Two of its defaults cost idle connections memory (measured in
//! bench/HISTORY.md, "Memory of an idle user"):
//! - it asks for transparent huge pages on its arenas, so a partly used 2 MiB region is
//!   resident as a whole (a third of the RSS of 5 000 idle users). The crate's `no_thp`
//!   feature (Cargo.toml) leaves that out;
//! - it returns freed pages to the system only after 1 s, and only when a thread next takes
//!   one of its slower paths, so the pages a connect storm's bursts used stay resident.
//!
//! Returning pages at once (delay 0) keeps idle users small but costs a busy node dearly: at
//! 20 000 messages/s pages are emptied and refilled all the time, each return is an `madvise`
//! and a page fault when reused, and the node fell behind its load (measured: 47–76 instead of
//! 37–42 µs per message, p99 0.1–4 s instead of 7 ms). So [`tune`] sets a short delay, which
//! a busy node's reuse outlives, and [`collect_periodically`] runs on every thread that
//! serves connections so that the delayed returns happen within a second once it is quiet.

/// How long freed memory stays committed before mimalloc returns it, in milliseconds.
/// `MIMALLOC_PURGE_DELAY` in the environment overrides it.
#[cfg(feature = "mimalloc")]
const PURGE_DELAY_MS: std::ffi::c_long = 10;

/// How often each serving thread lets mimalloc return what it freed.
#[cfg(feature = "mimalloc")]
const COLLECT_EVERY: std::time::Duration = std::time::Duration::from_secs(1);

/// mimalloc v3's `mi_option_purge_delay` (the 16th option of `mi_option_e` in mimalloc.h;
/// the test below checks it against the option's default).
#[cfg(feature = "mimalloc")]
const MI_OPTION_PURGE_DELAY: std::ffi::c_int = 15;

#[cfg(feature = "mimalloc")]
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[cfg(feature = "mimalloc")]
extern "C" {
    fn mi_option_set(option: std::ffi::c_int, value: std::ffi::c_long);
    fn mi_collect(force: bool);
    #[cfg(test)]
    fn mi_option_get(option: std::ffi::c_int) -> std::ffi::c_long;
}

/// Sets the allocator's options that the environment does not set; first thing in `main`.
pub fn tune() {
    #[cfg(feature = "mimalloc")]
    if std::env::var_os("MIMALLOC_PURGE_DELAY").is_none() {
        // SAFETY: mi_option_set only stores the value; mimalloc reads options at any time.
        unsafe { mi_option_set(MI_OPTION_PURGE_DELAY, PURGE_DELAY_MS) };
    }
}

/// Starts `collect_periodically` on the calling thread's actix runtime, once per thread.
/// Nothing to do on the system allocator.
pub fn collect_on_this_thread() {
    #[cfg(feature = "mimalloc")]
    {
        thread_local! {
            static STARTED: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
        }
        if !STARTED.replace(true) {
            actix_web::rt::spawn(collect_periodically());
        }
    }
}

/// Once a second, on the calling thread: frees this thread's empty pages and returns to the
/// system the memory whose purge delay has passed (mimalloc's `mi_collect(false)`: not
/// forced, so it costs a walk over this thread's pages, not a purge of everything). Never
/// ends.
#[cfg(feature = "mimalloc")]
async fn collect_periodically() {
    let mut every = actix_web::rt::time::interval(COLLECT_EVERY);
    loop {
        every.tick().await;
        // SAFETY: mi_collect works on the calling thread's own heap; no precondition.
        unsafe { mi_collect(false) };
    }
}

#[cfg(all(test, feature = "mimalloc"))]
mod tests {
    use super::*;

    #[test]
    fn the_option_set_is_the_purge_delay() {
        if std::env::var_os("MIMALLOC_PURGE_DELAY").is_some() {
            return; // the default below is then not what mimalloc holds
        }
        // SAFETY: reading an option has no precondition.
        let default = unsafe { mi_option_get(MI_OPTION_PURGE_DELAY) };
        assert_eq!(default, 1000, "mimalloc v3's default purge delay (1 s)");
        tune();
        assert_eq!(
            unsafe { mi_option_get(MI_OPTION_PURGE_DELAY) },
            PURGE_DELAY_MS
        );
    }
}
