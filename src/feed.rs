//! TODO(skeleton): feed.
