//! TODO(skeleton): the internet probe.
