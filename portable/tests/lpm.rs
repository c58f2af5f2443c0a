//! The root package's lpm suites, run against netplumb built with `default-features = false`.

#[path = "../../tests/lpm_prop.rs"]
mod lpm_prop;
#[path = "../../tests/lpm_rib.rs"]
mod lpm_rib;
#[path = "../../tests/lpm_serde.rs"]
mod lpm_serde;
#[path = "../../tests/lpm_traits.rs"]
mod lpm_traits;
