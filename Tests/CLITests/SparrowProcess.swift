import Foundation
import XCTest

/// Runs the built `sparrow` executable, alone or under `mpirun -n P`, with a
/// time limit so a hang fails the test instead of stalling the suite.
enum SparrowProcess {
    static let packageRoot: String = {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path
    }()
    static let fixtures = packageRoot + "/Tests/Fixtures"

    static var binary: String {
        if let path = ProcessInfo.processInfo.environment["SPARROW_BIN"] { return path }
        for configuration in ["debug", "release"] {
            let path = packageRoot + "/.build/\(configuration)/sparrow"
            if FileManager.default.isExecutableFile(atPath: path) { return path }
        }
        return packageRoot + "/.build/debug/sparrow"
    }

    struct Outcome {
        let status: Int32
        let stdout: String
        let stderr: String
        var seconds = 0.0
        var stderrLines: [String] { stderr.split(separator: "\n").map(String.init) }
    }

    static func run(_ arguments: [String], ranks: Int? = nil, timeout: TimeInterval = 300, environment extra: [String: String] = [:],
                    directory: String? = nil, file: StaticString = #filePath, line: UInt = #line) -> Outcome {
        let process = Process()
        if let directory { process.currentDirectoryURL = URL(fileURLWithPath: directory) }
        var environment = ProcessInfo.processInfo.environment.merging(extra) { $1 }
        environment["OMPI_ALLOW_RUN_AS_ROOT"] = "1"
        environment["OMPI_ALLOW_RUN_AS_ROOT_CONFIRM"] = "1"
        environment["OMPI_MCA_btl"] = "self,vader,tcp"
        environment["OMPI_MCA_btl_vader_single_copy_mechanism"] = "none"
        environment["OMPI_MCA_rmaps_base_oversubscribe"] = "1"
        process.environment = environment
        if let ranks {
            process.executableURL = URL(fileURLWithPath: "/usr/bin/mpirun")
            process.arguments = ["-q", "-n", String(ranks), "--oversubscribe"] + extra.keys.sorted().flatMap { ["-x", $0] } + [binary] + arguments
        } else {
            process.executableURL = URL(fileURLWithPath: binary)
            process.arguments = arguments
        }
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        do { try process.run() } catch {
            XCTFail("cannot start \(binary): \(error)", file: file, line: line)
            return Outcome(status: -1, stdout: "", stderr: "")
        }
        // Drain pipes concurrently so a chatty child never blocks on a full pipe.
        let outData = DrainedPipe(out), errData = DrainedPipe(err)
        let started = Date()
        let deadline = started.addingTimeInterval(timeout)
        while process.isRunning, Date() < deadline { usleep(10_000) }
        if process.isRunning {
            process.terminate()
            XCTFail("sparrow \(arguments.joined(separator: " ")) (ranks \(ranks ?? 1)) did not finish in \(timeout) s", file: file, line: line)
        }
        process.waitUntilExit()
        return Outcome(status: process.terminationStatus, stdout: outData.text(), stderr: errData.text(),
                       seconds: Date().timeIntervalSince(started))
    }
}

final class DrainedPipe: @unchecked Sendable {
    private var data = Data()
    private let lock = NSLock()
    private let done = DispatchSemaphore(value: 0)
    init(_ pipe: Pipe) {
        let handle = pipe.fileHandleForReading
        DispatchQueue.global().async {
            let all = handle.readDataToEndOfFile()
            self.lock.lock()
            self.data = all
            self.lock.unlock()
            self.done.signal()
        }
    }
    func text() -> String {
        done.wait()
        lock.lock()
        defer { lock.unlock() }
        return String(decoding: data, as: UTF8.self)
    }
}

final class ScratchDirectory {
    let path: String
    init() {
        path = NSTemporaryDirectory() + "sparrow-cli-" + UUID().uuidString
        try! FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }
    deinit { try? FileManager.default.removeItem(atPath: path) }
    func join(_ name: String) -> String { path + "/" + name }
    var entries: [String] { ((try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []).sorted() }
    func bytes(_ name: String) -> Data? { FileManager.default.contents(atPath: join(name)) }
}

func readJSON(_ path: String) -> [String: Any]? {
    guard let data = FileManager.default.contents(atPath: path) else { return nil }
    return (try? JSONSerialization.jsonObject(with: data)) as? [String: Any]
}

/// `sparrow supervise … -- mpirun -n 2 sparrow serve --spool SPOOL --exit-when-idle`, started in
/// the background with its standard error collected; the ranks' command lines start with `rankCommand`.
struct SupervisedService {
    let process = Process()
    let errors: DrainedPipe
    let rankCommand: String

    init(spool: String, maxFailures: Int, window: Int, environment extra: [String: String] = [:]) throws {
        let binary = SparrowProcess.binary
        rankCommand = "\(binary) serve --spool \(spool)"
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = ["supervise", "--max-failures", String(maxFailures), "--window", String(window), "--", "mpirun", "-q", "-n", "2",
                             "--oversubscribe", binary, "serve", "--spool", spool, "--exit-when-idle", "--poll", "0.1", "--quiet"]
        var environment = ProcessInfo.processInfo.environment.merging(extra) { $1 }
        environment["OMPI_ALLOW_RUN_AS_ROOT"] = "1"
        environment["OMPI_ALLOW_RUN_AS_ROOT_CONFIRM"] = "1"
        process.environment = environment
        let pipe = Pipe()
        process.standardError = pipe
        process.standardOutput = FileHandle.nullDevice
        errors = DrainedPipe(pipe)
        try process.run()
    }

    /// PIDs of the service's ranks (from /proc: the suite needs no procps on a bare system).
    var ranks: [pid_t] { processes(startingWith: rankCommand) }
}

/// PIDs whose command line (arguments joined by spaces) starts with `prefix`, from /proc.
func processes(startingWith prefix: String) -> [pid_t] {
    ((try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []).compactMap { entry -> pid_t? in
        guard let pid = pid_t(entry), let data = FileManager.default.contents(atPath: "/proc/\(entry)/cmdline") else { return nil }
        let command = data.split(separator: 0).map { String(decoding: $0, as: UTF8.self) }.joined(separator: " ")
        return command.hasPrefix(prefix) ? pid : nil
    }.sorted()
}
