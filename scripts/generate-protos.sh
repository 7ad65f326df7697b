#!/bin/sh
# Regenerates Sources/DockwardContainerd/Generated from Protos/containerd
# (`make protos`): protoc (Debian's protobuf-compiler) with swift-protobuf's
# protoc-gen-swift and grpc-swift-protobuf's protoc-gen-grpc-swift-2, both
# built from the versions Package.resolved pins. The output is committed:
# builds never run protoc, and the plugins take minutes to build.
set -eu
cd "$(dirname "$0")/.."
command -v protoc >/dev/null || { echo "protoc not found: apt-get install protobuf-compiler" >&2; exit 1; }
SWIFT=${SWIFT:-swift}
SCRATCH=.build-protoc
$SWIFT build --scratch-path "$SCRATCH" --product protoc-gen-swift
$SWIFT build --scratch-path "$SCRATCH" --product protoc-gen-grpc-swift-2
BIN=$($SWIFT build --scratch-path "$SCRATCH" --show-bin-path)
OUT=Sources/DockwardContainerd/Generated
rm -rf "$OUT"
mkdir -p "$OUT"
# Package visibility: the module and its tests (a scripted containerd
# serves the same services) see the types; nothing outside the package does.
protoc -I Protos/containerd -I /usr/include \
    --plugin=protoc-gen-swift="$BIN/protoc-gen-swift" \
    --plugin=protoc-gen-grpc-swift-2="$BIN/protoc-gen-grpc-swift-2" \
    --swift_opt=Visibility=Package --swift_out="$OUT" \
    --grpc-swift-2_opt=Visibility=Package,Client=true,Server=true --grpc-swift-2_out="$OUT" \
    Protos/containerd/*.proto
ls "$OUT"
