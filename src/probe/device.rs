//! TODO(skeleton): the device probe.
