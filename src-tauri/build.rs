//! Generates Tauri's context (config, ACL) at build time. The app manifest lists the
//! dashboard's own commands so that each needs an explicit `allow-*` permission, and the one
//! capability (the main window: those commands and listening to events, no shell, fs or
//! opener plugin) is written from the same list into `OUT_DIR`, so the list exists once.

use std::path::Path;

fn main() {
    let out_dir = std::env::var("OUT_DIR").expect("cargo sets OUT_DIR");
    let dir = Path::new(&out_dir).join("capabilities");
    std::fs::create_dir_all(&dir).expect("create the capabilities folder");
    let mut permissions = vec![
        "core:event:allow-listen".to_string(),
        "core:event:allow-unlisten".to_string(),
    ];
    permissions.extend(
        command_names::COMMANDS
            .iter()
            .map(|name| format!("allow-{}", name.replace('_', "-"))),
    );
    let capability = format!(
        "{{\n  \"identifier\": \"dashboard\",\n  \"description\": \"The dashboard window: its own commands and listening to the agent's events; no shell, fs or opener plugin.\",\n  \"windows\": [\"main\"],\n  \"permissions\": [{}]\n}}\n",
        permissions
            .iter()
            .map(|p| format!("\"{p}\""))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let file = dir.join("dashboard.json");
    if std::fs::read_to_string(&file).ok().as_deref() != Some(capability.as_str()) {
        std::fs::write(&file, capability).expect("write the capability");
    }
    // tauri-build takes a 'static pattern; the build script runs once, so leaking it is free.
    let pattern: &'static str = Box::leak(format!("{}/*.json", dir.display()).into_boxed_str());
    println!("cargo:rerun-if-changed=src/command_names.rs");
    tauri_build::try_build(
        tauri_build::Attributes::new()
            .capabilities_path_pattern(pattern)
            .app_manifest(tauri_build::AppManifest::new().commands(command_names::COMMANDS)),
    )
    .expect("tauri build step");
}

// The command list lives in the app's source; the build script reads the same file (whose
// `pub` is the app's, unreachable from this script's root).
#[path = "src/command_names.rs"]
#[macro_use]
#[allow(unreachable_pub)]
mod command_names;
