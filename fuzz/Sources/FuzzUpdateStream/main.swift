import SparrowCore
import SparrowSparsify
import FuzzDriver

/// One input: the bytes are an edge-update stream for a 1000-vertex graph.
/// The parser may refuse any of it (one FILE:LINE error); none may crash.
let fuzzOneInput: @convention(c) (UnsafePointer<UInt8>?, Int) -> Int32 = { data, size in
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    _ = try? EdgeUpdate.parse(bytes, file: "fuzz.updates", vertices: 1000)
    return 0
}

fuzz(fuzzOneInput)
