//! Longest-prefix-match routing table engine (no netlink dependency).
