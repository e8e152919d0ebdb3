//! The host's wall-clock synchronisation as the kernel sees it, for `run.json`: Linux's
//! `adjtimex(2)` asked read-only (`modes = 0`, allowed without privileges and in containers)
//! says whether a time daemon (chrony, ntpd, systemd-timesyncd, a PTP daemon) disciplines the
//! clock, and its estimated and maximum error. Across the machines of a sharded run, the sum of
//! two machines' errors bounds the offset between their time axes.
//!
//! One of the crate's few `unsafe` blocks (with `niceness.rs` and `crate::arrival`): one system call
//! on a zeroed C struct.

use crate::rundir::manifest::HostClock;

/// The clock state now.
#[cfg(target_os = "linux")]
pub fn read() -> HostClock {
    // Kernel flag: the clock is not synchronised (include/uapi/linux/timex.h).
    const STA_UNSYNC: i32 = 0x0040;
    // Return value meaning the same.
    const TIME_ERROR: i32 = 5;
    #[allow(unsafe_code)]
    // SAFETY: `timex` is plain integers, so all zeros is a valid value, and with `modes = 0`
    // the kernel only writes the struct it is handed, which lives for the call.
    let (state, tx) = unsafe {
        let mut tx: libc::timex = std::mem::zeroed();
        let state = libc::adjtimex(&mut tx);
        (state, tx)
    };
    if state < 0 {
        return HostClock {
            unavailable: Some(format!(
                "adjtimex failed: {}",
                std::io::Error::last_os_error()
            )),
            ..HostClock::default()
        };
    }
    HostClock {
        synchronized: Some(tx.status & STA_UNSYNC == 0 && state != TIME_ERROR),
        estimated_error_ms: Some(tx.esterror as f64 / 1e3),
        maximum_error_ms: Some(tx.maxerror as f64 / 1e3),
        unavailable: None,
    }
}

#[cfg(not(target_os = "linux"))]
pub fn read() -> HostClock {
    HostClock {
        unavailable: Some("only read on Linux (adjtimex)".into()),
        ..HostClock::default()
    }
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    #[test]
    fn the_kernel_answers_or_says_why_not() {
        let c = super::read();
        match &c.unavailable {
            // A sandbox may refuse the call (seccomp): then the reason is the kernel's.
            Some(why) => assert!(why.starts_with("adjtimex failed"), "{c:?}"),
            None => {
                assert!(c.synchronized.is_some());
                assert!(c.maximum_error_ms.is_some_and(|e| e >= 0.0));
            }
        }
    }
}
