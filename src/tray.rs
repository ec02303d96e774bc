//! TODO(skeleton): tray.
