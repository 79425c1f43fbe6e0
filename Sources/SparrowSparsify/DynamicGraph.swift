/// An undirected weighted graph that takes insertions and deletions: per-vertex
/// neighbour lists (short, so removal scans them) and an edge map.
public struct DynamicGraph: Sendable {
    public let vertices: Int
    public let excess: [Double]
    var neighbours: [[Int32]]
    var neighbourWeights: [[Double]]
    private var weightOf: [UInt64: Double]

    public var edges: Int { weightOf.count }

    static func key(_ p: Int32, _ q: Int32) -> UInt64 {
        let (a, b) = p < q ? (p, q) : (q, p)
        return UInt64(UInt32(a)) << 32 | UInt64(UInt32(b))
    }

    public init(_ g: WeightedGraph) {
        vertices = g.vertices
        excess = g.excess
        neighbours = (0..<g.vertices).map { v in Array(g.neighbour[g.adjacencyStart[v]..<g.adjacencyStart[v + 1]]) }
        neighbourWeights = (0..<g.vertices).map { v in
            (g.adjacencyStart[v]..<g.adjacencyStart[v + 1]).map { g.weights[Int(g.incidentEdge[$0])] }
        }
        weightOf = Dictionary(minimumCapacity: g.edges)
        for e in 0..<g.edges { weightOf[Self.key(g.tails[e], g.heads[e])] = g.weights[e] }
    }

    public func weight(_ p: Int32, _ q: Int32) -> Double? { weightOf[Self.key(p, q)] }

    /// Adds w to edge (p, q), creating it if absent.
    public mutating func add(_ p: Int32, _ q: Int32, _ w: Double) {
        let k = Self.key(p, q)
        if let old = weightOf[k] {
            weightOf[k] = old + w
            for (a, b) in [(p, q), (q, p)] {
                let i = neighbours[Int(a)].firstIndex(of: b)!
                neighbourWeights[Int(a)][i] += w
            }
        } else {
            weightOf[k] = w
            neighbours[Int(p)].append(q); neighbourWeights[Int(p)].append(w)
            neighbours[Int(q)].append(p); neighbourWeights[Int(q)].append(w)
        }
    }

    /// Removes edge (p, q); its weight, or nil if there was none.
    @discardableResult
    public mutating func remove(_ p: Int32, _ q: Int32) -> Double? {
        guard let w = weightOf.removeValue(forKey: Self.key(p, q)) else { return nil }
        for (a, b) in [(p, q), (q, p)] {
            let i = neighbours[Int(a)].firstIndex(of: b)!
            neighbours[Int(a)].swapAt(i, neighbours[Int(a)].count - 1)
            neighbours[Int(a)].removeLast()
            neighbourWeights[Int(a)].swapAt(i, neighbourWeights[Int(a)].count - 1)
            neighbourWeights[Int(a)].removeLast()
        }
        return w
    }

    /// The graph with edges in (p, q) order, so the result does not depend on the update history's layout.
    public func snapshot() -> WeightedGraph {
        let keys = weightOf.keys.sorted()
        return WeightedGraph(vertices: vertices, tails: keys.map { Int32(truncatingIfNeeded: $0 >> 32) },
                             heads: keys.map { Int32(truncatingIfNeeded: $0 & 0xFFFF_FFFF) },
                             weights: keys.map { weightOf[$0]! }, excess: excess)
    }
}
