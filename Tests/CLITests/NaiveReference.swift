import Foundation

/// A reference that shares no code with Sparrow: Matrix Market coordinate and
/// array files read by splitting lines with Foundation, symmetric halves
/// mirrored by hand, and products as a plain loop over triplets. Tests compare
/// Sparrow's outputs with this rather than with Sparrow's own code paths.
struct NaiveMatrix {
    var rows = 0, columns = 0
    var entries: [(row: Int, column: Int, value: Double)] = []

    init() {}

    init(path: String) throws {
        let text = try String(contentsOfFile: path, encoding: .utf8)
        var lines = text.split(whereSeparator: \.isNewline).map(String.init)
        let banner = lines.removeFirst().lowercased().split(separator: " ").map(String.init)
        lines = lines.filter { !$0.hasPrefix("%") && !$0.trimmingCharacters(in: .whitespaces).isEmpty }
        let size = lines.removeFirst().split(separator: " ").compactMap { Int($0) }
        rows = size[0]
        columns = size[1]
        let (format, field, symmetry) = (banner[2], banner[3], banner[4])
        if format == "array" {
            for (k, line) in lines.enumerated() {
                entries.append((k % rows, k / rows, Double(line.trimmingCharacters(in: .whitespaces))!))
            }
            return
        }
        for line in lines {
            let words = line.split(separator: " ")
            let i = Int(words[0])! - 1, j = Int(words[1])! - 1
            let v = field == "pattern" ? 1 : Double(words[2])!
            entries.append((i, j, v))
            if symmetry != "general", i != j { entries.append((j, i, symmetry == "skew-symmetric" ? -v : v)) }
        }
    }

    /// y = A x by a loop over the triplets (duplicates add up, as the format says).
    func multiply(_ x: [Double]) -> [Double] {
        var y = [Double](repeating: 0, count: rows)
        for e in entries { y[e.row] += e.value * x[e.column] }
        return y
    }

    /// ‖A x − b‖₂ / ‖b‖₂.
    func relativeResidual(x: [Double], b: [Double]) -> Double {
        let ax = multiply(x)
        var r = 0.0, nb = 0.0
        for i in 0..<rows { r += (ax[i] - b[i]) * (ax[i] - b[i]); nb += b[i] * b[i] }
        return (r / nb).squareRoot()
    }

    /// The entries as a map (row, column) → value, duplicates summed.
    var map: [Int64: Double] {
        var m: [Int64: Double] = [:]
        for e in entries { m[Int64(e.row) << 32 | Int64(e.column), default: 0] += e.value }
        return m
    }

    /// Aᵀ.
    var transposed: NaiveMatrix {
        var t = NaiveMatrix()
        (t.rows, t.columns) = (columns, rows)
        t.entries = entries.map { ($0.column, $0.row, $0.value) }
        return t
    }

    /// A·B by a triple loop over the triplets, as a map (row, column) → value.
    func product(_ b: NaiveMatrix) -> [Int64: Double] {
        var byRow = [[(Int, Double)]](repeating: [], count: b.rows)
        for e in b.entries { byRow[e.row].append((e.column, e.value)) }
        var c: [Int64: Double] = [:]
        for e in entries { for (j, v) in byRow[e.column] { c[Int64(e.row) << 32 | Int64(j), default: 0] += e.value * v } }
        return c
    }

    /// y = Aᵀ x by the same loop.
    func multiplyTransposed(_ x: [Double]) -> [Double] {
        var y = [Double](repeating: 0, count: columns)
        for e in entries { y[e.column] += e.value * x[e.row] }
        return y
    }

    /// The least-squares solution of min ‖A x − b‖₂ by the normal equations
    /// AᵀA x = Aᵀb, formed densely and solved by Gaussian elimination with
    /// partial pivoting: another method than QR, for small well-conditioned A.
    func leastSquaresByNormalEquations(_ b: [Double]) -> [Double] {
        let n = columns
        var dense = [[Double]](repeating: [Double](repeating: 0, count: rows), count: n)   // columns of A
        for e in entries { dense[e.column][e.row] += e.value }
        var g = [[Double]](repeating: [Double](repeating: 0, count: n + 1), count: n)
        let atb = multiplyTransposed(b)
        for i in 0..<n {
            for j in 0..<n { g[i][j] = zip(dense[i], dense[j]).reduce(0) { $0 + $1.0 * $1.1 } }
            g[i][n] = atb[i]
        }
        for k in 0..<n {
            let pivot = (k..<n).max { abs(g[$0][k]) < abs(g[$1][k]) }!
            g.swapAt(k, pivot)
            for i in (k + 1)..<n where g[i][k] != 0 {
                let f = g[i][k] / g[k][k]
                for j in k...n { g[i][j] -= f * g[k][j] }
            }
        }
        var x = [Double](repeating: 0, count: n)
        for k in stride(from: n - 1, through: 0, by: -1) {
            x[k] = (g[k][n] - ((k + 1)..<n).reduce(0) { $0 + g[k][$1] * x[$1] }) / g[k][k]
        }
        return x
    }

    /// The values of a dense (array) file, column-major.
    static func denseValues(path: String) throws -> [Double] {
        let m = try NaiveMatrix(path: path)
        var values = [Double](repeating: 0, count: m.rows * m.columns)
        for e in m.entries { values[e.column * m.rows + e.row] += e.value }
        return values
    }
}

extension NaiveMatrix {
    /// A PETSc binary file decoded by hand (big-endian; index width from the first word;
    /// sparse, dense with the -1 marker, or vector), sharing no code with Sparrow's reader.
    init(petsc path: String) throws {
        let data = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        let width = data[0..<4].allSatisfy { $0 == 0 } ? 8 : 4
        var at = 0
        func integer() -> Int {
            var v: UInt64 = 0
            for k in 0..<width { v = v << 8 | UInt64(data[at + k]) }
            at += width
            return width == 4 ? Int(Int32(bitPattern: UInt32(v))) : Int(Int64(bitPattern: v))
        }
        func real() -> Double {
            var v: UInt64 = 0
            for k in 0..<8 { v = v << 8 | UInt64(data[at + k]) }
            at += 8
            return Double(bitPattern: v)
        }
        let classID = integer()
        if classID == 1_211_214 {
            rows = integer()
            columns = 1
            for i in 0..<rows { entries.append((i, 0, real())) }
        } else {
            rows = integer()
            columns = integer()
            let nz = integer()
            if nz == -1 {
                for i in 0..<rows { for j in 0..<columns { entries.append((i, j, real())) } }
            } else {
                let lengths = (0..<rows).map { _ in integer() }
                let columnIndices = (0..<nz).map { _ in integer() }
                var e = 0
                for (i, length) in lengths.enumerated() {
                    for _ in 0..<length { entries.append((i, columnIndices[e], 0)); e += 1 }
                }
                for k in 0..<nz { entries[k].value = real() }
            }
        }
        precondition(at == data.count, "\(path): \(data.count - at) bytes left over")
    }

    /// Entries summed by position, for comparing two readings of one matrix.
    var summed: [Int: Double] {
        var d: [Int: Double] = [:]
        for e in entries { d[e.row * columns + e.column, default: 0] += e.value }
        return d
    }
}
