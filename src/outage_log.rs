//! TODO(skeleton): outage_log.
