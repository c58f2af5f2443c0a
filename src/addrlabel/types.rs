//! Address label types (`ip addrlabel`).

use ipnetwork::Ipv6Network;

use crate::{IfIndex, LinkRef};

/// An IPv6 address label policy entry to add or delete (`ip addrlabel add prefix P label L
/// [dev D]`): source address selection (RFC 6724) prefers a source whose label equals the
/// destination's.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NewAddrLabel<'a> {
    /// The prefix (`prefix`).
    pub prefix: Ipv6Network,
    /// The label (`label`); `u32::MAX` is reserved by the kernel.
    pub label: u32,
    /// Only for addresses on this device (`dev`).
    pub dev: Option<LinkRef<'a>>,
}

/// An address label policy entry as the kernel lists it (`ip addrlabel list`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AddrLabel {
    /// The prefix.
    pub prefix: Ipv6Network,
    /// The label.
    pub label: u32,
    /// The device it is limited to, if any.
    pub dev: Option<IfIndex>,
}
