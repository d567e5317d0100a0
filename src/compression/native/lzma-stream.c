/*
 * Tiny N-API binding over liblzma for reading xz and legacy .lzma initramfs files, streaming like
 * zstd-stream.c: the cpio unpacker gets the first files while the rest is still compressed.
 *
 *   createDecoder(format: 0 = xz | 1 = lzma, memlimit: number): object
 *     a fresh lzma_stream (ended with the object): xz = lzma_stream_decoder() without
 *     LZMA_CONCATENATED, so it stops right after the first stream's footer, as the kernel's
 *     xz_dec_run() does; lzma = lzma_alone_decoder(), which stops at the end marker or after the
 *     size in the header, as the kernel's unlzma does. liblzma verifies the integrity checks.
 *   decode(decoder, src: Uint8Array, dst: Uint8Array, out: Float64Array(3)): void
 *     one lzma_code(LZMA_FINISH) call (src is all the input there is): out[0] = src bytes
 *     consumed, out[1] = dst bytes written, out[2] = the lzma_ret (0 LZMA_OK: call again with
 *     more room; 1 LZMA_STREAM_END; else an error code from <lzma/base.h>, for JS to name).
 *   version(): string
 *
 * Every argument is checked; liblzma's positions are checked against the buffer sizes before JS
 * sees them.
 */
#include <node_api.h>
#include "napi-args.h"
#include <lzma.h>
#include <stdint.h>
#include <stdlib.h>

/* type tag: decode() accepts only objects made by createDecoder() */
static const napi_type_tag DECODER_TAG = {0x6c7a6d6164656364ULL, 0x696e69746f766c66ULL};

static void free_decoder(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  lzma_end(data);
  free(data);
}

static napi_value create_decoder(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2], obj;
  int32_t format;
  int64_t memlimit;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc != 2) return addon_fail(env, "createDecoder: 2 arguments");
  if (napi_get_value_int32(env, argv[0], &format) != napi_ok || (format != 0 && format != 1)) return addon_fail(env, "createDecoder: format must be 0 (xz) or 1 (lzma)");
  if (napi_get_value_int64(env, argv[1], &memlimit) != napi_ok || memlimit <= 0) return addon_fail(env, "createDecoder: memlimit must be a positive number");
  lzma_stream *s = malloc(sizeof *s);
  if (!s) return addon_fail(env, "createDecoder: out of memory");
  *s = (lzma_stream)LZMA_STREAM_INIT;
  lzma_ret ret = format == 0 ? lzma_stream_decoder(s, (uint64_t)memlimit, 0) : lzma_alone_decoder(s, (uint64_t)memlimit);
  if (ret != LZMA_OK) {
    free(s);
    return addon_fail(env, ret == LZMA_MEM_ERROR ? "createDecoder: out of memory" : "createDecoder: liblzma refused the decoder");
  }
  if (napi_create_object(env, &obj) != napi_ok || napi_type_tag_object(env, obj, &DECODER_TAG) != napi_ok ||
      napi_wrap(env, obj, s, free_decoder, NULL, NULL) != napi_ok) {
    lzma_end(s);
    free(s);
    return addon_fail(env, "createDecoder: cannot wrap the decoder");
  }
  return obj;
}

static napi_value decode(napi_env env, napi_callback_info info) {
  struct decode_args a;
  if (!addon_decode_args(env, info, &DECODER_TAG, &a)) return NULL;

  lzma_stream *s = a.state;
  s->next_in = a.src;
  s->avail_in = a.src_len;
  s->next_out = a.dst;
  s->avail_out = a.dst_len;
  lzma_ret ret = lzma_code(s, LZMA_FINISH);
  if (s->avail_in > a.src_len || s->avail_out > a.dst_len) return addon_fail(env, "decode: liblzma reported positions outside the buffers");
  double *o = a.out;
  o[0] = (double)(a.src_len - s->avail_in);
  o[1] = (double)(a.dst_len - s->avail_out);
  o[2] = (double)ret;
  /* no dangling pointers into JS memory between calls */
  s->next_in = NULL;
  s->next_out = NULL;
  s->avail_in = s->avail_out = 0;
  return NULL;
}

static napi_value version(napi_env env, napi_callback_info info) {
  (void)info;
  napi_value v;
  napi_create_string_utf8(env, lzma_version_string(), NAPI_AUTO_LENGTH, &v);
  return v;
}

NAPI_MODULE_INIT() {
  static const struct {
    const char *name;
    napi_callback cb;
  } fns[] = {{"createDecoder", create_decoder}, {"decode", decode}, {"version", version}};
  for (size_t i = 0; i < sizeof fns / sizeof fns[0]; i++) {
    napi_value fn;
    if (napi_create_function(env, fns[i].name, NAPI_AUTO_LENGTH, fns[i].cb, NULL, &fn) != napi_ok) return NULL;
    if (napi_set_named_property(env, exports, fns[i].name, fn) != napi_ok) return NULL;
  }
  return exports;
}
