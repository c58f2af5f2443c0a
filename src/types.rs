//! Identity newtypes shared by every module.

use std::fmt;
use std::num::NonZeroU32;
use std::str::FromStr;

use ipnetwork::IpNetwork;

use crate::{Error, Result};

/// The kernel's index of a network interface (`ifindex`), never zero.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct IfIndex(NonZeroU32);

impl IfIndex {
    /// Wraps a raw interface index; `None` for 0, which names no interface.
    pub const fn new(index: u32) -> Option<IfIndex> {
        match NonZeroU32::new(index) {
            Some(n) => Some(IfIndex(n)),
            None => None,
        }
    }

    /// The raw index.
    pub const fn get(self) -> u32 {
        self.0.get()
    }
}

impl fmt::Display for IfIndex {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// An Ethernet (EUI-48) hardware address, written `aa:bb:cc:dd:ee:ff`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct MacAddr(pub [u8; 6]);

impl MacAddr {
    /// The all-zero address, used by FDB flood entries.
    pub const ZERO: MacAddr = MacAddr([0; 6]);
    /// The broadcast address `ff:ff:ff:ff:ff:ff`.
    pub const BROADCAST: MacAddr = MacAddr([0xff; 6]);

    /// The six bytes.
    pub const fn octets(self) -> [u8; 6] {
        self.0
    }

    /// True for a multicast (group) address: the low bit of the first byte is set.
    pub const fn is_multicast(self) -> bool {
        self.0[0] & 1 == 1
    }

    /// True for a locally administered address.
    pub const fn is_local(self) -> bool {
        self.0[0] & 2 == 2
    }

    /// Builds an address from a byte slice, which must be exactly six bytes long.
    pub fn from_slice(bytes: &[u8]) -> Result<MacAddr> {
        <[u8; 6]>::try_from(bytes).map(MacAddr).map_err(|_| {
            Error::invalid(
                "MAC address",
                format!("{} bytes given, an Ethernet address has 6", bytes.len()),
            )
        })
    }
}

impl From<[u8; 6]> for MacAddr {
    fn from(b: [u8; 6]) -> MacAddr {
        MacAddr(b)
    }
}

impl fmt::Display for MacAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let b = self.0;
        write!(
            f,
            "{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}",
            b[0], b[1], b[2], b[3], b[4], b[5]
        )
    }
}

impl FromStr for MacAddr {
    type Err = Error;

    /// Parses `aa:bb:cc:dd:ee:ff` (or with `-` separators), upper or lower case.
    fn from_str(s: &str) -> Result<MacAddr> {
        let bad = || {
            Error::invalid(
                "MAC address",
                format!("{s:?} is not of the form aa:bb:cc:dd:ee:ff"),
            )
        };
        let mut out = [0u8; 6];
        let mut parts = s.split([':', '-']);
        for byte in &mut out {
            let part = parts.next().ok_or_else(bad)?;
            if part.is_empty() || part.len() > 2 {
                return Err(bad());
            }
            *byte = u8::from_str_radix(part, 16).map_err(|_| bad())?;
        }
        if parts.next().is_some() {
            return Err(bad());
        }
        Ok(MacAddr(out))
    }
}

/// An IEEE 802.1Q VLAN id, 1–4094 (0 and 4095 are reserved).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct VlanId(u16);

impl VlanId {
    /// Checks that `id` is a usable VLAN id (1–4094).
    pub fn new(id: u16) -> Result<VlanId> {
        if (1..=4094).contains(&id) {
            Ok(VlanId(id))
        } else {
            Err(Error::invalid(
                "VLAN id",
                format!("{id} is outside 1-4094 (0 and 4095 are reserved)"),
            ))
        }
    }

    /// The raw id.
    pub const fn get(self) -> u16 {
        self.0
    }
}

impl fmt::Display for VlanId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// A VXLAN network identifier (VNI), 24 bits: 0–16 777 215.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Vni(u32);

impl Vni {
    /// The largest VNI, 2^24 − 1.
    pub const MAX: u32 = (1 << 24) - 1;

    /// Checks that `id` fits in 24 bits.
    pub fn new(id: u32) -> Result<Vni> {
        if id <= Vni::MAX {
            Ok(Vni(id))
        } else {
            Err(Error::invalid(
                "VNI",
                format!("{id} does not fit in 24 bits (at most {})", Vni::MAX),
            ))
        }
    }

    /// The raw identifier.
    pub const fn get(self) -> u32 {
        self.0
    }
}

impl fmt::Display for Vni {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// A routing table id (`ip route … table ID`), over the kernel's full `u32` range.
///
/// Ids up to 255 fit the route header's one-byte table field; larger ones travel in the
/// `RTA_TABLE` attribute (netplumb sends `RTA_TABLE` for those, as iproute2 does). Names from
/// `/etc/iproute2/rt_tables` are constants here.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TableId(u32);

impl TableId {
    /// No table (`RT_TABLE_UNSPEC`, 0): in a filter or a reply, "any table".
    pub const UNSPEC: TableId = TableId(0);
    /// The compatibility id (`RT_TABLE_COMPAT`, 252) old kernels report for ids above 255.
    pub const COMPAT: TableId = TableId(252);
    /// The `default` table (253).
    pub const DEFAULT: TableId = TableId(253);
    /// The `main` table (254), where routes go when no table is named.
    pub const MAIN: TableId = TableId(254);
    /// The `local` table (255): the kernel's local and broadcast routes.
    pub const LOCAL: TableId = TableId(255);

    /// Wraps a raw table id. Every `u32` is a valid id; 0 means "unspecified".
    pub const fn new(id: u32) -> TableId {
        TableId(id)
    }

    /// The raw id.
    pub const fn get(self) -> u32 {
        self.0
    }
}

impl Default for TableId {
    /// [`TableId::MAIN`], as for `ip route` without `table`.
    fn default() -> TableId {
        TableId::MAIN
    }
}

impl From<u32> for TableId {
    fn from(id: u32) -> TableId {
        TableId(id)
    }
}

impl fmt::Display for TableId {
    /// The name iproute2 prints for the well-known ids (`main`, `local`, `default`), else the
    /// number.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            253 => f.write_str("default"),
            254 => f.write_str("main"),
            255 => f.write_str("local"),
            n => n.fmt(f),
        }
    }
}

/// An IP address family.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum IpFamily {
    /// IPv4 (`AF_INET`).
    V4,
    /// IPv6 (`AF_INET6`).
    V6,
}

impl IpFamily {
    /// The family of an address.
    pub fn of(addr: std::net::IpAddr) -> IpFamily {
        match addr {
            std::net::IpAddr::V4(_) => IpFamily::V4,
            std::net::IpAddr::V6(_) => IpFamily::V6,
        }
    }

    /// The longest prefix length of this family (32 or 128).
    pub const fn max_prefix_len(self) -> u8 {
        match self {
            IpFamily::V4 => 32,
            IpFamily::V6 => 128,
        }
    }
}

/// The kernel's limit on interface names: `IFNAMSIZ` (16) bytes including the terminating NUL.
pub const IFNAMSIZ: usize = 16;

/// Checks an interface name as the kernel does (`dev_valid_name`, net/core/dev.c), before
/// anything is sent: not empty, shorter than [`IFNAMSIZ`] bytes, not `.` or `..`, and no byte
/// that is `/`, `:` or a space to the kernel's `isspace` (lib/ctype.c: `\t \n \v \f \r`, the
/// space and Latin-1's no-break space 0xA0). The kernel looks at bytes: other non-ASCII UTF-8
/// is accepted (`é`, U+2003 EM SPACE), but a character whose encoding holds the byte 0xA0
/// (U+00A0 itself, `à`, `†`) is refused. A NUL would cut the name short, so it is refused too.
pub(crate) fn check_ifname(arg: &'static str, name: &str) -> Result<()> {
    let reason = if name.is_empty() {
        "an interface name cannot be empty".to_string()
    } else if name.len() >= IFNAMSIZ {
        format!(
            "{name:?} is {} bytes long; interface names are at most {} bytes",
            name.len(),
            IFNAMSIZ - 1
        )
    } else if name == "." || name == ".." {
        format!("{name:?} is not a valid interface name")
    } else if let Some(c) = name.chars().find(|c| {
        let mut buf = [0; 4];
        c.encode_utf8(&mut buf).bytes().any(ifname_byte_refused)
    }) {
        format!(
            "{name:?} contains {c:?}, and interface names cannot hold '/', ':', NUL or a byte \
             the kernel's isspace() counts as a space (\\t \\n \\v \\f \\r, ' ', 0xA0)"
        )
    } else {
        return Ok(());
    };
    Err(Error::InvalidInput { arg, reason })
}

/// A byte `dev_valid_name` refuses (`/`, `:`, the kernel's `isspace`), or NUL.
pub(crate) fn ifname_byte_refused(b: u8) -> bool {
    matches!(
        b,
        b'/' | b':' | b'\0' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r' | b' ' | 0xa0
    )
}

/// Refuses a prefix with host bits set.
pub(crate) fn check_prefix(arg: &'static str, net: IpNetwork) -> Result<()> {
    if net.ip() != net.network() {
        return Err(Error::invalid(
            arg,
            format!(
                "{net} has host bits set; the prefix is {}/{}",
                net.network(),
                net.prefix()
            ),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::names::check_ifname_bytes;
    use crate::{IfAlias, IfName, LinkRef};

    #[test]
    fn names_hold_bytes_and_display_them_losslessly() {
        let odd = IfName::new(b"bad\xff\xfe").unwrap();
        assert_eq!(odd.as_bytes(), b"bad\xff\xfe");
        assert_eq!((odd.len(), odd.to_str()), (5, None));
        assert_eq!(odd.to_string(), r"bad\xff\xfe");
        assert_eq!(format!("{odd:?}"), r#""bad\xff\xfe""#);
        assert_eq!(format!("[{odd:>12}]"), r"[ bad\xff\xfe]");
        assert_eq!(odd, &b"bad\xff\xfe"[..]);
        // Text compares both ways; UTF-8 beyond ASCII is shown as itself.
        let eth = IfName::try_from("eth0").unwrap();
        assert_eq!(eth, "eth0");
        assert_eq!("eth0", eth);
        assert_eq!(eth, *"eth0");
        assert_eq!(eth, String::from("eth0"));
        assert_eq!(String::from("eth0"), eth);
        assert_ne!(eth, "eth1");
        let e = IfName::try_from("caf\u{e9}").unwrap();
        assert_eq!(
            (e.to_str(), e.to_string()),
            (Some("caf\u{e9}"), "caf\u{e9}".into())
        );
        // Escapes make the display unambiguous and free of control characters.
        let tricky = IfName::new(b"a\\x\x1b[2J\t\"'").unwrap();
        assert_eq!(tricky.to_string(), r#"a\\x\u{1b}[2J\t"'"#);
        assert_eq!(format!("{tricky:?}"), r#""a\\x\u{1b}[2J\t\"'""#);
        assert!(!tricky.to_string().contains('\x1b'));
        let split = IfName::new(b"\xe2\x82").unwrap(); // a truncated UTF-8 sequence
        assert_eq!(split.to_string(), r"\xe2\x82");
        // Limits: 15 bytes, no NUL; the kernel's attribute stops at its NUL.
        assert!(IfName::new(b"fifteen-bytes-x").is_ok());
        let e = IfName::new(b"sixteen-bytes-x\xff").unwrap_err();
        assert!(matches!(e, Error::InvalidInput { arg: "name", .. }), "{e}");
        assert!(e.to_string().contains(r"sixteen-bytes-x\xff"), "{e}");
        assert!(IfName::new(b"a\0b").is_err());
        assert_eq!(IfName::from_attr(b"eth0\0\0\0").unwrap(), "eth0");
        assert_eq!(IfName::from_attr(b"eth0").unwrap(), "eth0");
        assert_eq!(IfName::from_attr(b"sixteen-bytes-xx\0"), None);
        assert!(IfName::default().is_empty());
        // Ordered and hashed as bytes: a map keyed by names is searched by bytes.
        let mut v = [odd, eth, IfName::try_from("eth").unwrap()];
        v.sort();
        assert_eq!(
            v.iter().map(|n| n.as_bytes()).collect::<Vec<_>>(),
            [&b"bad\xff\xfe"[..], b"eth", b"eth0"]
        );
        let set: std::collections::HashSet<IfName> = v.iter().copied().collect();
        assert!(set.contains(&b"bad\xff\xfe"[..]));
        let os: &std::ffi::OsStr = odd.as_ref();
        assert_eq!(IfName::try_from(os).unwrap(), odd);
    }

    #[test]
    fn aliases_hold_up_to_255_bytes() {
        let a = IfAlias::new(b"uplink \xff").unwrap();
        assert_eq!(
            (a.to_string(), a.to_str()),
            (r"uplink \xff".to_string(), None)
        );
        assert_eq!(format!("{a:?}"), r#""uplink \xff""#);
        assert!(IfAlias::try_from("to pod").unwrap() == "to pod");
        assert!(IfAlias::new(&[b'a'; 255]).is_ok());
        assert!(IfAlias::new(&[b'a'; 256]).is_err());
        assert!(IfAlias::new(b"a\0").is_err());
        assert_eq!(IfAlias::from_attr(b"x\xff\0").unwrap().as_bytes(), b"x\xff");
    }

    #[test]
    fn link_refs_from_names() {
        let odd = IfName::new(b"bad\xff").unwrap();
        assert_eq!(LinkRef::from(&odd), LinkRef::NameBytes(b"bad\xff"));
        let eth = IfName::try_from("eth0").unwrap();
        assert_eq!(LinkRef::from(&eth), LinkRef::Name("eth0"));
        let os = std::ffi::OsStr::new("v0");
        assert_eq!(LinkRef::from(os), LinkRef::Name("v0"));
        assert_eq!(LinkRef::from(&odd).to_string(), r#"link "bad\xff""#);
        assert!(check_ifname_bytes("name", b"bad\xff").is_ok());
        assert!(check_ifname_bytes("name", b"eth0").is_ok());
        for bad in [
            &b"a/\xff"[..],
            b"a \xff",
            b"\xff\xa0",
            b"fifteen-bytes-\xff\xff",
        ] {
            let e = check_ifname_bytes("name", bad).unwrap_err();
            assert!(matches!(e, Error::InvalidInput { arg: "name", .. }), "{e}");
        }
        assert!(check_ifname_bytes("name", b"..").is_err());
    }

    #[test]
    fn mac_round_trip() {
        let m: MacAddr = "02:AB:cd:00:11:ff".parse().unwrap();
        assert_eq!(m.0, [0x02, 0xab, 0xcd, 0x00, 0x11, 0xff]);
        assert_eq!(m.to_string(), "02:ab:cd:00:11:ff");
        assert!(m.is_local() && !m.is_multicast());
        assert_eq!("02-ab-cd-00-11-ff".parse::<MacAddr>().unwrap(), m);
        for bad in [
            "",
            "02:ab:cd:00:11",
            "02:ab:cd:00:11:ff:00",
            "02:ab:cd:00:11:fg",
            "002:ab:cd:00:11:ff",
        ] {
            assert!(bad.parse::<MacAddr>().is_err(), "{bad}");
        }
        assert!(MacAddr::from_slice(&[1, 2, 3]).is_err());
        assert_eq!(
            MacAddr::from_slice(&[1, 2, 3, 4, 5, 6]).unwrap().0,
            [1, 2, 3, 4, 5, 6]
        );
    }

    #[test]
    fn vlan_bounds() {
        assert!(VlanId::new(0).is_err());
        assert!(VlanId::new(4095).is_err());
        assert_eq!(VlanId::new(1).unwrap().get(), 1);
        assert_eq!(VlanId::new(4094).unwrap().get(), 4094);
    }

    #[test]
    fn vni_bounds() {
        assert_eq!(Vni::new(0).unwrap().get(), 0);
        assert_eq!(Vni::new(Vni::MAX).unwrap().get(), 16_777_215);
        let e = Vni::new(1 << 24).unwrap_err();
        assert!(e.to_string().contains("24 bits"), "{e}");
    }

    #[test]
    fn ifname_rules() {
        assert!(check_ifname("name", "veth0").is_ok());
        assert!(check_ifname("name", "fifteen-bytes-x").is_ok());
        let e = check_ifname("name", "sixteen-bytes-xx").unwrap_err();
        assert!(e.to_string().contains("at most 15 bytes"), "{e}");
        for bad in ["", ".", "..", "a/b", "a:b", "a b"] {
            assert!(check_ifname("name", bad).is_err(), "{bad:?}");
        }
        // The kernel's rule, byte for byte (tests/errors.rs checks the same table against it).
        let ok = [
            "a.",
            ".a",
            "...",
            "a\x01b",
            "a\x1cb",
            "a\x7fb",
            "\u{e9}",
            "a\u{85}b",
            "a\u{2003}b",
            "a\u{3000}b",
            "\u{1f980}",
            "a-b_c.d@e",
            "\u{e9}\u{e9}\u{e9}\u{e9}\u{e9}\u{e9}\u{e9}1",
        ];
        for name in ok {
            assert!(check_ifname("name", name).is_ok(), "{name:?}");
        }
        let bad = [
            "a\tb",
            "a\nb",
            "a\x0bb",
            "a\x0cb",
            "a\rb",
            "a\0b",
            "\0",
            "a\u{a0}b",
            "\u{e0}",
            "a\u{2020}b",
            "\u{e9}\u{e9}\u{e9}\u{e9}\u{e9}\u{e9}\u{e9}\u{e9}",
        ];
        for name in bad {
            let e = check_ifname("name", name).unwrap_err();
            assert!(matches!(e, Error::InvalidInput { arg: "name", .. }), "{e}");
        }
        let e = check_ifname("name", "v\u{e0}").unwrap_err();
        assert!(e.to_string().contains("contains '\u{e0}'"), "{e}");
        assert_eq!(IfIndex::new(0), None);
        assert_eq!(IfIndex::new(7).unwrap().get(), 7);
    }
}
