//! Address operations: the [`Handle`] and [`Batch`] methods of `ip addr`.

use netlink_packet_route::RouteNetlinkMessage;

use super::codec::{address_from_bytes, address_message, delete_message, dump_message};
use super::types::{Address, AddressFilter, AddressFlags, AddressKey, NewAddress};
use crate::batch::Batch;
use crate::handle::DecodeFrame;
use crate::wire::{Frame, NLM_F_CREATE, NLM_F_EXCL, NLM_F_REPLACE};
use crate::{Dump, Error, Handle, LinkRef, Result};

const LIST_ADDRESSES: &str = "list addresses";

/// # Addresses
///
/// `ip addr`: add, replace, delete and list the addresses of links.
impl Handle {
    /// Adds an address to a link. Equivalent to
    /// `ip addr add ADDRESS/LEN [peer P] [broadcast B] [scope S] [label L] dev LINK`.
    /// An address that is already there is an error for which
    /// [`Error::is_exists`](crate::Error::is_exists) is true.
    ///
    /// An IPv6 address is *tentative* until the kernel's duplicate address detection work has
    /// run, even with [`AddressFlags::NODAD`](crate::addr::AddressFlags::NODAD) (which only
    /// makes that work short): a caller faster than `ip` that uses it at once as a route's
    /// source gets the kernel's "Invalid source address". Wait until
    /// [`addresses`](Handle::addresses) reports it without
    /// [`AddressFlags::TENTATIVE`](crate::addr::AddressFlags::TENTATIVE) (a few milliseconds).
    pub fn add_address<'a>(
        &self,
        link: impl Into<LinkRef<'a>>,
        address: &NewAddress,
    ) -> Result<()> {
        self.new_address("add address", link.into(), address, NLM_F_EXCL)
    }

    /// Adds an address, or changes it when it is there. Equivalent to `ip addr replace …`.
    pub fn replace_address<'a>(
        &self,
        link: impl Into<LinkRef<'a>>,
        address: &NewAddress,
    ) -> Result<()> {
        self.new_address("replace address", link.into(), address, NLM_F_REPLACE)
    }

    fn new_address(
        &self,
        op: &'static str,
        link: LinkRef<'_>,
        address: &NewAddress,
        flags: u16,
    ) -> Result<()> {
        let msg = address_message(address, || self.link_index(link))?;
        self.ack(
            op,
            RouteNetlinkMessage::NewAddress(msg),
            NLM_F_CREATE | flags,
        )
    }

    /// Removes an address from a link. Equivalent to
    /// `ip addr del ADDRESS/LEN [peer PEER] dev LINK`: give an [`IpNetwork`](ipnetwork::IpNetwork), or an
    /// [`AddressKey`] with the peer of a point-to-point address, or a listed `&Address`.
    /// An address that is not there is an error for which [`Error::is_not_found`](crate::Error::is_not_found) is true.
    pub fn delete_address<'a>(
        &self,
        link: impl Into<LinkRef<'a>>,
        address: impl Into<AddressKey>,
    ) -> Result<()> {
        let msg = delete_message(&address.into(), self.link_index(link)?)?;
        self.ack("delete address", RouteNetlinkMessage::DelAddress(msg), 0)
    }

    /// Lists addresses. Equivalent to `ip addr show [dev LINK]` (with `-4`/`-6` for a family).
    pub fn addresses(&self, filter: &AddressFilter<'_>) -> Result<Vec<Address>> {
        let (req, decode) = self.address_dump(filter)?;
        self.dump_frames(LIST_ADDRESSES, req, decode)
    }

    /// Waits until the IPv6 address `ip` on `link` has left `tentative` (duplicate address
    /// detection passed, so that it can be bound and used as a source), for at most
    /// `timeout`; returns the address as the kernel then reports it. An IPv4 address, or one
    /// added with `nodad`, is ready at once.
    ///
    /// Errors: the address is not on the link ([`Error::NotFound`]); DAD found it on another
    /// host (`dadfailed`: [`Error::Exists`]); still tentative after `timeout`
    /// ([`Error::Io`] of kind `TimedOut`). DAD takes about a second with the kernel's
    /// defaults (`dad_transmits` 1, `retrans_time` 1 s), longer while the link is down.
    ///
    /// ```no_run
    /// use std::time::Duration;
    /// use netplumb::Handle;
    ///
    /// let h = Handle::new()?;
    /// h.add_address("eth0", &"2001:db8::1/64".parse()?)?;
    /// h.wait_address_ready("eth0", "2001:db8::1".parse()?, Duration::from_secs(5))?;
    /// // now bind(2001:db8::1) succeeds
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn wait_address_ready<'a>(
        &self,
        link: impl Into<LinkRef<'a>>,
        ip: std::net::IpAddr,
        timeout: std::time::Duration,
    ) -> Result<Address> {
        let link = link.into();
        let index = self.link_index(link)?;
        let deadline = std::time::Instant::now() + timeout;
        let filter = AddressFilter {
            link: Some(LinkRef::Index(index)),
            family: Some(crate::IpFamily::of(ip)),
        };
        loop {
            let found = self
                .addresses(&filter)?
                .into_iter()
                .find(|a| a.address.ip() == ip);
            let Some(a) = found else {
                return Err(Error::NotFound {
                    what: format!("address {ip} on {link}"),
                    errno: None,
                });
            };
            if a.flags.contains(AddressFlags::DADFAILED) {
                return Err(Error::Exists {
                    what: format!("address {ip} on another host of {link}'s link (DAD failed)"),
                });
            }
            if !a.flags.contains(AddressFlags::TENTATIVE) {
                return Ok(a);
            }
            let now = std::time::Instant::now();
            if now >= deadline {
                return Err(Error::io(
                    "wait for address",
                    std::io::Error::new(
                        std::io::ErrorKind::TimedOut,
                        format!("{ip} on {link} still tentative after {timeout:?}"),
                    ),
                ));
            }
            std::thread::sleep((deadline - now).min(std::time::Duration::from_millis(50)));
        }
    }

    /// Lists addresses as [`addresses`](Handle::addresses) does, decoding them as they
    /// arrive (see [`Dump`]).
    pub fn addresses_iter(&self, filter: &AddressFilter<'_>) -> Result<Dump<'_, Address>> {
        let (req, decode) = self.address_dump(filter)?;
        self.dump_iter(LIST_ADDRESSES, req, decode)
    }

    /// The request of an address listing and the decoder that keeps what `filter` selects.
    fn address_dump(
        &self,
        filter: &AddressFilter<'_>,
    ) -> Result<(RouteNetlinkMessage, impl DecodeFrame<Address> + 'static)> {
        let index = match filter.link {
            Some(l) => Some(self.link_index(l)?),
            None => None,
        };
        let family = filter.family;
        let req = RouteNetlinkMessage::GetAddress(dump_message(family, index));
        let decode = move |frame: &Frame<'_>| {
            if frame.ty != libc::RTM_NEWADDR {
                return Ok(None);
            }
            let Some(a) = address_from_bytes(frame.payload)
                .map_err(|e| Error::malformed(LIST_ADDRESSES, e))?
            else {
                return Ok(None);
            };
            let keep = index.is_none_or(|i| a.index == i) && family.is_none_or(|f| a.family() == f);
            Ok(keep.then_some(a))
        };
        Ok((req, decode))
    }
}

/// # Addresses
impl Batch<'_> {
    /// Queues `ip addr add ADDRESS dev LINK` (see [`Handle::add_address`](crate::Handle::add_address)); returns the index.
    pub fn add_address<'a>(&mut self, link: impl Into<LinkRef<'a>>, address: &NewAddress) -> usize {
        let link = link.into();
        let msg =
            address_message(address, || self.resolve(link)).map(RouteNetlinkMessage::NewAddress);
        self.push_result("add address", msg, NLM_F_CREATE | NLM_F_EXCL)
    }

    /// Queues `ip addr del ADDRESS dev LINK` (see [`Handle::delete_address`](crate::Handle::delete_address)); returns the
    /// index.
    pub fn delete_address<'a>(
        &mut self,
        link: impl Into<LinkRef<'a>>,
        address: impl Into<AddressKey>,
    ) -> usize {
        let key = address.into();
        let msg = self
            .resolve(link.into())
            .and_then(|index| delete_message(&key, index))
            .map(RouteNetlinkMessage::DelAddress);
        self.push_result("delete address", msg, 0)
    }
}
