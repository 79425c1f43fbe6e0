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
