//! TODO(skeleton): catalog.
