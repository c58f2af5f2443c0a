//! flannel in the lab: its `vxlan` data path (shared by the examples), its records in etcd, an
//! agent that does flanneld's job over etcd (one process per host namespace), the processes
//! that run those agents, and a monitor-kept view of what the agents put in the kernels.

mod agent;
mod config;
mod datapath;
mod process;
mod watch;

pub use agent::{agent_main, run_agent, AgentOptions, BadConfig};
pub use config::{
    parse_subnet_key, subnet_key, Config, LeaseAttrs, SubnetEnv, DEFAULT_PORT, DEFAULT_PREFIX,
    DEFAULT_VNI,
};
pub use datapath::{
    add_pods, program_lease, remove_lease, unprogram_lease, LeaseEntries, Pod, VtepLease, Write,
    OVERLAY_MTU,
};
pub use process::{AgentProcess, AgentProgram, Usage};
pub use watch::{HostView, OverlayWatch};
