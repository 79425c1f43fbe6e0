import SparrowCore
#if canImport(Glibc)
import Glibc
#endif

/// One input: the bytes are a Matrix Market file. Any input may be refused
/// with a SparrowError; none may crash, hang or allocate without bound (the
/// memory budget is pinned small so a hostile size line is refused).
let fuzzOneInput: @convention(c) (UnsafePointer<UInt8>?, Int) -> Int32 = { data, size in
    MemoryBudget.limitPerRank = 256 << 20
    let bytes = UnsafeBufferPointer(start: data, count: size)
    _ = try? MatrixMarket.parse(bytes, file: "fuzz.mtx", threads: 1).csr()
    return 0
}

// SwiftPM renames an executable's main for testability, so libFuzzer's own
// main cannot be used; its driver entry point runs the same loop from ours.
@_silgen_name("LLVMFuzzerRunDriver")
func runFuzzerDriver(_ argc: UnsafeMutablePointer<Int32>,
                     _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>>,
                     _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> Int32) -> Int32

var argumentCount = CommandLine.argc
var arguments = CommandLine.unsafeArgv
exit(runFuzzerDriver(&argumentCount, &arguments, fuzzOneInput))
