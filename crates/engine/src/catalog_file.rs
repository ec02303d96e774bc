//! The provider catalog on disk: the built-in `providers.toml` (compiled into the core) merged
//! with the user's own file in the XDG config dir, which may add providers or replace one.

use dialtone_core::catalog::{Catalog, CatalogError, USER_FILE_NAME};
use std::path::{Path, PathBuf};

/// The user's catalog file: `providers.toml` in dialtone's XDG config dir.
pub fn user_file_path() -> Option<PathBuf> {
    directories::ProjectDirs::from("", "", "dialtone")
        .map(|dirs| dirs.config_dir().join(USER_FILE_NAME))
}

/// The built-in catalog merged with the user's file, when `user_file` exists.
pub fn load(user_file: Option<&Path>) -> Result<Catalog, CatalogError> {
    Catalog::load_with(user_file, |path| std::fs::read_to_string(path))
}
