import Foundation
import SparrowCore
import SparrowMPI

/// Reading a transport problem's inputs, each rank keeping what it owns: its
/// rows of a dense cost (parsed region by region, so memory follows the rows
/// owned, not n·m), the marginals and point clouds (vectors, read whole).
public enum TransportInput {
    /// Rows `owned` of the dense cost array `path`, row-major; negative costs are refused at their line.
    public static func denseRows(path: String, owned: Range<Int>, header: MatrixMarketHeader, threads: Int) throws(SparrowError) -> [Double] {
        try MatrixMarket.arrayRows(path: path, header: header, owned: owned, threads: threads) { v in
            v < 0 ? "cost \(v) is negative; costs must be non-negative" : nil
        }
    }

    /// The header of a dense general array (cost or points), refusing other kinds.
    public static func arrayHeader(path: String, what: String) throws(SparrowError) -> MatrixMarketHeader {
        let header = try MatrixMarket.readHeader(path: path)
        // A PETSc file may hold a dense matrix in AIJ form (MatView's default): read expanded.
        guard header.format == .array || header.petsc != nil, header.field != .pattern else {
            throw .input(file: path, line: header.petsc == nil ? 1 : nil, message: "\(what) must be a dense real array (%%MatrixMarket matrix array real general), found \(header.format.rawValue) \(header.field.rawValue)")
        }
        guard header.symmetry == .general else {
            throw .input(file: path, line: header.petsc == nil ? 1 : nil, message: "\(what) must be a general array, found \(header.symmetry.rawValue)")
        }
        guard header.rows > 0, header.columns > 0 else {
            throw .input(file: path, line: header.petsc == nil ? 1 : nil, message: "\(what) is empty (\(header.rows) × \(header.columns))")
        }
        return header
    }

    /// A vector of `count` entries (an n × 1 or 1 × n array, or coordinate n × 1).
    public static func vector(path: String, count: Int, what: String) throws(SparrowError) -> [Double] {
        let header = try MatrixMarket.readHeader(path: path)
        guard header.rows == 1 || header.columns == 1 else {
            throw .input(file: path, line: header.petsc == nil ? 1 : nil, message: "\(what) must be a vector (n × 1), found \(header.rows) × \(header.columns)")
        }
        guard header.rows * header.columns == count else {
            throw .input(file: path, line: header.petsc == nil ? 1 : nil, message: "\(what) has \(header.rows * header.columns) entries; the problem needs \(count)")
        }
        let values = try MatrixMarket.read(path: path).dense().values
        if let bad = values.firstIndex(where: { !($0 > 0) }) {
            // Coordinate files list entries in any order, and an absent entry is a zero; a binary file has no lines.
            var line: Int?
            if header.format == .array, header.petsc == nil {
                let mapped = try MappedFile(path: path)
                line = header.dataLine + DataLineParser.lineOffsetOfEntry(bad, in: UnsafeBufferPointer(rebasing: mapped.bytes[header.dataOffset...]))
            }
            throw .input(file: path, line: line, message: "\(what) entry \(bad + 1) is \(values[bad]); marginals must be positive")
        }
        return values
    }

    /// Points as an n × d array: returned row-major (point i at [i·d, (i+1)·d)).
    public static func points(path: String, what: String) throws(SparrowError) -> (count: Int, dimension: Int, coordinates: [Double]) {
        let header = try arrayHeader(path: path, what: what)
        if let petsc = header.petsc {
            // Row-major already, and expanded from AIJ row by row under the memory budget.
            return (header.rows, header.columns, try PETScBinary.denseRows(path: path, header: petsc, owned: 0..<header.rows))
        }
        try header.checkMemory(file: path)
        let matrix = try MatrixMarket.read(path: path).dense()
        var coordinates = [Double](repeating: 0, count: matrix.rows * matrix.columns)
        for i in 0..<matrix.rows { for k in 0..<matrix.columns { coordinates[i * matrix.columns + k] = matrix[i, k] } }
        return (matrix.rows, matrix.columns, coordinates)
    }
}

/// Ground costs between two point clouds.
public enum GroundCost: String, Sendable, CaseIterable {
    case sqeuclidean, l1

    @inline(__always)
    public func cost(_ a: UnsafePointer<Double>, _ b: UnsafePointer<Double>, dimension: Int) -> Double {
        var s = 0.0
        switch self {
        case .sqeuclidean: for k in 0..<dimension { let d = a[k] - b[k]; s += d * d }
        case .l1: for k in 0..<dimension { s += abs(a[k] - b[k]) }
        }
        return s
    }

    /// Dense rows `owned` of the cost between `source` and `target` (row-major).
    public func denseRows(source: [Double], target: [Double], dimension: Int, owned: Range<Int>, threads: Int) -> [Double] {
        let m = target.count / max(1, dimension)
        var rows = [Double](repeating: 0, count: owned.count * m)
        source.withUnsafeBufferPointer { sb in
            target.withUnsafeBufferPointer { tb in
                rows.withUnsafeMutableBufferPointer { rb in
                    let (s, t, r) = (SharedReadPointer(sb.baseAddress!), SharedReadPointer(tb.baseAddress!), SharedPointer(rb.baseAddress!))
                    let ranges = evenRanges(count: owned.count, parts: threads)
                    parallelTasks(ranges.count) { task in
                        for local in ranges[task] {
                            let i = owned.lowerBound + local
                            for j in 0..<m { r[local * m + j] = self.cost(s.base + i * dimension, t.base + j * dimension, dimension: dimension) }
                        }
                    }
                }
            }
        }
        return rows
    }
}
