// Benchmark driver: times Sparrow's kernels in-process so a Python harness
// can put them side by side with peers (scipy, GraphBLAS) in one run.
// Not part of the product's dependency graph: nothing imports this target.
import SparrowCore
import SparrowSpGEMM
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
default:
    fail("unknown mode \(mode)")
}
