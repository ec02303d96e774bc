//! TODO(skeleton): agent.
