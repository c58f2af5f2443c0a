//! Namespace id types.

/// A peer namespace's id as one namespace knows it (`ip netns list-id`): the number its
/// links' `link-netnsid` and its events name another namespace by.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Nsid {
    /// The id (0 or more).
    pub id: i32,
}
