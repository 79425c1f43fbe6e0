/// Parses the data lines of a Matrix Market file in bulk, straight from a byte
/// buffer (memory map or block read): no per-line `String`, no splitting.
/// One call handles one line-aligned byte range, so threads and MPI ranks can
/// each parse their own range and stitch line numbers together afterwards.
public struct DataLineParser: Sendable {
    public let header: MatrixMarketHeader

    public init(header: MatrixMarketHeader) { self.header = header }

    /// First problem found in a range; `lineOffset` counts newlines before it in that range.
    public struct Problem: Sendable, Equatable {
        public var lineOffset: Int
        public var message: String
    }

    /// Destination of parsed entries: 0-based indices and values, written from `start`.
    public struct Output {
        public var rows: UnsafeMutablePointer<Int32>?
        public var columns: UnsafeMutablePointer<Int32>?
        public var values: UnsafeMutablePointer<Double>?
        public var capacity: Int
        public init(rows: UnsafeMutablePointer<Int32>?, columns: UnsafeMutablePointer<Int32>?,
                    values: UnsafeMutablePointer<Double>?, capacity: Int) {
            self.rows = rows
            self.columns = columns
            self.values = values
            self.capacity = capacity
        }
    }

    /// Counts '\n' bytes: an upper bound (minus one) on the entries of a range.
    public static func countNewlines(_ bytes: UnsafeBufferPointer<UInt8>) -> Int {
        var count = 0
        var p = bytes.baseAddress!
        let end = p + bytes.count
        while p < end {
            if p.pointee == 10 { count += 1 }
            p += 1
        }
        return count
    }

    /// Parses every data line of `bytes` into `output`. Returns the number of
    /// entries written and the first problem, if any (parsing stops there).
    public func parse(_ bytes: UnsafeBufferPointer<UInt8>, into output: Output) -> (entries: Int, problem: Problem?) {
        guard let base = bytes.baseAddress, bytes.count > 0 else { return (0, nil) }
        var p = base
        let end = base + bytes.count
        var line = 0
        var entries = 0
        let isCoordinate = header.format == .coordinate
        let hasValues = header.field != .pattern
        let isInteger = header.field == .integer
        let rowLimit = header.rows, columnLimit = header.columns
        let symmetry = header.symmetry

        func fail(_ message: String) -> (Int, Problem?) { (entries, Problem(lineOffset: line, message: message)) }

        while p < end {
            // Leading blanks; blank and comment lines are skipped.
            while p < end, p.pointee == 32 || p.pointee == 9 { p += 1 }
            if p == end { break }
            let first = p.pointee
            if first == 10 { line += 1; p += 1; continue }
            if first == 13, p + 1 < end, p[1] == 10 { line += 1; p += 2; continue }
            if first == UInt8(ascii: "%") {
                while p < end, p.pointee != 10 { p += 1 }
                continue
            }
            if entries == output.capacity {
                return fail("more entries than the \(header.declaredEntries) declared")
            }
            if isCoordinate {
                guard let row = Self.scanIndex(&p, end) else { return fail("expected a row index, found \(Self.describeToken(p, end))") }
                if row < 1 || row > rowLimit { return fail("row index \(row) is out of range 1...\(rowLimit)") }
                guard Self.skipBlanks(&p, end) else { return fail("line ends after the row index (expected a column index)") }
                guard let column = Self.scanIndex(&p, end) else { return fail("expected a column index, found \(Self.describeToken(p, end))") }
                if column < 1 || column > columnLimit { return fail("column index \(column) is out of range 1...\(columnLimit)") }
                switch symmetry {
                case .general: break
                case .symmetric where column > row:
                    return fail("entry (\(row), \(column)) lies above the diagonal; symmetric files store the lower triangle")
                case .skewSymmetric where column >= row:
                    return fail("entry (\(row), \(column)) is not below the diagonal; skew-symmetric files store the strict lower triangle")
                default: break
                }
                output.rows![entries] = Int32(truncatingIfNeeded: row - 1)
                output.columns![entries] = Int32(truncatingIfNeeded: column - 1)
                if hasValues {
                    guard Self.skipBlanks(&p, end) else { return fail("line ends after the column index (expected a value)") }
                }
            }
            if hasValues {
                let value: Double
                if isInteger {
                    guard let integer = Self.scanSignedInteger(&p, end) else {
                        return fail("expected an integer value, found \(Self.describeToken(p, end))")
                    }
                    value = Double(integer)
                } else {
                    switch DecimalParser.scan(&p, end) {
                    case .malformed: return fail("expected a real value, found \(Self.describeToken(p, end))")
                    case let .value(v):
                        if !v.isFinite { return fail("value \(v) is not finite") }
                        value = v
                    }
                }
                output.values![entries] = value
            }
            entries += 1
            // The rest of the line must be blank.
            while p < end, p.pointee == 32 || p.pointee == 9 || p.pointee == 13 { p += 1 }
            if p < end {
                if p.pointee != 10 { return fail("unexpected \(Self.describeToken(p, end)) after the entry") }
                line += 1
                p += 1
            }
        }
        return (entries, nil)
    }

    /// Line offset (newlines before it) of the data entry number `index` (0-based) in `bytes`.
    public static func lineOffsetOfEntry(_ index: Int, in bytes: UnsafeBufferPointer<UInt8>) -> Int {
        var line = 0, entry = 0, p = 0
        while p < bytes.count {
            var q = p
            while q < bytes.count, bytes[q] != 10 { q += 1 }
            let content = bytes[p..<q].first(where: { $0 != 32 && $0 != 9 && $0 != 13 })
            if let content, content != UInt8(ascii: "%") {
                if entry == index { return line }
                entry += 1
            }
            line += 1
            p = q + 1
        }
        return line
    }

    @inline(__always)
    private static func skipBlanks(_ p: inout UnsafePointer<UInt8>, _ end: UnsafePointer<UInt8>) -> Bool {
        while p < end, p.pointee == 32 || p.pointee == 9 { p += 1 }
        return p < end && p.pointee != 10 && p.pointee != 13
    }

    /// Unsigned decimal index; nil when no digit or when it overflows.
    @inline(__always)
    private static func scanIndex(_ p: inout UnsafePointer<UInt8>, _ end: UnsafePointer<UInt8>) -> Int? {
        var q = p
        var value = 0
        while q < end, DecimalParser.isDigit(q.pointee) {
            let (times, o1) = value.multipliedReportingOverflow(by: 10)
            let (sum, o2) = times.addingReportingOverflow(Int(q.pointee &- 48))
            if o1 || o2 { return nil }
            value = sum
            q += 1
        }
        if q == p { return nil }
        if q < end, q.pointee != 32, q.pointee != 9, q.pointee != 10, q.pointee != 13 { return nil }
        p = q
        return value
    }

    @inline(__always)
    private static func scanSignedInteger(_ p: inout UnsafePointer<UInt8>, _ end: UnsafePointer<UInt8>) -> Int? {
        var q = p
        var negative = false
        if q < end, q.pointee == UInt8(ascii: "-") || q.pointee == UInt8(ascii: "+") {
            negative = q.pointee == UInt8(ascii: "-")
            q += 1
        }
        guard let magnitude = scanIndex(&q, end) else { return nil }
        p = q
        return negative ? -magnitude : magnitude
    }

    /// A short printable rendering of the token at `p`, for error messages.
    static func describeToken(_ p: UnsafePointer<UInt8>, _ end: UnsafePointer<UInt8>) -> String {
        if p >= end || p.pointee == 10 || p.pointee == 13 { return "end of line" }
        var q = p
        var text = ""
        while q < end, q.pointee != 32, q.pointee != 9, q.pointee != 10, q.pointee != 13, text.count < 24 {
            let c = q.pointee
            text.append(c >= 32 && c < 127 ? Character(UnicodeScalar(c)) : "?")
            q += 1
        }
        return "'\(text)'"
    }
}
