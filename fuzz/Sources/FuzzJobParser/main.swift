import SparrowCore
import SparrowJobs

/// libFuzzer entry: the bytes are a YAML job file. Validation may refuse any
/// of it; none may crash.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzJobParser(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    MemoryBudget.limitPerRank = 256 << 20
    let text = String(decoding: UnsafeBufferPointer(start: data, count: size), as: UTF8.self)
    _ = try? JobParser.parse(text, file: "fuzz.yaml", outputDirectoryOverride: "/nonexistent-fuzz-output")
    return 0
}
