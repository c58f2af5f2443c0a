//! How links are named: [`LinkRef`] (a name, an index or a listed link), and names as the
//! kernel holds them, bytes that need not be UTF-8 ([`IfName`], [`IfAlias`]).

use std::fmt;
use std::str::FromStr;

use crate::types::{check_ifname, ifname_byte_refused, IFNAMSIZ};
use crate::{Error, IfIndex, Result};

/// Names a link in any operation: by name, by index, or by a [`Link`](crate::Link) value.
///
/// A name the kernel holds that is not UTF-8 names its link too: through an [`IfName`]
/// (`h.delete_link(&link.name)`) or an [`OsStr`](std::ffi::OsStr), as
/// [`NameBytes`](LinkRef::NameBytes); a `&Link` names it by index.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LinkRef<'a> {
    /// The interface name, e.g. `"veth0"`.
    Name(&'a str),
    /// The interface index.
    Index(IfIndex),
    /// The interface name as the kernel's bytes, for a name that is not UTF-8 (the
    /// conversions from [`IfName`] and `OsStr` give [`Name`](LinkRef::Name) for one that is).
    NameBytes(&'a [u8]),
}

impl<'a> From<&'a str> for LinkRef<'a> {
    fn from(name: &'a str) -> Self {
        LinkRef::Name(name)
    }
}

impl<'a> From<&'a String> for LinkRef<'a> {
    fn from(name: &'a String) -> Self {
        LinkRef::Name(name)
    }
}

impl<'a> From<&'a IfName> for LinkRef<'a> {
    fn from(name: &'a IfName) -> Self {
        LinkRef::from_bytes(name.as_bytes())
    }
}

impl<'a> From<&'a std::ffi::OsStr> for LinkRef<'a> {
    fn from(name: &'a std::ffi::OsStr) -> Self {
        LinkRef::from_bytes(std::os::unix::ffi::OsStrExt::as_bytes(name))
    }
}

impl<'a> LinkRef<'a> {
    /// [`Name`](LinkRef::Name) for UTF-8, else [`NameBytes`](LinkRef::NameBytes).
    fn from_bytes(name: &'a [u8]) -> Self {
        match std::str::from_utf8(name) {
            Ok(s) => LinkRef::Name(s),
            Err(_) => LinkRef::NameBytes(name),
        }
    }
}

impl From<IfIndex> for LinkRef<'_> {
    fn from(index: IfIndex) -> Self {
        LinkRef::Index(index)
    }
}

impl fmt::Display for LinkRef<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LinkRef::Name(n) => write!(f, "link {n:?}"),
            LinkRef::Index(i) => write!(f, "link with index {i}"),
            LinkRef::NameBytes(n) => write!(f, "link \"{}\"", Escaped(n, true)),
        }
    }
}

/// A name as the kernel holds it: an interface name (`IFLA_IFNAME`) or an IPv4 address label
/// (`IFA_LABEL`), at most [`IfName::MAX_LEN`] (15) bytes, without NUL.
///
/// The kernel checks a name's bytes against a few separators (see [`IFNAMSIZ`]), not against
/// UTF-8: `ip link add $'bad\xff' type dummy` is accepted, and such a name is reported here
/// byte for byte. [`as_bytes`](IfName::as_bytes) gives them; [`to_str`](IfName::to_str) gives
/// the name as text when it is UTF-8 (almost always). It compares with text directly
/// (`link.name == "eth0"`), and names the link it came from in any operation
/// (`h.delete_link(&link.name)`, through [`LinkRef`]).
///
/// [`Display`](fmt::Display) writes it readably and losslessly: valid UTF-8 as itself, except
/// that `\` and the characters Rust's [`char::escape_debug`] escapes (control characters such
/// as `\t` or `\u{1b}`, and other non-printable ones) are written escaped as that function
/// does; each byte that is not part of valid UTF-8 is written `\xNN` (two lower-case hex
/// digits). So `bad\xff\xfe` displays as `bad\xff\xfe`, never as replacement characters, and
/// no terminal control sequence in a name reaches the screen. [`Debug`](fmt::Debug) writes the
/// same between double quotes, with `"` escaped. (iproute2 prints the raw bytes.)
///
/// ```
/// use netplumb::IfName;
///
/// let odd = IfName::new(b"bad\xff\xfe")?;
/// assert_eq!(odd.as_bytes(), b"bad\xff\xfe");
/// assert_eq!(odd.to_str(), None);
/// assert_eq!(odd.to_string(), r"bad\xff\xfe");
/// let eth0 = IfName::try_from("eth0")?;
/// assert!(eth0 == "eth0" && eth0.to_str() == Some("eth0"));
/// assert!(IfName::new(b"sixteen-bytes-xx").is_err());
/// # Ok::<(), netplumb::Error>(())
/// ```
#[derive(Clone, Copy, Default)]
pub struct IfName {
    len: u8,
    /// The name, then zeros: equality and hashing may look at all of it.
    bytes: [u8; IfName::MAX_LEN],
}

impl IfName {
    /// The longest name the kernel holds: [`IFNAMSIZ`] − 1 = 15 bytes.
    pub const MAX_LEN: usize = IFNAMSIZ - 1;

    /// A name of these bytes: at most [`MAX_LEN`](IfName::MAX_LEN) of them, none NUL. Whether
    /// the kernel accepts it as a new interface name is checked when it is used as one.
    pub fn new(bytes: &[u8]) -> Result<IfName> {
        if bytes.len() > IfName::MAX_LEN || bytes.contains(&0) {
            let why = if bytes.contains(&0) {
                "holds a NUL".to_string()
            } else {
                format!("is {} bytes long", bytes.len())
            };
            return Err(Error::invalid(
                "name",
                format!(
                    "\"{}\" {why}; a name is at most {} bytes, without NUL",
                    Escaped(bytes, true),
                    IfName::MAX_LEN
                ),
            ));
        }
        let mut name = IfName {
            len: bytes.len() as u8,
            bytes: [0; IfName::MAX_LEN],
        };
        name.bytes[..bytes.len()].copy_from_slice(bytes);
        Ok(name)
    }

    /// The name of a string attribute's payload, up to its first NUL; `None` when that is
    /// longer than the kernel's names can be.
    pub(crate) fn from_attr(payload: &[u8]) -> Option<IfName> {
        let bytes = payload.split(|b| *b == 0).next().unwrap_or(&[]);
        IfName::new(bytes).ok()
    }

    /// The name's bytes, exactly as the kernel holds them.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes[..usize::from(self.len)]
    }

    /// The name as text; `None` when it is not UTF-8.
    pub fn to_str(&self) -> Option<&str> {
        std::str::from_utf8(self.as_bytes()).ok()
    }

    /// The name as an [`OsStr`](std::ffi::OsStr), the form of file names (as under
    /// `/sys/class/net`) and command arguments (`Command::new("ip").arg(name.as_os_str())`).
    pub fn as_os_str(&self) -> &std::ffi::OsStr {
        std::os::unix::ffi::OsStrExt::from_bytes(self.as_bytes())
    }

    /// The number of bytes.
    pub fn len(&self) -> usize {
        usize::from(self.len)
    }

    /// True for the empty name (the kernel reports none such).
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

/// A link's alias (`IFLA_IFALIAS`, `ip link set … alias TEXT`) as the kernel holds it: free
/// text of at most [`IfAlias::MAX_LEN`] (255) bytes, without NUL, which the kernel does not
/// check for UTF-8.
///
/// It has the interface of [`IfName`] (the same lossless [`Display`](fmt::Display), comparison
/// with text), and lives on the heap, being up to 255 bytes long.
///
/// ```
/// use netplumb::IfAlias;
///
/// let a = IfAlias::new(b"uplink \xff")?;
/// assert_eq!(a.to_string(), r"uplink \xff");
/// assert!(IfAlias::try_from("uplink to pod")? == "uplink to pod");
/// # Ok::<(), netplumb::Error>(())
/// ```
#[derive(Clone)]
pub struct IfAlias(Box<[u8]>);

impl IfAlias {
    /// The longest alias the kernel holds: `IFALIASZ` (256) − 1 bytes.
    pub const MAX_LEN: usize = 255;

    /// An alias of these bytes: at most [`MAX_LEN`](IfAlias::MAX_LEN) of them, none NUL.
    pub fn new(bytes: &[u8]) -> Result<IfAlias> {
        if bytes.len() > IfAlias::MAX_LEN || bytes.contains(&0) {
            return Err(Error::invalid(
                "alias",
                format!(
                    "{} bytes given; an alias is at most {} bytes, without NUL",
                    bytes.len(),
                    IfAlias::MAX_LEN
                ),
            ));
        }
        Ok(IfAlias(bytes.into()))
    }

    /// The alias of a string attribute's payload, up to its first NUL; `None` when that is
    /// longer than the kernel's aliases can be.
    pub(crate) fn from_attr(payload: &[u8]) -> Option<IfAlias> {
        let bytes = payload.split(|b| *b == 0).next().unwrap_or(&[]);
        IfAlias::new(bytes).ok()
    }

    /// The alias's bytes, exactly as the kernel holds them.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// The alias as text; `None` when it is not UTF-8.
    pub fn to_str(&self) -> Option<&str> {
        std::str::from_utf8(self.as_bytes()).ok()
    }

    /// The alias as an [`OsStr`](std::ffi::OsStr).
    pub fn as_os_str(&self) -> &std::ffi::OsStr {
        std::os::unix::ffi::OsStrExt::from_bytes(self.as_bytes())
    }

    /// The number of bytes.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// True for the empty alias.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// Writes bytes as [`IfName`]'s `Display` does (`quoted`: as its `Debug` does, inside the
/// quotes: with `"` escaped too).
pub(crate) struct Escaped<'a>(pub &'a [u8], pub bool);

impl fmt::Display for Escaped<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use fmt::Write;
        for chunk in self.0.utf8_chunks() {
            for c in chunk.valid().chars() {
                match c {
                    '"' if self.1 => f.write_str("\\\"")?,
                    '"' | '\'' => f.write_char(c)?,
                    c => write!(f, "{}", c.escape_debug())?,
                }
            }
            for b in chunk.invalid() {
                write!(f, "\\x{b:02x}")?;
            }
        }
        Ok(())
    }
}

/// What [`IfName`] and [`IfAlias`] share, written once: formatting, comparison (with each
/// other's kind, text and bytes), hashing and ordering by bytes, conversions.
macro_rules! kernel_text {
    ($t:ident) => {
        impl fmt::Display for $t {
            /// Honours width and alignment (`{:<16}`), as `str` does.
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                let shown = Escaped(self.as_bytes(), false);
                if f.width().is_some() || f.precision().is_some() {
                    f.pad(&shown.to_string())
                } else {
                    fmt::Display::fmt(&shown, f)
                }
            }
        }

        impl fmt::Debug for $t {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "\"{}\"", Escaped(self.as_bytes(), true))
            }
        }

        impl PartialEq for $t {
            fn eq(&self, other: &$t) -> bool {
                self.as_bytes() == other.as_bytes()
            }
        }

        impl Eq for $t {}

        impl PartialOrd for $t {
            fn partial_cmp(&self, other: &$t) -> Option<std::cmp::Ordering> {
                Some(self.cmp(other))
            }
        }

        impl Ord for $t {
            /// By bytes, as `[u8]` orders (for UTF-8 names, as `str` orders).
            fn cmp(&self, other: &$t) -> std::cmp::Ordering {
                self.as_bytes().cmp(other.as_bytes())
            }
        }

        impl std::hash::Hash for $t {
            /// As its bytes hash, so that a map keyed by it can be searched by `&[u8]`.
            fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
                self.as_bytes().hash(state)
            }
        }

        impl std::borrow::Borrow<[u8]> for $t {
            fn borrow(&self) -> &[u8] {
                self.as_bytes()
            }
        }

        impl AsRef<[u8]> for $t {
            fn as_ref(&self) -> &[u8] {
                self.as_bytes()
            }
        }

        impl AsRef<std::ffi::OsStr> for $t {
            fn as_ref(&self) -> &std::ffi::OsStr {
                self.as_os_str()
            }
        }

        impl PartialEq<str> for $t {
            fn eq(&self, other: &str) -> bool {
                self.as_bytes() == other.as_bytes()
            }
        }

        impl PartialEq<&str> for $t {
            fn eq(&self, other: &&str) -> bool {
                self.as_bytes() == other.as_bytes()
            }
        }

        impl PartialEq<String> for $t {
            fn eq(&self, other: &String) -> bool {
                self.as_bytes() == other.as_bytes()
            }
        }

        impl PartialEq<[u8]> for $t {
            fn eq(&self, other: &[u8]) -> bool {
                self.as_bytes() == other
            }
        }

        impl PartialEq<&[u8]> for $t {
            fn eq(&self, other: &&[u8]) -> bool {
                self.as_bytes() == *other
            }
        }

        impl PartialEq<$t> for str {
            fn eq(&self, other: &$t) -> bool {
                self.as_bytes() == other.as_bytes()
            }
        }

        impl PartialEq<$t> for &str {
            fn eq(&self, other: &$t) -> bool {
                self.as_bytes() == other.as_bytes()
            }
        }

        impl PartialEq<$t> for String {
            fn eq(&self, other: &$t) -> bool {
                self.as_bytes() == other.as_bytes()
            }
        }

        impl TryFrom<&str> for $t {
            type Error = Error;

            fn try_from(s: &str) -> Result<$t> {
                $t::new(s.as_bytes())
            }
        }

        impl TryFrom<&[u8]> for $t {
            type Error = Error;

            fn try_from(b: &[u8]) -> Result<$t> {
                $t::new(b)
            }
        }

        impl TryFrom<&std::ffi::OsStr> for $t {
            type Error = Error;

            fn try_from(s: &std::ffi::OsStr) -> Result<$t> {
                $t::new(std::os::unix::ffi::OsStrExt::as_bytes(s))
            }
        }

        impl FromStr for $t {
            type Err = Error;

            fn from_str(s: &str) -> Result<$t> {
                $t::new(s.as_bytes())
            }
        }
    };
}

kernel_text!(IfName);
kernel_text!(IfAlias);

/// `check_ifname` for a name given as bytes ([`LinkRef::NameBytes`]): the same rules, which
/// are the kernel's and look at bytes only.
pub(crate) fn check_ifname_bytes(arg: &'static str, name: &[u8]) -> Result<()> {
    if let Ok(name) = std::str::from_utf8(name) {
        return check_ifname(arg, name);
    }
    let shown = Escaped(name, true);
    let reason = if name.len() >= IFNAMSIZ {
        format!(
            "\"{shown}\" is {} bytes long; interface names are at most {} bytes",
            name.len(),
            IFNAMSIZ - 1
        )
    } else if let Some(b) = name.iter().find(|b| ifname_byte_refused(**b)) {
        format!(
            "\"{shown}\" contains the byte 0x{b:02x}, and interface names cannot hold '/', ':', \
             NUL or a byte the kernel's isspace() counts as a space (\\t \\n \\v \\f \\r, ' ', 0xA0)"
        )
    } else {
        return Ok(());
    };
    Err(Error::InvalidInput { arg, reason })
}
