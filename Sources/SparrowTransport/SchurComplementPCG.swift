import Foundation
import SparrowCore
import SparrowMPI

/// Solves a Newton step's system [[D_r + μ, S], [Sᵀ, D_c + μ]]·(dx, dy) = (bx, by)
/// by eliminating dy (Schur complement on the row duals, which are distributed
/// like the rows):
///     (D_r + μ − S·(D_c + μ)⁻¹·Sᵀ)·dx = bx − S·(D_c + μ)⁻¹·by,
///     dy = (D_c + μ)⁻¹·(by − Sᵀ·dx),
/// with preconditioned conjugate gradients. The preconditioner is the Schur
/// complement's exact diagonal, D_r + μ − Σ_j S_ij²/(D_c,j + μ), which is what
/// separates it from plain Jacobi on the block system: the block diagonal is
/// the Schur complement's diagonal plus the large rank-one-per-column term.
/// One product is S·(scaled Sᵀ·v): local CSR work and one allreduce of the
/// column vector (columns' duals are replicated on every rank).
struct SchurComplementPCG {
    let hessian: SparsifiedHessian
    let rowDiagonal: [Double]
    let columnDiagonal: [Double]
    let threads: Int

    struct Outcome {
        var dx: [Double]
        var dy: [Double]
        var iterations: Int
        var relativeResidual: Double
    }

    /// S·v (local rows).
    private func multiply(_ v: [Double]) -> [Double] {
        var out = [Double](repeating: 0, count: rowDiagonal.count)
        let h = hessian
        out.withUnsafeMutableBufferPointer { ob in
            h.rowStart.withUnsafeBufferPointer { sb in
                h.columnIndices.withUnsafeBufferPointer { cb in
                    h.values.withUnsafeBufferPointer { vb in
                        v.withUnsafeBufferPointer { xb in
                            let (o, s) = (SharedPointer(ob.baseAddress ?? UnsafeMutablePointer(bitPattern: 8)!), SharedReadPointer(sb.baseAddress!))
                            let c = SharedReadPointer(cb.baseAddress ?? UnsafePointer(bitPattern: 8)!)
                            let a = SharedReadPointer(vb.baseAddress ?? UnsafePointer(bitPattern: 8)!)
                            let x = SharedReadPointer(xb.baseAddress!)
                            let ranges = evenRanges(count: rowDiagonal.count, parts: threads)
                            parallelTasks(ranges.count) { t in
                                for i in ranges[t] {
                                    var sum = 0.0
                                    for e in s[i]..<s[i + 1] { sum += a[e] * x[Int(c[e])] }
                                    o[i] = sum
                                }
                            }
                        }
                    }
                }
            }
        }
        return out
    }

    /// Sᵀ·v over all ranks (one allreduce).
    private func multiplyTransposed(_ v: [Double], communicator: Communicator) -> [Double] {
        var out = [Double](repeating: 0, count: columnDiagonal.count)
        let h = hessian
        for i in 0..<rowDiagonal.count {
            let vi = v[i]
            if vi == 0 { continue }
            for e in h.rowStart[i]..<h.rowStart[i + 1] { out[Int(h.columnIndices[e])] += h.values[e] * vi }
        }
        communicator.allreduceSumInPlace(&out)
        return out
    }

    /// Solves to ‖residual‖ ≤ relativeTolerance·‖right-hand side‖ (or `maxIterations`) by
    /// `ConjugateGradient`, two allreduces per iteration besides the one in each product.
    func solve(bx: [Double], by: [Double], shift: Double, relativeTolerance: Double, maxIterations: Int,
               communicator: Communicator) -> Outcome {
        let scaledColumns = columnDiagonal.map { 1 / ($0 + shift) }
        let rowShifted = rowDiagonal.map { $0 + shift }
        var preconditioner = rowShifted
        for i in 0..<rowDiagonal.count {
            for e in hessian.rowStart[i]..<hessian.rowStart[i + 1] {
                let s = hessian.values[e]
                preconditioner[i] -= s * s * scaledColumns[Int(hessian.columnIndices[e])]
            }
            // Diagonal dominance keeps this positive; guard against rounding.
            preconditioner[i] = 1 / max(preconditioner[i], 1e-3 * rowShifted[i])
        }
        func apply(_ v: [Double]) -> [Double] {
            let t = multiplyTransposed(v, communicator: communicator)
            let u = multiply((0..<t.count).map { t[$0] * scaledColumns[$0] })
            return (0..<v.count).map { rowShifted[$0] * v[$0] - u[$0] }
        }
        let sy = multiply((0..<by.count).map { by[$0] * scaledColumns[$0] })
        let rhs = (0..<bx.count).map { bx[$0] - sy[$0] }
        var cg = ConjugateGradient()
        cg.tolerance = relativeTolerance
        cg.maximumIterations = maxIterations
        // Neither closure throws, so neither does the solve; a breakdown (pᵀAp ≤ 0 from rounding)
        // keeps the last iterate, as a Newton direction.
        var dx = [Double](repeating: 0, count: rhs.count), iterations = 0, relativeResidual = 1.0
        if let result = try? cg.solve(rhs, apply: { apply($0) }, precondition: { r in (0..<r.count).map { r[$0] * preconditioner[$0] } },
                                      reduce: { communicator.allreduce($0, .sum) }) {
            dx = result.solution
            iterations = result.iterations
            relativeResidual = result.relativeResiduals.last ?? (result.converged ? 0 : 1)
        }
        let t = multiplyTransposed(dx, communicator: communicator)
        let dy = (0..<by.count).map { (by[$0] - t[$0]) * scaledColumns[$0] }
        return Outcome(dx: dx, dy: dy, iterations: iterations, relativeResidual: relativeResidual)
    }
}
