// Benchmark driver: times Sparrow's kernels in-process so a Python harness
// can put them side by side with peers (scipy, GraphBLAS) in one run.
// Not part of the product's dependency graph: nothing imports this target.
import SparrowCore
import SparrowSpGEMM
import SparrowFactor
#if canImport(Glibc)
import Glibc
#endif

System.keepFreedMemory()
let arguments = Array(CommandLine.arguments.dropFirst())
func fail(_ message: String) -> Never {
    System.printError("sparrow-bench: \(message)")
    exit(2)
}
guard let mode = arguments.first else { fail("usage: sparrow-bench mmread FILE REPS THREADS | spgemm ...") }

func timed<T>(_ body: () throws -> T) rethrows -> (T, Double) {
    let start = System.now()
    let value = try body()
    return (value, System.now() - start)
}

switch mode {
case "mmread":
    guard arguments.count == 4, let reps = Int(arguments[2]), let threads = Int(arguments[3]) else { fail("mmread FILE REPS THREADS") }
    // One line per repetition: phase seconds (parse to coordinates, then to CSR).
    for rep in 0..<reps {
        let (file, parse) = try timed { try MatrixMarket.read(path: arguments[1], threads: threads) }
        let (csr, assemble) = timed { file.csr() }
        print("mmread,\(rep),\(threads),\(parse),\(assemble),\(csr.nonzeros)")
    }
case "spgemm", "spgemm-aat":
    // spgemm FILE REPS THREADS sorted|unsorted [HEAVY_THRESHOLD|auto[,…]] [ACCUMULATOR] [PASSES]: C = A·A, one line per
    // repetition; spgemm-aat: C = A·Aᵀ (Aᵀ formed once, outside the timing). Several heavy-row thresholds
    // (comma-separated) run interleaved, one multiply each per repetition, so a slow phase of the machine
    // hits them alike.
    guard arguments.count >= 5, let reps = Int(arguments[2]), let threads = Int(arguments[3]) else {
        fail("\(mode) FILE REPS THREADS sorted|unsorted [HEAVY_THRESHOLD|auto[,…]] [automatic|hash|dense] [automatic|one|two]")
    }
    let a = try MatrixMarket.readCSR(path: arguments[1], threads: threads)
    let b = mode == "spgemm" ? a : a.transposed()
    var options = SpGEMMOptions()
    options.threads = threads
    options.sortedOutput = arguments[4] == "sorted"
    if arguments.count > 6, let choice = AccumulatorChoice(rawValue: arguments[6]) { options.accumulator = choice }
    if arguments.count > 7, let passes = PassChoice(rawValue: arguments[7]) { options.passes = passes }
    let thresholds = arguments.count > 5 ? arguments[5].split(separator: ",").map(String.init) : ["auto"]
    let workspace = SpGEMMWorkspace()
    for rep in 0..<reps {
        for threshold in thresholds {
            options.heavyRowThreshold = threshold == "auto" ? nil : Int(threshold)
            var stats = SpGEMMStatistics()
            let (c, seconds) = try timed { try LocalSpGEMM.multiply(a, b, options: options, workspace: workspace, statistics: &stats) }
            print("\(mode),\(rep),\(threads),\(arguments[4]),\(seconds),\(stats.symbolicSeconds),\(stats.numericSeconds),\(2 * stats.multiplyAdds),\(c.nonzeros),\(stats.heavyRows),\(stats.passes),\(threshold)")
        }
    }
case "factor":
    // factor FILE REPS cholesky|lu: analyze + factorize + solve A x = 1 from the CSR in memory.
    guard arguments.count == 4, let reps = Int(arguments[2]), let method = SolveMethod(rawValue: arguments[3]) else {
        fail("factor FILE REPS cholesky|lu")
    }
    let a = try MatrixMarket.readCSR(path: arguments[1])
    let b = DenseMatrix(rows: a.rows, columns: 1, repeating: 1)
    for rep in 0..<reps {
        let (x, seconds) = try timed { () throws -> DenseMatrix in try DirectSolver(a, method: method).solve(b) }
        print("factor,\(rep),\(seconds),\(Residuals.relative(a, x, b, leastSquares: false))")
    }
default:
    fail("unknown mode \(mode)")
}
