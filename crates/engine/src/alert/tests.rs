//! The alerter against real local targets.
