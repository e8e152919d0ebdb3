//! The writer thread yields the CPU to the threads that read the streams: on Linux it runs 10
//! nice levels below the rest (`nice(2)` on the calling thread; Linux keeps a nice value per
//! thread), so
//! encoding a Parquet part never delays a chunk's timestamp on a client with one core (a
//! 512-stream wave of finished requests is 100,000 rows to encode at once; docs/benchmarks.md).
//! Elsewhere it does nothing.
//!
//! This module, `host_clock.rs` and `crate::arrival` hold the crate's only `unsafe`: a system call or two each.

/// Nice levels the writer thread goes down by.
const WRITER_NICE: i32 = 10;

/// Lowers the calling thread's scheduling priority; false if the system refused.
#[cfg(target_os = "linux")]
pub fn lower_this_thread() -> bool {
    #[allow(unsafe_code)]
    // SAFETY: `nice` takes an integer and touches no memory of the caller; glibc and musl
    // apply it to the calling thread (`setpriority(PRIO_PROCESS, 0, …)`).
    let rc = unsafe { libc::nice(WRITER_NICE) };
    // -1 is also a success that lands on nice -1 (from -11); the answer is only informative.
    rc != -1
}

#[cfg(not(target_os = "linux"))]
pub fn lower_this_thread() -> bool {
    false
}

#[cfg(test)]
mod tests {
    #[test]
    #[cfg(target_os = "linux")]
    fn the_calling_thread_alone_is_lowered() {
        let main_nice = std::fs::read_to_string("/proc/thread-self/stat").expect("stat");
        let lowered = std::thread::spawn(|| {
            let ok = super::lower_this_thread();
            (
                ok,
                std::fs::read_to_string("/proc/thread-self/stat").expect("stat"),
            )
        })
        .join()
        .expect("thread");
        // Field 19 of stat is the nice value (after the parenthesised name).
        let nice = |stat: &str| -> i32 {
            let after = stat.rsplit_once(')').expect("name").1;
            after
                .split_whitespace()
                .nth(16)
                .expect("nice")
                .parse()
                .expect("number")
        };
        assert!(lowered.0);
        assert_eq!(
            nice(&lowered.1),
            (nice(&main_nice) + super::WRITER_NICE).min(19)
        );
        assert_eq!(
            nice(&std::fs::read_to_string("/proc/thread-self/stat").expect("stat")),
            nice(&main_nice)
        );
    }
}
