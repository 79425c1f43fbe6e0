import SparrowCore

/// A spanning forest for the sparsifier: in each component, the shortest-path
/// tree (lengths 1/w, the edges' resistances) from a central vertex.
///
/// GRASS and feGRASS start from a spanning tree whose off-tree edges have low
/// stretch, so that few of them need to come back. This is a heuristic for
/// that, not a low-stretch tree construction with a stretch bound (Alon–Karp–
/// Peleg–West, Elkin–Emek–Spielman–Teng, Abraham–Neiman): a shortest-path
/// tree from the middle of the graph keeps every vertex's tree path close to
/// its resistance distance from the root, which on meshes and power grids
/// gives a far lower total stretch than an arbitrary (e.g. Kruskal on unit
/// weights) tree, but its worst case is not bounded. The root is the middle
/// of a double-sweep BFS diameter path.
public enum SpanningTree {
    /// The edge numbers of a spanning forest of `graph` (one tree per component).
    public static func shortestPathForest(_ graph: WeightedGraph, components: Components) -> [Int] {
        let n = graph.vertices
        var inTree = [Int32](repeating: -1, count: n) // the tree edge reaching each vertex
        var distance = [Double](repeating: .infinity, count: n)
        var settled = [Bool](repeating: false, count: n)
        var seen = [Bool](repeating: false, count: components.count)
        var heap = MinHeap()
        var tree: [Int] = []
        tree.reserveCapacity(max(0, n - components.count))
        var scratch = BreadthFirst(n)
        for start in 0..<n where !seen[Int(components.label[start])] {
            seen[Int(components.label[start])] = true
            let root = scratch.centre(graph, from: start)
            distance[root] = 0
            heap.push(0, root)
            while let (d, v) = heap.pop() {
                if settled[v] || d > distance[v] { continue }
                settled[v] = true
                if inTree[v] >= 0 { tree.append(Int(inTree[v])) }
                for a in graph.adjacencyStart[v]..<graph.adjacencyStart[v + 1] {
                    let u = Int(graph.neighbour[a]), e = Int(graph.incidentEdge[a])
                    if settled[u] { continue }
                    let candidate = d + 1 / graph.weights[e]
                    // Ties (unit weights) go to the heavier edge, then to the lower edge number: deterministic.
                    if candidate < distance[u] || (candidate == distance[u] && inTree[u] >= 0 && graph.weights[e] > graph.weights[Int(inTree[u])]) {
                        distance[u] = candidate
                        inTree[u] = Int32(e)
                        heap.push(candidate, u)
                    }
                }
            }
        }
        return tree.sorted()
    }
}

extension SpanningTree {
    /// The shortest-path forest, its time and size recorded in `statistics`.
    static func timed(_ g: WeightedGraph, components: Components, _ statistics: inout SparsifierStatistics) -> [Int] {
        let start = System.now()
        let tree = shortestPathForest(g, components: components)
        statistics.treeSeconds = System.now() - start
        statistics.treeEdges = tree.count
        return tree
    }
}

/// Breadth-first search with reusable buffers.
struct BreadthFirst {
    private var level: [Int32]
    private var parent: [Int32]
    private var queue: [Int32]
    private var touched: [Int32] = []

    init(_ n: Int) {
        level = [Int32](repeating: -1, count: n)
        parent = [Int32](repeating: -1, count: n)
        queue = []
        queue.reserveCapacity(n)
    }

    /// The last vertex reached from `start` (a far one), leaving parents set for the path back.
    private mutating func farthest(_ graph: WeightedGraph, from start: Int) -> Int {
        for v in touched { level[Int(v)] = -1; parent[Int(v)] = -1 }
        touched.removeAll(keepingCapacity: true)
        queue.removeAll(keepingCapacity: true)
        queue.append(Int32(start))
        level[start] = 0
        touched.append(Int32(start))
        var head = 0
        while head < queue.count {
            let v = Int(queue[head]); head += 1
            for a in graph.adjacencyStart[v]..<graph.adjacencyStart[v + 1] {
                let u = Int(graph.neighbour[a])
                if level[u] < 0 {
                    level[u] = level[v] + 1
                    parent[u] = Int32(v)
                    touched.append(Int32(u))
                    queue.append(Int32(u))
                }
            }
        }
        return Int(queue[queue.count - 1])
    }

    /// The middle of the path between the ends of a double sweep (an approximate centre).
    mutating func centre(_ graph: WeightedGraph, from start: Int) -> Int {
        let a = farthest(graph, from: start)
        var v = farthest(graph, from: a)
        let steps = Int(level[v]) / 2
        for _ in 0..<steps { v = Int(parent[v]) }
        return v
    }
}

/// A binary min-heap of (key, vertex) pairs.
struct MinHeap {
    private var keys: [Double] = []
    private var items: [Int] = []

    mutating func push(_ key: Double, _ item: Int) {
        keys.append(key); items.append(item)
        var i = keys.count - 1
        while i > 0 {
            let parent = (i - 1) / 2
            if keys[parent] <= keys[i] { break }
            keys.swapAt(parent, i); items.swapAt(parent, i)
            i = parent
        }
    }

    mutating func pop() -> (Double, Int)? {
        guard let top = keys.first else { return nil }
        let item = items[0]
        let lastKey = keys.removeLast(), lastItem = items.removeLast()
        if !keys.isEmpty {
            keys[0] = lastKey; items[0] = lastItem
            var i = 0
            while true {
                let l = 2 * i + 1, r = l + 1
                var m = i
                if l < keys.count, keys[l] < keys[m] { m = l }
                if r < keys.count, keys[r] < keys[m] { m = r }
                if m == i { break }
                keys.swapAt(m, i); items.swapAt(m, i)
                i = m
            }
        }
        return (top, item)
    }
}
