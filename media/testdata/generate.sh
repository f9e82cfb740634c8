#!/usr/bin/env bash
# Regenerates the committed format fixtures from aperture's own synthetic
# pattern (gen/main.go). Needs Debian's libjpeg-turbo-progs, libvips-tools,
# libheif-examples and webp. The files are small and committed, so the
# tests themselves need none of these tools.
set -euo pipefail
cd "$(dirname "$0")"
go run ./gen/main.go
cjpeg -quality 90 pattern.ppm > baseline.jpg
cjpeg -quality 90 -progressive pattern.ppm > progressive.jpg
cjpeg -quality 90 -restart 1 pattern.ppm > restart.jpg
cjpeg -quality 90 -sample 1x1 pattern.ppm > sub444.jpg
cjpeg -quality 90 -sample 2x1 pattern.ppm > sub422.jpg
cjpeg -quality 90 -sample 1x2 pattern.ppm > sub440.jpg
cjpeg -quality 90 -grayscale pattern.ppm > gray.jpg
cjpeg -quality 90 -arithmetic pattern.ppm > arithmetic.jpg
vips colourspace baseline.jpg "cmyk.jpg[Q=90,strip]" cmyk
cjpeg -quality 95 -sample 1x1 pattern128.ppm > pattern128.jpg
heif-enc -q 90 -o photo.heic pattern128.jpg >/dev/null
heif-enc -A -q 90 -o photo.avif pattern128.jpg >/dev/null
cwebp -quiet -q 90 alpha.png -o lossy-alpha.webp
cwebp -quiet -q 90 pattern.ppm -o lossy.webp 2>/dev/null || cwebp -quiet -q 90 baseline.jpg -o lossy.webp
cwebp -quiet -lossless alpha.png -o lossless.webp
rm -f pattern.ppm pattern128.ppm pattern128.jpg
