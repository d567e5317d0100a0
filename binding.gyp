{
  "targets": [
    {
      "target_name": "lz4_erofs",
      "sources": ["src/compression/native/lz4-erofs.c"],
      "libraries": ["-llz4"],
      "defines": ["NAPI_VERSION=8"],
      "cflags": ["-O2", "-Wall", "-Wextra"]
    },
    {
      "target_name": "zstd_stream",
      "sources": ["src/compression/native/zstd-stream.c"],
      "libraries": ["-lzstd"],
      "defines": ["NAPI_VERSION=8"],
      "cflags": ["-O2", "-Wall", "-Wextra"]
    },
    {
      "target_name": "lzma_stream",
      "sources": ["src/compression/native/lzma-stream.c"],
      "libraries": ["-llzma"],
      "defines": ["NAPI_VERSION=8"],
      "cflags": ["-O2", "-Wall", "-Wextra"]
    }
  ]
}
