//! Handler-level tests of the agent (filled below).
