# Shared set-up for scripts/run and scripts/test: installs what is missing. Sourced, not run.

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

# apt_install PKG...: installs those of PKG that are not installed yet.
apt_install() {
  local missing=()
  for pkg in "$@"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    echo "== installing: ${missing[*]}"
    $SUDO env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=900 update -qq
    $SUDO env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=900 install -y -qq --no-install-recommends "${missing[@]}"
  fi
}

# The Rust toolchain (rustup's stable) when cargo is missing, then the C toolchain crates need,
# and the GTK/WebKit development files of the Tauri dashboard (src-tauri/): scripts/run builds
# it too, so that "Open dashboard" works on a fresh machine.
install_build_deps() {
  apt_install build-essential pkg-config ca-certificates curl file \
    libwebkit2gtk-4.1-dev libxdo-dev libssl-dev libayatana-appindicator3-dev librsvg2-dev
  if ! command -v cargo >/dev/null 2>&1; then
    if [ -x "$HOME/.cargo/bin/cargo" ]; then
      export PATH="$HOME/.cargo/bin:$PATH"
    else
      echo "== installing the Rust toolchain (rustup, stable)"
      curl --proto '=https' --tlsv1.2 -sSf https://sh.rustup.rs | sh -s -- -y --profile minimal --component clippy,rustfmt
      export PATH="$HOME/.cargo/bin:$PATH"
    fi
  fi
}

# What scripts/package needs: cargo-deb (Debian 12 has no package of it: built from crates.io,
# a few minutes, once) and dpkg-shlibdeps (dpkg-dev), which cargo-deb runs to turn the libraries
# the binaries link into Depends. cargo-deb is pinned: the package test packs the dev profile,
# which cargo-deb 3.8 accepts with a warning and says a later version will refuse.
install_package_deps() {
  install_build_deps
  apt_install dpkg-dev
  if ! cargo deb --version >/dev/null 2>&1; then
    echo "== installing cargo-deb"
    cargo install cargo-deb --locked --version 3.8.0
  fi
}

# The arm64 build of the agent for an always-on box (scripts/package --arch arm64): Rust's
# aarch64 target, Debian's cross gcc (the linker, and the C of ring and SQLite) with the arm64
# C library, and qemu-user to run the result here (the man pages are made by the very binary
# being packaged; tests/package.rs runs its check and watch).
install_arm64_deps() {
  install_build_deps
  apt_install gcc-aarch64-linux-gnu libc6-dev-arm64-cross qemu-user
  if ! rustup target list --installed 2>/dev/null | grep -qx aarch64-unknown-linux-gnu; then
    echo "== rustup target add aarch64-unknown-linux-gnu"
    rustup target add aarch64-unknown-linux-gnu
  fi
  export CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_LINKER=aarch64-linux-gnu-gcc
  export CC_aarch64_unknown_linux_gnu=aarch64-linux-gnu-gcc
  export AR_aarch64_unknown_linux_gnu=aarch64-linux-gnu-ar
}

# What the tests talk to: a real registrar (kamailio, with TLS), a real SIP user agent (sipsak),
# a real DNS server (dnsmasq), network namespaces and nftables for fault injection; for the tray
# agent's end-to-end tests a private desktop: Xvfb, a D-Bus session bus (dbus-daemon,
# dbus-monitor), dunst as the notification daemon (dunstctl), busctl (systemd) to read the tray
# item, and xauth/dbus-x11/libnotify-bin for running the same by hand (xvfb-run, notify-send).
install_test_deps() {
  install_build_deps
  # procps: sysctl, which turns on forwarding inside the fault suite's router namespaces.
  apt_install kamailio kamailio-tls-modules sipsak openssl iproute2 nftables dnsmasq-base procps
  # util-linux: prlimit, which runs the out-of-sockets round under a small file limit.
  apt_install util-linux
  # The router layer's lab: miniupnpd as a real UPnP IGD in the router namespace (curl waits
  # for its description).
  apt_install miniupnpd-nftables curl
  # The desktop tests: a virtual X display, a private D-Bus session with a real notification
  # daemon (dunst) and busctl to read the tray off the bus, and WebKit's WebDriver for the
  # dashboard (the test talks to WebKitWebDriver directly, so tauri-driver is not needed).
  apt_install xvfb xauth dbus dbus-x11 dunst libnotify-bin systemd webkit2gtk-driver
  # The fleet test (tests/fleet.rs): a real Prometheus server scraping `dialtone watch
  # --metrics`, with promtool to check the scrape and the shipped rules.
  apt_install prometheus
  # The alert tests (tests/alerts.rs): a real SMTP server (python3-aiosmtpd, run with Debian's
  # /usr/bin/python3) and the Apprise command delivering to a local json:// endpoint.
  apt_install python3-aiosmtpd apprise
  # An alert token kept in a real Secret Service: gnome-keyring-daemon on the test's bus.
  apt_install gnome-keyring
  # The package test (tests/package.rs): scripts/package's tools, and lintian to judge the .deb.
  install_package_deps
  apt_install lintian
  # The arm64 package test (tests/package.rs): the cross toolchain and qemu-user.
  install_arm64_deps
  # tests/windows.rs: the cross-build's toolchain and wine to run it.
  install_windows_deps
  # tests/windows_tray.rs: the screenshot of wine's tray and the mouse that hovers its icon.
  apt_install imagemagick xdotool
}

# The Windows cross-build and its stand-in (issue 18): the Rust standard library for
# x86_64-pc-windows-gnu, Debian's mingw-w64 as its linker (named in .cargo/config.toml), and
# wine to run the .exe under test (64-bit programs start through /usr/lib/wine/wine64), and NSIS
# for the installer (scripts/package --windows); xdotool answers the dashboard's message box
# under wine in tests/windows.rs.
install_windows_deps() {
  apt_install gcc-mingw-w64-x86-64 wine wine64 nsis xdotool
  if ! rustup target list --installed 2>/dev/null | grep -qx x86_64-pc-windows-gnu; then
    echo "== adding the Rust target x86_64-pc-windows-gnu"
    rustup target add x86_64-pc-windows-gnu
  fi
}

# scripts/package --windows: the toolchain above and Debian's makensis (nsis), which packs the
# per-user installer from packaging/windows/dialtone.nsi.
install_windows_package_deps() {
  install_build_deps
  install_windows_deps
}
