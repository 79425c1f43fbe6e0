import ArgumentParser
import SparrowCore
import SparrowJobs
import SparrowMPI

struct Verify: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Re-hash the input files a report or spool job record names and say whether they changed.",
        discussion: """
        Reads provenance.inputs of a --report file (or SPOOL/done/ID.report.json), hashes each input again
        (its recorded absolute path first, then the path as named) and prints one line per input.
        Exit status: 0 when every input is unchanged, 1 when any changed or cannot be read, 2 for a malformed report.
        Examples:
          sparrow spgemm A.mtx A.mtx -o C.mtx --report r.json
          sparrow verify r.json
        """)

    @Argument(help: "A JSON report written by --report, or a spool job record.") var reportFile: String
    @OptionGroup var common: CommonOptions

    func run() throws {
        let comm = Runtime.communicator!
        try common.validateThreads()
        let start = System.now()
        var report = newReport("verify", common, comm)
        report.inputFiles([("report", reportFile)])
        // Rank 0 hashes; the verdict reaches every rank through the failure path.
        let checks = try comm.onRoot { () throws(SparrowError) in
            try report.measure("hash") { () throws(SparrowError) in
                ReportVerification.check(try ReportVerification.recordedInputs(report: reportFile))
            }
        } ?? []
        let problems = checks.filter { $0.verdict != .unchanged }
        if comm.isRoot {
            for check in checks { print(Self.line(check)) }
            report.metric("inputs", checks.count)
            report.metric("unchanged", checks.count - problems.count)
            report.metric("changed", checks.filter { if case .changed = $0.verdict { true } else { false } }.count)
            report.metric("unreadable", checks.filter { if case .missing = $0.verdict { true } else { false } }.count)
            report.history = checks.map { [("input", .string($0.input.name)), ("path", .string($0.checkedPath ?? $0.input.path)),
                                           ("status", .string(Self.status($0.verdict)))] }
        }
        report.time("total", System.now() - start)
        try common.write(report, comm)
        let failed = comm.broadcast([problems.isEmpty ? 0 : 1])[0] == 1
        if failed {
            let names = problems.map { "\($0.input.name) (\(Self.status($0.verdict)))" }.joined(separator: ", ")
            throw SparrowError.computation("\(reportFile): \(problems.count) of \(checks.count) inputs not verified unchanged: \(names)")
        }
    }

    static func status(_ verdict: ReportVerification.Verdict) -> String {
        switch verdict {
        case .unchanged: return "unchanged"
        case .changed: return "changed"
        case .missing: return "unreadable"
        case .notRecorded: return "no digest recorded"
        }
    }

    static func line(_ check: ReportVerification.Check) -> String {
        let recorded = check.input.sha256.map { String($0.prefix(16)) } ?? "-"
        let path = check.checkedPath ?? check.input.path
        switch check.verdict {
        case .unchanged:
            return "\(check.input.name): \(path): unchanged (sha256 \(recorded)…, \(check.input.bytes ?? 0) bytes)"
        case let .changed(sha256, bytes):
            return "\(check.input.name): \(path): CHANGED: sha256 \(sha256.prefix(16))…, \(bytes) bytes; the run read sha256 \(recorded)…, \(check.input.bytes ?? 0) bytes"
        case let .missing(reason):
            return "\(check.input.name): \(check.input.path): UNREADABLE: \(reason)"
        case .notRecorded:
            return "\(check.input.name): \(path): the run recorded no digest"
        }
    }
}
