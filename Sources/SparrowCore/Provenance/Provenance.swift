#if canImport(Glibc)
import Glibc
#endif
import CCompression

/// How a result was made, for the `provenance` object of every report and
/// spool job record (docs/provenance.md): the inputs' SHA-256 (`InputDigests`),
/// the build, the libraries it runs on, the options after defaults, seeds,
/// ranks, hosts and times. The process-wide part is set once at start-up by
/// the executable (its build, its command line, the hosts of all ranks);
/// each report adds its own inputs, options of a job, and times.
public enum Provenance {
    /// Sparrow's release; `sparrow --version` prints the same.
    public static let version = "0.1.0"
    /// `git describe`-style commit of the build, "+dirty" when the tree had
    /// uncommitted changes, "unknown" outside a git checkout (set by the executable).
    nonisolated(unsafe) public static var commit = "unknown"
    /// Library name → version of what this process runs on; null for a library Sparrow does not link.
    nonisolated(unsafe) public static var libraries: [(String, JSONValue)] = coreLibraries
    /// Every option of the verb after defaults (snake_case, as in job files).
    nonisolated(unsafe) public static var options: [(String, JSONValue)] = []
    /// Host name of each rank, by rank.
    nonisolated(unsafe) public static var hostOfRank: [String] = [hostName()]

    /// The libraries SparrowCore itself links.
    public static var coreLibraries: [(String, JSONValue)] {
        [("zlib", .string(String(cString: zlibVersion()))),
         ("bzip2", .string(String(String(cString: BZ2_bzlibVersion()).prefix { $0 != "," }))),
         ("xz", .string(String(cString: lzma_version_string()))),
         ("openssl", .string(SHA256.libraryVersion))]
    }

    public static func hostName() -> String {
        var name = [CChar](repeating: 0, count: 256)
        guard gethostname(&name, name.count - 1) == 0 else { return "unknown" }
        return name.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
    }

    /// The provenance object of a report. Waits for the inputs' digests.
    static func json(of report: Report, finished: Double) -> JSONValue {
        var inputs: [(String, JSONValue)] = []
        for (name, value) in report.inputs {
            guard case let .string(path) = value else { continue }
            guard let outcome = InputDigests.digest(path: path) else {
                if InputDigests.declined, System.isRegularFile(path) {
                    inputs.append((name, .object([("path", .string(path)), ("sha256", .null), ("note", .string("not hashed (--input-digests none)"))])))
                }
                continue
            }
            switch outcome {
            case let .success(digest):
                var fields: [(String, JSONValue)] = [("path", .string(digest.path)), ("absolute_path", .string(digest.absolutePath)),
                                                     ("sha256", .string(digest.sha256)), ("bytes", .integer(digest.bytes))]
                if digest.changedWhileRead { fields.append(("changed_while_read", .bool(true))) }
                inputs.append((name, .object(fields)))
            case let .failure(error):
                inputs.append((name, .object([("path", .string(path)), ("sha256", .null), ("error", .string(error.lines.joined(separator: " ")))])))
            }
        }
        let options = report.options ?? self.options
        var hosts: [String] = []
        for host in hostOfRank where !hosts.contains(host) { hosts.append(host) }
        var fields: [(String, JSONValue)] = [
            ("version", .string(version)),
            ("commit", .string(commit)),
            ("libraries", .object(libraries)),
            ("inputs", .object(inputs)),
            ("options", .object(options)),
            ("seed", options.first { $0.0 == "seed" }?.1 ?? .null),
        ]
        fields += report.provenanceDetails
        fields += [
            ("ranks", .integer(report.ranks)),
            ("hosts", .array(hosts.map { .string($0) })),
            ("host_of_rank", .array(hostOfRank.map { .string($0) })),
            ("started", .string(WallClock.iso8601(report.started))),
            ("finished", .string(WallClock.iso8601(finished))),
        ]
        return .object(fields)
    }
}

/// Calendar time (the reports' `started`/`finished`), apart from `System.now()`'s monotonic clock.
public enum WallClock {
    /// Seconds since 1970-01-01 UTC.
    public static func now() -> Double {
        var time = timespec()
        clock_gettime(CLOCK_REALTIME, &time)
        return Double(time.tv_sec) + Double(time.tv_nsec) * 1e-9
    }

    /// ISO 8601 in UTC with milliseconds, e.g. 2026-12-07T19:30:00.125Z.
    public static func iso8601(_ seconds: Double) -> String {
        var whole = time_t(seconds.rounded(.down))
        let milliseconds = min(999, Int((seconds - Double(whole)) * 1000))
        var parts = tm()
        gmtime_r(&whole, &parts)
        func two(_ v: Int32) -> String { v < 10 ? "0\(v)" : "\(v)" }
        let ms = milliseconds < 10 ? "00\(milliseconds)" : milliseconds < 100 ? "0\(milliseconds)" : "\(milliseconds)"
        return "\(parts.tm_year + 1900)-\(two(parts.tm_mon + 1))-\(two(parts.tm_mday))T\(two(parts.tm_hour)):\(two(parts.tm_min)):\(two(parts.tm_sec)).\(ms)Z"
    }
}
