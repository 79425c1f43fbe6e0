import SparrowCore

/// The spool directory and the rules that keep one job's files apart from
/// every other's (docs/jobs.md, "Service"):
///
///   incoming/      users drop NAME.yaml here (written elsewhere, then moved in)
///   running/       ID.yaml while it runs, with ID.attempts counting its starts,
///                  ID.lock held (flock) by the worker running it, and
///                  ID.crash where a crash of the workers is noted
///   checkpoints/ID state a resumed run skips
///   output/ID/     the job's outputs
///   done/, failed/ ID.yaml, ID.report.json, ID.log
///
/// ID is a fresh sequence number and the job's name (`000042-assemble`), so a
/// name submitted twice never reaches an earlier job's files. Names are
/// restricted to letters, digits, '.', '_' and '-', starting with a letter or
/// digit; anything else in incoming/ (a bad name, a link, a FIFO, a
/// directory, a hard link) is moved to failed/ unopened, with the reason in
/// its log. Only rank 0 touches the spool; several workers (each an mpirun of
/// `sparrow serve`) may share one: they claim jobs under `.lock` (SpoolClaims).
public struct SpoolLayout: Sendable {
    public let root: String

    public init(root: String) { self.root = root.hasSuffix("/") && root.count > 1 ? String(root.dropLast()) : root }

    public var incoming: String { root + "/incoming" }
    public var running: String { root + "/running" }
    public var done: String { root + "/done" }
    public var failed: String { root + "/failed" }
    public var inputs: String { root + "/inputs" }
    public func checkpoint(_ id: String) -> String { root + "/checkpoints/" + id }
    public func output(_ id: String) -> String { root + "/output/" + id }
    public func attempts(_ id: String) -> String { running + "/" + id + ".attempts" }
    public func lease(_ id: String) -> String { running + "/" + id + ".lock" }
    public func crashNote(_ id: String) -> String { running + "/" + id + ".crash" }
    /// Held (flock) while a worker claims jobs or assigns IDs.
    public var claimLock: String { root + "/.lock" }

    static let subdirectories = ["incoming", "running", "done", "failed", "checkpoints", "output", "inputs"]

    /// Creates the spool's directories; a planted link in their place is refused.
    public func prepare() throws(SparrowError) {
        if System.entryKind(root) == .missing { try System.makeDirectories(root) }
        for sub in Self.subdirectories {
            let path = root + "/" + sub
            switch System.entryKind(path) {
            case .directory: continue
            case .missing: try System.makeDirectories(path)
            default: throw .output(path: path, message: "exists and is not a directory (a link or file in the spool's place)")
            }
        }
    }

    /// Refuses a shared incoming/ without the sticky bit: there, any user who may write it could
    /// rename or remove another user's job file before the service claims it.
    public func checkSharedIncoming() throws(SparrowError) {
        guard let mode = System.mode(incoming), mode & 0o022 != 0, mode & 0o1000 == 0 else { return }
        throw .field(name: "--spool", message: "\(incoming) is writable by other users (mode 0\(String(mode & 0o7777, radix: 8))) but lacks the sticky bit; run 'chmod +t \(incoming)' so one user cannot replace another's job")
    }

    /// Why `entry` of incoming/ cannot be a job, or nil when it can.
    public func rejection(of entry: String) -> String? {
        let path = incoming + "/" + entry
        guard System.entryKind(path) == .regularFile else { return "'\(entry)' is not a regular file (links, FIFOs and directories are not jobs)" }
        // A second name for someone else's file would make its owner the submitter.
        if System.linkCount(path) > 1 { return "'\(entry)' has other hard links; submit a file of your own" }
        guard let name = Self.jobName(entry) else { return "'\(entry)' is not a job file: expected NAME.yaml or NAME.yml" }
        if let problem = Self.nameProblem(name) { return "job name '\(name)' \(problem)" }
        return nil
    }

    /// NAME of NAME.yaml / NAME.yml.
    static func jobName(_ entry: String) -> String? {
        for suffix in [".yaml", ".yml"] where entry.hasSuffix(suffix) { return String(entry.dropLast(suffix.count)) }
        return nil
    }

    static func nameProblem(_ name: String) -> String? {
        if name.isEmpty || name.utf8.count > 100 { return "must have 1 to 100 characters" }
        func isLetterOrDigit(_ c: Unicode.Scalar) -> Bool { ("a"..."z").contains(c) || ("A"..."Z").contains(c) || ("0"..."9").contains(c) }
        guard let first = name.unicodeScalars.first, isLetterOrDigit(first) else { return "must start with a letter or digit" }
        let allowed = name.unicodeScalars.allSatisfy { isLetterOrDigit($0) || "._-".unicodeScalars.contains($0) }
        return allowed ? nil : "may contain only letters, digits, '.', '_' and '-'"
    }

    /// The next unused job number: one past the largest ID anywhere in the spool.
    func nextSequence() -> Int {
        var largest = 0
        for directory in [running, done, failed, root + "/checkpoints", root + "/output"] {
            for entry in System.listDirectory(directory) {
                if let n = Int(entry.prefix(while: { $0.isNumber })) { largest = max(largest, n) }
            }
        }
        return largest + 1
    }

    static func id(sequence: Int, name: String) -> String {
        let digits = String(sequence)
        return String(repeating: "0", count: max(0, 6 - digits.count)) + digits + "-" + name
    }

    /// Starts recorded for a job in running/ (a start that never finished means the workers died).
    func startsRecorded(_ id: String) -> Int {
        guard let text = try? System.readWholeFile(attempts(id), limit: 64) else { return 0 }
        return Int(String(decoding: text, as: UTF8.self).filter { $0.isNumber }) ?? 0
    }

    func recordStarts(_ id: String, _ count: Int) {
        if count <= 0 { System.removeFile(attempts(id)); return }
        try? AtomicFileWriter.write("\(count)\n", to: attempts(id))
    }
}
