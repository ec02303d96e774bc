# Shared set-up for scripts/run and scripts/test: installs Debian packages that are missing.
# Sourced, not run.

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

# What the tests talk to: a real registrar, a real SIP user agent, DNS, namespaces and nftables.
install_test_deps() {
  apt_install build-essential pkg-config kamailio kamailio-tls-modules sipsak openssl \
    iproute2 nftables dnsmasq-base
}
