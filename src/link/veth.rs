//! veth pairs (`ip link add … type veth peer …`).

use std::os::fd::{AsFd, AsRawFd};

use netlink_packet_route::link::{InfoData, InfoKind, InfoVeth, LinkAttribute, LinkMessage};

use super::base::{check_mtu, new_link_message, put_in_netns};
use crate::batch::Batch;
use crate::types::check_ifname;
use crate::wire::{NLM_F_CREATE, NLM_F_EXCL};
use crate::{Handle, MacAddr, NetNs, Result};

/// A veth pair to create: two Ethernet devices joined back to back; what one sends, the other
/// receives. The usual way to connect a container's namespace to the host.
///
/// ```no_run
/// use netplumb::{Handle, NetNs, link::NewVeth};
///
/// let pod = NetNs::create("pod1")?;
/// let mut veth = NewVeth::new("veth-pod1", "eth0");
/// veth.peer.netns = Some(&pod); // the peer is born inside the pod's namespace
/// Handle::new()?.add_veth(&veth)?;
/// # Ok::<(), netplumb::Error>(())
/// ```
#[derive(Clone, Debug, Default)]
pub struct NewVeth<'a> {
    /// Name of the end created in the handle's namespace.
    pub name: String,
    /// MTU of this end (the kernel's default when `None`).
    pub mtu: Option<u32>,
    /// Hardware address of this end (random when `None`).
    pub mac: Option<MacAddr>,
    /// Namespace to create this end in (the handle's own when `None`), as
    /// `ip link add A netns NS type veth peer name B` does.
    pub netns: Option<&'a NetNs>,
    /// The group of this end (`ip link add A group N type veth …`; see
    /// [`Handle::set_link_group`]). Deleting the group deletes the pair.
    pub group: Option<u32>,
    /// The other end.
    pub peer: VethPeer<'a>,
}

/// The peer end of a [`NewVeth`] pair.
#[derive(Clone, Debug, Default)]
pub struct VethPeer<'a> {
    /// Name of the peer end.
    pub name: String,
    /// MTU of the peer end (the kernel's default when `None`).
    pub mtu: Option<u32>,
    /// Hardware address of the peer end (random when `None`).
    pub mac: Option<MacAddr>,
    /// Namespace to create the peer in (the handle's own namespace when `None`), as
    /// `ip link add A type veth peer name B netns NS` does.
    pub netns: Option<&'a NetNs>,
}

impl NewVeth<'_> {
    /// A pair named `name` and `peer_name`, both in the handle's namespace, with kernel defaults.
    pub fn new(name: &str, peer_name: &str) -> NewVeth<'static> {
        NewVeth {
            name: name.to_string(),
            peer: VethPeer {
                name: peer_name.to_string(),
                ..VethPeer::default()
            },
            ..NewVeth::default()
        }
    }
}

/// # Links: veth
///
/// `ip link add … type veth peer …`.
impl Handle {
    /// Creates a veth pair. Equivalent to
    /// `ip link add NAME [mtu M] [address A] type veth peer name PEER [mtu M] [address A] [netns NS]`.
    ///
    /// Both names are checked (at most 15 bytes) before anything is sent; a name that exists is
    /// an error for which [`Error::is_exists`](crate::Error::is_exists) is true.
    pub fn add_veth(&self, veth: &NewVeth<'_>) -> Result<()> {
        self.create_link("veth", veth_message(veth)?)
    }
}

/// # Links: veth
impl Batch<'_> {
    /// Queues `ip link add … type veth peer …` (see [`Handle::add_veth`]); returns the
    /// request's index. Many pairs are created faster in one batch than one call at a time:
    /// the requests are pipelined, not each waited for.
    pub fn add_veth(&mut self, veth: &NewVeth<'_>) -> usize {
        let msg = veth_message(veth).map(netlink_packet_route::RouteNetlinkMessage::NewLink);
        self.push_result("add link", msg, NLM_F_CREATE | NLM_F_EXCL)
    }
}

/// The `RTM_NEWLINK` request for a veth pair.
pub(crate) fn veth_message(veth: &NewVeth<'_>) -> Result<LinkMessage> {
    check_ifname("veth name", &veth.name)?;
    check_ifname("veth peer name", &veth.peer.name)?;
    let mut peer = LinkMessage::default();
    peer.attributes
        .push(LinkAttribute::IfName(veth.peer.name.clone()));
    if let Some(mtu) = veth.peer.mtu {
        check_mtu("veth peer mtu", mtu)?;
        peer.attributes.push(LinkAttribute::Mtu(mtu));
    }
    if let Some(mac) = veth.peer.mac {
        peer.attributes.push(LinkAttribute::Address(mac.0.to_vec()));
    }
    if let Some(ns) = veth.peer.netns {
        peer.attributes
            .push(LinkAttribute::NetNsFd(ns.as_fd().as_raw_fd()));
    }
    let mut msg = new_link_message(
        &veth.name,
        veth.mtu,
        veth.mac,
        InfoKind::Veth,
        Some(InfoData::Veth(InfoVeth::Peer(peer))),
    )?;
    if let Some(g) = veth.group {
        msg.attributes.push(LinkAttribute::Group(g));
    }
    put_in_netns(&mut msg, veth.netns);
    Ok(msg)
}
