import SparrowCore
import SparrowFactor

/// A CHOLMOD factor of L + D that also serves a singular Laplacian.
///
/// A connected component without excess diagonal makes L + D singular along
/// its constant vector. Grounding fixes that: one vertex per such component
/// (its highest-degree one) is left out, the rest is SPD and factored; a solve
/// takes the right-hand side's mean off each singular component (so the
/// system is consistent), solves the grounded system, sets the grounded vertex
/// to 0 and takes the mean off the solution. The result is the pseudo-inverse
/// applied to r on the range of L, which is what PCG on a singular Laplacian
/// and the sparsifier's scores need.
public final class GroundedFactor {
    public let vertices: Int
    private let factor: CholeskyFactorization
    /// Position in the grounded system, or −1 for a grounded vertex.
    private let reduced: [Int32]
    private let components: Components
    private let singular: [Bool]
    private let componentSize: [Int]

    public var groundedVertices: Int { singular.filter { $0 }.count }
    public var factorNonzeros: Int { factor.factorNonzeros }

    public init(_ graph: WeightedGraph, components: Components? = nil, simplicial: Bool = false) throws(SparrowError) {
        let components = components ?? Components(graph)
        let singular = components.singular(excess: graph.excess)
        var ground = [Int](repeating: -1, count: components.count)
        for v in 0..<graph.vertices {
            let c = Int(components.label[v])
            guard singular[c] else { continue }
            if ground[c] < 0 || graph.degree(v) > graph.degree(ground[c]) { ground[c] = v }
        }
        var reduced = [Int32](repeating: 0, count: graph.vertices)
        for c in 0..<components.count where ground[c] >= 0 { reduced[ground[c]] = -1 }
        var next: Int32 = 0
        for v in 0..<graph.vertices where reduced[v] >= 0 { reduced[v] = next; next += 1 }
        let size = Int(next)
        var t = TripletBuilder(rows: size, columns: size, reservingCapacity: 2 * graph.edges + size)
        var diagonal = graph.excess
        for e in 0..<graph.edges {
            let p = Int(graph.tails[e]), q = Int(graph.heads[e]), w = graph.weights[e]
            diagonal[p] += w
            diagonal[q] += w
            let rp = reduced[p], rq = reduced[q]
            if rp >= 0, rq >= 0 {
                t.append(row: Int(rp), column: Int(rq), value: -w)
                t.append(row: Int(rq), column: Int(rp), value: -w)
            }
        }
        for v in 0..<graph.vertices where reduced[v] >= 0 { t.append(row: Int(reduced[v]), column: Int(reduced[v]), value: diagonal[v]) }
        factor = try CholeskyFactorization(t.csr(), simplicial: simplicial)
        vertices = graph.vertices
        self.reduced = reduced
        self.components = components
        self.singular = singular
        var sizes = [Int](repeating: 0, count: components.count)
        for v in 0..<graph.vertices { sizes[Int(components.label[v])] += 1 }
        componentSize = sizes
    }

    /// Takes the mean off each singular component of every column (in place).
    public func removeNullSpace(_ x: inout [Double], columns: Int = 1) {
        guard groundedVertices > 0 else { return }
        let n = vertices, count = components.count
        let label = components.label
        var sums = [Double](repeating: 0, count: count)
        x.withUnsafeMutableBufferPointer { x in
            label.withUnsafeBufferPointer { label in
                for k in 0..<columns {
                    let column = x.baseAddress! + k * n
                    if count == 1 {
                        // One component (the usual case): a plain mean.
                        var sum = 0.0
                        for v in 0..<n { sum += column[v] }
                        let mean = sum / Double(n)
                        for v in 0..<n { column[v] -= mean }
                        continue
                    }
                    for c in 0..<count { sums[c] = 0 }
                    for v in 0..<n { sums[Int(label[v])] += column[v] }
                    for c in 0..<count { sums[c] = singular[c] ? sums[c] / Double(componentSize[c]) : 0 }
                    for v in 0..<n { column[v] -= sums[Int(label[v])] }
                }
            }
        }
    }

    /// X = (L + D)⁺ R for `columns` right-hand sides stored column after column.
    /// `consistent`: every column already sums to zero on each singular component
    /// (B_Gᵀ·v does by construction), so that projection is skipped.
    public func solve(_ r: [Double], columns: Int = 1, consistent: Bool = false) throws(SparrowError) -> [Double] {
        let n = vertices
        var rhs = r
        if !consistent { removeNullSpace(&rhs, columns: columns) }
        let size = n - groundedVertices
        var b = DenseMatrix(rows: size, columns: columns)
        b.values.withUnsafeMutableBufferPointer { b in
            rhs.withUnsafeBufferPointer { rhs in
                reduced.withUnsafeBufferPointer { reduced in
                    for k in 0..<columns {
                        let from = rhs.baseAddress! + k * n, to = b.baseAddress! + k * size
                        for v in 0..<n where reduced[v] >= 0 { to[Int(reduced[v])] = from[v] }
                    }
                }
            }
        }
        let y = try factor.solve(b)
        var x = [Double](repeating: 0, count: n * columns)
        x.withUnsafeMutableBufferPointer { x in
            y.values.withUnsafeBufferPointer { y in
                reduced.withUnsafeBufferPointer { reduced in
                    for k in 0..<columns {
                        let from = y.baseAddress! + k * size, to = x.baseAddress! + k * n
                        for v in 0..<n where reduced[v] >= 0 { to[v] = from[Int(reduced[v])] }
                    }
                }
            }
        }
        removeNullSpace(&x, columns: columns)
        return x
    }
}
