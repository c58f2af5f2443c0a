//! Constants of the kernel's uapi headers that `libc` does not name (as of libc 0.2.191),
//! with the header each comes from. Everything else is taken from `libc`.

/// `RTA_NH_ID` (linux/rtnetlink.h): the id of the nexthop object a route uses.
pub(crate) const RTA_NH_ID: u16 = 30;

/// `IFLA_TUN_*` (linux/if_link.h): a tun/tap device's `IFLA_INFO_DATA`, as rtnetlink reports it.
pub(crate) mod ifla_tun {
    pub const OWNER: u16 = 1;
    pub const GROUP: u16 = 2;
    pub const TYPE: u16 = 3;
    pub const PI: u16 = 4;
    pub const VNET_HDR: u16 = 5;
    pub const PERSIST: u16 = 6;
    pub const MULTI_QUEUE: u16 = 7;
    pub const NUM_QUEUES: u16 = 8;
    pub const NUM_DISABLED_QUEUES: u16 = 9;
}

/// `IFLA_INET6_ADDR_GEN_MODE` (linux/if_link.h): in `IFLA_AF_SPEC`'s `AF_INET6` part, how the
/// link's IPv6 addresses are made (a u8, `IN6_ADDR_GEN_MODE_*`).
pub(crate) const IFLA_INET6_ADDR_GEN_MODE: u16 = 8;

/// `RTAX_*` (linux/rtnetlink.h): the metrics nested in `RTA_METRICS`.
pub(crate) mod rtax {
    pub const LOCK: u16 = 1;
    pub const MTU: u16 = 2;
    pub const WINDOW: u16 = 3;
    pub const RTT: u16 = 4;
    pub const RTTVAR: u16 = 5;
    pub const SSTHRESH: u16 = 6;
    pub const CWND: u16 = 7;
    pub const ADVMSS: u16 = 8;
    pub const REORDERING: u16 = 9;
    pub const HOPLIMIT: u16 = 10;
    pub const INITCWND: u16 = 11;
    pub const FEATURES: u16 = 12;
    pub const RTO_MIN: u16 = 13;
    pub const INITRWND: u16 = 14;
    pub const QUICKACK: u16 = 15;
    pub const CC_ALGO: u16 = 16;
}

/// `RTNH_F_*` (linux/rtnetlink.h): flags of a next hop (`rtnh_flags`, and the low byte of a
/// single-path route's `rtm_flags`).
pub(crate) mod rtnh_f {
    pub const DEAD: u32 = 1;
    pub const PERVASIVE: u32 = 2;
    pub const ONLINK: u32 = 4;
    pub const OFFLOAD: u32 = 8;
    pub const LINKDOWN: u32 = 16;
    pub const UNRESOLVED: u32 = 32;
    pub const TRAP: u32 = 64;
}

/// `RTM_F_*` (linux/rtnetlink.h) that libc lacks: hardware offload states of a route.
pub(crate) mod rtm_f {
    pub const OFFLOAD: u32 = 0x4000;
    pub const TRAP: u32 = 0x8000;
    pub const OFFLOAD_FAILED: u32 = 0x2000_0000;
}

/// `IFA_RT_PRIORITY` (linux/if_addr.h): the metric of an address's prefix route.
pub(crate) const IFA_RT_PRIORITY: u16 = 9;

/// `IFA_PROTO` (linux/if_addr.h): who added an address.
pub(crate) const IFA_PROTO: u16 = 11;

/// `FRA_IIFNAME` and `FRA_OIFNAME` (linux/fib_rules.h): a rule's input and output interface
/// names.
pub(crate) const FRA_IIFNAME: u16 = 3;
pub(crate) const FRA_OIFNAME: u16 = 17;
