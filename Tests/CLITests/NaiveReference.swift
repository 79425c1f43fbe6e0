import Foundation

/// A reference that shares no code with Sparrow: Matrix Market coordinate and
/// array files read by splitting lines with Foundation, symmetric halves
/// mirrored by hand, and products as a plain loop over triplets. Tests compare
/// Sparrow's outputs with this rather than with Sparrow's own code paths.
struct NaiveMatrix {
    var rows = 0, columns = 0
    var entries: [(row: Int, column: Int, value: Double)] = []

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
