import SparrowCore

/// Spectral sparsification by effective-resistance sampling (Spielman &
/// Srivastava, SIAM J. Comput. 40(6), 2011), over a spanning tree so that H
/// stays connected at the low densities a preconditioner wants:
///
/// ```
/// T ← shortest-path spanning forest of G from central roots (a low-stretch heuristic)
/// Z ← Q W^½ B L_G⁺,  Q ∈ {±1/√k}^{k×|E|}          ▹ JL: R_e ≈ ‖Z(e_p − e_q)‖², k solves
/// p_e ∝ w_e R_e over e ∉ T
/// draw off-tree edges with replacement by p until the budget holds distinct ones
/// H ← T ∪ {e drawn c_e times, weight w_e · c_e / (q · p_e)}    ▹ E[L_H − L_T] = L_G − L_T
/// ```
///
/// Unlike the tree method, H reweights the edges it samples.
public enum ResistanceSampling {
    public static func run(_ g: WeightedGraph, _ parameters: SparsifierParameters,
                           components: Components) throws(SparrowError) -> Sparsifier {
        var statistics = SparsifierStatistics()
        let tree = SpanningTree.timed(g, components: components, &statistics)
        var inTree = [Bool](repeating: false, count: g.edges)
        for e in tree { inTree[e] = true }
        let factorStart = System.now()
        let factor = try GroundedFactor(g, components: components)
        statistics.factorSeconds = System.now() - factorStart
        let scoreStart = System.now()
        let resistance = try effectiveResistances(g, factor: factor, projections: parameters.projections, seed: parameters.seed)
        statistics.scoreSeconds = System.now() - scoreStart
        let selectStart = System.now()
        let cap = parameters.edgeBudget(g)
        let budget = max(0, cap - tree.count)
        var offTree: [Int] = [], cumulative: [Double] = []
        var total = 0.0
        for e in 0..<g.edges where !inTree[e] {
            total += g.weights[e] * resistance[e]
            offTree.append(e)
            cumulative.append(total)
        }
        var count = [Int: Int]()
        var draws = 0
        // Draw until the budget of distinct edges is met (or every off-tree edge is in).
        while count.count < min(budget, offTree.count), total > 0 {
            let u = CounterRandom.unit(CounterRandom.bits(seed: parameters.seed ^ 0x5A17, counter: UInt64(draws))) * total
            draws += 1
            var lo = 0, hi = cumulative.count - 1
            while lo < hi { let mid = (lo + hi) / 2; if cumulative[mid] < u { lo = mid + 1 } else { hi = mid } }
            count[offTree[lo], default: 0] += 1
        }
        var edges = tree, weights = tree.map { g.weights[$0] }
        for (e, c) in count.sorted(by: { $0.key < $1.key }) {
            let probability = g.weights[e] * resistance[e] / total
            edges.append(e)
            weights.append(g.weights[e] * Double(c) / (Double(draws) * probability))
        }
        statistics.selectSeconds = System.now() - selectStart
        statistics.recoveredEdges = count.count
        statistics.rounds = 1
        let order = edges.indices.sorted { edges[$0] < edges[$1] }
        return Sparsifier(edges: order.map { edges[$0] }, weights: order.map { weights[$0] }, statistics: statistics)
    }

    /// R_e ≈ ‖Z(e_p − e_q)‖² with Z = Q W^½ B L⁺ (k = `projections` rows), for every edge.
    public static func effectiveResistances(_ g: WeightedGraph, factor: GroundedFactor, projections k: Int,
                                            seed: UInt64) throws(SparrowError) -> [Double] {
        let n = g.vertices
        var resistance = [Double](repeating: 0, count: g.edges)
        let block = 32
        for first in stride(from: 0, to: k, by: block) {
            let columns = min(block, k - first)
            var y = [Double](repeating: 0, count: n * columns)
            let scale = 1 / Double(k).squareRoot()
            for e in 0..<g.edges {
                let signs = CounterRandom.bits(seed: seed, counter: UInt64(e) &* 64 &+ UInt64(first / block))
                let s = g.weights[e].squareRoot() * scale
                let p = Int(g.tails[e]), q = Int(g.heads[e])
                for j in 0..<columns {
                    let v = (signs >> UInt64(j)) & 1 == 0 ? s : -s
                    y[j * n + p] += v
                    y[j * n + q] -= v
                }
            }
            let z = try factor.solve(y, columns: columns, consistent: true)
            for j in 0..<columns {
                for e in 0..<g.edges {
                    let d = z[j * n + Int(g.tails[e])] - z[j * n + Int(g.heads[e])]
                    resistance[e] += d * d
                }
            }
        }
        return resistance
    }
}
