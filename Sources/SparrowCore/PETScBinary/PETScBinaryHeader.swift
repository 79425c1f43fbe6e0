/// The header of a file in PETSc's binary format, the one `MatView`/`VecView`
/// with a binary viewer write and `MatLoad`/`VecLoad` read (PETSc manual,
/// "Viewers: Binary"; src/mat/impls/aij/seq/aij.c MatView_SeqAIJ_Binary,
/// src/mat/impls/dense/seq/dense.c MatView_Dense_Binary, src/vec/vec/interface/vector.c).
/// Every number is big-endian; integers are PetscInt, 4 bytes in PETSc's
/// default build and 8 in a `--with-64-bit-indices` one; values are 8-byte
/// reals:
///
///   sparse (AIJ): MAT_FILE_CLASSID, M, N, nz; M row lengths; nz column
///                 indices (row by row); nz values
///   dense:        MAT_FILE_CLASSID, M, N, -1; M·N values, row by row
///   vector:       VEC_FILE_CLASSID, N; N values
///
/// The index width is told by the first word (a 64-bit class id starts with
/// four zero bytes); the file's size must match the header exactly, which also
/// tells complex or single-precision builds' files apart (refused).
public struct PETScBinaryHeader: Sendable, Equatable {
    public enum Object: Sendable, Equatable {
        case sparse(nonzeros: Int)
        case dense
        case vector
    }

    public static let matrixClassID = 1_211_216
    public static let vectorClassID = 1_211_214
    /// nz = -1 marks a dense matrix (MATRIX_BINARY_FORMAT_DENSE).
    static let denseMarker = -1

    public var object: Object
    public var rows: Int
    public var columns: Int
    /// 4 or 8.
    public var indexBytes: Int
    /// Byte offsets of the parts that follow the header.
    public var headerBytes: Int { (object == .vector ? 2 : 4) * indexBytes }

    public init(object: Object, rows: Int, columns: Int, indexBytes: Int) {
        self.object = object
        self.rows = rows
        self.columns = columns
        self.indexBytes = indexBytes
    }

    /// Stored values: nz for a sparse matrix, M·N for a dense one, N for a vector.
    public var storedValues: Int {
        switch object {
        case let .sparse(nonzeros): return nonzeros
        case .dense, .vector: return rows * columns
        }
    }

    /// Where the row lengths, column indices and values begin.
    public var rowLengthsOffset: Int { headerBytes }
    public var columnIndicesOffset: Int { headerBytes + rows * indexBytes }
    public var valuesOffset: Int {
        if case let .sparse(nonzeros) = object { return columnIndicesOffset + nonzeros * indexBytes }
        return headerBytes
    }
    /// The size the file must have.
    public var fileBytes: Int { valuesOffset + storedValues * 8 }

    /// What the file holds, in words for messages and `info`.
    public var description: String {
        let kind: String
        switch object {
        case .sparse: kind = "sparse (AIJ) matrix"
        case .dense: kind = "dense matrix"
        case .vector: kind = "vector"
        }
        return "PETSc binary \(kind), \(indexBytes * 8)-bit indices"
    }

    /// Whether `prefix` (a file's first bytes, at least 8 to be sure) starts like a PETSc binary file.
    public static func matches(_ prefix: UnsafeBufferPointer<UInt8>) -> Bool {
        guard prefix.count >= 4 else { return false }
        let first = Int(Int64(bitPattern: word(prefix, at: 0, bytes: 4)))
        if first == matrixClassID || first == vectorClassID { return true }
        guard first == 0, prefix.count >= 8 else { return false }
        let second = Int(Int64(bitPattern: word(prefix, at: 4, bytes: 4)))
        return second == matrixClassID || second == vectorClassID
    }

    /// Parses the header from a file's first bytes and checks it against the file's size.
    public static func parse(_ prefix: UnsafeBufferPointer<UInt8>, fileSize: Int, file: String) throws(SparrowError) -> PETScBinaryHeader {
        let indexBytes = prefix.count >= 4 && word(prefix, at: 0, bytes: 4) == 0 ? 8 : 4
        let failure = { (offset: Int, message: String) in PETScBinary.error(file: file, byte: offset, message) }
        func integer(_ k: Int) throws(SparrowError) -> Int {
            guard prefix.count >= (k + 1) * indexBytes else {
                throw failure(prefix.count, "file ends inside the header (\(prefix.count) bytes)")
            }
            return Int(Int64(bitPattern: word(prefix, at: k * indexBytes, bytes: indexBytes)))
        }
        let classID = try integer(0)
        var header: PETScBinaryHeader
        switch classID {
        case vectorClassID:
            let n = try integer(1)
            guard n >= 0 else { throw failure(indexBytes, "vector length \(n) is negative") }
            header = PETScBinaryHeader(object: .vector, rows: n, columns: 1, indexBytes: indexBytes)
        case matrixClassID:
            let (m, n, nz) = (try integer(1), try integer(2), try integer(3))
            guard m >= 0 else { throw failure(indexBytes, "row count \(m) is negative") }
            guard n >= 0 else { throw failure(2 * indexBytes, "column count \(n) is negative") }
            guard nz >= 0 || nz == denseMarker else { throw failure(3 * indexBytes, "nonzero count \(nz) is negative") }
            header = PETScBinaryHeader(object: nz == denseMarker ? .dense : .sparse(nonzeros: nz), rows: m, columns: n, indexBytes: indexBytes)
            if nz != denseMarker, Double(nz) > Double(m) * Double(n) {
                throw failure(3 * indexBytes, "\(nz) nonzeros do not fit a \(m) × \(n) matrix")
            }
        default:
            throw failure(0, "not a PETSc binary matrix or vector (class id \(classID))")
        }
        // Sizes up to 2^62 keep every offset below in range: larger ones cannot be a file here.
        let limit = 1 << 62
        var denseOverflows = false
        if header.object == .dense || header.object == .vector {
            denseOverflows = header.rows.multipliedReportingOverflow(by: header.columns).overflow
        }
        guard header.rows < limit / 16, header.columns < limit / 16, !denseOverflows, header.storedValues < limit / 32 else {
            throw failure(indexBytes, "sizes \(header.rows) × \(header.columns) are beyond any file")
        }
        let expected = header.fileBytes
        if fileSize != expected {
            let values = header.storedValues
            let whatElse: String
            if fileSize == expected + values * 8 { whatElse = " (twice the value bytes: complex scalars, which Sparrow does not read)" }
            else if fileSize == expected - values * 4 { whatElse = " (half the value bytes: single precision, which Sparrow does not read)" }
            else if fileSize > expected { whatElse = " (more than one object in the file? Sparrow reads files of one matrix or vector)" }
            else { whatElse = " (truncated)" }
            throw failure(min(fileSize, expected), "the header declares \(header.rows) × \(header.columns)"
                          + (header.object == .dense || header.object == .vector ? "" : " with \(values) nonzeros")
                          + " and \(header.indexBytes * 8)-bit indices, \(expected) bytes, but the file has \(fileSize)\(whatElse)")
        }
        return header
    }

    /// Refuses to read a file whose contents will not fit one of `ranks` ranks.
    public func checkMemory(file: String, ranks: Int = 1) throws(SparrowError) {
        let parts = Double(max(1, ranks))
        let bytes: Double
        switch object {
        case let .sparse(nonzeros):
            bytes = Double(nonzeros) / parts * (16 + 28 + Double(indexBytes)) + Double(rows) / parts * Double(indexBytes + 16)
        case .dense, .vector:
            bytes = Double(rows) / parts * Double(columns) * 16 + Double(rows + 1) * 16
        }
        try MemoryBudget.check(bytes, for: "\(description) \(rows) × \(columns) with \(storedValues) stored values") {
            PETScBinary.error(file: file, byte: 0, $0)
        }
    }

    /// The Matrix Market header of a file holding the same matrix (coordinate or
    /// array, real, general), for the readers that ask for one.
    public var matrixMarketEquivalent: MatrixMarketHeader {
        var header = MatrixMarketHeader(format: object == .dense || object == .vector ? .array : .coordinate, field: .real,
                                        symmetry: .general, rows: rows, columns: columns, declaredEntries: storedValues)
        header.petsc = self
        return header
    }

    static func word(_ bytes: UnsafeBufferPointer<UInt8>, at offset: Int, bytes count: Int) -> UInt64 {
        var value: UInt64 = 0
        for k in 0..<count { value = value << 8 | UInt64(bytes[offset + k]) }
        return count == 4 ? UInt64(bitPattern: Int64(Int32(bitPattern: UInt32(truncatingIfNeeded: value)))) : value
    }
}
