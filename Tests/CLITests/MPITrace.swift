import Foundation
import XCTest

/// What each rank handed to MPI for each other rank, counted by an MPI
/// profiling-layer library (Tests/Fixtures/mpi-trace/trace.c) preloaded into
/// every rank: an independent reference for Sparrow's own traffic counters.
struct MPITrace {
    struct Flow: Equatable { var bytes: Int; var messages: Int }
    /// [rank][destination] for point-to-point sends and for collectives.
    var pointToPoint: [[Int: Flow]]
    var collective: [[Int: Flow]]

    /// Builds the library (once per test process) with mpicc.
    static func library(file: StaticString = #filePath, line: UInt = #line) throws -> String {
        let path = NSTemporaryDirectory() + "sparrow-mpi-trace-\(getpid()).so"
        if FileManager.default.fileExists(atPath: path) { return path }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/mpicc")
        process.arguments = ["-shared", "-fPIC", "-O2", SparrowProcess.fixtures + "/mpi-trace/trace.c", "-o", path]
        // mpicc wraps gcc, which a machine set up only for Swift may lack: use the C compiler
        // that is there (the Swift toolchain's clang first).
        var environment = ProcessInfo.processInfo.environment
        let directories = (environment["PATH"] ?? "/usr/bin").split(separator: ":").map(String.init)
        if let compiler = ["clang", "gcc", "cc"].lazy.compactMap({ name in
            directories.map { $0 + "/" + name }.first { FileManager.default.isExecutableFile(atPath: $0) }
        }).first {
            environment["OMPI_CC"] = compiler
        }
        process.environment = environment
        try process.run()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            XCTFail("mpicc could not build the MPI trace library", file: file, line: line)
            throw CocoaError(.executableLoad)
        }
        return path
    }

    /// Runs `sparrow arguments` under mpirun with the trace preloaded and reads what it counted.
    static func run(_ arguments: [String], ranks: Int, scratch: ScratchDirectory,
                    file: StaticString = #filePath, line: UInt = #line) throws -> (SparrowProcess.Outcome, MPITrace) {
        let directory = scratch.join("mpi-trace-\(UUID().uuidString)")
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let outcome = SparrowProcess.run(arguments, ranks: ranks,
                                         environment: ["LD_PRELOAD": try library(file: file, line: line),
                                                       "SPARROW_MPI_TRACE": directory],
                                         file: file, line: line)
        var trace = MPITrace(pointToPoint: Array(repeating: [:], count: ranks), collective: Array(repeating: [:], count: ranks))
        for rank in 0..<ranks {
            let text = (try? String(contentsOfFile: directory + "/rank-\(rank).txt", encoding: .utf8)) ?? ""
            XCTAssertFalse(text.isEmpty && outcome.status == 0, "rank \(rank) wrote no trace", file: file, line: line)
            for fields in text.split(separator: "\n").map({ $0.split(separator: " ") }) where fields.count == 4 {
                guard let destination = Int(fields[1]), let bytes = Int(fields[2]), let messages = Int(fields[3]) else { continue }
                let flow = Flow(bytes: bytes, messages: messages)
                if fields[0] == "p2p" { trace.pointToPoint[rank][destination] = flow } else { trace.collective[rank][destination] = flow }
            }
        }
        return (outcome, trace)
    }

    /// Bytes all ranks handed over for other ranks, point-to-point and collective.
    var totalBytes: Int {
        (pointToPoint + collective).flatMap { $0.values }.reduce(0) { $0 + $1.bytes }
    }
}
