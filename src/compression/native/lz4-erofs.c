/*
 * Tiny N-API binding over the system liblz4 for the EROFS writer: fixed-output ("destSize")
 * compression, the primitive EROFS needs (fill one physical cluster with as much input as fits).
 *
 *   destSize(src: Uint8Array, dst: Uint8Array, level: number, out: Uint32Array(2), fresh: boolean): void
 *     level 0 = LZ4 (fast), 1..12 = LZ4HC at that level. Compresses a prefix of src into at most
 *     dst.length bytes; out[0] = input bytes consumed, out[1] = bytes written (0 = failure).
 *
 * The LZ4HC state (~256 KiB) is allocated once per Node environment (main thread or worker).
 * LZ4_compress_HC_destSize() clears all of it on every call, which for 4 KiB outputs costs more
 * than a tenth of the time; instead it is cleared when `fresh` (the caller passes true for the
 * first pcluster of each file, so a file's result never depends on what the thread did before)
 * and otherwise reset with LZ4_resetStreamHC_fast(), whose stale entries lie outside the window.
 * Each pcluster is still compressed on its own (no dictionary).
 */
#include <limits.h>
#include <lz4.h>
#include <lz4hc.h>
#include <node_api.h>
#include "napi-args.h"
#include <stdint.h>
#include <stdlib.h>

static void free_state(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  free(data);
}

static napi_value dest_size(napi_env env, napi_callback_info info) {
  size_t argc = 5;
  napi_value argv[5];
  bool fresh;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc != 5) return addon_fail(env, "destSize: 5 arguments");
  if (napi_get_value_bool(env, argv[4], &fresh) != napi_ok) return addon_fail(env, "destSize: fresh must be a boolean");
  void *src, *dst, *outp;
  size_t src_len, dst_len, out_len;
  int32_t level;
  if (!addon_typed_array(env, argv[0], napi_uint8_array, &src, &src_len)) return addon_fail(env, "destSize: src must be a Uint8Array");
  if (!addon_typed_array(env, argv[1], napi_uint8_array, &dst, &dst_len)) return addon_fail(env, "destSize: dst must be a Uint8Array");
  if (napi_get_value_int32(env, argv[2], &level) != napi_ok || level < 0 || level > LZ4HC_CLEVEL_MAX) return addon_fail(env, "destSize: level must be 0..12");
  if (!addon_typed_array(env, argv[3], napi_uint32_array, &outp, &out_len) || out_len < 2) return addon_fail(env, "destSize: out must be a Uint32Array(2)");
  if (src_len > LZ4_MAX_INPUT_SIZE || dst_len > INT_MAX) return addon_fail(env, "destSize: buffer too large");

  int consumed = (int)src_len, written = 0;
  if (src_len > 0 && dst_len > 0) {
    if (level == 0) {
      written = LZ4_compress_destSize((const char *)src, (char *)dst, &consumed, (int)dst_len);
    } else {
      void *state;
      if (napi_get_instance_data(env, &state) != napi_ok) return addon_fail(env, "destSize: no instance data");
      if (!state) {
        state = malloc((size_t)LZ4_sizeofStateHC());
        if (!state) return addon_fail(env, "destSize: out of memory");
        fresh = true;
        if (napi_set_instance_data(env, state, free_state, NULL) != napi_ok) {
          free(state);
          return addon_fail(env, "destSize: cannot keep the LZ4HC state");
        }
      }
      if (fresh && !LZ4_initStreamHC(state, (size_t)LZ4_sizeofStateHC())) return addon_fail(env, "destSize: LZ4_initStreamHC failed");
      LZ4_resetStreamHC_fast((LZ4_streamHC_t *)state, level);
      written = LZ4_compress_HC_continue_destSize((LZ4_streamHC_t *)state, (const char *)src, (char *)dst, &consumed, (int)dst_len);
    }
  }
  uint32_t *out = outp;
  /* liblz4 never reports more than it was given; check anyway before JS trusts the numbers */
  if (written <= 0 || consumed < 0 || (size_t)consumed > src_len || (size_t)written > dst_len) {
    out[0] = 0;
    out[1] = 0;
  } else {
    out[0] = (uint32_t)consumed;
    out[1] = (uint32_t)written;
  }
  return NULL;
}

static napi_value version(napi_env env, napi_callback_info info) {
  (void)info;
  napi_value v;
  napi_create_string_utf8(env, LZ4_versionString(), NAPI_AUTO_LENGTH, &v);
  return v;
}

NAPI_MODULE_INIT() {
  napi_value fn;
  if (napi_create_function(env, "destSize", NAPI_AUTO_LENGTH, dest_size, NULL, &fn) != napi_ok) return NULL;
  napi_set_named_property(env, exports, "destSize", fn);
  if (napi_create_function(env, "version", NAPI_AUTO_LENGTH, version, NULL, &fn) != napi_ok) return NULL;
  napi_set_named_property(env, exports, "version", fn);
  return exports;
}
