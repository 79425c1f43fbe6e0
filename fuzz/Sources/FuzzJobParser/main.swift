import SparrowCore
import SparrowJobs
#if canImport(Glibc)
import Glibc
#endif

/// One input: the bytes are a YAML job file. Validation may refuse any of it;
/// none may crash.
let fuzzOneInput: @convention(c) (UnsafePointer<UInt8>?, Int) -> Int32 = { data, size in
    MemoryBudget.limitPerRank = 256 << 20
    let text = String(decoding: UnsafeBufferPointer(start: data, count: size), as: UTF8.self)
    _ = try? JobParser.parse(text, file: "fuzz.yaml", outputDirectoryOverride: "/nonexistent-fuzz-output")
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
