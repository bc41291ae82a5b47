//! The global allocator and how it gives memory back to the system.
//!
//! mimalloc: many small, short-lived allocations on several threads (frames, JSON, actor
//! messages), on which it spends a fraction of glibc malloc's time (measured: see
//! BENCHMARKS.md). Two of its defaults cost idle connections memory (measured in
//! BENCHMARKS.md, "Issue 17: memory of an idle user"):
//! - it asks for transparent huge pages on its arenas, so a partly used 2 MiB region is
//!   resident as a whole (a third of the RSS of 5 000 idle users). The crate's `no_thp`
//!   feature (Cargo.toml) leaves that out;
//! - it returns freed pages to the system only after 1 s, and only when it next allocates,
//!   so the pages a connect storm's bursts used stay resident. [`tune`] shortens the delay.

/// How long freed memory stays committed before mimalloc returns it, in milliseconds.
/// `MIMALLOC_PURGE_DELAY` in the environment overrides it.
#[cfg(feature = "mimalloc")]
const PURGE_DELAY_MS: std::ffi::c_long = 0;

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
