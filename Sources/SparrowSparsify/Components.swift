/// Connected components by union-find (path halving, union by size).
public struct Components: Sendable {
    /// The component number of each vertex (0-based, numbered in vertex order of first appearance).
    public let label: [Int32]
    public let count: Int

    public init(_ graph: WeightedGraph) {
        var sets = DisjointSets(graph.vertices)
        for e in 0..<graph.edges { _ = sets.union(Int(graph.tails[e]), Int(graph.heads[e])) }
        var label = [Int32](repeating: -1, count: graph.vertices)
        var rootLabel = [Int32](repeating: -1, count: graph.vertices)
        var count = 0
        for v in 0..<graph.vertices {
            let r = sets.find(v)
            if rootLabel[r] < 0 { rootLabel[r] = Int32(count); count += 1 }
            label[v] = rootLabel[r]
        }
        self.label = label
        self.count = count
    }

    /// Components whose matrix block is singular: those with no excess diagonal.
    public func singular(excess: [Double]) -> [Bool] {
        var hasExcess = [Bool](repeating: false, count: count)
        for v in 0..<label.count where excess[v] > 0 { hasExcess[Int(label[v])] = true }
        return hasExcess.map { !$0 }
    }
}

/// Union-find over 0..<n.
public struct DisjointSets: Sendable {
    private var parent: [Int32]
    private var size: [Int32]

    public init(_ n: Int) {
        parent = (0..<n).map { Int32($0) }
        size = [Int32](repeating: 1, count: n)
    }

    public mutating func find(_ v: Int) -> Int {
        var x = v
        while Int(parent[x]) != x {
            parent[x] = parent[Int(parent[x])]
            x = Int(parent[x])
        }
        return x
    }

    /// Joins the sets of a and b; false when they were one set already.
    public mutating func union(_ a: Int, _ b: Int) -> Bool {
        var ra = find(a), rb = find(b)
        if ra == rb { return false }
        if size[ra] < size[rb] { swap(&ra, &rb) }
        parent[rb] = Int32(ra)
        size[ra] += size[rb]
        return true
    }
}
