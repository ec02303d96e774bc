//! TODO(skeleton): the agent's local IPC endpoint.
