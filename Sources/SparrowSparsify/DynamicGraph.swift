/// An undirected weighted graph that takes insertions and deletions.
///
/// Neighbour lists live in one slab (CSR with slack): vertex v owns
/// slab[start[v] ..< start[v] + capacity[v]], of which the first count[v] are
/// used. A list that outgrows its room moves to the end of the slab with twice
/// the room, so insertion is amortized O(1) and a walk step reads one
/// contiguous run, with no per-vertex array objects (no reference counting on
/// the walk's hot path). An edge map answers "is (p, q) an edge, of what weight".
public struct DynamicGraph: Sendable {
    public let vertices: Int
    public let excess: [Double]
    private(set) var start: [Int]
    private(set) var count: [Int32]
    private var capacity: [Int32]
    private(set) var slabNeighbour: [Int32]
    private(set) var slabWeight: [Double]
    private var weightOf: [UInt64: Double]

    public var edges: Int { weightOf.count }

    static func key(_ p: Int32, _ q: Int32) -> UInt64 {
        let (a, b) = p < q ? (p, q) : (q, p)
        return UInt64(UInt32(a)) << 32 | UInt64(UInt32(b))
    }

    public init(_ g: WeightedGraph) {
        vertices = g.vertices
        excess = g.excess
        // Room for two more neighbours per vertex before any list moves.
        var start = [Int](repeating: 0, count: g.vertices)
        var capacity = [Int32](repeating: 0, count: g.vertices)
        var total = 0
        for v in 0..<g.vertices {
            start[v] = total
            capacity[v] = Int32(g.degree(v) + 2)
            total += Int(capacity[v])
        }
        var neighbour = [Int32](repeating: -1, count: total), weight = [Double](repeating: 0, count: total)
        var count = [Int32](repeating: 0, count: g.vertices)
        for v in 0..<g.vertices {
            for a in g.adjacencyStart[v]..<g.adjacencyStart[v + 1] {
                neighbour[start[v] + Int(count[v])] = g.neighbour[a]
                weight[start[v] + Int(count[v])] = g.weights[Int(g.incidentEdge[a])]
                count[v] += 1
            }
        }
        self.start = start
        self.count = count
        self.capacity = capacity
        slabNeighbour = neighbour
        slabWeight = weight
        weightOf = Dictionary(minimumCapacity: g.edges)
        for e in 0..<g.edges { weightOf[Self.key(g.tails[e], g.heads[e])] = g.weights[e] }
    }

    public func weight(_ p: Int32, _ q: Int32) -> Double? { weightOf[Self.key(p, q)] }

    private func slot(_ a: Int32, _ b: Int32) -> Int? {
        let s = start[Int(a)]
        for i in s..<(s + Int(count[Int(a)])) where slabNeighbour[i] == b { return i }
        return nil
    }

    private mutating func append(_ a: Int32, _ b: Int32, _ w: Double) {
        let v = Int(a)
        if count[v] == capacity[v] {
            // Move the list to the end of the slab with twice the room.
            let room = max(4, 2 * Int(capacity[v]))
            let old = start[v], moved = slabNeighbour.count
            slabNeighbour.append(contentsOf: repeatElement(-1, count: room))
            slabWeight.append(contentsOf: repeatElement(0, count: room))
            for i in 0..<Int(count[v]) {
                slabNeighbour[moved + i] = slabNeighbour[old + i]
                slabWeight[moved + i] = slabWeight[old + i]
            }
            start[v] = moved
            capacity[v] = Int32(room)
        }
        slabNeighbour[start[v] + Int(count[v])] = b
        slabWeight[start[v] + Int(count[v])] = w
        count[v] += 1
    }

    /// Adds w to edge (p, q), creating it if absent.
    public mutating func add(_ p: Int32, _ q: Int32, _ w: Double) {
        let k = Self.key(p, q)
        if let old = weightOf[k] {
            weightOf[k] = old + w
            slabWeight[slot(p, q)!] += w
            slabWeight[slot(q, p)!] += w
        } else {
            weightOf[k] = w
            append(p, q, w)
            append(q, p, w)
        }
    }

    /// Removes edge (p, q); its weight, or nil if there was none.
    @discardableResult
    public mutating func remove(_ p: Int32, _ q: Int32) -> Double? {
        guard let w = weightOf.removeValue(forKey: Self.key(p, q)) else { return nil }
        for (a, b) in [(p, q), (q, p)] {
            let i = slot(a, b)!, last = start[Int(a)] + Int(count[Int(a)]) - 1
            slabNeighbour[i] = slabNeighbour[last]
            slabWeight[i] = slabWeight[last]
            count[Int(a)] -= 1
        }
        return w
    }

    /// The neighbours of v and their weights (valid until the graph changes).
    func neighbours(of v: Int32) -> (first: Int, count: Int) { (start[Int(v)], Int(count[Int(v)])) }

    /// The graph with edges in (p, q) order, so the result does not depend on the update history's layout.
    public func snapshot() -> WeightedGraph {
        let keys = weightOf.keys.sorted()
        return WeightedGraph(vertices: vertices, tails: keys.map { Int32(truncatingIfNeeded: $0 >> 32) },
                             heads: keys.map { Int32(truncatingIfNeeded: $0 & 0xFFFF_FFFF) },
                             weights: keys.map { weightOf[$0]! }, excess: excess)
    }
}
