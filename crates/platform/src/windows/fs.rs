//! File hardening by owner-only DACLs and the lock by std's `File::lock` (`LockFileEx` on the
//! whole file), which Windows releases when the holder's handle closes, however it ends.
//!
//! std cannot pass a security descriptor when it creates a file, so a new file gets its
//! directory's inheritable entries: inside a directory from [`create_private_dir`] (protected,
//! only the user, inherited by what is made in it) that is the user alone from the first byte.
//! `fs::create_private_file` sets the file's own DACL afterwards as well, for a directory that
//! existed before.

use std::fs::{File, OpenOptions, TryLockError};
use std::io;
use std::path::Path;

use super::rules::{access_bits_from_sddl, private_dir_sddl, private_file_sddl};
use super::security::{file_sddl, set_file_sddl};

pub(crate) fn create_private_dir(dir: &Path) -> io::Result<()> {
    // The directories this call makes, outermost first: only those get the private DACL.
    let mut missing: Vec<&Path> = dir.ancestors().take_while(|d| !d.exists()).collect();
    missing.reverse();
    std::fs::create_dir_all(dir)?;
    let sddl = private_dir_sddl(&super::current_user());
    for made in missing.into_iter().filter(|d| !d.as_os_str().is_empty()) {
        set_file_sddl(made, &sddl)?;
    }
    Ok(())
}

pub(crate) fn restrict_to_user(path: &Path) -> io::Result<()> {
    let sid = super::current_user();
    let sddl = if path.is_dir() {
        private_dir_sddl(&sid)
    } else {
        private_file_sddl(&sid)
    };
    set_file_sddl(path, &sddl)
}

pub(crate) fn created_private(path: &Path) -> io::Result<()> {
    restrict_to_user(path)
}

pub(crate) fn access_bits(path: &Path) -> io::Result<u32> {
    let is_dir = std::fs::metadata(path)?.is_dir();
    Ok(access_bits_from_sddl(
        &file_sddl(path)?,
        &super::current_user(),
        is_dir,
    ))
}

pub(crate) fn private(options: &mut OpenOptions) -> &mut OpenOptions {
    // Nothing to set on the options: the directory's inherited DACL decides (module doc).
    options
}

pub(crate) fn lock_exclusive(file: &File) -> io::Result<()> {
    file.lock()
}

pub(crate) fn try_lock_exclusive(file: &File) -> io::Result<bool> {
    match file.try_lock() {
        Ok(()) => Ok(true),
        Err(TryLockError::WouldBlock) => Ok(false),
        Err(TryLockError::Error(e)) => Err(e),
    }
}
