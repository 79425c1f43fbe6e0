import SparrowCore

/// One change to G. The stream file has one per line, 1-based vertices:
///
///     % comment
///     + 12 907 1.0      insert edge (12, 907) with weight 1.0 (weight optional: 1)
///     - 12 907          delete edge (12, 907)
///
/// Inserting an edge that exists adds to its weight.
public struct EdgeUpdate: Sendable, Equatable {
    public var insert: Bool
    public var p: Int32
    public var q: Int32
    public var weight: Double
    /// 1-based line in the stream file (for errors found when the update is applied).
    public var line: Int

    public init(insert: Bool, p: Int32, q: Int32, weight: Double = 1, line: Int = 0) {
        self.insert = insert
        self.p = min(p, q)
        self.q = max(p, q)
        self.weight = weight
        self.line = line
    }

    public static func read(_ path: String, vertices: Int) throws(SparrowError) -> [EdgeUpdate] {
        try parse(try System.readWholeFile(path), file: path, vertices: vertices)
    }

    /// The updates in a stream's bytes. Lines end in LF or CRLF (split as bytes: in Swift's
    /// Characters "\r\n" is one grapheme, which would join a CRLF file into one line).
    public static func parse(_ bytes: [UInt8], file path: String, vertices: Int) throws(SparrowError) -> [EdgeUpdate] {
        var updates: [EdgeUpdate] = []
        for (index, rawBytes) in bytes.split(separator: 10, omittingEmptySubsequences: false).enumerated() {
            let line = index + 1
            let raw = String(decoding: rawBytes.last == 13 ? rawBytes.dropLast() : rawBytes, as: UTF8.self)
            let fields = raw.unicodeScalars.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\r" }).map { String(String.UnicodeScalarView($0)) }
            if fields.isEmpty || fields[0].hasPrefix("%") || fields[0].hasPrefix("#") { continue }
            var words = fields
            // '+12 907' and '+ 12 907' both read.
            if words[0].unicodeScalars.count > 1, words[0].first == "+" || words[0].first == "-" {
                let sign = String(words[0].removeFirst())
                words.insert(sign, at: 0)
            }
            guard words[0] == "+" || words[0] == "-" else {
                throw .input(file: path, line: line, message: "expected '+ p q [w]' or '- p q', got '\(shown(raw))'")
            }
            let insert = words[0] == "+"
            guard words.count == 3 || (insert && words.count == 4) else {
                throw .input(file: path, line: line, message: insert ? "an insertion is '+ p q [w]', got '\(shown(raw))'" : "a deletion is '- p q', got '\(shown(raw))'")
            }
            guard let p = Int(words[1]), let q = Int(words[2]), (1...max(1, vertices)).contains(p), (1...max(1, vertices)).contains(q) else {
                throw .input(file: path, line: line, message: "vertices must be integers in 1...\(vertices), got '\(shown(words[1]))' and '\(shown(words[2]))'")
            }
            guard p != q else { throw .input(file: path, line: line, message: "self-loop at vertex \(p): an update joins two different vertices") }
            var w = 1.0
            if words.count == 4 {
                // Finite, positive and small enough that sums of weights and Laplacian entries stay finite.
                guard let parsed = Double(words[3]), parsed.isFinite, parsed > 0, parsed <= WeightedGraph.largestWeight else {
                    throw .input(file: path, line: line, message: "weight must be a positive number up to \(WeightedGraph.largestWeight), got '\(shown(words[3]))'")
                }
                w = parsed
            }
            updates.append(EdgeUpdate(insert: insert, p: Int32(p - 1), q: Int32(q - 1), weight: w, line: line))
        }
        return updates
    }

    /// Text of a line as a message shows it: control characters escaped, at most 80 characters.
    static func shown(_ text: String) -> String {
        var out = ""
        for scalar in text.unicodeScalars.prefix(80) {
            if scalar.value < 32 || scalar.value == 127 { out += "\\u{\(String(scalar.value, radix: 16))}" } else { out.unicodeScalars.append(scalar) }
        }
        return text.unicodeScalars.count > 80 ? out + "…" : out
    }
}
