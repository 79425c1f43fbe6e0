/// The banner and size line of a Matrix Market file
/// (https://math.nist.gov/MatrixMarket/formats.html).
public struct MatrixMarketHeader: Sendable, Equatable {
    public enum Format: String, Sendable { case coordinate, array }
    public enum Field: String, Sendable { case real, integer, pattern }
    public enum Symmetry: String, Sendable {
        case general
        case symmetric
        case skewSymmetric = "skew-symmetric"
    }

    public var format: Format
    public var field: Field
    public var symmetry: Symmetry
    public var rows: Int
    public var columns: Int
    /// Entries the file declares: the size line's third number for coordinate
    /// files; for array files the stored values (all, or one triangle when symmetric).
    public var declaredEntries: Int
    /// Byte offset and 1-based line number where the data lines begin.
    public var dataOffset: Int
    public var dataLine: Int
    /// Set when this describes a PETSc binary file as Matrix Market would
    /// (`PETScBinaryHeader.matrixMarketEquivalent`): there are no lines then.
    public var petsc: PETScBinaryHeader?

    /// The size line, for messages about the declared shape (nil for a binary file).
    public var sizeLine: Int? { petsc == nil ? max(1, dataLine - 1) : nil }

    public init(format: Format, field: Field, symmetry: Symmetry, rows: Int, columns: Int,
                declaredEntries: Int, dataOffset: Int = 0, dataLine: Int = 0) {
        self.format = format
        self.field = field
        self.symmetry = symmetry
        self.rows = rows
        self.columns = columns
        self.declaredEntries = declaredEntries
        self.dataOffset = dataOffset
        self.dataLine = dataLine
    }

    public var banner: String {
        if let petsc { return petsc.description }
        return "%%MatrixMarket matrix \(format.rawValue) \(field.rawValue) \(symmetry.rawValue)"
    }

    /// Parses the banner, comments and size line from the start of a file.
    /// `prefix` must hold the file's first bytes up to at least the size line;
    /// `isComplete` says whether `prefix` is the whole file; when it is not, a
    /// line cut by the end of the prefix counts as missing, so the caller can
    /// retry with a longer prefix (`NeedsMoreInput`).
    public static func parse(_ prefix: UnsafeBufferPointer<UInt8>, isComplete: Bool, file: String) throws(SparrowError) -> MatrixMarketHeader {
        var lines = LineCursor(prefix, isComplete: isComplete)
        guard let bannerLine = lines.next() else {
            if !isComplete { throw needsMoreInput }
            throw .input(file: file, line: 1, message: "empty file (expected a %%MatrixMarket banner)")
        }
        guard let bannerText = bannerLine.text else {
            throw .input(file: file, line: 1, message: "not a Matrix Market file (the banner is not text), nor a PETSc binary matrix or vector")
        }
        let words = bannerText.lowercased().split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
        guard words.first == "%%matrixmarket" else {
            throw .input(file: file, line: 1, message: "not a Matrix Market file (expected '%%MatrixMarket matrix ...' banner)")
        }
        guard words.count == 5 else {
            throw .input(file: file, line: 1, message: "banner must have 5 words: %%MatrixMarket matrix FORMAT FIELD SYMMETRY")
        }
        guard words[1] == "matrix" else {
            throw .input(file: file, line: 1, message: "unsupported object '\(words[1])' (only 'matrix')")
        }
        guard let format = Format(rawValue: words[2]) else {
            throw .input(file: file, line: 1, message: "unknown format '\(words[2])' (expected coordinate or array)")
        }
        if words[3] == "complex" {
            throw .input(file: file, line: 1, message: "complex matrices are unsupported")
        }
        guard let field = Field(rawValue: words[3]) else {
            throw .input(file: file, line: 1, message: "unknown field '\(words[3])' (expected real, integer or pattern)")
        }
        if words[4] == "hermitian" {
            throw .input(file: file, line: 1, message: "hermitian matrices are unsupported")
        }
        guard let symmetry = Symmetry(rawValue: words[4]) else {
            throw .input(file: file, line: 1, message: "unknown symmetry '\(words[4])' (expected general, symmetric or skew-symmetric)")
        }
        if format == .array, field == .pattern {
            throw .input(file: file, line: 1, message: "'array' format cannot have 'pattern' field")
        }
        if symmetry == .skewSymmetric, field == .pattern {
            throw .input(file: file, line: 1, message: "'pattern' field cannot be skew-symmetric")
        }
        // Comments and blank lines, then the size line.
        var sizeLine: LineCursor.Line?
        while let line = lines.next() {
            if line.isBlank || line.isComment { continue }
            sizeLine = line
            break
        }
        guard let sizeLine else {
            if !isComplete { throw needsMoreInput }
            throw .input(file: file, line: lines.lineNumber + 1, message: "file ends before the size line")
        }
        guard let sizeText = sizeLine.text else {
            throw .input(file: file, line: sizeLine.number, message: "size line is not text")
        }
        let fields = sizeText.split(whereSeparator: { $0 == " " || $0 == "\t" })
        let expected = format == .coordinate ? 3 : 2
        guard fields.count == expected else {
            let what = format == .coordinate ? "rows columns entries" : "rows columns"
            throw .input(file: file, line: sizeLine.number,
                         message: "size line must have \(expected) integers (\(what)), found '\(sizeText)'")
        }
        var sizes: [Int] = []
        for text in fields {
            guard text.allSatisfy({ $0.isASCII && $0.isNumber }) else {
                throw .input(file: file, line: sizeLine.number, message: "size '\(text)' is not a non-negative integer")
            }
            guard let value = Int(text) else {
                throw .input(file: file, line: sizeLine.number, message: "size '\(text)' does not fit in 64 bits")
            }
            sizes.append(value)
        }
        let rows = sizes[0], columns = sizes[1]
        if rows > CSRMatrix.maximumColumns || columns > CSRMatrix.maximumColumns {
            throw .input(file: file, line: sizeLine.number,
                         message: "\(rows) × \(columns) exceeds the supported \(CSRMatrix.maximumColumns) rows or columns")
        }
        if symmetry != .general, rows != columns {
            throw .input(file: file, line: sizeLine.number, message: "\(symmetry.rawValue) matrix must be square, got \(rows) × \(columns)")
        }
        var declared: Int
        if format == .coordinate {
            declared = sizes[2]
            let (capacity, overflow) = rows.multipliedReportingOverflow(by: columns)
            if !overflow, declared > capacity {
                throw .input(file: file, line: sizeLine.number, message: "\(declared) entries cannot fit in a \(rows) × \(columns) matrix")
            }
        } else {
            let (count, overflow) = rows.multipliedReportingOverflow(by: columns)
            if overflow { throw .input(file: file, line: sizeLine.number, message: "\(rows) × \(columns) array does not fit in 64 bits") }
            switch symmetry {
            case .general: declared = count
            case .symmetric: declared = rows * (rows + 1) / 2
            case .skewSymmetric: declared = rows * (rows - 1) / 2
            }
        }
        return MatrixMarketHeader(format: format, field: field, symmetry: symmetry, rows: rows, columns: columns,
                                  declaredEntries: declared, dataOffset: lines.offset, dataLine: lines.lineNumber + 1)
    }
}

/// Thrown by `MatrixMarketHeader.parse` when the prefix ended inside the header.
let needsMoreInput = SparrowError.input(file: "", line: nil, message: "header continues past the bytes read")

/// Walks lines of a byte buffer (LF or CRLF), tracking 1-based line numbers.
struct LineCursor {
    struct Line {
        let bytes: UnsafeBufferPointer<UInt8>
        let number: Int
        var text: String? {
            let trimmed = bytes.last == UInt8(ascii: "\r") ? UnsafeBufferPointer(rebasing: bytes.dropLast()) : bytes
            guard trimmed.allSatisfy({ $0 == 9 || ($0 >= 32 && $0 < 127) }) else { return nil }
            return String(decoding: trimmed, as: UTF8.self).trimmingSpaces
        }
        var isBlank: Bool { bytes.allSatisfy { $0 == 32 || $0 == 9 || $0 == 13 } }
        var isComment: Bool { bytes.first(where: { $0 != 32 && $0 != 9 }) == UInt8(ascii: "%") }
    }

    let buffer: UnsafeBufferPointer<UInt8>
    let isComplete: Bool
    private(set) var offset = 0
    private(set) var lineNumber = 0

    init(_ buffer: UnsafeBufferPointer<UInt8>, isComplete: Bool) {
        self.buffer = buffer
        self.isComplete = isComplete
    }

    mutating func next() -> Line? {
        guard offset < buffer.count else { return nil }
        var end = offset
        while end < buffer.count, buffer[end] != 10 { end += 1 }
        if end == buffer.count, !isComplete { return nil }
        let line = Line(bytes: UnsafeBufferPointer(rebasing: buffer[offset..<end]), number: lineNumber + 1)
        offset = min(end + 1, buffer.count)
        lineNumber += 1
        return line
    }
}

extension String {
    var trimmingSpaces: String {
        var s = Substring(self)
        while let c = s.first, c == " " || c == "\t" { s.removeFirst() }
        while let c = s.last, c == " " || c == "\t" { s.removeLast() }
        return String(s)
    }
}
