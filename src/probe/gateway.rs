//! TODO(skeleton): the gateway probe.
