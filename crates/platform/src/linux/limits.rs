//! The open-file limit on Linux: `RLIMIT_NOFILE`, whose soft value (often 1024) a process may
//! raise up to the hard one (often 512k) without any privilege.

use rustix::process::{getrlimit, setrlimit, Resource, Rlimit};
use std::io;

pub(crate) fn raise_open_files() -> io::Result<u64> {
    let limit = getrlimit(Resource::Nofile);
    if limit.current == limit.maximum {
        return Ok(limit.current.unwrap_or(u64::MAX));
    }
    setrlimit(
        Resource::Nofile,
        Rlimit {
            current: limit.maximum,
            maximum: limit.maximum,
        },
    )?;
    Ok(limit.maximum.unwrap_or(u64::MAX))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)] // a test: a failed unwrap is a failed assertion
    use super::*;

    #[test]
    fn the_soft_limit_is_raised_to_the_hard_one() {
        let now = raise_open_files().unwrap();
        let limit = getrlimit(Resource::Nofile);
        assert_eq!(limit.current, limit.maximum);
        assert_eq!(now, limit.current.unwrap_or(u64::MAX));
    }
}
