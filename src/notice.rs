//! TODO(skeleton): notice.
