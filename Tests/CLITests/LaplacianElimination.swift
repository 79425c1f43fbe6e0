/// The tests' own sparse solver for graph Laplacians: Gaussian elimination
/// of L + s·I (or of L with one vertex grounded) in greedy minimum-degree
/// order, on adjacency dictionaries — textbook LDLᵀ, sharing no code with
/// CHOLMOD or Sparrow. Fast on sparsifiers (a tree plus a few edges: leaves
/// and chains eliminate without fill), fine on the small meshes of the tests.
struct LaplacianElimination {
    /// One elimination step: the pivot, its pivot value and the off-diagonal
    /// entries (neighbour, a_vu) it had when it was eliminated.
    private var steps: [(vertex: Int, pivot: Double, neighbours: [(Int, Double)])] = []
    private let grounded: Int?
    let vertices: Int

    /// `edges`: p < q keys as in SparsifyCLITests.edges. `grounded`: a vertex
    /// whose row and column are removed (its x is 0), for a connected graph and s = 0.
    init(edges: [Int64: Double], vertices n: Int, shift: Double, grounded: Int? = nil) {
        vertices = n
        self.grounded = grounded
        var diagonal = [Double](repeating: shift, count: n)
        var adjacency = [[Int: Double]](repeating: [:], count: n)
        for (key, w) in edges {
            let p = Int(key >> 32), q = Int(key & 0xFFFF_FFFF)
            diagonal[p] += w
            diagonal[q] += w
            if p == grounded || q == grounded { continue }
            adjacency[p][q, default: 0] -= w
            adjacency[q][p, default: 0] -= w
        }
        var eliminated = [Bool](repeating: false, count: n)
        if let grounded { eliminated[grounded] = true }
        // Minimum degree first, from buckets; an entry whose degree has changed since is skipped.
        var queue = DegreeBuckets(vertices: n)
        for v in 0..<n where !eliminated[v] { queue.push(adjacency[v].count, v) }
        while let (degree, v) = queue.pop() {
            if eliminated[v] || degree != adjacency[v].count { continue }
            eliminated[v] = true
            let d = diagonal[v]
            let neighbours = Array(adjacency[v])
            steps.append((v, d, neighbours))
            for (u, a) in neighbours {
                adjacency[u].removeValue(forKey: v)
                diagonal[u] -= a * a / d
                for (w, b) in neighbours where w != u { adjacency[u][w, default: 0] -= a * b / d }
            }
            for (u, _) in neighbours { queue.push(adjacency[u].count, u) }
            adjacency[v] = [:]
        }
    }

    /// x with (L + s·I) x = b (grounded: x at the ground is 0).
    func solve(_ b: [Double]) -> [Double] {
        var y = b
        if let grounded { y[grounded] = 0 }
        for step in steps {
            let f = y[step.vertex] / step.pivot
            for (u, a) in step.neighbours { y[u] -= a * f }
        }
        var x = [Double](repeating: 0, count: vertices)
        for step in steps.reversed() {
            var s = y[step.vertex]
            for (u, a) in step.neighbours { s -= a * x[u] }
            x[step.vertex] = s / step.pivot
        }
        return x
    }

    /// Vertices bucketed by degree (degrees are below n); stale entries are skipped by the caller.
    private struct DegreeBuckets {
        private var buckets: [[Int]]
        private var lowest = 0
        init(vertices: Int) { buckets = Array(repeating: [], count: vertices + 1) }
        mutating func push(_ degree: Int, _ vertex: Int) {
            buckets[degree].append(vertex)
            lowest = min(lowest, degree)
        }
        mutating func pop() -> (Int, Int)? {
            while lowest < buckets.count {
                if let vertex = buckets[lowest].popLast() { return (lowest, vertex) }
                lowest += 1
            }
            return nil
        }
    }
}
