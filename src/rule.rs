//! Policy routing rules (`ip rule`).
