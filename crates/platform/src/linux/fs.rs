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
    use crate::fs::{self, OpenPrivate};
    use std::fs::OpenOptions;

    #[test]
    fn private_files_and_directories_are_the_users_only() {
        let tmp = tempfile::tempdir().unwrap();
        let file = tmp.path().join("a/b/data");
        fs::create_private_file(&file).unwrap();
        assert_eq!(fs::access_bits(&file).unwrap(), 0o600);
        assert_eq!(fs::access_bits(&tmp.path().join("a/b")).unwrap(), 0o700);
        assert_eq!(fs::access_bits(&tmp.path().join("a")).unwrap(), 0o700);
        // Contents survive a second call.
        std::fs::write(&file, "kept").unwrap();
        fs::create_private_file(&file).unwrap();
        assert_eq!(std::fs::read_to_string(&file).unwrap(), "kept");

        let loose = tmp.path().join("loose");
        std::fs::write(&loose, "x").unwrap();
        fs::restrict_to_user(&loose).unwrap();
        assert_eq!(fs::access_bits(&loose).unwrap(), 0o600);

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

    #[test]
    fn an_exclusive_lock_is_held_once() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("lock");
        let open = || {
            OpenOptions::new()
                .create(true)
                .truncate(false)
                .write(true)
                .open(&path)
                .unwrap()
        };
        let first = open();
        assert!(fs::try_lock_exclusive(&first).unwrap());
        // flock locks belong to the open file, so a second open is another holder.
        let second = open();
        assert!(!fs::try_lock_exclusive(&second).unwrap());
        drop(first);
        assert!(fs::try_lock_exclusive(&second).unwrap());
        drop(second);
        fs::lock_exclusive(&open()).unwrap();
    }
}
