// swift-tools-version: 6.0
// Fuzz targets for the parsers that read untrusted input: Matrix Market
// and PETSc binary files, YAML job files and sparsifier edge-update streams. A package of its own, so libFuzzer's flags
// (-sanitize=fuzzer,address) never touch the product's build. Run with
// scripts/fuzz.sh; the test suite replays fuzz/corpus/ on every run.
import PackageDescription

let package = Package(
    name: "SparrowFuzz",
    dependencies: [.package(name: "Sparrow", path: "..")],
    targets: [
        .target(name: "FuzzDriver"),
        .executableTarget(name: "FuzzMatrixMarket", dependencies: ["FuzzDriver", .product(name: "SparrowCore", package: "Sparrow")]),
        .executableTarget(name: "FuzzJobParser", dependencies: ["FuzzDriver", .product(name: "SparrowJobs", package: "Sparrow")]),
        .executableTarget(name: "FuzzPETScBinary", dependencies: ["FuzzDriver", .product(name: "SparrowCore", package: "Sparrow")]),
        .executableTarget(name: "FuzzUpdateStream", dependencies: ["FuzzDriver", .product(name: "SparrowSparsify", package: "Sparrow")]),
    ],
    swiftLanguageModes: [.v6]
)
