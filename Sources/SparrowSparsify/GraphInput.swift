import SparrowCore

/// Reading a graph file and writing a sparsifier back in the same form.
public enum GraphInput {
    /// Reads `path` (symmetric Matrix Market) as a graph. `interpretation` nil:
    /// a file whose off-diagonals are all ≤ 0 with a nonzero diagonal is a
    /// Laplacian or SDDM matrix; anything else is an adjacency matrix (pattern: unit weights).
    public static func read(_ path: String, as interpretation: WeightedGraph.Interpretation? = nil,
                            threads: Int = 1) throws(SparrowError) -> (graph: WeightedGraph, interpretation: WeightedGraph.Interpretation) {
        let header = try MatrixMarket.readHeader(path: path)
        var a = try MatrixMarket.readCSR(path: path, threads: threads)
        // A pattern file's diagonal is structure, not a weighted self-loop (SuiteSparse's meshes store it): drop it.
        if header.field == .pattern { a = a.withoutDiagonal() }
        let chosen = interpretation ?? detect(a)
        return (try WeightedGraph.from(a, as: chosen, file: path) { MatrixMarket.lineOfEntry(path: path, row: $0, column: $1) }, chosen)
    }

    public static func detect(_ a: CSRMatrix) -> WeightedGraph.Interpretation {
        var negative = false, diagonal = false
        for i in 0..<a.rows {
            for p in a.rowRange(i) {
                let j = Int(a.columnIndices[p]), v = a.values[p]
                if j == i { if v != 0 { diagonal = true } } else if v > 0 { return .adjacency } else if v < 0 { negative = true }
            }
        }
        return negative && diagonal ? .laplacian : .adjacency
    }

    /// H as a symmetric coordinate file: its adjacency (weights), or for Laplacian input L_H + D.
    public static func write(_ h: WeightedGraph, as interpretation: WeightedGraph.Interpretation, to path: String,
                             comment: String? = nil, threads: Int = 1) throws(SparrowError) {
        try MatrixMarket.write(matrix(h, as: interpretation), to: path, symmetry: .symmetric, comment: comment, threads: threads)
    }

    /// H as a matrix (both triangles): its adjacency, or L_H + D.
    public static func matrix(_ h: WeightedGraph, as interpretation: WeightedGraph.Interpretation) -> CSRMatrix {
        switch interpretation {
        case .laplacian:
            return h.laplacian()
        case .adjacency:
            var t = TripletBuilder(rows: h.vertices, columns: h.vertices, reservingCapacity: 2 * h.edges)
            for e in 0..<h.edges {
                t.append(row: Int(h.tails[e]), column: Int(h.heads[e]), value: h.weights[e])
                t.append(row: Int(h.heads[e]), column: Int(h.tails[e]), value: h.weights[e])
            }
            return t.csr()
        }
    }
}

extension CSRMatrix {
    /// The matrix less its diagonal entries.
    public func withoutDiagonal() -> CSRMatrix {
        var t = TripletBuilder(rows: rows, columns: columns, reservingCapacity: nonzeros)
        for i in 0..<rows { for p in rowRange(i) where Int(columnIndices[p]) != i { t.append(row: i, column: Int(columnIndices[p]), value: values[p]) } }
        return t.csr()
    }
}
