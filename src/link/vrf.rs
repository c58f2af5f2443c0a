//! VRF devices (`ip link add … type vrf table T`): an L3 master device that binds its
//! enslaved interfaces to one routing table.

use netlink_packet_route::link::{InfoData, InfoKind, InfoVrf, LinkAttribute, LinkMessage};

use super::base::{kind_of, new_link_message, put_in_netns, selector_message};
use crate::types::check_ifname;
use crate::{Error, Handle, LinkRef, MacAddr, NetNs, Result, TableId};

/// A VRF to create (`ip link add NAME type vrf table TABLE`).
///
/// Interfaces join it with [`Handle::set_link_vrf`](crate::Handle::set_link_vrf); routes for the VRF go into its table;
/// an `l3mdev` rule (added by the kernel with the first VRF, or with
/// [`Rule::l3mdev`](crate::rule::Rule::l3mdev)) sends lookups there.
///
/// ```no_run
/// use netplumb::{Handle, TableId, link::NewVrf};
///
/// let h = Handle::new()?;
/// h.add_vrf(&NewVrf::new("tenant1", TableId::new(10)))?;
/// h.set_link_up("tenant1")?;
/// h.set_link_vrf("veth-t1", "tenant1")?; // ip link set veth-t1 master tenant1
/// # Ok::<(), netplumb::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct NewVrf<'a> {
    /// The device name.
    pub name: String,
    /// The routing table the VRF uses (`table T`); not [`TableId::UNSPEC`].
    pub table: TableId,
    /// MTU of the VRF device.
    pub mtu: Option<u32>,
    /// Hardware address of the VRF device.
    pub mac: Option<MacAddr>,
    /// The namespace to create it in (`netns NS`); the handle's own when `None`.
    pub netns: Option<&'a NetNs>,
}

impl NewVrf<'_> {
    /// A VRF named `name` bound to `table`.
    pub fn new(name: &str, table: TableId) -> NewVrf<'static> {
        NewVrf {
            name: name.to_string(),
            table,
            mtu: None,
            mac: None,
            netns: None,
        }
    }
}

/// A VRF's settings as listed ([`LinkKind::Vrf`](crate::link::LinkKind::Vrf)).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Vrf {
    /// The VRF's routing table.
    pub table: Option<TableId>,
}

impl Vrf {
    pub(crate) fn from_nlas(nlas: Vec<InfoVrf>) -> Vrf {
        let mut info = Vrf::default();
        for n in nlas {
            if let InfoVrf::TableId(t) = n {
                info.table = Some(TableId::new(t));
            }
        }
        info
    }
}

/// The `RTM_NEWLINK` request for a VRF.
pub(crate) fn vrf_message(vrf: &NewVrf<'_>) -> Result<LinkMessage> {
    check_ifname("vrf name", &vrf.name)?;
    if vrf.table == TableId::UNSPEC {
        return Err(Error::invalid(
            "table",
            "a VRF needs a table id other than 0",
        ));
    }
    let mut msg = new_link_message(
        &vrf.name,
        vrf.mtu,
        vrf.mac,
        InfoKind::Vrf,
        Some(InfoData::Vrf(vec![InfoVrf::TableId(vrf.table.get())])),
    )?;
    put_in_netns(&mut msg, vrf.netns);
    Ok(msg)
}

/// # Links: VRF
///
/// `ip link add … type vrf table T`, `ip link set … vrf V`.
impl Handle {
    /// Creates a VRF device. Equivalent to `ip link add NAME type vrf table TABLE`.
    ///
    /// A kernel without VRF support answers with [`Error::Unsupported`] ("the kernel has no
    /// vrf support").
    pub fn add_vrf(&self, vrf: &NewVrf) -> Result<()> {
        self.create_link("vrf", vrf_message(vrf)?)
    }

    /// Enslaves a link to a VRF. Equivalent to `ip link set dev NAME master VRF` (the same
    /// operation as [`Handle::set_link_master`](crate::Handle::set_link_master), checking first that `vrf` is a VRF).
    pub fn set_link_vrf<'a, 'b>(
        &self,
        link: impl Into<LinkRef<'a>>,
        vrf: impl Into<LinkRef<'b>>,
    ) -> Result<()> {
        let vrf = vrf.into();
        self.vrf_table(vrf)?; // a VRF, or a clear error
        let master = self.link_index(vrf)?;
        let link = link.into();
        let mut msg = selector_message(link)?;
        msg.attributes.push(LinkAttribute::Controller(master.get()));
        self.set_link("set link vrf", link, msg)
    }

    /// Releases a link from its VRF. Equivalent to `ip link set dev NAME nomaster`.
    pub fn unset_link_vrf<'a>(&self, link: impl Into<LinkRef<'a>>) -> Result<()> {
        let link = link.into();
        let mut msg = selector_message(link)?;
        msg.attributes.push(LinkAttribute::Controller(0));
        self.set_link("unset link vrf", link, msg)
    }

    /// The table of a VRF device: what [`RouteFilter::vrf`](crate::route::RouteFilter::vrf)
    /// lists. A link that is not a VRF is an [`Error::InvalidInput`].
    pub(crate) fn vrf_table(&self, vrf: LinkRef<'_>) -> Result<TableId> {
        let m = self.link_message(vrf)?;
        match kind_of(&m) {
            (Some(InfoKind::Vrf), Some(InfoData::Vrf(nlas))) => {
                Vrf::from_nlas(nlas.clone()).table.ok_or_else(|| {
                    Error::malformed(
                        "list vrf routes",
                        format!("VRF {vrf} reported without a table"),
                    )
                })
            }
            _ => Err(Error::invalid("vrf", format!("{vrf} is not a VRF"))),
        }
    }
}
