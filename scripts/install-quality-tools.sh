#!/usr/bin/env bash
# Installs the perceptual metric the benchmark's quality area (BENCH_ONLY=quality npm run bench)
# and QUALITY_IMAGE_METRIC=ssimulacra2 use: `ssimulacra2_rs`, the command of the crates.io
# package of that name, built with `cargo install` without its video feature (which would pull
# in ffmpeg/vapoursynth bindings). Idempotent: does nothing when ssimulacra2_rs is on PATH or in
# the cargo bin folder. Prints the executable's path on its last line.
#
# The build takes about 4 CPU-minutes (measured: 213 s user + 21 s sys; 10.8 min of wall time on
# a loaded 2-core machine, ~2-3 min on an idle one) and needs cargo >= 1.74 (rustup's; Debian
# bookworm's cargo 1.65 is too old). ffmpeg's ssim/psnr filters need nothing beyond ffmpeg.
set -euo pipefail

VERSION="0.5.2"
CARGO_ROOT="${CARGO_HOME:-$HOME/.cargo}"

found="$(command -v ssimulacra2_rs 2>/dev/null || true)"
if [ -z "$found" ] && [ -x "$CARGO_ROOT/bin/ssimulacra2_rs" ]; then found="$CARGO_ROOT/bin/ssimulacra2_rs"; fi
if [ -n "$found" ]; then
  echo "install-quality-tools: ssimulacra2_rs present" >&2
  echo "$found"
  exit 0
fi

cargo_bin="$(command -v cargo 2>/dev/null || true)"
if [ -z "$cargo_bin" ] && [ -x "$CARGO_ROOT/bin/cargo" ]; then cargo_bin="$CARGO_ROOT/bin/cargo"; fi
if [ -z "$cargo_bin" ]; then
  echo "install-quality-tools: ssimulacra2_rs is missing and there is no cargo to build it (install Rust >= 1.74 with rustup)" >&2
  exit 1
fi

echo "install-quality-tools: building ssimulacra2_rs $VERSION with cargo install (about 4 CPU-minutes)" >&2
started=$(date +%s)
"$cargo_bin" install --locked --no-default-features --version "$VERSION" --root "$CARGO_ROOT" ssimulacra2_rs >&2
echo "install-quality-tools: built in $(( $(date +%s) - started )) s" >&2
echo "$CARGO_ROOT/bin/ssimulacra2_rs"
