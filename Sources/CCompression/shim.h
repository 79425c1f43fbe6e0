// zlib, libbz2 and liblzma (Debian's zlib1g-dev, libbz2-dev, liblzma-dev) for
// reading compressed Matrix Market files as a stream.
#ifndef SPARROW_CCOMPRESSION_SHIM_H
#define SPARROW_CCOMPRESSION_SHIM_H
#include <zlib.h>
#include <bzlib.h>
#include <lzma.h>

// LZMA_STREAM_INIT is a macro Swift cannot import.
static inline lzma_stream sparrow_lzma_stream_init(void) {
    lzma_stream stream = LZMA_STREAM_INIT;
    return stream;
}

// LZMA_CONCATENATED is UINT32_C(0x08), a macro Swift cannot import either.
static inline uint32_t sparrow_lzma_concatenated(void) { return LZMA_CONCATENATED; }
#endif
