//! TODO(skeleton): the line probe.
