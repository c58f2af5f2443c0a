//! The short one-task examples (`examples/bridge_ports.rs` …), each run as a root test: its
//! `main` (public for this) must succeed. Each works in unnamed namespaces of its own, so they
//! run in parallel.

mod common;

macro_rules! example_tests {
    ($($name:ident: $path:literal),* $(,)?) => {
        $(
            #[path = $path]
            mod $name;
        )*

        mod run {
            $(
                #[test]
                fn $name() {
                    crate::require_root!();
                    match super::$name::main() {
                        Ok(()) => {}
                        // A kernel without the feature (macvlan, VXLAN…) is a skip, not a failure.
                        Err(e) if e
                            .downcast_ref::<netplumb::Error>()
                            .is_some_and(netplumb::Error::is_unsupported) =>
                        {
                            crate::common::report_skip(&crate::common::test_name(), &e.to_string());
                        }
                        Err(e) => panic!("example {} failed: {e}", stringify!($name)),
                    }
                }
            )*
        }
    };
}

example_tests!(
    batch_errors: "../examples/batch_errors.rs",
    bridge_ports: "../examples/bridge_ports.rs",
    ecmp_weights: "../examples/ecmp_weights.rs",
    macvlan_pod: "../examples/macvlan_pod.rs",
    neigh_proxy: "../examples/neigh_proxy.rs",
    policy_routing: "../examples/policy_routing.rs",
    route_get: "../examples/route_get.rs",
    vxlan_flood: "../examples/vxlan_flood.rs",
    watch_routes: "../examples/watch_routes.rs",
);
