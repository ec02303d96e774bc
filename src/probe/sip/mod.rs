//! TODO(skeleton): SIP probing (RFC 3263 resolution, OPTIONS, REGISTER query, digest auth).
