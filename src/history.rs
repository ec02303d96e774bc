//! TODO(skeleton): history.
