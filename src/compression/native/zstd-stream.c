/*
 * Tiny N-API binding over libzstd for reading initramfs files: streaming
 * decompression (ZSTD_decompressStream), so the cpio unpacker and the EROFS compressors get the
 * first files while the rest of the frame is still compressed. The whole-buffer API of
 * @mongodb-js/zstd returns nothing before the last byte is decoded.
 *
 *   createDecoder(windowLogMax: number): object
 *     a fresh ZSTD_DCtx (freed with the object) that accepts windows up to 2^windowLogMax.
 *   decode(decoder, src: Uint8Array, dst: Uint8Array, out: Float64Array(3)): void
 *     one ZSTD_decompressStream() call: out[0] = src bytes consumed, out[1] = dst bytes written,
 *     out[2] = libzstd's return value (0: the frame is complete and all of it was written out).
 *     A libzstd error throws an Error carrying ZSTD_getErrorName().
 *   compress(src: Uint8Array, level: number): Buffer
 *     one whole frame (ZSTD_compress: content size in the header, no checksum), for the mini
 *     initramfs; synchronous like zlib's gzipSync beside it (a few MB at level 19: about a second).
 *   version(): string
 *
 * Every argument is checked; libzstd's positions are checked against the buffer sizes before JS
 * sees them. libzstd verifies the frame's content checksum and declared content size itself.
 */
#include <node_api.h>
#include "napi-args.h"
#include <stdint.h>
#include <stdlib.h>
#include <zstd.h>

/* type tag: decode() accepts only objects made by createDecoder() */
static const napi_type_tag DECODER_TAG = {0x7a737464656364ULL, 0x696e69746f766c66ULL};

static void free_decoder(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  ZSTD_freeDCtx(data);
}

static napi_value create_decoder(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1], obj;
  int32_t window_log_max;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc != 1) return addon_fail(env, "createDecoder: 1 argument");
  if (napi_get_value_int32(env, argv[0], &window_log_max) != napi_ok) return addon_fail(env, "createDecoder: windowLogMax must be a number");
  ZSTD_bounds b = ZSTD_dParam_getBounds(ZSTD_d_windowLogMax);
  if (ZSTD_isError(b.error) || window_log_max < b.lowerBound || window_log_max > b.upperBound) return addon_fail(env, "createDecoder: windowLogMax out of range");
  ZSTD_DCtx *dctx = ZSTD_createDCtx();
  if (!dctx) return addon_fail(env, "createDecoder: out of memory");
  if (ZSTD_isError(ZSTD_DCtx_setParameter(dctx, ZSTD_d_windowLogMax, window_log_max))) {
    ZSTD_freeDCtx(dctx);
    return addon_fail(env, "createDecoder: cannot set windowLogMax");
  }
  if (napi_create_object(env, &obj) != napi_ok || napi_type_tag_object(env, obj, &DECODER_TAG) != napi_ok ||
      napi_wrap(env, obj, dctx, free_decoder, NULL, NULL) != napi_ok) {
    ZSTD_freeDCtx(dctx);
    return addon_fail(env, "createDecoder: cannot wrap the decoder");
  }
  return obj;
}

static napi_value decode(napi_env env, napi_callback_info info) {
  struct decode_args a;
  if (!addon_decode_args(env, info, &DECODER_TAG, &a)) return NULL;

  ZSTD_DCtx *dctx = a.state;
  ZSTD_inBuffer in = {a.src, a.src_len, 0};
  ZSTD_outBuffer out = {a.dst, a.dst_len, 0};
  size_t ret = ZSTD_decompressStream(dctx, &out, &in);
  if (ZSTD_isError(ret)) {
    napi_throw_error(env, NULL, ZSTD_getErrorName(ret));
    return NULL;
  }
  if (in.pos > a.src_len || out.pos > a.dst_len) return addon_fail(env, "decode: libzstd reported positions outside the buffers");
  double *o = a.out;
  o[0] = (double)in.pos;
  o[1] = (double)out.pos;
  o[2] = (double)ret;
  return NULL;
}

static napi_value compress(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2], result;
  void *src;
  size_t src_len;
  int32_t level;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc != 2) return addon_fail(env, "compress: 2 arguments");
  if (!addon_typed_array(env, argv[0], napi_uint8_array, &src, &src_len)) return addon_fail(env, "compress: src must be a Uint8Array");
  if (napi_get_value_int32(env, argv[1], &level) != napi_ok || level < 1 || level > ZSTD_maxCLevel()) return addon_fail(env, "compress: level out of range");
  size_t bound = ZSTD_compressBound(src_len);
  if (ZSTD_isError(bound)) return addon_fail(env, "compress: input too large");
  void *dst = malloc(bound ? bound : 1);
  if (!dst) return addon_fail(env, "compress: out of memory");
  size_t n = ZSTD_compress(dst, bound, src, src_len, level);
  if (ZSTD_isError(n) || n > bound) {
    free(dst);
    napi_throw_error(env, NULL, ZSTD_isError(n) ? ZSTD_getErrorName(n) : "compress: libzstd wrote past the bound");
    return NULL;
  }
  napi_status st = napi_create_buffer_copy(env, n, dst, NULL, &result);
  free(dst);
  if (st != napi_ok) return addon_fail(env, "compress: cannot make the Buffer");
  return result;
}

static napi_value version(napi_env env, napi_callback_info info) {
  (void)info;
  napi_value v;
  napi_create_string_utf8(env, ZSTD_versionString(), NAPI_AUTO_LENGTH, &v);
  return v;
}

NAPI_MODULE_INIT() {
  static const struct {
    const char *name;
    napi_callback cb;
  } fns[] = {{"createDecoder", create_decoder}, {"decode", decode}, {"compress", compress}, {"version", version}};
  for (size_t i = 0; i < sizeof fns / sizeof fns[0]; i++) {
    napi_value fn;
    if (napi_create_function(env, fns[i].name, NAPI_AUTO_LENGTH, fns[i].cb, NULL, &fn) != napi_ok) return NULL;
    if (napi_set_named_property(env, exports, fns[i].name, fn) != napi_ok) return NULL;
  }
  return exports;
}
