//! netplumb: synchronous, typed Linux network primitives over rtnetlink, and a fast
//! longest-prefix-match routing table engine.
#![deny(missing_docs)]

pub mod lpm;
