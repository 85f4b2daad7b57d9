//! The process's limit on open files, which is also its limit on connections.

/// File descriptors kept out of the connection cap: for refusing connections over the cap,
/// and for the app's own files (stores, logs, static files). A tenth of the limit, at
/// least this many.
const MIN_RESERVED_FILES: u64 = 64;

/// Raises the soft limit on open files (`RLIMIT_NOFILE`) to the hard limit, as Go's runtime
/// does since 1.19, and logs both. Returns the soft limit in force afterwards, or `None`
/// where there is no such limit (not Unix) or it cannot be read.
pub(crate) fn raise() -> Option<u64> {
    #[cfg(unix)]
    {
        let (soft, hard) = match rlimit::Resource::NOFILE.get() {
            Ok(limits) => limits,
            Err(error) => {
                tracing::warn!(%error, "cannot read the limit on open files");
                return None;
            }
        };
        // on macOS the hard limit is often "unlimited" while the kernel refuses more than
        // kern.maxfilesperproc; the crate knows how far it may go
        match rlimit::increase_nofile_limit(hard) {
            Ok(raised) => {
                tracing::info!(
                    before = soft,
                    now = raised,
                    hard,
                    "open files limit (RLIMIT_NOFILE)"
                );
                Some(raised)
            }
            Err(error) => {
                tracing::warn!(%error, soft, hard, "cannot raise the limit on open files");
                Some(soft)
            }
        }
    }
    #[cfg(not(unix))]
    {
        None
    }
}

/// The soft limit on open files as it is, without raising it.
pub(crate) fn current() -> Option<u64> {
    #[cfg(unix)]
    {
        rlimit::Resource::NOFILE.get().ok().map(|(soft, _)| soft)
    }
    #[cfg(not(unix))]
    {
        None
    }
}

/// The connection cap that fits under `limit` open files: `wanted`, or fewer.
pub(crate) fn fitting_cap(wanted: usize, limit: Option<u64>) -> usize {
    let Some(limit) = limit else {
        return wanted;
    };
    let reserved = (limit / 10).max(MIN_RESERVED_FILES);
    let room = usize::try_from(limit.saturating_sub(reserved)).unwrap_or(usize::MAX);
    wanted.min(room).max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cap_leaves_room_for_refusals_and_the_apps_files() {
        assert_eq!(fitting_cap(10_000, None), 10_000);
        assert_eq!(fitting_cap(10_000, Some(1024)), 1024 - 102);
        assert_eq!(fitting_cap(10_000, Some(100)), 36);
        assert_eq!(fitting_cap(10_000, Some(10)), 1);
        assert_eq!(fitting_cap(500, Some(1_048_576)), 500);
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn raising_reaches_the_hard_limit() {
        let (_, hard) = rlimit::Resource::NOFILE.get().expect("getrlimit");
        let raised = raise().expect("a limit");
        assert_eq!(raised, hard);
        assert_eq!(current(), Some(hard));
    }
}
