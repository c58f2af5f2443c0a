//! netplumb as a dependent with `default-features = false` sees it: only [`netplumb::lpm`],
//! no netlink, no `nix`, no `libc`.
//!
//! Why a crate of its own: `cargo test -p netplumb --no-default-features` still builds netplumb
//! with its `netlink` feature, because its dev-dependency `netplumb-lab` depends on netplumb
//! with default features and Cargo unifies the features of one package across a build. Built
//! alone (`cargo test -p netplumb-portable`), this crate's tests run the lpm test suites
//! (`tests/lpm_prop.rs`, `tests/lpm_rib.rs` of the root package, included as modules) against
//! the netlink-free build, with the portable fallbacks (no huge-page advice, the symmetric
//! fence pair of `SharedFib`).
#![deny(missing_docs)]
