/*
 * Argument checks shared by our N-API addons (lz4-erofs.c, zstd-stream.c, lzma-stream.c): every value from JS is
 * checked before C trusts it.
 */
#ifndef INITOVERLAYFS_NAPI_ARGS_H
#define INITOVERLAYFS_NAPI_ARGS_H

#include <node_api.h>
#include <stddef.h>

/* throws a TypeError with msg; returns NULL for the caller to return */
static inline napi_value addon_fail(napi_env env, const char *msg) {
  napi_throw_type_error(env, NULL, msg);
  return NULL;
}

/* 1 when v is a typed array of exactly type `want`, with its data and element count */
static inline int addon_typed_array(napi_env env, napi_value v, napi_typedarray_type want, void **data, size_t *len) {
  bool is;
  napi_typedarray_type type;
  napi_value ab;
  size_t off;
  if (napi_is_typedarray(env, v, &is) != napi_ok || !is) return 0;
  if (napi_get_typedarray_info(env, v, &type, len, data, &ab, &off) != napi_ok) return 0;
  return type == want;
}

/* A streaming decoder's decode(decoder, src, dst, out) call, checked: the wrapped state (tagged
 * `tag`), the input and output Uint8Arrays, and out, a Float64Array of at least 3 (bytes read,
 * bytes written, status). 0 with a TypeError thrown when anything is off. */
struct decode_args {
  void *state, *src, *dst;
  double *out;
  size_t src_len, dst_len;
};

static inline int addon_decode_args(napi_env env, napi_callback_info info, const napi_type_tag *tag, struct decode_args *a) {
  size_t argc = 4, out_len;
  napi_value argv[4];
  bool tagged;
  void *outp;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc != 4) return addon_fail(env, "decode: 4 arguments"), 0;
  if (napi_check_object_type_tag(env, argv[0], tag, &tagged) != napi_ok || !tagged ||
      napi_unwrap(env, argv[0], &a->state) != napi_ok || !a->state) return addon_fail(env, "decode: not a decoder"), 0;
  if (!addon_typed_array(env, argv[1], napi_uint8_array, &a->src, &a->src_len)) return addon_fail(env, "decode: src must be a Uint8Array"), 0;
  if (!addon_typed_array(env, argv[2], napi_uint8_array, &a->dst, &a->dst_len)) return addon_fail(env, "decode: dst must be a Uint8Array"), 0;
  if (!addon_typed_array(env, argv[3], napi_float64_array, &outp, &out_len) || out_len < 3) return addon_fail(env, "decode: out must be a Float64Array(3)"), 0;
  a->out = outp;
  return 1;
}

#endif
