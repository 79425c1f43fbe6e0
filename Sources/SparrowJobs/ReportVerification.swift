import SparrowCore
import Yams

/// `sparrow verify R.json`: re-hashes the input files a report (or spool job
/// record) names in `provenance.inputs` and says, for each, whether its bytes
/// are still the ones the run read.
public enum ReportVerification {
    /// One input as the report recorded it.
    public struct Recorded: Sendable {
        public var name: String
        public var path: String
        public var absolutePath: String?
        public var sha256: String?
        public var bytes: Int?
    }

    public enum Verdict: Sendable, Equatable {
        case unchanged
        case changed(sha256: String, bytes: Int)
        /// Neither the recorded absolute path nor the path as named can be read.
        case missing(String)
        /// The run could not hash it (the report says why).
        case notRecorded
    }

    public struct Check: Sendable {
        public var input: Recorded
        /// The file that was hashed now (absolute path first, then the path as named).
        public var checkedPath: String?
        public var verdict: Verdict
    }

    /// The inputs recorded in a report's provenance; a malformed report is refused with its line.
    public static func recordedInputs(report path: String) throws(SparrowError) -> [Recorded] {
        let text = String(decoding: try OpenFile(path: path).read(offset: 0, count: 64 << 20), as: UTF8.self)
        let root: Node
        do {
            guard let node = try Yams.compose(yaml: text) else { throw SparrowError.input(file: path, line: nil, message: "empty file (expected a sparrow JSON report)") }
            root = node
        } catch let error as SparrowError {
            throw error
        } catch let error as YamlError {
            throw .input(file: path, line: Self.line(of: error), message: "not a JSON report: \(Self.describe(error))")
        } catch {
            throw .input(file: path, line: nil, message: "not a JSON report")
        }
        guard let provenance = root.mapping?["provenance"] else {
            throw .input(file: path, line: root.mark?.line, message: "no provenance object (not a sparrow report, or one written before provenance was recorded)")
        }
        guard let inputs = provenance.mapping?["inputs"]?.mapping else {
            throw .input(file: path, line: provenance.mark?.line, message: "provenance.inputs: expected an object of input files")
        }
        var recorded: [Recorded] = []
        for (key, value) in inputs {
            let name = key.string ?? ""
            let field = "provenance.inputs.\(name)"
            guard let entry = value.mapping, let recordedPath = entry["path"]?.string else {
                throw .input(file: path, line: value.mark?.line, message: "\(field): expected an object with a path")
            }
            let shaNode = entry["sha256"]
            let sha = shaNode?.null == nil ? shaNode?.string : nil
            if let sha, sha.count != 64 || !sha.allSatisfy(\.isHexDigit) {
                throw .input(file: path, line: entry["sha256"]?.mark?.line, message: "\(field).sha256: expected 64 hex digits, got '\(sha)'")
            }
            let bytes = entry["bytes"].flatMap { $0.int }
            recorded.append(Recorded(name: name, path: recordedPath, absolutePath: entry["absolute_path"]?.string, sha256: sha, bytes: bytes))
        }
        return recorded
    }

    /// Hashes each recorded input again, reading it whole (this is the second pass, by design).
    public static func check(_ inputs: [Recorded]) -> [Check] {
        inputs.map { input in
            guard let sha256 = input.sha256 else { return Check(input: input, checkedPath: nil, verdict: .notRecorded) }
            let candidates = [input.absolutePath, input.path].compactMap { $0 }
            var reason = "no such file"
            for candidate in candidates {
                switch Result(catching: { () throws(SparrowError) in try InputDigests.compute(path: candidate) }) {
                case let .success(now):
                    let same = now.sha256 == sha256 && (input.bytes == nil || input.bytes == now.bytes)
                    return Check(input: input, checkedPath: candidate, verdict: same ? .unchanged : .changed(sha256: now.sha256, bytes: now.bytes))
                case let .failure(error):
                    reason = error.description
                }
            }
            return Check(input: input, checkedPath: nil, verdict: .missing(reason))
        }
    }

    private static func line(of error: YamlError) -> Int? {
        switch error {
        case let .scanner(_, _, mark, _), let .parser(_, _, mark, _), let .composer(_, _, mark, _): return mark.line
        default: return nil
        }
    }

    private static func describe(_ error: YamlError) -> String {
        switch error {
        case let .scanner(_, problem, _, _), let .parser(_, problem, _, _), let .composer(_, problem, _, _): return problem
        default: return "\(error)".split(separator: "\n").first.map(String.init) ?? "malformed"
        }
    }
}
