//! Generates Tauri's context (config, ACL) at build time. The app manifest lists the
//! dashboard's own commands so that each needs an explicit `allow-*` permission in
//! `capabilities/`, instead of every command being callable from any window.

fn main() {
    tauri_build::try_build(
        tauri_build::Attributes::new()
            .app_manifest(tauri_build::AppManifest::new().commands(command_names::COMMANDS)),
    )
    .expect("tauri build step");
}

// Kept in one place so `build.rs` and `src/lib.rs` cannot disagree.
#[path = "src/command_names.rs"]
mod command_names;
