import SparrowCore

/// An undirected graph with positive edge weights, as the sparsifier sees it:
/// an edge list (p < q) and an adjacency structure (CSR over vertices, each
/// entry naming its neighbour, weight and edge number). A non-negative excess
/// diagonal makes the matrix L + D of an SDDM system; a pure graph has D = 0.
public struct WeightedGraph: Sendable {
    public let vertices: Int
    public let tails: [Int32]
    public let heads: [Int32]
    public let weights: [Double]
    /// D in L + D (zero for a graph or a pure Laplacian).
    public let excess: [Double]
    /// Adjacency: for vertex v, entries adjacencyStart[v]..<adjacencyStart[v + 1].
    public let adjacencyStart: [Int]
    public let neighbour: [Int32]
    public let incidentEdge: [Int32]

    public var edges: Int { weights.count }
    /// |E| / |V|, the density figure of GRASS and dyGRASS.
    public var density: Double { vertices == 0 ? 0 : Double(edges) / Double(vertices) }

    public init(vertices: Int, tails: [Int32], heads: [Int32], weights: [Double], excess: [Double]? = nil) {
        self.vertices = vertices
        self.tails = tails
        self.heads = heads
        self.weights = weights
        self.excess = excess ?? [Double](repeating: 0, count: vertices)
        var start = [Int](repeating: 0, count: vertices + 1)
        for e in 0..<weights.count {
            start[Int(tails[e]) + 1] += 1
            start[Int(heads[e]) + 1] += 1
        }
        for v in 0..<vertices { start[v + 1] += start[v] }
        var fill = Array(start.prefix(vertices))
        var neighbour = [Int32](repeating: 0, count: 2 * weights.count)
        var incident = [Int32](repeating: 0, count: 2 * weights.count)
        for e in 0..<weights.count {
            let p = Int(tails[e]), q = Int(heads[e])
            neighbour[fill[p]] = Int32(q); incident[fill[p]] = Int32(e); fill[p] += 1
            neighbour[fill[q]] = Int32(p); incident[fill[q]] = Int32(e); fill[q] += 1
        }
        adjacencyStart = start
        self.neighbour = neighbour
        incidentEdge = incident
    }

    public func degree(_ v: Int) -> Int { adjacencyStart[v + 1] - adjacencyStart[v] }

    /// The subgraph keeping the edges whose numbers are listed (their weights as in this graph).
    public func subgraph(keeping kept: [Int]) -> WeightedGraph {
        WeightedGraph(vertices: vertices, tails: kept.map { tails[$0] }, heads: kept.map { heads[$0] },
                      weights: kept.map { weights[$0] }, excess: excess)
    }

    /// L + D as a CSR matrix with sorted columns (both triangles).
    public func laplacian(shift: Double = 0) -> CSRMatrix {
        var t = TripletBuilder(rows: vertices, columns: vertices, reservingCapacity: 2 * edges + vertices)
        var diagonal = excess.map { $0 + shift }
        for e in 0..<edges {
            let p = Int(tails[e]), q = Int(heads[e]), w = weights[e]
            t.append(row: p, column: q, value: -w)
            t.append(row: q, column: p, value: -w)
            diagonal[p] += w
            diagonal[q] += w
        }
        for v in 0..<vertices { t.append(row: v, column: v, value: diagonal[v]) }
        return t.csr()
    }

    /// y = (L + D)·x without forming the matrix.
    public func applyLaplacian(_ x: [Double], into y: inout [Double]) {
        for v in 0..<vertices { y[v] = excess[v] * x[v] }
        for e in 0..<edges {
            let p = Int(tails[e]), q = Int(heads[e])
            let flow = weights[e] * (x[p] - x[q])
            y[p] += flow
            y[q] -= flow
        }
    }
}

extension WeightedGraph {
    /// What a symmetric input file holds.
    public enum Interpretation: String, Sendable {
        /// An adjacency matrix: off-diagonal a_pq > 0 is an edge of weight a_pq (pattern files: 1).
        case adjacency
        /// A Laplacian or SDDM matrix: off-diagonal a_pq < 0 is an edge of weight −a_pq,
        /// and the diagonal's excess over the row's weights is D.
        case laplacian
    }

    /// Largest edge weight and diagonal accepted: sums over a vertex's edges and the
    /// factorizations' products stay finite (a weight of 1e308 would overflow them).
    public static let largestWeight = 1e100

    /// The graph of a square symmetric matrix; `file` names it in errors, and `line`, when
    /// given, finds the file line of an entry (0-based row, column) for them.
    /// Adjacency input refuses self-loops and negative weights; Laplacian input
    /// refuses positive off-diagonals and a diagonal below its row's weights.
    public static func from(_ a: CSRMatrix, as interpretation: Interpretation, file: String,
                            line: ((Int, Int) -> Int?)? = nil) throws(SparrowError) -> WeightedGraph {
        func fail(_ i: Int, _ j: Int, _ message: String) -> SparrowError {
            .input(file: file, line: line?(i, j), message: message)
        }
        guard a.rows == a.columns else {
            throw .input(file: file, line: nil, message: "a graph needs a square matrix, got \(a.rows) × \(a.columns)")
        }
        guard a.isSymmetric else { throw .input(file: file, line: nil, message: "a graph needs a symmetric matrix (A ≠ Aᵀ)") }
        let n = a.rows
        var tails: [Int32] = [], heads: [Int32] = [], weights: [Double] = []
        tails.reserveCapacity(a.nonzeros / 2)
        heads.reserveCapacity(a.nonzeros / 2)
        weights.reserveCapacity(a.nonzeros / 2)
        var excess = [Double](repeating: 0, count: n)
        for i in 0..<n {
            var rowWeight = 0.0, diagonal = 0.0
            for p in a.rowRange(i) {
                let j = Int(a.columnIndices[p]), v = a.values[p]
                guard v.isFinite, abs(v) <= largestWeight else {
                    throw fail(i, j, "entry (\(i + 1), \(j + 1)) is \(v); weights must be finite and at most \(largestWeight) in magnitude")
                }
                if j == i {
                    if interpretation == .adjacency, v != 0 {
                        throw fail(i, j, "self-loop at vertex \(i + 1) (weight \(v)); a graph's adjacency has a zero diagonal")
                    }
                    diagonal += v
                    continue
                }
                let w = interpretation == .adjacency ? v : -v
                if w < 0 {
                    throw fail(i, j, interpretation == .adjacency
                        ? "negative weight \(v) on edge (\(i + 1), \(j + 1)); edge weights must be positive"
                        : "positive off-diagonal \(v) at (\(i + 1), \(j + 1)); a Laplacian or SDDM matrix has off-diagonals ≤ 0")
                }
                if w == 0 { continue }
                rowWeight += w
                if j > i {
                    tails.append(Int32(i)); heads.append(Int32(j)); weights.append(w)
                }
            }
            if interpretation == .laplacian {
                let d = diagonal - rowWeight
                // Rounding in a file written with 16 digits: allow 1e-12 relative below the row's weights.
                guard d >= -1e-12 * max(rowWeight, 1) else {
                    throw fail(i, i, "row \(i + 1): diagonal \(diagonal) is below the row's off-diagonal weights \(rowWeight) (not diagonally dominant, so not SDDM)")
                }
                excess[i] = max(d, 0) <= 1e-12 * max(rowWeight, 1) ? 0 : d
            }
        }
        return WeightedGraph(vertices: n, tails: tails, heads: heads, weights: weights, excess: excess)
    }

    /// Whether a square symmetric matrix reads as a Laplacian or SDDM matrix
    /// (off-diagonals ≤ 0, diagonal ≥ the row's off-diagonal weights).
    public static func isLaplacianOrSDDM(_ a: CSRMatrix) -> Bool {
        guard a.rows == a.columns else { return false }
        for i in 0..<a.rows {
            var off = 0.0, diagonal = 0.0
            for p in a.rowRange(i) {
                let j = Int(a.columnIndices[p]), v = a.values[p]
                if j == i { diagonal += v } else if v > 0 { return false } else { off -= v }
            }
            if diagonal < off * (1 - 1e-12) { return false }
        }
        return a.isSymmetric
    }
}
