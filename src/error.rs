//! The crate's one error type.

use std::fmt;
use std::io;

use nix::errno::Errno;

/// A specialized [`Result`](std::result::Result) for netplumb operations.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong in a netplumb operation.
///
/// Callers branch on the variant or on the helpers ([`is_not_found`](Error::is_not_found),
/// [`is_exists`](Error::is_exists), [`errno`](Error::errno)); the text of `Display` is for
/// people, not for matching.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The kernel refused a request.
    #[error("{op}: {}{}", errno_text(*.errno), ext_ack(.message))]
    Kernel {
        /// What was asked, e.g. `"add link"`.
        op: &'static str,
        /// The errno the kernel answered with.
        errno: Errno,
        /// The kernel's extended-ack explanation (`NLMSGERR_ATTR_MSG`), when it gave one.
        message: Option<String>,
    },
    /// The kernel does not support what was asked (it answered `EOPNOTSUPP`), typically
    /// because a feature or module is missing.
    #[error("{op}: {hint}: {}{}", errno_text(*.errno), ext_ack(.message))]
    Unsupported {
        /// What was asked.
        op: &'static str,
        /// What is probably missing, e.g. `"the kernel has no vrf support"`.
        hint: String,
        /// The errno the kernel answered with (usually `EOPNOTSUPP`).
        errno: Errno,
        /// The kernel's extended-ack explanation, when it gave one.
        message: Option<String>,
    },
    /// The object named does not exist: `what` names it. `errno` is the kernel's answer when
    /// the kernel said so (`ENODEV`, `ENOENT`), `None` when netplumb looked it up itself.
    #[error("{what} not found{}", errno_suffix(*.errno))]
    NotFound {
        /// What was looked for, e.g. `link "veth0"`.
        what: String,
        /// The kernel's errno, when the kernel answered that it does not exist.
        errno: Option<Errno>,
    },
    /// An object netplumb was asked to create exists already (found by netplumb itself; the
    /// kernel's own `EEXIST` stays an [`Error::Kernel`]).
    #[error("{what} already exists")]
    Exists {
        /// What exists, e.g. `network namespace "blue"`.
        what: String,
    },
    /// An argument was rejected before anything was sent to the kernel.
    #[error("invalid {arg}: {reason}")]
    InvalidInput {
        /// Which argument.
        arg: &'static str,
        /// Why it was rejected.
        reason: String,
    },
    /// A dump was interrupted by concurrent changes (`NLM_F_DUMP_INTR`) on every attempt.
    #[error("{op}: dump interrupted by concurrent changes {attempts} times in a row")]
    DumpInterrupted {
        /// What was dumped.
        op: &'static str,
        /// How many attempts were made.
        attempts: u32,
    },
    /// The kernel's acknowledgement of a pipelined request was lost: the socket's receive
    /// buffer overflowed (`ENOBUFS`). The request may or may not have been applied; list the
    /// objects to find out.
    #[error("{op}: the acknowledgement was lost (receive buffer overflow); the request may or may not have been applied")]
    AckLost {
        /// What was asked.
        op: &'static str,
    },
    /// The [`Monitor`](crate::monitor::Monitor) was stopped through its
    /// [`MonitorStop`](crate::monitor::MonitorStop): it reports no more events.
    #[error("{op}: the monitor was stopped")]
    Stopped {
        /// What was being done.
        op: &'static str,
    },
    /// The kernel sent something netplumb could not decode.
    #[error("{op}: malformed reply from the kernel: {reason}")]
    Malformed {
        /// What was asked.
        op: &'static str,
        /// What was wrong with the reply.
        reason: String,
    },
    /// A system call failed (socket, namespace or file operation).
    #[error("{op}: {source}")]
    Io {
        /// What was being done.
        op: &'static str,
        /// The underlying error.
        #[source]
        source: io::Error,
    },
}

fn errno_suffix(errno: Option<Errno>) -> String {
    errno.map_or_else(String::new, |e| format!(" ({})", errno_text(e)))
}

fn errno_text(errno: Errno) -> String {
    format!("{} ({})", errno.desc(), errno as i32)
}

fn ext_ack(message: &Option<String>) -> ExtAck<'_> {
    ExtAck(message.as_deref())
}

struct ExtAck<'a>(Option<&'a str>);

impl fmt::Display for ExtAck<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(m) => write!(f, ": {m}"),
            None => Ok(()),
        }
    }
}

impl Error {
    /// The errno behind this error, when there is one (a kernel answer or a failed system call).
    pub fn errno(&self) -> Option<Errno> {
        match self {
            Error::Kernel { errno, .. } | Error::Unsupported { errno, .. } => Some(*errno),
            Error::NotFound { errno, .. } => *errno,
            Error::Io { source, .. } => source.raw_os_error().map(Errno::from_raw),
            _ => None,
        }
    }

    /// The kernel's extended-ack text, when it explained its refusal.
    pub fn kernel_message(&self) -> Option<&str> {
        match self {
            Error::Kernel { message, .. } | Error::Unsupported { message, .. } => {
                message.as_deref()
            }
            _ => None,
        }
    }

    /// True when the object does not exist: a lookup that found nothing, or a kernel answer of
    /// `ENODEV`, `ENOENT`, `ESRCH` or `EADDRNOTAVAIL` (the kernel's "no such address").
    pub fn is_not_found(&self) -> bool {
        match self {
            Error::NotFound { .. } => true,
            _ => matches!(
                self.errno(),
                Some(Errno::ENODEV | Errno::ENOENT | Errno::ESRCH | Errno::EADDRNOTAVAIL)
            ),
        }
    }

    /// True when the object already exists: [`Error::Exists`] or a kernel answer of `EEXIST`.
    pub fn is_exists(&self) -> bool {
        matches!(self, Error::Exists { .. }) || self.errno() == Some(Errno::EEXIST)
    }

    /// True when the kernel lacks the feature that was asked for.
    pub fn is_unsupported(&self) -> bool {
        matches!(self, Error::Unsupported { .. })
    }

    /// True when the kernel's answer to a pipelined request was lost ([`Error::AckLost`]).
    pub fn is_ack_lost(&self) -> bool {
        matches!(self, Error::AckLost { .. })
    }

    /// True when a monitor was stopped ([`Error::Stopped`]).
    pub fn is_stopped(&self) -> bool {
        matches!(self, Error::Stopped { .. })
    }

    pub(crate) fn invalid(arg: &'static str, reason: impl Into<String>) -> Error {
        Error::InvalidInput {
            arg,
            reason: reason.into(),
        }
    }

    pub(crate) fn io(op: &'static str, source: impl Into<io::Error>) -> Error {
        Error::Io {
            op,
            source: source.into(),
        }
    }

    pub(crate) fn malformed(op: &'static str, reason: impl Into<String>) -> Error {
        Error::Malformed {
            op,
            reason: reason.into(),
        }
    }
}

impl From<Error> for io::Error {
    fn from(e: Error) -> io::Error {
        io::Error::new(io_kind(&e), e)
    }
}

fn io_kind(e: &Error) -> io::ErrorKind {
    match e {
        Error::Io { source, .. } => source.kind(),
        Error::InvalidInput { .. } => io::ErrorKind::InvalidInput,
        Error::Unsupported { .. } => io::ErrorKind::Unsupported,
        Error::Malformed { .. } => io::ErrorKind::InvalidData,
        _ if e.is_not_found() => io::ErrorKind::NotFound,
        _ if e.is_exists() => io::ErrorKind::AlreadyExists,
        Error::Kernel { errno, .. } => io::Error::from_raw_os_error(*errno as i32).kind(),
        _ => io::ErrorKind::Other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_carries_ext_ack_text() {
        let e = Error::Kernel {
            op: "set link mtu",
            errno: Errno::EINVAL,
            message: Some("mtu greater than device maximum".into()),
        };
        assert_eq!(
            e.to_string(),
            "set link mtu: Invalid argument (22): mtu greater than device maximum"
        );
        assert_eq!(e.errno(), Some(Errno::EINVAL));
        assert_eq!(e.kernel_message(), Some("mtu greater than device maximum"));
    }

    #[test]
    fn helpers_classify() {
        let exists = Error::Kernel {
            op: "add link",
            errno: Errno::EEXIST,
            message: None,
        };
        assert!(exists.is_exists() && !exists.is_not_found());
        assert_eq!(exists.to_string(), "add link: File exists (17)");
        let nodev = Error::Kernel {
            op: "delete link",
            errno: Errno::ENODEV,
            message: None,
        };
        assert!(nodev.is_not_found() && !nodev.is_exists());
        let io: io::Error = nodev.into();
        assert_eq!(io.kind(), io::ErrorKind::NotFound);
        let nf = Error::NotFound {
            what: "link \"x\"".into(),
            errno: None,
        };
        assert!(nf.is_not_found());
        assert_eq!(nf.errno(), None);
        let inv: io::Error = Error::invalid("name", "too long").into();
        assert_eq!(inv.kind(), io::ErrorKind::InvalidInput);
        assert_eq!(inv.to_string(), "invalid name: too long");
    }
}
