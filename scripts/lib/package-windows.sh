# scripts/package --windows: the Windows build of dialtone and its per-user installer (issue 18).
# Sourced by scripts/package after its arguments are read; `package_windows` uses its variables
# (profile, profile_dir, build, output, fast) and prints the installer's path as its last line.
#
# dialtone.exe is cross-compiled for x86_64-pc-windows-gnu (Debian's mingw-w64 links it) and
# packed by Debian's makensis from packaging/windows/dialtone.nsi, with the dashboard
# (dialtone-dashboard.exe, Tauri on WebView2, and the WebView2Loader.dll its build leaves beside
# it).

# An .ico of the app icon (packaging/icons) for the installer, the shortcut and "Apps &
# features": PNG entries, which Windows reads since Vista. Written here rather than kept as a
# second binary copy of the icon.  make_ico OUT PNG...
make_ico() {
  local out="$1"; shift
  local count=$# offset=$((6 + 16 * $#)) png size w h
  {
    printf '\x00\x00\x01\x00'
    printf "\\x$(printf %02x $((count & 255)))\\x$(printf %02x $((count >> 8)))"
    for png in "$@"; do
      size=$(stat -c %s "$png")
      # Width and height are the big-endian words at bytes 16 and 20 of the PNG (IHDR); the
      # ICO entry holds them in one byte each, 0 meaning 256.
      w=$(od -An -tu1 -j18 -N2 "$png" | awk '{print ($1 * 256 + $2) % 256}')
      h=$(od -An -tu1 -j22 -N2 "$png" | awk '{print ($1 * 256 + $2) % 256}')
      printf "\\x$(printf %02x "$w")\\x$(printf %02x "$h")\\x00\\x00\\x01\\x00\\x20\\x00"
      le32 "$size"
      le32 "$offset"
      offset=$((offset + size))
    done
    cat "$@"
  } >"$out"
}

# le32 N: N as four little-endian bytes.
le32() {
  local n=$1
  printf "\\x$(printf %02x $((n & 255)))\\x$(printf %02x $(((n >> 8) & 255)))"
  printf "\\x$(printf %02x $(((n >> 16) & 255)))\\x$(printf %02x $(((n >> 24) & 255)))"
}

package_windows() {
  install_windows_package_deps
  local triple=x86_64-pc-windows-gnu
  local target_dir out_dir stage version commit dest installer compressor=lzma
  target_dir="$(cargo metadata --format-version 1 --no-deps | sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')"
  out_dir="$target_dir/$triple/$profile_dir"
  if [ "$build" -eq 1 ]; then
    echo "== cargo build --profile $profile --target $triple -p dialtone -p dialtone-dashboard" >&2
    cargo build --locked --profile "$profile" --target "$triple" -p dialtone -p dialtone-dashboard \
      --bins >&2
  fi
  local file
  for file in dialtone.exe dialtone-dashboard.exe WebView2Loader.dll; do
    if [ ! -f "$out_dir/$file" ]; then
      echo "scripts/package: $out_dir/$file is missing (build it, or drop --no-build)" >&2
      exit 1
    fi
  done

  stage="$out_dir/installer-files"
  rm -rf "$stage"
  mkdir -p "$stage"
  # Stripped as the Debian package's binaries are (release builds already are).
  x86_64-w64-mingw32-strip -o "$stage/dialtone.exe" "$out_dir/dialtone.exe"
  x86_64-w64-mingw32-strip -o "$stage/dialtone-dashboard.exe" "$out_dir/dialtone-dashboard.exe"
  cp "$out_dir/WebView2Loader.dll" "$stage/"
  # 16/20/24/32 px: the small icon at 100/125/150/200 % scaling, so Windows picks one, not a
  # scaled one; 48/64 for large icons.
  make_ico "$stage/dialtone.ico" packaging/icons/{16x16,20x20,24x24}/dialtone.png \
    src-tauri/icons/32x32.png packaging/icons/{48x48,64x64}/dialtone.png

  version="$(sed -n 's/^version = "\(.*\)"$/\1/p' Cargo.toml | head -n 1)"
  # The commit as build.rs records it for `dialtone --version`.
  commit="${DIALTONE_GIT_COMMIT:-$(git rev-parse --short=12 HEAD 2>/dev/null || echo unknown)}"
  dest="${output:-$target_dir/windows}"
  mkdir -p "$dest"
  dest="$(cd "$dest" && pwd)"
  installer="$dest/dialtone-$version-x86_64-setup.exe"
  if [ ${#fast[@]} -gt 0 ]; then compressor=zlib; fi
  echo "== makensis packaging/windows/dialtone.nsi ($compressor)" >&2
  makensis -V2 -INPUTCHARSET UTF8 \
    "-DVERSION=$version" "-DCOMMIT=$commit" "-DSOURCE=$stage" "-DOUTFILE=$installer" \
    "-DCOMPRESSOR=$compressor" -DDASHBOARD packaging/windows/dialtone.nsi >&2
  if [ ! -f "$installer" ]; then
    echo "scripts/package: makensis wrote no installer ($installer)" >&2
    exit 1
  fi
  echo "$installer"
}
