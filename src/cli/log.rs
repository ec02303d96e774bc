//! `dialtone log`: lists outage episodes, records fault reports, exports the outage log.
