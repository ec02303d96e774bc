//! File hardening by mode bits (0600 files, 0700 directories) and the lock by `flock`, which
//! the kernel drops when the holder's file closes, however the process ends.

use std::fs::{DirBuilder, File, OpenOptions, Permissions};
use std::io;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::Path;

use rustix::fs::{flock, FlockOperation};

pub(crate) fn create_private_dir(dir: &Path) -> io::Result<()> {
    DirBuilder::new().recursive(true).mode(0o700).create(dir)
}

pub(crate) fn restrict_to_user(path: &Path) -> io::Result<()> {
    std::fs::set_permissions(path, Permissions::from_mode(0o600))
}

pub(crate) fn access_bits(path: &Path) -> io::Result<u32> {
    Ok(std::fs::metadata(path)?.permissions().mode() & 0o777)
}

/// The mode given at creation already made the file private.
pub(crate) fn created_private(_path: &Path) -> io::Result<()> {
    Ok(())
}

pub(crate) fn private(options: &mut OpenOptions) -> &mut OpenOptions {
    options.mode(0o600)
}

pub(crate) fn lock_exclusive(file: &File) -> io::Result<()> {
    flock(file, FlockOperation::LockExclusive).map_err(io::Error::from)
}

pub(crate) fn try_lock_exclusive(file: &File) -> io::Result<bool> {
    match flock(file, FlockOperation::NonBlockingLockExclusive) {
        Ok(()) => Ok(true),
        Err(e) if e == rustix::io::Errno::WOULDBLOCK => Ok(false),
        Err(e) => Err(e.into()),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // a test: a failed unwrap is a failed assertion
mod tests {
    //! What only Linux shows; the contract both systems keep is tested at the seam (`crate::fs`).
    use crate::fs::{self, OpenPrivate};
    use std::fs::OpenOptions;

    #[test]
    fn a_private_file_keeps_its_contents_and_private_opens_are_0600() {
        let tmp = tempfile::tempdir().unwrap();
        let file = tmp.path().join("data");
        std::fs::write(&file, "kept").unwrap();
        fs::create_private_file(&file).unwrap();
        assert_eq!(std::fs::read_to_string(&file).unwrap(), "kept");

        let opened = tmp.path().join("opened");
        OpenOptions::new()
            .create(true)
            .write(true)
            .truncate(true)
            .private()
            .open(&opened)
            .unwrap();
        assert_eq!(fs::access_bits(&opened).unwrap(), 0o600);
    }
}
