// swift-tools-version: 6.0
// Sparrow: distributed sparse linear algebra over MPI, with SuiteSparse for factorizations.
// Layering (lower never imports higher):
//   CMPI, CSuiteSparse, CSystem, CCompression, CCrypto (C shims) -> SparrowCore -> SparrowMPI -> algorithm modules
//   (SparrowSpGEMM, SparrowFactor, SparrowTransport, SparrowCompletion, SparrowSparsify) -> SparrowJobs -> sparrow;
//   CTransportKernels and CCompletionKernels (C kernels) sit beside the one algorithm module that uses each.
import PackageDescription

let package = Package(
    name: "Sparrow",
    products: [
        .executable(name: "sparrow", targets: ["sparrow"]),
        .library(name: "SparrowCore", targets: ["SparrowCore"]),
        .library(name: "SparrowMPI", targets: ["SparrowMPI"]),
        .library(name: "SparrowSpGEMM", targets: ["SparrowSpGEMM"]),
        .library(name: "SparrowFactor", targets: ["SparrowFactor"]),
        .library(name: "SparrowTransport", targets: ["SparrowTransport"]),
        .library(name: "SparrowCompletion", targets: ["SparrowCompletion"]),
        .library(name: "SparrowSparsify", targets: ["SparrowSparsify"]),
        .library(name: "SparrowJobs", targets: ["SparrowJobs"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.0.0"),
    ],
    targets: [
        // C shims only: no Swift code lives here.
        .systemLibrary(name: "CMPI", pkgConfig: "ompi-c",
                       providers: [.apt(["libopenmpi-dev", "openmpi-bin"])]),
        .systemLibrary(name: "CSystem"),
        // Algorithm kernels in C (AVX2+FMA and portable), beside the module that uses each.
        .systemLibrary(name: "CTransportKernels"),
        .systemLibrary(name: "CCompletionKernels"),
        .systemLibrary(name: "CCompression",
                       providers: [.apt(["zlib1g-dev", "libbz2-dev", "liblzma-dev"])]),
        .systemLibrary(name: "CCrypto", providers: [.apt(["libssl-dev"])]),
        .systemLibrary(name: "CSuiteSparse",
                       providers: [.apt(["libsuitesparse-dev", "libopenblas-dev"])]),

        .target(name: "SparrowCore", dependencies: ["CSystem", "CCompression", "CCrypto"]),
        .target(name: "SparrowMPI", dependencies: ["CMPI", "SparrowCore"]),
        .target(name: "SparrowSpGEMM", dependencies: ["CSystem", "SparrowCore", "SparrowMPI"]),
        .target(name: "SparrowFactor", dependencies: ["CSuiteSparse", "SparrowCore", "SparrowMPI"]),
        .target(name: "SparrowTransport", dependencies: ["CTransportKernels", "SparrowCore", "SparrowMPI"]),
        .target(name: "SparrowCompletion", dependencies: ["CSuiteSparse", "CCompletionKernels", "SparrowCore", "SparrowMPI"]),
        .target(name: "SparrowSparsify", dependencies: ["CSuiteSparse", "SparrowCore", "SparrowMPI", "SparrowFactor"]),
        .target(name: "SparrowJobs", dependencies: [
            "SparrowCore", "SparrowMPI", "SparrowSpGEMM", "SparrowFactor", "SparrowTransport", "SparrowCompletion", "SparrowSparsify", .product(name: "Yams", package: "Yams"),
        ]),
        .executableTarget(name: "sparrow", dependencies: [
            "SparrowCore", "SparrowMPI", "SparrowSpGEMM", "SparrowFactor", "SparrowTransport", "SparrowCompletion", "SparrowSparsify", "SparrowJobs",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ], plugins: ["BuildInfoPlugin"]),
        // Records the commit of the build for report provenance (scripts/build-info.sh).
        .plugin(name: "BuildInfoPlugin", capability: .buildTool()),

        // Benchmarks sit outside the product's dependency graph.
        .executableTarget(name: "sparrow-bench", dependencies: ["SparrowCore", "SparrowSpGEMM", "SparrowFactor"],
                          path: "benchmarks/SparrowBench"),

        .testTarget(name: "SparrowCoreTests", dependencies: ["SparrowCore"]),
        .testTarget(name: "SparrowSpGEMMTests", dependencies: ["SparrowCore", "SparrowSpGEMM"]),
        .testTarget(name: "SparrowFactorTests", dependencies: ["SparrowCore", "SparrowFactor"]),
        .testTarget(name: "SparrowTransportTests", dependencies: ["CTransportKernels", "SparrowCore", "SparrowMPI", "SparrowTransport"]),
        .testTarget(name: "SparrowCompletionTests", dependencies: ["SparrowCore", "SparrowMPI", "SparrowCompletion"]),
        .testTarget(name: "SparrowSparsifyTests", dependencies: ["SparrowCore", "SparrowMPI", "SparrowFactor", "SparrowSparsify"]),
        .testTarget(name: "SparrowJobsTests", dependencies: ["SparrowCore", "SparrowJobs"]),
        // SparrowJobs only for its step schemas (the option property test walks every key).
        .testTarget(name: "CLITests", dependencies: ["SparrowCore", "SparrowJobs"]),
    ],
    swiftLanguageModes: [.v6]
)
